#!/usr/bin/env python3
"""Speed and memory of ``swandoc analyze`` on a huge plutodebug=all log, next to ``grep -cE``.

    /work/main/.venv/bin/python benchmarks/bench_analyze.py                 # 1,000,000 lines
    /work/main/.venv/bin/python benchmarks/bench_analyze.py --lines 1000000 --lines 10000000

The log is made by replaying real pluto output recorded by the lab (fixtures/lab/*/, mostly
the plutodebug=all run in healthy-debug/) over and over, each replay with its own connection
name, serial numbers (#N), addresses (documentation ranges) and timestamps, in pluto's logfile
line format (``Nov 26 21:32:59.075184: | ...``). Files go to benchmarks/data/ (gitignored) and
are reused on later runs unless --regenerate.

Each tool runs --reps times (interleaved, page cache warmed first); the table shows the median
wall time and the largest max RSS (``os.wait4`` rusage ``ru_maxrss``). Targets: swandoc within
4x grep's time, and under 100 MB max RSS, at 1M and 10M lines.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / "data"
FIXTURES = ROOT / "fixtures" / "lab"
PYTHON = ROOT / ".venv" / "bin" / "python"
GREP_PATTERN = ("retransmi|NO_PROPOSAL_CHOSEN|AUTHENTICATION_FAILED|TS_UNACCEPTABLE|"
                "asynchronous network error|established|netlink response|Hash Payload")
TARGET_RATIO = 4.0
TARGET_RSS_MB = 100.0

# Every timestamped logfile line: "Nov 26 21:32:59.075184: <body>" (day is space-padded).
STAMP = re.compile(r"^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d\.\d{6}: ")
SERIAL = re.compile(r"#(\d+)")
# The lab's two ends; replays give every session other documentation addresses.
LAB_WEST, LAB_EAST = "192.0.2.1", "192.0.2.2"
IP_WEST = re.compile(r"(?<![\d.])192\.0\.2\.1(?![\d])")
IP_EAST = re.compile(r"(?<![\d.])192\.0\.2\.2(?![\d])")
CONN = re.compile(r"\"lab\"|'lab'")


@dataclass(frozen=True)
class Template:
    """One recorded log, its body turned into format strings with {c} {w} {e} {sN} fields."""

    name: str
    weight: int
    lines: tuple[str, ...]
    serials: tuple[int, ...]


def _compile_body(body: list[str]) -> tuple[tuple[str, ...], tuple[int, ...]]:
    serials: set[int] = set()
    out = []
    for text in body:
        text = text.replace("{", "{{").replace("}", "}}")
        text = CONN.sub(lambda m: m.group()[0] + "{c}" + m.group()[0], text)
        text = IP_WEST.sub("{w}", text)
        text = IP_EAST.sub("{e}", text)

        def serial(m: re.Match) -> str:
            serials.add(int(m.group(1)))
            return "#{s%s}" % m.group(1)
        out.append(SERIAL.sub(serial, text))
    return tuple(out), tuple(sorted(serials))


def _bodies(path: Path) -> tuple[list[str], list[str]]:
    """(startup lines, connection lines): the part before the connection is loaded is printed once."""
    header, body = [], []
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        m = STAMP.match(raw)
        if not m:
            continue  # a continuation without a timestamp; pluto's logfile has none
        text = raw[m.end():]
        (body if body or '"lab"' in text else header).append(text)
    return header, body


def load_templates() -> tuple[list[str], list[Template]]:
    """Debug replays carry the bulk; the failure scenarios add the lines the rules look for."""
    debug_dir = FIXTURES / "healthy-debug"
    logs = sorted(debug_dir.glob("*.log"))
    if not logs:
        sys.exit(f"bench: no recorded plutodebug=all logs in {debug_dir}; run the lab first "
                 "(swandoc lab run healthy-debug) or check out fixtures/")
    header: list[str] = []
    templates: list[Template] = []
    for log in logs:
        head, body = _bodies(log)
        header = header or head
        lines, serials = _compile_body(body)
        templates.append(Template(f"{log.parent.name}/{log.name}", 20, lines, serials))
    for log in sorted(FIXTURES.glob("*/*.log")):
        if log.parent == debug_dir:
            continue
        _, body = _bodies(log)
        if body:
            lines, serials = _compile_body(body)
            templates.append(Template(f"{log.parent.name}/{log.name}", 1, lines, serials))
    return header, templates


MONTH = "Nov"


def generate(path: Path, n_lines: int) -> None:
    header, templates = load_templates()
    schedule = [t for t in templates for _ in range(t.weight)]
    tmp = path.with_suffix(".part")
    written = 0
    usec = 0  # time since Nov 1 00:00:00, advanced ~1 ms a line so 10M lines stay within the month
    serial_base = 0
    session = 0
    chunk: list[str] = []

    def stamp() -> str:
        day, rest = divmod(usec, 86_400_000_000)
        secs, us = divmod(rest, 1_000_000)
        h, secs = divmod(secs, 3600)
        m, s = divmod(secs, 60)
        return f"{MONTH} {day + 1:>2} {h:02}:{m:02}:{s:02}.{us:06}: "

    with open(tmp, "w", encoding="utf-8") as out:
        for text in header:
            if written >= n_lines:
                break
            chunk.append(stamp() + text + "\n")
            usec += 7
            written += 1
        while written < n_lines:
            t = schedule[session % len(schedule)]
            k = session
            values = {
                "c": f"site{k % 1999:04d}-to-hq" if k % 3 else f"roadwarrior-{k % 251}",
                "w": f"192.0.2.{k % 250 + 1}",
                "e": f"{('198.51.100', '203.0.113')[k % 2]}.{(k * 7) % 250 + 1}",
            }
            for s in t.serials:
                values[f"s{s}"] = serial_base + s
            serial_base += (max(t.serials) if t.serials else 0) + 1
            session += 1
            for fmt in t.lines:
                if written >= n_lines:
                    break
                chunk.append(stamp() + fmt.format_map(values) + "\n")
                usec += 997
                written += 1
                if len(chunk) >= 20_000:
                    out.writelines(chunk)
                    chunk.clear()
            usec += 1_500_000  # a pause between negotiations
        out.writelines(chunk)
    tmp.rename(path)


@dataclass
class Run:
    seconds: float
    max_rss_kib: int
    status: int
    stdout: str
    stderr: str


def run(argv: list[str]) -> Run:
    out_path = DATA / ".stdout"
    err_path = DATA / ".stderr"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4; tell Popen
    return Run(elapsed, usage.ru_maxrss, proc.returncode,
               out_path.read_text(errors="replace"), err_path.read_text(errors="replace"))


def warm(path: Path) -> None:
    with open(path, "rb") as fh:
        while fh.read(1 << 22):
            pass


@dataclass
class Row:
    lines: int
    size: int
    swandoc_s: float
    grep_s: float
    swandoc_rss_kib: int
    grep_rss_kib: int
    grep_count: str
    verdict: str


def measure(path: Path, n_lines: int, reps: int) -> Row:
    warm(path)
    swandoc_argv = [str(PYTHON), "-m", "swandoc", "analyze", str(path), "--format", "json", "-o", "/dev/null"]
    grep_argv = ["grep", "-cE", GREP_PATTERN, str(path)]
    sw, gr = [], []
    for _ in range(reps):
        gr.append(run(grep_argv))
        sw.append(run(swandoc_argv))
    failed = [r for r in sw if r.status not in (0, 1)]
    if failed:
        sys.exit(f"bench: swandoc analyze failed (exit {failed[0].status}):\n{failed[0].stderr[-3000:]}")
    verdict = {0: "exit 0", 1: "exit 1 (problems)"}[sw[0].status]
    return Row(n_lines, path.stat().st_size, statistics.median(r.seconds for r in sw),
               statistics.median(r.seconds for r in gr), max(r.max_rss_kib for r in sw),
               max(r.max_rss_kib for r in gr), gr[0].stdout.strip(), verdict)


def print_table(rows: list[Row], reps: int) -> None:
    print(f"\nswandoc analyze --format json vs grep -cE (median of {reps}; max RSS = largest ru_maxrss)")
    head = (f"{'lines':>11}  {'size':>9}  {'swandoc s':>9}  {'grep s':>7}  {'ratio':>6}  "
            f"{'swandoc RSS':>11}  {'grep RSS':>8}  {'grep hits':>9}  targets")
    print(head)
    print("-" * len(head))
    for r in rows:
        ratio = r.swandoc_s / r.grep_s if r.grep_s else float("inf")
        rss_mb = r.swandoc_rss_kib / 1024
        ok = []
        ok.append(f"ratio {'ok' if ratio <= TARGET_RATIO else 'MISSED'} (<= {TARGET_RATIO:g}x)")
        ok.append(f"RSS {'ok' if rss_mb < TARGET_RSS_MB else 'MISSED'} (< {TARGET_RSS_MB:g} MB)")
        print(f"{r.lines:>11,}  {r.size / 1e6:>7.1f}MB  {r.swandoc_s:>9.2f}  {r.grep_s:>7.2f}  {ratio:>5.1f}x  "
              f"{rss_mb:>8.1f} MB  {r.grep_rss_kib / 1024:>5.1f} MB  {r.grep_count:>9}  {', '.join(ok)}")
    print(f"swandoc verdicts: {', '.join(r.verdict for r in rows)}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, action="append",
                    help="log size in lines; repeat for several sizes (default 1,000,000)")
    ap.add_argument("--reps", type=int, default=3, help="runs of each tool per size (median shown)")
    ap.add_argument("--regenerate", action="store_true", help="rebuild the logs even if they exist")
    ap.add_argument("--generate-only", action="store_true", help="write the logs and stop")
    args = ap.parse_args(argv)
    sizes = args.lines or [1_000_000]
    DATA.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in sizes:
        path = DATA / f"plutodebug-{n}.log"
        if args.regenerate or not path.exists():
            t0 = time.perf_counter()
            generate(path, n)
            print(f"generated {path} ({n:,} lines, {path.stat().st_size / 1e6:.1f} MB) "
                  f"in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
        if not args.generate_only:
            rows.append(measure(path, n, args.reps))
    if rows:
        print_table(rows, args.reps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
