"""Forking beside the program's own helper threads.

``fork()`` copies only the thread that calls it: a lock that another thread held at that moment (a
half-written line on stderr, an import) would stay held in the child for ever. So the log reader's
worker (:mod:`swandoc.logparse.parallel`) is only forked when every other thread is a *helper*: a
thread of swandoc's own that does its work in short steps, each while holding :data:`STEP` (today
only the progress line, ``clitools.input_progress``). The forking thread takes STEP first, so the
child is made between two steps, when no helper holds anything.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

STEP = threading.Lock()  # held by a helper thread while it does one step of its work
HELPER = "swandoc_step_helper"  # the attribute that marks a thread as a helper (see mark_helper)


def mark_helper(thread: threading.Thread) -> threading.Thread:
    """Declare *thread* a helper: it holds STEP whenever it does anything but wait."""
    setattr(thread, HELPER, True)
    return thread


def only_helpers_running() -> bool:
    """Whether every thread but the calling one is a helper (so forking between their steps is safe).

    >>> only_helpers_running()
    True
    """
    me = threading.current_thread()
    return all(t is me or getattr(t, HELPER, False) for t in threading.enumerate())


@contextmanager
def between_steps(timeout: float = 1.0) -> Iterator[bool]:
    """Hold STEP while the body forks: True when it was had, False when a helper kept it past
    *timeout* (a helper stuck writing to a paused terminal, say: then do not fork)."""
    got = STEP.acquire(timeout=timeout)
    try:
        yield got
    finally:
        if got:
            STEP.release()
