"""The logfile fast path (logparse/feed.py) skips work, never lines: its shortcuts must give exactly
what parsing every line gives, on real lab logs."""
from __future__ import annotations

import io
from pathlib import Path

import pytest

from swandoc.facts import Facts
from swandoc.logparse import feed
from swandoc.logparse.events import parse_message

LAB = Path(__file__).resolve().parents[2] / "fixtures" / "lab"
LOGS = sorted(p for lab in (LAB, LAB.parent / "lab5") for p in lab.glob("*/*.log") if p.stat().st_size)


def _events_line_by_line(data: bytes) -> list[tuple[int, str, str | None]]:
    """The slow reference: every line through the envelope and parse_message, one at a time."""
    out = []
    for n, raw in enumerate(data.split(b"\n"), 1):
        text = raw.decode("utf-8", "replace").rstrip("\r")
        envelope = feed.env.strip_envelope(text)
        if envelope is None:
            continue
        event = parse_message(envelope.body, source="x", line=n, text=text, time=envelope.time)
        if event is not None:
            out.append((event.line, event.kind, event.conn))
    return out


def _events_fast(data: bytes, chunk: int) -> tuple[list[tuple[int, str, str | None]], feed.SourceSummary]:
    seen = []

    class Recorder(Facts):
        def add_event(self, event, host=None):
            seen.append((event.line, event.kind, event.conn))
            super().add_event(event, host)

    old = feed.CHUNK
    feed.CHUNK = chunk
    try:
        summary = feed.feed_stream("x", io.BufferedReader(io.BytesIO(data)), Recorder())
    finally:
        feed.CHUNK = old
    return seen, summary


@pytest.mark.parametrize("log", LOGS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fast_path_gives_every_event_of_a_line_by_line_parse(log):
    # Three restarts in one file: the second and third replay meet the no-event memo at every chatter line.
    data = log.read_bytes().rstrip(b"\n")
    data = b"\n".join([data] * 3) + b"\n"
    expected = _events_line_by_line(data)
    assert expected, f"{log}: no event at all; the comparison would prove nothing"
    for chunk in (1 << 22, 4096):  # one chunk, and many chunk boundaries
        got, summary = _events_fast(data, chunk)
        assert summary.kind == "pluto-log"
        # debug NAT lines come from their own pass, after the chunk's other lines
        assert sorted(got) == sorted(expected)
        assert summary.lines == data.count(b"\n")


def test_no_event_memo_is_bounded(monkeypatch):
    monkeypatch.setattr(feed, "_NO_EVENT_MAX", 16)
    body = b"".join(b"Nov 26 21:41:54.694169: chatter line number %d\n" % i for i in range(100))
    memo: set[bytes] = set()
    summary = feed.SourceSummary(name="x", kind="unknown")
    counts = {"n": 0, "ok": 0, "other_pluto": 0, "other": 0, "empty": 0}
    feed._scan_chunk(summary, b"\n" + body.rstrip(b"\n"), Facts(), counts, memo)
    assert 0 < len(memo) <= 16 and counts["n"] == 100 and counts["ok"] == 100


def test_over_long_line_costs_only_itself():
    # A line longer than a whole chunk: it is counted and sampled as unparsed, and every line after
    # it (in the same read, too) is still parsed, with its right number.
    log = LAB / "ikev2-psk-mismatch" / "west.log"
    lines = log.read_bytes()
    data = lines + b"Nov 26 21:41:54.673160: " + b"x" * 200_000 + b"\n" + lines
    expected = _events_line_by_line(data)
    got, summary = _events_fast(data, 4096)
    assert sorted(got) == sorted(expected)
    assert summary.unparsed == 1 and "longer than 64 KiB" in summary.unparsed_samples[0].text
    assert summary.unparsed_samples[0].line == lines.count(b"\n") + 1
    assert summary.lines == data.count(b"\n")
