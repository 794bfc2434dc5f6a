"""Plain-text renderer for terminals."""
from __future__ import annotations

from ..model import Report


def render_text(report: Report) -> str:
    out = [f"swandoc {report.command}: {report.verdict.upper()} ({len(report.findings)} finding(s))", ""]
    for n, f in enumerate(report.findings, 1):
        conn = f' "{f.connection}"' if f.connection else ""
        out.append(f"{n}. [{f.severity}] {f.id}{conn}: {f.title}")
        out.append(f"   {f.explanation}")
        for e in f.evidence:
            out.append(f"     {e.source}:{e.line}: {e.text}")
        for step in f.fix:
            out.append(f"   fix: {step}")
        out.append(f"   see: {f.reference}")
        out.append("")
    for s in report.sources:
        out.append(f"input {s.name}: {s.kind}, {s.lines} lines, {s.pluto_lines} pluto, {s.unparsed} unparsed")
    return "\n".join(out) + "\n"
