"""A lab fleet: several gateways, each a namespace with its own pluto and its own sshd.

The fleet exists so that the Ansible playbook (``ansible/swandoc.yml``) can be run for real:
Ansible reaches every node over SSH on its lab address, ``swandoc bundle`` runs inside the
node's namespace (sshd lives there) and sees that node's pluto, config, policies and firewall.

Layout (documentation addresses only; every packet stays inside the namespaces made here)::

    ctl 192.0.2.100 ─┐
    gw-a 192.0.2.11 ─┤
    gw-b 192.0.2.12 ─┼─ br0 in the "lan" namespace
    gw-c 192.0.2.13 ─┤
    gw-d 192.0.2.14 ─┘      gw-e 192.0.2.15 is in the inventory only: nothing answers there

* site-to-site ``gw-a``↔``gw-b`` (conns named differently on each end): gw-b's firewall drops IKE.
* site-to-site ``gw-c``↔``gw-d``: gw-d's secrets file has no PSK for the pair's IDs.
* ``gw-a`` also has a tunnel to ``gw-e``, the inventory host where nothing answers.
* a mesh of all four (reference §4.6, ``authby=null`` so no certificates are needed) whose
  policy files conflict: gw-c puts gw-a in ``clear`` while gw-a requires IPsec; gw-d puts gw-b in
  ``clear`` while gw-b prefers IPsec (silent clear); gw-c blocks gw-d; and gw-d's
  ``private-or-clear`` conn differs from the other three.

Ansible itself runs inside the ``ctl`` namespace, so nothing touches the host's network.
Keys (sshd host keys, the client key) are made per run in the run's temp dir, deleted at the end.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import topology
from .daemon import Pluto, config_setup, kill_group
from .runner import LabError, _environment_error, _signals_raise_interrupt, _uninterruptible, cleanup_stale
from .scenarios import LAB_PSK

LAN_PREFIX = "192.0.2"
CONTROLLER = f"{LAN_PREFIX}.100"
UNREACHABLE = ("gw-e", f"{LAN_PREFIX}.15")  # in the inventory, not in the lab
MESH_RANGE = f"{LAN_PREFIX}.0/28"  # the nodes (.11-.14), not the controller: ssh stays clear
SSHD = "/usr/sbin/sshd"
PLAYBOOK = Path(__file__).resolve().parents[2] / "ansible" / "swandoc.yml"

SITE_OPTIONS = {"authby": "secret", "ikev2": "insist", "keyingtries": "1", "retransmit-interval": "500",
                "retransmit-timeout": "3", "auto": "add"}

MESH_CONNS = {
    "clear": {"type": "passthrough", "authby": "never", "right": "%group", "auto": "ondemand"},
    "private": {"type": "transport", "authby": "null", "leftid": "%null", "rightid": "%null",
                "right": "%opportunisticgroup", "failureshunt": "drop", "negotiationshunt": "drop",
                "auto": "ondemand"},
    "private-or-clear": {"type": "transport", "authby": "null", "leftid": "%null", "rightid": "%null",
                         "right": "%opportunisticgroup", "failureshunt": "passthrough",
                         "negotiationshunt": "passthrough", "auto": "ondemand"},
    "clear-or-private": {"type": "transport", "authby": "null", "leftid": "%null", "rightid": "%null",
                         "right": "%opportunisticgroup", "failureshunt": "passthrough",
                         "negotiationshunt": "passthrough", "auto": "add"},
    "block": {"type": "reject", "authby": "never", "right": "%group", "auto": "ondemand"},
}


@dataclass(frozen=True)
class SiteEnd:
    conn: str
    peer: str  # node name
    subnet: str
    peer_subnet: str
    initiate: bool = False


@dataclass(frozen=True)
class NodePlan:
    name: str
    address: str
    sites: tuple[SiteEnd, ...] = ()
    policies: dict = field(default_factory=dict)  # group -> prefixes
    mesh_overrides: dict = field(default_factory=dict)  # group -> options that differ on this node
    secrets_ids: dict = field(default_factory=dict)  # conn -> the IDs its PSK line names (a fault when wrong)
    firewall: tuple[tuple[str, ...], ...] = ()  # iptables argv lists run in the node


def _addr(n: int) -> str:
    return f"{LAN_PREFIX}.{n}"


NODES = (
    NodePlan("gw-a", _addr(11), sites=(SiteEnd("site-ab", "gw-b", "203.0.113.0/28", "203.0.113.16/28", True),
                                       SiteEnd("to-e", UNREACHABLE[0], "203.0.113.0/28", "203.0.113.64/28", True)),
             policies={"private": [MESH_RANGE]}),
    NodePlan("gw-b", _addr(12), sites=(SiteEnd("ab-link", "gw-a", "203.0.113.16/28", "203.0.113.0/28"),),
             policies={"private-or-clear": [MESH_RANGE]},
             firewall=(("-A", "INPUT", "-p", "udp", "--dport", "500", "-j", "DROP"),)),
    NodePlan("gw-c", _addr(13), sites=(SiteEnd("cd", "gw-d", "203.0.113.32/28", "203.0.113.48/28", True),),
             policies={"private": [MESH_RANGE], "clear": [f"{_addr(11)}/32"], "block": [f"{_addr(14)}/32"]}),
    NodePlan("gw-d", _addr(14), sites=(SiteEnd("to-c", "gw-c", "203.0.113.48/28", "203.0.113.32/28"),),
             policies={"private-or-clear": [MESH_RANGE], "clear": [f"{_addr(12)}/32"]},
             mesh_overrides={"private-or-clear": {"negotiationshunt": "drop"}},
             secrets_ids={"to-c": "@somebody @else"}),
)
# What the fleet report must say (the tests check it): tunnel -> (root cause id, host it is seen on, end to fix)
EXPECTED_TUNNELS = {
    frozenset({"gw-a", "gw-b"}): ("local-firewall-blocks-ike", "gw-b", "gw-b"),
    frozenset({"gw-c", "gw-d"}): ("secret-not-found", "gw-d", "gw-d"),
}
# the tunnel to the host that gave no bundle: only gw-a's end, which sees no answer from gw-e
EXPECTED_ONE_SIDED = {frozenset({"gw-a", UNREACHABLE[0]}): ("peer-unreachable", "gw-a", UNREACHABLE[0])}
EXPECTED_MESH = {frozenset({"gw-a", "gw-c"}): "no-traffic", frozenset({"gw-b", "gw-d"}): "clear-fallback",
                 frozenset({"gw-c", "gw-d"}): "blocked"}


def _conn_text(name: str, options: dict[str, str]) -> str:
    return f"conn {name}\n" + "".join(f"\t{k}={v}\n" for k, v in options.items()) + "\n"


def node_config(plan: NodePlan, logfile: Path) -> tuple[str, str]:
    """ipsec.conf and ipsec.secrets of one node (left is always this node)."""
    addresses = {n.name: n.address for n in NODES}
    addresses[UNREACHABLE[0]] = UNREACHABLE[1]
    text = config_setup(logfile, debug=False) + "\n"
    secrets = "# swandoc lab fleet: throwaway secrets made for this run only.\n"
    for site in plan.sites:
        text += _conn_text(site.conn, {"left": plan.address, "right": addresses[site.peer],
                                       "leftid": f"@{plan.name}", "rightid": f"@{site.peer}", "leftsubnet": site.subnet,
                                       "rightsubnet": site.peer_subnet, **SITE_OPTIONS})
        ids = plan.secrets_ids.get(site.conn, f"@{plan.name} @{site.peer}")
        secrets += f'{ids} : PSK "{LAB_PSK}"\n'
    for group, options in MESH_CONNS.items():
        text += _conn_text(group, {"left": plan.address, **options, **plan.mesh_overrides.get(group, {})})
    return text, secrets


@dataclass
class Node:
    plan: NodePlan
    namespace: str
    workdir: Path
    pluto: Pluto
    sshd: subprocess.Popen | None = None

    @property
    def name(self) -> str:
        return self.plan.name

    def bundle_args(self) -> list[str]:
        """What ``swandoc bundle`` needs to see this node's pluto rather than the host's."""
        p = self.pluto
        return ["--config", str(p.conf), "--secrets", str(p.secrets), "--ctl-socket", str(p.ctlsocket),
                "--log", str(p.logfile), "--timeout", "5"]


@dataclass
class FleetLab:
    """Owns every namespace, daemon and file of one fleet run; ``__exit__`` releases them all."""

    run_id: str = field(default_factory=topology.new_run_id)
    workdir: Path | None = None
    namespaces: list[str] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    controller_ns: str = ""
    notes: list[str] = field(default_factory=list)

    def __enter__(self) -> "FleetLab":
        _require()
        for stale in cleanup_stale():
            self.notes.append(f"removed stale lab namespace {stale}")
        self.workdir = Path(tempfile.mkdtemp(prefix=f"{topology.NAMESPACE_PREFIX}{os.getpid()}-fleet-"))
        try:
            self._build()
        except BaseException as exc:
            self.teardown()
            if isinstance(exc, (RuntimeError, subprocess.CalledProcessError)) and not isinstance(exc, LabError):
                raise _environment_error(exc) from exc
            raise
        return self

    def __exit__(self, *exc) -> None:
        with _uninterruptible():  # a second Ctrl-C must not leave namespaces or daemons behind
            self.teardown()

    # -- building -------------------------------------------------------------------

    def _ns(self, role: str) -> str:
        name = f"{topology.NAMESPACE_PREFIX}{self.run_id}-{role}"
        topology.run_ip("netns", "add", name)
        self.namespaces.append(name)
        topology.run_ip("-n", name, "link", "set", "lo", "up")
        return name

    def _attach(self, lan: str, ns: str, port: str, cidr: str) -> None:
        topology.run_ip("-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", port, "netns", lan)
        topology.run_ip("-n", lan, "link", "set", port, "master", "br0")
        topology.run_ip("-n", lan, "link", "set", port, "up")
        topology.run_ip("-n", ns, "addr", "add", cidr, "dev", "eth0")
        topology.run_ip("-n", ns, "link", "set", "eth0", "up")

    def _build(self) -> None:
        lan = self._ns("lan")
        topology.run_ip("-n", lan, "link", "add", "br0", "type", "bridge")
        topology.run_ip("-n", lan, "link", "set", "br0", "up")
        self.controller_ns = self._ns("ctl")
        self._attach(lan, self.controller_ns, "p-ctl", f"{CONTROLLER}/24")
        for plan in NODES:
            ns = self._ns(plan.name)
            self._attach(lan, ns, f"p-{plan.name}", f"{plan.address}/24")
            wd = self.workdir / plan.name
            conf, secrets = node_config(plan, wd / "pluto.log")
            pluto = Pluto(plan.name, ns, wd, conf, secrets)
            pluto.prepare()
            policies = wd / "ipsec.d" / "policies"
            policies.mkdir(parents=True, exist_ok=True)
            for group, prefixes in plan.policies.items():
                (policies / group).write_text("".join(f"{p}\n" for p in prefixes))
            # a gateway forwards for the subnets behind it (a fresh namespace does not)
            topology.netns_exec(ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
            for rule in plan.firewall:
                topology.netns_exec(ns, "iptables", *rule)
            self.nodes.append(Node(plan, ns, wd, pluto))
        self._ssh_keys()
        for node in self.nodes:
            node.pluto.start()
        self._negotiate()
        for node in self.nodes:
            self._start_sshd(node)

    def _negotiate(self) -> None:
        """Load every conn, then let the initiators try their site-to-site tunnels (in parallel)."""
        for node in self.nodes:
            node.pluto.add_connections()
        threads = []
        for node in self.nodes:
            for site in node.plan.sites:
                if site.initiate:
                    t = threading.Thread(target=node.pluto.initiate, args=(site.conn, 30), daemon=True)
                    t.start()
                    threads.append(t)
        for t in threads:
            t.join(40)
        time.sleep(0.5)  # the responders log the end of the exchange

    def _ssh_keys(self) -> None:
        keys = self.workdir / "ssh"
        keys.mkdir(mode=0o700)
        _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "swandoc-fleet-controller",
              "-f", str(keys / "id_ed25519")])
        (keys / "authorized_keys").write_text((keys / "id_ed25519.pub").read_text())
        known = []
        for node in self.nodes:
            key = node.workdir / "ssh_host_ed25519_key"
            _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", node.name, "-f", str(key)])
            kind, blob = Path(str(key) + ".pub").read_text().split()[:2]
            known.append(f"{node.plan.address} {kind} {blob}\n")
        (keys / "known_hosts").write_text("".join(known))

    def _start_sshd(self, node: Node, timeout: float = 10.0) -> None:
        # sshd insists on its privilege separation directory, which Debian's package makes at
        # boot (tmpfiles.d); a fresh container may not have it yet. It is empty and root's.
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        keys = self.workdir / "ssh"
        config = node.workdir / "sshd_config"
        config.write_text("\n".join([
            f"ListenAddress {node.plan.address}", "Port 22",
            f"HostKey {node.workdir / 'ssh_host_ed25519_key'}",
            f"PidFile {node.workdir / 'sshd.pid'}",
            f"AuthorizedKeysFile {keys / 'authorized_keys'}",
            "PermitRootLogin prohibit-password", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
            "UsePAM no", "StrictModes no", "UseDNS no", "PrintMotd no",
            "Subsystem sftp /usr/lib/openssh/sftp-server", ""]))
        with open(node.workdir / "sshd.log", "wb") as log:
            node.sshd = subprocess.Popen(["ip", "netns", "exec", node.namespace, SSHD, "-D", "-e", "-f", str(config)],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if node.sshd.poll() is not None:
                said = (node.workdir / "sshd.log").read_text(errors="replace").strip().splitlines()
                raise LabError(f"sshd of {node.name} exited at start: {said[-1] if said else 'no output'}")
            listening = topology.netns_exec(node.namespace, "ss", "-Htln", check=False).stdout
            if f"{node.plan.address}:22 " in listening:
                return
            time.sleep(0.05)
        raise LabError(f"sshd of {node.name} did not listen on {node.plan.address}:22 within {timeout}s")

    # -- Ansible ----------------------------------------------------------------------

    def inventory(self, swandoc_bin: str) -> Path:
        """A YAML (JSON) inventory: every node over SSH, plus one address where nothing answers."""
        keys = self.workdir / "ssh"
        hosts = {n.name: {"ansible_host": n.plan.address, "swandoc_bundle_args": n.bundle_args()}
                 for n in self.nodes}
        hosts[UNREACHABLE[0]] = {"ansible_host": UNREACHABLE[1]}
        inv = {"all": {"children": {"gateways": {"hosts": hosts}}, "vars": {
            "ansible_user": "root",
            "ansible_ssh_private_key_file": str(keys / "id_ed25519"),
            "ansible_ssh_common_args": f"-o UserKnownHostsFile={keys / 'known_hosts'} -o StrictHostKeyChecking=yes "
                                       "-o ConnectTimeout=5 -o BatchMode=yes",
            "ansible_python_interpreter": "/usr/bin/python3",
            "ansible_remote_tmp": str(self.workdir / "remote-tmp"),
            "swandoc_bin": swandoc_bin,
            "swandoc_become": False,  # sshd logs in as root already
        }}}
        path = self.workdir / "inventory.yml"
        path.write_text(json.dumps(inv, indent=2))
        return path

    def run_playbook(self, fetch_dir: Path, *, swandoc_bin: str | None = None, timeout: float = 600,
                     extra_vars: dict | None = None) -> subprocess.CompletedProcess:
        """``ansible-playbook ansible/swandoc.yml`` from the controller namespace."""
        swandoc_bin = swandoc_bin or default_swandoc_bin()
        inventory = self.inventory(swandoc_bin)
        variables = {"swandoc_fetch_dir": str(fetch_dir), **(extra_vars or {})}
        return run_ansible(inventory, variables, self.workdir / "ansible", timeout=timeout,
                           netns=self.controller_ns)

    # -- teardown ---------------------------------------------------------------------

    def teardown(self) -> None:
        for node in self.nodes:
            if node.sshd is not None and node.sshd.poll() is None:
                kill_group(node.sshd, signal.SIGTERM)
                try:
                    node.sshd.wait(5)
                except subprocess.TimeoutExpired:
                    kill_group(node.sshd, signal.SIGKILL)
            try:
                node.pluto.stop()
            except Exception as exc:  # keep going: namespaces and files must still go
                self.notes.append(f"teardown: {node.name} pluto: {exc}")
        for ns in reversed(self.namespaces):
            for pid in topology.run_ip("netns", "pids", ns, check=False).stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            topology.delete_namespace(ns)
        self.namespaces.clear()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None


def default_swandoc_bin() -> str:
    """The swandoc of this Python (the venv's), else the one on PATH."""
    here = Path(sys.executable).parent / "swandoc"
    return str(here) if here.exists() else (shutil.which("swandoc") or "swandoc")


def run_ansible(inventory: Path, variables: dict, home: Path, *, timeout: float = 600,
                netns: str | None = None) -> subprocess.CompletedProcess:
    """Run the playbook with Ansible's state kept in *home* (never ~/.ansible), output captured."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "vars.json").write_text(json.dumps(variables))
    env = {**os.environ, "ANSIBLE_HOME": str(home), "ANSIBLE_LOCAL_TEMP": str(home / "tmp"),
           "ANSIBLE_SSH_CONTROL_PATH_DIR": str(home / "cp"), "ANSIBLE_RETRY_FILES_ENABLED": "false",
           "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_HOST_KEY_CHECKING": "true",
           "ANSIBLE_FORKS": "10", "ANSIBLE_TIMEOUT": "10", "ANSIBLE_DEPRECATION_WARNINGS": "false",
           }
    env.pop("ANSIBLE_CONFIG", None)  # cwd is ansible/, which has no ansible.cfg: only what is set here
    argv = ["ansible-playbook", "-i", str(inventory), str(PLAYBOOK), "-e", f"@{home / 'vars.json'}"]
    if netns:
        argv = ["ip", "netns", "exec", netns, *argv]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env,
                          cwd=str(PLAYBOOK.parent))


def _run(argv: list[str]) -> None:
    subprocess.run(argv, check=True, capture_output=True, text=True, timeout=60)


def _require() -> None:
    if os.geteuid() != 0:
        raise LabError("the lab fleet needs root (network namespaces, pluto, sshd)")
    missing = [t for t in ("ip", "ipsec", "certutil", "iptables", "ssh-keygen", "ansible-playbook", "ssh")
               if shutil.which(t) is None]
    if not os.path.exists(SSHD):
        missing.append(SSHD)
    if missing:
        raise LabError(f"the lab fleet needs these tools installed: {', '.join(missing)} "
                       "(scripts/setup-debian --test installs them)")


def make_fixtures(out_dir: Path) -> subprocess.CompletedProcess:
    """Run the fleet and the playbook; keep the bundles (fixtures/fleet is made this way)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with _signals_raise_interrupt(), FleetLab() as lab:  # SIGTERM tears down like Ctrl-C
        fetch = lab.workdir / "fetch"
        result = lab.run_playbook(fetch)
        for bundle in sorted(fetch.glob("*.tar.xz")):
            shutil.copyfile(bundle, out_dir / bundle.name)
        shutil.copyfile(fetch / "failures.json", out_dir / "failures.json")
    return result


if __name__ == "__main__":  # python -m swandoc.lab.fleet OUT_DIR
    done = make_fixtures(Path(sys.argv[1]))
    print(done.stdout[-2000:], done.stderr[-2000:], f"ansible-playbook exit status {done.returncode}")
