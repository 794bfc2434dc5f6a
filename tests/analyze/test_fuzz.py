"""``swandoc analyze`` on what others send: seeded fuzzing of logs, captures and bundles (issue 10).

Inputs come from real material (lab logs and captures, public logs, journal exports, a bundle made by the
real bundle writer), mutated by ``tests/support/fuzzkit.py``. Every input must get exit 0/1/2/4, no
traceback, one line on stderr for an error, nothing written outside its temporary directory; the
subprocess runs also bound max RSS and time. Most cases run through click's CliRunner (an interpreter
per case would cost ~0.5 s each); a sample and the known worst cases run as ``python -m swandoc``.

Bounded in time for the suite (well under a minute of CPU); ``SWANDOC_FUZZ_SCALE=10`` multiplies the
counts, and ``benchmarks/fuzz_analyze.py`` is the big run (1M lines, hundreds of captures and bundles).
"""
from __future__ import annotations

import gzip
import io
import json
import os
import random
import struct
import tarfile
from pathlib import Path

import pytest

import fuzzkit
import fuzzrun

SCALE = int(os.environ.get("SWANDOC_FUZZ_SCALE", "1"))
RSS_LIMIT_KB = 300 * 1024
SECONDS = 60.0


def _assert_all_pass(outcomes: list[fuzzrun.Outcome]) -> None:
    failed = [f"{o.name}: {'; '.join(o.problems)} | {o.stderr.strip()[-300:]}" for o in outcomes if o.failed]
    assert not failed, f"{len(failed)} of {len(outcomes)} inputs failed:\n" + "\n".join(failed[:20])


def test_fuzzed_inputs_in_process(tmp_path):
    rng = random.Random(20261130)
    work = tmp_path / "work"
    work.mkdir()
    outcomes = []
    for name, path in fuzzkit.cases(rng, tmp_path / "in", logs=40 * SCALE, lines_per_log=500, captures=60 * SCALE,
                                    bundles=40 * SCALE, folders=4, many_packets=0):
        outcomes.append(fuzzrun.run_inprocess(name, path, work, fmt=("json", "text", "html")[len(outcomes) % 3],
                                              max_seconds=SECONDS))
    assert len(outcomes) == (40 + 60 + 40) * SCALE + 4
    _assert_all_pass(outcomes)
    statuses = {o.status for o in outcomes}
    assert 2 in statuses and statuses & {0, 1, 4}, statuses  # the fuzz reaches both readers and refusals


def test_fuzzed_sample_through_the_real_command(tmp_path):
    """A few of each kind as real processes: exit status, stderr, nothing written, own peak RSS."""
    rng = random.Random(7)
    outcomes = []
    for index, (name, path) in enumerate(fuzzkit.cases(rng, tmp_path / "in", logs=2, lines_per_log=3000, captures=2,
                                                       bundles=3, folders=1, many_packets=0)):
        work = tmp_path / f"work-{index}"
        work.mkdir()
        outcomes.append(fuzzrun.run_subprocess(name, path, work, max_seconds=SECONDS, max_rss_kb=RSS_LIMIT_KB))
    _assert_all_pass(outcomes)
    assert all(0 < o.max_rss_kb < RSS_LIMIT_KB for o in outcomes)


# --- the failures issue 10 found, each made on purpose --------------------------------------------

_LINE = b'Nov 26 21:30:22.075184: "west" #1: initiating IKEv2 connection\n'
_RETRANSMIT = b'Nov 26 21:30:22.575184: "west" #1: STATE_V2_PARENT_I1: retransmission; will wait 0.5 seconds for response\n'


def _tar(members: dict[str, bytes], mode: str = "w:gz") -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode=mode, format=tarfile.GNU_FORMAT) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def _manifest(items: list[dict], **top) -> bytes:
    return json.dumps({"host": "west", "created": "2026-11-30T00:00:00Z", "options": {"conn": None},
                       "items": items, "missing": [], **top}).encode()


_ITEM = {"name": "pluto_log", "path": "logs/pluto.log", "origin": "/var/log/pluto.log", "status": None,
         "duration": 0.1, "redactions": {}, "meta": {}}


def _pcapng_with_time(high: int) -> bytes:
    """A real lab capture, re-written as pcapng with each packet stamped *high* << 32 microseconds."""
    data = (fuzzkit.FIXTURES / "pcap" / "lab-healthy.pcapng").read_bytes()
    _, blocks = fuzzkit._records(data)
    buf = bytearray(data)
    for off, _ in blocks:
        if struct.unpack("<I", data[off:off + 4])[0] == 6:
            buf[off + 12:off + 16] = struct.pack("<I", high)
    return bytes(buf)


def _many_entries(count: int) -> bytes:
    return _tar({"b/manifest.json": _manifest([_ITEM] * count), "b/logs/pluto.log": _LINE})


CASES = {
    # (input bytes, exit statuses it may get)
    "serial-5000-digits": (lambda: _LINE.replace(b"#1", b"#" + b"7" * 5000) + _RETRANSMIT.replace(b"#1", b"#" + b"7" * 5000),
                           {0, 1, 4}),
    "journal-json-1200-deep": (lambda: fuzzkit.deep_json(1200) + b"\n" + fuzzkit.deep_json(100_000) + b"\n"
                               + (fuzzkit.FIXTURES / "journal" / "pluto.json").read_bytes(), {0, 1, 4}),
    "manifest-1200-deep": (lambda: _tar({"b/manifest.json": b'{"items": ' + b"[" * 1200 + b"]" * 1200 + b"}",
                                         "b/logs/pluto.log": _LINE}), {2}),
    "manifest-meta-deep": (lambda: _tar({"b/manifest.json": _manifest([dict(_ITEM, meta={"x": [[[[[]]]]]})]),
                                         "b/logs/pluto.log": _LINE}), {2}),
    "pcapng-time-out-of-range": (lambda: _pcapng_with_time(0xFFFFFFFF), {0, 1, 4}),
    "gzip-corrupt-deflate": (lambda: (lambda z: z[:40] + bytes(b ^ 0x55 for b in z[40:80]) + z[80:])(
        gzip.compress((fuzzkit.FIXTURES / "lab" / "healthy" / "west.log").read_bytes())), {0, 1, 2, 4}),
    "manifest-6MB": (lambda: _tar({"b/manifest.json": _manifest([_ITEM], host="h" * (6 << 20)),
                                   "b/logs/pluto.log": _LINE}), {2}),
    "member-claims-600MB": (lambda: fuzzkit._raw_header(b"b/logs/pluto.log", 600 << 20, b"0")
                            + _tar({"b/manifest.json": _manifest([_ITEM])}, "w"), {2}),
    "long-name-claims-800MB": (lambda: fuzzkit._raw_header(b"././@LongLink", 800 << 20, b"L") + b"x" * 4096, {2}),
    "one-member-listed-1500-times": (lambda: _many_entries(1500), {0, 1, 4}),
    "one-member-listed-200000-times": (lambda: _many_entries(200_000), {2}),
    "log-with-stray-nuls": (lambda: (fuzzkit.FIXTURES / "lab" / "healthy" / "west.log").read_bytes()
                            .replace(b"\n", b"\x00\n", 5), {1}),  # still read as a log, not refused as binary
    "20000-tiny-packets": (lambda: fuzzkit.many_packets_capture(random.Random(1), 20_000), {0, 1, 4}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_known_hostile_input(tmp_path, case):
    make, statuses = CASES[case]
    (tmp_path / "in").mkdir()
    path = tmp_path / "in" / "input"
    path.write_bytes(make())
    work = tmp_path / "work"
    work.mkdir()
    outcome = fuzzrun.run_subprocess(case, path, work, max_seconds=20.0, max_rss_kb=RSS_LIMIT_KB, timeout=300)
    _assert_all_pass([outcome])
    assert outcome.status in statuses, (outcome.status, outcome.stderr)
