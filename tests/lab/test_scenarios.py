"""Every lab scenario, analyzed from each end, must put its expected finding first."""
from __future__ import annotations

import pytest

from swandoc.lab.scenarios import SCENARIOS, get

pytestmark = pytest.mark.lab

# Which evidence files make up each view of a run.
VIEWS = {
    "initiator": ("west.log", "west-whack.txt"),
    "responder": ("east.log",),
    "both": ("west.log", "west-whack.txt", "east.log", "west.pcap"),
    "pcap": ("west.pcap",),
}


def _cases():
    for s in SCENARIOS:
        # A responder that never ran or never saw a packet has nothing to read
        # (blind_views); the capture is asserted where it is the deciding evidence.
        views = [v for v in ("initiator", "responder", "both") if v not in s.blind_views]
        if s.pcap_decides:
            views.append("pcap")
        for view in views:
            yield pytest.param(s.name, view, id=f"{s.name}-{view}")


@pytest.mark.parametrize(("name", "view"), list(_cases()))
def test_expected_finding_first(lab_results, name, view):
    from swandoc.analysis import analyze_paths

    result = lab_results[name]
    paths = [str(result.path(f)) for f in VIEWS[view]]
    report = analyze_paths(paths, command="lab")
    expected = get(name).expected_for(result.kernel_esp, view, result.kernel_espintcp)
    ids = [f.id for f in report.findings]
    assert ids, f"{name}/{view}: no findings at all (evidence in {result.out_dir})"
    assert ids[0] == expected, f"{name}/{view}: expected {expected} first, got {ids} (evidence in {result.out_dir})"
