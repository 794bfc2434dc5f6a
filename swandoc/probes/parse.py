"""Evidence -> parsed facts, for live probes and bundles alike.

:func:`parse_evidence` works from the :class:`~swandoc.evidence.EvidenceSet` alone (no host
access), so ``swandoc analyze bundle.tar.xz`` reaches the same facts as ``diagnose`` did.
Each item's parser is a pure function with a sample in its docstring (see the modules it
imports); a parser that fails on odd input costs that one item, never the diagnosis.
"""
from __future__ import annotations

from typing import Any, Callable

from ..evidence import EvidenceSet
from ..facts import Facts
from . import config as confmod
from .firewall import parse_iptables_save, parse_nft_json
from .hostinfo import parse_pluto_process, parse_ss, parse_sysctls, parse_xfrm_state, parse_xfrm_stat
from .netinfo import local_addresses, parse_route_to_peer
from .whack import parse_trafficstatus, parse_whack_status

PARSERS: dict[str, Callable[[str], Any]] = {
    "whack_status": parse_whack_status,
    "whack_trafficstatus": parse_trafficstatus,
    "iptables_save": parse_iptables_save,
    "ip6tables_save": lambda text: parse_iptables_save(text, family="ip6"),
    "nft_ruleset": parse_nft_json,
    "xfrm_stat": parse_xfrm_stat,
    "xfrm_stat_end": parse_xfrm_stat,
    "xfrm_state": parse_xfrm_state,
    "sysctls": parse_sysctls,
    "listening_sockets": parse_ss,
    "pluto_process": parse_pluto_process,
    "route_to_peer": parse_route_to_peer,
    "ipsec_conf": confmod.parse_ipsec_conf,
    "connection": confmod.Connection.from_json,
}


def parse_evidence(evidence: EvidenceSet, facts: Facts, conn: str | None) -> None:
    """Fill ``facts.parsed`` (and logs, packets) from every available item of *evidence*."""
    facts.evidence = evidence
    for item in evidence:
        parser = PARSERS.get(item.name)
        if parser is None or item.content is None:
            continue
        if item.error and item.name not in ("whack_status",):
            continue
        try:
            facts.parsed[item.name] = parser(item.text())
        except Exception as exc:  # one odd item must not end the diagnosis
            facts.parsed.setdefault("parse_errors", []).append((item.name, str(exc)))
    if "connection" not in facts.parsed and conn and "ipsec_conf" in facts.parsed:
        # A bundle made without a conn name: resolve it from the configuration it carries.
        addresses = evidence.get("addresses")
        local = local_addresses(addresses.text() if addresses and addresses.available else None)
        try:
            facts.parsed["connection"] = confmod.resolve_conn(facts.parsed["ipsec_conf"], conn, local)
        except Exception:
            pass
    _feed_logs(evidence, facts)
    _feed_capture(evidence, facts)


def _feed_logs(evidence: EvidenceSet, facts: Facts) -> None:
    log = evidence.get("pluto_log")
    if log is None or not log.available:
        return
    from ..inputs import feed_log_bytes
    try:
        feed_log_bytes("pluto_log", log.content, facts)
    except NotImplementedError:
        pass  # log parsing not built in this checkout: host rules still run


def _feed_capture(evidence: EvidenceSet, facts: Facts) -> None:
    from ..logparse.packets import load_capture_evidence
    load_capture_evidence(evidence.get("ike_capture"), facts)
