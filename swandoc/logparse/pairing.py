"""Exchange pairing: requests matched with their responses, retransmissions counted, ESP flows.

Computed once per analysis from every decoded packet (:attr:`swandoc.facts.Facts.wire`); the
packet rules and the ladder both read that one result.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from typing import Any, Iterable

from ..compat import SLOTS
from .packet import INITIAL_EXCHANGES, IkePacket

# --- exchanges: requests paired with responses ------------------------------------------------


@dataclass(**SLOTS)
class Exchange:
    """One IKE request and what became of it."""

    request: IkePacket  # the first transmission
    transmissions: list[IkePacket] = field(default_factory=list)  # every copy sent, first included
    responses: list[IkePacket] = field(default_factory=list)
    icmp_errors: list[IkePacket] = field(default_factory=list)  # ICMP errors quoting this request
    moved_to_natt: bool = False  # first request of this IKE SA on 4500 after earlier ones on 500
    expects_response: bool = True  # False for IKEv1 messages nothing answers (Informational, last QM)

    def rounds(self) -> list[tuple[int, IkePacket]]:
        """(attempt number from 0, packet) for each transmission; RFC 7383 fragments of one
        attempt share its number (a new attempt starts with the first fragment again)."""
        first = self.request.ike_fragment[0] if self.request.ike_fragment else None
        attempt, out = -1, []
        for p in self.transmissions:
            if first is None or not p.ike_fragment or p.ike_fragment[0] == first:
                attempt += 1
            out.append((max(attempt, 0), p))
        return out

    @property
    def retransmits(self) -> int:
        rounds = self.rounds()
        return rounds[-1][0] if rounds else 0

    @property
    def answered(self) -> bool:
        return bool(self.responses)

    @property
    def response(self) -> IkePacket | None:
        return self.responses[0] if self.responses else None

    @property
    def exchange(self) -> str:
        return self.request.exchange or "?"

    @property
    def msgid(self) -> int | None:
        return self.request.msgid

    @property
    def requester(self) -> str:
        return self.request.src

    @property
    def responder(self) -> str:
        return self.request.dst

    @property
    def initial(self) -> bool:
        return self.request.exchange in INITIAL_EXCHANGES and not any(bytes.fromhex(self.request.spi_r or "00"))

    @property
    def fragmented(self) -> bool:
        return any(p.ip_fragment or p.ike_fragment for p in self.transmissions)

    @property
    def largest(self) -> int:
        return max(p.size for p in self.transmissions)

    def evidence_text(self) -> str:
        text = self.request.summary()
        if self.retransmits:
            text += f" (retransmit {self.retransmits})"
        if not self.answered and self.expects_response:
            text += " - no response"
        return text


@dataclass(frozen=True, **SLOTS)
class EspFlow:
    """ESP from one address to another during the capture (any SPI)."""

    src: str
    dst: str
    packets: int
    spis: tuple[int, ...]
    first: IkePacket
    encapsulation: str  # "ip", "udp", "tcp"


@dataclass(**SLOTS)
class Wire:
    """Everything a capture says, arranged for the rules and the ladder."""

    exchanges: list[Exchange]
    icmp: list[IkePacket]  # every ICMP error about IKE/ESP
    esp: list[EspFlow]
    packets: list[IkePacket]

    def peers(self) -> list[tuple[str, str]]:
        """(a, b) address pairs that exchanged IKE, in order of first appearance."""
        seen: dict[frozenset, tuple[str, str]] = {}
        for ex in self.exchanges:
            seen.setdefault(frozenset((ex.requester, ex.responder)), (ex.requester, ex.responder))
        return list(seen.values())

    def sent_by(self, addr: str) -> list[IkePacket]:
        return [p for p in self.packets if p.kind == "ike" and p.src == addr]


def _v2_key(p: IkePacket, requester_is_initiator: bool) -> tuple:
    return (2, p.spi_i, p.msgid, requester_is_initiator)


def exchanges(packets: Iterable[IkePacket]) -> list[Exchange]:
    """Pair each IKE request with its response; retransmissions are identical copies.

    IKEv2 pairs by initiator SPI + message id + which side asked (the Initiator flag of a
    request, the opposite of it in a response), which survives NAT rewriting addresses.
    IKEv1 has no response flag: whoever sent the first message with a cookie and message id
    asks, and anything the other side sends next on them answers.
    """
    result: list[Exchange] = []
    open_v2: dict[tuple, Exchange] = {}
    # IKEv1 (cookie, msgid) -> who started it and its latest request
    v1_state: dict[tuple, dict[str, Any]] = {}
    natt_seen: set[str] = set()
    port500_seen: set[str] = set()
    ike = [p for p in packets if p.kind == "ike"]
    for p in ike:
        if p.ike_version == 2:
            if p.is_response:
                ex = open_v2.get(_v2_key(p, not p.is_initiator))
                if ex is not None:
                    ex.responses.append(p)
                continue
            key = _v2_key(p, bool(p.is_initiator))
            ex = open_v2.get(key)
            if ex is not None and _capture_duplicate(ex.transmissions[-1], p):
                continue
            if ex is not None and (ex.request.digest == p.digest or _same_fragment_train(ex, p)):
                ex.transmissions.append(p)
                continue
            ex = Exchange(request=p, transmissions=[p])
            open_v2[key] = ex
        else:
            state = v1_state.setdefault((p.spi_i, p.msgid), {"initiator": p.src, "last": None})
            last = state["last"]
            if p.src != state["initiator"]:
                if last is not None:
                    last.responses.append(p)
                continue
            if last is not None and last.request.digest == p.digest:
                if not _capture_duplicate(last.transmissions[-1], p):
                    last.transmissions.append(p)
                continue
            ex = Exchange(request=p, transmissions=[p])
            # Informational messages are never answered; the last message of Quick Mode and of
            # Aggressive Mode only confirms, so nothing answers it either.
            if p.exchange == "Informational" or (
                    last is not None and last.answered and p.exchange in ("Quick Mode", "Aggressive")):
                ex.expects_response = False
            state["last"] = ex
        if p.nat_t and p.spi_i not in natt_seen:
            natt_seen.add(p.spi_i)
            ex.moved_to_natt = p.spi_i in port500_seen
        elif not p.nat_t:
            port500_seen.add(p.spi_i)
        result.append(ex)
    _attach_icmp(result, [p for p in packets if p.kind == "icmp"])
    return result


DUPLICATE_WINDOW = 0.005  # seconds; pluto's first retransmission comes after 0.5 s


def _capture_duplicate(a: IkePacket, b: IkePacket) -> bool:
    """The same datagram seen twice (capturing on "any" or on lo), not a retransmission."""
    return (a.digest == b.digest and a.ike_fragment == b.ike_fragment and (a.src, a.dst) == (b.src, b.dst)
            and abs(b.time - a.time) < DUPLICATE_WINDOW)


def _same_fragment_train(ex: Exchange, p: IkePacket) -> bool:
    # RFC 7383: each fragment is its own datagram with the same message id; they are one request.
    return bool(p.ike_fragment and ex.request.ike_fragment)


def _attach_icmp(result: list[Exchange], icmp: list[IkePacket]) -> None:
    """Each ICMP error to the latest request before it that it quotes (address, port, message id).

    Requests are indexed by what an error quotes, then by capture, in capture order, so each error
    costs a binary search instead of a scan of every exchange (100k packets: linear, not quadratic).
    """
    index: dict[tuple, dict[str, _Requests]] = {}
    for position, ex in enumerate(result):
        req = ex.request
        for key in ((req.dst, req.dport), (req.dst, req.dport, req.msgid, req.exchange)):
            index.setdefault(key, {}).setdefault(req.source, _Requests()).add(position, req)
    for err in icmp:
        key = (err.quoted_dst, err.quoted_dport)
        if err.quoted_msgid is not None:
            key += (err.quoted_msgid, err.quoted_exchange)
        best = -1
        for source, requests in index.get(key, {}).items():
            best = max(best, requests.latest_before(err, same_source=source == err.source))
        if best >= 0:
            result[best].icmp_errors.append(err)


class _Requests:
    """The requests of one capture to one target, in capture order (numbers rise)."""

    __slots__ = ("positions", "numbers", "times", "times_sorted")

    def __init__(self) -> None:
        self.positions: list[int] = []
        self.numbers: list[int] = []
        self.times: list[float] = []
        self.times_sorted = True

    def add(self, position: int, req: IkePacket) -> None:
        if self.times and req.time < self.times[-1]:
            self.times_sorted = False  # a damaged capture's clock: fall back to a scan
        self.positions.append(position)
        self.numbers.append(req.number)
        self.times.append(req.time)

    def latest_before(self, err: IkePacket, same_source: bool) -> int:
        """The position of the last request sent before *err*, or -1: by packet number within one
        capture, by time across captures."""
        if same_source:
            i = bisect_left(self.numbers, err.number)
        elif self.times_sorted:
            i = bisect_right(self.times, err.time)
        else:
            i = next((j + 1 for j in range(len(self.times) - 1, -1, -1) if self.times[j] <= err.time), 0)
        return self.positions[i - 1] if i else -1


def esp_flows(packets: Iterable[IkePacket], counted: dict | None = None) -> list[EspFlow]:
    """ESP per direction; *counted* ({(src, dst): (packets, SPIs)}, from a live capture that kept only
    samples of each flow) gives the real numbers where it knows them."""
    flows: dict[tuple[str, str], list[IkePacket]] = {}
    for p in packets:
        if p.kind == "esp":
            flows.setdefault((p.src, p.dst), []).append(p)
    out = []
    for (src, dst), ps in flows.items():
        total, spis = (counted or {}).get((src, dst), (0, ()))
        spis = tuple(dict.fromkeys(tuple(p.esp_spi for p in ps) + spis))
        out.append(EspFlow(src, dst, max(len(ps), total), spis, ps[0], ps[0].transport))
    return out


def wire(packets: Iterable[IkePacket], esp_counts: dict | None = None) -> Wire:
    packets = list(packets)
    return Wire(exchanges=exchanges(packets),
                icmp=[p for p in packets if p.kind == "icmp" and (p.about_ike or p.quoted_proto == "esp")],
                esp=esp_flows(packets, esp_counts), packets=packets)
