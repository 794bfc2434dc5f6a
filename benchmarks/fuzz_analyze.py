"""The big fuzz run of ``swandoc analyze`` (issue 10): 1M mutated log lines, hundreds of captures and bundles.

Every input is run as ``python -m swandoc analyze INPUT`` in its own process (its own cwd, HOME and
TMPDIR), and judged by ``tests/support/fuzzkit.py``: exit 0/1/2/4, no traceback, one line on stderr
for an error, nothing written outside its temporary directory, max RSS under 300 MB, under 60 s.
Prints the failures by kind, the max RSS and the slowest input. Exit status 1 when any input failed.

    .venv/bin/python benchmarks/fuzz_analyze.py                 # the full run (see benchmarks/README.md)
    .venv/bin/python benchmarks/fuzz_analyze.py --source /tmp/old-swandoc   # the same inputs, another tree
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))
import fuzzkit  # noqa: E402
import fuzzrun  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=10)
    ap.add_argument("--lines", type=int, default=1_000_000, help="mutated log lines in all (default 1M)")
    ap.add_argument("--lines-per-log", type=int, default=25_000)
    ap.add_argument("--captures", type=int, default=300)
    ap.add_argument("--bundles", type=int, default=90)
    ap.add_argument("--folders", type=int, default=10)
    ap.add_argument("--many-packets", type=int, default=100_000, help="one capture of this many tiny packets")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--source", default=str(ROOT), help="the tree whose swandoc package is run")
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--show", type=int, default=2, help="examples shown per failure kind")
    args = ap.parse_args()

    rng = random.Random(args.seed)
    started = time.monotonic()
    outcomes: list[fuzzrun.Outcome] = []
    with tempfile.TemporaryDirectory(prefix="swandoc-fuzz-") as top:
        top_path = Path(top)
        inputs = top_path / "inputs"
        generated = fuzzkit.cases(rng, inputs, logs=max(1, args.lines // args.lines_per_log),
                                  lines_per_log=args.lines_per_log, captures=args.captures, bundles=args.bundles,
                                  folders=args.folders, many_packets=args.many_packets, big=True)

        def run(job: tuple[int, str, Path]) -> fuzzrun.Outcome:
            index, name, path = job
            work = top_path / f"work-{index}"
            work.mkdir()
            try:
                return fuzzrun.run_subprocess(name, path, work, python=args.python, source=Path(args.source),
                                              fmt=("json", "text", "html")[index % 3])
            finally:
                fuzzkit.cleanup(work)
                fuzzkit.cleanup(path.parent)

        with ThreadPoolExecutor(args.jobs) as pool:
            pending = []
            for index, (name, path) in enumerate(generated):
                pending.append(pool.submit(run, (index, name, path)))
                while sum(not f.done() for f in pending) > 2 * args.jobs:  # generate only a little ahead
                    time.sleep(0.05)
                for f in [f for f in pending if f.done()]:
                    outcomes.append(_report_one(f.result()))
                    pending.remove(f)
            for f in pending:
                outcomes.append(_report_one(f.result()))
    elapsed = time.monotonic() - started

    failed = [o for o in outcomes if o.failed]
    kinds: dict[str, list[fuzzrun.Outcome]] = defaultdict(list)
    for o in failed:
        kinds[fuzzrun.failure_kind(o)].append(o)
    print(f"\n{len(outcomes)} inputs, {len(failed)} failed, in {elapsed:.0f} s (seed {args.seed}, source {args.source})")
    for kind, group in sorted(kinds.items(), key=lambda kv: -len(kv[1])):
        print(f"  {len(group):4d}  {kind}")
        for o in group[: args.show]:
            print(f"          {o.name}: {'; '.join(o.problems)} | {o.stderr.strip().splitlines()[-1][:160] if o.stderr.strip() else ''}")
    biggest = max(outcomes, key=lambda o: o.max_rss_kb)
    slowest = max(outcomes, key=lambda o: o.seconds)
    longest = max(outcomes, key=lambda o: o.wall)
    print(f"max RSS {biggest.max_rss_kb / 1024:.0f} MB ({biggest.name}); slowest {slowest.seconds:.1f} s CPU "
          f"({slowest.name}); longest {longest.wall:.1f} s wall-clock ({longest.name})")
    print(f"CPU of all inputs {sum(o.seconds for o in outcomes):.0f} s")
    statuses = Counter(o.status for o in outcomes)
    print("exit statuses: " + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items())))
    return 1 if failed else 0


def _report_one(outcome: fuzzrun.Outcome) -> fuzzrun.Outcome:
    if outcome.failed:
        print(f"FAIL {outcome.name}: {'; '.join(outcome.problems)}", flush=True)
    return outcome


if __name__ == "__main__":
    sys.exit(main())
