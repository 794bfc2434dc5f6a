"""Netfilter rules in one shape, and the evaluator that asks them about a packet.

The iptables parser (:mod:`swandoc.probes.iptables`) and the nft parser (:mod:`swandoc.probes.nft`)
both produce a :class:`Ruleset` of :class:`FwRule` (the conditions swandoc understands plus a
verdict), so the host rules can ask one question of either: "what happens to this packet in this
hook?" (:func:`verdict_for`). Conditions swandoc does not understand make a rule *uncertain*: it is
never taken as the proof of a block or of an exemption.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ..compat import SLOTS

# iptables built-in chains and the netfilter hook each one sits on.
BUILTIN_CHAINS = {"INPUT": "input", "OUTPUT": "output", "FORWARD": "forward",
            "PREROUTING": "prerouting", "POSTROUTING": "postrouting"}
TERMINAL = {"accept", "drop", "reject", "return", "masquerade", "snat", "dnat"}
# iptables matches (-m NAME) whose conditions are understood; seen through nft as "xt" too.
KNOWN_MATCHES = {"udp", "tcp", "comment", "multiport", "state", "conntrack", "policy", "esp", "icmp", "ah"}


@dataclass(frozen=True, **SLOTS)
class FwRule:
    backend: str  # "iptables" or "nft"
    family: str  # ip, ip6, inet
    table: str
    chain: str
    index: int  # position in its chain, from 1
    verdict: str  # accept, drop, reject, return, masquerade, snat, jump, goto, tcpmss, none
    target_chain: str | None = None  # for jump/goto
    protos: tuple[str, ...] = ()  # empty = any
    dports: tuple[tuple[int, int], ...] = ()  # ranges; empty = any
    src: tuple[str, ...] = ()
    dst: tuple[str, ...] = ()
    iif: tuple[str, ...] = ()
    oif: tuple[str, ...] = ()
    negated: tuple[str, ...] = ()  # names of conditions that are negated ("src", "dport", ...)
    ct_states: tuple[str, ...] = ()
    ipsec_policy: str | None = None  # "ipsec" / "none" (iptables -m policy, nft meta secpath/rt ipsec)
    uncertain: tuple[str, ...] = ()  # conditions not understood
    text: str = ""
    line: int | None = None


@dataclass(frozen=True, **SLOTS)
class FwChain:
    backend: str
    family: str
    table: str
    name: str
    hook: str | None  # input, forward, postrouting ... for base chains
    type: str | None  # filter, nat, route
    priority: int = 0
    policy: str = "accept"
    compat: bool = False  # an iptables-nft chain seen through nft (also in iptables-save)


@dataclass(frozen=True, **SLOTS)
class Ruleset:
    backend: str
    chains: tuple[FwChain, ...]
    rules: tuple[FwRule, ...]

    def chain_rules(self, family: str, table: str, chain: str) -> list[FwRule]:
        return [r for r in self.rules if (r.family, r.table, r.chain) == (family, table, chain)]

    def base_chains(self, hook: str, type_: str | None = None) -> list[FwChain]:
        found = [c for c in self.chains if c.hook == hook and (type_ is None or c.type == type_)]
        return sorted(found, key=lambda c: c.priority)


# --------------------------------------------------------------------------------- evaluation

@dataclass(frozen=True, **SLOTS)
class Packet:
    proto: str | None  # udp, tcp, esp; None = any protocol
    dport: int | None = None
    src: str | None = None  # address or network
    dst: str | None = None
    iif: str | None = None
    oif: str | None = None
    ipsec: bool = False  # will be / was handled by an IPsec policy


_PROTO_NUMBERS = {"udp": "17", "tcp": "6", "esp": "50", "ah": "51", "icmp": "1"}


def _net(value: str):
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None


def _addr_match(rule_nets: tuple[str, ...], packet_net: str | None, *, cover: bool) -> bool | None:
    """Does the rule's address condition take the packet? None when unknown."""
    if not rule_nets:
        return True
    if packet_net is None:
        return None
    pnet = _net(packet_net)
    if pnet is None:
        return None
    for value in rule_nets:
        rnet = _net(value)
        if rnet is None or rnet.version != pnet.version:
            continue
        if cover and pnet.subnet_of(rnet):
            return True
        if not cover and rnet.overlaps(pnet):
            return True
    return False


def _iface_match(names: tuple[str, ...], iface: str | None) -> bool | None:
    if not names:
        return True
    if iface is None:
        return None
    for name in names:
        if name == iface or (name.endswith("+") and iface.startswith(name[:-1])) or \
                (name.endswith("*") and iface.startswith(name[:-1])):
            return True
    return False


def rule_matches(rule: FwRule, pkt: Packet, *, cover: bool) -> bool:
    """True only when swandoc is sure the rule takes *pkt* (cover=True: all of it)."""
    if rule.uncertain:
        return False
    checks: dict[str, bool | None] = {}
    if rule.protos:
        if pkt.proto is None:
            checks["protos"] = None if cover else True
        else:
            names = {p.lower() for p in rule.protos}
            checks["protos"] = pkt.proto in names or _PROTO_NUMBERS.get(pkt.proto) in names or "all" in names
    if rule.dports:
        checks["dports"] = None if pkt.dport is None else any(lo <= pkt.dport <= hi for lo, hi in rule.dports)
    checks["src"] = _addr_match(rule.src, pkt.src, cover=cover)
    checks["dst"] = _addr_match(rule.dst, pkt.dst, cover=cover)
    checks["iif"] = _iface_match(rule.iif, pkt.iif)
    checks["oif"] = _iface_match(rule.oif, pkt.oif)
    for key, result in checks.items():
        if result is None:
            if cover:
                return False
            result = True
        if key in rule.negated:
            result = not result
        if not result:
            return False
    if rule.ct_states and not ({"new", "untracked"} & set(rule.ct_states)):
        return False  # only established/related traffic: not the first packet of an exchange
    if rule.ipsec_policy == "ipsec" and not pkt.ipsec:
        return False
    if rule.ipsec_policy == "none" and pkt.ipsec:
        return False
    return True


@dataclass(frozen=True, **SLOTS)
class Outcome:
    verdict: str  # accept, drop, reject, masquerade, snat, return ...
    rule: FwRule | None  # the rule that decided, or None for the chain policy
    chain: FwChain


def families_for(pkt: Packet) -> tuple[str, ...]:
    """nft/iptables families whose chains see *pkt* (inet sees both IPv4 and IPv6)."""
    for value in (pkt.src, pkt.dst):
        net = _net(value) if value else None
        if net is not None:
            return ("inet", "ip6") if net.version == 6 else ("inet", "ip")
    return ("inet", "ip")


def verdict_for(ruleset: Ruleset, hook: str, pkt: Packet, *, type_: str | None = None, cover: bool = True,
                skip_compat: bool = False) -> list[Outcome]:
    """The decision of each base chain on *hook* (lowest priority first) for *pkt*."""
    outcomes = []
    families = families_for(pkt)
    for chain in ruleset.base_chains(hook, type_):
        if (skip_compat and chain.compat) or chain.family not in families:
            continue
        outcome = _walk(ruleset, chain, chain.name, pkt, cover, 0)
        if outcome is None:
            outcome = Outcome(chain.policy, None, chain)
        outcomes.append(outcome)
    return outcomes


def _walk(ruleset: Ruleset, base: FwChain, chain: str, pkt: Packet, cover: bool, depth: int) -> Outcome | None:
    if depth > 8:
        return None
    for rule in ruleset.chain_rules(base.family, base.table, chain):
        if rule.verdict in ("none", "tcpmss"):
            continue
        if not rule_matches(rule, pkt, cover=cover):
            continue
        if rule.verdict in ("jump", "goto") and rule.target_chain:
            inner = _walk(ruleset, base, rule.target_chain, pkt, cover, depth + 1)
            if inner is not None and inner.verdict != "return":
                return inner
            if rule.verdict == "goto":
                return None
            continue
        if rule.verdict == "return" and depth > 0:
            return Outcome("return", rule, base)
        return Outcome(rule.verdict, rule, base)
    return None


def has_mss_clamp(ruleset: Ruleset) -> FwRule | None:
    """A TCPMSS / ``tcp option maxseg size set`` rule anywhere in forward or postrouting."""
    for rule in ruleset.rules:
        if rule.verdict == "tcpmss":
            return rule
    return None
