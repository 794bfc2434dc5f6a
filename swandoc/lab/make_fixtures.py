"""Regenerate fixtures/lab/ from real lab runs: ``python -m swandoc.lab.make_fixtures [NAME...]``.

Needs root and libreswan, like the lab itself. Every scenario is run once (three at a
time; names are unique per run), plus ``healthy`` with plutodebug=all as healthy-debug.
"""
from __future__ import annotations

import shutil
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

from . import kernel, runner
from .daemon import ipsec_version
from .scenarios import SCENARIOS

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "lab"


def _one(job: tuple[str, bool], scratch: Path) -> str:
    name, debug = job
    label = f"{name}-debug" if debug else name
    out = scratch / label
    result = runner.run_scenario(name, out, debug=debug)
    target = FIXTURES / label
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for file in runner.EVIDENCE_FILES:
        if (out / file).exists():
            shutil.copyfile(out / file, target / file)
    o = result.outcome
    return (f"{label}: ike={o.ike_established} child={o.child_established} "
            f"sa_install_failed={o.sa_install_failed} whack_rc={o.whack_rc} {result.duration:.1f}s")


def _readme(jobs: list[tuple[str, bool]]) -> str:
    support = kernel.detect()
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    names = ", ".join(f"{n}-debug" if d else n for n, d in jobs)
    return f"""# Lab fixtures: real pluto output

Each directory here is the output of one `swandoc lab` run: two real Libreswan pluto
daemons in fresh network namespaces, west initiating to east, with one fault injected.

* made with: `sudo .venv/bin/python -m swandoc.lab.make_fixtures` (which calls
  `swandoc.lab.runner.run_scenario(NAME, DIR)` per scenario, the same code as
  `swandoc lab NAME --out DIR`); `healthy-debug` is `healthy` with `--debug` (plutodebug=all)
* date: {when}
* Libreswan: {ipsec_version()} (Debian 12 package)
* kernel: {support.release}; ESP SAs installable: {'yes' if support.esp else 'no'}
  ({support.detail})
* scenarios: {names}

Files per scenario: `west.log` / `east.log` (pluto logfile=, plutodebug=none unless
`-debug`), `west-whack.txt` (console output of `ipsec whack --initiate` on west, with its
3-digit codes), `west.pcap` (tcpdump on west's interface: IKE, NAT-T, ESP, ICMP, IP fragments),
`west.conf` / `east.conf` (as loaded; the logfile= paths point at the run's deleted temp
dir), `west.secrets` / `east.secrets` (the lab's throwaway PSKs, used nowhere else),
`lab.json` (scenario, expected finding, kernel capability, versions, timings, outcome).

Without ESP in the kernel, "healthy" runs end with the IKE SA up and the responder's
`netlink response for Add SA ... Function not implemented (errno 38)`; the initiator only
sees the responder's TS_UNACCEPTABLE. The expected finding in each `lab.json` is the one for
the kernel the fixture was made on.
"""


def main(argv: list[str]) -> int:
    names = argv or [s.name for s in SCENARIOS]
    jobs = [(n, False) for n in names]
    if not argv or "healthy" in argv:
        jobs.append(("healthy", True))
    with tempfile.TemporaryDirectory(prefix="sdlab-fixtures-") as tmp:
        with ThreadPoolExecutor(3) as pool:
            for line in pool.map(lambda job: _one(job, Path(tmp)), jobs):
                print(line)
    if not argv:
        (FIXTURES / "README.md").write_text(_readme(jobs))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
