"""Pluto's wording in the reference documentation (§4.13) and in other Libreswan releases."""
import os

import pytest

from swandoc.analysis import analyze_paths

from .conftest import fixture

REFERENCE = {
    "ikev2-firewall.txt": "ike-no-response",
    "ikev1-firewall.txt": "ike-no-response",
    "icmp-refused.txt": "peer-unreachable",
    "ike-proposal.txt": "ike-proposal-mismatch",
    "esp-proposal.txt": "child-proposal-mismatch",
    "ts-ikev2.txt": "ts-unacceptable",
    "ts-ikev1.txt": "ts-unacceptable",
    "ikev1-psk.txt": "ikev1-psk-mismatch",
    "ikev2-psk.txt": "authentication-failed",
}

VERSIONS = {
    "v5.2-ike-no-response.txt": "ike-no-response",
    "v5.1-ike-proposal.txt": "ike-proposal-mismatch",
    "v5.1-no-matching-connection.txt": "no-matching-connection",
    "v4.8-kernel.txt": "kernel-sa-install-failed",
    "v3.32-ike-proposal.txt": "ike-proposal-mismatch",
    "v3.29-ike-proposal-responder.txt": "ike-proposal-mismatch",
    "v3-kernel.txt": "kernel-sa-install-failed",
    "v4.7-dpd.txt": "dpd-peer-dead",
    "v4.12-icmp.txt": "peer-unreachable",
    "v4-child-proposal.txt": "child-proposal-mismatch",
    "v4.12-ikev1-psk.txt": "ikev1-psk-mismatch",
    "v3.32-psk.txt": "authentication-failed",
    "v4.12-not-loaded.txt": "connection-not-loaded",
}


@pytest.mark.parametrize("name,expected", sorted(REFERENCE.items()))
def test_reference_doc_examples(name, expected):
    report = analyze_paths([fixture("reference", name)])
    assert [f.id for f in report.findings][:1] == [expected]
    assert report.sources[0].kind == "whack"
    assert report.sources[0].unparsed == 0


@pytest.mark.parametrize("name,expected", sorted(VERSIONS.items()))
def test_wording_of_other_versions(name, expected):
    report = analyze_paths([fixture("versions", name)])
    assert [f.id for f in report.findings][:1] == [expected]


def test_every_version_fixture_has_an_expectation():
    files = {f for f in os.listdir(fixture("versions")) if f.endswith(".txt")}
    assert files == set(VERSIONS)


def test_real_unknown_connection_from_whack():
    report = analyze_paths([fixture("journal", "whack-unknown.txt")])
    first = report.findings[0]
    assert (first.id, first.connection) == ("connection-not-loaded", "no-such-conn")


def test_ikev1_firewall_names_the_stage():
    report = analyze_paths([fixture("reference", "ikev1-firewall.txt")])
    f = report.findings[0]
    assert f.connection == "vpn.example.com"
    assert any("STATE_MAIN_I1: retransmission" in e.text for e in f.evidence)
