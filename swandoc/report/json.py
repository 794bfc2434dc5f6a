"""JSON renderer; the schema is documented in docs/json-schema.md.

Keys are only ever added, never renamed or removed, within one ``schema_version``;
tests/test_report_json.py checks real reports against the documented schema.
"""
from __future__ import annotations

import json
from typing import Any

from ..model import Report
from .wording import packet_count, probe_rows, side_words, verdict_sentence

SCHEMA_VERSION = 1


def _finding_dict(f) -> dict[str, Any]:
    d = f.as_dict()
    d["rank"] = f.rank
    d["side_text"] = side_words(f.side)
    return d


def report_dict(report: Report, *, with_findings: bool = True) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "swandoc", "version": report.tool_version},
        "command": report.command,
        "generated": report.generated,
        "verdict": report.verdict,
        "summary": verdict_sentence(report),
        "exit_code": report.exit_code,
        "findings": [_finding_dict(f) for f in report.findings] if with_findings else [],
        "inputs": [s.as_dict() for s in report.sources],
        "probes": [{"name": n, "status": s, "result": r} for n, s, r in probe_rows(report)],
        "packet_count": packet_count(report),
    }


def render_json(report: Report) -> str:
    """The report as indented JSON, byte for byte ``json.dumps(report_dict(report), indent=2)``.

    A huge log can give thousands of findings; encoding them one at a time means the dicts of
    all findings never exist at once next to the text (lower peak memory for the same output).
    """
    head = report_dict(report, with_findings=False)
    if not report.findings:
        return json.dumps(head, indent=2, ensure_ascii=False) + "\n"
    marker = "\u0000findings\u0000"
    head["findings"] = [marker]
    skeleton = json.dumps(head, indent=2, ensure_ascii=False)
    quoted = json.dumps(marker)
    before, after = skeleton.split(quoted, 1)
    item_indent = "    "
    items = ",\n".join(
        item_indent + json.dumps(_finding_dict(f), indent=2, ensure_ascii=False).replace("\n", "\n" + item_indent)
        for f in report.findings)
    return before + items[len(item_indent):] + after + "\n"
