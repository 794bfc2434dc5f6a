"""A small two-gateway lab for the diagnose tests (fixtures in conftest.py): west - router - east in namespaces.

The protected LANs are empty bridges (the kernel has no dummy module). Each gateway runs its own pluto with a private config, NSS database, run directory and log
file under a temporary directory; nothing of the host's /etc/ipsec.* or /run/pluto is used.
Namespace names start with ``sddiag-`` plus the pid and a random suffix, so parallel runs
cannot collide and leftovers are easy to spot. Everything is torn down at the end.
"""
from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from swandoc.lab.toolset import Toolset

PLUTO = "/usr/libexec/ipsec/pluto"
WEST, ROUTER_W, ROUTER_E, EAST = "192.0.2.1", "192.0.2.254", "198.51.100.254", "198.51.100.2"
WEST_PRIVATE, ROUTER_PRIVATE = "10.99.0.1", "10.99.0.254"
WEST_LAN, EAST_LAN = "203.0.113.0/25", "203.0.113.128/25"


def require_root() -> None:
    if os.geteuid() != 0:
        pytest.fail("the diagnose lab tests need root (network namespaces, pluto); run them as root")
    for tool in ("ip", "ipsec", "iptables", "nft", PLUTO):
        if shutil.which(tool) is None and not os.path.exists(tool):
            pytest.fail(f"the diagnose lab tests need {tool}; install libreswan, iproute2, iptables, nftables")


def sh(*argv: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, check=check, timeout=timeout)


def nsexec(ns: str, *argv: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess:
    return sh("ip", "netns", "exec", ns, *argv, check=check, timeout=timeout)


@dataclass
class Gateway:
    name: str
    ns: str
    workdir: Path
    address: str
    process: subprocess.Popen | None = None
    toolset: Toolset = field(default_factory=Toolset)  # Libreswan 4.x (the host's) or 5.x (the lab's root)

    def run(self, *argv: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess:
        """*argv* in this gateway's namespace with its own Libreswan's programs."""
        return sh(*self.toolset.argv(self.ns, (self.workdir,), *argv), check=check, timeout=timeout)

    @property
    def conf(self) -> Path:
        return self.workdir / "ipsec.conf"

    @property
    def ctl(self) -> Path:
        return self.workdir / "run" / "pluto.ctl"

    @property
    def log(self) -> Path:
        return self.workdir / "pluto.log"

    def write(self, conn_body: str, psk: str = "diagnose-lab-psk") -> None:
        (self.workdir / "run").mkdir(parents=True, exist_ok=True)
        (self.workdir / "ipsec.d").mkdir(exist_ok=True)
        nss = self.workdir / "nss"
        if not (nss / "cert9.db").exists():
            nss.mkdir(exist_ok=True)
            sh("certutil", "-N", "-d", f"sql:{nss}", "--empty-password")
        self.conf.write_text(
            "config setup\n"
            f"\tlogfile={self.log}\n\tlogappend=yes\n\tlogtime=yes\n\tdnssec-enable=no\n\tplutodebug=none\n\n"
            + conn_body)
        secrets_file = self.workdir / "ipsec.secrets"
        secrets_file.write_text(f'@west @east : PSK "{psk}"\n')
        secrets_file.chmod(0o600)

    def start(self) -> None:
        argv = self.toolset.argv(
            self.ns, (self.workdir,), PLUTO, "--config", str(self.conf), "--nofork",
            "--rundir", str(self.workdir / "run"), "--nssdir", str(self.workdir / "nss"),
            "--secretsfile", str(self.workdir / "ipsec.secrets"), "--ipsecdir", str(self.workdir / "ipsec.d"),
            "--logfile", str(self.log))
        self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"pluto in {self.ns} exited; see {self.log}")
            if self.ctl.exists() and self.whack("--status", check=False).returncode == 0:
                break
            time.sleep(0.05)
        else:
            raise RuntimeError(f"pluto in {self.ns} did not start")
        self.run("ipsec", "addconn", "--config", str(self.conf), "--ctlsocket", str(self.ctl), "--autoall",
                 check=False)
        self.whack("--listen", check=False)
        self.whack("--rereadsecrets", check=False)

    def whack(self, *args: str, check: bool = True, timeout: float = 20) -> subprocess.CompletedProcess:
        return self.run("ipsec", "whack", "--ctlsocket", str(self.ctl), *args, check=check, timeout=timeout)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            self.whack("--shutdown", check=False, timeout=5)
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, 9)
            self.process.wait(timeout=5)


@dataclass
class Lab:
    kind: str  # "routed" or "nat"
    run_id: str
    tmp: Path
    namespaces: list[str] = field(default_factory=list)
    west: Gateway | None = None
    east: Gateway | None = None
    cleanup: list[Path] = field(default_factory=list)  # extra directories to remove

    @property
    def router(self) -> str:
        return f"sddiag-{self.run_id}-router"

    def swandoc(self, gw: Gateway, *args: str, conn: str = "west-east", timeout: float = 90) -> subprocess.CompletedProcess:
        """Run ``swandoc diagnose`` for the lab conn inside *gw*'s namespace, as an admin would."""
        python = str(Path(__file__).resolve().parents[2] / ".venv" / "bin" / "python")
        if not os.path.exists(python):
            python = "python3"
        env = ()
        if gw.toolset.root is not None:
            # The gateway's own ipsec first on PATH: to swandoc this host has Libreswan 5 installed.
            bindir = gw.workdir / "bin"
            bindir.mkdir(exist_ok=True)
            (bindir / "ipsec").write_text(gw.toolset.shell_wrapper((gw.workdir,)))
            (bindir / "ipsec").chmod(0o755)
            env = ("env", f"PATH={bindir}:{os.environ.get('PATH', '/usr/sbin:/usr/bin:/sbin:/bin')}")
        return nsexec(gw.ns, *env, python, "-m", "swandoc", "diagnose", conn, "--config", str(gw.conf),
                      "--ctl-socket", str(gw.ctl), *args, check=False, timeout=timeout)

    def teardown(self) -> None:
        for gw in (self.west, self.east):
            if gw:
                gw.stop()
        for ns in reversed(self.namespaces):
            sh("ip", "netns", "del", ns, check=False)
        for path in self.cleanup:
            shutil.rmtree(path, ignore_errors=True)


def conn_text(kind: str, subnets: bool) -> str:
    west_addr = WEST if kind == "routed" else WEST_PRIVATE
    lines = ["conn west-east", "\tauthby=secret", "\tleftid=@west", "\trightid=@east",
             f"\tleft={west_addr}", f"\tright={EAST}", "\tauto=add", "\tretransmit-timeout=20s"]
    if subnets:
        lines += [f"\tleftsubnet={WEST_LAN}", f"\trightsubnet={EAST_LAN}"]
    return "\n".join(lines) + "\n"


def east_conn_text(kind: str, subnets: bool) -> str:
    # East sees west at its real address, or at the router's public address behind NAT; %any
    # accepts both.
    lines = ["conn west-east", "\tauthby=secret", "\tleftid=@west", "\trightid=@east",
             "\tleft=%any", f"\tright={EAST}", "\tauto=add"]
    if subnets:
        lines += [f"\tleftsubnet={WEST_LAN}", f"\trightsubnet={EAST_LAN}"]
    return "\n".join(lines) + "\n"


def build_lab(tmp: Path, kind: str = "routed", subnets: bool = True, version: str = "4") -> Lab:
    """The two gateways run Libreswan *version*: "4" the host's, "5" the lab's Debian 13 root."""
    require_root()
    run_id = f"{os.getpid()}-{secrets.token_hex(2)}"
    lab = Lab(kind, run_id, tmp)
    try:
        names = {role: f"sddiag-{run_id}-{role}" for role in ("west", "router", "east")}
        for ns in names.values():
            sh("ip", "netns", "add", ns)
            lab.namespaces.append(ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        w, r, e = names["west"], names["router"], names["east"]
        # Interfaces are created inside the namespaces, never in the host's.
        sh("ip", "-n", w, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", r)
        sh("ip", "-n", e, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1", "netns", r)
        for ns, dev in ((w, "eth0"), (r, "eth0"), (r, "eth1"), (e, "eth0")):
            sh("ip", "-n", ns, "link", "set", dev, "up")
        west_addr, router_w = (WEST, ROUTER_W) if kind == "routed" else (WEST_PRIVATE, ROUTER_PRIVATE)
        sh("ip", "-n", w, "addr", "add", f"{west_addr}/24", "dev", "eth0")
        sh("ip", "-n", r, "addr", "add", f"{router_w}/24", "dev", "eth0")
        sh("ip", "-n", r, "addr", "add", f"{ROUTER_E}/24", "dev", "eth1")
        sh("ip", "-n", e, "addr", "add", f"{EAST}/24", "dev", "eth0")
        sh("ip", "-n", w, "route", "add", "default", "via", router_w)
        sh("ip", "-n", e, "route", "add", "default", "via", ROUTER_E)
        nsexec(r, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
        if kind == "nat":
            nsexec(r, "iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "eth1", "-j", "MASQUERADE")
        if subnets:
            for ns, cidr in ((w, "203.0.113.1/25"), (e, "203.0.113.129/25")):
                sh("ip", "-n", ns, "link", "add", "lan0", "type", "bridge")
                sh("ip", "-n", ns, "addr", "add", cidr, "dev", "lan0")
                sh("ip", "-n", ns, "link", "set", "lan0", "up")
            # A subnet gateway forwards; the lab sets it so only deliberate faults show up.
            for ns in (w, e):
                nsexec(ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
        tools = Toolset.for_version(version)
        lab.west = Gateway("west", w, tmp / "west", west_addr, toolset=tools)
        lab.east = Gateway("east", e, tmp / "east", EAST, toolset=tools)
        lab.west.write(conn_text(kind, subnets))
        lab.east.write(east_conn_text(kind, subnets))
        lab.east.start()
        lab.west.start()
        return lab
    except BaseException:
        lab.teardown()
        raise
