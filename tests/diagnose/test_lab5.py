"""``swandoc diagnose`` on a Libreswan 5 host: 5.x pluto on both gateways, 5.x ``ipsec`` on swandoc's PATH.

The 5.x command set and whack output (no numeric codes, no STATE_ prefix) must give the same
evidence and the same findings as on 4.x.
"""
from __future__ import annotations

import json

import pytest

from labkit import nsexec

pytestmark = pytest.mark.lab


def diagnose(lab, *args: str) -> dict:
    result = lab.swandoc(lab.west, "--format", "json", *args)
    assert result.returncode in (0, 1), f"diagnose failed (rc {result.returncode}): {result.stderr}"
    return json.loads(result.stdout)


def probe(report: dict, name: str) -> dict:
    return next(p for p in report["probes"] if p["name"] == name)


def test_probes_use_the_5x_tools_and_read_their_output(routed_lab5):
    report = diagnose(routed_lab5, "--initiate", "--duration", "3")
    for name in ("libreswan_version", "whack_status", "whack_trafficstatus", "whack_listall"):
        assert probe(report, name)["status"] == "ok", probe(report, name)
    ids = [f["id"] for f in report["findings"]]
    # East (5.x) cannot install the Child SA (no ESP in this kernel) and answers TEMPORARY_FAILURE;
    # on this kernel that is all west can see. With ESP the tunnel comes up.
    assert ids[0] in ("child-sa-temporary-failure", "tunnel-up"), ids
    assert "connection-not-loaded" not in ids and "pluto-not-running" not in ids


def test_firewall_drop_on_a_5x_host(routed_lab5):
    nsexec(routed_lab5.west.ns, "iptables", "-A", "INPUT", "-p", "udp", "--dport", "500", "-j", "DROP")
    report = diagnose(routed_lab5, "--no-capture")
    assert "local-firewall-blocks-ike" in [f["id"] for f in report["findings"]]


def test_connection_not_loaded_on_a_5x_host(routed_lab5):
    routed_lab5.west.whack("--name", "west-east", "--delete")
    report = diagnose(routed_lab5, "--no-capture")
    found = next(f for f in report["findings"] if f["id"] == "connection-not-loaded")
    # the fix names each version's command, and says which is which
    steps = dict(zip(found["fix"], map(tuple, found["fix_versions"])))
    assert any("ipsec connectionstatus" in s and v == ("5",) for s, v in steps.items())
    assert any("ipsec auto --add" in s and "5" not in v for s, v in steps.items())
