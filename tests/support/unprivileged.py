"""Run swandoc as an unprivileged user (nobody), wherever the checkout lives.

The checkout may sit where nobody cannot read it (CI clones under /root, mode 700). So the package
source is copied to a world-readable temporary directory and run with Debian's own python3, which
sees the python3-* packages swandoc depends on (scripts/setup-debian installs them system-wide).
"""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SYSTEM_PYTHON = "/usr/bin/python3"
NOBODY = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all")
_copy: list[str] = []


def readable_source() -> str:
    """A directory, readable by anyone, that holds a copy of the swandoc package (made once)."""
    if not _copy:
        top = tempfile.mkdtemp(prefix="swandoc-src-")
        os.chmod(top, 0o755)
        shutil.copytree(ROOT / "swandoc", Path(top) / "swandoc", ignore=shutil.ignore_patterns("__pycache__"))
        for base, dirs, files in os.walk(top):
            for d in dirs:
                os.chmod(os.path.join(base, d), 0o755)
            for f in files:
                os.chmod(os.path.join(base, f), 0o644)
        atexit.register(shutil.rmtree, top, True)
        _copy.append(top)
    return _copy[0]


def python_as_nobody(*, home: str | None = None) -> list[str]:
    """argv prefix: python3 as nobody, with swandoc importable (append '-m', 'swandoc', ...)."""
    env = ["env", f"PYTHONPATH={readable_source()}"] + ([f"HOME={home}"] if home else [])
    return [*NOBODY, *env, SYSTEM_PYTHON]
