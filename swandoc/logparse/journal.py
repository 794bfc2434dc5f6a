"""Journal exports: ``journalctl -o json`` and ``journalctl -o export``.

systemd-python reads a live journal (the diagnose probe uses it), but it cannot read an
export file someone sent us, so these two documented formats are parsed here:
https://systemd.io/JOURNAL_EXPORT_FORMATS/ . Each yields (time, identifier, message) records.
"""
from __future__ import annotations

import datetime as _dt
import json
import struct
from typing import BinaryIO, Iterator, Optional

Record = tuple[Optional[str], Optional[str], str]  # a runtime alias: no "X | None" before Python 3.10


MAX_FIELD_LINE = 64 * 1024  # one KEY=value line; journald's own limit on a field is far below
MAX_FIELDS = 512  # per record: a record that never ends is not journal data


def _usec_to_time(value) -> str | None:
    """A journal timestamp (microseconds since the epoch, as text) in ISO form; None if it is not one."""
    value = str(value) if value is not None else ""
    if not value.isdigit():
        return None
    try:
        stamp = _dt.datetime.fromtimestamp(int(value) / 1e6, _dt.timezone.utc)
    except (ValueError, OverflowError, OSError):  # hostile or damaged: out of any calendar's range
        return None
    return stamp.isoformat(timespec="microseconds")


def _message_text(value) -> str:
    # journalctl -o json writes non-UTF-8 or binary MESSAGE fields as an array of byte values.
    if isinstance(value, list):
        try:
            return bytes(value).decode("utf-8", errors="replace")
        except (TypeError, ValueError):
            return ""
    return value if isinstance(value, str) else ""


def json_records(lines: Iterator[bytes]) -> Iterator[Record | None]:
    """One record per JSON line; None for a line that is not a JSON object.

    >>> list(json_records([b'{"SYSLOG_IDENTIFIER":"pluto","MESSAGE":"x","__REALTIME_TIMESTAMP":"0"}']))
    [('1970-01-01T00:00:00.000000+00:00', 'pluto', 'x')]
    """
    for raw in lines:
        raw = raw.strip()
        if not raw:
            continue
        try:
            obj = json.loads(raw)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than any journal record
            yield None
            continue
        if not isinstance(obj, dict):
            yield None
            continue
        ident = obj.get("SYSLOG_IDENTIFIER") or obj.get("_COMM")
        yield (_usec_to_time(obj.get("__REALTIME_TIMESTAMP")), ident if isinstance(ident, str) else None,
               _message_text(obj.get("MESSAGE")))


def export_records(stream: BinaryIO) -> Iterator[Record | None]:
    """Records of the journal export format (KEY=value lines; binary fields length-prefixed).

    >>> import io
    >>> list(export_records(io.BytesIO(b"__REALTIME_TIMESTAMP=0\\nSYSLOG_IDENTIFIER=pluto\\nMESSAGE=hi\\n\\n")))
    [('1970-01-01T00:00:00.000000+00:00', 'pluto', 'hi')]
    """
    fields: dict[str, bytes] = {}
    while True:
        line = stream.readline(MAX_FIELD_LINE)
        if not line or line == b"\n":
            if fields:
                yield (_usec_to_time(fields.get("__REALTIME_TIMESTAMP", b"").decode("ascii", "replace")),
                       fields.get("SYSLOG_IDENTIFIER", fields.get("_COMM", b"")).decode("utf-8", "replace") or None,
                       fields.get("MESSAGE", b"").decode("utf-8", "replace"))
                fields = {}
            if not line:
                return
            continue
        if len(fields) >= MAX_FIELDS:
            yield None  # not journal data; stop rather than collect without bound
            return
        if b"=" in line:
            key, _, value = line.rstrip(b"\n").partition(b"=")
            fields[key.decode("ascii", "replace")] = value
            continue
        # Binary-safe field: NAME\n, then a little-endian 64-bit length, the data, and \n.
        key = line.rstrip(b"\n").decode("ascii", "replace")
        size_raw = stream.read(8)
        if len(size_raw) < 8:
            yield None
            return
        (size,) = struct.unpack("<Q", size_raw)
        if size > 1 << 24:  # no journal field is that big: this is not an export stream
            yield None
            return
        fields[key] = stream.read(size)
        stream.read(1)
