"""``swandoc diagnose`` against real pluto daemons in namespaces, one injected fault per test.

Each test runs the real command inside the west gateway's namespace (``ip netns exec``), the
way an admin would on the gateway, and reads the JSON report.
"""
from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import pytest
from unprivileged import python_as_nobody

from labkit import EAST, EAST_LAN, WEST_LAN, nsexec

pytestmark = pytest.mark.lab


def diagnose(lab, *args: str) -> tuple[dict, subprocess.CompletedProcess]:
    result = lab.swandoc(lab.west, "--format", "json", *args)
    assert result.returncode in (0, 1, 4), f"diagnose failed (rc {result.returncode}): {result.stderr}"
    return json.loads(result.stdout), result


def ids(report: dict) -> list[str]:
    return [f["id"] for f in report["findings"]]


def get(report: dict, finding_id: str) -> dict:
    return next(f for f in report["findings"] if f["id"] == finding_id)


def test_firewall_drop_of_ike_is_found_with_the_rule_to_remove(routed_lab):
    nsexec(routed_lab.west.ns, "iptables", "-A", "INPUT", "-p", "udp", "--dport", "500", "-j", "DROP")
    report, result = diagnose(routed_lab, "--no-capture")
    assert result.returncode == 1
    found = get(report, "local-firewall-blocks-ike")
    assert any("--dport 500 -j DROP" in e["text"] for e in found["evidence"])
    assert any("iptables -t filter -D INPUT -p udp -m udp --dport 500 -j DROP" in fix for fix in found["fix"])
    assert "nat-masquerade-before-ipsec" not in ids(report)


def test_nft_drop_of_nat_t_is_found_with_the_nft_handle(routed_lab):
    nsexec(routed_lab.west.ns, "nft", "add table inet fw; add chain inet fw in { type filter hook input priority 0; }; "
           "add rule inet fw in udp dport 4500 drop")
    report, _ = diagnose(routed_lab, "--no-capture")
    found = get(report, "local-firewall-blocks-ike")
    assert "NAT-T (UDP 4500)" in found["explanation"]
    assert any(fix.startswith("Remove") and "nft delete rule inet fw in handle" in fix for fix in found["fix"])


def test_masquerade_without_exemption_gives_the_exact_exemption(routed_lab):
    nsexec(routed_lab.west.ns, "iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "eth0", "-j", "MASQUERADE")
    report, _ = diagnose(routed_lab, "--no-capture")
    found = get(report, "nat-masquerade-before-ipsec")
    assert f"iptables -t nat -I POSTROUTING -s {WEST_LAN} -d {EAST_LAN} -j RETURN" in found["fix"][0]
    # With the exemption in place the finding goes away.
    nsexec(routed_lab.west.ns, "iptables", "-t", "nat", "-I", "POSTROUTING", "-s", WEST_LAN, "-d", EAST_LAN,
           "-j", "RETURN")
    report, _ = diagnose(routed_lab, "--no-capture")
    assert "nat-masquerade-before-ipsec" not in ids(report)


def test_nft_masquerade_gives_an_nft_exemption(routed_lab):
    nsexec(routed_lab.west.ns, "nft", "add table ip mynat; add chain ip mynat post { type nat hook postrouting "
           "priority 100; }; add rule ip mynat post oifname eth0 masquerade")
    report, _ = diagnose(routed_lab, "--no-capture")
    found = get(report, "nat-masquerade-before-ipsec")
    assert f"nft insert rule ip mynat post ip saddr {WEST_LAN} ip daddr {EAST_LAN} return" in found["fix"][0]


def test_small_mtu_on_the_path(routed_lab):
    # The router's link toward east carries 1280 bytes; west learns it from ICMP "fragmentation needed".
    nsexec(routed_lab.router, "ip", "link", "set", "eth1", "mtu", "1280")
    nsexec(routed_lab.west.ns, "ping", "-M", "do", "-s", "1400", "-c", "1", "-W", "1", EAST, check=False)
    report, _ = diagnose(routed_lab, "--no-capture")
    found = get(report, "mtu-too-small")
    details = found["details"]
    assert details["path_mtu"] == "1280"
    assert int(details["inner_mtu"]) == 1280 - int(details["ipsec_overhead"])
    assert any(f"mtu={details['inner_mtu']}" in fix for fix in found["fix"])
    assert "mss-not-clamped" in ids(report)
    nsexec(routed_lab.west.ns, "iptables", "-t", "mangle", "-I", "FORWARD", "-p", "tcp", "--tcp-flags", "SYN,RST",
           "SYN", "-j", "TCPMSS", "--clamp-mss-to-pmtu")
    report, _ = diagnose(routed_lab, "--no-capture")
    assert "mtu-too-small" in ids(report) and "mss-not-clamped" not in ids(report)


def test_no_mtu_finding_on_a_clean_1500_path(routed_lab):
    report, _ = diagnose(routed_lab, "--no-capture")
    assert "mtu-too-small" not in ids(report)
    assert "local-firewall-blocks-ike" not in ids(report)
    assert "pluto-not-running" not in ids(report)
    assert "connection-not-loaded" not in ids(report)
    assert "pluto-not-listening" not in ids(report)
    assert "nat-masquerade-before-ipsec" not in ids(report)


def test_pluto_stopped(routed_lab):
    routed_lab.west.stop()
    report, result = diagnose(routed_lab, "--no-capture")
    assert result.returncode == 1
    assert ids(report)[0] == "pluto-not-running"
    probes = {p["name"]: p for p in report["probes"]}
    assert probes["whack_status"]["status"] == "failed"
    # The other probes still ran.
    assert probes["iptables_save"]["status"] == "ok" and probes["route_to_peer"]["status"] == "ok"


def test_connection_not_loaded(routed_lab):
    routed_lab.west.whack("--delete", "--name", "west-east")
    report, _ = diagnose(routed_lab, "--no-capture")
    assert "connection-not-loaded" in ids(report)


def test_unknown_connection_is_a_usage_error(routed_lab):
    result = routed_lab.swandoc(routed_lab.west, "--no-capture", conn="nosuch")
    assert result.returncode == 2
    assert "nosuch" in result.stderr and "west-east" in result.stderr
    assert "Traceback" not in result.stderr


def test_nat_with_udp_4500_blocked(nat_lab, tmp_path):
    # The NAT router passes UDP 500 but drops UDP 4500 toward east.
    nsexec(nat_lab.router, "iptables", "-I", "FORWARD", "-p", "udp", "--dport", "4500", "-j", "DROP")
    pcap = tmp_path / "west.pcap"
    report, _ = diagnose(nat_lab, "--initiate", "--duration", "3", "--pcap", str(pcap))
    assert "nat-t-blocked" in ids(report), ids(report)
    assert pcap.stat().st_size > 24
    tshark = subprocess.run(["tshark", "-r", str(pcap), "-Y", "udp.port == 4500"], capture_output=True, text=True)
    assert tshark.returncode == 0 and tshark.stdout.strip()


def test_html_report_and_explicit_log(routed_lab, tmp_path):
    nsexec(routed_lab.west.ns, "iptables", "-A", "INPUT", "-p", "udp", "--dport", "500", "-j", "DROP")
    out = tmp_path / "report.html"
    result = routed_lab.swandoc(routed_lab.west, "--no-capture", "--log", str(routed_lab.west.log),
                                "--format", "html", "-o", str(out))
    assert result.returncode == 1, result.stderr
    html = out.read_text()
    assert "local-firewall-blocks-ike" in html and "iptables_save" in html
    assert str(routed_lab.west.log) in html  # the probe summary names the log it read


def test_without_root_probes_fail_softly(routed_lab):
    # An unprivileged admin: the probes that need root say so, the rest still run.
    public = Path(tempfile.mkdtemp(prefix="sddiag-"))
    public.chmod(0o755)
    conf = public / "ipsec.conf"
    conf.write_text(routed_lab.west.conf.read_text())
    conf.chmod(0o644)
    routed_lab.cleanup.append(public)
    result = nsexec(routed_lab.west.ns, *python_as_nobody(), "-m", "swandoc", "diagnose", "west-east",
                    "--config", str(conf),
                    "--ctl-socket", str(routed_lab.west.ctl), "--format", "json", "--duration", "1",
                    check=False, timeout=60)
    assert result.returncode in (0, 1, 4), result.stderr  # a report, whatever its verdict
    assert "Traceback" not in result.stderr
    probes = {p["name"]: p for p in json.loads(result.stdout)["probes"]}
    assert probes["iptables_save"]["status"] == "failed"
    assert probes["ike_capture"]["status"] == "failed" and "root" in probes["ike_capture"]["result"]
    assert probes["route_to_peer"]["status"] == "ok"


def test_unknown_interface_is_a_usage_error(routed_lab):
    result = routed_lab.swandoc(routed_lab.west, "--interface", "nosuch0", "--duration", "1")
    assert result.returncode == 2 and "nosuch0" in result.stderr and "eth0" in result.stderr
