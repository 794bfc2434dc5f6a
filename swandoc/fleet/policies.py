"""Opportunistic (mesh) policy groups: what one node will do for another node's address.

A mesh node (reference §4.6) lists address ranges in ``/etc/ipsec.d/policies/<group>`` files and
defines one ``conn <group>`` per group with ``right=%group`` or ``right=%opportunisticgroup``. For
a destination address pluto uses the group whose prefix is the most specific; a group file with
no matching conn is ignored by pluto, and a group conn with no file has no members.

What a group *does* is decided by its conn, not by its name (an admin can call a conn anything
and give ``private-or-clear`` a ``failureshunt=drop``), so :func:`conn_mode` reads the conn's
options; the five standard names are only a fallback when the conn is not known.

Everything here is pure: text and dicts in, dataclasses out.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from ..compat import SLOTS

# pluto's standard group names, which are also the modes a group can have.
MODES = ("private", "private-or-clear", "clear-or-private", "clear", "block")
GROUP_RIGHTS = ("%group", "%opportunisticgroup")
# The marker the bundle writes before each policy file's lines (same convention as the config).
FILE_MARK = "# swandoc: from "


@dataclass(frozen=True, **SLOTS)
class PolicyLine:
    """One prefix of one group file, where it was written."""

    group: str
    prefix: str  # normalised network, e.g. '10.15.0.0/16'
    source: str  # the file it came from, e.g. '/etc/ipsec.d/policies/private'
    line: int
    text: str  # the line as written

    @property
    def network(self):
        return ipaddress.ip_network(self.prefix, strict=False)


@dataclass(frozen=True, **SLOTS)
class Decision:
    """What a node does for one destination address: the group's mode and the line that chose it."""

    mode: str | None  # one of MODES, or None: no group covers the address (traffic goes in clear)
    group: str | None
    line: PolicyLine | None


def parse_policy_files(text: str, default_source: str = "policies") -> tuple[list[PolicyLine], list[tuple[str, int, str]]]:
    """The bundle's ``ipsec_policies`` item (files joined, each after a ``# swandoc: from PATH``
    line) -> (policy lines, lines that are not a prefix: (source, line, text)).

    >>> text = '''# swandoc: from /etc/ipsec.d/policies/private
    ... # all nodes
    ... 10.15.0.0/16
    ... # swandoc: from /etc/ipsec.d/policies/clear
    ... 10.15.1.2
    ... not-an-address
    ... '''
    >>> lines, bad = parse_policy_files(text)
    >>> [(p.group, p.prefix, p.line) for p in lines]
    [('private', '10.15.0.0/16', 2), ('clear', '10.15.1.2/32', 1)]
    >>> bad
    [('/etc/ipsec.d/policies/clear', 2, 'not-an-address')]
    """
    out: list[PolicyLine] = []
    bad: list[tuple[str, int, str]] = []
    source, number = default_source, 0
    for raw in text.splitlines():
        if raw.startswith(FILE_MARK):
            source, number = raw[len(FILE_MARK):].strip(), 0
            continue
        number += 1
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        group = source.rstrip("/").rsplit("/", 1)[-1]
        try:
            network = ipaddress.ip_network(line, strict=False)
        except ValueError:
            bad.append((source, number, raw.strip()))
            continue
        out.append(PolicyLine(group, str(network), source, number, raw.strip()))
    return out, bad


def is_group_conn(options: Mapping[str, str]) -> bool:
    """A conn that instantiates per destination from a policy group file.

    >>> is_group_conn({"right": "%opportunisticgroup"}), is_group_conn({"right": "192.0.2.2"})
    (True, False)
    """
    return options.get("right") in GROUP_RIGHTS or options.get("left") in GROUP_RIGHTS


def conn_mode(name: str, options: Mapping[str, str] | None) -> str:
    """What a group conn does with a destination, from its options (its name only as a fallback).

    >>> conn_mode("clear", {"type": "passthrough", "right": "%group"})
    'clear'
    >>> conn_mode("private-or-clear", {"right": "%opportunisticgroup", "failureshunt": "passthrough"})
    'private-or-clear'
    >>> conn_mode("private-or-clear", {"right": "%opportunisticgroup", "failureshunt": "drop"})
    'private'
    >>> conn_mode("clear-or-private", {"right": "%opportunisticgroup", "auto": "add"})
    'clear-or-private'
    >>> conn_mode("block", {"type": "reject", "right": "%group"})
    'block'
    """
    if not options:
        return name if name in MODES else "private"
    kind = options.get("type", "tunnel")
    if kind == "passthrough":
        return "clear"
    if kind in ("drop", "reject"):
        return "block"
    if options.get("auto") == "add":  # never initiates: answers an IPsec peer, else clear
        return "clear-or-private"
    if options.get("failureshunt", "none") == "passthrough":
        return "private-or-clear"
    return "private"


@dataclass(frozen=True)
class MeshNode:
    """One node as far as the mesh is concerned."""

    name: str
    addresses: tuple[str, ...]
    policies: tuple[PolicyLine, ...]
    group_conns: Mapping[str, Mapping[str, str]]  # conn name -> resolved options

    def decide(self, address: str) -> Decision:
        """Most specific prefix of a group that has its conn wins; no group: clear.

        >>> node = MeshNode("a", ("10.15.1.1",), (
        ...     PolicyLine("private", "10.15.0.0/16", "private", 1, "10.15.0.0/16"),
        ...     PolicyLine("clear", "10.15.1.2/32", "clear", 1, "10.15.1.2/32")),
        ...     {"private": {"right": "%opportunisticgroup", "failureshunt": "drop"},
        ...      "clear": {"type": "passthrough", "right": "%group"}})
        >>> node.decide("10.15.1.2").mode, node.decide("10.15.9.9").mode, node.decide("192.0.2.1").mode
        ('clear', 'private', None)
        """
        try:
            addr = ipaddress.ip_address(address)
        except ValueError:
            return Decision(None, None, None)
        best: PolicyLine | None = None
        for p in self.policies:
            if p.group not in self.group_conns:
                continue  # pluto ignores a group file without its conn
            net = p.network
            if addr.version == net.version and addr in net and (best is None or net.prefixlen > best.network.prefixlen):
                best = p
        if best is None:
            return Decision(None, None, None)
        return Decision(conn_mode(best.group, self.group_conns.get(best.group)), best.group, best)


# (what a does for b, what b does for a) -> outcome, for the pairs that need a word. Anything
# not listed is fine: both encrypt, or both meant clear.
ENCRYPTS = {"private", "private-or-clear"}


def outcome(a: str | None, b: str | None) -> str:
    """What traffic between two nodes does, from each one's mode for the other.

    ``blocked`` and ``no-traffic`` mean they cannot talk; ``clear-fallback`` means one of them
    wanted IPsec but will silently send in clear; ``encrypted`` and ``clear`` are what both meant.

    >>> outcome("private", "clear"), outcome("private-or-clear", None), outcome("block", "private")
    ('no-traffic', 'clear-fallback', 'blocked')
    >>> outcome("private", "clear-or-private"), outcome("clear-or-private", "clear")
    ('encrypted', 'clear')
    """
    modes = {a or "clear", b or "clear"}
    if "block" in modes:
        return "blocked"
    if modes & ENCRYPTS and modes & {"private", "private-or-clear", "clear-or-private"} == modes:
        return "encrypted"
    if "private" in modes:  # the other side will not (or cannot) negotiate
        return "no-traffic"
    if "private-or-clear" in modes:
        return "clear-fallback"
    return "clear"


PROBLEMS = ("blocked", "no-traffic", "clear-fallback")


@dataclass(frozen=True)
class PairConflict:
    a: str
    b: str
    a_address: str
    b_address: str
    a_decision: Decision  # what a does for b's address
    b_decision: Decision  # what b does for a's address
    outcome: str


def pair_conflicts(nodes: Sequence[MeshNode]) -> list[PairConflict]:
    """Every pair of nodes whose two decisions do not fit together (one conflict per pair).

    >>> conns = {"private": {"right": "%opportunisticgroup", "failureshunt": "drop"},
    ...          "clear": {"type": "passthrough", "right": "%group"}}
    >>> a = MeshNode("a", ("10.0.0.1",), (PolicyLine("private", "10.0.0.0/24", "private", 1, "10.0.0.0/24"),), conns)
    >>> b = MeshNode("b", ("10.0.0.2",), (PolicyLine("clear", "10.0.0.1/32", "clear", 1, "10.0.0.1/32"),), conns)
    >>> [(c.a, c.b, c.outcome, c.a_decision.mode, c.b_decision.mode) for c in pair_conflicts([a, b])]
    [('a', 'b', 'no-traffic', 'private', 'clear')]
    """
    out: list[PairConflict] = []
    for i, a in enumerate(nodes):
        for b in nodes[i + 1:]:
            found = _first_conflict(a, b)
            if found:
                out.append(found)
    return out


def _first_conflict(a: MeshNode, b: MeshNode) -> PairConflict | None:
    for a_addr in a.addresses:
        for b_addr in b.addresses:
            da, db = a.decide(b_addr), b.decide(a_addr)
            if da.mode is None and db.mode is None:
                continue  # neither node meshes with this address at all
            result = outcome(da.mode, db.mode)
            if result in PROBLEMS:
                return PairConflict(a.name, b.name, a_addr, b_addr, da, db, result)
    return None


# Options that are per node by design (§4.6: each node has its own certificate).
PER_NODE_OPTIONS = frozenset({"left", "leftcert", "leftsourceip", "leftnexthop", "leftid", "leftupdown"})


def group_signature(options: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in options.items() if k not in PER_NODE_OPTIONS))


@dataclass(frozen=True)
class GroupDeviation:
    node: str
    group: str
    differs: tuple[tuple[str, str | None, str | None], ...]  # (option, this node's, the others')
    missing: bool = False  # the others define the group conn, this node does not


def group_deviations(nodes: Sequence[MeshNode]) -> list[GroupDeviation]:
    """Nodes whose group conn differs from what most nodes of the mesh have.

    Only meaningful with three or more nodes (with two, neither is "the rest").

    >>> std = {"right": "%opportunisticgroup", "failureshunt": "passthrough"}
    >>> odd = {"right": "%opportunisticgroup", "failureshunt": "drop"}
    >>> nodes = [MeshNode(n, (), (), {"private-or-clear": c}) for n, c in (("a", std), ("b", std), ("c", odd))]
    >>> [(d.node, d.group, d.differs) for d in group_deviations(nodes)]
    [('c', 'private-or-clear', (('failureshunt', 'drop', 'passthrough'),))]
    """
    if len(nodes) < 3:
        return []
    groups = sorted({g for n in nodes for g in n.group_conns})
    out: list[GroupDeviation] = []
    for group in groups:
        signatures: dict[tuple, int] = {}
        for n in nodes:
            sig = group_signature(n.group_conns[group]) if group in n.group_conns else None
            signatures[sig] = signatures.get(sig, 0) + 1
        common, count = max(signatures.items(), key=lambda kv: (kv[1], kv[0] is not None))
        if count * 2 <= len(nodes):
            continue  # no majority: nothing is "the rest"
        for n in nodes:
            sig = group_signature(n.group_conns[group]) if group in n.group_conns else None
            if sig == common:
                continue
            if sig is None:
                out.append(GroupDeviation(n.name, group, (), missing=True))
                continue
            mine, theirs = dict(sig), dict(common or ())
            keys = sorted(set(mine) | set(theirs))
            out.append(GroupDeviation(n.name, group, tuple((k, mine.get(k), theirs.get(k)) for k in keys
                                                           if mine.get(k) != theirs.get(k))))
    return out


def group_conns_of(conns: Iterable[tuple[str, Mapping[str, str]]]) -> dict[str, dict[str, str]]:
    """The group conns among resolved (name, options) pairs."""
    return {name: dict(opts) for name, opts in conns if is_group_conn(opts)}
