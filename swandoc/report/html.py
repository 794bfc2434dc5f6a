"""HTML renderer: one self-contained file (inline CSS and script, no network resources).

jinja2 autoescaping is on for everything: connection names, IKE IDs, certificate names and
whole log lines come from peers and logs and are hostile. The only markup not escaped is the
ladder SVG, which ``swandoc.report.ladder`` builds itself and hands over as ``Markup``.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import jinja2

from ..model import Finding, Report
from .wording import (packet_count, probe_rows, shown_host, side_words, split_fix_step, status_class,
                      step_only_for, truncate,
                      verdict_sentence)

EVIDENCE_WIDTH = 600  # beyond this a line is cut in the middle; the rest is in the log
EVIDENCE_SHOWN = 8  # open on the card; the rest fold under "N more evidence lines"
EVIDENCE_MAX = 100  # a finding from a huge log may cite thousands of lines; the JSON keeps them all
# A big log (many connections, 100k events) can give hundreds of findings. The most likely causes get a
# full card each; the rest are one row per finding id, their connections folded: the page stays small
# and opens fast, and the JSON report keeps every finding whole.
CARDS_MAX = 40
ROW_CONNECTIONS = 200  # connections listed in one folded row; the count says how many there are


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("swandoc.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _finding_view(n: int, f: Finding) -> dict[str, Any]:
    return {
        "n": n,
        "f": f,
        "side_text": side_words(f.side),
        "side_short": side_words(f.side, short=True),
        "evidence": [(e.source, e.line, truncate(e.text, EVIDENCE_WIDTH), e.host if shown_host(e.host) else None)
                     for e in f.evidence[:EVIDENCE_MAX]],
        "evidence_dropped": max(0, len(f.evidence) - EVIDENCE_MAX),
        "steps": [split_fix_step(step) + (step_only_for(step),) for step in f.fix],
    }


def _folded_rows(findings: list[Finding]) -> list[dict[str, Any]]:
    """The findings beyond the cards, one row per id (in the order of their best-ranked finding).

    >>> from swandoc.model import EvidenceLine
    >>> f = lambda c: Finding("ts-unacceptable", "error", "TS", c, "both", (EvidenceLine("w.log", 3, "x"),), "", (), "")
    >>> rows = _folded_rows([f("a"), f("b"), f(None)])
    >>> [(r["id"], r["count"], r["connections"]) for r in rows]
    [('ts-unacceptable', 3, ['a', 'b'])]
    """
    rows: dict[str, dict[str, Any]] = {}
    for f in findings:
        row = rows.get(f.id)
        if row is None:
            first = f.evidence[0] if f.evidence else None
            row = rows[f.id] = {"id": f.id, "severity": f.severity, "title": f.title, "count": 0, "connections": [],
                                "more_connections": 0,
                                "example": (first.source, first.line, truncate(first.text, 300)) if first else None}
        row["count"] += 1
        if f.connection:
            if len(row["connections"]) < ROW_CONNECTIONS:
                row["connections"].append(f.connection)
            else:
                row["more_connections"] += 1
    return list(rows.values())


def _ladder(report: Report) -> tuple[Any, str | None]:
    """The ladder SVG (Markup) or None, and a note when it could not be drawn."""
    packets = report.extra("packets")
    if not packets:
        return None, None
    try:
        from .ladder import render_ladder_svg
    except ImportError:
        return None, f"{packet_count(report)} packet(s) decoded; this build of swandoc cannot draw the ladder."
    try:
        return render_ladder_svg(packets, report.extra("events", ()), flows=report.extra("exchanges")), None
    except Exception as exc:  # the diagram is a nicety; never lose the diagnosis over it
        return None, f"The ladder diagram could not be drawn: {exc}"


def render_html(report: Report) -> str:
    ladder, ladder_note = _ladder(report)
    problems = sum(1 for f in report.findings if f.severity != "info")
    return _env().get_template("report.html.j2").render(
        report=report,
        summary=verdict_sentence(report),
        problems=problems,
        findings=[_finding_view(n, f) for n, f in enumerate(report.findings[:CARDS_MAX], 1)],
        folded=_folded_rows(list(report.findings[CARDS_MAX:])),
        folded_count=max(0, len(report.findings) - CARDS_MAX),
        probes=[(name, status, result, status_class(status)) for name, status, result in probe_rows(report)],
        ladder=ladder,
        ladder_note=ladder_note,
        packet_count=packet_count(report),
        evidence_shown=EVIDENCE_SHOWN,
    )
