"""The pipeline every command ends in: evidence -> facts -> rules -> Report.

``analyze_paths`` is the offline front door: each path on the command line becomes Evidence
(``inputs.py``), the one parse step (``parse.py``) turns it into facts, one input at a time so
memory stays bounded per input. ``diagnose`` gathers its evidence live and goes through the
same parse step; every command then calls :func:`build_report`.
"""
from __future__ import annotations

import datetime as _dt
from typing import Any, Iterable, Sequence

from . import __version__
from .facts import Facts
from .inputs import evidence_for_path
from .model import Report
from .parse import parse_evidence
from .rules import run_rules


# Findings that only say an input held nothing usable (no pluto lines, packets or bundle evidence).
NOTHING_TO_DIAGNOSE = frozenset({"input-not-understood"})


def analyze_paths(paths: Sequence[str], *, conn: str | None = None, command: str = "analyze") -> Report:
    """Read every input (logs, journal exports, pcaps, bundles) and diagnose them together."""
    facts = Facts(focus=conn)
    for path in paths:
        parse_evidence(evidence_for_path(path), facts)
    return build_report(facts, command=command)


def build_report(facts: Facts, *, command: str, extras: Iterable[tuple[str, Any]] = ()) -> Report:
    findings = run_rules(facts)
    problems = [f for f in findings if f.severity != "info"]
    tunnel_up = any(f.id == "tunnel-up" for f in findings)
    # An input with nothing in it to diagnose is a warning in the report, but on its own it is
    # "inconclusive" (exit 4), not "problems": a script must tell "wrong file" from "broken VPN".
    if any(f.id not in NOTHING_TO_DIAGNOSE for f in problems) or (problems and tunnel_up):
        verdict = "problems"
    elif tunnel_up:
        verdict = "healthy"
    else:
        verdict = "inconclusive"
    wire = facts.wire
    all_extras: list[tuple[str, Any]] = [("packets", facts.packets), ("events", facts.timeline),
                                         ("exchanges", wire.exchanges)] if wire else []
    all_extras.extend(extras)
    return Report(
        tool_version=__version__,
        command=command,
        generated=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        verdict=verdict,
        findings=tuple(findings),
        sources=tuple(facts.sources),
        extras=tuple(all_extras),
    )
