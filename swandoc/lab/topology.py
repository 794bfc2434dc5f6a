"""Network namespaces and veth pairs for one lab run.

Three shapes:

* ``plain``  west 192.0.2.1/24 <-> east 192.0.2.2/24 on one link.
* ``router`` west 192.0.2.1/24 <-> router <-> east 198.51.100.2/24, so a fault can be
  placed on the path (MTU, a drop rule) without touching either peer.
* ``nat``    west 10.99.0.1/24 behind a router that masquerades it to 198.51.100.254,
  so NAT-T moves IKE to UDP 4500.

Interfaces are created inside the namespaces (``ip -n NS link add ... peer ... netns
OTHER``), never in the host namespace, so the host's interfaces are never touched.
"""
from __future__ import annotations

import os
import secrets
import subprocess
from dataclasses import dataclass, field

NAMESPACE_PREFIX = "sdlab-"

# Address plan (documentation ranges only, plus a private range that exists only
# behind the lab's NAT router).
WEST_PLAIN = "192.0.2.1"
EAST_PLAIN = "192.0.2.2"
WEST_ROUTED = "192.0.2.1"
ROUTER_WEST_SIDE = "192.0.2.254"
ROUTER_EAST_SIDE = "198.51.100.254"
EAST_ROUTED = "198.51.100.2"
WEST_PRIVATE = "10.99.0.1"
ROUTER_PRIVATE_SIDE = "10.99.0.254"

# Protected subnets for subnet-to-subnet scenarios (dummy interfaces in each peer).
WEST_SUBNET = "203.0.113.0/26"
WEST_SUBNET_HOST = "203.0.113.1"
EAST_SUBNET = "203.0.113.64/26"
EAST_SUBNET_HOST = "203.0.113.65"
# Further /28s for user configs whose subnets do not line up (203.0.113.128 and up).
SPARE_SUBNETS = tuple(f"203.0.113.{base}/28" for base in range(128, 256, 16))

TOPOLOGY_KINDS = ("plain", "router", "nat")


def run_ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


def netns_exec(ns: str, *argv: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", "netns", "exec", ns, *argv], check=check,
                          capture_output=True, text=True, timeout=timeout)


def new_run_id() -> str:
    """pid + random suffix: unique across parallel runs and lets --cleanup spot dead runs."""
    return f"{os.getpid()}-{secrets.token_hex(2)}"


@dataclass
class Topology:
    """The namespaces of one run and the addresses the daemons should use."""

    kind: str
    run_id: str
    west_ns: str
    east_ns: str
    router_ns: str | None
    west_ip: str           # address configured on west's interface
    east_ip: str           # address configured on east's interface
    west_seen_by_east: str  # west's address as east sees it (differs behind NAT)
    west_if: str = "eth0"
    namespaces: list[str] = field(default_factory=list)

    @property
    def router_east_if(self) -> str:
        return "eth1"

    def add_subnet_addresses(self) -> None:
        """One host address of each protected subnet, on the peer's loopback.

        A /32 on lo (not a dummy interface: the dummy module may be missing) is enough to
        source and answer the traffic test; the subnets themselves live only in the conns.
        """
        for ns, addr in ((self.west_ns, WEST_SUBNET_HOST), (self.east_ns, EAST_SUBNET_HOST)):
            run_ip("-n", ns, "addr", "add", f"{addr}/32", "dev", "lo")
        if self.kind == "plain":
            # No default routes on the plain link: give each end a route to the other's
            # subnet so tunnel traffic finds its way before XFRM encrypts it. (updown
            # replaces these with its own when a Child SA comes up.)
            run_ip("-n", self.west_ns, "route", "add", EAST_SUBNET, "via", EAST_PLAIN)
            run_ip("-n", self.east_ns, "route", "add", WEST_SUBNET, "via", WEST_PLAIN)

    def delete(self) -> None:
        for ns in reversed(self.namespaces):
            delete_namespace(ns)
        self.namespaces.clear()


def namespace_exists(name: str) -> bool:
    return os.path.exists(f"/run/netns/{name}")


def delete_namespace(name: str) -> None:
    # Deleting a namespace destroys the veth ends inside it, and with them their peers.
    run_ip("netns", "del", name, check=False)


def _add_namespace(topo: Topology, role: str) -> str:
    name = f"{NAMESPACE_PREFIX}{topo.run_id}-{role}"
    run_ip("netns", "add", name)
    topo.namespaces.append(name)
    run_ip("-n", name, "link", "set", "lo", "up")
    return name


def _link(ns_a: str, if_a: str, ns_b: str, if_b: str) -> None:
    run_ip("-n", ns_a, "link", "add", if_a, "type", "veth", "peer", "name", if_b, "netns", ns_b)
    run_ip("-n", ns_a, "link", "set", if_a, "up")
    run_ip("-n", ns_b, "link", "set", if_b, "up")


def _addr(ns: str, dev: str, cidr: str) -> None:
    run_ip("-n", ns, "addr", "add", cidr, "dev", dev)


def _route_default(ns: str, via: str) -> None:
    run_ip("-n", ns, "route", "add", "default", "via", via)


def _enable_forwarding(ns: str) -> None:
    # A fresh namespace has its own sysctls; this changes only the router namespace.
    netns_exec(ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")


def build(kind: str, run_id: str | None = None) -> Topology:
    """Create the namespaces for *kind*. On any error, whatever was made is deleted."""
    if kind not in TOPOLOGY_KINDS:
        raise ValueError(f"unknown topology {kind!r}")
    run_id = run_id or new_run_id()
    west = f"{NAMESPACE_PREFIX}{run_id}-west"
    east = f"{NAMESPACE_PREFIX}{run_id}-east"
    router = f"{NAMESPACE_PREFIX}{run_id}-router" if kind != "plain" else None
    if kind == "plain":
        topo = Topology(kind, run_id, west, east, None, WEST_PLAIN, EAST_PLAIN, WEST_PLAIN)
    elif kind == "router":
        topo = Topology(kind, run_id, west, east, router, WEST_ROUTED, EAST_ROUTED, WEST_ROUTED)
    else:
        topo = Topology(kind, run_id, west, east, router, WEST_PRIVATE, EAST_ROUTED, ROUTER_EAST_SIDE)
    try:
        _add_namespace(topo, "west")
        _add_namespace(topo, "east")
        if kind == "plain":
            _link(west, "eth0", east, "eth0")
            _addr(west, "eth0", f"{WEST_PLAIN}/24")
            _addr(east, "eth0", f"{EAST_PLAIN}/24")
            return topo
        _add_namespace(topo, "router")
        _link(west, "eth0", router, "eth0")
        _link(east, "eth0", router, "eth1")
        _enable_forwarding(router)
        _addr(east, "eth0", f"{EAST_ROUTED}/24")
        _addr(router, "eth1", f"{ROUTER_EAST_SIDE}/24")
        _route_default(east, ROUTER_EAST_SIDE)
        if kind == "router":
            _addr(west, "eth0", f"{WEST_ROUTED}/24")
            _addr(router, "eth0", f"{ROUTER_WEST_SIDE}/24")
            _route_default(west, ROUTER_WEST_SIDE)
        else:
            _addr(west, "eth0", f"{WEST_PRIVATE}/24")
            _addr(router, "eth0", f"{ROUTER_PRIVATE_SIDE}/24")
            _route_default(west, ROUTER_PRIVATE_SIDE)
            netns_exec(router, "iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "eth1",
                       "-j", "MASQUERADE")
        return topo
    except BaseException:
        topo.delete()
        raise


def lab_namespaces() -> list[str]:
    try:
        names = os.listdir("/run/netns")
    except FileNotFoundError:
        return []
    return sorted(n for n in names if n.startswith(NAMESPACE_PREFIX))


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stale_namespaces() -> list[str]:
    """Lab namespaces whose creating process is gone (left by a killed run)."""
    stale = []
    for name in lab_namespaces():
        pid_text = name[len(NAMESPACE_PREFIX):].split("-", 1)[0]
        if not pid_text.isdigit() or not pid_alive(int(pid_text)):
            stale.append(name)
    return stale
