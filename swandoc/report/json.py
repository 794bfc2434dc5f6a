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


def report_dict(report: Report) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "swandoc", "version": report.tool_version},
        "command": report.command,
        "generated": report.generated,
        "verdict": report.verdict,
        "summary": verdict_sentence(report),
        "exit_code": report.exit_code,
        "findings": [_finding_dict(f) for f in report.findings],
        "inputs": [s.as_dict() for s in report.sources],
        "probes": [{"name": n, "status": s, "result": r} for n, s, r in probe_rows(report)],
        "packet_count": packet_count(report),
    }


def render_json(report: Report) -> str:
    return json.dumps(report_dict(report), indent=2, ensure_ascii=False) + "\n"
