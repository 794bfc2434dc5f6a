"""Libreswan 5 in the lab: every scenario with 5.x on both ends and in mixed 4.x/5.x pairs.

fixtures/lab5/SCENARIO-WE holds one real run with west on Libreswan W and east on Libreswan E
(see its README). The kernel that made them cannot do ESP: IKE negotiates fully and every Child SA
install fails, and 5.x probes the kernel at startup. Still, the injected fault must come first.
"""
import json
import os

import pytest

from swandoc.analysis import analyze_paths
from swandoc.lab.scenarios import BY_NAME

from .conftest import fixture

VIEWS = {"initiator": ("west.log", "west-whack.txt"), "responder": ("east.log",), "both": ("west.log", "east.log"),
         "pcap": ("west.pcap",)}
PAIRS = ("55", "45", "54")


def _runs():
    base = fixture("lab5")
    return sorted(d for d in os.listdir(base) if os.path.isdir(os.path.join(base, d)))


def _cases():
    cases = []
    for run in _runs():
        lab = json.load(open(fixture("lab5", run, "lab.json")))
        scenario = BY_NAME[lab["scenario"]]
        for view, expected in (lab["expected_by_view"] or {}).items():
            if view == "pcap" and not scenario.pcap_decides:
                continue  # a capture alone shows only what is on the wire (as for fixtures/lab)
            cases.append((run, view, expected))
    return cases


CASES = _cases()


def test_every_scenario_in_every_pair():
    runs = set(_runs())
    missing = [f"{s}-{p}" for s in BY_NAME for p in PAIRS if f"{s}-{p}" not in runs]
    assert not missing, f"lab5 fixtures missing: {missing}"


@pytest.mark.parametrize("run", _runs())
def test_logs_say_which_libreswan_ran(run):
    """Each log's banner is the version lab.json recorded for that side: real 5.x and 4.x daemons."""
    lab = json.load(open(fixture("lab5", run, "lab.json")))
    for side in ("west", "east"):
        path = fixture("lab5", run, f"{side}.log")
        if not os.path.getsize(path):
            assert lab["scenario"] == "responder-down" and side == "east"
            continue
        version = lab["libreswan_by_side"][side].split()[-1]
        with open(path) as fh:
            banner = next(line for line in fh if "Starting Pluto" in line)
        assert f"Libreswan Version {version} " in banner
        assert version.startswith(lab["libreswan_major"][side] + ".")


@pytest.mark.parametrize("run,view,expected", CASES, ids=[f"{r}-{v}" for r, v, _ in CASES])
def test_injected_fault_first(run, view, expected):
    paths = [fixture("lab5", run, f) for f in VIEWS[view] if os.path.exists(fixture("lab5", run, f))]
    report = analyze_paths(paths)
    ids = [f.id for f in report.findings]
    assert ids and ids[0] == expected, f"{run} {view}: got {ids}"
    assert report.findings[0].fix, "the first finding has no fix"


def _probe_lines() -> list[str]:
    """The real 5.2 startup probe of a kernel without ESP (healthy-debug-55, plutodebug=all)."""
    with open(fixture("lab5", "healthy-debug-55", "east.log")) as fh:
        lines = fh.readlines()
    start = next(i for i, line in enumerate(lines) if "sending 16 Add SA Probe Test" in line)
    block = lines[start:start + 8]
    assert any("netlink response for Add SA Probe Test" in line for line in block)
    return block


# Before libreswan commit 3e363aea (Feb 2025, in 5.2) a failed probe was an ERROR at every start, worded
# by the same format string with the story "Support Probe" (line built from that source, errno 38 as here).
ERROR_FORM = "Nov 30 06:06:18.948861: ERROR: netlink response for Add SA Support Probe: " \
             "Function not implemented (errno 38)\n"


@pytest.mark.parametrize("form", ["debug-5.2", "error-pre-5.2"])
@pytest.mark.parametrize("run", [r for r in _runs() if r.endswith("-55") and "debug" not in r])
def test_startup_probe_never_outranks_the_fault(run, form, tmp_path):
    """The startup probe is a host finding ranked after the exchange's failure, in either wording."""
    lab = json.load(open(fixture("lab5", run, "lab.json")))
    probe = _probe_lines() if form == "debug-5.2" else [ERROR_FORM]
    paths = []
    for side in ("west", "east"):
        with open(fixture("lab5", run, f"{side}.log")) as fh:
            lines = fh.readlines()
        if not lines:
            continue
        at = next((i + 1 for i, line in enumerate(lines) if "using Linux xfrm kernel support" in line), 1)
        out = tmp_path / f"{side}.log"
        out.write_text("".join(lines[:at] + probe + lines[at:]))
        paths.append(str(out))
    ids = [f.id for f in analyze_paths(paths).findings]
    assert ids[0] == lab["expected_by_view"]["both"], ids
    assert "kernel-probe-failed" in ids


def test_probe_alone_is_a_host_finding_not_an_install_failure():
    report = analyze_paths([fixture("lab5", "healthy-debug-55", "east.log")])
    by_id = {f.id: f for f in report.findings}
    assert "kernel-probe-failed" in by_id
    probe = by_id["kernel-probe-failed"]
    assert all("Probe Test" in e.text for e in probe.evidence)
    assert probe.evidence[0].line and "netlink response for Add SA Probe Test" in probe.evidence[0].text
    install = by_id["kernel-sa-install-failed"]
    assert not any("Probe Test" in e.text for e in install.evidence)
    assert report.findings.index(install) < report.findings.index(probe)


def test_temporary_failure_is_the_peer_kernel_symptom():
    """A 5.x responder's kernel failure, seen by the initiator as an IKE_AUTH answer without a Child SA."""
    report = analyze_paths([fixture("lab5", "healthy-55", f) for f in ("west.log", "east.log")])
    ids = [f.id for f in report.findings]
    assert ids[0] == "kernel-sa-install-failed"
    symptom = next(f for f in report.findings if f.id == "child-sa-temporary-failure")
    assert symptom.severity == "warning" and "symptom" in symptom.title
