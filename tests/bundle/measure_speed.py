"""Time and memory of build_bundle on a 30 MB plutodebug log, with and without --obfuscate.

    .venv/bin/python tests/bundle/measure_speed.py
"""
from __future__ import annotations

import pathlib
import resource
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from bundle_helpers import LAB, SECRETS  # noqa: E402

from swandoc.bundle.collect import Options, build_bundle  # noqa: E402


def main() -> None:
    d = pathlib.Path(tempfile.mkdtemp())
    chunk = (SECRETS / "pluto-debug-private.log").read_bytes() + (LAB / "ikev2-psk-mismatch" / "west.log").read_bytes()
    n = int(30e6 // len(chunk))
    (d / "pluto.log").write_bytes(chunk * n)
    print("log MB", round(len(chunk) * n / 1e6, 1))
    for obfuscate in (False, True):
        t = time.time()
        build_bundle(Options(config=str(SECRETS / "ipsec.conf"), secrets=str(SECRETS / "ipsec.secrets"),
                             log=str(d / "pluto.log"), nss_dir=str(SECRETS), timeout=5),
                     output=str(d / f"b{obfuscate}.tar.xz"), obfuscate=obfuscate)
        print("obfuscate", obfuscate, "seconds", round(time.time() - t, 1),
              "max RSS MB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)


if __name__ == "__main__":
    main()
