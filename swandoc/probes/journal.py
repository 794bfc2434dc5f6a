"""Pluto's lines from the systemd journal, as ``journalctl -o json`` records.

The systemd-python API is used first (no subprocess, exact field access). ``--since`` uses
journalctl's syntax, which that API does not parse, so :func:`parse_since` converts the common
forms to a timestamp; anything it does not know is handed to ``journalctl --since`` itself,
which understands its own syntax fully.
"""
from __future__ import annotations

import datetime as _dt
import json
import re
import time
from collections import deque

from ..evidence import Evidence
from .run import run_command

MAX_RECORDS = 50_000
_UNITS = {"s": 1, "sec": 1, "second": 1, "seconds": 1, "m": 60, "min": 60, "minute": 60, "minutes": 60,
          "h": 3600, "hour": 3600, "hours": 3600, "d": 86400, "day": 86400, "days": 86400,
          "w": 604800, "week": 604800, "weeks": 604800}


def parse_since(text: str, now: _dt.datetime | None = None) -> _dt.datetime | None:
    """A journalctl ``--since`` value as local time, or None if the form is not known here.

    >>> now = _dt.datetime(2024, 5, 2, 12, 0, 0)
    >>> parse_since("-1h", now), parse_since("30 min ago", now), parse_since("yesterday", now)
    (datetime.datetime(2024, 5, 2, 11, 0), datetime.datetime(2024, 5, 2, 11, 30), datetime.datetime(2024, 5, 1, 0, 0))
    >>> parse_since("2024-05-01 10:20", now)
    datetime.datetime(2024, 5, 1, 10, 20)
    """
    now = now or _dt.datetime.now()
    value = text.strip().lower()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if value == "now":
        return now
    if value == "today":
        return midnight
    if value == "yesterday":
        return midnight - _dt.timedelta(days=1)
    match = re.fullmatch(r"-\s*(\d+)\s*([a-z]+)|(\d+)\s*([a-z]+)\s+ago", value)
    if match:
        amount = int(match[1] or match[3])
        unit = _UNITS.get(match[2] or match[4])
        if unit:
            return now - _dt.timedelta(seconds=amount * unit)
        return None
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%H:%M:%S", "%H:%M"):
        try:
            parsed = _dt.datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
        if fmt.startswith("%H"):
            parsed = now.replace(hour=parsed.hour, minute=parsed.minute, second=parsed.second, microsecond=0)
        return parsed
    return None


def read_journal(since: str | None) -> Evidence:
    """Pluto's journal records since *since* (default: the last hour) as JSON lines."""
    since = since or "-1h"
    start_at = parse_since(since)
    origin = f"journal SYSLOG_IDENTIFIER=pluto since {since}"
    if start_at is not None:
        try:
            from systemd import journal
        except ImportError:
            journal = None
        if journal is not None:
            return _read_with_api(journal, start_at, origin)
    # Unknown --since syntax, or no systemd-python: journalctl understands its own syntax.
    evidence = run_command("pluto_log", ["journalctl", "--no-pager", "-o", "json", "-t", "pluto", "-t", "ipsec",
                                         "--since", since, "-n", str(MAX_RECORDS)], timeout=30)
    if evidence.available and not evidence.content.strip():
        return Evidence("pluto_log", None, evidence.origin, error="the journal has no pluto lines in the window")
    return evidence


def _read_with_api(journal, start_at: _dt.datetime, origin: str) -> Evidence:
    began = time.monotonic()
    try:
        reader = journal.Reader()
        reader.add_match(SYSLOG_IDENTIFIER="pluto")
        reader.add_disjunction()
        reader.add_match(SYSLOG_IDENTIFIER="ipsec")
        reader.seek_realtime(start_at)
        # Keep the NEWEST records: the failure being diagnosed is at the end of the window,
        # and with plutodebug on a busy day easily passes the limit before it.
        newest: deque[dict] = deque(maxlen=MAX_RECORDS)
        total = 0
        for entry in reader:
            newest.append(entry)
            total += 1
        reader.close()
        lines = [json.dumps(_record(entry), default=str) for entry in newest]
    except Exception as exc:  # no journal directory, no permission ...
        return Evidence("pluto_log", None, origin, error=f"cannot read the journal: {exc}")
    if not lines:
        return Evidence("pluto_log", None, origin, error="the journal has no pluto lines in the window")
    meta: tuple[tuple[str, str], ...] = (("records", str(len(lines))),)
    if total > len(lines):
        meta += (("truncated", f"kept the newest {len(lines)} of {total} records; "
                               f"the {total - len(lines)} oldest in the window were left out"),)
    return Evidence("pluto_log", ("\n".join(lines) + "\n").encode(), origin, duration=time.monotonic() - began,
                    meta=meta)


def _record(entry: dict) -> dict:
    """The same field names and forms ``journalctl -o json`` writes."""
    out = {}
    for key in ("MESSAGE", "SYSLOG_IDENTIFIER", "_PID", "_HOSTNAME", "PRIORITY", "_SYSTEMD_UNIT"):
        if key in entry:
            out[key] = str(entry[key])
    stamp = entry.get("__REALTIME_TIMESTAMP")
    if isinstance(stamp, _dt.datetime):
        out["__REALTIME_TIMESTAMP"] = str(int(stamp.timestamp() * 1_000_000))
    return out
