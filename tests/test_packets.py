"""The IKE/ESP/ICMP decoder and request/response pairing, on real recorded captures.

Fixtures are in fixtures/pcap/ (see its README: lab-* from real pluto daemons, the rest from
real kernel sockets in namespaces carrying scapy-built IKE).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from swandoc.errors import InputError
from swandoc.facts import Facts
from swandoc.evidence import FILE, Evidence, Origin
from swandoc.logparse.capture import decode_pcap_bytes, feed_capture, read_packets
from swandoc.logparse.decode import decode
from swandoc.logparse.pairing import esp_flows, exchanges, wire

PCAPS = Path(__file__).resolve().parent.parent / "fixtures" / "pcap"


def read(name: str):
    packets, summary = read_packets(str(PCAPS / name), name)
    return packets, summary


def test_healthy_exchange_decoded_and_paired():
    packets, summary = read("lab-healthy.pcap")
    assert (summary.kind, summary.lines, summary.packets, summary.unparsed) == ("pcap", 4, 4, 0)
    init, init_r, auth, auth_r = packets
    assert [p.number for p in packets] == [1, 2, 3, 4]
    assert (init.kind, init.ike_version, init.exchange, init.is_response, init.is_initiator, init.msgid) == \
        ("ike", 2, "IKE_SA_INIT", False, True, 0)
    assert (init.src, init.sport, init.dst, init.dport, init.transport) == ("192.0.2.1", 500, "192.0.2.2", 500, "udp")
    assert init.spi_r == "0" * 16 and init.spi_i != init.spi_r
    assert "NAT_DETECTION_SOURCE_IP" in init.notifies and "IKEV2_FRAGMENTATION_SUPPORTED" in init.notifies
    assert init_r.is_response and init_r.spi_i == init.spi_i and init_r.spi_r != "0" * 16
    assert (auth.exchange, auth.msgid, auth.encrypted, auth.notifies) == ("IKE_AUTH", 1, True, ())
    assert auth_r.is_response and not auth_r.is_initiator
    flows = exchanges(packets)
    assert [(e.exchange, e.answered, e.retransmits) for e in flows] == [("IKE_SA_INIT", True, 0), ("IKE_AUTH", True, 0)]
    assert flows[0].initial and not flows[1].initial
    assert flows[1].response is auth_r


def test_pcapng_reads_like_pcap():
    a, _ = read("lab-healthy.pcap")
    b, summary = read("lab-healthy.pcapng")
    assert summary.packets == 4
    assert [p.summary() for p in a] == [p.summary() for p in b]


def test_retransmissions_of_unanswered_request():
    packets, _ = read("lab-udp500-blocked.pcap")
    flows = exchanges(packets)
    first = flows[0]
    assert first.exchange == "IKE_SA_INIT" and not first.answered and first.expects_response
    assert first.retransmits == 3 and [p.number for p in first.transmissions] == [1, 2, 3, 4]
    assert "(retransmit 3) - no response" in first.evidence_text()
    # pluto gives up and starts over with a new IKE SA: a new exchange, not a fifth copy
    assert len(flows) == 2 and flows[1].request.spi_i != first.request.spi_i


def test_icmp_port_unreachable_quotes_the_ike_request():
    packets, _ = read("lab-responder-down.pcap")
    icmp = [p for p in packets if p.kind == "icmp"]
    assert len(icmp) == 5
    err = icmp[0]
    assert (err.icmp_type, err.icmp_code, err.icmp_reason) == (3, 3, "port unreachable")
    assert (err.src, err.quoted_src, err.quoted_dst, err.quoted_proto, err.quoted_dport) == \
        ("192.0.2.2", "192.0.2.1", "192.0.2.2", "udp", 500)
    assert (err.quoted_exchange, err.quoted_msgid) == ("IKE_SA_INIT", 0)
    assert err.about_ike
    flows = exchanges(packets)
    assert [e.number for e in flows[0].icmp_errors] == [2, 4, 6, 8]


def test_icmpv6_port_unreachable():
    packets, _ = read("ipv6-port-unreachable.pcap")
    err = next(p for p in packets if p.kind == "icmp")
    assert (err.icmp_type, err.icmp_code, err.icmp_reason) == (1, 4, "port unreachable")
    assert (err.quoted_dst, err.quoted_dport, err.quoted_exchange) == ("2001:db8::2", 500, "IKE_SA_INIT")
    assert packets[0].summary().startswith("[2001:db8::1]:500 -> [2001:db8::2]:500 IKEv2 IKE_SA_INIT request")


def test_nat_t_move_to_4500_with_non_esp_marker():
    packets, _ = read("lab-nat-t-blocked.pcap")
    auth = packets[2]
    assert (auth.exchange, auth.sport, auth.dport, auth.non_esp_marker, auth.nat_t) == ("IKE_AUTH", 4500, 4500, True, True)
    flows = exchanges(packets)
    assert flows[1].moved_to_natt and not flows[1].answered and flows[1].retransmits == 3
    assert not flows[0].moved_to_natt and flows[0].answered
    healthy = exchanges(read("lab-nat-healthy.pcap")[0])
    assert healthy[1].moved_to_natt and healthy[1].answered


def test_ip_fragments_of_a_large_ike_auth():
    packets, _ = read("lab-large-packets-dropped.pcap")
    first, tail = packets[2], packets[3]
    assert (first.kind, first.exchange, first.ip_fragment, first.size) == ("ike", "IKE_AUTH", "first", 1500)
    assert (tail.kind, tail.ip_fragment, tail.ip_id) == ("fragment", "last", first.ip_id)
    auth = exchanges(packets)[1]
    assert auth.fragmented and not auth.answered and auth.largest == 1500


def test_ikev2_fragments_rfc7383_count_as_one_request_per_attempt():
    packets, _ = read("ikev2-fragments-unanswered.pcap")
    assert [p.ike_fragment for p in packets[2:]] == [(1, 2), (2, 2)] * 3
    auth = exchanges(packets)[1]
    assert len(auth.transmissions) == 6 and auth.retransmits == 2 and auth.fragmented and not auth.answered


def test_rfc8229_tcp_framing():
    packets, summary = read("ikev2-tcp-rfc8229.pcap")
    assert summary.unparsed == 0
    ike = [p for p in packets if p.kind == "ike"]
    assert len(ike) == 2
    req, resp = ike
    assert (req.transport, req.tcp_encap, req.dport, req.exchange) == ("tcp", True, 4500, "IKE_SA_INIT")
    assert resp.is_response and resp.notifies == ("NO_PROPOSAL_CHOSEN",)
    assert exchanges(packets)[0].response is resp
    assert packets[0].kind == "tcp" and packets[0].tcp_flags == "SYN"


def test_tcp_segments_without_frames_from_real_pluto():
    packets, summary = read("lab-tcp-encap.pcap")
    assert summary.unparsed == 0 and len(packets) == 16
    assert {p.kind for p in packets} == {"tcp"}
    prefix = [p for p in packets if p.tcp_prefix]
    assert len(prefix) == 2 and '"IKETCP" stream prefix' in prefix[0].summary()
    assert any("FIN" in (p.tcp_flags or "") for p in packets if p.src == "192.0.2.2")


def test_ikev1_main_and_aggressive_mode():
    packets, _ = read("ikev1-main-aggressive.pcap")
    assert [p.exchange for p in packets] == ["Main Mode"] * 6 + ["Aggressive", "Informational"]
    assert all(p.ike_version == 1 for p in packets)
    assert packets[0].is_response is False and packets[1].is_response is None  # header cannot tell
    assert [p.encrypted for p in packets[:6]] == [False, False, False, False, True, True]
    assert packets[6].identities == ("<script>alert('id')</script>@example.net",)
    assert packets[7].notifies == ("INVALID-ID-INFORMATION",)
    flows = exchanges(packets)
    assert [(e.exchange, e.answered, [r.number for r in e.responses]) for e in flows] == [
        ("Main Mode", True, [2]), ("Main Mode", True, [4]), ("Main Mode", True, [6]), ("Aggressive", True, [8])]


def test_esp_keepalive_and_flows():
    packets, _ = read("esp-both-ways.pcap")
    esp = [p for p in packets if p.kind == "esp"]
    assert {(p.transport, p.esp_spi) for p in esp} == {("ip", 0x0A0A0A0A), ("ip", 0x0B0B0B0B),
                                                      ("udp", 0x0C0C0C0C), ("udp", 0x0D0D0D0D)}
    assert [p.esp_seq for p in esp if p.esp_spi == 0x0A0A0A0A] == [1, 2, 3]
    assert [p.kind for p in packets if p.dport == 4500 and p.src == "192.0.2.1"][0] == "keepalive"
    flows = {(f.src, f.dst): f for f in esp_flows(packets)}
    assert flows[("192.0.2.1", "192.0.2.2")].packets == 4 and flows[("192.0.2.2", "192.0.2.1")].packets == 4
    # the kernel without ESP answers raw ESP with "protocol unreachable", quoting it
    icmp = [p for p in packets if p.kind == "icmp"]
    assert icmp and all(p.quoted_proto == "esp" and p.icmp_code == 2 for p in icmp)
    assert len(wire(packets).icmp) == len(icmp)


def test_capture_file_fills_facts():
    facts = Facts()
    path = str(PCAPS / "lab-nat-t-blocked.pcap")
    feed_capture(Evidence("ike_capture", None, path, where=Origin(FILE, "west.pcap"), path=path), facts)
    assert len(facts.packets) == 9 and facts.packets[0].source == "west.pcap"
    assert facts.sources[0].name == "west.pcap" and facts.sources[0].packets == 9
    assert facts.sources[0].first_time.startswith("2026-")


def test_truncated_capture_keeps_its_packets_with_a_note():
    packets, summary = read("truncated-last-packet.pcap")
    assert summary.packets == len(packets) >= 9
    assert any("truncated" in n for n in summary.notes)


def test_truncated_pcapng_keeps_its_packets_with_a_note(tmp_path):
    """A pcapng cut mid-block (dumpcap killed): the complete packets stay, with the same note."""
    cut = tmp_path / "cut.pcapng"
    cut.write_bytes((PCAPS / "lab-healthy.pcapng").read_bytes()[:-150])
    packets, summary = read_packets(str(cut), "cut.pcapng")
    whole, intact = read("lab-healthy.pcapng")
    assert len(packets) == 3 and [p.summary() for p in packets] == [p.summary() for p in whole[:3]]
    assert any("truncated" in n for n in summary.notes)
    assert not any("truncated" in n for n in intact.notes)


def test_newer_ikev2_notify_types_have_the_same_name_on_every_scapy():
    from scapy.contrib import ikev2
    from scapy.layers.inet import IP, UDP

    notify = getattr(ikev2, "IKEv2_Notify", None) or ikev2.IKEv2_payload_Notify  # scapy 2.5 name
    N = 41  # next payload: Notify (spelled out: scapy 2.5 does not fill it in between two notifies)
    ike = (ikev2.IKEv2(init_SPI=b"i" * 8, exch_type=34, flags="Initiator", next_payload=N)
           / notify(type=16438, next_payload=N) / notify(type=16430))
    found = decode(IP(src="192.0.2.1", dst="192.0.2.2") / UDP(sport=500, dport=500) / bytes(ike))
    assert found.notifies == ("INTERMEDIATE_EXCHANGE_SUPPORTED", "IKEV2_FRAGMENTATION_SUPPORTED")


def test_ikev1_ipv4_address_id_reads_as_an_address():
    from scapy.layers.inet import IP, UDP
    from scapy.layers.isakmp import ISAKMP, ISAKMP_payload_ID

    names = {f.name for f in ISAKMP_payload_ID.fields_desc}  # scapy 2.5: raw "load"; 2.6+: "IdentData"
    ident = {"IdentData": "198.51.100.7"} if "IdentData" in names else {"load": bytes([198, 51, 100, 7])}
    ike = ISAKMP(init_cookie=b"c" * 8, exch_type=4, next_payload=5) / ISAKMP_payload_ID(IDtype=1, **ident)
    found = decode(IP(src="192.0.2.1", dst="192.0.2.2") / UDP(sport=500, dport=500) / bytes(ike))
    assert (found.exchange, found.identities) == ("Aggressive", ("198.51.100.7",))


@pytest.mark.parametrize("name", ["corrupt-header-only.pcap", "corrupt-garbage.pcap"])
def test_corrupt_capture_is_one_input_error(name):
    with pytest.raises(InputError) as err:
        read(name)
    assert "\n" not in str(err.value) and name in str(err.value)


def test_decode_ignores_other_traffic_and_decodes_in_memory_captures():
    from scapy.layers.inet import IP, UDP

    assert decode(IP(src="192.0.2.1", dst="192.0.2.2") / UDP(sport=53, dport=53) / b"dns") is None
    data = (PCAPS / "lab-responder-down.pcap").read_bytes()
    packets, summary = decode_pcap_bytes(data, "ike_capture")
    assert summary.name == "ike_capture" and len(packets) == 10


def test_linux_cooked_capture_on_any_interface():
    packets, summary = read("ikev2-fragments-any-interface.pcap")  # tcpdump -i any: SLL2 link type
    assert summary.unparsed == 0 and len(packets) == 8
    auth = exchanges(packets)[1]
    assert auth.exchange == "IKE_AUTH" and auth.retransmits == 2 and not auth.answered


def test_the_same_datagram_captured_twice_is_not_a_retransmission():
    import dataclasses

    original, _ = read("lab-healthy.pcap")
    doubled = []
    for p in original:  # as a capture on "any" or lo sees a datagram: twice, microseconds apart
        doubled += [p, dataclasses.replace(p, number=p.number + 100, time=p.time + 0.0001)]
    flows = exchanges(doubled)
    assert [(e.exchange, e.retransmits, e.answered) for e in flows] == [("IKE_SA_INIT", 0, True), ("IKE_AUTH", 0, True)]
    blocked, _ = read("lab-udp500-blocked.pcap")  # real retransmissions, 0.5 s and more apart
    assert exchanges(blocked)[0].retransmits == 3


def test_capture_evidence_feeds_facts():
    from swandoc.evidence import Evidence
    from swandoc.logparse.capture import feed_capture

    facts = Facts()
    feed_capture(Evidence("ike_capture", None, "capture on eth0", error="capture needs root (CAP_NET_RAW)"), facts)
    assert facts.packets == [] and facts.sources == []
    data = (PCAPS / "lab-nat-t-blocked.pcap").read_bytes()
    feed_capture(Evidence("ike_capture", data, "capture on eth0"), facts)
    assert len(facts.packets) == 9 and facts.sources[0].name == "ike_capture"
