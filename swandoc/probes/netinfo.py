"""Links, addresses, routes, rules and the route toward the peer, read over netlink.

Collected with pyroute2 (imported lazily: ``swandoc analyze`` must start fast) and stored as
JSON, so a bundle carries exactly what the live host showed.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from ..compat import SLOTS

from ..evidence import Evidence

RTM_F_CLONED = 0x200  # a cached route exception (learnt path MTU, redirect)


def _attrs(msg) -> dict:
    return {k: v for k, v in msg.get("attrs", [])} if isinstance(msg, dict) else dict(msg["attrs"])


def collect_netlink() -> list[Evidence]:
    """links, addresses, routes and ip_rules as JSON evidence, or why they could not be read."""
    start = time.monotonic()
    try:
        from pyroute2 import IPRoute
    except ImportError:
        return [Evidence(n, None, "netlink", error="pyroute2 is not installed")
                for n in ("links", "addresses", "routes", "ip_rules")]
    out = []
    try:
        with IPRoute() as ipr:
            links = [{"index": m["index"], "name": m.get_attr("IFLA_IFNAME"), "mtu": m.get_attr("IFLA_MTU"),
                      "state": m.get_attr("IFLA_OPERSTATE"), "flags": m["flags"],
                      "kind": (m.get_attr("IFLA_LINKINFO") or {}).get_attr("IFLA_INFO_KIND")
                      if m.get_attr("IFLA_LINKINFO") else None} for m in ipr.get_links()]
            names = {link["index"]: link["name"] for link in links}
            addrs = [{"index": m["index"], "dev": names.get(m["index"]), "family": m["family"],
                      "address": m.get_attr("IFA_ADDRESS"), "local": m.get_attr("IFA_LOCAL"),
                      "prefixlen": m["prefixlen"]} for m in ipr.get_addr()]
            routes = []
            for family in (2, 10):
                for m in ipr.route("dump", family=family):
                    metrics = m.get_attr("RTA_METRICS")
                    routes.append({"family": family, "dst": m.get_attr("RTA_DST"), "dst_len": m["dst_len"],
                                   "gateway": m.get_attr("RTA_GATEWAY"), "dev": names.get(m.get_attr("RTA_OIF")),
                                   "table": m.get_attr("RTA_TABLE"), "type": m["type"],
                                   "prefsrc": m.get_attr("RTA_PREFSRC"),
                                   "mtu": metrics.get_attr("RTAX_MTU") if metrics else None})
            rules = [{"family": m["family"], "priority": m.get_attr("FRA_PRIORITY"), "table": m.get_attr("FRA_TABLE"),
                      "src": m.get_attr("FRA_SRC"), "src_len": m["src_len"], "fwmark": m.get_attr("FRA_FWMARK"),
                      "action": m["action"]} for m in ipr.get_rules()]
    except Exception as exc:  # netlink errors must not end the diagnosis
        return [Evidence(n, None, "netlink", error=f"netlink query failed: {exc}")
                for n in ("links", "addresses", "routes", "ip_rules")]
    took = time.monotonic() - start
    for name, value in (("links", links), ("addresses", addrs), ("routes", routes), ("ip_rules", rules)):
        out.append(Evidence(name, json.dumps(value, indent=1, default=str).encode(), "netlink (pyroute2)",
                            duration=took))
    return out


def collect_route_to_peer(peer: str | None) -> Evidence:
    """The route the kernel would use toward *peer*, with link MTU and any cached path MTU."""
    origin = f"netlink route get {peer}"
    if not peer:
        return Evidence("route_to_peer", None, origin, error="the peer address is not a literal IP (%any or a name)")
    try:
        from pyroute2 import IPRoute
    except ImportError:
        return Evidence("route_to_peer", None, origin, error="pyroute2 is not installed")
    start = time.monotonic()
    try:
        with IPRoute() as ipr:
            msg = ipr.route("get", dst=peer)[0]
            metrics = msg.get_attr("RTA_METRICS")
            oif = msg.get_attr("RTA_OIF")
            link = ipr.get_links(oif)[0] if oif else None
            data = {
                "peer": peer,
                "dev": link.get_attr("IFLA_IFNAME") if link else None,
                "link_mtu": link.get_attr("IFLA_MTU") if link else None,
                "route_mtu": metrics.get_attr("RTAX_MTU") if metrics else None,
                "cached": bool(msg["flags"] & RTM_F_CLONED),
                "gateway": msg.get_attr("RTA_GATEWAY"),
                "src": msg.get_attr("RTA_PREFSRC"),
                "family": msg["family"],
            }
    except Exception as exc:
        return Evidence("route_to_peer", None, origin, error=f"no route to {peer}: {exc}")
    return Evidence("route_to_peer", json.dumps(data, indent=1).encode(), origin, duration=time.monotonic() - start)


@dataclass(frozen=True, **SLOTS)
class RouteToPeer:
    peer: str
    dev: str | None
    link_mtu: int | None
    route_mtu: int | None  # cached path MTU or the route's mtu attribute
    cached: bool
    gateway: str | None
    src: str | None
    family: int = 2

    @property
    def path_mtu(self) -> int | None:
        values = [v for v in (self.link_mtu, self.route_mtu) if v]
        return min(values) if values else None


def parse_route_to_peer(text: str) -> RouteToPeer:
    """The route toward the peer.

    >>> parse_route_to_peer('{"peer": "198.51.100.2", "dev": "eth0", "link_mtu": 1500, "route_mtu": 1280,'
    ...                     ' "cached": true, "gateway": "192.0.2.254", "src": "192.0.2.1"}').path_mtu
    1280
    """
    data = json.loads(text)
    known = RouteToPeer.__dataclass_fields__
    return RouteToPeer(**{k: v for k, v in data.items() if k in known})


def local_addresses(addresses_json: str | None) -> frozenset[str]:
    """Every address configured on this host (from the ``addresses`` evidence).

    >>> sorted(local_addresses('[{"address": "192.0.2.1", "local": "192.0.2.1"}]'))
    ['192.0.2.1']
    """
    if not addresses_json:
        return frozenset()
    try:
        data = json.loads(addresses_json)
    except ValueError:
        return frozenset()
    return frozenset(a for item in data for a in (item.get("address"), item.get("local")) if a)
