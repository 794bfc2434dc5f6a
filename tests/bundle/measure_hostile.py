"""Count leaks and obfuscation leftovers of `swandoc bundle` on a fresh hostile corpus.

    PYTHONPATH=<swandoc source> .venv/bin/python tests/bundle/measure_hostile.py [SEED] [--explicit-secrets]

--explicit-secrets passes the corpus's secrets file as --secrets (for code that does not follow
secretsfile=), so that the redaction itself is measured.
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from hostile import Corpus, leaked  # noqa: E402
from bundle_helpers import archive_members  # noqa: E402

from swandoc.bundle.collect import Options, build_bundle  # noqa: E402
from swandoc.evidence import Evidence  # noqa: E402
from swandoc.probes import collect as probes_collect  # noqa: E402


def main() -> None:
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    explicit = "--explicit-secrets" in sys.argv
    for obfuscate in (False, True):
        root = Path(tempfile.mkdtemp())
        corpus = Corpus(root, seed)
        paths = corpus.build()
        probes_collect.NM_CONNECTIONS = (paths["nm"] + "/*",)
        extra = [Evidence("hosts_file", (root / "hosts").read_bytes(), "/etc/hosts", status=0)]
        options = Options(config=paths["config"], timeout=5,
                          **({"secrets": str(root / "real.secrets"), "nss_dir": str(root)} if explicit else {}))
        result = build_bundle(options, output=str(root / "b.tar.xz"), obfuscate=obfuscate, extra_items=extra)
        members = archive_members(result.path)
        leaks = {x.split(": ", 1)[1] for x in leaked(members, corpus.secrets)}
        line = f"obfuscate={obfuscate}: {len(corpus.secrets)} secrets, {len(leaks)} leaked"
        if obfuscate:
            names = [i for i in corpus.ids if len(i) >= 4] + [paths["org"], paths["host"], "Net Ops", "Lisboa"]
            names += getattr(corpus, "names", [])
            left = {n for data in members.values() for n in names if n.lower().encode() in data.lower()}
            line += f", {len(left)} of {len(names)} names/addresses/IDs left: {sorted(left)}"
        else:
            text = b"\n".join(members.values()).decode("utf-8", "replace")
            kept = [i for i in corpus.ids if i in text]
            line += f", IDs kept {len(kept)}/{len(corpus.ids)}"
        print(line)


if __name__ == "__main__":
    main()
