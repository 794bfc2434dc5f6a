"""Turn two user-supplied ipsec.conf files into a lab Plan.

"Will these two configs talk?" The user's first conn in each file is taken (west's
initiates); its endpoint addresses and subnets are mapped onto the lab's own, everything
else (crypto, authby, IDs, IKE version, timers) is kept. Handled: host-to-host and
subnet-to-subnet, ``conn %default`` and ``also=`` within the same file. Not handled:
certificates from the user's NSS database, ``leftsubnets={...}``, DNS names.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path

from . import topology
from .plan import Plan

USER_SECRETS_NOTE = "# swandoc lab: the user's secrets, addresses mapped onto the lab's\n"

# Options that describe the user's host rather than the connection; the lab sets its own.
HOST_SPECIFIC = {
    "leftnexthop", "rightnexthop", "leftupdown", "rightupdown", "leftvti", "rightvti",
    "leftinterface-ip", "rightinterface-ip", "ipsec-interface", "mark", "mark-in", "mark-out",
    "vti-interface", "vti-routing", "vti-shared", "auto",
}
SETUP_KEPT = ("ikev1-policy", "listen-tcp")
# The lab's defaults for a quick verdict, used only where the user's file is silent.
FAST_DEFAULTS = {"keyingtries": "1", "retransmit-interval": "500", "retransmit-timeout": "5"}


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class ParsedConfig:
    setup: dict[str, str]
    conns: dict[str, dict[str, str]]  # in file order
    order: tuple[str, ...]


def parse_ipsec_conf(text: str) -> ParsedConfig:
    """A small ipsec.conf reader: sections, indented key=value lines, comments, quotes."""
    setup: dict[str, str] = {}
    conns: dict[str, dict[str, str]] = {}
    order: list[str] = []
    current: dict[str, str] | None = None
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].rstrip() if not re.search(r'"[^"]*#', raw) else raw.rstrip()
        if not line.strip():
            continue
        if not line[0].isspace():
            words = line.split()
            if words[0] == "config" and len(words) > 1 and words[1] == "setup":
                current = setup
            elif words[0] == "conn" and len(words) > 1:
                current = conns.setdefault(words[1], {})
                if words[1] != "%default":
                    order.append(words[1])
            else:
                current = None  # "include", "version" and the like
            continue
        if current is None or "=" not in line:
            continue
        key, value = line.strip().split("=", 1)
        current[key.strip()] = value.strip().strip('"')
    return ParsedConfig(setup, conns, tuple(order))


def resolve_conn(parsed: ParsedConfig, name: str | None = None) -> tuple[str, dict[str, str]]:
    """The first (or named) conn with %default and also= merged in."""
    if not parsed.order:
        raise ConfigError("no conn section found")
    # "First conn" means the first real one: a section that only exists to be pulled in
    # by also= elsewhere is a template, not a connection.
    templates = {t for conn in parsed.conns.values() for t in conn.get("also", "").split()}
    candidates = [c for c in parsed.order if c not in templates] or list(parsed.order)
    name = name or candidates[0]

    def expand(conn_name: str, seen: tuple[str, ...]) -> dict[str, str]:
        if conn_name in seen:
            raise ConfigError(f"also= loop through {conn_name}")
        if conn_name not in parsed.conns:
            raise ConfigError(f"also={conn_name} names no conn in this file")
        merged: dict[str, str] = {}
        own = parsed.conns[conn_name]
        for included in own.get("also", "").split():
            merged.update(expand(included, seen + (conn_name,)))
        merged.update({k: v for k, v in own.items() if k != "also"})
        return merged

    options = dict(parsed.conns.get("%default", {}))
    options.update(expand(name, ()))
    return name, options


def _is_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return False


def _local_side(conn: dict[str, str], peer_hint: set[str]) -> str:
    """Which side (left/right) is this host? Libreswan decides by its own addresses; the
    lab guesses from %defaultroute/%any and from what the other file calls its peer."""
    left, right = conn.get("left", ""), conn.get("right", "")
    if right in peer_hint and left not in peer_hint:
        return "right"
    if left in peer_hint and right not in peer_hint:
        return "left"
    if right == "%defaultroute" and left != "%defaultroute":
        return "right"
    if left == "%any" and right not in ("%any", ""):
        return "right"
    return "left"


def _other(side: str) -> str:
    return "right" if side == "left" else "left"


def _subnet_map(west: dict, wl: str, east: dict, el: str) -> dict[str, str]:
    """User subnet -> lab subnet. Each end's own subnet gets that end's lab subnet; a
    subnet that only one end mentions gets a spare one, so a mismatch stays a mismatch."""
    mapping: dict[str, str] = {}
    spare = iter(topology.SPARE_SUBNETS)
    for conn, side, lab_subnet in ((west, wl, topology.WEST_SUBNET), (east, el, topology.EAST_SUBNET)):
        own = conn.get(f"{side}subnet")
        if own and own not in mapping:
            mapping[own] = lab_subnet
    for conn, side in ((west, _other(wl)), (east, _other(el))):
        remote = conn.get(f"{side}subnet")
        if remote and remote not in mapping:
            mapping[remote] = next(spare)
    return mapping


def _map_conn(conn: dict[str, str], local: str, local_ip: str, remote_ip: str,
              addr_map: dict[str, str], subnet_map: dict[str, str]) -> dict[str, str]:
    remote = _other(local)
    mapped: dict[str, str] = {}
    for key, value in conn.items():
        if key in HOST_SPECIFIC or key == "also":
            continue
        if key.endswith("subnet") and value in subnet_map:
            value = subnet_map[value]
        elif key.endswith("id") and value in addr_map:
            value = addr_map[value]  # an ID that is an IP address follows the mapping
        mapped[key] = value
    mapped[local] = local_ip
    if conn.get(remote) not in ("%any", "%opportunisticgroup"):
        mapped[remote] = remote_ip
    for key, value in FAST_DEFAULTS.items():
        mapped.setdefault(key, value)
    mapped["auto"] = "add"
    return mapped


def _map_secrets(text: str, addr_map: dict[str, str]) -> str:
    def replace(match: re.Match) -> str:
        return addr_map.get(match.group(0), match.group(0))
    body = re.sub(r"\b\d{1,3}(?:\.\d{1,3}){3}\b", replace, text)
    body = "\n".join(line for line in body.splitlines() if not line.strip().startswith("include"))
    return USER_SECRETS_NOTE + body + "\n"


def plan_from_configs(west_text: str, east_text: str, west_secrets: str | None,
                      east_secrets: str | None) -> tuple[Plan, list[str]]:
    west_parsed, east_parsed = parse_ipsec_conf(west_text), parse_ipsec_conf(east_text)
    west_name, west = resolve_conn(west_parsed)
    east_name, east = resolve_conn(east_parsed)
    notes = [f"west conn '{west_name}', east conn '{east_name}' (first conn in each file)"]
    if west_name != east_name:
        # pluto on east loads its own name; west initiates its own. Names need not agree.
        notes.append("the two conns have different names; that is fine for IKE")
    wl = _local_side(west, set())
    west_peer = west.get(_other(wl), "")
    el = _local_side(east, {west_peer} if west_peer else set())
    east_peer = east.get(_other(el), "")
    if wl == "left" and west.get("right") == "%defaultroute":
        raise ConfigError("west's conn has no usable peer address")
    subnets = any(west.get(f"{s}subnet") for s in ("left", "right")) or \
        any(east.get(f"{s}subnet") for s in ("left", "right"))
    kind = "plain"
    topo_west, topo_east = topology.WEST_PLAIN, topology.EAST_PLAIN
    addr_map = {}
    for user_addr, lab_addr in ((west.get(wl), topo_west), (east_peer, topo_west),
                                (west_peer, topo_east), (east.get(el), topo_east)):
        if user_addr and _is_address(user_addr):
            addr_map.setdefault(user_addr, lab_addr)
    subnet_map = _subnet_map(west, wl, east, el)
    west_conn = _map_conn(west, wl, topo_west, topo_east, addr_map, subnet_map)
    east_conn = _map_conn(east, el, topo_east, topo_west, addr_map, subnet_map)
    notes.append(f"address map: {addr_map or '-'}; subnet map: {subnet_map or '-'}")
    for conn, side, label in ((west_conn, wl, "west"), (east_conn, el, "east")):
        if conn.get(f"{side}cert"):
            notes.append(f"{label}: {side}cert={conn[f'{side}cert']} refers to the user's NSS database, "
                         "which the lab does not have; authentication will fail for that reason")
    if subnets:
        # the traffic test sources from west's lab subnet
        west_conn.setdefault(f"{wl}sourceip", topology.WEST_SUBNET_HOST)

    def setup(parsed: ParsedConfig) -> dict[str, str]:
        return {k: v for k, v in parsed.setup.items() if k in SETUP_KEPT}

    plan = Plan(
        name="user-configs",
        description="user-supplied configs: will they talk?",
        topology=kind,
        conn_name=west_name,
        west_conn=west_conn,
        east_conn=east_conn,
        west_secrets=_map_secrets(west_secrets or "", addr_map),
        east_secrets=_map_secrets(east_secrets or "", addr_map),
        west_setup=setup(west_parsed),
        east_setup=setup(east_parsed),
        auth="user",
        subnets=subnets and west_conn.get(f"{wl}subnet") == topology.WEST_SUBNET,
        east_conn_name=east_name,
    )
    return plan, notes


def read(path: Path | str | None) -> str | None:
    return Path(path).read_text() if path else None
