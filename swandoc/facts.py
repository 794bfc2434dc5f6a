"""Parsed facts: the compact, bounded summary that rules read.

Log events stream through :meth:`Facts.add_event` and are folded into per-connection
signals: a count, the first and last few evidence lines, and which sources said it. That
keeps memory flat however long the log is (only the number of distinct connections and
signal kinds grows, and a byte budget over all signals bounds that too), while keeping the
lines a person needs to see as proof. A line naming only a state (``#12: ...``) joins the
connection its source last named with that serial.

Decoded packets land in :attr:`Facts.packets` (their exchange pairing, :attr:`Facts.wire`, is
computed once, when a rule first asks). What the probes of a host say (its config, firewall,
routes, xfrm ...) becomes one typed :class:`HostFacts` per host in :attr:`Facts.hosts`: two
bundles of two hosts are two entries, never merged. Every evidence line keeps the host it
came from, so rules can look at logs, wire and hosts together and still say which end said what.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from types import MappingProxyType
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
TAIL = 2  # last lines kept per signal
MAX_CONNS = 1000  # connections tracked one by one; more than any gateway's config has
MAX_SIGNALS = 256  # distinct (kind, qualifier) signals per connection
MAX_VALUES = 32  # distinct values counted per signal (e.g. notify names, proposals) ...
MAX_VALUE_CHARS = 8192  # ... and at most this many characters of them (32 of 256)
MAX_TEXT = 2000  # characters of a kept evidence line (pluto's are < 1,100; the journal path cuts at 2,000 too)
MAX_SERIALS = 4096  # per source: state serial -> the connection named with it (for bare "#N:" lines)
MAX_QUALIFIER = 300  # characters of a qualifier taken from the log (an ICMP text, say)
OTHER = "(other)"
OVERFLOW = "(further connections)"

# The memory budget of the folded signals, in bytes as `Facts.held` estimates them (calibrated with
# tracemalloc; tests/analyze/test_facts_folding.py holds it to 0.6-1.3x of the real figure):
# SIGNAL_BYTES a signal (its objects, first event, dict entry) plus its first line's text, detail and
# qualifier; CONN_BYTES a connection; ITEM_BYTES plus the text for each further kept line or value.
# Text counts text_bytes(). Only a long log of many connections comes near it (the 10M-line event-heavy
# benchmark: 46.8 MB, 22,850 signals); the worst case is FULL_BUDGET plus the pooled bucket's own
# MAX_SIGNALS + one-per-kind lean signals (< 1 MB). See benchmarks/README.md.
SIGNAL_BYTES = 800
ITEM_BYTES = 128
CONN_BYTES = 1000
LEAN_BUDGET = 48_000_000  # past it: no further head lines or second values; kept lines of <= LEAN_TEXT chars
LEAN_TEXT = 300
FULL_BUDGET = 56_000_000  # past it: what would be a new signal is pooled under OVERFLOW; kept lines never grow


def cut(text: str, limit: int) -> str:
    """*text*, or its first characters ending in "...", *limit* characters in all (ASCII stays ASCII:
    one byte a character in memory).

    >>> cut("abcdefgh", 6), cut("short", 10)
    ('abc...', 'short')
    """
    return text if len(text) <= limit else text[:max(limit - 3, 0)] + "..."


def text_bytes(text: str) -> int:
    """What a text's characters take in memory, at most: one byte each in ASCII, up to four otherwise.

    >>> text_bytes("abc"), text_bytes("abé")
    (3, 12)
    """
    return len(text) if text.isascii() else 4 * len(text)


_NO_VALUES: Mapping[str, int] = MappingProxyType({})


class Signal:
    """Everything seen of one kind of event for one connection.

    Kept compact, since a long log of many connections makes tens of thousands of them: the first
    event (rules read its fields; it is the first evidence line too), the next HEAD-1 and the last
    TAIL lines as flat ``[source, line, text, host, ...]`` lists (EvidenceLines are built only when a
    rule asks: :meth:`lines`), one value or a dict of them, one source or a tuple. The count and the
    counts of kept values are always exact.

    >>> s = Signal("retransmit", "STATE_PARENT_I1")
    >>> for n in range(1, 8):
    ...     _ = s.add(LogEvent("retransmit", "pluto.log", n, f"line {n}", detail="IKE_SA_INIT"), n)
    >>> s.count, [e.line for e in s.lines()], dict(s.values), s.sources
    (7, [1, 2, 3, 6, 7], {'IKE_SA_INIT': 7}, ('pluto.log',))
    """

    __slots__ = ("kind", "qualifier", "count", "first_seq", "last_seq", "first", "host", "_head", "_tail",
                 "_values", "_one", "_sources")

    def __init__(self, kind: str, qualifier: str | None):
        self.kind = kind
        self.qualifier = qualifier
        self.count = 0
        self.first_seq = 0
        self.last_seq = 0
        self.first: LogEvent | None = None  # the first event itself, for rules that read its fields
        self.host: str | None = None  # the host of the first event
        self._head: list | None = None  # lines 2..HEAD, flat: source, line, text, host, ...
        self._tail: list | None = None  # the last TAIL lines, flat, oldest first; None while the head fills
        self._values: str | dict[str, int] | None = None  # one value (counted in _one), or a dict
        self._one = 0
        self._sources: str | tuple[str, ...] = ()  # one source, or a tuple of them

    def add(self, event: LogEvent, seq: int, host: str | None = None, budget: int = 0) -> int:
        """Fold one event in; return how many bytes (as Facts.held counts them) it now holds more.

        *budget*: 0 while the facts' memory budget lasts; 1 (lean) past LEAN_BUDGET: no further head
        lines, no second value (a first one of at most LEAN_TEXT characters still), lines cut to
        LEAN_TEXT; 2 (full) past FULL_BUDGET: also a last line is cut to the length of the one it replaces.
        """
        return self.fold(event, event.source, event.line, event.text, event.detail, seq, host, budget)

    def fold(self, event: LogEvent | None, source: str, line: int, text: str, detail: str | None, seq: int,
             host: str | None = None, budget: int = 0) -> int:
        """:meth:`add`, given the fields it reads: *event* (the event itself) is read only when it is the
        signal's first and may be None otherwise (a big log's fast path makes an event only for that)."""
        self.count += 1
        self.last_seq = seq
        sources = self._sources
        if sources is not source and source not in ((sources,) if sources.__class__ is str else sources):
            self._sources = source if not sources else (
                (sources, source) if sources.__class__ is str else sources + (source,))
        limit = LEAN_TEXT if budget else MAX_TEXT
        whole = len(text) <= limit
        if not whole:
            text = cut(text, limit)
        size = len(text) if text.isascii() else 4 * len(text)  # bytes at most (str.isascii is O(1))
        if self.first is None:
            self.first_seq = seq
            self.host = host
            # The first event itself, unless its line is too long to keep whole (then cut, its detail too).
            self.first = event if whole else event._replace(text=text, detail=cut(detail, limit) if detail else None)
            qualifier = self.qualifier
            grown = SIGNAL_BYTES + size + (text_bytes(self.first.detail) if detail else 0) + (
                text_bytes(qualifier) if qualifier and qualifier is not detail else 0)
        else:
            tail = self._tail
            if tail is None:
                head = self._head
                if head is None and not budget:
                    self._head = [source, line, text, host]
                elif not budget and len(head) < 4 * (HEAD - 1):
                    head += (source, line, text, host)
                else:
                    self._tail = [source, line, text, host]
                grown = ITEM_BYTES + size
            elif len(tail) < 4 * TAIL:
                tail += (source, line, text, host)
                grown = ITEM_BYTES + size
            else:  # the oldest of the last lines makes room
                old = tail[2]
                old = len(old) if old.isascii() else 4 * len(old)
                if budget > 1 and size > old:  # past the budget a kept line never grows
                    text = cut(text, max(old if text.isascii() else old // 4, 4))
                    size = text_bytes(text)
                grown = size - old
                del tail[:4]
                tail += (source, line, text, host)
        if detail:
            values = self._values
            if values is None:
                if len(detail) <= (LEAN_TEXT if budget else MAX_VALUE_CHARS):  # lean: a first short one still
                    self._values = detail
                    self._one = 1
                    if self.count > 1:  # else it is the first event's detail, already counted
                        grown += ITEM_BYTES + text_bytes(detail)
            elif values.__class__ is str:
                if values == detail:
                    self._one += 1
                elif not budget and len(values) + len(detail) <= MAX_VALUE_CHARS:
                    self._values = {values: self._one, detail: 1}
                    grown += ITEM_BYTES + text_bytes(detail)
            elif detail in values:
                values[detail] += 1
            elif (not budget and len(values) < MAX_VALUES
                  and sum(map(len, values)) + len(detail) <= MAX_VALUE_CHARS):
                values[detail] = 1
                grown += ITEM_BYTES + text_bytes(detail)
        return grown

    @property
    def values(self) -> Mapping[str, int]:
        """Distinct details (notify names, proposals, messages ...) with how often each came, first seen first."""
        values = self._values
        if values is None:
            return _NO_VALUES
        return {values: self._one} if values.__class__ is str else values

    @property
    def sources(self) -> tuple[str, ...]:
        """The inputs that said it, in the order first seen."""
        sources = self._sources
        return (sources,) if sources.__class__ is str else sources

    def lines(self) -> tuple[EvidenceLine, ...]:
        """The first HEAD and the last TAIL lines (fewer when there were fewer), in log order."""
        first = self.first
        if first is None:
            return ()
        out = [EvidenceLine(first.source, first.line, first.text, self.host)]
        for flat in (self._head or (), self._tail or ()):
            for i in range(0, len(flat), 4):
                out.append(EvidenceLine(flat[i], flat[i + 1], flat[i + 2], flat[i + 3]))
        return tuple(out)


@dataclass
class ConnFacts:
    """What the logs said about one connection (all sources together)."""

    name: str
    signals: dict[tuple[str, str | None], Signal] = field(default_factory=dict)
    sources: set[str] = field(default_factory=set)
    peers: set[str] = field(default_factory=set)
    # The signals of each kind, in the order they came: rules ask "any of kind K?" for every connection,
    # and a walk over all signals each time was most of the rules' time on a log of many connections.
    by_kind: dict[str, list[Signal]] = field(default_factory=dict, repr=False)

    def signal(self, kind: str, qualifier: str | None) -> Signal:
        """The signal of (kind, qualifier), made when new; past MAX_SIGNALS, (kind, OTHER)."""
        key = (kind, qualifier)
        signal = self.signals.get(key)
        if signal is None:
            if len(self.signals) >= MAX_SIGNALS:
                # Qualifiers come from the log (notify names, ICMP texts): a hostile log could invent
                # endless ones. Past the cap they share one signal per kind.
                key = (kind, OTHER)
                signal = self.signals.get(key)
            if signal is None:
                signal = self.signals[key] = Signal(kind, key[1])
                self.by_kind.setdefault(kind, []).append(signal)
        return signal

    def add(self, event: LogEvent, qualifier: str | None, seq: int, host: str | None = None) -> int:
        """Fold one event in (outside any budget: :meth:`Facts.add_event` is the path that keeps it)."""
        grown = self.signal(event.kind, qualifier).add(event, seq, host)
        self.sources.add(event.source)
        if event.peer and len(self.peers) < MAX_VALUES:
            self.peers.add(event.peer)
        return grown

    def get(self, kind: str, qualifier: str | None = None) -> Signal | None:
        return self.signals.get((kind, qualifier))

    def all(self, kind: str) -> list[Signal]:
        return list(self.by_kind.get(kind, ()))

    def has(self, kind: str, qualifier: str | None = None) -> bool:
        if qualifier is None:
            return kind in self.by_kind
        return (kind, qualifier) in self.signals

    def notified(self, kind: str, notify: str) -> list[Signal]:
        """Signals of a notify kind for one notification name, whatever the exchange."""
        return [s for s in self.by_kind.get(kind, ()) if s.qualifier and s.qualifier.split("@")[0] == notify]

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
# ... as an index into an event's fields after its time (add_fields' *rest*), -1 for its source
_QUALIFIER_INDEX = {kind: LogEvent._fields.index(name) - 5 if name != "source" else -1
                    for kind, name in QUALIFIER_FIELD.items()}
_new_event = tuple.__new__  # a LogEvent from one tuple of all its fields (LogEvent is a named tuple)


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
    overflow_events: int = 0  # events pooled under OVERFLOW: of connections beyond MAX_CONNS, or past FULL_BUDGET
    timeline: list[EvidenceLine] = field(default_factory=list)  # the first key log events, for the ladder
    others_seen: set[str] = field(default_factory=set)  # with --conn: some other connections the input names
    # ESP the live capture counted per (source, destination) and kept only samples of: {(src, dst): (packets, SPIs)}
    esp_counts: dict[tuple[str, str], tuple[int, tuple[int, ...]]] = field(default_factory=dict)
    held: int = 0  # about how many bytes the folded signals hold (see LEAN_BUDGET)
    budget_pooled: int = 0  # of overflow_events: those pooled because FULL_BUDGET was spent
    _serials: dict[tuple[str, str | None], dict[int, str]] = field(default_factory=dict, repr=False)
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
                return self.conn_overflow()
            facts = self.conns[key] = ConnFacts(key)
            self.held += CONN_BYTES + text_bytes(key)
        return facts

    def conn_overflow(self) -> ConnFacts:
        """The bucket of what is pooled: events of connections past MAX_CONNS, or past the budget."""
        facts = self.conns.get(OVERFLOW)
        if facts is None:
            facts = self.conns[OVERFLOW] = ConnFacts(OVERFLOW)
            self.held += CONN_BYTES
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
        self.add_fields(event[0], event[1], event[2], event[3], event[4], event[5:], host, event)

    def add_fields(self, kind: str, source: str, line: int, text: str, time: str | None, rest: tuple,
                   host: str | None = None, event: LogEvent | None = None) -> None:
        """:meth:`add_event` of the event ``LogEvent(kind, source, line, text, time, *rest)``, made only if
        it is the first of its signal (the log's fast path folds tens of thousands of events a second:
        logparse/feed.py, ``apply_events``); *event* is that event when the caller has it."""
        conn, _, peer, serial, _, exchange, notify, _, detail = rest  # (one unpacking: a hot path)
        if serial is not None:
            conn = self._tie(source, serial, conn, host)
        elif kind == K.BANNER:  # pluto (re)started: its serials count from 1 again
            self._serials.pop((source, host), None)
        if self.focus and conn and conn != self.focus:
            if len(self.others_seen) < 20:  # to name them if NAME turns out not to be there
                self.others_seen.add(conn)
            return  # --conn NAME: other connections cost nothing
        seq = self.seq = self.seq + 1
        index = _QUALIFIER_INDEX.get(kind)
        qualifier = None if index is None else rest[index] if index >= 0 else source
        if notify and exchange:
            # The same notification means different things in IKE_SA_INIT and IKE_AUTH.
            qualifier = f"{notify}@{exchange}"
        elif qualifier and len(qualifier) > MAX_QUALIFIER:  # from the log (ICMP texts ...): keep keys small
            qualifier = cut(qualifier, MAX_QUALIFIER)
        facts = self.conns.get(conn or "") or self.conn(conn)
        held = self.held
        budget = 0 if held <= LEAN_BUDGET else 1 if held <= FULL_BUDGET else 2
        signal = facts.signals.get((kind, qualifier))
        if signal is None:
            if budget > 1 and facts.name != OVERFLOW:
                # The budget is spent: what would be a new signal is pooled like the events of
                # connections past MAX_CONNS (a finding there is real, only not attributed).
                self.overflow_events += 1
                self.budget_pooled += 1
                facts = self.conn_overflow()
            signal = facts.signal(kind, qualifier)
        if signal.first is None and event is None:
            event = _new_event(LogEvent, (kind, source, line, text, time) + rest)
        self.held = held + signal.fold(event, source, line, text, detail, seq, host, budget)
        facts.sources.add(source)
        if peer and len(facts.peers) < MAX_VALUES:
            facts.peers.add(peer)
        if kind in TIMELINE_KINDS and len(self.timeline) < TIMELINE_MAX:
            short = text[text.index('"'):] if '"' in text else text  # drop the timestamp and host
            self.timeline.append(EvidenceLine(os.path.basename(source), line, short, host))

    def _tie(self, source: str, serial: int, conn: str | None, host: str | None) -> str | None:
        """The connection of a state's line: named on it, or named earlier for its serial by the same source.

        pluto prefixes some lines with the state alone (``#12: ...``: 5.x helpers, trimmed pastes);
        its serials are unique within one daemon run, so the connection a source named with #12 is
        the one a later bare ``#12:`` of that source means (until pluto restarts: :meth:`add_fields`).
        """
        key = (source, host)
        serials = self._serials.get(key)
        if conn:
            if serials is None:
                serials = self._serials[key] = {}
            elif len(serials) >= MAX_SERIALS and serial not in serials:
                del serials[next(iter(serials))]  # the oldest state: serials only grow within a run
            serials[serial] = conn
            return conn
        return serials.get(serial) if serials else None

    def connections(self) -> Iterator[ConnFacts]:
        """Connections to report on: every named one (or only --conn), then the unnamed bucket."""
        for name, facts in self.conns.items():
            if self.focus and name and name != self.focus:
                continue
            yield facts
