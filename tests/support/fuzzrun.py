"""Run ``swandoc analyze`` on one hostile input (made by ``fuzzkit.py``) and judge what it did.

What a run must do with each input (issue 10): exit 0, 1, 2 or 4; no traceback; for an error, exactly
one line on stderr, and nothing on stderr otherwise; nothing written outside its temporary directory;
bounded memory and time.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ALLOWED_EXIT = frozenset({0, 1, 2, 4})


# --- running swandoc on a case --------------------------------------------------------------------

@dataclass
class Outcome:
    name: str
    status: int
    stderr: str
    seconds: float  # CPU seconds for a subprocess (wall-clock on a shared box says little), else wall-clock
    max_rss_kb: int = 0
    wall: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.problems)


def judge(outcome: Outcome, max_seconds: float, max_rss_kb: int | None) -> Outcome:
    err_lines = [l for l in outcome.stderr.splitlines() if l.strip()]
    if outcome.status not in ALLOWED_EXIT:
        outcome.problems.append(f"exit status {outcome.status}")
    if "Traceback" in outcome.stderr:
        outcome.problems.append("traceback")
    if outcome.status == 2 and len(err_lines) != 1:
        outcome.problems.append(f"{len(err_lines)} lines on stderr for an error")
    if outcome.status in (0, 1, 4) and err_lines:
        outcome.problems.append(f"stderr on success: {err_lines[0][:100]}")
    if outcome.seconds > max_seconds:
        outcome.problems.append(f"took {outcome.seconds:.1f} s of CPU")
    if max_rss_kb is not None and outcome.max_rss_kb > max_rss_kb:
        outcome.problems.append(f"max RSS {outcome.max_rss_kb // 1024} MB")
    return outcome


def listing(*dirs: Path) -> set[str]:
    found: set[str] = set()
    for d in dirs:
        for base, subdirs, files in os.walk(d):
            for n in subdirs + files:
                found.add(os.path.join(base, n))
    return found


def run_subprocess(name: str, path: Path, work: Path, *, python: str = sys.executable, source: Path = ROOT,
                   fmt: str = "json", timeout: float = 120.0, max_seconds: float = 60.0,
                   max_rss_kb: int | None = 300 * 1024) -> Outcome:
    """``python -m swandoc analyze PATH`` in a fresh working directory; judged (see :func:`judge`).

    The child's cwd, HOME and TMPDIR are *work*; a listing of *work* and of the input's folder
    before and after shows whatever it wrote (the report goes to a file in *work*).
    """
    tmp = work / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    watched = (work, path.parent)
    before = listing(*watched)
    report = work / f"report.{fmt}"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(work), "TMPDIR": str(tmp),
           "PYTHONPATH": str(source), "SWANDOC_DEBUG": "1", "LC_ALL": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}

    read_end, write_end = os.pipe()
    env.update(SWANDOC_FUZZ_RSS_FD=str(write_end), SWANDOC_FUZZ_AS=str(3 << 30))
    start = time.monotonic()
    with tempfile.TemporaryFile() as err:  # outside the watched folders
        proc = subprocess.Popen([python, str(Path(__file__).with_name("fuzz_child.py")), "analyze", str(path),
                                 "--format", fmt, "-o", str(report)], pass_fds=(write_end,),
                                cwd=work, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        os.close(write_end)
        status, rss, cpu = _wait_with_usage(proc.pid, timeout)
        proc.returncode = status  # reaped here
        wall = time.monotonic() - start
        err.seek(0)
        stderr = err.read(1 << 20).decode("utf-8", "replace")
    with os.fdopen(read_end, "rb") as peak:
        own = peak.read().strip()
    rss = int(own) if own.isdigit() else rss  # killed before it could say: ru_maxrss (an upper bound)
    outcome = Outcome(name, status, stderr, cpu, rss, wall)
    if status == 137 and wall >= timeout:
        outcome.problems.append(f"killed after {timeout:.0f} s wall-clock")
    after = listing(*watched) - {str(report)}
    leftovers = sorted(after - before)
    if leftovers:
        outcome.problems.append(f"wrote outside its report: {leftovers[:3]}")
    if report.exists():
        report.unlink()
    return judge(outcome, max_seconds, max_rss_kb)


def _wait_with_usage(pid: int, timeout: float) -> tuple[int, int, float]:
    """(exit status, or 128+signal; max RSS in KiB; CPU seconds) of a child, killed after *timeout* s."""
    deadline = time.monotonic() + timeout
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            done, status, usage = os.wait4(pid, 0)
            break
        time.sleep(0.01)
    code = os.waitstatus_to_exitcode(status)
    return (code if code >= 0 else 128 - code), usage.ru_maxrss, usage.ru_utime + usage.ru_stime


def run_inprocess(name: str, path: Path, work: Path, *, fmt: str = "json", max_seconds: float = 60.0) -> Outcome:
    """The same command through click's CliRunner (no interpreter start per case); memory is not judged."""
    from click.testing import CliRunner

    from swandoc.cli import main

    try:
        runner = CliRunner(mix_stderr=False)
    except TypeError:  # click 8.2 keeps stderr apart by itself
        runner = CliRunner()
    before = listing(work, path.parent)
    report = work / f"report.{fmt}"
    start = time.monotonic()
    result = runner.invoke(main, ["analyze", str(path), "--format", fmt, "-o", str(report)], catch_exceptions=True)
    seconds = time.monotonic() - start
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback
        stderr += "".join(traceback.format_exception(type(result.exception), result.exception,
                                                     result.exception.__traceback__))
    outcome = Outcome(name, result.exit_code, stderr, seconds)
    leftovers = sorted(listing(work, path.parent) - before - {str(report)})
    if leftovers:
        outcome.problems.append(f"wrote outside its report: {leftovers[:3]}")
    if report.exists():
        report.unlink()
    return judge(outcome, max_seconds, None)


def failure_kind(outcome: Outcome) -> str:
    """A short name for what went wrong: the problem and, for a traceback, its last frame and type."""
    lines = outcome.stderr.strip().splitlines()
    where = ""
    frames = [l.strip() for l in lines if l.strip().startswith("File ")]
    if frames:
        where = " at " + frames[-1].split("/")[-1]
    last = lines[-1][:120] if lines else ""
    kinds = [p.split(":")[0] if not p.startswith("took") and not p.startswith("max RSS") else p.split(" ")[0]
             for p in outcome.problems]
    return f"{'/'.join(sorted(set(kinds)))}{where}: {last.split(':')[0] if frames else last[:60]}"


