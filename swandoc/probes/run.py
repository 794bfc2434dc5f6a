"""Running one probe: a command or a file read, bounded in time, never raising.

Every probe ends in an :class:`~swandoc.evidence.Evidence`: its raw output, or the reason it
could not be had (tool missing, no permission, timeout, daemon down). The diagnosis carries
on with whatever else was gathered.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from typing import Sequence

from ..evidence import Evidence

DEFAULT_TIMEOUT = 10.0


def run_command(name: str, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT,
                ok_status: Sequence[int] = (0,), env: dict[str, str] | None = None) -> Evidence:
    """Run *argv* and keep stdout (plus stderr, when the command failed) as evidence *name*."""
    origin = " ".join(argv)
    if shutil.which(argv[0]) is None and not os.path.exists(argv[0]):
        return Evidence(name, None, origin, error=f"{argv[0]} is not installed")
    start = time.monotonic()
    try:
        # LC_ALL=C: parsers expect the untranslated wording of every tool.
        proc = subprocess.run(list(argv), capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL,
                              env={**os.environ, "LC_ALL": "C", **(env or {})})
    except subprocess.TimeoutExpired as exc:
        return Evidence(name, exc.stdout or None, origin, duration=time.monotonic() - start,
                        error=f"no result within {timeout:g}s")
    except OSError as exc:
        return Evidence(name, None, origin, error=f"cannot run {argv[0]}: {exc.strerror}")
    duration = time.monotonic() - start
    if proc.returncode not in ok_status:
        reason = (proc.stderr or proc.stdout).decode("utf-8", "replace").strip().splitlines()
        why = reason[-1] if reason else "no output"
        return Evidence(name, proc.stdout + proc.stderr, origin, status=proc.returncode, duration=duration,
                        error=f"exit status {proc.returncode}: {why}")
    return Evidence(name, proc.stdout, origin, status=proc.returncode, duration=duration)


def read_file(name: str, path: str, *, limit: int = 16 * 1024 * 1024) -> Evidence:
    """The contents of *path* (at most *limit* bytes, from the end for logs that grew large)."""
    start = time.monotonic()
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > limit:
                fh.seek(size - limit)
            data = fh.read(limit)
    except FileNotFoundError:
        return Evidence(name, None, path, error=f"{path} does not exist")
    except PermissionError:
        return Evidence(name, None, path, error=f"no permission to read {path} (run as root)")
    except OSError as exc:
        return Evidence(name, None, path, error=f"cannot read {path}: {exc.strerror}")
    return Evidence(name, data, path, duration=time.monotonic() - start)


def failed(name: str, origin: str, why: str) -> Evidence:
    return Evidence(name, None, origin, error=why)
