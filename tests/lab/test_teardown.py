"""Nothing of a lab run may outlive it: namespaces, veths, pluto, tcpdump.

Checks look only for the traces of the lab runs this test started (``sdlab-<pid>-`` namespaces,
pluto/tcpdump started with that run's work directories or inside its namespaces): other software on
the host, and other lab runs going on at the same time (another checkout's tests), are never counted.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from swandoc.lab import runner, topology
from swandoc.lab.capture import CAPTURE_FILTER

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


_SESSION_TMP = ["/"]  # this pytest session's temporary root, set by the fixture below


@pytest.fixture(autouse=True, scope="module")
def _session_tmp(tmp_path_factory):
    _SESSION_TMP[0] = str(tmp_path_factory.getbasetemp())


def _run_tag(pid: int | None) -> str:
    """``sdlab-<pid>-``: what every namespace and work directory of that process's lab runs starts with."""
    return f"{topology.NAMESPACE_PREFIX}{os.getpid() if pid is None else pid}-"


def _lab_namespaces(pid: int | None = None) -> list[str]:
    return [n for n in topology.lab_namespaces() if n.startswith(_run_tag(pid))]


def _lab_processes(pid: int | None = None) -> list[str]:
    """pluto/tcpdump processes of that process's lab runs (by their command line or namespace)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        text = b" ".join(argv).decode(errors="replace")
        is_pluto = argv and argv[0].endswith(b"/pluto") and "/" + _run_tag(pid) in text
        # A capture inside this run's namespace, or one left in a namespace that no longer has a name (its
        # run tore the namespace down around it): captures of other runs going on now are not ours.
        # (and for one without a name, only if it writes into this test session's temporary directory: a
        # namespace made in another mount namespace, e.g. by tests running outside a chroot, has no name here)
        netns = _netns_of(entry)
        is_capture = argv and argv[0].endswith(b"tcpdump") and CAPTURE_FILTER in text \
            and (netns.startswith(_run_tag(pid)) or (netns == "?" and _SESSION_TMP[0] in text))
        if is_pluto or is_capture:
            found.append(f"{entry.name}: {text}")
    return found


def _netns_of(proc: Path) -> str:
    """The name of the network namespace a process runs in: '' for the host's, '?' for one without a name."""
    try:
        inode = os.stat(proc / "ns" / "net").st_ino
        if inode == os.stat("/proc/self/ns/net").st_ino:
            return ""
    except OSError:
        return ""
    for name in topology.lab_namespaces():
        try:
            if os.stat(f"/run/netns/{name}").st_ino == inode:
                return name
        except OSError:
            continue
    return "?"


def _host_veths_into_lab(pid: int | None = None) -> list[str]:
    out = subprocess.run(["ip", "-o", "link", "show", "type", "veth"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if _run_tag(pid) in line]


def _assert_nothing_left(pid: int | None = None) -> None:
    assert _lab_namespaces(pid) == []
    assert _lab_processes(pid) == []
    assert _host_veths_into_lab(pid) == []


def test_completed_runs_leave_nothing(lab_results):
    # lab_results has run every scenario by now, including the failing ones.
    _assert_nothing_left()


def test_failed_setup_leaves_nothing(lab_environment, tmp_path):
    # A plan whose west config cannot be loaded still tears down everything.
    from dataclasses import replace

    from swandoc.lab.plan import from_scenario
    from swandoc.lab.scenarios import get

    plan = replace(from_scenario(get("healthy")), name="broken", west_conn={"left": "not-an-address"})
    result = runner.execute(plan, tmp_path / "out")
    assert not result.outcome.ike_established
    _assert_nothing_left()


def _start_lab(tmp_path: Path, scenario: str) -> subprocess.Popen:
    return subprocess.Popen([PYTHON, "-m", "swandoc", "lab", scenario, "--out", str(tmp_path / "out")],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_until_running(proc: subprocess.Popen, tmp_path: Path, timeout: float = 20) -> None:
    """Until the namespaces exist and west's capture has started (i.e. mid-negotiation)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"lab exited early: {proc.communicate()}")
        if _lab_namespaces(proc.pid) and (tmp_path / "out" / "west.pcap").exists() and _lab_processes(proc.pid):
            time.sleep(1.0)  # well inside the negotiation (udp500-blocked takes ~4s)
            return
        time.sleep(0.05)
    pytest.fail("lab run did not get going in time")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_run_leaves_nothing(lab_environment, tmp_path, sig):
    proc = _start_lab(tmp_path, "udp500-blocked")
    _wait_until_running(proc, tmp_path)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, (out, err)
    assert "interrupted" in err
    _assert_nothing_left(proc.pid)


def test_cleanup_removes_what_a_killed_run_left(lab_environment, tmp_path):
    proc = _start_lab(tmp_path, "udp500-blocked")
    _wait_until_running(proc, tmp_path)
    proc.kill()  # SIGKILL: no chance to clean up
    proc.wait(timeout=10)
    assert _lab_namespaces(proc.pid), "a SIGKILLed run should have left its namespaces"
    result = subprocess.run([PYTHON, "-m", "swandoc", "lab", "--cleanup"], cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    _assert_nothing_left(proc.pid)
    assert not list(Path("/tmp").glob(f"{topology.NAMESPACE_PREFIX}{proc.pid}-*")), "work dir left"


def test_pluto_that_will_not_start_is_a_lab_error_in_one_line(lab_environment, tmp_path):
    """An environment problem, not a swandoc bug: LabError (exit 2), not "internal error" (exit 3)."""
    from dataclasses import replace

    from swandoc.lab.plan import from_scenario
    from swandoc.lab.scenarios import get

    plan = replace(from_scenario(get("healthy")), name="bad-setup", west_setup={"nosuchsetupoption": "1"})
    with pytest.raises(runner.LabError) as caught:
        runner.execute(plan, tmp_path / "out")
    message = str(caught.value)
    assert message.startswith("lab setup failed: west pluto exited at start (rc 1): ")
    assert "nosuchsetupoption" in message and "\n" not in message  # pluto's own reason, one line
    _assert_nothing_left()


def test_a_failed_setup_command_is_a_lab_error_in_one_line():
    try:
        subprocess.run(["ip", "link", "show", "dev", "sdlab-nosuch0"], check=True, capture_output=True, text=True)
    except subprocess.CalledProcessError as exc:
        error = runner._environment_error(exc)
    assert isinstance(error, runner.LabError)
    assert str(error) == ('lab setup failed: ip link show dev sdlab-nosuch0 exited with 1: '
                          'Device "sdlab-nosuch0" does not exist.')


def _open_paths() -> list[str]:
    paths = []
    for fd in Path("/proc/self/fd").iterdir():
        try:
            paths.append(str(fd.readlink()))
        except OSError:
            pass
    return paths


def test_capture_keeps_no_descriptor_of_its_stderr_file(lab_environment, tmp_path):
    from swandoc.lab.capture import Capture

    ns = f"sdfd-{time.monotonic_ns()}"  # not the lab prefix: --cleanup must not see it
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        capture = Capture(ns, "lo", tmp_path / "x.pcap")
        capture.start()
        try:
            assert not [p for p in _open_paths() if p.endswith("x.tcpdump.txt")]
        finally:
            capture.stop()
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
