"""Two bundles of the two ends of one tunnel diagnose as the two logs do (issue 8).

A real lab run (the ``healthy`` scenario; on a kernel without ESP the responder cannot install its
SA and answers TS_UNACCEPTABLE): while both plutos still run, ``swandoc bundle`` is made in each
end's namespace. Then ``analyze west.tar.xz east.tar.xz`` must give the same log findings (ids and
severities, including the cross-end correlation that turns the initiator's ts-unacceptable into a
symptom) as ``analyze west.log east.log`` of the very logs inside the bundles, and each finding's
log evidence must name the bundle (and host) it came from.
"""
from __future__ import annotations

import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from swandoc.lab import kernel
from swandoc.lab.plan import from_scenario
from swandoc.lab.runner import LabRun, cleanup_stale, require_root
from swandoc.lab.scenarios import get as get_scenario

ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else "python3"

pytestmark = pytest.mark.lab


def _swandoc(*args: str, ns: str | None = None, timeout: float = 240) -> subprocess.CompletedProcess:
    argv = [PYTHON, "-m", "swandoc", *args]
    if ns:
        argv = ["ip", "netns", "exec", ns, *argv]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=ROOT)


@pytest.fixture(scope="module")
def two_ends(tmp_path_factory):
    """Bundles of both ends of a real lab run, and the pluto logs inside them as plain files."""
    require_root()
    out = tmp_path_factory.mktemp("two-ends")
    cleanup_stale()
    plan = from_scenario(get_scenario("healthy"))
    with LabRun(plan, out / "lab") as run:
        run.build()
        run.inject_faults()
        run.negotiate()
        for daemon in (run.west, run.east):
            made = _swandoc("bundle", "--conn", plan.conn_name_for(daemon.side), "--config", str(daemon.conf),
                            "--secrets", str(daemon.secrets), "--ctl-socket", str(daemon.ctlsocket),
                            "--log", str(daemon.logfile), "-o", str(out / f"{daemon.side}.tar.xz"),
                            ns=daemon.namespace)
            assert made.returncode == 0, made.stderr
        run.stop_daemons_and_capture()
    for side in ("west", "east"):
        with tarfile.open(out / f"{side}.tar.xz") as tar:
            member = next(m for m in tar.getmembers() if m.name.endswith("/logs/pluto.log"))
            (out / f"{side}.log").write_bytes(tar.extractfile(member).read())
    return out  # (kept by pytest in its tmp dir for a look after a failure)


def _analyze(*paths: Path) -> dict:
    done = _swandoc("analyze", "--format", "json", *map(str, paths), timeout=120)
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)


def _log_findings(report: dict, log_source) -> dict[str, str]:
    """id -> severity of the findings whose evidence includes a pluto log line."""
    return {f["id"]: f["severity"] for f in report["findings"] if any(log_source(e["source"]) for e in f["evidence"])}


def test_two_bundles_diagnose_like_their_two_logs(two_ends):
    logs = _analyze(two_ends / "west.log", two_ends / "east.log")
    bundles = _analyze(two_ends / "west.tar.xz", two_ends / "east.tar.xz")
    by_logs = _log_findings(logs, lambda source: source.endswith(".log"))
    by_bundles = _log_findings(bundles, lambda source: source.endswith(":pluto_log"))
    print("logs:", by_logs, "\nbundles:", by_bundles)
    assert by_logs, "the two logs gave no finding at all"
    assert by_bundles == by_logs
    if not kernel.detect().esp:
        # The responder's kernel failure explains the initiator's TS_UNACCEPTABLE: a symptom (warning).
        assert by_bundles.get("kernel-sa-install-failed") in ("critical", "error")
        assert by_bundles.get("ts-unacceptable") == "warning"


def test_bundle_evidence_names_its_bundle_and_host(two_ends):
    report = _analyze(two_ends / "west.tar.xz", two_ends / "east.tar.xz")
    west, east = str(two_ends / "west.tar.xz"), str(two_ends / "east.tar.xz")
    hosts = {i["name"]: i["host"] for i in report["inputs"] if i["kind"] == "bundle"}
    assert set(hosts) == {west, east}
    assert hosts[west] and hosts[east] and hosts[west] != hosts[east]  # same machine name: kept apart
    log_lines = [e for f in report["findings"] for e in f["evidence"] if e["source"].endswith(":pluto_log")]
    assert log_lines
    for line in log_lines:
        bundle = line["source"][: -len(":pluto_log")]
        assert bundle in (west, east)
        assert line["host"] == hosts[bundle], line
    sides = {line["source"] for line in log_lines}
    if not kernel.detect().esp:
        assert sides == {f"{west}:pluto_log", f"{east}:pluto_log"}  # findings cite both ends
