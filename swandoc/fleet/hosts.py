"""One host of a fleet: its bundle read, diagnosed and reduced to what the network view needs.

Bundles are read one at a time and each one's Facts are dropped once the host is summarised
(:class:`HostResult`: findings, tunnel ends, mesh node), so memory is bounded by the largest
bundle, not by the size of the fleet.

Every finding is labelled with the host it came from (``details["host"]``; its evidence lines
carry the host too, ``EvidenceLine.host``), so a tunnel's two ends stay apart in one report.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Collection

from ..errors import SwandocError
from ..model import Finding, SourceSummary
from ..probes.config import resolve_conn
from ..probes.netinfo import local_addresses
from .pairing import TunnelEnd
from .policies import MeshNode, group_conns_of, is_group_conn, parse_policy_files

BUNDLE_SUFFIXES = (".tar.xz", ".tar.gz", ".tgz", ".tar.bz2", ".tar", ".txz")


@dataclass(frozen=True)
class HostResult:
    name: str
    bundle: str | None  # path analysed; None for a host that gave no bundle
    bundle_host: str | None  # the host name the bundle itself recorded
    status: str  # "analyzed" or "no-bundle"
    reason: str | None = None  # why there is no bundle
    version: str | None = None
    findings: tuple[Finding, ...] = ()
    ends: tuple[TunnelEnd, ...] = ()
    mesh: MeshNode | None = None
    addresses: tuple[str, ...] = ()
    sources: tuple[SourceSummary, ...] = ()
    notes: tuple[str, ...] = ()


def name_from_path(path: str) -> str:
    """``/fetch/gw-a.tar.xz`` -> ``gw-a`` (the inventory name Ansible fetched it as).

    >>> name_from_path("/tmp/fleet/gw-a.tar.xz"), name_from_path("east.tgz"), name_from_path("dir/")
    ('gw-a', 'east', 'dir')
    """
    base = os.path.basename(path.rstrip("/"))
    for suffix in BUNDLE_SUFFIXES:
        if base.endswith(suffix) and len(base) > len(suffix):
            return base[: -len(suffix)]
    return base


def label(f: Finding, host: str) -> Finding:
    """The finding as one host's: ``details["host"]`` set, every evidence line naming a host."""
    evidence = tuple(e if e.host else replace(e, host=host) for e in f.evidence)
    details = tuple((k, v) for k, v in f.details if k != "host") + (("host", host),)
    return replace(f, evidence=evidence, details=details)


def host_of(f: Finding) -> str | None:
    return dict(f.details).get("host")


def _unique(name: str, path: str, taken: Collection[str]) -> str:
    """As ``Facts.host_name`` does for two bundles of one host name: the second adds its file."""
    if name not in taken:
        return name
    return f"{name} ({os.path.basename(path.rstrip('/'))})"


def analyze_bundle(path: str, name: str | None = None, taken: Collection[str] = ()) -> HostResult:
    """Read one bundle, run every rule once per connection it defines, keep the summary only.

    *name* (the inventory name) replaces the host name the bundle recorded, on every item's
    origin, so findings, evidence lines and the input summary all use it; *taken* are the names
    of hosts already read (a repeated name gets its file name added).
    """
    from ..facts import Facts
    from ..inputs import evidence_for_path
    from ..parse import parse_evidence
    from ..rules import run_rules

    items = evidence_for_path(path)
    bundle_host = next((i.where.host for i in items if i.where.host), None)
    name = _unique(name or bundle_host or name_from_path(path), path, taken)
    items = [replace(i, where=replace(i.where, host=name)) for i in items]
    facts = Facts()
    parse_evidence(items, facts)
    host = facts.hosts.get(name)
    if host is None:
        raise SwandocError(f"{path}: not a swandoc bundle (a fleet analysis reads one bundle per host)")
    version = next((s.version for s in facts.sources if s.version), None)
    addresses = host.evidence.get("addresses")
    local = local_addresses(addresses.text() if addresses is not None and addresses.available else None)
    conns = []
    if host.config is not None:
        for conn_name in host.config.conn_names():
            try:
                conns.append(resolve_conn(host.config, conn_name, local))
            except SwandocError:
                continue
    # Rules once for the host as a whole, then once per conn with that conn as the host's
    # connection, so the host rules (firewall, sockets, routes) run for each; one finding per
    # (id, connection) in the end.
    findings: dict[tuple[str, str | None], Finding] = {}
    for f in run_rules(facts):
        findings.setdefault((f.id, f.connection), f)
    tunnels = [c for c in conns if not is_group_conn(dict(c.options)) and c.auto != "ignore"]
    for conn in tunnels:
        facts.focus = conn.name
        facts.hosts[name] = replace(host, connection=conn)
        for f in run_rules(facts):
            if f.id != "conn-not-in-input":  # the conn is in the config; the log just never named it
                findings.setdefault((f.id, f.connection), f)
    ordered = sorted(findings.values(), key=lambda f: -f.rank)
    return HostResult(name=name, bundle=path, bundle_host=bundle_host, status="analyzed", version=version,
                      findings=tuple(label(f, name) for f in ordered),
                      ends=tuple(_end(name, c, local) for c in tunnels),
                      mesh=_mesh_node(name, host.evidence.get("ipsec_policies"), conns, local),
                      addresses=tuple(sorted(local)), sources=tuple(facts.sources))


def _end(host: str, conn, local: frozenset[str]) -> TunnelEnd:
    mine = conn.local_address()
    return TunnelEnd(host=host, conn=conn.name, local_addresses=(mine,) if mine else tuple(sorted(local)),
                     remote=conn.remote_address(),
                     local_id=conn.leftid if conn.local_side == "left" else conn.rightid,
                     remote_id=conn.rightid if conn.local_side == "left" else conn.leftid,
                     local_subnets=conn.local_subnets, remote_subnets=conn.remote_subnets)


def _mesh_node(name: str, item, conns, local: frozenset[str]) -> MeshNode | None:
    groups = group_conns_of((c.name, dict(c.options)) for c in conns)
    policies = []
    if item is not None and item.available:
        policies, _bad = parse_policy_files(item.text())
    if not groups and not policies:
        return None
    # The node's mesh address: the literal left of its group conns, else all its addresses.
    own = sorted({c.local_address() for c in conns if c.name in groups and c.local_address()})
    addresses = tuple(own) or tuple(a for a in sorted(local) if not a.startswith("127.") and a != "::1")
    return MeshNode(name, addresses, tuple(policies), groups)


def missing_host(name: str, reason: str, address: str | None = None) -> HostResult:
    return HostResult(name=name, bundle=None, bundle_host=None, status="no-bundle", reason=reason,
                      addresses=(address,) if address else ())
