"""Reading what a child wrote to a pseudo-terminal (shared by the tests and benchmarks/bench_analyze.py)."""
from __future__ import annotations

import os


def read_until_closed(fd: int) -> bytes:
    """Everything written to the pty whose master is *fd*, until its last writer closes it.

    On Linux the master's read fails with EIO once the child side is closed: that is the end.
    """
    parts = []
    while True:
        try:
            part = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not part:
            break
        parts.append(part)
    return b"".join(parts)
