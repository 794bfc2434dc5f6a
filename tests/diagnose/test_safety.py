"""Without --initiate, diagnose changes nothing on the host (here: the west namespace)."""
from __future__ import annotations

import time

import pytest

from labkit import nsexec

pytestmark = pytest.mark.lab

SYSCTL_KEYS = ("net.ipv4.ip_forward", "net.ipv4.conf.all.rp_filter", "net.ipv4.conf.eth0.rp_filter",
               "net.ipv4.conf.all.send_redirects", "net.ipv4.conf.all.accept_redirects", "net.ipv6.conf.all.forwarding")


def snapshot(ns: str) -> dict[str, str]:
    def out(*argv: str) -> str:
        return nsexec(ns, *argv).stdout

    state = {
        # iptables-save prints a date in its comments; only the rules matter.
        "iptables": "\n".join(line for line in out("iptables-save").splitlines() if not line.startswith("#")),
        "nft": out("nft", "list", "ruleset"),
        "routes": out("ip", "route", "show", "table", "all"),
        "rules": out("ip", "rule"),
        "xfrm_state": out("ip", "xfrm", "state"),
        "xfrm_policy": out("ip", "xfrm", "policy"),
        "links": out("ip", "-o", "link"),
    }
    for key in SYSCTL_KEYS:
        state[key] = out("sysctl", "-n", key)
    return state


def settle(ns: str) -> None:
    """Fresh interfaces gain IPv6 link-local addresses (and their routes) only after duplicate
    address detection: wait for that, or it shows up as a 'change' made during the run."""
    for _ in range(100):
        addrs = nsexec(ns, "ip", "-6", "addr").stdout
        if "tentative" not in addrs and addrs.count("fe80::") >= 2:  # eth0 and lan0
            return
        time.sleep(0.1)
    raise AssertionError("IPv6 link-local addresses never settled")


def test_diagnose_changes_nothing(routed_lab):
    ns = routed_lab.west.ns
    nsexec(ns, "iptables", "-A", "INPUT", "-p", "udp", "--dport", "500", "-j", "DROP")
    nsexec(ns, "nft", "add table inet t; add chain inet t c { type filter hook input priority 10; }; "
           "add rule inet t c udp dport 4500 counter accept")
    settle(ns)
    before = snapshot(ns)
    status_before = routed_lab.west.whack("--status").stdout
    result = routed_lab.swandoc(routed_lab.west, "--duration", "2")  # with capture, no --initiate
    assert result.returncode in (0, 1), result.stderr
    after = snapshot(ns)
    for key in before:
        assert before[key] == after[key], f"{key} changed"
    # pluto's connection state is untouched too (no SA was started).
    assert "#1:" not in status_before and "#1:" not in routed_lab.west.whack("--status").stdout
