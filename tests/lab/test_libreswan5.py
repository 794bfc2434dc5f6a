"""Libreswan 5 live: 5.x daemons (from the Debian 13 root) against each other and against the host's 4.x.

Every scenario in every pair is recorded in fixtures/lab5 (tests/analyze/test_lab5_fixtures.py); here a
few run live so the 5.x lab itself is tested on every CI run: the command line, lab.json's versions,
each log's banner, and the injected fault first in the report.
"""
from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from swandoc.analysis import analyze_paths
from swandoc.lab import runner

from test_user_configs import EAST, SECRETS, WEST  # tests/lab has no __init__: rootdir-relative import

pytestmark = pytest.mark.lab

LIVE = [("ikev2-psk-mismatch", "5", "4"), ("ikev2-psk-mismatch", "4", "5"), ("ike-proposal-mismatch-v2", "5", "5"),
        ("healthy", "5", "5"), ("secret-missing", "4", "5"), ("x509-untrusted-ca", "5", "4")]


@pytest.fixture(scope="module")
def live(tmp_path_factory, lab_environment):
    base = tmp_path_factory.mktemp("lab5")

    def one(case):
        name, west, east = case
        return case, runner.run_scenario(name, base / f"{name}-{west}{east}", versions=(west, east))

    with ThreadPoolExecutor(3) as pool:
        return dict(pool.map(one, LIVE))


def _banner(path) -> str:
    with open(path) as fh:
        return next(line for line in fh if "Starting Pluto" in line)


@pytest.mark.parametrize("case", LIVE, ids=["-".join(c) for c in LIVE])
def test_each_daemon_runs_its_version_and_the_fault_comes_first(live, case):
    result = live[case]
    name, west, east = case
    data = json.loads(result.path("lab.json").read_text())
    assert data["libreswan_major"] == {"west": west, "east": east}
    for side, major in (("west", west), ("east", east)):
        version = data["libreswan_by_side"][side]
        assert version.startswith(f"Libreswan {major}.")
        assert f"Libreswan Version {version.split()[-1]} " in _banner(result.path(f"{side}.log"))
    report = analyze_paths([str(result.path("west.log")), str(result.path("east.log"))])
    assert report.findings[0].id == result.expected == data["expected_by_view"]["both"], \
        [f.id for f in report.findings]


def test_lab_command_line_with_versions(tmp_path, lab_environment):
    """The issue's command: 5.x west, 4.x east, JSON report, injected fault first."""
    import subprocess

    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "swandoc", "lab", "ikev2-psk-mismatch", "--west-version", "5",
                           "--east-version", "4", "--out", str(out), "--format", "json"],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert report["findings"][0]["id"] == "authentication-failed"
    assert all(len(f["fix_versions"]) == len(f["fix"]) for f in report["findings"])
    data = json.loads((out / "lab.json").read_text())
    assert data["libreswan_by_side"]["west"].startswith("Libreswan 5.")
    assert data["libreswan_by_side"]["east"].startswith("Libreswan 4.")


@pytest.mark.parametrize("west,east", [("5", "5"), ("4", "5"), ("5", "4")])
def test_user_configs_across_versions(tmp_path, lab_environment, west, east):
    """Two users' configs (one ESP proposal apart) under 5.x and mixed pairs: the mismatch comes first."""
    (tmp_path / "w.conf").write_text(WEST.format(west_esp="aes128-sha1"))
    (tmp_path / "e.conf").write_text(EAST.format(east_remote_subnet="10.10.0.0/16"))
    (tmp_path / "w.secrets").write_text(SECRETS)
    (tmp_path / "e.secrets").write_text(SECRETS)
    result = runner.run_configs(tmp_path / "w.conf", tmp_path / "e.conf", tmp_path / "w.secrets",
                                tmp_path / "e.secrets", out_dir=tmp_path / "out", versions=(west, east))
    data = json.loads(result.path("lab.json").read_text())
    assert data["libreswan_major"] == {"west": west, "east": east}
    report = analyze_paths([str(result.path("west.log")), str(result.path("east.log"))])
    assert report.findings[0].id == "child-proposal-mismatch", [f.id for f in report.findings]
