"""Rules over what was on the wire (``facts.wire``: the packets decoded by swandoc.logparse.decode,
paired into exchanges once by swandoc.logparse.pairing).

A capture shows what the logs cannot: whether a request left and whether anything at all came
back, on which port, and whether ICMP errors answered instead. These rules reuse the topics of
the log rules where the diagnosis is the same (``ike-no-response``, ``peer-unreachable``,
``large-packets-dropped``) and add the two only a capture can show well.

Evidence lines: source = the capture name, line = packet number (1-based), text = a one-line
summary of the packet.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Iterator

from ..facts import Facts
from ..model import EvidenceLine, Finding
from .registry import rule
from .knowledge import REF_FIREWALL, REF_NAT, finding, topic

if TYPE_CHECKING:  # annotations only: a log analysis without a capture never loads the packet modules
    from ..logparse.packet import IkePacket
    from ..logparse.pairing import Exchange, Wire

MAX_LINES = 6
ESP_ONE_WAY_MIN = 3  # fewer ESP packets than this one way is too little to call it one-way

topic("nat-t-blocked", "error", "IKE went silent after moving to UDP port 4500 (NAT-T blocked)", "path", """
    The peers answered each other on UDP 500, detected NAT between them and moved IKE to UDP 4500
    as NAT traversal requires, and from then on nothing came back. A firewall or the NAT device
    passes UDP 500 but drops UDP 4500 (ESP-in-UDP travels there too, so the tunnel could not carry
    traffic even if IKE got through).""", [
    "Allow UDP 4500 in both directions on every firewall between the peers and on the peers "
    "themselves, e.g. firewall-cmd --add-service=ipsec --permanent && firewall-cmd --reload, or "
    "iptables -I INPUT -p udp --dport 4500 -j ACCEPT",
    "On the NAT device, forward UDP 4500 as well as UDP 500 to the responder if it sits behind NAT",
    "Capture on the peer to see whether the 4500 packets arrive: tcpdump -n -i IFACE udp port 4500",
    "If UDP cannot be opened at all, use IKE over TCP: on the responder listen-tcp=yes in config setup and "
    "enable-tcp=fallback in the conn; on the initiator enable-tcp=fallback and tcp-remoteport=4500 in the conn",
], REF_NAT, 82)

topic("esp-one-way", "warning", "ESP flows in one direction only", "unknown", """
    The capture shows encrypted ESP packets leaving toward one peer but none coming back (or
    arriving with nothing sent in reply). IKE set the tunnel up, but data only crosses one way: the
    far end did not install its SA or policy, a firewall drops ESP (IP protocol 50) or UDP 4500 on
    the way back, or the return traffic takes a different route around the tunnel. Short captures
    of one-way application traffic can look the same, so check the counters too.""", [
    "On both ends compare the byte counters: ipsec trafficstatus (and ip -s xfrm state)",
    "Allow ESP on every firewall in between: iptables -I INPUT -p esp -j ACCEPT (or UDP 4500 with "
    "NAT-T), and the same on the peer",
    "Check the far end's kernel state: ip xfrm state and ip xfrm policy list an SA and policy for this "
    "tunnel",
    "Check the return route on the far end: ip route get ADDRESS-INSIDE-THE-TUNNEL",
], REF_FIREWALL, 65)


def line(p: IkePacket, suffix: str = "") -> EvidenceLine:
    return EvidenceLine(p.source, p.number, p.summary() + suffix, p.host)


def transmissions(ex: Exchange, limit: int = 4) -> list[EvidenceLine]:
    """The request as sent, each copy marked with its retransmission number."""
    lines = [line(p, f" (retransmit {i})" if i else "") for i, p in ex.rounds()]
    if len(lines) > limit:
        lines = lines[:limit - 1] + lines[-1:]
    if not ex.answered and ex.expects_response:
        last = lines[-1]
        lines[-1] = EvidenceLine(last.source, last.line, last.text + " - no response", last.host)
    return lines


def _silent(ex: Exchange) -> bool:
    return ex.expects_response and not ex.answered


def _spi_exchanges(w: Wire, spi: str | None) -> list[Exchange]:
    return [ex for ex in w.exchanges if ex.request.spi_i == spi]


def _unreachable(err: IkePacket) -> bool:
    """Destination unreachable, except "fragmentation needed"/"packet too big" (an MTU signal)."""
    if ":" in err.src:
        return err.icmp_type == 1
    return err.icmp_type == 3 and err.icmp_code != 4


def _too_big(err: IkePacket) -> bool:
    return (err.icmp_type, err.icmp_code) == (3, 4) if ":" not in err.src else err.icmp_type == 2


@rule
def peer_unreachable(facts: Facts) -> Iterator[Finding]:
    w = facts.wire
    if w is None:
        return
    errors = [e for e in w.icmp if e.about_ike and _unreachable(e)]
    if not errors:
        return
    quoted = next((ex for ex in w.exchanges if ex.icmp_errors and _unreachable(ex.icmp_errors[0])), None)
    lines = ([line(quoted.request)] if quoted else []) + [line(e) for e in errors[:MAX_LINES - 1]]
    reasons = sorted({e.icmp_reason or "" for e in errors})
    sender = sorted({e.src for e in errors})
    yield finding("peer-unreachable", None, lines,
                  extra=f"Here {len(errors)} ICMP error(s) came from {', '.join(sender)}: {', '.join(reasons)}.",
                  details={"icmp_errors": str(len(errors)), "from": ", ".join(sender), "reason": ", ".join(reasons)})


@rule
def ike_no_response(facts: Facts) -> Iterator[Finding]:
    """Initial requests retransmitted and never answered, with nothing at all from that peer."""
    w = facts.wire
    if w is None:
        return
    heard_from = {p.src for p in w.packets if p.kind in ("ike", "esp", "keepalive")}
    icmp_about = {e.quoted_dst for e in w.icmp if e.about_ike}
    silent = [ex for ex in w.exchanges if ex.initial and _silent(ex)
              and ex.responder not in heard_from and ex.responder not in icmp_about]
    peers = list(dict.fromkeys(ex.responder for ex in silent))
    sent = sum(ex.retransmits + 1 for ex in silent)
    if not silent or sent < 2:  # one unanswered packet may be the capture ending too early
        return
    lines: list[EvidenceLine] = []
    for ex in silent:
        lines.extend(transmissions(ex))
    first, last = silent[0].request.time, silent[-1].transmissions[-1].time
    yield finding("ike-no-response", None, lines[:MAX_LINES],
                  extra=f"Here {sent} IKE request(s) went to {', '.join(peers)} over {last - first:.0f} s "
                        f"and no packet came back from it.",
                  details={"peer": ", ".join(peers), "requests_sent": str(sent)})


@rule
def nat_t_blocked(facts: Facts) -> Iterator[Finding]:
    """IKE_SA_INIT answered on 500, then the requests on 4500 go unanswered."""
    w = facts.wire
    if w is None:
        return
    for ex in w.exchanges:
        if not (ex.moved_to_natt and _silent(ex)) or ex.fragmented:
            continue
        peer = ex.responder
        if any(p.src == peer and p.nat_t for p in w.packets if p.kind in ("ike", "esp", "keepalive")):
            continue  # the peer does answer on 4500, so the port is open
        init = next((e for e in _spi_exchanges(w, ex.request.spi_i) if e.initial and e.answered), None)
        lines = ([line(init.request), line(init.response)] if init else []) + transmissions(ex)
        yield finding("nat-t-blocked", None, lines[:MAX_LINES],
                      extra=f"Here {ex.exchange} went {ex.retransmits + 1} time(s) to {peer} on UDP 4500 "
                            f"unanswered, after IKE_SA_INIT was answered on UDP 500.",
                      details={"peer": peer, "requests_on_4500": str(ex.retransmits + 1)})
        return


@rule
def large_packets_dropped(facts: Facts) -> Iterator[Finding]:
    """The peer answers the small IKE_SA_INIT but never the large IKE_AUTH (or says it is too big)."""
    w = facts.wire
    if w is None:
        return
    for ex in w.exchanges:
        if ex.initial or not _silent(ex) or ex.request.ike_version != 2:
            continue
        if ex.moved_to_natt and not ex.fragmented:
            continue  # that is nat_t_blocked's case
        init = next((e for e in _spi_exchanges(w, ex.request.spi_i) if e.initial and e.answered), None)
        if init is None:
            continue
        later = [p for p in w.packets if p.kind == "ike" and p.src == ex.responder and p.time > ex.request.time
                 and p.spi_i == ex.request.spi_i]
        if later:
            continue  # the peer still talks on this IKE SA
        frags = [p for p in w.packets if p.kind == "fragment" and p.src == ex.requester]
        how = ("as IKE fragments (RFC 7383)" if ex.request.ike_fragment else
               "as IP fragments" if ex.fragmented else "in one datagram")
        lines = [line(init.response)] + transmissions(ex, limit=3) + [line(p) for p in frags[:1]]
        yield finding("large-packets-dropped", None, lines[:MAX_LINES],
                      extra=f"Here the {ex.exchange} request was {ex.largest} bytes on the wire, sent {how}, "
                            f"{ex.retransmits + 1} time(s), and never answered.",
                      details={"request_bytes": str(ex.largest), "fragmented": "yes" if ex.fragmented else "no"})
        return
    too_big = [e for e in w.icmp if _too_big(e)]
    if too_big:
        yield finding("large-packets-dropped", None, [line(e) for e in too_big[:MAX_LINES]],
                      extra="Here a router said so outright: ICMP 'fragmentation needed' / 'packet too big' "
                            "about IPsec traffic.")


@rule
def esp_one_way(facts: Facts) -> Iterable[Finding]:
    w = facts.wire
    if w is None:
        return
    flows = {(f.src, f.dst): f for f in w.esp}
    # Where the capture shows IKE, only ESP between IKE peers can belong to these tunnels; a gateway also
    # carries other tunnels' (and other hosts') ESP, which says nothing about this one.
    ike_pairs = {frozenset(pair) for pair in w.peers()}
    for (src, dst), flow in flows.items():
        if flow.packets < ESP_ONE_WAY_MIN or (dst, src) in flows:
            continue
        if ike_pairs and frozenset((src, dst)) not in ike_pairs:
            continue
        spis = ", ".join(f"0x{s:08x}" for s in flow.spis[:4])
        yield finding("esp-one-way", None, [line(flow.first, f" (first of {flow.packets})")],
                      extra=f"Here {flow.packets} ESP packets went {src} -> {dst} (SPI {spis}) and none "
                            f"came back.",
                      details={"from": src, "to": dst, "packets": str(flow.packets), "spis": spis})
        return
