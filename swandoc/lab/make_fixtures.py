"""Regenerate lab fixtures from real lab runs.

``python -m swandoc.lab.make_fixtures [NAME...]`` remakes fixtures/lab/ (host Libreswan 4.x on
both ends); ``python -m swandoc.lab.make_fixtures --pairs 55,45,54 [NAME...]`` remakes
fixtures/lab5/NAME-WE/ with west on Libreswan W and east on Libreswan E (5 = the Debian 13 root).

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
FIXTURES5 = FIXTURES.with_name("lab5")


def _one(job: tuple, scratch: Path) -> str:
    name, debug = job[:2]
    pair = job[2] if len(job) > 2 else None
    label = f"{name}-debug" if debug else name
    if pair:
        label += f"-{pair}"
    out = scratch / label
    result = runner.run_scenario(name, out, debug=debug, versions=(pair[0], pair[1]) if pair else ("4", "4"))
    target = (FIXTURES5 if pair else FIXTURES) / label
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


def _readme5(jobs: list[tuple]) -> str:
    from .toolset import Toolset

    support = kernel.detect()
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    pairs = sorted({job[2] for job in jobs})
    return f"""# Lab fixtures with Libreswan 5: 5/5 and mixed 4/5, 5/4 pairs

Each directory `SCENARIO-WE` is the output of one
`swandoc lab SCENARIO --west-version W --east-version E --out DIR` run: two real pluto daemons in
fresh network namespaces, west initiating to east, one fault injected. `4` is this Debian 12 host's
own Libreswan, `5` the Libreswan of a Debian 13 (trixie) root built by `swandoc lab --build-root 5`
(debootstrap minbase of Debian's packages; its pluto, whack and addconn run chrooted into that root
inside the lab's namespaces). `lab.json` names each daemon's own `ipsec --version`
(`libreswan_by_side`), and each log's first line says which pluto wrote it.

* made with: `sudo .venv/bin/python -m swandoc.lab.make_fixtures --pairs {','.join(pairs)}`
* date: {when}
* Libreswan: 4 = {ipsec_version()} (Debian 12 package), 5 = {Toolset.for_version('5').version_line()}
  (Debian 13 package)
* kernel: {support.release}; ESP SAs installable: {'yes' if support.esp else 'no'} ({support.detail})
* pairs: {', '.join(pairs)}; `healthy-debug-55` is `healthy` with `--debug` (plutodebug=all), which
  shows 5.x's startup probe of the kernel (`XFRM_MSG_NEWSA Probe Test`)

Files are those of fixtures/lab (see its README). Without ESP in the kernel, IKE negotiates fully
and the responder's Child SA install fails with a netlink error; a 5.x initiator hears that as
TEMPORARY_FAILURE, a 4.x one as TS_UNACCEPTABLE.
"""


def main(argv: list[str]) -> int:
    pairs: list[str] = []
    if argv and argv[0] == "--pairs":
        pairs = [p for p in argv[1].split(",") if p]
        argv = argv[2:]
        if any(len(p) != 2 or p[0] not in "45" or p[1] not in "45" for p in pairs):
            print("make_fixtures: --pairs takes WE pairs such as 55,45,54", file=sys.stderr)
            return 2
    if pairs:
        return _main5(argv, pairs)
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


def _main5(argv: list[str], pairs: list[str]) -> int:
    names = argv or [s.name for s in SCENARIOS]
    jobs = [(n, False, p) for p in pairs for n in names]
    if (not argv or "healthy" in argv) and "55" in pairs:
        jobs.append(("healthy", True, "55"))
    with tempfile.TemporaryDirectory(prefix="sdlab-fixtures-") as tmp:
        with ThreadPoolExecutor(3) as pool:
            for line in pool.map(lambda job: _one(job, Path(tmp)), jobs):
                print(line)
    if not argv:
        FIXTURES5.mkdir(exist_ok=True)
        (FIXTURES5 / "README.md").write_text(_readme5(jobs))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
