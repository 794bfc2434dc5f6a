"""Shared fixtures for the lab tests: real pluto daemons in real namespaces, no mocks.

Every scenario runs once per test session (three at a time, each run in its own uniquely
named namespaces) and the results are shared by all tests.
"""
from __future__ import annotations

import os
import shutil
from concurrent.futures import ThreadPoolExecutor

import pytest

from swandoc.lab import runner
from swandoc.lab.scenarios import SCENARIOS


def _require_lab_environment() -> None:
    # Never skip: in CI these tests must run; if they cannot, say so loudly.
    if os.geteuid() != 0:
        pytest.fail("lab tests need root (network namespaces, pluto); run them as root", pytrace=False)
    missing = [t for t in ("ipsec", "tcpdump", "iptables", "certutil", "pk12util") if shutil.which(t) is None]
    if missing or not os.path.exists("/usr/libexec/ipsec/pluto"):
        pytest.fail(f"lab tests need libreswan, tcpdump, iptables and NSS tools; missing: "
                    f"{', '.join(missing) or '/usr/libexec/ipsec/pluto'}", pytrace=False)


@pytest.fixture(scope="session")
def lab_results(tmp_path_factory):
    """name -> LabResult for every scenario, run once per session."""
    _require_lab_environment()
    base = tmp_path_factory.mktemp("lab")
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda s: runner.run_scenario(s.name, base / s.name), SCENARIOS))
    return {r.scenario: r for r in results}


@pytest.fixture(scope="session")
def lab_environment():
    _require_lab_environment()
