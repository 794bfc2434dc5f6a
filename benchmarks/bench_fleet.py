#!/usr/bin/env python3
"""Time and memory of ``swandoc analyze`` over a fleet of bundles (10, 50, 200), beside 1 bundle.

    .venv/bin/python benchmarks/bench_fleet.py                       # 10, 50 and 200 bundles
    .venv/bin/python benchmarks/bench_fleet.py --bundles 500 --log-lines 50000

The bundles are the four real ones the playbook fetched from the lab fleet (fixtures/fleet),
copied as many times as needed: copy ``i`` is node ``i % 4`` of group ``i // 4``, with every
address of the lab (192.0.2.11-14 and the mesh range 192.0.2.0/28) moved to the group's own
10.X.Y.0/24, so the fleet has 200 hosts, 100 site-to-site tunnels to pair and 50 meshes. Each
bundle's pluto log is padded to --log-lines lines by repeating that node's own log, so every
bundle has something to stream; files go to benchmarks/data/fleet-N/ (gitignored) and are
reused unless --regenerate.

The baseline in the same run is analysing one bundle. Each size runs --reps times; the table has
the median wall time and the largest max RSS (``os.wait4`` ``ru_maxrss``) of the process, which
is ``python -m swandoc analyze --name-from-file --format json -o /dev/null BUNDLE...``.
Memory should be bounded per bundle: it may grow with the fleet only by the small per-host summary.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import statistics
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / "data"
FIXTURES = ROOT / "fixtures" / "fleet"
PYTHON = ROOT / ".venv" / "bin" / "python"
NODE_ADDRESS = re.compile(rb"(?<![\d.])192\.0\.2\.(1[1-4])(?![\d])")
MESH_RANGE = re.compile(rb"(?<![\d.])192\.0\.2\.0/28")


def _group_prefix(group: int) -> bytes:
    return f"10.{group // 250}.{group % 250}".encode()


def _pad_log(data: bytes, lines: int) -> bytes:
    body = data.splitlines(keepends=True) or [b"\n"]
    out, n = [], 0
    while n < lines:
        take = body[: lines - n]
        out.extend(take)
        n += len(take)
    return b"".join(out)


def make_bundle(template: Path, group: int, dest: Path, log_lines: int) -> None:
    prefix = _group_prefix(group)
    members: list[tuple[tarfile.TarInfo, bytes]] = []
    with tarfile.open(template, "r:xz") as tar:
        for info in tar.getmembers():
            data = tar.extractfile(info).read() if info.isfile() else b""
            members.append((info, data))
    changed: dict[str, bytes] = {}
    for info, data in members:
        if not info.isfile() or info.name.endswith("manifest.json"):
            continue
        new = MESH_RANGE.sub(prefix + b".0/28", NODE_ADDRESS.sub(lambda m: prefix + b"." + m.group(1), data))
        if info.name.endswith("logs/pluto.log"):
            new = _pad_log(new, log_lines)
        changed[info.name] = new
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:xz") as tar:
        for info, data in members:
            if info.name.endswith("manifest.json"):
                manifest = json.loads(data)
                for item in manifest.get("items", []):
                    for name, new in changed.items():
                        if name.endswith("/" + item.get("path", "\0")):
                            item.update(size=len(new), sha256=hashlib.sha256(new).hexdigest())
                data = json.dumps(manifest, indent=2).encode()
            else:
                data = changed.get(info.name, data)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    dest.write_bytes(out.getvalue())


def make_fleet(count: int, log_lines: int, regenerate: bool) -> list[Path]:
    templates = sorted(FIXTURES.glob("*.tar.xz"))
    folder = DATA / f"fleet-{log_lines}"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        node = templates[i % len(templates)]
        dest = folder / f"g{i // len(templates):03d}-{node.name}"
        if regenerate or not dest.exists():
            make_bundle(node, i // len(templates), dest, log_lines)
        paths.append(dest)
    return paths


def run_once(paths: list[Path]) -> tuple[float, float, int]:
    argv = [str(PYTHON), "-m", "swandoc", "analyze", "--name-from-file", "--format", "json", "-o", "/dev/null",
            *map(str, paths)]
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if proc.returncode not in (0, 1):
        sys.exit(f"swandoc analyze failed ({proc.returncode}): {err.strip()}")
    return elapsed, usage.ru_maxrss / 1024.0, proc.returncode


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bundles", type=int, action="append", help="fleet sizes (default 10, 50, 200)")
    ap.add_argument("--log-lines", type=int, default=20000, help="pluto log lines per bundle (default 20000)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--regenerate", action="store_true")
    args = ap.parse_args()
    sizes = [1] + (args.bundles or [10, 50, 200])
    fleet = make_fleet(max(sizes), args.log_lines, args.regenerate)
    mb = sum(p.stat().st_size for p in fleet) / 1e6
    print(f"{len(fleet)} bundles ready ({mb:.1f} MB compressed, {args.log_lines} log lines each)", file=sys.stderr)
    rows = []
    for n in sizes:
        paths = fleet[:n]
        run_once(paths)  # warm the page cache
        runs = [run_once(paths) for _ in range(args.reps)]
        rows.append((n, statistics.median(r[0] for r in runs), max(r[1] for r in runs)))
    base_t, base_rss = rows[0][1], rows[0][2]
    print("| bundles | log lines in all | time | per bundle | max RSS | RSS over the 1-bundle baseline |")
    print("|---|---|---|---|---|---|")
    for n, t, rss in rows:
        print(f"| {n} | {n * args.log_lines:,} | {t:.2f} s | {t / n * 1000:.0f} ms | {rss:.1f} MB | "
              f"{rss - base_rss:+.1f} MB |")
    print(f"\nbaseline (1 bundle): {base_t:.2f} s, {base_rss:.1f} MB", file=sys.stderr)


if __name__ == "__main__":
    main()
