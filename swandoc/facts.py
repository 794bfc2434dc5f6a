"""Parsed facts: the compact, bounded summary that rules read.

Log events stream through :meth:`Facts.add_event` and are folded into per-connection
signals: a count, the first and last few evidence lines, and which sources said it. That
keeps memory flat however long the log is (only the number of distinct connections and
signal kinds grows), while keeping the lines a person needs to see as proof.

Decoded packets land in :attr:`Facts.packets` (their exchange pairing, :attr:`Facts.wire`, is
computed once, when a rule first asks). What the probes of a host say (its config, firewall,
routes, xfrm ...) becomes one typed :class:`HostFacts` per host in :attr:`Facts.hosts`: two
bundles of two hosts are two entries, never merged. Every evidence line keeps the host it
came from, so rules can look at logs, wire and hosts together and still say which end said what.
"""
from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterator, Mapping

from .evidence import FILE, LIVE, LOCAL, EvidenceSet, Origin
from .model import EvidenceLine, LogEvent, SourceSummary

from .logparse import kinds as K

if TYPE_CHECKING:  # types only: facts must not depend on the host parsers (probes/) or on scapy
    from .logparse.packet import IkePacket
    from .logparse.pairing import Wire  # imported when first used: a log analysis has no packets
    from .probes.config import ConfigFile, Connection
    from .probes.netfilter import Ruleset
    from .probes.hostinfo import Process, Socket, XfrmState
    from .probes.netinfo import RouteToPeer
    from .probes.whack import Traffic, WhackStatus

THIS_HOST = "this host"  # the host name of a live diagnosis (its evidence is all from here)
HEAD = 3  # first lines kept per signal
MAX_CONNS = 1000  # connections tracked one by one; more than any gateway's config has
MAX_SIGNALS = 256  # distinct (kind, qualifier) signals per connection
OTHER = "(other)"
OVERFLOW = "(further connections)"
TAIL = 2  # last lines kept per signal
MAX_VALUES = 32  # distinct values counted per signal (e.g. notify names, proposals)


class Signal:
    """Everything seen of one kind of event for one connection."""

    __slots__ = ("kind", "qualifier", "count", "head", "tail", "values", "sources", "first_seq", "last_seq", "first")

    def __init__(self, kind: str, qualifier: str | None):
        self.kind = kind
        self.qualifier = qualifier
        self.count = 0
        self.head: list[EvidenceLine] = []
        self.tail: list[EvidenceLine] = []
        self.values: Counter[str] = Counter()
        self.sources: set[str] = set()
        self.first_seq = 0
        self.last_seq = 0
        self.first: LogEvent | None = None  # the first event itself, for rules that need its structure

    def add(self, event: LogEvent, seq: int, host: str | None = None) -> None:
        line = EvidenceLine(event.source, event.line, event.text, host)
        self.count += 1
        if not self.first_seq:
            self.first_seq = seq
        self.last_seq = seq
        self.sources.add(event.source)
        if self.first is None:
            self.first = event
        if len(self.head) < HEAD:
            self.head.append(line)
        else:
            self.tail.append(line)
            if len(self.tail) > TAIL:
                del self.tail[0]
        if event.detail and (event.detail in self.values or len(self.values) < MAX_VALUES):
            self.values[event.detail] += 1

    def lines(self) -> tuple[EvidenceLine, ...]:
        return tuple(self.head) + tuple(self.tail)


@dataclass
class ConnFacts:
    """What the logs said about one connection (all sources together)."""

    name: str
    signals: dict[tuple[str, str | None], Signal] = field(default_factory=dict)
    sources: set[str] = field(default_factory=set)
    peers: set[str] = field(default_factory=set)

    def add(self, event: LogEvent, qualifier: str | None, seq: int, host: str | None = None) -> None:
        key = (event.kind, qualifier)
        signal = self.signals.get(key)
        if signal is None:
            if len(self.signals) >= MAX_SIGNALS:
                # Qualifiers come from the log (notify names, ICMP texts): a hostile log could invent
                # endless ones. Past the cap they share one signal per kind.
                key = (event.kind, OTHER)
                signal = self.signals.get(key)
            if signal is None:
                signal = self.signals[key] = Signal(event.kind, key[1])
        signal.add(event, seq, host)
        self.sources.add(event.source)
        if event.peer and len(self.peers) < MAX_VALUES:
            self.peers.add(event.peer)

    def get(self, kind: str, qualifier: str | None = None) -> Signal | None:
        return self.signals.get((kind, qualifier))

    def all(self, kind: str) -> list[Signal]:
        return [s for (k, _), s in self.signals.items() if k == kind]

    def has(self, kind: str, qualifier: str | None = None) -> bool:
        if qualifier is None:
            return any(k == kind for k, _ in self.signals)
        return (kind, qualifier) in self.signals

    def notified(self, kind: str, notify: str) -> list[Signal]:
        """Signals of a notify kind for one notification name, whatever the exchange."""
        return [s for (k, q), s in self.signals.items() if k == kind and q and q.split("@")[0] == notify]

    def first(self, kind: str) -> Signal | None:
        found = self.all(kind)
        return min(found, key=lambda s: s.first_seq) if found else None


# Log events worth showing beside the packet ladder: how far each exchange got, and why it stopped.
TIMELINE_KINDS = frozenset({K.INITIATE, K.SENT, K.PROCESSING, K.RETRANSMIT, K.TIMEOUT, K.NOTIFY_RECEIVED,
                            K.NOTIFY_SENT, K.IKE_ESTABLISHED, K.CHILD_ESTABLISHED, K.NETLINK_ERROR, K.CHILD_REFUSED, K.ICMP_ERROR,
                            K.AUTH_FAILED, K.NO_PROPOSAL, K.TS_MISMATCH, K.SECRET_MISSING, K.HASH_MISMATCH})
TIMELINE_MAX = 40

# Which event field qualifies the signal key, per event kind; kinds not listed have none.
QUALIFIER_FIELD = {
    K.RETRANSMIT: "state",
    K.TIMEOUT: "state",
    K.STATE: "state",
    K.NOTIFY_RECEIVED: "notify",
    K.NOTIFY_SENT: "notify",
    K.NO_PROPOSAL: "exchange",
    K.ICMP_ERROR: "detail",
    K.CONN_ADDED: "detail",
    K.NO_CONNECTION: "exchange",
    K.IFACE_ADDED: "source",  # interfaces belong to the host that logged them
}


@dataclass(frozen=True)
class HostFacts:
    """What the probes of one host say, parsed: one per host, typed, never merged with another's.

    Built once by ``swandoc/parse.py`` from the host's evidence; a field is None when its
    evidence was not there or could not be parsed (then ``parse_errors`` says why).
    """

    name: str  # unique among Facts.hosts: the host's name, or that plus the input when two share it
    origin: Origin = LOCAL
    evidence: EvidenceSet = field(default_factory=EvidenceSet)  # the raw items, by evidence name
    config: ConfigFile | None = None
    connection: Connection | None = None  # the connection under diagnosis, resolved
    whack_status: WhackStatus | None = None
    traffic: tuple[Traffic, ...] | None = None
    iptables: Ruleset | None = None
    ip6tables: Ruleset | None = None
    nft: Ruleset | None = None
    xfrm_stat: Mapping[str, int] | None = None
    xfrm_stat_end: Mapping[str, int] | None = None
    xfrm_state: tuple[XfrmState, ...] | None = None
    sysctls: Mapping[str, str] | None = None
    sockets: tuple[Socket, ...] | None = None
    processes: tuple[Process, ...] | None = None
    route_to_peer: RouteToPeer | None = None
    parse_errors: tuple[tuple[str, str], ...] = ()  # (evidence name, why) for items that did not parse

    def line(self, name: str, text: str, line: int | None = None) -> EvidenceLine:
        """An evidence line citing this host's item *name* (names the bundle it came from)."""
        item = self.evidence.get(name)
        source = item.label if item is not None else self.origin.label(name)
        return EvidenceLine(source, line, text, self.name)


@dataclass
class Facts:
    """All parsed facts of one analysis."""

    sources: list[SourceSummary] = field(default_factory=list)
    conns: dict[str, ConnFacts] = field(default_factory=dict)
    packets: list[IkePacket] = field(default_factory=list)  # decoded IKE/ESP/ICMP packets of every capture
    hosts: dict[str, HostFacts] = field(default_factory=dict)  # by HostFacts.name, in the order read
    focus: str | None = None  # --conn NAME: rules only report on this connection
    seq: int = 0
    overflow_events: int = 0  # events of connections beyond MAX_CONNS, pooled under OVERFLOW
    timeline: list[EvidenceLine] = field(default_factory=list)  # the first key log events, for the ladder
    others_seen: set[str] = field(default_factory=set)  # with --conn: some other connections the input names
    # ESP the live capture counted per (source, destination) and kept only samples of: {(src, dst): (packets, SPIs)}
    esp_counts: dict[tuple[str, str], tuple[int, tuple[int, ...]]] = field(default_factory=dict)
    _wire: Wire | None = field(default=None, repr=False)
    _host_names: dict[Origin, str] = field(default_factory=dict, repr=False)

    def conn(self, name: str | None) -> ConnFacts:
        key = name or ""
        facts = self.conns.get(key)
        if facts is None:
            if len(self.conns) >= MAX_CONNS:
                # Memory must not grow with the log, even one naming ever more connections: past the cap,
                # the rest share one bucket, and the report says so.
                self.overflow_events += 1
                key = OVERFLOW
                facts = self.conns.get(key)
                if facts is not None:
                    return facts
            facts = self.conns[key] = ConnFacts(key)
        return facts

    def add_packets(self, packets: list[IkePacket], summary: SourceSummary) -> None:
        self.packets.extend(packets)
        self.sources.append(summary)
        self._wire = None

    def add_esp_counts(self, flows: list[tuple[str, str, int, int]]) -> None:
        """ESP counted by the capture, per (source, destination, SPI, packets): more than its samples show."""
        for src, dst, spi, packets in flows:
            old, spis = self.esp_counts.get((src, dst), (0, ()))
            self.esp_counts[(src, dst)] = (old + packets, spis if spi in spis else spis + (spi,))
        self._wire = None

    @property
    def wire(self) -> Wire | None:
        """The exchange pairing of all captured packets, computed once (None without packets)."""
        if not self.packets:
            return None
        if self._wire is None:
            from .logparse.pairing import wire
            self._wire = wire(self.packets, self.esp_counts)
        return self._wire

    def host_name(self, origin: Origin) -> str | None:
        """The unique name of the host *origin* describes (None for a plain file: host unknown).

        Two bundles made on hosts of one name (namespaces of one machine, cloned VMs) stay two
        hosts: the second is named after its bundle too.
        """
        if origin.kind == FILE:
            return None
        name = self._host_names.get(origin)
        if name is None:
            name = origin.host or (THIS_HOST if origin.kind == LIVE else os.path.basename(origin.input.rstrip("/")))
            if name in self._host_names.values():
                name = f"{name} ({os.path.basename(origin.input.rstrip('/'))})"
            self._host_names[origin] = name
        return name

    def add_host(self, host: HostFacts) -> None:
        self.hosts[host.name] = host

    def add_event(self, event: LogEvent, host: str | None = None) -> None:
        if self.focus and event.conn and event.conn != self.focus:
            if len(self.others_seen) < 20:  # to name them if NAME turns out not to be there
                self.others_seen.add(event.conn)
            return  # --conn NAME: other connections cost nothing
        self.seq += 1
        field_name = QUALIFIER_FIELD.get(event.kind)
        qualifier = getattr(event, field_name) if field_name else None
        if event.notify and event.exchange:
            # The same notification means different things in IKE_SA_INIT and IKE_AUTH.
            qualifier = f"{event.notify}@{event.exchange}"
        self.conn(event.conn).add(event, qualifier, self.seq, host)
        if event.kind in TIMELINE_KINDS and len(self.timeline) < TIMELINE_MAX:
            text = event.text
            short = text[text.index('"'):] if '"' in text else text  # drop the timestamp and host
            self.timeline.append(EvidenceLine(os.path.basename(event.source), event.line, short, host))

    def connections(self) -> Iterator[ConnFacts]:
        """Connections to report on: every named one (or only --conn), then the unnamed bucket."""
        for name, facts in self.conns.items():
            if self.focus and name and name != self.focus:
                continue
            yield facts
