"""The nouns every stage of the pipeline shares.

evidence (raw, named) -> events/facts (parsed) -> findings (rules) -> report (renderers)

Everything here is a frozen dataclass (LogEvent: a named tuple, for speed) or a plain container so
that rules stay pure functions and the report can be serialised without surprises.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from .compat import SLOTS
from .errors import verdict_exit_status
from typing import Any, NamedTuple, Optional

SEVERITIES = ("critical", "error", "warning", "info")


@dataclass(frozen=True, **SLOTS)
class EvidenceLine:
    """One line that proves a finding: where it came from and what it said.

    *source* names the input (a file, ``bundle.tar.xz:pluto_log``, an evidence name); *host*
    names the host it describes when that is known (a bundle's or this host's name), so a
    finding with evidence from both ends says which end said what.
    """

    source: str
    line: int | None
    text: str
    host: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "line": self.line, "text": self.text, "host": self.host}

    @property
    def origin_key(self) -> str:
        """Which end a line belongs to: its host when known, else its input."""
        return self.host or self.source


class LogEvent(NamedTuple):
    """One meaningful pluto log line turned into structure.

    ``kind`` is one of the names in :mod:`swandoc.logparse.events` (``retransmit``,
    ``notify_received``, ``auth_failed`` ...). Fields that the line does not carry are None.

    A named tuple, not a frozen dataclass like the other nouns here: a big log makes one per event
    line, and the log's fast path makes it from the fields of its message as one tuple, in a tenth of
    the time a dataclass's ``__init__`` takes (logparse/feed.py, ``apply_events``). Immutable alike.
    """

    kind: str
    source: str
    line: int
    text: str
    time: Optional[str] = None
    conn: Optional[str] = None
    instance: Optional[str] = None
    peer: Optional[str] = None
    serial: Optional[int] = None
    state: Optional[str] = None
    exchange: Optional[str] = None
    notify: Optional[str] = None
    direction: Optional[str] = None  # "sent" / "received"
    detail: Optional[str] = None

    def evidence(self) -> EvidenceLine:
        return EvidenceLine(self.source, self.line, self.text)


@dataclass(frozen=True, **SLOTS)
class Finding:
    """A diagnosis: what is wrong (or right), the proof, and the documented fix."""

    id: str
    severity: str
    title: str
    connection: str | None
    side: str  # "local", "peer", "path", "both", "unknown"
    evidence: tuple[EvidenceLine, ...]
    explanation: str
    fix: tuple[str, ...]
    reference: str
    # Higher = more likely the root cause; used only for ordering.
    rank: int = 50
    details: tuple[tuple[str, str], ...] = ()
    # True when no daemon ran: ``swandoc check`` foresees from the two configs what pluto would
    # report (same id), rather than having seen it in a log, capture or probe.
    predicted: bool = False

    def as_dict(self) -> dict[str, Any]:
        # (report/json.py writes these keys itself, unrolled, in this order: a test holds the two together)
        return {
            "id": self.id,
            "severity": self.severity,
            "title": self.title,
            "connection": self.connection,
            "side": self.side,
            "evidence": [e.as_dict() for e in self.evidence],
            "explanation": self.explanation,
            "fix": list(self.fix),
            # per step: the Libreswan major versions it applies to (knowledge.FixStep)
            "fix_versions": [list(getattr(step, "versions", ("3", "4", "5"))) for step in self.fix],
            "reference": self.reference,
            "details": dict(self.details),
            "predicted": self.predicted,
        }


@dataclass(**SLOTS)
class SourceSummary:
    """What one input turned out to be and how much of it could be read."""

    name: str
    kind: str  # pluto-log, syslog, whack, journal-json, journal-export, pcap, bundle, ...
    host: str | None = None  # the host this input describes, when known (bundle, live)
    lines: int = 0
    pluto_lines: int = 0
    debug_lines: int = 0
    other_lines: int = 0  # lines of other programs in a syslog/journal (not ours to parse)
    unparsed: int = 0
    events: int = 0
    packets: int = 0
    version: str | None = None
    first_time: str | None = None
    last_time: str | None = None
    truncated: bool = False
    notes: list[str] = field(default_factory=list)
    unparsed_samples: list[EvidenceLine] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "host": self.host,
            "lines": self.lines,
            "pluto_lines": self.pluto_lines,
            "debug_lines": self.debug_lines,
            "other_lines": self.other_lines,
            "unparsed": self.unparsed,
            "events": self.events,
            "packets": self.packets,
            "version": self.version,
            "first_time": self.first_time,
            "last_time": self.last_time,
            "truncated": self.truncated,
            "notes": list(self.notes),
            "unparsed_samples": [e.as_dict() for e in self.unparsed_samples],
        }


@dataclass(frozen=True, **SLOTS)
class Report:
    """The whole result of one analysis, ready for any renderer."""

    tool_version: str
    command: str
    generated: str
    verdict: str  # "problems", "healthy", "inconclusive"
    findings: tuple[Finding, ...]
    sources: tuple[SourceSummary, ...]
    # Extra sections renderers may show: e.g. "ladder" (IKE packets), "probes" (diagnose).
    extras: tuple[tuple[str, Any], ...] = ()

    def extra(self, name: str, default: Any = None) -> Any:
        for key, value in self.extras:
            if key == name:
                return value
        return default

    @property
    def exit_code(self) -> int:
        """0 healthy, 1 problems, 4 inconclusive: the mapping is swandoc.errors.VERDICT_EXIT."""
        return verdict_exit_status(self.verdict)
