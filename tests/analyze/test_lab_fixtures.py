"""Every lab scenario's real output, seen from each end: the expected finding comes first.

The lab (tests/lab) produces these logs live; fixtures/lab keeps one run of each so that these fast
tests use real pluto lines too. A view that truly cannot tell (the initiator alone, when the cause is
in the responder's kernel) expects what that end's evidence supports, and the explanation says so.
"""
import os

import pytest

from swandoc.analysis import analyze_paths

from .conftest import fixture

WEST = ("west.log", "west-whack.txt")
EAST = ("east.log",)
BOTH = ("west.log", "east.log")
PCAP = ("west.pcap",)

# scenario -> {view: expected first finding id}
EXPECTED = {
    "healthy": {WEST: "ts-unacceptable", EAST: "kernel-sa-install-failed", BOTH: "kernel-sa-install-failed"},
    "healthy-debug": {EAST: "kernel-sa-install-failed", BOTH: "kernel-sa-install-failed"},
    "nat-healthy": {EAST: "kernel-sa-install-failed", BOTH: "kernel-sa-install-failed"},
    "rsa-raw": {EAST: "kernel-sa-install-failed", BOTH: "kernel-sa-install-failed"},
    "x509": {EAST: "kernel-sa-install-failed", BOTH: "kernel-sa-install-failed"},
    "ikev2-psk-mismatch": {WEST: "authentication-failed", EAST: "authentication-failed", BOTH: "authentication-failed"},
    "id-mismatch": {WEST: "authentication-failed", EAST: "authentication-failed", BOTH: "authentication-failed"},
    "x509-untrusted-ca": {WEST: "authentication-failed", EAST: "authentication-failed",
                          BOTH: "authentication-failed"},
    "secret-missing": {WEST: "authentication-failed", EAST: "secret-not-found", BOTH: "secret-not-found"},
    "ikev1-psk-mismatch": {WEST: "ikev1-psk-mismatch", EAST: "ikev1-psk-mismatch", BOTH: "ikev1-psk-mismatch"},
    "ike-proposal-mismatch-v1": {WEST: "ike-proposal-mismatch", EAST: "ike-proposal-mismatch",
                                 BOTH: "ike-proposal-mismatch"},
    "ike-proposal-mismatch-v2": {WEST: "ike-proposal-mismatch", EAST: "ike-proposal-mismatch",
                                 BOTH: "ike-proposal-mismatch"},
    "esp-proposal-mismatch-v1": {WEST: "child-proposal-mismatch", EAST: "child-proposal-mismatch",
                                 BOTH: "child-proposal-mismatch"},
    "esp-proposal-mismatch-v2": {WEST: "child-proposal-mismatch", EAST: "child-proposal-mismatch",
                                 BOTH: "child-proposal-mismatch"},
    "ts-mismatch": {WEST: "ts-unacceptable", EAST: "ts-unacceptable", BOTH: "ts-unacceptable"},
    "udp500-blocked": {WEST: "ike-no-response", BOTH: "ike-no-response", PCAP: "ike-no-response"},
    "responder-down": {WEST: "peer-unreachable", BOTH: "peer-unreachable", PCAP: "peer-unreachable"},
    "large-packets-dropped": {WEST: "large-packets-dropped", EAST: "large-packets-dropped",
                              BOTH: "large-packets-dropped", PCAP: "large-packets-dropped"},
    "nat-t-blocked": {WEST: "nat-t-blocked", EAST: "large-packets-dropped", BOTH: "nat-t-blocked",
                      PCAP: "nat-t-blocked"},
    "ikev1-policy": {WEST: "ikev1-disabled", EAST: "ikev1-disabled", BOTH: "ikev1-disabled"},
    "ike-version-mismatch": {WEST: "ike-no-response", EAST: "ike-version-mismatch", BOTH: "ike-version-mismatch"},
    "tcp-encap": {WEST: "tcp-encap-unsupported", EAST: "tcp-encap-unsupported", BOTH: "tcp-encap-unsupported"},
}

CASES = [(scenario, view, expected) for scenario, views in EXPECTED.items() for view, expected in views.items()]


@pytest.mark.parametrize("scenario,view,expected", CASES, ids=[f"{s}-{'+'.join(v)}" for s, v, _ in CASES])
def test_expected_finding_first(scenario, view, expected):
    paths = [fixture("lab", scenario, f) for f in view if os.path.exists(fixture("lab", scenario, f))]
    assert paths, f"fixture {scenario} is missing"
    report = analyze_paths(paths)
    ids = [f.id for f in report.findings]
    assert ids and ids[0] == expected, f"{scenario} {view}: got {ids}"
    assert report.verdict == "problems"
    first = report.findings[0]
    assert first.evidence, "a finding without evidence lines proves nothing"
    assert all(e.source in paths for e in first.evidence)
    assert first.fix and first.reference.startswith('RHEL 9 "Configuring a VPN with IPsec"')


def test_every_scenario_fixture_is_covered():
    scenarios = {d for d in os.listdir(fixture("lab")) if os.path.isdir(fixture("lab", d))}
    assert scenarios <= set(EXPECTED), f"lab fixtures without expectations: {scenarios - set(EXPECTED)}"


def test_responder_failure_explains_initiator_symptom():
    """The issue's example: the responder cannot install its SA and answers TS_UNACCEPTABLE."""
    report = analyze_paths([fixture("lab", "healthy", f) for f in BOTH])
    by_id = {f.id: f for f in report.findings}
    assert report.findings[0].id == "kernel-sa-install-failed"
    assert "errno 38" in " ".join(e.text for e in by_id["kernel-sa-install-failed"].evidence)
    symptom = by_id["ts-unacceptable"]
    assert symptom.severity == "warning" and "symptom" in symptom.title
    assert "east.log" in symptom.explanation


def test_quiet_responder_log_is_not_healthy():
    """The responder of a blocked tunnel saw nothing: that is inconclusive, never healthy."""
    report = analyze_paths([fixture("lab", "udp500-blocked", "east.log")])
    assert report.verdict == "inconclusive"
    assert not [f for f in report.findings if f.severity != "info"]


def test_proposal_details_are_reported():
    report = analyze_paths([fixture("lab", "ike-proposal-mismatch-v2", "east.log")])
    first = report.findings[0]
    details = dict(first.details)
    assert "remote proposals (rejected)" in details and "IKE:" in details["remote proposals (rejected)"]
    assert "local proposals" in details and "IKE=" in details["local proposals"]


@pytest.mark.parametrize("scenario,key", [("ike-proposal-mismatch-v2", "ike"), ("ike-proposal-mismatch-v1", "ike"),
                                          ("esp-proposal-mismatch-v2", "esp")])
def test_suggested_line_is_what_the_initiator_offers(scenario, key):
    """The responder logged the initiator's proposal; written back as ipsec.conf it must equal west's line."""
    import re
    conf = open(fixture("lab", scenario, "west.conf")).read()
    west_line = re.search(rf"^\s*({key}=\S+)", conf, re.M).group(1)
    report = analyze_paths([fixture("lab", scenario, f) for f in BOTH])
    first = report.findings[0]
    assert dict(first.details)["line the responder would accept"] == west_line
    assert west_line in first.fix[0]
