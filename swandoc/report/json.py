"""JSON renderer; the schema is documented in docs/json-schema.md."""
from __future__ import annotations

import json

from ..model import Report

SCHEMA_VERSION = 1


def report_dict(report: Report) -> dict:
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "swandoc", "version": report.tool_version},
        "command": report.command,
        "generated": report.generated,
        "verdict": report.verdict,
        "exit_code": report.exit_code,
        "findings": [f.as_dict() for f in report.findings],
        "inputs": [s.as_dict() for s in report.sources],
    }


def render_json(report: Report) -> str:
    return json.dumps(report_dict(report), indent=2, ensure_ascii=False) + "\n"
