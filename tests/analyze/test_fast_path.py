"""The logfile fast path (logparse/feed.py) skips work, never lines: its shortcuts must give exactly
what parsing every line gives, on real lab logs."""
from __future__ import annotations

import io
import json
import os
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

    class Recorder(Facts):  # every event goes through add_fields (add_event too)
        def add_fields(self, kind, source, line, text, time, rest, host=None, event=None):
            seen.append((line, kind, rest[0]))
            super().add_fields(kind, source, line, text, time, rest, host, event)

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
        assert got == expected
        assert summary.lines == data.count(b"\n")


# The debug lines the fast path keeps, as pluto writes them (pluto's NAT result and 5.2's kernel probe,
# text right after the debug marker; wording from pluto's sources, see pluto-wording.md §2.9).
KEPT_DEBUG = (b"| NAT-Traversal: Result using RFC 3947 (NAT-Traversal) sender port 500: I am behind NAT",
              b"| NAT-Traversal: Result using RFC 3947 (NAT-Traversal) sender port 4500: peer behind NAT",
              b"| netlink response for Add SA Probe Test",
              b"| NAT_TRAVERSAL_NAT_BHND_ME")


def test_fast_path_keeps_the_debug_lines_that_matter():
    # Debug lines are skipped by their marker; the few that matter must come through, in order, with their
    # line numbers, between ordinary debug lines (what a line-by-line parse finds).
    log = (LAB / "healthy-debug" / "west.log").read_bytes().splitlines(keepends=True)
    data = b""
    for n, line in enumerate(log):
        data += line
        if n % 400 == 200:
            data += b"".join(line[:24] + kept + b"\n" for kept in KEPT_DEBUG)
    expected = _events_line_by_line(data)
    for chunk in (1 << 22, 4096):
        got, summary = _events_fast(data, chunk)
        assert got == expected
        assert sum(1 for _, kind, _ in got if kind == "nat_detected") >= 4
        assert summary.debug_lines == sum(1 for line in data.split(b"\n") if line[22:25] == b": |")


def test_message_memo_is_bounded(monkeypatch):
    monkeypatch.setattr(feed, "_MEMO_MAX", 16)
    body = b"".join(b"Nov 26 21:41:54.694169: chatter line number %d\n" % i for i in range(100))
    body += b"".join(b"Nov 26 21:41:54.694170: adding UDP interface eth%d 192.0.2.%d:500\n" % (i, i) for i in range(50))
    memo: dict = {}
    summary = feed.SourceSummary(name="x", kind="unknown")
    counts = {"n": 0, "ok": 0, "other_pluto": 0, "other": 0, "empty": 0}
    found: list = []
    feed._scan_chunk(summary, b"\n" + body.rstrip(b"\n"), found, counts, memo)
    assert 0 < len(memo) <= 16 and counts["n"] == 150 and counts["ok"] == 150
    assert [line for line, *_ in found] == list(range(101, 151))  # every event, the memo full or not


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


# --- both cores: the forked worker (logparse/parallel.py) must change nothing but the time -------------

def _analyze(path: Path, parallel_min: int, monkeypatch, progress=None, piped: bool = False) -> tuple[list, str, list]:
    """Every event in the order Facts got it, and the whole JSON report (its time stamp blanked).

    *progress*: a ProgressLine to show while reading (the terminal's progress thread runs beside).
    *piped*: a compressed file, whose blocks must cross the pipe (the threshold is then its own)."""
    from swandoc.analysis import analyze_paths
    from swandoc.logparse import parallel
    from swandoc.report.json import render_json

    from swandoc.model import LogEvent

    seen: list = []
    original = Facts.add_fields

    def recording(self, kind, source, line, text, time, rest, host=None, event=None):
        made = LogEvent(kind, source, line, text, time, *rest)
        assert event is None or event == made
        seen.append(made)
        original(self, kind, source, line, text, time, rest, host, event)

    monkeypatch.setattr(Facts, "add_fields", recording)
    monkeypatch.setattr(parallel, "PARALLEL_MIN", parallel_min)
    monkeypatch.setattr(parallel, "PARALLEL_MIN_COMPRESSED", parallel_min)
    monkeypatch.setattr(parallel, "_a_core_is_free", lambda: True)  # the machine's load is not under test
    monkeypatch.setattr(feed, "CHUNK", 16384)  # many blocks, so both processes get many
    calls: list = []
    monkeypatch.setattr(parallel, "scan_block", _counting(parallel.scan_block, calls))
    original_send = parallel.Worker.send
    sends = SENDS  # per block handed over: True when this process never read it
    sends.clear()

    def send(self, block, end, offset=parallel.IN_PIPE, *rest):
        if piped:  # decompressed here: every block's bytes cross the pipe
            assert self.fd is None and block is not None
        else:  # a plain file: the worker reads its blocks there itself, only their place crosses the pipe
            assert offset >= -1 and self.fd is not None
        sends.append(block is None)
        return original_send(self, block, end, offset, *rest)

    monkeypatch.setattr(parallel.Worker, "send", send)
    if progress is None:
        report = analyze_paths([str(path)])
    else:
        from swandoc.clitools import input_progress

        with input_progress([str(path)], line=progress, delay=0, interval=0.0005):
            report = analyze_paths([str(path)])
    monkeypatch.undo()
    text = render_json(report)
    generated = json.loads(text)["generated"]
    return seen, text.replace(generated, "<generated>"), calls


SENDS: list = []


def _counting(function, calls):
    def wrapper(*args):
        calls.append(args[1])
        return function(*args)
    return wrapper


@pytest.mark.parametrize("log", LOGS[::4], ids=lambda p: f"{p.parent.name}/{p.name}")
def test_parallel_path_gives_exactly_the_sequential_events_facts_and_findings(log, tmp_path, monkeypatch):
    # The log replayed past the (lowered) size threshold, with an over-long line and a last line
    # without its newline, so every kind of item crosses the parent/worker hand-over.
    data = log.read_bytes().rstrip(b"\n")
    body = b"\n".join([data] * 6)
    body += b"\nNov 26 21:41:54.673160: " + b"x" * 70_000 + b"\n" + data
    path = tmp_path / log.name
    path.write_bytes(body)
    threshold = len(body) // 2
    sequential, sequential_json, sequential_calls = _analyze(path, 1 << 40, monkeypatch)
    parallel, parallel_json, parallel_calls = _analyze(path, threshold, monkeypatch)
    assert sequential_calls == [] and sequential, "the sequential run must not use the parallel path"
    # each process scans a share of the blocks (the worker's are those sent to it)
    assert parallel_calls and SENDS, "the parent and the worker both scan blocks"
    assert any(SENDS), "some blocks go to the worker unread here (their place only)"
    assert parallel == sequential  # every field of every event, in the same order
    assert parallel_json == sequential_json
    assert '"unparsed": 1' in parallel_json


@pytest.mark.parametrize("compress", ["gzip", "xz"])
def test_parallel_path_for_a_compressed_log_gives_exactly_the_sequential_result(compress, tmp_path, monkeypatch):
    # A rotated pluto.log.1.gz: this process decompresses, the worker gets whole blocks through the pipe.
    import gzip
    import lzma

    data = LOGS[0].read_bytes().rstrip(b"\n")
    body = b"\n".join([data] * 6) + b"\nNov 26 21:41:54.673160: " + b"x" * 70_000 + b"\n" + data
    path = tmp_path / f"pluto.log.1.{compress[:2]}"
    path.write_bytes(gzip.compress(body) if compress == "gzip" else lzma.compress(body))
    sequential, sequential_json, sequential_calls = _analyze(path, 1 << 40, monkeypatch)
    parallel, parallel_json, parallel_calls = _analyze(path, 0, monkeypatch, piped=True)
    assert sequential_calls == [] and sequential
    assert parallel_calls and SENDS and not any(SENDS), "both scan blocks; the worker's came through the pipe"
    assert parallel == sequential and parallel_json == sequential_json
    assert '"unparsed": 1' in parallel_json and f"decompressed {compress}" in parallel_json
    # Cut short (a rotation caught mid-write): what was decompressed before the break, in either way.
    path.write_bytes(path.read_bytes()[: path.stat().st_size * 2 // 3])
    sequential, sequential_json, _ = _analyze(path, 1 << 40, monkeypatch)
    parallel, parallel_json, _ = _analyze(path, 0, monkeypatch, piped=True)
    assert SENDS and parallel == sequential and parallel_json == sequential_json
    assert "input ends early" in parallel_json


def test_parallel_path_beside_the_progress_line_of_a_terminal(tmp_path, monkeypatch):
    # On a terminal a progress thread runs while the log is read: the worker is still forked (between
    # two of its steps), and the result is still exactly the sequential one.
    from swandoc.clitools import ProgressLine

    log = LOGS[0]
    data = log.read_bytes().rstrip(b"\n")
    path = tmp_path / log.name
    path.write_bytes(b"\n".join([data] * 8) + b"\n")
    sequential, sequential_json, _ = _analyze(path, 1 << 40, monkeypatch)
    shown = io.StringIO()
    parallel, parallel_json, calls = _analyze(path, len(data), monkeypatch, progress=ProgressLine(shown, enabled=True))
    assert SENDS, "the worker was forked and given blocks"
    assert "swandoc: reading" in shown.getvalue()  # the progress thread was running all along
    assert parallel == sequential and parallel_json == sequential_json


def test_no_fork_beside_a_thread_that_is_not_a_helper(monkeypatch):
    import threading

    from swandoc import forking
    from swandoc.logparse import parallel

    release = threading.Event()
    other = threading.Thread(target=release.wait, daemon=True)
    other.start()
    try:
        assert not forking.only_helpers_running()
        assert parallel.Worker.start(None, "x") is None  # (never reaches the fork)
        forking.mark_helper(other)
        assert forking.only_helpers_running()
        with forking.between_steps(timeout=0.01) as paused:
            assert paused
            with forking.between_steps(timeout=0.01) as again:
                assert not again  # a helper holding STEP past the timeout: no fork
    finally:
        release.set()


def test_parallel_path_only_for_big_files(tmp_path, monkeypatch):
    from swandoc.logparse import parallel

    log = LOGS[0].read_bytes()
    monkeypatch.setattr(parallel, "PARALLEL_MIN", len(log) - 1)
    monkeypatch.setattr(parallel, "PARALLEL_MIN_COMPRESSED", len(log) + 1)
    big = tmp_path / "big.log"
    big.write_bytes(log)
    with open(big, "rb") as fh:
        assert feed._is_big_file(io.BufferedReader(fh.raw))
        assert not feed._is_big_file(fh, compressed=True)  # a compressed file has a threshold of its own
    monkeypatch.setattr(parallel, "PARALLEL_MIN", len(log))
    with open(big, "rb") as fh:
        assert not feed._is_big_file(fh)  # not bigger than the threshold
    monkeypatch.setattr(parallel, "PARALLEL_MIN_COMPRESSED", len(log) - 1)
    with open(big, "rb") as fh:
        assert feed._is_big_file(fh, compressed=True)
    assert not feed._is_big_file(io.BufferedReader(io.BytesIO(log)))  # no file behind it (stdin, bundle member)


def test_parallel_path_without_a_worker_goes_on_the_sequential_way(tmp_path, monkeypatch):
    # No worker after all (no fork, no free core): the rest of the file is scanned straight into the
    # facts, in the sequential path's big reads, with the same result.
    from swandoc.logparse import parallel

    data = (LAB / "ikev2-psk-mismatch" / "west.log").read_bytes() * 8
    path = tmp_path / "west.log"
    path.write_bytes(data)
    expected, expected_json, _ = _analyze(path, 1 << 40, monkeypatch)
    monkeypatch.setattr(parallel.Worker, "start", classmethod(lambda cls, ops, name, fd=None: None))
    got, got_json, calls = _analyze(path, 0, monkeypatch)
    assert got == expected and got_json == expected_json
    assert len(calls) <= 2  # block results only before the decision; after it, no hand-over at all


def test_parallel_path_survives_a_worker_that_dies(tmp_path, monkeypatch):
    # A worker that cannot answer: the parent scans its blocks itself, with the same result.
    from swandoc.logparse import parallel

    log = LAB / "ikev2-psk-mismatch" / "west.log"
    data = log.read_bytes() * 8
    path = tmp_path / "west.log"
    path.write_bytes(data)
    expected, expected_json, _ = _analyze(path, 1 << 40, monkeypatch)
    monkeypatch.setattr(parallel.Worker, "receive", lambda self: None)
    got, got_json, calls = _analyze(path, 0, monkeypatch)
    assert got == expected and got_json == expected_json
    assert len(calls) >= len(data) // 16384  # every block scanned here


def test_a_worker_for_a_plutodebug_log_and_for_a_chatty_one(tmp_path, monkeypatch):
    # Whatever the kind of log: the worker reads its blocks itself, so it pays on a plutodebug=all log
    # (the regex engine's work) as much as on one where Python does the work.
    from swandoc.logparse import parallel

    started: list = []
    debug = tmp_path / "west.log"
    debug.write_bytes((LAB / "healthy-debug" / "west.log").read_bytes() * 4)
    chatty = tmp_path / "events.log"
    chatty.write_bytes(b"".join(b"Nov 26 21:41:54.673160: line %d\n" % i for i in range(20000)))
    for path in (debug, chatty):
        # (_analyze undoes every patch when it is done)
        monkeypatch.setattr(parallel.Worker, "start", classmethod(lambda cls, ops, name, fd=None: started.append(name)))
        _analyze(path, 0, monkeypatch)
    assert started == [str(debug), str(chatty)]


_OPS = None  # the worker is never sent a block here


def test_no_fork_while_other_threads_run():
    # fork copies only the calling thread; a lock another thread holds would hang the worker.
    import threading

    from swandoc.logparse import parallel

    release = threading.Event()
    thread = threading.Thread(target=release.wait)
    thread.start()
    try:
        assert parallel.Worker.start(_OPS, "x") is None
    finally:
        release.set()
        thread.join()
    worker = parallel.Worker.start(_OPS, "x")
    assert worker is not None
    worker.close()


def test_no_worker_when_no_core_is_free(monkeypatch):
    from swandoc.logparse import parallel

    cores = len(os.sched_getaffinity(0))
    monkeypatch.setattr(parallel.os, "getloadavg", lambda: (float(cores), 0.0, 0.0))
    monkeypatch.setattr(parallel, "_runnable_now", lambda: cores)
    assert not parallel._a_core_is_free()  # busy for a minute, and busy now
    monkeypatch.setattr(parallel, "_runnable_now", lambda: 1)  # only this process
    assert parallel._a_core_is_free() == (cores >= 2)  # the load average lags: idle right now
    monkeypatch.setattr(parallel.os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    monkeypatch.setattr(parallel, "_runnable_now", lambda: cores)
    assert parallel._a_core_is_free() == (cores >= 2)  # idle for a minute
    monkeypatch.setattr(parallel.os, "sched_getaffinity", lambda pid: {0})
    assert not parallel._a_core_is_free()  # pinned to one core (taskset): never a worker


def test_long_messages_are_parsed_each_time_never_remembered(monkeypatch):
    # The memos of what a message says hold short texts only: a log of long lines that never recur must
    # not fill them (16384 entries of up to 64 KiB each, as bytes and as text).
    from swandoc.logparse import events

    calls: list[str] = []
    original = feed.message_fields
    monkeypatch.setattr(feed, "message_fields", lambda body: calls.append(body) or original(body))
    long_text = '"west" #1: authentication failed: ' + "x" * 2000
    short = '"west" #1: sent IKE_SA_INIT request to 192.0.2.2:500'
    for stamp in ("Nov 26 21:41:54.694169: ", "Nov 26 21:41:54 gw pluto[7]: "):  # the logfile and syslog paths
        calls.clear()
        data = "".join(f"{stamp}{text}\n" for text in (long_text, short, long_text, short)).encode()
        summary = feed.feed_stream("x", io.BufferedReader(io.BytesIO(data)), Facts())
        assert summary.events == 4  # every event still found
        assert calls.count(long_text) == 2 and calls.count(short) == 1, stamp
    # The meanings of message texts (after the prefix) are bounded by their characters too: a long text
    # that recurs is still worked out once, long ones that never recur are let go when the sum is reached.
    monkeypatch.setattr(events, "MEANINGS_CHARS", 5000)
    events._MEANINGS.clear()
    for n in range(3):
        events.message_fields(f'"west" #{n}: ' + long_text[len('"west" #1: '):])
    assert len(events._MEANINGS) == 1 and events._MEANINGS.chars == len(long_text) - len('"west" #1: ')
    events.message_fields('"west" #1: ' + "y" * 3000 + " failed")
    assert len(events._MEANINGS) == 1 and events._MEANINGS.chars == 3007  # emptied first: the two exceed 5000
    events._MEANINGS.clear()
