"""Each probe parser on real output recorded in fixtures/probes (see its README)."""
from __future__ import annotations

import doctest
from pathlib import Path

import pytest

from swandoc.probes import config, hostinfo, iptables, journal, mtu, netfilter, netinfo, nft, whack
from swandoc.probes.iptables import parse_iptables_save
from swandoc.probes.netfilter import Packet, verdict_for
from swandoc.probes.nft import parse_nft_json
from swandoc.probes.hostinfo import (parse_pluto_process, parse_ss, parse_sysctls, parse_xfrm_stat, parse_xfrm_state,
                                     strip_xfrm_keys)
from swandoc.probes.netinfo import parse_route_to_peer
from swandoc.probes.whack import parse_trafficstatus, parse_whack_status

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "probes"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


@pytest.mark.parametrize("module", [config, iptables, nft, hostinfo, journal, mtu, netinfo, whack])
def test_docstring_samples(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


def test_whack_status_routed():
    status = parse_whack_status(fixture("whack_status.txt"))
    assert status.conns == ("west-east",)
    assert [(s.serial, s.port, s.state) for s in status.states] == [(1, 500, "STATE_V2_ESTABLISHED_IKE_SA")]
    assert status.version == "4.10" and status.fips == "disabled"
    assert "eth0 UDP 192.0.2.1:500" in status.interfaces


def test_whack_status_nat_t_and_instances():
    west = parse_whack_status(fixture("whack_status_natt.txt"))
    assert west.states[0].port == 4500
    east = parse_whack_status(fixture("whack_status_east_natt.txt"))
    assert east.conns == ("west-east",)
    assert east.states[0].instance == "[1]" and east.states[0].port == 4500


def test_whack_status_with_pluto_down_has_nothing():
    status = parse_whack_status(fixture("whack_status_pluto_down.txt"))
    assert status.conns == () and status.states == ()


def test_trafficstatus_empty_and_sample():
    assert parse_trafficstatus(fixture("whack_trafficstatus.txt")) == ()
    line = '006 #3: "west-east"[1] 198.51.100.254, type=ESP, add_time=1, inBytes=42, outBytes=84, maxBytes=2^63B, id=\'@west\''
    traffic = parse_trafficstatus(line)[0]
    assert (traffic.serial, traffic.conn, traffic.inbytes, traffic.outbytes) == (3, "west-east", 42, 84)


def test_iptables_save_rules_and_verdicts():
    rs = parse_iptables_save(fixture("iptables_save_drop_masq.txt"))
    tables = {(r.table, r.chain, r.verdict) for r in rs.rules}
    assert {("filter", "INPUT", "drop"), ("filter", "INPUT", "accept"), ("nat", "POSTROUTING", "masquerade"),
            ("mangle", "FORWARD", "tcpmss")} == tables
    ike = verdict_for(rs, "input", Packet("udp", 500, src="198.51.100.2"), cover=False)
    assert [o.verdict for o in ike if o.rule] == ["drop"]
    natt = verdict_for(rs, "input", Packet("udp", 4500), cover=False)
    assert all(o.verdict == "accept" for o in natt)
    esp = verdict_for(rs, "input", Packet("esp"), cover=False)
    assert [o.verdict for o in esp if o.rule] == ["accept"]
    assert netfilter.has_mss_clamp(rs).table == "mangle"


def test_iptables_exemption_before_masquerade():
    rs = parse_iptables_save(fixture("iptables_save_masq_exempt.txt"))
    pkt = Packet(None, src="203.0.113.0/25", dst="203.0.113.128/25", oif="eth0", ipsec=True)
    (outcome,) = verdict_for(rs, "postrouting", pkt, type_="nat", cover=False)
    assert outcome.verdict == "return"
    other = Packet(None, src="203.0.113.0/25", dst="192.0.2.99/32", oif="eth0")
    (outcome,) = verdict_for(rs, "postrouting", other, type_="nat", cover=False)
    assert outcome.verdict == "masquerade"


def test_nft_native_ruleset():
    rs = parse_nft_json(fixture("nft_native_drop_masq.json"))
    by_chain = {}
    for r in rs.rules:
        by_chain.setdefault((r.table, r.chain), r)  # the first rule of each chain
    drop = by_chain[("filter", "input")]
    assert drop.verdict == "drop" and drop.protos == ("udp",) and drop.dports == ((500, 500), (4500, 4500))
    assert by_chain[("nat", "postrouting")].src == ("203.0.113.0/25",)
    assert by_chain[("nat", "postrouting")].oif == ("eth0",)
    assert by_chain[("mangle", "forward")].verdict == "tcpmss"
    rejects = [o for o in verdict_for(rs, "input", Packet("esp"), cover=False) if o.rule]
    assert rejects[0].verdict == "reject" and rejects[0].rule.text == "ip protocol esp reject"


def test_nft_sees_iptables_nft_rules_as_compat_chains():
    rs = parse_nft_json(fixture("nft_iptables_nft_compat.json"))
    assert all(c.compat for c in rs.chains if c.name in ("INPUT", "POSTROUTING"))
    assert {r.verdict for r in rs.rules} >= {"drop", "accept", "masquerade", "tcpmss"}
    assert verdict_for(rs, "input", Packet("udp", 500), cover=False, skip_compat=True) == []


def test_nft_exemption():
    rs = parse_nft_json(fixture("nft_masq_exempt.json"))
    pkt = Packet(None, src="203.0.113.0/25", dst="203.0.113.128/25", oif="eth0", ipsec=True)
    assert verdict_for(rs, "postrouting", pkt, type_="nat", cover=False)[0].verdict == "return"


def test_nft_bad_json_is_an_empty_ruleset():
    assert parse_nft_json("not json").rules == ()


def test_xfrm_stat_counters():
    start, end = parse_xfrm_stat(fixture("xfrm_stat_start.txt")), parse_xfrm_stat(fixture("xfrm_stat_end.txt"))
    assert len(start) >= 25 and start["XfrmOutNoStates"] == 5 and end["XfrmOutNoStates"] == 10
    assert not any(parse_xfrm_stat(fixture("xfrm_stat.txt")).values())


def test_xfrm_state_and_policy():
    assert parse_xfrm_state(fixture("ip_xfrm_state_empty.txt")) == ()
    text, removed = strip_xfrm_keys(fixture("ip_xfrm_policy.txt"))
    assert removed == 0 and text == fixture("ip_xfrm_policy.txt")


def test_xfrm_keys_never_survive():
    sample = ("src 192.0.2.1 dst 198.51.100.2\n\tproto esp spi 0x1 reqid 1 mode tunnel\n"
              "\tauth-trunc hmac(sha256) 0x" + "ab" * 32 + " 128\n\tenc cbc(aes) 0x" + "cd" * 32 + "\n")
    text, removed = strip_xfrm_keys(sample)
    assert removed == 2 and "abab" not in text and "cdcd" not in text and "hmac(sha256)" in text


def test_ss_sockets():
    sockets = parse_ss("# ss -Hulnp\n" + fixture("ss_udp.txt") + "# ss -Htlnp\n" + fixture("ss_tcp.txt"))
    assert {(s.address, s.port) for s in sockets if s.process == "pluto"} >= {("192.0.2.1", 500), ("192.0.2.1", 4500),
                                                                              ("::1", 500)}


def test_sysctls_and_rp_filter():
    values = parse_sysctls(fixture("sysctls.txt"))
    assert values["net.ipv4.ip_forward"] == "1"
    # the fixture is read_sysctls output: every key the probe reads is in it (re-record when not)
    assert set(hostinfo.SYSCTLS) <= set(values), set(hostinfo.SYSCTLS) - set(values)
    assert values["net.core.xfrm_larval_drop"] == "1" and values["net.ipv4.ip_no_pmtu_disc"] == "0"
    assert hostinfo.effective_rp_filter(values, "eth0") == 0
    values["net.ipv4.conf.eth0.rp_filter"] = "1"
    assert hostinfo.effective_rp_filter(values, "eth0") == 1


def test_pluto_processes_by_namespace():
    procs = parse_pluto_process(fixture("pluto_process_other_netns.txt"))
    assert [p.same_netns for p in procs] == [False, True]
    assert "east/ipsec.conf" in procs[0].cmdline and "west/ipsec.conf" in procs[1].cmdline


def test_route_to_peer():
    route = parse_route_to_peer(fixture("route_to_peer_pmtu1280.json"))
    assert (route.dev, route.link_mtu, route.route_mtu, route.cached, route.path_mtu) == ("eth0", 1500, 1280, True, 1280)


def test_esp_overhead_by_proposal():
    assert mtu.esp_overhead("aes_gcm256-null") == 57
    assert mtu.esp_overhead("aes256-sha1") == 20 + 8 + 16 + 15 + 2 + 12
    assert mtu.esp_overhead("aes_gcm256", nat_t=True) == 65
    assert mtu.esp_overhead("aes_gcm256", tcp=True) == 57 + 22
    assert mtu.esp_overhead("aes_gcm256", tunnel=False) == 37
