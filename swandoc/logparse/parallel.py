"""Both cores for one big logfile= log: a forked worker scans blocks while the parent does too.

The logfile fast path (:func:`swandoc.logparse.feed.feed_logfile_chunks`) reads a log in blocks of
whole lines. For a big uncompressed file, the parent process hands blocks to one forked worker —
only their place in the file: the worker reads them there itself — and scans a block itself only
while the worker holds IN_FLIGHT of them. A compressed file's blocks are decompressed by the parent
and handed over whole, through the pipe. Each block is scanned into a *block result* (its events
in order as tuples, its line counts, unparsed lines, first and last timestamp), with line numbers
counted from the block's start; the parent applies the results strictly in file order, moving each
block's line numbers to where the block starts. Nothing folded is merged: the facts are built by
the same calls, in the same order, as when one process scans every block, so the outcome is
exactly the sequential one. The parent also folds every event, so the worker, kept busy, ends up
scanning most blocks.

The worker is started before the first block, only when a core is idle (see _a_core_is_free): it
pays on every kind of log, a plutodebug=all one too, since the parent steps over the worker's blocks
without reading them. Memory stays bounded: at
most IN_FLIGHT blocks and results are in flight. Where ``fork`` is missing, or the worker cannot be
started or dies, or the file is not what the parent read, the parent scans the remaining blocks
itself (same results, one core).
"""
from __future__ import annotations

import dataclasses
import os
import pickle
import select
import struct
from collections import deque
from typing import Callable, Iterator, NamedTuple, Optional

from .. import forking
from ..model import SourceSummary

# Smaller files do not pay for the fork (the worker also compiles the patterns and learns the messages the
# parent does): at 2 MB the two ways take the same time, from 4 MB on the worker pays, whatever the share
# of debug lines (benchmarks/README.md, "Issue 14, fourth pass"). Tests lower it.
PARALLEL_MIN = 4 << 20
# A compressed log (a rotated pluto.log.1.gz) by its compressed size: gzip makes a pluto log 5-10x
# smaller, xz ~20x, so this is a log of 2.5-10 MiB. Its blocks are decompressed in this process and cross
# the pipe whole (the worker cannot read them itself); the worker still pays from ~4 MB of log, less
# than in a plain file (1M event-heavy lines in gzip: 1.06 -> 0.87 s), as decompressing stays here.
PARALLEL_MIN_COMPRESSED = 512 << 10
# block length, end (the scan stops there), where the block starts in the file (-1: the virtual newline
# before the first line; -2: the block follows in the pipe), the block's last 16 bytes
_HEADER = struct.Struct("<QQq16s")
IN_PIPE = -2
IN_FLIGHT = 4  # blocks the worker holds: one it scans and three waiting, so it never waits for the parent
TAIL_ZONE, TAIL_SPLIT = 2 * IN_FLIGHT, 4  # the last TAIL_ZONE blocks' worth is read in quarter blocks
_RESULT = struct.Struct("<Q")
RESULTS_PIPE = 1 << 20  # Linux's default /proc/sys/fs/pipe-max-size


class FeedOps(NamedTuple):
    """What this module uses of logparse/feed.py, handed in by it (feed imports this module)."""

    scan_chunk: Callable  # (summary, block, found, counts, memo, end): a block's events into the list found
    apply_events: Callable  # (found, summary, facts, base): fold them, line numbers moved by base
    note_long_line: Callable  # (summary, counts, head): an over-long line, counted and sampled
    scan_blocks: Callable  # (summary, blocks, facts, counts, memo): the sequential path
    chunk: int  # the block size feed reads
    samples: int  # unparsed lines kept as samples
    full_chunk: int = 0  # the block size of the sequential path (without a worker)


def scan_block(ops: FeedOps, name: str, block: bytes, end: int, base: int, memo: dict) -> tuple:
    """Scan block[1:end] into a block result, touching no shared state.

    Its line numbers count from the block's start (plus *base*): a block is scanned before the
    blocks ahead of it are counted, and apply_block moves them to their place in the file.
    """
    summary = SourceSummary(name=name, kind="unknown")
    found: list = []
    counts = {"n": base, "ok": 0, "other_pluto": 0, "other": 0, "empty": 0}
    ops.scan_chunk(summary, block, found, counts, memo, end)
    return (found, counts, summary.unparsed, summary.unparsed_samples, summary.first_time, summary.last_time)


def apply_block(ops: FeedOps, result: tuple, summary: SourceSummary, facts, counts: dict) -> None:
    """Fold one block result into *summary*/*facts* exactly as scanning it in place would have."""
    found, block_counts, unparsed, samples, first_time, last_time = result
    before = counts["n"]  # lines before this block: its line numbers start there
    if summary.first_time is None and first_time is not None:
        summary.first_time = first_time
    if last_time is not None:
        summary.last_time = last_time
    ops.apply_events(found, summary, facts, before)
    summary.unparsed += unparsed
    for sample in samples:
        if len(summary.unparsed_samples) >= ops.samples:
            break
        summary.unparsed_samples.append(dataclasses.replace(sample, line=sample.line + before))
    counts["n"] = before + block_counts["n"]
    for key in ("ok", "other_pluto", "other", "empty"):
        counts[key] += block_counts[key]


def _read_exact(fd: int, size: int) -> Optional[bytes]:
    parts, left = [], size
    while left:
        part = os.read(fd, min(left, 1 << 22))
        if not part:
            return None
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def _write_all(fd: int, data) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _worker(ops: FeedOps, name: str, requests: int, results: int, fd: Optional[int]) -> None:
    """The forked child: block in, block result out, until the parent closes the pipe.

    A block of a file it can read itself (*fd*) is read with pread, so only its place crosses the pipe.
    """
    memo: dict = {}
    buffer = bytearray()  # read into again for every block: a new one each time costs its page faults
    while True:
        header = _read_exact(requests, _HEADER.size)
        if header is None:
            return
        size, end, offset, last = _HEADER.unpack(header)
        if offset == IN_PIPE:
            block = _read_exact(requests, size)
        else:
            if len(buffer) < size:
                buffer = bytearray(size)
            block = buffer if _pread_into(fd, buffer, size, offset) else None
        if block is None or block[max(0, size - 16):size].ljust(16, b"\0") != last:
            return  # the pipe closed, or the file is not what the parent read: the parent scans the rest
        # Events travel as tuples (pickling a slotted dataclass costs ~10x more), made into events by the
        # parent where it folds them; the fields of a message seen again are one object, pickled once.
        payload = pickle.dumps(scan_block(ops, name, block, end, 0, memo), pickle.HIGHEST_PROTOCOL)
        _write_all(results, _RESULT.pack(len(payload)) + payload)


def _widen(fd: int) -> None:
    """Let a pipe hold up to RESULTS_PIPE bytes (Linux), so the worker can put down a block result or
    two and go on scanning while this process is busy, instead of waiting for it to read (a result of
    an event-heavy 1 MiB block is a few hundred KiB; a pipe holds 64 KiB)."""
    try:
        import fcntl

        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), RESULTS_PIPE)
    except (ImportError, OSError):
        pass  # a smaller pipe only costs time


def _pread_into(fd: Optional[int], buffer: bytearray, size: int, offset: int) -> bool:
    """Read the block of *size* bytes at *offset* (-1: the virtual newline, then the file's start) into
    buffer[:size]; False when the file no longer has it."""
    if fd is None:
        return False
    with memoryview(buffer) as view:
        if offset == -1:
            view[0:1], offset, start = b"\n", 0, 1
        else:
            start = 0
        while start < size:
            try:
                got = os.preadv(fd, [view[start:size]], offset) if hasattr(os, "preadv") else None
                if got is None:  # (no preadv: macOS before 11, say)
                    data = os.pread(fd, size - start, offset)
                    view[start:start + len(data)], got = data, len(data)
            except OSError:
                return False
            if not got:
                return False
            start, offset = start + got, offset + got
    return True


def _pread_block(fd: Optional[int], size: int, offset: int) -> Optional[bytearray]:
    """The block of *size* bytes at *offset* in a buffer of its own (a block the worker was to read)."""
    buffer = bytearray(size)
    return buffer if _pread_into(fd, buffer, size, offset) else None


class Worker:
    """One forked scanner. ``None`` from :meth:`start` means: scan everything in this process."""

    def __init__(self, pid: int, requests: int, results: int, fd: Optional[int] = None) -> None:
        self.pid, self.requests, self.results, self.fd = pid, requests, results, fd

    @classmethod
    def start(cls, ops: FeedOps, name: str, fd: Optional[int] = None) -> Optional["Worker"]:
        # fork copies only the calling thread: a lock another thread holds (an import, logging) would
        # stay held in the child forever. Only swandoc's own helper threads (the progress line on a
        # terminal), and only between two of their steps (see swandoc/forking.py).
        if not hasattr(os, "fork") or not forking.only_helpers_running():
            return None
        with forking.between_steps() as paused:
            if not paused:
                return None
            try:
                req_r, req_w = os.pipe()
                res_r, res_w = os.pipe()
                _widen(res_w)
                pid = os.fork()
            except OSError:
                return None
        if pid == 0:  # the child: never return into the caller's code
            status = 0
            try:
                os.close(req_w)
                os.close(res_r)
                _worker(ops, name, req_r, res_w, fd)
            except BaseException:
                status = 1
            finally:
                os._exit(status)
        os.close(req_r)
        os.close(res_w)
        return cls(pid, req_w, res_r, fd)

    def send(self, block: Optional[bytes], end: int, offset: int = IN_PIPE, size: int = 0, last: bytes = b"") -> bool:
        """Hand the worker a block: its place in the file when the worker can read it there, else its bytes.

        A block this process did not read (*block* None) is given by its place alone: *offset*, *size*
        and *last*, its last 16 bytes.
        """
        if block is not None:  # its lines are block[1:end]; what follows is not the block's
            size, last = end, bytes(block[max(0, end - 16):end])
            if self.fd is None:
                offset = IN_PIPE
        try:
            _write_all(self.requests, _HEADER.pack(size, end, offset, last))
            if offset == IN_PIPE:
                _write_all(self.requests, memoryview(block)[:end])
            return True
        except OSError:
            return False

    def ready(self) -> bool:
        """Whether a result can be read without waiting."""
        try:
            return bool(select.select([self.results], [], [], 0)[0])
        except (OSError, ValueError):
            return True  # receive() will find out what is wrong

    def receive(self) -> Optional[tuple]:
        try:
            header = _read_exact(self.results, _RESULT.size)
            payload = None if header is None else _read_exact(self.results, _RESULT.unpack(header)[0])
            if payload is None:
                return None
            return pickle.loads(payload)
        except Exception:  # a worker that died mid-write: the caller scans the block itself
            return None

    def close(self) -> None:
        for fd in (self.requests, self.results):
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            os.waitpid(self.pid, 0)
        except OSError:
            pass


class _Entry:
    """One item of the file, in order: a block (scanned here, or by the worker) or an over-long line."""

    __slots__ = ("buf", "end", "result", "long", "place")

    def __init__(self, buf: Optional[bytes], end: int, place: Optional[tuple] = None, long: Optional[bytes] = None):
        self.buf, self.end, self.place, self.long = buf, end, place, long
        self.result: Optional[tuple] = None  # the block result, line numbers from the block's start

    def block(self, fd: Optional[int]) -> bytes:
        """The block's bytes: as read, or (a block only the worker was to read) read now."""
        if self.buf is None:
            offset, size, _ = self.place
            self.buf = _pread_block(fd, size, offset) or b"\n"
        return self.buf


def feed_parallel(ops: FeedOps, summary: SourceSummary, blocks, facts, counts: dict, memo: dict,
                  fd: Optional[int] = None) -> None:
    """Scan the blocks of feed's block reader *blocks*, sharing them with a worker; apply in file order.

    *blocks* yields ``(buf, cut)`` for a block of whole lines, or ``(None, text)`` for a line too
    long to keep (counted and sampled as unparsed, in order like everything else); its ``offset`` is
    where the last buf starts in the file *fd*, and its ``skip`` steps over a block without reading
    it (the worker reads it there itself). The worker is kept busy: it gets the next block whenever
    it holds fewer than IN_FLIGHT, and this process reads and scans a block itself only while the
    worker is full, then folds whatever results are ready. So the share of each adapts to how fast
    each goes (this process also folds every event).
    """
    name = summary.name
    # Started before the first block, so that it shares the first one's costs too (each process compiles
    # the patterns the log needs as it meets them).
    worker = Worker.start(ops, name, fd) if _a_core_is_free() else None
    if worker is None:  # one core after all: the sequential way, in 4 MiB reads
        if hasattr(blocks, "chunk"):
            blocks.chunk = ops.full_chunk
        ops.scan_blocks(summary, blocks, facts, counts, memo)
        return
    ordered: deque = deque()  # entries in file order, applied from the left as their results come
    sent: deque = deque()  # the entries the worker holds, in the order it answers
    skip = getattr(blocks, "skip", None) if fd is not None else None
    # Near the end, smaller blocks: the worker's last blocks are all this process waits for at the end
    # (it holds IN_FLIGHT of them), and a smaller share of work evens out sooner.
    try:
        tail_from = os.fstat(fd).st_size - TAIL_ZONE * ops.chunk if fd is not None else None
    except OSError:
        tail_from = None

    def collect() -> None:  # the worker's oldest result (or, the worker gone, every block it held, here)
        nonlocal worker
        entry = sent.popleft()
        result = worker.receive() if worker is not None else None
        if result is None:  # the worker is gone: its blocks and the rest here
            if worker is not None:
                worker.close()
                worker = None
            result = scan_block(ops, name, entry.block(fd), entry.end, 0, memo)
        entry.result = result

    def drop_worker() -> None:
        nonlocal worker
        while sent:  # what it held comes back, or is scanned here
            collect()
        if worker is not None:
            worker.close()
            worker = None

    def flush() -> None:
        while ordered and (ordered[0].long is not None or ordered[0].result is not None):
            entry = ordered.popleft()
            if entry.long is not None:
                ops.note_long_line(summary, counts, entry.long)
            else:
                apply_block(ops, entry.result, summary, facts, counts)

    failure: Optional[BaseException] = None
    reading = iter(blocks)
    try:
        while True:
            while sent and worker is not None and worker.ready():
                collect()
            if tail_from is not None and getattr(blocks, "consumed", 0) >= tail_from:
                blocks.chunk, tail_from = max(ops.chunk // TAIL_SPLIT, 1), None
            # The worker has room: give it the next block without reading it here.
            place = skip(fd) if worker is not None and skip is not None and len(sent) < IN_FLIGHT else None
            if place is not None:
                offset, size, last = place
                entry = _Entry(None, size, place)
                ordered.append(entry)
                if worker.send(None, size, offset, size, last):
                    sent.append(entry)
                else:
                    drop_worker()
                    entry.result = scan_block(ops, name, entry.block(fd), size, 0, memo)
                flush()
                continue
            try:
                buf, cut = next(reading)
            except StopIteration:
                break
            except Exception as exc:  # a broken stream: apply what was read, then re-raise
                failure = exc
                break
            if buf is None:
                ordered.append(_Entry(None, 0, long=cut))
                flush()
                continue
            # (buf is the reader's buffer, read into again for the next block: an entry the worker holds
            # keeps the block's place in the file, or a copy, to scan it here should the worker fail)
            entry = _Entry(None, cut)
            ordered.append(entry)
            if worker is not None and len(sent) < IN_FLIGHT:
                offset = getattr(blocks, "offset", IN_PIPE)
                if worker.send(buf, cut, offset):
                    sent.append(entry)
                    if worker.fd is not None and offset != IN_PIPE:
                        entry.place = (offset, cut, None)
                    else:
                        entry.buf = bytes(buf[:cut])
                else:
                    drop_worker()
            if entry not in sent:  # not the worker's: scan it here
                entry.result = scan_block(ops, name, buf, cut, 0, memo)
                while sent and worker is not None and worker.ready():
                    collect()
            flush()
        while sent:
            collect()
        flush()
    finally:
        if worker is not None:
            worker.close()
    if failure is not None:
        raise failure


def _a_core_is_free() -> bool:
    """Whether a core this process may use is idle: on a busy machine a worker only takes CPU from
    the others and adds its own hand-over costs (benchmarks/README.md).

    Two views, either enough: the 1-minute load average (what the machine has been doing), and the
    number of tasks runnable right now (/proc/loadavg), this process among them. The load average
    alone lags: a minute after a burst of work (the last analysis, say) it still counts it.
    """
    try:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        if cores < 2:
            return False
        if cores - os.getloadavg()[0] >= 1.0:
            return True
        return cores - _runnable_now() >= 1
    except (AttributeError, OSError, ValueError):  # no load figures (not Unix): the worker cannot fork there either
        return False


def _runnable_now(path: str = "/proc/loadavg") -> int:
    """Tasks runnable at this moment, this one included (the 4th field of /proc/loadavg: 'running/total').

    >>> import tempfile; f = tempfile.NamedTemporaryFile("w", delete=False); _ = f.write("3.91 2.93 2.06 2/122 2406\\n"); f.close()
    >>> _runnable_now(f.name)
    2
    """
    with open(path, encoding="ascii") as fh:
        return int(fh.read().split()[3].split("/")[0])
