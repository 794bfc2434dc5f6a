"""Run a lab plan end to end and leave the evidence in an output directory.

Order of a run: namespaces -> daemons' files and keys -> faults -> capture -> east pluto
-> west pluto -> initiate from west -> (traffic test if a Child SA came up) -> shutdown ->
copy evidence -> teardown. Teardown happens in ``LabRun.__exit__`` whatever went wrong,
including Ctrl-C and SIGTERM.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ..bundle.redact import redact_secrets
from ..errors import SwandocError
from . import credentials, kernel, roots, topology
from .capture import Capture
from .daemon import Pluto, config_setup
from .toolset import Toolset
from .plan import Plan, from_scenario, render_conn
from .scenarios import VIEWS
from .scenarios import get as get_scenario

EVIDENCE_FILES = ("west.log", "east.log", "west-whack.txt", "west.pcap", "west.conf", "east.conf",
                  "west.secrets", "east.secrets", "lab.json")
# Time east gets to log the end of an exchange after west's whack has returned.
SETTLE_SECONDS = 0.5
# Every scenario's exchange ends within ~12 s (retransmit-timeout=3). Libreswan 5 ignores keyingtries=1
# for a connection it was told to bring up and, when the Child SA is refused, whack waits for pluto's
# 60 s exchange timeout: stop listening sooner; the logs already hold the whole story by then.
INITIATE_TIMEOUT = 20


class LabError(SwandocError):
    """The lab itself could not run (missing tool, not root, broken setup): one line, exit 2."""


def _environment_error(exc: Exception) -> LabError:
    """One line for a step of the lab that failed on this machine (not a swandoc bug).

    The steps raise RuntimeError (pluto or tcpdump would not start) or CalledProcessError
    (certutil, ip, iptables said no); the CLI turns only LabError into a plain message.
    """
    if isinstance(exc, subprocess.CalledProcessError):
        argv = exc.cmd if isinstance(exc.cmd, (list, tuple)) else [str(exc.cmd)]
        said = exc.stderr or exc.stdout or ""
        said = said.decode(errors="replace") if isinstance(said, bytes) else said
        last = said.strip().splitlines()[-1] if said.strip() else "no output"
        return LabError(f"lab setup failed: {' '.join(map(str, argv))} exited with {exc.returncode}: {last}")
    text = " ".join(str(exc).split()) or type(exc).__name__
    return LabError(f"lab setup failed: {text}")


@dataclass(frozen=True)
class Outcome:
    ike_established: bool
    child_established: bool
    sa_install_failed: bool
    traffic_ok: bool | None  # None: no traffic test was possible
    whack_rc: int


@dataclass(frozen=True)
class LabResult:
    scenario: str
    description: str
    out_dir: Path
    kernel_esp: bool
    kernel_espintcp: bool
    expected: str | None  # finding id expected from both ends' evidence together
    outcome: Outcome
    duration: float
    files: tuple[str, ...]
    notes: tuple[str, ...] = ()

    def path(self, name: str) -> Path:
        return self.out_dir / name

    def evidence_paths(self) -> list[Path]:
        """The files analysis should read: both logs, whack output and the capture."""
        names = ("west.log", "west-whack.txt", "east.log", "west.pcap")
        return [self.out_dir / n for n in names if (self.out_dir / n).exists()]


def require_root() -> None:
    if os.geteuid() != 0:
        raise LabError("swandoc lab needs root (it creates network namespaces and runs pluto)")
    missing = [tool for tool in ("ip", "ipsec", "certutil", "tcpdump", "iptables")
               if shutil.which(tool) is None]
    if missing:
        raise LabError(f"swandoc lab needs these tools installed: {', '.join(missing)}")


def cleanup_stale(all_runs: bool = False) -> list[str]:
    """Delete lab namespaces left behind by runs that died (or all, with *all_runs*).

    Processes still running inside those namespaces (pluto, tcpdump) are killed first.
    """
    names = topology.lab_namespaces() if all_runs else topology.stale_namespaces()
    for name in names:
        pids = topology.run_ip("netns", "pids", name, check=False).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        topology.delete_namespace(name)
    _remove_stale_workdirs(all_runs)
    return names


def _remove_stale_workdirs(all_runs: bool) -> None:
    """Temp dirs (configs, NSS databases with the lab's keys) of runs that died."""
    for path in Path(tempfile.gettempdir()).glob(f"{topology.NAMESPACE_PREFIX}*"):
        pid_text = path.name[len(topology.NAMESPACE_PREFIX):].split("-", 1)[0]
        if not path.is_dir() or not pid_text.isdigit():
            continue
        if all_runs or not topology.pid_alive(int(pid_text)):
            shutil.rmtree(path, ignore_errors=True)


@contextmanager
def _signals_raise_interrupt():
    """SIGTERM behaves like Ctrl-C so the same cleanup runs. Main thread only."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    old_term = signal.signal(signal.SIGTERM, _raise)
    old_int = signal.signal(signal.SIGINT, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old_term)
        signal.signal(signal.SIGINT, old_int)


@contextmanager
def _uninterruptible():
    """Let teardown finish even if Ctrl-C is pressed again."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
    old_term = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)


@dataclass
class LabRun:
    """Owns every resource of one run; ``__exit__`` releases all of them."""

    plan: Plan
    out_dir: Path
    debug: bool = False
    topo: topology.Topology | None = None
    workdir: Path | None = None
    west: Pluto | None = None
    east: Pluto | None = None
    capture: Capture | None = None
    notes: list[str] = field(default_factory=list)
    # which Libreswan each side runs ("4": the host's; "5": the Debian 13 root)
    toolsets: dict[str, Toolset] = field(default_factory=lambda: {"west": Toolset(), "east": Toolset()})

    def __enter__(self) -> "LabRun":
        self.out_dir.mkdir(parents=True, exist_ok=True)
        # pid in the name, like the namespaces, so --cleanup can tell a dead run's files
        self.workdir = Path(tempfile.mkdtemp(prefix=f"{topology.NAMESPACE_PREFIX}{os.getpid()}-"))
        return self

    def __exit__(self, *exc) -> None:
        with _uninterruptible():
            self.teardown()

    def teardown(self) -> None:
        for step in (self._stop_capture, self._stop_daemons, self._delete_topology, self._remove_workdir):
            try:
                step()
            except Exception as exc:  # keep going: the next step must still run
                self.notes.append(f"teardown: {step.__name__}: {exc}")

    def _stop_daemons(self) -> None:
        for daemon in (self.west, self.east):
            if daemon is not None:
                daemon.stop()

    def _stop_capture(self) -> None:
        if self.capture is not None:
            summary = self.capture.stop()
            self.capture = None
            if summary:
                self.notes.append("tcpdump: " + " / ".join(summary.splitlines()[-3:]))

    def _delete_topology(self) -> None:
        if self.topo is not None:
            # Anything still alive in the namespaces would keep nothing alive after the
            # namespace goes, but kill it anyway so no process is left behind.
            for ns in list(self.topo.namespaces):
                for pid in topology.run_ip("netns", "pids", ns, check=False).stdout.split():
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                    except (ProcessLookupError, ValueError):
                        pass
            self.topo.delete()
            self.topo = None

    def _remove_workdir(self) -> None:
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    # -- the run itself -------------------------------------------------------------

    def build(self) -> None:
        self.topo = topology.build(self.plan.topology)
        if self.plan.subnets:
            self.topo.add_subnet_addresses()
        west_setup = config_setup(self.workdir / "west" / "pluto.log", debug=self.debug,
                                  extra=self.plan.west_setup)
        east_setup = config_setup(self.workdir / "east" / "pluto.log", debug=self.debug,
                                  extra=self.plan.east_setup)
        self.west = Pluto("west", self.topo.west_ns, self.workdir / "west", west_setup, self.plan.west_secrets,
                          toolset=self.toolsets["west"])
        self.east = Pluto("east", self.topo.east_ns, self.workdir / "east", east_setup, self.plan.east_secrets,
                          toolset=self.toolsets["east"])
        for daemon in (self.west, self.east):
            daemon.prepare()
        west_conn, east_conn = self._auth_material()
        self.west.config_text = west_setup + "\n" + render_conn(self.plan.conn_name, west_conn)
        self.east.config_text = east_setup + "\n" + render_conn(self.plan.conn_name_for("east"), east_conn)
        for daemon in (self.west, self.east):
            daemon.write_config()

    def _auth_material(self) -> tuple[dict[str, str], dict[str, str]]:
        west_conn, east_conn = dict(self.plan.west_conn), dict(self.plan.east_conn)
        if self.plan.auth == "rsa-raw":
            keys = {}
            for daemon in (self.west, self.east):
                ckaid = credentials.new_raw_rsa_key(daemon.nssdir)
                keys[f"{daemon.side}_rsasigkey"] = credentials.raw_rsa_pubkey(daemon.nssdir, ckaid)
            for conn in (west_conn, east_conn):
                for key, value in conn.items():
                    conn[key] = value.format(**keys) if "{" in value else value
        elif self.plan.auth in ("x509", "x509-untrusted"):
            credentials.make_x509(self.workdir, self.west.nssdir, self.east.nssdir,
                                  untrusted_west=self.plan.auth == "x509-untrusted",
                                  bits=self.plan.cert_bits)
        return west_conn, east_conn

    def inject_faults(self) -> None:
        for fault in self.plan.faults:
            ns = {"west": self.topo.west_ns, "east": self.topo.east_ns,
                  "router": self.topo.router_ns}[fault.where]
            if fault.kind == "firewall":
                topology.netns_exec(ns, "iptables", *fault.args)
            elif fault.kind == "nft":
                subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", "-"], input="\n".join(fault.args),
                               text=True, check=True, capture_output=True)
            elif fault.kind == "mtu":
                topology.run_ip("-n", ns, "link", "set", fault.args[1], "mtu", fault.args[0])

    def negotiate(self) -> tuple[str, int]:
        self.capture = Capture(self.topo.west_ns, self.topo.west_if, self.out_dir / "west.pcap")
        self.capture.start()
        if self.plan.start_east:
            self.east.start()
            self._wait_loaded(self.east)
        else:
            self.notes.append("east pluto deliberately not started (fault: no-responder)")
        self.west.start()
        self._wait_loaded(self.west)
        whack_out, whack_rc = self.west.initiate(self.plan.conn_name, timeout=INITIATE_TIMEOUT)
        time.sleep(SETTLE_SECONDS)
        return whack_out, whack_rc

    def _wait_loaded(self, daemon: Pluto, timeout: float = 5.0) -> None:
        """pluto loads the conns of --config itself at start; wait until it has (or gave up).

        A conn pluto refuses (e.g. IKEv1 under ``ikev1-policy=drop``) is not an error of
        the lab: pluto logs why, and the scenario carries on so that the log shows it.
        """
        name = self.plan.conn_name_for(daemon.side)
        loaded = f'"{name}":'
        refused = f'"{name}": failed to add'
        deadline = time.monotonic() + timeout
        status = ""
        while time.monotonic() < deadline:
            status = daemon.whack("--status")
            # The conn appears before pluto has bound its interfaces; an initiate in between gets
            # "need --listen before --initiate". Wait for a non-loopback interface too.
            if loaded in status and re.search(r"interface (?!lo\b)\S+", status):
                return
            log = daemon.logfile.read_text(errors="replace") if daemon.logfile.exists() else ""
            if refused in log:
                self.notes.append(f"{daemon.side}: pluto refused to load the connection (see {daemon.side}.log)")
                return
            time.sleep(0.05)
        if loaded in status:
            self.notes.append(f"{daemon.side}: pluto listed no interface but loopback within {timeout}s")
            daemon.whack("--listen")
            return
        # Neither: ask addconn, whose error output says why (bad option, bad key ...).
        result = daemon.addconn(name)
        self.notes.append(f"{daemon.side}: connection was not loaded at start; addconn said: "
                          f"{(result.stdout + result.stderr).strip()}")

    def traffic_test(self) -> bool:
        """Ping through the tunnel (only meaningful once a Child SA is installed)."""
        if self.plan.subnets:
            argv = ["ping", "-c", "3", "-i", "0.2", "-W", "1", "-I", topology.WEST_SUBNET_HOST,
                    topology.EAST_SUBNET_HOST]
        else:
            argv = ["ping", "-c", "3", "-i", "0.2", "-W", "1", self.topo.east_ip]
        result = topology.netns_exec(self.topo.west_ns, *argv, check=False)
        self.notes.append("traffic test: " + " ".join(argv[1:]) + " -> " +
                          (result.stdout.strip().splitlines() or ["no output"])[-1])
        xfrm = topology.run_ip("-n", self.topo.west_ns, "-s", "xfrm", "state", check=False).stdout
        self.notes.append("west xfrm state after ping: " + " | ".join(
            line.strip() for line in xfrm.splitlines() if "bytes" in line or "src" in line))
        return result.returncode == 0

    def stop_daemons_and_capture(self) -> None:
        # Capture first: the shutdown's delete notifies and ICMP port unreachables are
        # not part of the scenario and would mislead an analysis of the pcap.
        self._stop_capture()
        self._stop_daemons()


def _without_debug(log: str) -> str:
    """The log without plutodebug lines ("TIME: | ..."): 5.x's debug state tables say "established Child SA"."""
    return "\n".join(line for line in log.splitlines() if ": | " not in line[:40])


def _outcome_from_logs(west_log: str, east_log: str, whack_rc: int, traffic_ok: bool | None) -> Outcome:
    """A plain summary for lab.json; diagnosing is swandoc.analysis's job, not this."""
    west_log, east_log = _without_debug(west_log), _without_debug(east_log)
    both = west_log + east_log
    ike = ("established IKE SA" in west_log or "ISAKMP SA established" in west_log
           or "established ISAKMP SA" in west_log or "IKE SA established" in west_log)
    child = ("established Child SA" in west_log or "IPsec SA established" in west_log)
    install_failed = "netlink response for Add SA" in both or "setup_half_ipsec_sa() hit fail" in both
    return Outcome(ike, child, install_failed, traffic_ok, whack_rc)


def _toolsets(versions: tuple[str, str]) -> dict[str, Toolset]:
    """west's and east's Libreswan; a missing 5.x root is built here (once per machine)."""
    try:
        return {side: Toolset.for_version(version, log=lambda msg: print(f"swandoc lab: {msg}", file=sys.stderr))
                for side, version in zip(("west", "east"), versions)}
    except roots.RootError as exc:
        raise LabError(str(exc)) from exc


def execute(plan: Plan, out_dir: Path, *, debug: bool = False, kind: str = "scenario",
            notes: tuple[str, ...] = (), versions: tuple[str, str] = ("4", "4")) -> LabResult:
    require_root()
    toolsets = _toolsets(versions)
    started = time.monotonic()
    started_wall = datetime.now(timezone.utc).isoformat(timespec="seconds")
    support = kernel.detect()
    out_dir = Path(out_dir)
    timings: dict[str, float] = {}
    run = LabRun(plan, out_dir, debug=debug, notes=list(notes), toolsets=toolsets)
    try:
        whack_rc, traffic_ok = _run(run, support, started, timings)
    except LabError:
        raise
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        raise _environment_error(exc) from exc
    # Built after the with block in _run: the notes teardown adds on the way out count too.
    west_log = (out_dir / "west.log").read_text(errors="replace")
    east_log = (out_dir / "east.log").read_text(errors="replace")
    outcome = _outcome_from_logs(west_log, east_log, whack_rc, traffic_ok)
    duration = round(time.monotonic() - started, 3)
    timings["total"] = duration
    expected = (plan.scenario.expected_for(support.esp, "both", support.espintcp, versions[1])
                if plan.scenario else None)
    files = tuple(n for n in EVIDENCE_FILES if n == "lab.json" or (out_dir / n).exists())
    result = LabResult(plan.name, plan.description, out_dir, support.esp, support.espintcp, expected,
                       outcome, duration, files, tuple(run.notes))
    _write_lab_json(result, plan, support, timings, started_wall, kind, toolsets, versions[1])
    return result


def _run(run: LabRun, support: kernel.KernelSupport, started: float,
         timings: dict[str, float]) -> tuple[int, bool | None]:
    """Everything that needs namespaces and daemons; all of it is gone when this returns."""
    with _signals_raise_interrupt(), run:
        for stale in cleanup_stale():
            run.notes.append(f"removed stale lab namespace {stale}")
        run.build()
        run.inject_faults()
        timings["setup"] = round(time.monotonic() - started, 3)
        t0 = time.monotonic()
        whack_out, whack_rc = run.negotiate()
        timings["negotiate"] = round(time.monotonic() - t0, 3)
        west_log_live = run.west.logfile.read_text(errors="replace") if run.west.logfile.exists() else ""
        traffic_ok = None
        west_log_live = _without_debug(west_log_live)
        child_up = "established Child SA" in west_log_live or "IPsec SA established" in west_log_live
        if child_up and support.esp:
            traffic_ok = run.traffic_test()
        run.stop_daemons_and_capture()
        _collect(run, whack_out)
    return whack_rc, traffic_ok


def _collect(run: LabRun, whack_out: str) -> None:
    out = run.out_dir
    for daemon, name in ((run.west, "west"), (run.east, "east")):
        log = daemon.logfile
        if log.exists():
            shutil.copyfile(log, out / f"{name}.log")
        else:
            (out / f"{name}.log").write_text("")
        shutil.copyfile(daemon.conf, out / f"{name}.conf")
        secrets = daemon.secrets.read_text()
        if run.plan.auth == "user":
            # The user's real keys stay in the lab's temp dir (deleted); the out dir gets
            # the structure only.
            secrets = redact_secrets(secrets)[0]
        (out / f"{name}.secrets").write_text(secrets)
    (out / "west-whack.txt").write_text(whack_out)


def _expected_by_view(plan: Plan, support: kernel.KernelSupport,
                      responder_version: str = "4") -> dict[str, str] | None:
    """What each end's evidence alone should be diagnosed as (some ends cannot see the cause)."""
    s = plan.scenario
    if s is None:
        return None
    return {view: s.expected_for(support.esp, view, support.espintcp, responder_version)
            for view in VIEWS if view not in s.blind_views}


def _write_lab_json(result: LabResult, plan: Plan, support: kernel.KernelSupport, timings: dict,
                    started_wall: str, kind: str, toolsets: dict[str, Toolset],
                    responder_version: str = "4") -> None:
    # Each daemon's own ``ipsec --version``, asked of the programs that really ran it.
    versions = {side: t.version_line() for side, t in toolsets.items()}
    data = {
        "scenario": result.scenario,
        "kind": kind,
        "description": result.description,
        "expected_finding": result.expected,
        "expected_by_view": _expected_by_view(plan, support, responder_version),
        "kernel_esp": support.esp,
        "kernel": support.as_dict(),
        "libreswan": versions["west"] if versions["west"] == versions["east"] else
                     f"west {versions['west']}, east {versions['east']}",
        "libreswan_by_side": versions,
        "libreswan_major": {side: t.version for side, t in toolsets.items()},
        "topology": plan.topology,
        "auth": plan.auth,
        "faults": [asdict(f) for f in plan.faults],
        "started": started_wall,
        "timings_seconds": timings,
        "outcome": asdict(result.outcome),
        "files": list(result.files),
        "notes": list(result.notes),
    }
    (result.out_dir / "lab.json").write_text(json.dumps(data, indent=2) + "\n")


def run_scenario(name: str, out_dir: Path | str, *, debug: bool = False,
                 versions: tuple[str, str] = ("4", "4")) -> LabResult:
    """Run scenario *name*; *versions* are west's and east's Libreswan ("4" host, "5" Debian 13 root)."""
    return execute(from_scenario(get_scenario(name)), Path(out_dir), debug=debug, versions=versions)


def run_configs(west_conf: Path | str, east_conf: Path | str, west_secrets: Path | str | None = None,
                east_secrets: Path | str | None = None, *, out_dir: Path | str, debug: bool = False,
                versions: tuple[str, str] = ("4", "4")) -> LabResult:
    """Run the first conn of two user-supplied ipsec.conf files against each other.

    Addresses and subnets are mapped onto the lab's; the mapped configs are what end up
    in ``west.conf``/``east.conf`` of the out dir.
    """
    from .userconf import ConfigError, plan_from_configs, read

    try:
        plan, notes = plan_from_configs(read(west_conf), read(east_conf), read(west_secrets), read(east_secrets))
    except ConfigError as exc:
        raise LabError(f"cannot use these configs: {exc}") from exc
    return execute(plan, Path(out_dir), debug=debug, kind="user-configs", notes=tuple(notes), versions=versions)
