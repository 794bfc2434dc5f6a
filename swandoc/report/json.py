"""JSON renderer; the schema is documented in docs/json-schema.md.

Keys are only ever added, never renamed or removed, within one ``schema_version``;
tests/test_report_json.py checks real reports against the documented schema.
"""
from __future__ import annotations

import json
from typing import Any, Iterator

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
    """The report as indented JSON, byte for byte ``json.dumps(report_dict(report), indent=2, ensure_ascii=False)``."""
    return "".join(json_chunks(report))


def json_chunks(report: Report) -> Iterator[str]:
    """render_json's text in pieces, one finding at a time: a huge log's thousands of findings are
    never all in memory as dicts or text at once (written out as they come, see clitools.emit).

    The standard library writes indented JSON with its pure-Python encoder (its C encoder cannot
    indent); the same text is written here with the C string escaper and no generators: about
    twice as fast.
    """
    head = report_dict(report, with_findings=False)
    sep = "{\n  "
    for key, value in head.items():
        out: list[str] = [sep, _escape(key), ": "]
        sep = ",\n  "
        if key != "findings" or not report.findings:
            _write(value, "\n  ", out)
            yield "".join(out)
            continue
        yield "".join(out)
        item_sep = "[\n    "
        for finding in report.findings:
            out = [item_sep]
            _write_finding(finding, out)
            item_sep = ",\n    "
            yield "".join(out)
        yield "\n  ]"
    yield "\n}\n"


_escape = json.encoder.encode_basestring  # the C escaper json.dumps uses with ensure_ascii=False
_float = json.encoder.JSONEncoder().encode  # floats (repr, and what json does with NaN/Infinity)
# Strings escaped once: most of a big report's text is the same titles, explanations and fix steps in
# finding after finding. Bounded (then every further string is escaped each time).
_ESCAPED: dict[str, str] = {}
ESCAPED_MAX, ESCAPED_LONGEST = 2048, 2000


# A finding's text at its place in the report (an item of "findings"), key by key as _finding_dict
# orders them: the writing of the generic _write, unrolled, for the thousands of findings of a big
# log. Its fix steps, the same in every finding of one kind, are written once.
# fix tuple -> (that tuple, its text): a hit counts only for the very same step objects (equal text
# alone is not enough: a step's versions are written too).
_FIXES: dict[tuple, tuple[tuple, str]] = {}
FIXES_MAX = 512


def _write_finding(f, out: list[str]) -> None:
    """Append finding *f* as ``_write(_finding_dict(f), "\\n    ", out)`` would (tests/test_report_json.py)."""
    text = _text
    out.append('{\n      "id": ')
    out.append(text(f.id))
    out.append(',\n      "severity": ')
    out.append(text(f.severity))
    out.append(',\n      "title": ')
    out.append(text(f.title))
    out.append(',\n      "connection": ')
    out.append("null" if f.connection is None else text(f.connection))
    out.append(',\n      "side": ')
    out.append(text(f.side))
    out.append(',\n      "evidence": ')
    if not f.evidence:
        out.append("[]")
    else:
        sep = "[\n        {\n          \"source\": "
        for e in f.evidence:
            out.append(sep)
            _write(e.source, "", out)
            out.append(',\n          "line": ')
            _write(e.line, "", out)
            out.append(',\n          "text": ')
            out.append(_escape(e.text) if e.text.__class__ is str else _text(e.text, "\n          "))  # (no memo: each its own)
            out.append(',\n          "host": ')
            _write(e.host, "", out)
            sep = "\n        },\n        {\n          \"source\": "
        out.append("\n        }\n      ]")
    out.append(',\n      "explanation": ')
    out.append(text(f.explanation))
    fix = f.fix
    known = _FIXES.get(fix)
    if known is None or len(known[0]) != len(fix) or any(a is not b for a, b in zip(known[0], fix)):
        steps: list[str] = []
        _write(list(fix), "\n      ", steps)
        steps.append(',\n      "fix_versions": ')
        _write([list(getattr(step, "versions", ("3", "4", "5"))) for step in fix], "\n      ", steps)
        known = (fix, "".join(steps))
        if len(_FIXES) < FIXES_MAX:
            _FIXES[fix] = known
    out.append(',\n      "fix": ')
    out.append(known[1])
    out.append(',\n      "reference": ')
    out.append(text(f.reference))
    out.append(',\n      "details": ')
    _write(dict(f.details), "\n      ", out)
    out.append(',\n      "predicted": ')
    _write(f.predicted, "", out)
    out.append(',\n      "rank": ')
    _write(f.rank, "", out)
    out.append(',\n      "side_text": ')
    _write(side_words(f.side), "", out)
    out.append("\n    }")


def _text(value: Any, newline: str = "\n      ") -> str:
    """*value* as _write writes it at the indentation *newline* carries (a string escaped once)."""
    if value.__class__ is str:
        escaped = _ESCAPED.get(value)
        if escaped is None:
            escaped = _escape(value)
            if len(_ESCAPED) < ESCAPED_MAX and len(value) <= ESCAPED_LONGEST:
                _ESCAPED[value] = escaped
        return escaped
    out: list[str] = []
    _write(value, newline, out)
    return "".join(out)


def _write(value: Any, newline: str, out: list[str]) -> None:
    """Append *value* as json.dumps(indent=2) would write it at the indentation *newline* carries.

    >>> out = []; _write({"a": [1, "x\\n", None, {}], "b": [], "c": 1.5, "d": True}, "\\n", out); "".join(out)
    '{\\n  "a": [\\n    1,\\n    "x\\\\n",\\n    null,\\n    {}\\n  ],\\n  "b": [],\\n  "c": 1.5,\\n  "d": true\\n}'
    """
    if isinstance(value, str):
        escaped = _ESCAPED.get(value)
        if escaped is None:
            escaped = _escape(value)
            if len(_ESCAPED) < ESCAPED_MAX and len(value) <= ESCAPED_LONGEST:
                _ESCAPED[value] = escaped
        out.append(escaped)
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        out.append(_float(value))
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner = newline + "  "
        sep = "{" + inner
        for key, item in value.items():
            out.append(sep)
            out.append(_escape(key if isinstance(key, str) else json.dumps(key).strip('"')) + ": ")
            _write(item, inner, out)
            sep = "," + inner
        out.append(newline + "}")
    elif isinstance(value, (list, tuple)):
        if not value:
            out.append("[]")
            return
        inner = newline + "  "
        sep = "[" + inner
        for item in value:
            out.append(sep)
            _write(item, inner, out)
            sep = "," + inner
        out.append(newline + "]")
    else:  # anything else is a bug in report_dict: fail as json.dumps would
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
