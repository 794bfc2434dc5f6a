"""What real pluto did in each scenario, independent of swandoc's rules.

These pin down the lab itself: if a scenario stops producing its failure (a Libreswan
upgrade, a kernel with ESP), these say so before the analysis tests get confusing.
"""
from __future__ import annotations

import json

import pytest

from swandoc.lab.scenarios import SCENARIOS

pytestmark = pytest.mark.lab

HEALTHY_LIKE = ("healthy", "nat-healthy", "rsa-raw", "x509")


@pytest.mark.parametrize("name", HEALTHY_LIKE)
def test_healthy_like_matches_kernel_capability(lab_results, name):
    r = lab_results[name]
    assert r.outcome.ike_established, f"{name}: IKE SA did not come up; see {r.out_dir}"
    if r.kernel_esp:
        assert r.outcome.child_established, f"{name}: Child SA not up on a kernel with ESP"
        assert r.outcome.traffic_ok, f"{name}: ping through the tunnel failed"
    else:
        assert r.outcome.sa_install_failed, f"{name}: expected the kernel SA install to fail"
        assert "Function not implemented" in r.path("east.log").read_text()


@pytest.mark.parametrize("name", ["udp500-blocked", "responder-down", "ike-proposal-mismatch-v2",
                                  "ike-version-mismatch", "ikev1-policy"])
def test_first_message_never_answered_usefully(lab_results, name):
    whack = lab_results[name].path("west-whack.txt").read_text()
    assert "031 " in whack and "No response (or no acceptable response) to our first" in whack


@pytest.mark.parametrize("name", ["large-packets-dropped", "nat-t-blocked"])
def test_ike_auth_lost_after_init_answered(lab_results, name):
    whack = lab_results[name].path("west-whack.txt").read_text()
    assert "sent IKE_AUTH request" in whack
    assert "STATE_V2_PARENT_I2: 3 second timeout exceeded" in whack


@pytest.mark.parametrize("name", ["ikev2-psk-mismatch", "id-mismatch", "secret-missing", "x509-untrusted-ca"])
def test_responder_rejects_authentication(lab_results, name):
    r = lab_results[name]
    assert "AUTHENTICATION_FAILED" in r.path("west-whack.txt").read_text()
    assert "with encrypted notification AUTHENTICATION_FAILED" in r.path("east.log").read_text()


def test_responder_down_gets_port_unreachable(lab_results):
    whack = lab_results["responder-down"].path("west-whack.txt").read_text()
    assert "Connection refused" in whack and "ICMP type 3 code 3" in whack


def test_every_run_writes_its_evidence(lab_results):
    for s in SCENARIOS:
        r = lab_results[s.name]
        for name in ("west.log", "east.log", "west-whack.txt", "west.pcap", "west.conf", "east.conf", "lab.json"):
            assert r.path(name).exists(), f"{s.name}: {name} missing"
        data = json.loads(r.path("lab.json").read_text())
        assert data["scenario"] == s.name
        assert isinstance(data["kernel_esp"], bool)
        assert data["expected_finding"] == s.expected_for(data["kernel_esp"], "both", r.kernel_espintcp)
        assert r.path("west.pcap").stat().st_size > 24, f"{s.name}: empty capture"
        assert r.duration < 30, f"{s.name} took {r.duration}s"


def test_tcp_encap_matches_kernel_espintcp(lab_results):
    r = lab_results["tcp-encap"]
    if not r.kernel_espintcp:
        # pluto asks for the espintcp ULP on its TCP socket; without it both ends say so
        assert "TCP_ULP" in r.path("west-whack.txt").read_text()
        assert 'TCP_ULP, "espintcp") failed' in r.path("east.log").read_text()
    else:
        assert r.outcome.ike_established
