"""Host rules from recorded evidence alone, as ``analyze bundle`` would see it (no live host)."""
from __future__ import annotations

from pathlib import Path

from swandoc.evidence import Evidence, EvidenceSet
from swandoc.facts import Facts
from swandoc.probes.config import parse_ipsec_conf, resolve_conn
from swandoc.parse import parse_evidence
from swandoc.rules import run_rules

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "probes"

CONF = """config setup
\tlogfile=/var/log/pluto.log
conn west-east
\tleft=192.0.2.1
\tright=198.51.100.2
\tleftsubnet=203.0.113.0/25
\trightsubnet=203.0.113.128/25
\tauthby=secret
"""


def evidence(**files: str | None) -> EvidenceSet:
    """An EvidenceSet of fixture files by evidence name; None = the probe failed."""
    ev = EvidenceSet()
    conn = resolve_conn(parse_ipsec_conf(CONF), "west-east", frozenset({"192.0.2.1"}))
    ev.add(Evidence("connection", conn.to_json().encode(), "test"))
    for name, filename in files.items():
        if filename is None:
            ev.add(Evidence(name, None, name, error="could not be had"))
        elif filename.startswith("text:"):
            ev.add(Evidence(name, filename[5:].encode(), name))
        else:
            ev.add(Evidence(name, (FIXTURES / filename).read_bytes(), str(filename)))
    return ev


def findings(ev: EvidenceSet) -> dict:
    facts = Facts(focus="west-east")
    parse_evidence(ev, facts, "west-east")
    return {f.id: f for f in run_rules(facts)}


def test_nothing_without_host_evidence():
    assert not {"local-firewall-blocks-ike", "nat-masquerade-before-ipsec", "mtu-too-small", "pluto-not-running",
                "xfrm-errors"} & set(findings(evidence()))


def test_nft_drop_and_masquerade_give_nft_commands():
    found = findings(evidence(nft_ruleset="nft_native_drop_masq.json", route_to_peer="route_to_peer_pmtu1280.json"))
    fw = found["local-firewall-blocks-ike"]
    assert "IKE (UDP 500), NAT-T (UDP 4500), ESP (IP protocol 50)" in fw.explanation
    assert "nft delete rule inet filter input handle 3" in " ".join(fw.fix)
    nat = found["nat-masquerade-before-ipsec"]
    assert nat.fix[0].endswith("nft insert rule ip nat postrouting ip saddr 203.0.113.0/25 ip daddr 203.0.113.128/25 return")
    # The native ruleset clamps MSS: the MTU problem is reported, the missing clamp is not.
    assert "mtu-too-small" in found and "mss-not-clamped" not in found


def test_iptables_nft_rules_are_reported_once_from_iptables_save():
    found = findings(evidence(iptables_save="iptables_save_drop_masq.txt", nft_ruleset="nft_iptables_nft_compat.json"))
    fw = found["local-firewall-blocks-ike"]
    assert [e.source for e in fw.evidence] == ["iptables_save"]
    assert "iptables -t nat -I POSTROUTING -s 203.0.113.0/25 -d 203.0.113.128/25 -j RETURN" in \
        found["nat-masquerade-before-ipsec"].fix[0]


def test_nft_named_set_is_resolved_never_any_port():
    # A set of other ports (DNS, NTP): IKE is not blocked, whatever the set is called.
    assert "local-firewall-blocks-ike" not in findings(evidence(nft_ruleset="nft_named_set_other_ports.json"))
    fw = findings(evidence(nft_ruleset="nft_named_set_ike.json"))["local-firewall-blocks-ike"]
    assert "IKE (UDP 500), NAT-T (UDP 4500)." in fw.explanation and "ESP" not in fw.explanation.split("Blocked here:")[1]
    assert [e.text for e in fw.evidence] == ["nft inet filter input: udp dport @blocked drop"]


def test_nft_chain_policy_is_cited_and_fixed_in_nft():
    # The route names the interface IKE arrives on, so "iifname lo accept" is known not to take it.
    fw = findings(evidence(nft_ruleset="nft_policy_drop.json", route_to_peer="route_to_peer_pmtu1280.json"))[
        "local-firewall-blocks-ike"]
    assert {e.source for e in fw.evidence} == {"nft_ruleset"}
    assert fw.evidence[0].text == "nft inet filter input: policy drop, no rule accepts IKE (UDP 500)"
    fixes = " ".join(fw.fix)
    assert "nft insert rule inet filter input udp dport 500 accept" in fixes
    assert "iptables" not in fixes.replace("firewall-cmd", "")  # no iptables fix for an nft chain


def test_exemptions_silence_the_nat_finding():
    assert "nat-masquerade-before-ipsec" not in findings(evidence(nft_ruleset="nft_masq_exempt.json"))
    assert "nat-masquerade-before-ipsec" not in findings(evidence(iptables_save="iptables_save_masq_exempt.txt"))


def test_ipsec_policy_exemption_counts():
    rules = "*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -m policy --dir out --pol ipsec -j ACCEPT\n" \
            "-A POSTROUTING -o eth0 -j MASQUERADE\nCOMMIT\n"
    assert "nat-masquerade-before-ipsec" not in findings(evidence(iptables_save="text:" + rules))
    masq_none = "*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -o eth0 -m policy --dir out --pol none -j MASQUERADE\nCOMMIT\n"
    assert "nat-masquerade-before-ipsec" not in findings(evidence(iptables_save="text:" + masq_none))


def test_mtu_and_missing_clamp():
    found = findings(evidence(route_to_peer="route_to_peer_pmtu1280.json", iptables_save="iptables_save_masq_exempt.txt"))
    mtu = found["mtu-too-small"]
    assert dict(mtu.details)["inner_mtu"] == str(1280 - 57)
    assert "mtu=1223" in mtu.fix[0]
    assert "mss-not-clamped" in found


def test_conn_mtu_already_small_enough():
    conf_mtu = '{"name": "west-east", "left": "192.0.2.1", "right": "198.51.100.2", "mtu": 1200, "leftsubnets": ["203.0.113.0/25"]}'
    ev = evidence(route_to_peer="route_to_peer_pmtu1280.json")
    ev.add(Evidence("connection", conf_mtu.encode(), "test"))
    assert "mtu-too-small" not in findings(ev)


def test_xfrm_counters_named_and_growth_shown():
    found = findings(evidence(xfrm_stat="xfrm_stat_start.txt", xfrm_stat_end="xfrm_stat_end.txt"))
    f = found["xfrm-errors"]
    assert f.evidence[0].text == "XfrmOutNoStates 10 (+5 during the diagnosis)"
    assert f.severity == "info"  # only the counter that grows while a tunnel negotiates
    real = (FIXTURES / "xfrm_stat_end.txt").read_text().replace("XfrmInNoStates          \t0", "XfrmInNoStates          \t7")
    assert "XfrmInNoStates" in real and "\t7" in real
    bad = findings(evidence(xfrm_stat="xfrm_stat_start.txt", xfrm_stat_end="text:" + real))["xfrm-errors"]
    assert bad.severity == "warning" and "unknown SPI" in bad.explanation
    assert "XfrmOutNoStates: outbound packets that matched a policy with no SA" in f.explanation
    assert "xfrm-errors" not in findings(evidence(xfrm_stat="xfrm_stat.txt", xfrm_stat_end="xfrm_stat.txt"))
    assert "xfrm-stats-unavailable" in findings(evidence(xfrm_stat=None))


def test_pluto_not_running_and_conn_not_loaded():
    ev = evidence(whack_status=None, pluto_process="pluto_process_other_netns.txt")
    # The recorded process list has west's pluto in the same namespace: then it is not "not running".
    assert "pluto-not-running" not in findings(ev)
    ev = evidence(whack_status=None, pluto_process="text:")
    assert list(findings(ev))[0] == "pluto-not-running"
    ev = evidence(whack_status="whack_status_east_natt.txt")
    assert "connection-not-loaded" not in findings(ev)
    ev.add(Evidence("whack_status", b'000 "other": 192.0.2.1...192.0.2.2; unrouted; eroute owner: #0\n', "whack"))
    assert "connection-not-loaded" in findings(ev)


def test_forwarding_and_rp_filter():
    off = (FIXTURES / "sysctls.txt").read_text().replace("ip_forward = 1", "ip_forward = 0") \
        .replace("conf.eth0.rp_filter = 0", "conf.eth0.rp_filter = 1")
    found = findings(evidence(sysctls="text:" + off, route_to_peer="route_to_peer_pmtu1280.json"))
    assert "ip-forward-disabled" in found
    assert "net.ipv4.conf.eth0.rp_filter = 1" in [e.text for e in found["rp-filter-strict"].evidence]
    assert not {"ip-forward-disabled", "rp-filter-strict"} & set(findings(evidence(sysctls="sysctls.txt")))


def _sockets(udp: str, tcp: str) -> str:
    return "text:# ss -Hulnp\n" + (FIXTURES / udp).read_text() + "# ss -Htlnp\n" + (FIXTURES / tcp).read_text()


def test_pluto_listening_where_needed():
    running = "text:pid=1 netns=same /usr/libexec/ipsec/pluto\n"
    ev = evidence(listening_sockets=_sockets("ss_udp.txt", "ss_tcp.txt"), pluto_process=running)
    assert "pluto-not-listening" not in findings(ev)


def test_pluto_not_listening_on_the_local_address_or_tcp():
    running = "text:pid=1 netns=same /usr/libexec/ipsec/pluto\n"
    conf = CONF.replace("left=192.0.2.1", "left=192.0.2.77").replace("config setup\n", "config setup\n\tlisten-tcp=yes\n")
    ev = evidence(listening_sockets=_sockets("ss_udp.txt", "ss_tcp.txt"), pluto_process=running)
    conn = resolve_conn(parse_ipsec_conf(conf), "west-east", frozenset({"192.0.2.77"}))
    ev.add(Evidence("connection", conn.to_json().encode(), "test"))
    f = findings(ev)["pluto-not-listening"]
    assert "IKE (UDP 500), NAT-T (UDP 4500), IKE over TCP (TCP 4500, listen-tcp=yes) at 192.0.2.77" in f.explanation


def test_an_item_its_parser_cannot_read_is_a_failed_probe_in_the_report():
    """Otherwise its rules are silently off and the report looks complete."""
    from swandoc.analysis import build_report
    from swandoc.probes.command import probe_summary
    from swandoc.report import render

    cut = (FIXTURES / "route_to_peer_pmtu1280.json").read_text()[:80]  # a probe's output cut short
    ev = evidence(sysctls="sysctls.txt")
    ev.add(Evidence("route_to_peer", cut.encode(), "ip -j route get 198.51.100.2"))
    facts = Facts(focus="west-east")
    parse_evidence(ev, facts, "west-east")
    summary = probe_summary(ev, facts.hosts["this host"].parse_errors)
    rows = {name: (status, result) for name, status, result in summary}
    assert rows["route_to_peer"] == ("failed", "could not parse: Expecting ',' delimiter: line 5 column 19 "
                                               "(char 80) [ip -j route get 198.51.100.2]")
    assert rows["sysctls"][0] == "ok" and rows["connection"][0] == "ok"
    report = build_report(facts, command="diagnose", extras=[("probes", summary)])
    assert "could not parse: Expecting ','" in render(report, "text")
