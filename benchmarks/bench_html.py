#!/usr/bin/env python3
"""The HTML report of a big input: its size, and how long Chromium takes to open it.

Builds an event-heavy pluto log from the lab's recorded runs (every failure scenario of
fixtures/lab and fixtures/lab5, the non-debug lines only, replayed under many connection names),
analyses it to one HTML page, and opens that page in headless Chromium, next to the HTML report of
one small lab run as the baseline measured in the same run.

    .venv/bin/python benchmarks/bench_html.py                 # 100,000 events
    .venv/bin/python benchmarks/bench_html.py --events 300000

Needs Debian's chromium (apt-get install chromium). Targets: the page under 2 MB and open (loaded
and laid out) in under 2 s. A benchmark, not a test: the figures depend on the machine.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = REPO / ".venv" / "bin" / "python"
DATA = REPO / "benchmarks" / "data"
TARGET_BYTES = 2_000_000
TARGET_SECONDS = 2.0
_CONN = re.compile(r'"(west-east|[A-Za-z0-9_.-]+)"')


def build_log(path: Path, events: int) -> int:
    """Replay the lab runs' pluto lines under fresh connection names until *events* lines are written."""
    runs = sorted(p for d in ("lab", "lab5") for p in (REPO / "fixtures" / d).glob("*/*.log")
                  if "debug" not in p.parent.name)
    bodies = []
    for log in runs:
        lines = [line for line in log.read_text(errors="replace").splitlines() if ": | " not in line]
        if lines:
            bodies.append(lines)
    written = session = 0
    with open(path, "w") as out:
        while written < events:
            body = bodies[session % len(bodies)]
            name = f"site{session:05d}"
            for line in body:
                out.write(_CONN.sub(f'"{name}"', line, count=1) + "\n")
            written += len(body)
            session += 1
    return written


def open_seconds(chromium: str, page: Path, reps: int) -> float:
    """Median wall time of headless Chromium loading *page* and printing its DOM (load + layout)."""
    times = []
    for _ in range(reps):
        with tempfile.TemporaryDirectory() as profile:
            start = time.perf_counter()
            subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                            "--no-first-run", "--disable-background-networking", "--disable-component-update",
                            "--disable-sync", f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120, check=True)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000, help="pluto lines in the big log (default 100000)")
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("bench_html: needs chromium (apt-get install chromium)", file=sys.stderr)
        return 2
    DATA.mkdir(parents=True, exist_ok=True)
    big_log = DATA / f"events-{args.events}.log"
    if not big_log.exists():
        build_log(big_log, args.events)
    small_log = REPO / "fixtures" / "lab" / "ikev2-psk-mismatch" / "west.log"
    rows = []
    for name, log in (("baseline: one lab run", small_log), (f"{args.events:,} events", big_log)):
        page = DATA / f"report-{log.stem}.html"
        start = time.perf_counter()
        subprocess.run([str(PYTHON), "-m", "swandoc", "analyze", str(log), "--format", "html", "-o", str(page)],
                       cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.DEVNULL)
        analyse = time.perf_counter() - start
        rows.append((name, log.stat().st_size, analyse, page.stat().st_size, open_seconds(chromium, page, args.reps)))
    print(f"{'input':<24} {'log':>9} {'analyze s':>9} {'HTML':>10} {'Chromium open s':>16}")
    for name, log_size, analyse, size, seconds in rows:
        print(f"{name:<24} {log_size / 1e6:>7.1f}MB {analyse:>9.2f} {size / 1e6:>8.2f}MB {seconds:>16.2f}")
    big = rows[-1]
    ok = big[3] < TARGET_BYTES and big[4] < TARGET_SECONDS
    print(f"targets: HTML < {TARGET_BYTES / 1e6:g} MB ({'ok' if big[3] < TARGET_BYTES else 'MISSED'}), "
          f"open < {TARGET_SECONDS:g} s ({'ok' if big[4] < TARGET_SECONDS else 'MISSED'}); Chromium's own start is "
          f"in the baseline's figure")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
