from __future__ import annotations

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "fixtures")


def fixture(*parts: str) -> str:
    return os.path.join(FIXTURES, *parts)


def run_swandoc(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    """The real command line, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "swandoc", *args], input=stdin, capture_output=True, cwd=ROOT,
                          timeout=120)


@pytest.fixture
def swandoc():
    return run_swandoc
