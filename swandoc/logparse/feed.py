"""Feed one pluto log (any format, any compression) into :class:`~swandoc.facts.Facts`.

This is where log text meets the log parser: a log item of any origin (a file on the command
line, a bundle's ``pluto_log``, the journal read live) is streamed through here, never read whole.
Formats are recognised by content: gzip/xz/bzip2, ``journalctl -o json``/``-o export``, pluto's own
``logfile=`` format (a fast path, below), or any other text (syslog, journal short, whack output,
in any mix), which goes line by line through :mod:`swandoc.logparse.envelope`.

Lines that can be read but not understood are counted as unparsed and sampled, never silently
dropped; input that is not a log at all raises :class:`~swandoc.errors.InputError`.
"""
from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import re
import stat
import zlib
from typing import BinaryIO, Iterable, Iterator

from ..errors import InputError
from ..evidence import Evidence
from ..facts import Facts
from ..model import EvidenceLine, SourceSummary
from . import envelope as env
from .events import message_fields, parse_message
from .journal import export_records, json_records

# What a damaged compressed stream raises: gzip's CRC/length checks (OSError/BadGzipFile), zlib on a
# corrupt deflate block, lzma, bz2 (OSError), or EOFError when it just stops.
DECOMPRESS_ERRORS = (OSError, EOFError, lzma.LZMAError, zlib.error)
MAX_LINE = 64 * 1024  # pluto never writes a line near this long; longer is counted as unparsed
UNPARSED_SAMPLES = 3
SNIFF = 8192

GZIP = b"\x1f\x8b"
XZ = b"\xfd7zXZ\x00"
BZ2 = b"BZh"
ZSTD = b"\x28\xb5\x2f\xfd"


def feed_log(item: Evidence, facts: Facts, host: str | None = None) -> SourceSummary:
    """Stream one log item into *facts*; its events cite ``item.label`` and *host* (its host's name)."""
    raw = item.open()
    try:
        return feed_stream(item.label, raw, facts, host=host)
    finally:
        if item.path not in (None, "-"):
            raw.close()


def _open_decompressed(name: str, fh: BinaryIO) -> tuple[BinaryIO, str | None]:
    head = fh.peek(8)[:8] if hasattr(fh, "peek") else b""
    if not head and hasattr(fh, "seek") and fh.seekable():  # empty stdin (a pipe) cannot seek
        head = fh.read(8)
        fh.seek(0)
    if head.startswith(GZIP):
        return gzip.GzipFile(fileobj=fh), "gzip"
    if head.startswith(XZ):
        return lzma.LZMAFile(fh), "xz"
    if head.startswith(BZ2):
        return bz2.BZ2File(fh), "bzip2"
    if head.startswith(ZSTD):
        raise InputError(f"{name}: zstd-compressed; decompress it first (zstd -d)")
    return fh, None


def feed_stream(name: str, raw: BinaryIO, facts: Facts, host: str | None = None) -> SourceSummary:
    if not isinstance(raw, io.BufferedReader):
        raw = io.BufferedReader(raw) if hasattr(raw, "readinto") else raw
    stream, compression = _open_decompressed(name, raw)
    summary = SourceSummary(name=name, kind="unknown", host=host)
    facts.sources.append(summary)
    try:
        head = stream.peek(SNIFF)[:SNIFF] if hasattr(stream, "peek") else b""
    except DECOMPRESS_ERRORS as exc:
        raise InputError(f"{name}: corrupt {compression or ''} data: {exc}".replace("  ", " ")) from None
    kind = _sniff_text_kind(head)
    if kind == "binary":
        raise InputError(f"{name}: binary data, not a pluto log, journal export, pcap or swandoc bundle")
    try:
        if kind == "journal-json":
            summary.kind = "journal-json"
            _feed_records(summary, json_records(_lines(stream, summary)), facts)
        elif kind == "journal-export":
            summary.kind = "journal-export"
            _feed_records(summary, export_records(stream), facts)
        elif _is_logfile(head):
            feed_logfile_chunks(summary, stream, facts, parallel=_is_big_file(raw, compressed=compression is not None),
                                fd=_fileno(raw) if compression is None else None)
        else:
            feed_text_lines(summary, _lines(stream, summary), facts)
    except DECOMPRESS_ERRORS as exc:
        summary.notes.append(f"input ends early ({compression or 'file'} truncated or corrupt: {exc}); "
                             f"analysed the {summary.lines} lines before that")
        summary.truncated = True
    if compression:
        summary.notes.append(f"decompressed {compression}")
    if summary.lines == 0:
        summary.notes.append("empty input")
    return summary


# --- the fast path for pluto's own logfile= format -------------------------------------------------
# A plutodebug=all log is nearly all debug lines. Instead of looking at each line in Python, regexes
# that start with a literal "\n" (which the regex engine finds at memchr speed) pick out only the lines
# that matter: logfile lines that are not debug lines, and lines that are not in the logfile format at
# all (unparsed, or whack/syslog lines mixed in). Everything else is counted, never decoded.
_TS = rb"[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d\.\d{6}: "
_TS_LINE = re.compile(_TS)
# Debug lines that still matter: NAT detection results (debug-only since 3.x), Libreswan 5.2+'s startup
# probe of the kernel (logged at debug level only when it fails; the rules keep it apart from SA install
# failures), and Openswan's NAT-D debugging. Every version writes each as a debug line of its own, the
# text right after the "| " marker (DBG_log/dbg/LDBG_log with the text first).
_DEBUG_KEPT = rb"NAT-Traversal: Result|NAT_TRAVERSAL_NAT_BHND|netlink response for "
_DEBUG_NAT = re.compile(rb"NAT-Traversal: Result|NAT_TRAVERSAL_NAT_BHND|netlink response for [^\n]*Probe Test")
# Every line that is not a debug line, and the debug lines above: one regex attempt per line. A debug line
# is one with pluto's debug marker ("| ", or "|] "/"] " from a helper thread) right after the timestamp's
# place: the marker is looked for at that offset without checking the 22 characters before it, which
# halves the cost of the pass (a debug line whose timestamp is damaged is still a debug line; a line too
# short or with anything else there is a candidate). A logfile line comes back split (group 1 its
# timestamp, then group 2 the message of a kept debug line or group 3 any other message), any other line
# whole in group 4, so Python never re-checks the format.
_CANDIDATES = re.compile(rb"\n(?!.{22}: (?:\| (?!" + _DEBUG_KEPT + rb")|\|[^ ]|\]))"
                         rb"(?:(" + _TS + rb")(?:(\| [^\n]*)|([^\n]*))|([^\n]*))")
# What each message text (the bytes after the timestamp) says, remembered: the same startup chatter,
# algorithm tables and status lines recur with every restart and every connection, and so do many
# events ("adding UDP interface ...", retransmissions of one state): seen again, a message costs one
# dict lookup instead of a decode and a parse. The value is None (no event) or the message decoded
# with its event's fields. Exact: what a message says depends on the message alone (where it was
# read only fills in the event's source, line and time). Bounded: emptied when full, and a message longer
# than _MEMO_LONGEST is not remembered (pluto's recurring lines are short; a log of long lines that never
# recur would otherwise hold up to 16384 of them, 64 KiB each, twice: as bytes and as text).
_MEMO_MAX = 16384
_MEMO_LONGEST = 512
CHUNK = 1 << 22
PARALLEL_BLOCK = 1 << 20  # the block size when a worker shares the file (logparse/parallel.py)


def _is_logfile(head: bytes) -> bool:
    lines = [l for l in head.split(b"\n")[:-1] if l.strip()]
    return bool(lines) and sum(1 for l in lines if _TS_LINE.match(l)) >= 0.9 * len(lines)


def feed_logfile_chunks(summary: SourceSummary, stream: BinaryIO, facts: Facts, parallel: bool = False,
                        fd: int | None = None) -> None:
    """Classify a logfile= log a chunk at a time; only non-debug lines reach Python.

    *parallel*: share the blocks with a forked worker (:mod:`swandoc.logparse.parallel`), for big
    files; the result is the same. *fd*: the file *stream* reads, when the worker can read its blocks
    there itself (a plain file); else (a decompressed stream) this process reads every block and hands
    the worker its blocks' bytes.
    """
    counts = {"n": 0, "ok": 0, "other_pluto": 0, "other": 0, "empty": 0}
    unparsed_before = summary.unparsed
    # Both cores: smaller blocks, so that neither process waits long for the other's last one.
    reader = _BlockReader(stream, min(CHUNK, PARALLEL_BLOCK) if parallel else CHUNK)
    memo: dict[bytes, tuple | None] = {}  # see _MEMO_MAX
    try:
        if parallel:
            from .parallel import FeedOps, feed_parallel
            ops = FeedOps(_scan_chunk, apply_events, _note_long_line, _scan_blocks, reader.chunk, UNPARSED_SAMPLES, CHUNK)
            feed_parallel(ops, summary, reader, facts, counts, memo, fd=fd)
        else:
            _scan_blocks(summary, reader, facts, counts, memo)
    finally:
        carry = reader.tail()
        if carry is not None:  # the last line, without a newline (or cut off by a broken stream)
            found: list = []
            _scan_chunk(summary, carry, found, counts, memo, len(carry))
            apply_events(found, summary, facts)
        unparsed = summary.unparsed - unparsed_before
        debug = counts["n"] - counts["ok"] - counts["other_pluto"] - counts["other"] - counts["empty"] - unparsed
        summary.lines += counts["n"]
        summary.debug_lines += debug
        summary.pluto_lines += counts["ok"] + counts["other_pluto"] + debug
        summary.other_lines += counts["other"]
        if summary.kind == "unknown":
            summary.kind = env.LOGFILE


def _scan_blocks(summary: SourceSummary, blocks: Iterable[tuple], facts: Facts, counts: dict[str, int],
                 memo: dict) -> None:
    """The sequential path: every block of the block reader scanned, its events folded into *facts*."""
    for buf, cut in blocks:
        if buf is None:
            _note_long_line(summary, counts, cut)
        else:
            found: list = []
            _scan_chunk(summary, buf, found, counts, memo, cut)
            apply_events(found, summary, facts)


def apply_events(found: list, summary: SourceSummary, facts: Facts, base: int = 0) -> None:
    """Fold the events _scan_chunk found, ``(line, text, time, kind, rest)`` each (*rest*: the fields of
    LogEvent after its time), into *facts* in order; *base* is added to their line numbers (a block
    scanned apart, see logparse/parallel.py). What _add_fields does for one event, inline for a block
    (Facts.add_fields makes a LogEvent only where a signal keeps it)."""
    name, host, add = summary.name, summary.host, facts.add_fields
    for line, text, time, kind, rest in found:
        if kind == "banner" and rest[-1]:
            summary.version = rest[-1]
        add(kind, name, line + base, text, time, rest, host)
    summary.events += len(found)


def _note_long_line(summary: SourceSummary, counts: dict[str, int], head: bytes) -> None:
    """One line longer than pluto ever writes (the block reader's ``(None, head)``): counted and sampled."""
    counts["n"] += 1
    _note_unparsed(summary, counts["n"], "line longer than 64 KiB: " + head.decode("utf-8", "replace"))


class _BlockReader:
    """Blocks of whole lines: yields ``(buf, cut)``, the lines being buf[1:cut], or ``(None, head)``
    for a line longer than MAX_LINE (its first 200 bytes).

    Each buffer starts with the newline that ended the line before it (a virtual one before the
    first line), so the candidate regex's leading "\\n" finds the first line too and a block is
    scanned in place (finditer with an end position), not copied. The buffer is one bytearray
    read into again for every block (a new buffer per block, made by joining the last block's
    partial line to what was read, costs more than reading the file): a block is valid only until
    the next one is asked for, and only up to its cut.
    """

    def __init__(self, stream: BinaryIO, chunk: int = 0) -> None:
        # readinto1: what the stream has now (a truncated .gz still yields what could be decompressed)
        self.readinto = getattr(stream, "readinto1", None) or stream.readinto
        self.chunk = chunk or CHUNK
        self.stream = stream  # for skip(): the stream, if it can seek
        self.buffer = bytearray()
        self.carry = b"\n"
        self.real_carry = False  # whether carry is the file's bytes just before `consumed` (not the virtual newline)
        self.skipping_long = False
        self.consumed = 0  # bytes read from the stream so far
        self.offset = -1  # where in the stream the last yielded buf starts (-1: the virtual newline)

    def __iter__(self) -> Iterator[tuple]:
        while True:
            held = len(self.carry)
            need = held + self.chunk
            if len(self.buffer) < need:
                self.buffer = bytearray(need)
            buf = self.buffer
            with memoryview(buf) as view:
                view[:held] = self.carry
                got = self.readinto(view[held:need])
            if not got:
                return
            size = held + got  # buf[:size] is valid
            start = self.consumed - held  # stream offset of buf[0]
            self.consumed += got
            if self.skipping_long:  # the rest of an over-long line: up to its newline, if it came
                first = buf.find(b"\n", 1, size)
                if first == -1:
                    self.carry = b"\n"
                    continue
                buf, size, self.skipping_long = bytes(buf[first:size]), size - first, False
                start += first
            cut = buf.rfind(b"\n", 0, size)
            if cut == 0:  # no newline since the line began
                self.carry, self.real_carry = bytes(buf[:size]), False
                if size > MAX_LINE + 1:
                    self.skipping_long, self.carry = True, b"\n"
                    yield None, bytes(buf[1:201])
                continue
            self.carry, self.real_carry = bytes(buf[cut:size]), True
            self.offset = start
            yield buf, cut

    def skip(self, fd: int) -> tuple[int, int, bytes] | None:
        """Step over the next block without reading it, for a reader of the file *fd* (the parallel
        worker): its place ``(offset, size, last 16 bytes)``, the block being the file's bytes
        [offset, offset+size) like a yielded buf[:cut]. None (nothing skipped) when it must be read
        here: at a line too long to find the block's end in the last MAX_LINE bytes, near the end of
        the file, or when the stream is not where this reader thinks it is.
        """
        if self.stream is None or self.skipping_long or not self.real_carry:
            return None
        limit = self.consumed + self.chunk  # where a read would stop
        window = min(MAX_LINE + 1, self.chunk)  # the block's last line ends in here
        try:
            if self.stream.tell() != self.consumed or os.fstat(fd).st_size <= limit + window:
                return None
            tail = os.pread(fd, window, limit - window)
        except (OSError, ValueError, io.UnsupportedOperation):
            return None
        cut = tail.rfind(b"\n")
        if len(tail) != window or cut < 16:
            return None
        start = self.consumed - len(self.carry)  # the file offset of the block's leading newline
        end = limit - window + cut  # and of the newline after its last line
        self.stream.seek(limit)
        self.carry, self.consumed, self.offset = tail[cut:], limit, start
        return start, end - start, tail[cut - 16:cut]

    def tail(self) -> bytes | None:
        """What is left after the last newline (the last line without one), if anything."""
        return self.carry if len(self.carry) > 1 and not self.skipping_long else None


def _scan_chunk(summary: SourceSummary, block: bytes, found: list, counts: dict[str, int],
                memo: dict | None = None, end: int | None = None) -> None:
    """Scan the lines of block[1:end] (block[0] is the newline before them, see feed_logfile_chunks);
    append each event to *found* as ``(line, text, time, kind, rest)`` (:func:`apply_events` folds them).

    >>> found, counts = [], {"n": 0, "ok": 0, "other_pluto": 0, "other": 0, "empty": 0}
    >>> _scan_chunk(SourceSummary(name="x", kind="unknown"), b"\\nNov 26 21:41:54.694169: | debug"
    ...             b"\\nNov 26 21:41:54.694170: \\"west\\" #1: sent IKE_SA_INIT request to 192.0.2.2:500", found, counts)
    >>> [(line, kind, rest[0]) for line, _, _, kind, rest in found], counts["n"]
    ([(2, 'sent', 'west')], 2)
    """
    name = summary.name
    base = counts["n"]  # lines before this block
    if memo is None:
        memo = {}
    if end is None:
        end = len(block)
    if summary.first_time is None and _TS_LINE.match(block, 1, end):
        summary.first_time = block[1:23].decode("ascii")
    last_nl = block.rfind(b"\n", 0, end)
    if _TS_LINE.match(block, last_nl + 1, end):
        summary.last_time = block[last_nl + 1:last_nl + 23].decode("ascii")
    # Line numbers are counted only for the lines that need one (events, unparsed lines): up to there
    # from the last counted position.
    pos, line = 0, base
    ok = 0
    append, recall = found.append, memo.get
    for m in _CANDIDATES.finditer(block, 0, end):
        message = m[3]  # (the groups one at a time: most lines need only this one)
        if message is not None:
            ok += 1
            known = recall(message, _UNSEEN)
            if known is None:
                continue
            start = m.start() + 1
            line += block.count(b"\n", pos, start)
            pos = start
            stamp = m[1]
            if known is _UNSEEN:
                if len(message) + 24 > MAX_LINE:
                    _note_unparsed(summary, line, "line longer than 64 KiB: "
                                   + (stamp + message)[:200].decode("utf-8", "replace"))
                    ok -= 1
                    continue
                body = message.decode("utf-8", "replace").rstrip("\r")
                fields = message_fields(body)
                known = None if fields is None else (body, fields[0], fields[1:])
                if message and len(message) <= _MEMO_LONGEST:  # (an empty message must never match the empty group of other lines)
                    if len(memo) >= _MEMO_MAX:
                        memo.clear()
                    memo[message] = known
                if known is None:
                    continue
            stamp = stamp.decode("ascii")  # (the timestamp's pattern matches ASCII only)
            append((line, stamp + known[0], stamp[:22], known[1], known[2]))
            continue
        stamp, kept, _, other = m.groups()
        if kept is not None:  # a debug line that matters (counted with the debug lines)
            line += block.count(b"\n", pos, m.start() + 1)
            pos = m.start() + 1
            if _DEBUG_NAT.search(kept, 0, MAX_LINE):
                text = (stamp + kept[:MAX_LINE]).decode("utf-8", errors="replace").rstrip("\r")
                fields = message_fields(text[24:])
                if fields is not None:
                    append((line, text, text[:22], fields[0], fields[1:]))
            continue
        raw = other
        if not raw.strip():
            counts["empty"] += 1
            continue
        line += block.count(b"\n", pos, m.start() + 1)
        pos = m.start() + 1
        text = raw[:MAX_LINE].decode("utf-8", errors="replace").rstrip("\r")
        if len(raw) > MAX_LINE:
            _note_unparsed(summary, line, "line longer than 64 KiB: " + text[:200])
            continue
        envelope = env.strip_envelope(text)
        if envelope is None:
            if env.is_other_program(text):
                counts["other"] += 1
            else:
                _note_unparsed(summary, line, text)
            continue
        counts["other_pluto"] += 1
        fields = message_fields(envelope.body)
        if fields is not None:
            append((line, text, envelope.time, fields[0], fields[1:]))
    counts["ok"] += ok
    # One pass counts newlines: up to each line that needed its number in the loop, and the rest here.
    counts["n"] = line + block.count(b"\n", pos, end)


_UNSEEN = object()


def _fileno(stream: BinaryIO) -> int | None:
    try:
        return stream.fileno()
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None


def _is_big_file(raw: BinaryIO, compressed: bool = False) -> bool:
    """A regular file big enough that a second core pays for itself (see logparse/parallel.py); a
    *compressed* one by its compressed size."""
    from .parallel import PARALLEL_MIN, PARALLEL_MIN_COMPRESSED

    try:
        info = os.fstat(raw.fileno())
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return False
    return stat.S_ISREG(info.st_mode) and info.st_size > (PARALLEL_MIN_COMPRESSED if compressed else PARALLEL_MIN)


def _sniff_text_kind(head: bytes) -> str:
    if not head:
        return "text"
    first = head.lstrip()[:1]
    if first == b"{":
        return "journal-json"
    first_line = head.split(b"\n", 1)[0]
    if first_line.startswith(b"__CURSOR=") or first_line.startswith(b"__REALTIME_TIMESTAMP="):
        return "journal-export"
    sample = head[:4096]
    # A stray NUL (a crash mid-write, a damaged disk) leaves a log a log; many of them make it binary.
    if sample.count(b"\x00") > len(sample) // 64:
        return "binary"
    # Mostly non-printable bytes that are not valid UTF-8 either: garbage, not a log.
    try:
        sample.decode("utf-8")
        return "text"
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 4:  # a multi-byte character cut by the sample window
            return "text"
    printable = sum(1 for b in sample if 32 <= b < 127 or b in (9, 10, 13))
    return "text" if printable / len(sample) > 0.85 else "binary"


def _lines(stream: BinaryIO, summary: SourceSummary) -> Iterator[bytes]:
    """Lines of at most MAX_LINE bytes; longer ones are yielded truncated and flagged."""
    readline = stream.readline
    while True:
        line = readline(MAX_LINE)
        if not line:
            return
        if len(line) == MAX_LINE and not line.endswith(b"\n"):
            # Swallow the rest of the over-long line, then hand back a marker the caller counts.
            while True:
                rest = readline(MAX_LINE)
                if not rest or rest.endswith(b"\n"):
                    break
            yield b"\x00" + line[:200]
            continue
        yield line


def _note_unparsed(summary: SourceSummary, lineno: int, text: str) -> None:
    summary.unparsed += 1
    if len(summary.unparsed_samples) < UNPARSED_SAMPLES:
        summary.unparsed_samples.append(EvidenceLine(summary.name, lineno, text[:200]))


def feed_text_lines(summary: SourceSummary, lines: Iterable[bytes], facts: Facts) -> None:
    """The hot loop: classify every line of a text log, parse the few that matter.

    Debug lines ('| ...') are the bulk of a plutodebug=all log; they are recognised with a
    bytes search before any decoding and only the NAT detection result among them is parsed.
    """
    name = summary.name
    kinds: dict[str, int] = {}
    n = 0
    pluto = debug = other = 0
    first_time = last_time = None
    syslog = env.PLUTO_SYSLOG.match  # the commonest envelope, tried before all the others (envelope.py)
    # What each message says, as in the logfile fast path (_MEMO_MAX): None, or its event's kind and fields
    # after its time. Exact: message_fields reads the message alone.
    memo: dict[str, tuple | None] = {}
    # try/finally: a stream that breaks mid-way (truncated .gz) still reports what was read.
    try:
        for raw in lines:
            n += 1
            # Debug lines are "| ..." and, from pluto's helper threads, "|] ..." (4.x) or "] ..." (5.x).
            marker = raw.find(b": |", 0, 120)
            if marker == -1 and (raw.startswith(b"|") or raw.startswith(b"] ")):
                marker = 0
            if marker != -1:
                debug += 1
                if b"NAT-Traversal: Result" in raw or b"NAT_TRAVERSAL_NAT_BHND" in raw or b"Probe Test" in raw:
                    _feed_one(raw, n, name, summary, facts, kinds)
                continue
            if raw.startswith(b"\x00"):
                _note_unparsed(summary, n, "line longer than 64 KiB: " + raw[1:].decode("utf-8", "replace"))
                continue
            text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if not text.strip():
                continue
            m = syslog(text)
            if m is not None:
                kind = env.SYSLOG
                time, body = m.groups()
            else:
                envelope = env.strip_envelope(text)
                if envelope is None:
                    if env.is_other_program(text):
                        other += 1
                    else:
                        _note_unparsed(summary, n, text)
                    continue
                kind, time, body = envelope.kind, envelope.time, envelope.body
            pluto += 1
            kinds[kind] = kinds.get(kind, 0) + 1
            if time:
                first_time = first_time or time
                last_time = time
            known = memo.get(body, _UNSEEN)
            if known is _UNSEEN:
                fields = message_fields(body)
                known = None if fields is None else (fields[0], fields[1:])
                if len(body) <= _MEMO_LONGEST:
                    if len(memo) >= _MEMO_MAX:
                        memo.clear()
                    memo[body] = known
            if known is not None:
                _add_fields(summary, facts, known[0], n, text, time, known[1])
    finally:
        summary.lines += n
        summary.pluto_lines += pluto + debug
        summary.debug_lines += debug
        summary.other_lines += other
        summary.first_time = summary.first_time or first_time
        summary.last_time = last_time or summary.last_time
        if summary.kind == "unknown":
            summary.kind = _text_kind(kinds, debug)


def _feed_one(raw: bytes, n: int, name: str, summary: SourceSummary, facts: Facts, kinds: dict[str, int]) -> None:
    text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
    envelope = env.strip_envelope(text)
    if envelope is None:
        return
    event = parse_message(envelope.body, source=name, line=n, text=text, time=envelope.time)
    if event is not None:
        _add_event(event, summary, facts)


def _add_event(event, summary: SourceSummary, facts: Facts) -> None:
    _add_fields(summary, facts, event.kind, event.line, event.text, event.time, event[5:], event)


def _add_fields(summary: SourceSummary, facts: Facts, kind: str, line: int, text: str, time: str | None,
                rest: tuple, event=None) -> None:
    """Fold the event ``LogEvent(kind, summary.name, line, text, time, *rest)`` (*event*, when made) in;
    a banner gives the summary its version. (apply_events does the same a block at a time.)"""
    summary.events += 1
    if kind == "banner" and rest[-1]:
        summary.version = rest[-1]
    facts.add_fields(kind, summary.name, line, text, time, rest, summary.host, event)


def _text_kind(kinds: dict[str, int], debug: int) -> str:
    if not kinds:
        return env.LOGFILE if debug else "text"
    best = max(kinds, key=kinds.get)
    if best == env.BARE and kinds.get(env.WHACK):
        return env.WHACK
    return best


def _feed_records(summary: SourceSummary, records: Iterable, facts: Facts) -> None:
    """Journal records: keep pluto's messages, count the rest."""
    name = summary.name
    n = 0
    for record in records:
        n += 1
        if record is None:
            _note_unparsed(summary, n, "record that is not valid journal data")
            continue
        time, ident, message = record
        message = env.from_program(ident, message)  # pluto's own, or relayed by NetworkManager
        if message is None:
            summary.other_lines += 1
            continue
        summary.pluto_lines += 1
        summary.first_time = summary.first_time or time
        summary.last_time = time or summary.last_time
        if message.startswith("|"):
            summary.debug_lines += 1
        text = message if len(message) < 2000 else message[:2000]
        event = parse_message(message, source=name, line=n, text=text, time=time)
        if event is not None:
            _add_event(event, summary, facts)
    summary.lines += n
