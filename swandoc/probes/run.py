"""Running one probe: a command or a file read, bounded in time and size, never raising.

Every probe ends in an :class:`~swandoc.evidence.Evidence`: its raw output, or the reason it
could not be had (tool missing, no permission, timeout, daemon down). The diagnosis carries
on with whatever else was gathered. ``diagnose`` and ``bundle`` both run every command here.

Each command runs in its own process group and the whole group is killed when its time is
up, so a hung command (or a grandchild holding its pipe) cannot hang the caller.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from typing import Sequence

from ..evidence import Evidence

DEFAULT_TIMEOUT = 10.0
OUTPUT_LIMIT = 64 * 1024 * 1024
FILE_LIMIT = 16 * 1024 * 1024


def run_command(name: str, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT,
                ok_status: Sequence[int] = (0,), env: dict[str, str] | None = None,
                limit: int = OUTPUT_LIMIT) -> Evidence:
    """Run *argv* and keep stdout (plus stderr, when the command failed) as evidence *name*.

    At most *limit* bytes of output are kept; after *timeout* seconds the command's whole
    process group is killed and whatever it wrote so far is kept with the reason.
    """
    origin = " ".join(argv)
    if shutil.which(argv[0]) is None and not os.path.exists(argv[0]):
        return Evidence(name, None, origin, error=f"{argv[0]} is not installed")
    start = time.monotonic()
    try:
        # LC_ALL=C: parsers expect the untranslated wording of every tool.
        proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env={**os.environ, "LC_ALL": "C", **(env or {})}, start_new_session=True)
    except OSError as exc:
        return Evidence(name, None, origin, error=f"cannot run {argv[0]}: {exc.strerror}")
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        try:
            out, err = proc.communicate(timeout=2)
        except subprocess.TimeoutExpired:  # something outside the group still holds the pipe
            out, err = b"", b""
        return Evidence(name, out[:limit] or None, origin, status=proc.returncode, duration=time.monotonic() - start,
                        error=f"cut off after {timeout:g}s (no result in time)")
    duration = time.monotonic() - start
    if proc.returncode not in ok_status:
        lines = (err or out).decode("utf-8", "replace").strip().splitlines()
        why = lines[-1] if lines else "no output"
        return Evidence(name, (out + err)[:limit], origin, status=proc.returncode, duration=duration,
                        error=f"exit status {proc.returncode}: {why}")
    return Evidence(name, out[:limit], origin, status=proc.returncode, duration=duration)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


def read_file(name: str, path: str, *, limit: int = FILE_LIMIT) -> Evidence:
    """The contents of *path* (at most *limit* bytes, from the end for logs that grew large)."""
    start = time.monotonic()
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > limit:
                fh.seek(size - limit)
            data = fh.read(limit)
    except FileNotFoundError:
        return Evidence(name, None, path, error=f"{path} does not exist (or vanished while collecting)")
    except PermissionError:
        return Evidence(name, None, path, error=f"no permission to read {path} (run as root)")
    except OSError as exc:
        return Evidence(name, None, path, error=f"cannot read {path}: {exc.strerror or exc}")
    return Evidence(name, data, path, duration=time.monotonic() - start)


def failed(name: str, origin: str, why: str) -> Evidence:
    return Evidence(name, None, origin, error=why)
