"""The ``swandoc lab`` command as a user runs it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from unprivileged import python_as_nobody

from swandoc.lab.scenarios import SCENARIOS

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]


def _swandoc(*args: str, nobody: bool = False, cwd: Path = REPO) -> subprocess.CompletedProcess:
    python = python_as_nobody() if nobody else [sys.executable]
    argv = [*python, "-m", "swandoc", "lab", *args]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120, env=env)


def test_list_names_every_scenario_one_a_line(lab_environment):
    result = _swandoc("--list")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == [s.name for s in SCENARIOS]


def test_without_root_one_line_and_exit_2(lab_environment, tmp_path):
    tmp_path.chmod(0o777)
    result = _swandoc("healthy", "--out", str(tmp_path / "out"), nobody=True, cwd=tmp_path)
    assert result.returncode == 2, result
    assert len(result.stderr.strip().splitlines()) == 1 and "root" in result.stderr
    assert not (tmp_path / "out").exists()


def test_scenario_writes_evidence_and_prints_the_report(lab_environment, tmp_path):
    result = _swandoc("ikev2-psk-mismatch", "--out", str(tmp_path / "out"), "--format", "json")
    out = tmp_path / "out"
    for name in ("west.log", "east.log", "west-whack.txt", "west.pcap", "west.conf", "east.conf", "lab.json"):
        assert (out / name).exists(), name
    report = json.loads(result.stdout)
    assert result.returncode != 0  # a failing tunnel is a problem report
    assert "lab: kernel can install ESP SAs:" in result.stderr
    assert json.loads((out / "lab.json").read_text())["scenario"] == "ikev2-psk-mismatch"
    assert report  # the shape of the JSON report belongs to swandoc.report


def test_default_out_dir_is_created_under_cwd(lab_environment, tmp_path):
    result = _swandoc("healthy", cwd=tmp_path)
    made = list(tmp_path.glob("swandoc-lab-healthy-*"))
    assert len(made) == 1, (result.stdout, result.stderr)
    assert (made[0] / "lab.json").exists()
