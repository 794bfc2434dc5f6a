"""The one parse step: Evidence of any origin -> facts.

Every provider (``inputs.py`` for files, ``bundle/reader.py`` for bundles, ``probes/collect.py``
live) hands its :class:`~swandoc.evidence.Evidence` here; :func:`parse_evidence` dispatches each
item by its name: a log to the log feeder (``logparse/feed.py``), a capture to the capture reader
(``logparse/capture.py``), anything else to its host parser (the table :data:`HOST_PARSERS`). The
host items of one origin become one typed :class:`~swandoc.facts.HostFacts`; items of another
origin (a second bundle) become another, never merged.

Host parsers are pure functions with a sample in their docstring (the modules named in
:data:`HOST_PARSERS`); a parser that fails on odd input costs that one item (kept in ``parse_errors``), never
the diagnosis. Unreadable logs and captures raise :class:`~swandoc.errors.InputError`.
"""
from __future__ import annotations

import importlib
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Callable, Iterable

from .evidence import BUNDLE, FILE, Evidence, EvidenceSet, Origin
from .facts import Facts, HostFacts
from .logparse.feed import feed_log
from .model import SourceSummary

LOG, CAPTURE = "pluto_log", "ike_capture"

# evidence name -> (HostFacts field, "module:function" of its parser). Named, not imported: a parser
# is loaded when an item of its name first appears, so analysing a log never loads the probe parsers
# or the packet decoder (startup is part of every analysis's time; see benchmarks/).
HOST_PARSERS: dict[str, tuple[str, str]] = {
    "whack_status": ("whack_status", "swandoc.probes.whack:parse_whack_status"),
    "whack_trafficstatus": ("traffic", "swandoc.probes.whack:parse_trafficstatus"),
    "iptables_save": ("iptables", "swandoc.probes.iptables:parse_iptables_save"),
    "ip6tables_save": ("ip6tables", "swandoc.probes.iptables:parse_ip6tables_save"),
    "nft_ruleset": ("nft", "swandoc.probes.nft:parse_nft_json"),
    "xfrm_stat": ("xfrm_stat", "swandoc.probes.hostinfo:parse_xfrm_stat"),
    "xfrm_stat_end": ("xfrm_stat_end", "swandoc.probes.hostinfo:parse_xfrm_stat"),
    "xfrm_state": ("xfrm_state", "swandoc.probes.hostinfo:parse_xfrm_state"),
    "sysctls": ("sysctls", "swandoc.probes.hostinfo:parse_sysctls"),
    "listening_sockets": ("sockets", "swandoc.probes.hostinfo:parse_ss"),
    "pluto_process": ("processes", "swandoc.probes.hostinfo:parse_pluto_process"),
    "route_to_peer": ("route_to_peer", "swandoc.probes.netinfo:parse_route_to_peer"),
    "ipsec_conf": ("config", "swandoc.probes.config:parse_ipsec_conf"),
    "connection": ("connection", "swandoc.probes.config:Connection.from_json"),
}
CAPTURE_FEEDER = "swandoc.logparse.capture:feed_capture"
CONN_RESOLVER = "swandoc.probes.config:resolve_conn"
LOCAL_ADDRESSES = "swandoc.probes.netinfo:local_addresses"


@lru_cache(maxsize=None)
def load(path: str) -> Callable[..., Any]:
    """The function a "module:function" (or "module:Class.method") path names."""
    module, _, name = path.partition(":")
    found: Any = importlib.import_module(module)
    for part in name.split("."):
        found = getattr(found, part)
    return found


# Items whose error still leaves useful content (whack's own error text says why pluto is down).
_PARSE_DESPITE_ERROR = frozenset({"whack_status"})


def parse_evidence(items: Iterable[Evidence], facts: Facts, conn: str | None = None) -> None:
    """Parse every item into *facts*: logs and captures stream in, host items per origin.

    *conn* names the connection to resolve from a host's ipsec.conf when its evidence does not
    carry the resolved definition (a bundle made without --conn); by default ``facts.focus``,
    then the connection the bundle was made for.
    """
    by_origin: dict[Origin, EvidenceSet] = {}
    bundles: dict[Origin, SourceSummary] = {}
    for item in items:
        evidence = by_origin.get(item.where)
        if evidence is None:
            evidence = by_origin[item.where] = EvidenceSet()
            if item.where.kind == BUNDLE:
                bundles[item.where] = _bundle_summary(item.where, facts.host_name(item.where))
                facts.sources.append(bundles[item.where])
        if item.where.kind != FILE:
            evidence.add(item)  # a bundle's or this host's item: part of that host's evidence
        if item.where.kind == BUNDLE and item.content is None:
            bundles[item.where].notes.append(f"not collected: {item.name}: {item.error}")
        if item.name == LOG:
            if item.available:
                feed_log(item, facts, facts.host_name(item.where))
        elif item.name == CAPTURE:
            load(CAPTURE_FEEDER)(item, facts, facts.host_name(item.where))
    for origin, evidence in by_origin.items():
        if origin.kind != FILE:
            facts.add_host(parse_host(origin, evidence, facts.host_name(origin) or "",
                                      conn or facts.focus or origin.detail("conn")))


def parse_host(origin: Origin, evidence: EvidenceSet, name: str, conn: str | None) -> HostFacts:
    """One host's typed facts from its evidence (pure: no access to any host)."""
    fields: dict[str, Any] = {}
    errors: list[tuple[str, str]] = []
    for item in evidence:
        entry = HOST_PARSERS.get(item.name)
        if entry is None or item.content is None:
            continue
        if item.error and item.name not in _PARSE_DESPITE_ERROR:
            continue
        field_name, parser = entry
        try:
            value = load(parser)(item.text())
            # Plain dicts (sysctls, xfrm counters) become read-only: HostFacts is frozen all the way.
            fields[field_name] = MappingProxyType(value) if isinstance(value, dict) else value
        except Exception as exc:  # one odd item must not end the diagnosis
            errors.append((item.name, str(exc)))
    if "connection" not in fields and conn and "config" in fields:
        # A bundle made without a conn name: resolve it from the configuration it carries.
        addresses = evidence.get("addresses")
        local = load(LOCAL_ADDRESSES)(addresses.text() if addresses and addresses.available else None)
        try:
            fields["connection"] = load(CONN_RESOLVER)(fields["config"], conn, local)
        except Exception:
            pass  # the conn is not in this host's config: the log rules say so
    return HostFacts(name=name, origin=origin, evidence=evidence, parse_errors=tuple(errors), **fields)


def _bundle_summary(origin: Origin, host: str | None) -> SourceSummary:
    detail = origin.detail
    summary = SourceSummary(name=origin.input, kind="bundle", host=host,
                            version=detail("libreswan_version"), first_time=detail("created"))
    summary.notes.append(f"bundle from {origin.host or '?'} made {detail('created') or '?'} "
                         f"by swandoc {detail('swandoc_version') or '?'}"
                         + (" (obfuscated)" if detail("obfuscated") else ""))
    return summary
