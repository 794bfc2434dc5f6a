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
EVIDENCE_MAX = 500  # a finding from a huge log may cite thousands of lines; the JSON keeps them all


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
        findings=[_finding_view(n, f) for n, f in enumerate(report.findings, 1)],
        probes=[(name, status, result, status_class(status)) for name, status, result in probe_rows(report)],
        ladder=ladder,
        ladder_note=ladder_note,
        packet_count=packet_count(report),
        evidence_shown=EVIDENCE_SHOWN,
    )
