"""Pair the two ends of each tunnel across a fleet, from each host's own configuration.

Each host's conns say where they run (``left``/``right``, which side is local), who they expect
(``leftid``/``rightid``) and what they protect (subnets). Two ends belong together when each one's
remote is the other's local address; IDs and subnets that agree make a pairing stronger and pick
between candidates (two conns between the same two gateways). An end whose remote is ``%any``
(a responder for a peer behind NAT) can still pair by the other end's address and by IDs. Conn
names are never used: the two ends of a tunnel are often named differently.

Pure: ends in, tunnels out.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Sequence
from ..probes.config import literal_ip


@dataclass(frozen=True)
class TunnelEnd:
    """One host's view of one conn."""

    host: str
    conn: str
    local_addresses: tuple[str, ...]  # the conn's literal local address, else the host's addresses
    remote: str | None  # literal remote address; None for %any, a hostname, %group...
    local_id: str | None = None
    remote_id: str | None = None
    local_subnets: tuple[str, ...] = ()
    remote_subnets: tuple[str, ...] = ()


@dataclass(frozen=True)
class Pairing:
    a: TunnelEnd
    b: TunnelEnd | None  # None: the other end is in no bundle of the fleet
    score: int
    reasons: tuple[str, ...]  # what matched, in words (for the report)



def _nets(values: Sequence[str]) -> frozenset[str]:
    out = set()
    for v in values:
        try:
            out.add(str(ipaddress.ip_network(v, strict=False)))
        except ValueError:
            out.add(v)
    return frozenset(out)


def _id(value: str | None) -> str | None:
    if not value or value in ("%any", "%fromcert", "%none", "%null"):
        return None
    return value.strip('"')


def score(a: TunnelEnd, b: TunnelEnd) -> tuple[int, tuple[str, ...]]:
    """How well *a* and *b* fit as the two ends of one tunnel; 0 = they do not.

    >>> west = TunnelEnd("west", "w-e", ("192.0.2.1",), "198.51.100.2", "@west", "@east")
    >>> east = TunnelEnd("east", "e-w", ("198.51.100.2",), "192.0.2.1", "@east", "@west")
    >>> score(west, east)
    (12, ('addresses both ways', 'IDs both ways'))
    >>> behind_nat = TunnelEnd("west", "w-e", ("10.0.0.1",), "198.51.100.2", "@west", "@east")
    >>> any_east = TunnelEnd("east", "e-w", ("198.51.100.2",), None, "@east", "@west")
    >>> score(behind_nat, any_east)[0] > 0, score(west, TunnelEnd("c", "x", ("203.0.113.9",), "192.0.2.1"))[0]
    (True, 0)
    """
    if a.host == b.host:
        return 0, ()
    points, reasons = 0, []
    a_local = {literal_ip(x) for x in a.local_addresses} - {None}
    b_local = {literal_ip(x) for x in b.local_addresses} - {None}
    a_remote, b_remote = literal_ip(a.remote), literal_ip(b.remote)
    a_sees_b = a_remote is not None and a_remote in b_local
    b_sees_a = b_remote is not None and b_remote in a_local
    # A literal remote that is not the other host is a contradiction, unless NAT explains it:
    # then only IDs can tie them (checked below).
    contradicted = (a_remote is not None and not a_sees_b) or (b_remote is not None and not b_sees_a)
    if a_sees_b and b_sees_a:
        points += 8
        reasons.append("addresses both ways")
    elif a_sees_b or b_sees_a:
        points += 4
        reasons.append("address one way")
    ids_fit = 0
    if _id(a.remote_id) and _id(a.remote_id) == _id(b.local_id):
        ids_fit += 1
    if _id(b.remote_id) and _id(b.remote_id) == _id(a.local_id):
        ids_fit += 1
    if ids_fit == 2:
        points += 4
        reasons.append("IDs both ways")
    elif ids_fit == 1:
        points += 2
        reasons.append("ID one way")
    if a.remote_subnets and _nets(a.remote_subnets) == _nets(b.local_subnets):
        points += 1
    if b.remote_subnets and _nets(b.remote_subnets) == _nets(a.local_subnets):
        points += 1
    if points and len(reasons) and a.remote_subnets and b.local_subnets and \
            _nets(a.remote_subnets) == _nets(b.local_subnets) and _nets(b.remote_subnets) == _nets(a.local_subnets):
        reasons.append("subnets agree")
    if not (a_sees_b or b_sees_a):
        if ids_fit < 2 or contradicted and not (a_remote is None or b_remote is None):
            return 0, ()
    elif contradicted and not (a_sees_b and b_sees_a):
        # one end names an address the other does not have: only a NAT-ed pair with IDs fits
        if ids_fit < 2 and not (a_remote is None or b_remote is None):
            return 0, ()
    return points, tuple(reasons)


def _points_back(e: TunnelEnd, other: TunnelEnd, by_address, by_id) -> bool:
    """Would *e*'s own lookup find *other*? (then the pair is scored from *e*'s side)"""
    return literal_ip(e.remote) in {literal_ip(x) for x in other.local_addresses} or \
        (bool(_id(e.remote_id)) and _id(e.remote_id) == _id(other.local_id))


def pair_ends(ends: Sequence[TunnelEnd]) -> list[Pairing]:
    """Best pairs first (greedy on score: each end in at most one tunnel); the rest one-sided.

    >>> ends = [TunnelEnd("a", "ab", ("192.0.2.11",), "192.0.2.12", "@a", "@b"),
    ...         TunnelEnd("b", "ba", ("192.0.2.12",), "192.0.2.11", "@b", "@a"),
    ...         TunnelEnd("c", "c-x", ("192.0.2.13",), "198.51.100.7")]
    >>> [(p.a.host, p.b.host if p.b else None) for p in pair_ends(ends)]
    [('a', 'b'), ('c', None)]
    """
    # Only ends that share an address or an ID can pair (score() needs one or the other), so look
    # those up instead of scoring every pair: a large fleet has tens of thousands of ends.
    by_address: dict[str, list[int]] = {}
    by_id: dict[str, list[int]] = {}
    for i, e in enumerate(ends):
        for addr in {literal_ip(x) for x in e.local_addresses} - {None}:
            by_address.setdefault(addr, []).append(i)
        if _id(e.local_id):
            by_id.setdefault(_id(e.local_id), []).append(i)
    candidates = []
    for i, a in enumerate(ends):
        others = set(by_address.get(literal_ip(a.remote) or "", ())) | set(by_id.get(_id(a.remote_id) or "", ()))
        for j in sorted(others):
            if j == i or (j < i and _points_back(ends[j], a, by_address, by_id)):
                continue  # scored from the other side already
            points, reasons = score(a, ends[j]) if i < j else score(ends[j], a)
            if points:
                candidates.append((points, min(i, j), max(i, j), reasons))
    candidates.sort(key=lambda c: (-c[0], c[1], c[2]))
    used: set[int] = set()
    pairs: list[tuple[int, Pairing]] = []
    for points, i, j, reasons in candidates:
        if i in used or j in used:
            continue
        used.update((i, j))
        pairs.append((i, Pairing(ends[i], ends[j], points, reasons)))
    for i, end in enumerate(ends):
        if i not in used:
            pairs.append((i, Pairing(end, None, 0, ("no end in the fleet points back",))))
    return [p for _, p in sorted(pairs, key=lambda x: x[0])]
