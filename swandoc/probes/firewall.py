"""Firewall rules from ``iptables-save`` and ``nft -j list ruleset``, in one shape.

Both are turned into :class:`FwRule` (the conditions swandoc understands plus a verdict),
so the host rules can ask one question of either ruleset: "what happens to this packet in
this hook?" (:func:`verdict_for`). Conditions swandoc does not understand make a rule
*uncertain*: it is never taken as the proof of a block or of an exemption.
"""
from __future__ import annotations

import ipaddress
import json
import shlex
from dataclasses import dataclass
from ..compat import SLOTS

# iptables built-in chains and the netfilter hook each one sits on.
_BUILTIN = {"INPUT": "input", "OUTPUT": "output", "FORWARD": "forward",
            "PREROUTING": "prerouting", "POSTROUTING": "postrouting"}
TERMINAL = {"accept", "drop", "reject", "return", "masquerade", "snat", "dnat"}


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


# ---------------------------------------------------------------------------------- iptables

def _ports(spec: str) -> tuple[tuple[int, int], ...]:
    out = []
    for part in spec.split(","):
        low, _, high = part.partition(":")
        try:
            out.append((int(low or 0), int(high or low or 65535)))
        except ValueError:
            continue
    return tuple(out)


def parse_iptables_save(text: str, family: str = "ip") -> Ruleset:
    """Chains (with policies) and rules of every table.

    >>> rs = parse_iptables_save('''*filter
    ... :INPUT DROP [0:0]
    ... -A INPUT -p udp -m udp --dport 500 -j DROP
    ... -A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT
    ... COMMIT
    ... *nat
    ... :POSTROUTING ACCEPT [0:0]
    ... -A POSTROUTING -s 10.0.2.0/24 -d 192.168.0.0/16 -j RETURN
    ... -A POSTROUTING -o eth0 -j MASQUERADE
    ... COMMIT''')
    >>> [(r.table, r.chain, r.verdict, r.protos, r.dports) for r in rs.rules][0]
    ('filter', 'INPUT', 'drop', ('udp',), ((500, 500),))
    >>> rs.base_chains("input")[0].policy, rs.rules[2].src, rs.rules[3].oif
    ('drop', ('10.0.2.0/24',), ('eth0',))
    """
    chains: list[FwChain] = []
    rules: list[FwRule] = []
    table = ""
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line.startswith("*"):
            table = line[1:]
        elif line.startswith(":"):
            parts = line[1:].split()
            name = parts[0]
            policy = parts[1].lower() if len(parts) > 1 and parts[1] != "-" else "accept"
            hook = _BUILTIN.get(name)
            chains.append(FwChain("iptables", family, table, name, hook, table if hook else None,
                                  _IPT_PRIORITY.get(table, 0), policy))
        elif line.startswith("-A "):
            try:
                words = shlex.split(line)
            except ValueError:
                words = line.split()
            chain = words[1]
            index = sum(1 for r in rules if r.table == table and r.chain == chain) + 1
            rules.append(_iptables_rule(words[2:], family, table, chain, index, line, number))
    return Ruleset("iptables", tuple(chains), tuple(rules))


_IPT_PRIORITY = {"raw": -300, "mangle": -150, "nat": -100, "filter": 0, "security": 50}
_KNOWN_MATCHES = {"udp", "tcp", "comment", "multiport", "state", "conntrack", "policy", "esp", "icmp", "ah"}


def _iptables_rule(words: list[str], family: str, table: str, chain: str, index: int, text: str,
                   number: int) -> FwRule:
    fields: dict = {"protos": (), "dports": (), "src": (), "dst": (), "iif": (), "oif": ()}
    negated: list[str] = []
    uncertain: list[str] = []
    verdict, target = "none", None
    ct_states: tuple[str, ...] = ()
    policy = None
    policy_dir = None
    neg = False
    i = 0
    while i < len(words):
        w = words[i]
        arg = words[i + 1] if i + 1 < len(words) else ""
        if w == "!":
            neg = True
            i += 1
            continue
        consumed = 2
        key = None
        if w in ("-p", "--protocol"):
            key, value = "protos", (arg.lower(),)
        elif w in ("--dport", "--destination-port", "--dports", "--destination-ports"):
            key, value = "dports", _ports(arg)
        elif w in ("-s", "--source"):
            key, value = "src", tuple(arg.split(","))
        elif w in ("-d", "--destination"):
            key, value = "dst", tuple(arg.split(","))
        elif w in ("-i", "--in-interface"):
            key, value = "iif", (arg,)
        elif w in ("-o", "--out-interface"):
            key, value = "oif", (arg,)
        elif w in ("--state", "--ctstate"):
            ct_states = tuple(s.lower() for s in arg.split(","))
        elif w == "--pol":
            policy = arg
        elif w == "--dir":
            policy_dir = arg
        elif w == "-m":
            if arg not in _KNOWN_MATCHES:
                uncertain.append(f"-m {arg}")
        elif w in ("-j", "-g", "--jump", "--goto"):
            name = arg
            lowered = name.lower()
            if lowered in TERMINAL or lowered == "tcpmss":
                verdict = lowered
            elif name in ("LOG", "NFLOG", "MARK", "CONNMARK", "NOTRACK", "CT", "TRACE"):
                verdict = "none"
            else:
                verdict, target = ("goto" if w in ("-g", "--goto") else "jump"), name
        elif w in ("--comment", "--tcp-flags", "--set-mss", "--clamp-mss-to-pmtu", "--reject-with",
                   "--to-source", "--to-ports", "--spi", "--log-prefix", "--icmp-type", "--sport", "--source-port",
                   "--random", "--random-fully", "--mode", "--reqid", "--proto"):
            if w == "--tcp-flags":
                consumed = 3
            elif w in ("--clamp-mss-to-pmtu", "--random", "--random-fully"):
                consumed = 1
            if w in ("--sport", "--source-port"):
                uncertain.append(w)
        elif w.startswith("-"):
            uncertain.append(w)
            consumed = 1 if not arg or arg.startswith("-") else 2
        else:
            consumed = 1
        if key:
            fields[key] = value
            if neg:
                negated.append(key)
        neg = False
        i += consumed
    if policy and policy_dir in (None, "out", "in"):
        ipsec_policy = policy
    else:
        ipsec_policy = None
    return FwRule("iptables", family, table, chain, index, verdict, target, negated=tuple(negated),
                  ct_states=ct_states, ipsec_policy=ipsec_policy, uncertain=tuple(uncertain), text=text, line=number,
                  **fields)


# --------------------------------------------------------------------------------------- nft

def parse_nft_json(text: str) -> Ruleset:
    """Chains and rules from ``nft -j list ruleset`` (libnftables JSON schema 1).

    >>> rs = parse_nft_json('{"nftables": [{"chain": {"family": "inet", "table": "filter", "name": "input",'
    ...   ' "handle": 1, "type": "filter", "hook": "input", "prio": 0, "policy": "accept"}},'
    ...   ' {"rule": {"family": "inet", "table": "filter", "chain": "input", "handle": 3, "expr": ['
    ...   '{"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}},'
    ...   ' "right": {"set": [500, 4500]}}}, {"drop": null}]}}]}')
    >>> r = rs.rules[0]
    >>> r.verdict, r.protos, r.dports, r.text
    ('drop', ('udp',), ((500, 500), (4500, 4500)), 'udp dport { 500, 4500 } drop')
    """
    try:
        items = json.loads(text).get("nftables", [])
    except (ValueError, AttributeError):
        return Ruleset("nft", (), ())
    chains: list[FwChain] = []
    rules: list[FwRule] = []
    for item in items:
        if "chain" in item:
            c = item["chain"]
            name = c.get("name", "")
            compat = c.get("family") in ("ip", "ip6") and name in _BUILTIN
            chains.append(FwChain("nft", c.get("family", ""), c.get("table", ""), name, c.get("hook"),
                                  c.get("type"), _int_prio(c.get("prio", 0)), c.get("policy", "accept"), compat))
        elif "rule" in item:
            r = item["rule"]
            index = sum(1 for x in rules if (x.family, x.table, x.chain) == (r.get("family"), r.get("table"),
                                                                             r.get("chain"))) + 1
            rules.append(_nft_rule(r, index))
    return Ruleset("nft", tuple(chains), tuple(rules))


def _int_prio(value) -> int:
    if isinstance(value, int):
        return value
    names = {"raw": -300, "mangle": -150, "dstnat": -100, "filter": 0, "security": 50, "srcnat": 100}
    return names.get(str(value), 0)


def _right_values(right) -> list:
    if isinstance(right, dict):
        if "set" in right:
            out = []
            for v in right["set"]:
                out.extend(_right_values(v))
            return out
        if "range" in right:
            return [tuple(right["range"])]
        if "prefix" in right:
            p = right["prefix"]
            return [f"{p.get('addr')}/{p.get('len')}"]
        return [right]
    if isinstance(right, list):
        return right
    return [right]


def _nft_rule(r: dict, index: int) -> FwRule:
    fields: dict = {"protos": (), "dports": (), "src": (), "dst": (), "iif": (), "oif": ()}
    negated: list[str] = []
    uncertain: list[str] = []
    verdict, target = "none", None
    ct_states: tuple[str, ...] = ()
    ipsec_policy = None
    words: list[str] = []
    for expr in r.get("expr", []):
        if not isinstance(expr, dict) or not expr:
            continue
        op, body = next(iter(expr.items()))
        if op == "match":
            left, right, cmp = body.get("left", {}), body.get("right"), body.get("op", "==")
            values = _right_values(right)
            key, value = _nft_match(left, values)
            words.append(_nft_words(left, right, cmp))
            if key == "ct_states":
                ct_states = tuple(str(v) for v in values)
            elif key == "ipsec":
                present = value
                if cmp == "!=":
                    present = not present
                ipsec_policy = "ipsec" if present else "none"
            elif key == "ignore":
                continue
            elif key:
                fields[key] = fields[key] + value if key == "protos" else value
                proto = left.get("payload", {}).get("protocol") if key == "dports" else None
                if proto in ("udp", "tcp") and proto not in fields["protos"]:
                    fields["protos"] = fields["protos"] + (proto,)  # "udp dport 500" implies udp
                if cmp == "!=":
                    negated.append(key)
            else:
                uncertain.append(json.dumps(left, sort_keys=True))
        elif op in ("accept", "drop", "return"):
            verdict = op
            words.append(op)
        elif op in ("reject", "masquerade", "snat", "dnat"):
            verdict = op
            words.append(op)
        elif op in ("jump", "goto"):
            verdict, target = op, body.get("target")
            words.append(f"{op} {target}")
        elif op == "xt":
            name = str(body.get("name", "")).lower()
            if body.get("type") == "target":
                verdict = name if name in TERMINAL or name == "tcpmss" else verdict
            words.append(f"xt {name}")
            if body.get("type") == "match" and name not in _KNOWN_MATCHES:
                uncertain.append(f"xt {name}")
        elif op == "mangle":
            key = body.get("key", {})
            if "tcp option" in key or any("maxseg" in json.dumps(v) for v in key.values()):
                verdict = "tcpmss"
                words.append("tcp option maxseg size set")
        elif op in ("counter", "log", "comment"):
            continue
        else:
            words.append(op)
    return FwRule("nft", r.get("family", ""), r.get("table", ""), r.get("chain", ""), index, verdict, target,
                  negated=tuple(negated), ct_states=ct_states, ipsec_policy=ipsec_policy,
                  uncertain=tuple(uncertain), text=" ".join(w for w in words if w), line=r.get("handle"),
                  **fields)


def _nft_match(left: dict, values: list):
    if "payload" in left:
        p = left["payload"]
        proto, fld = p.get("protocol"), p.get("field")
        if fld == "dport" and proto in ("udp", "tcp", "th"):
            ports = []
            for v in values:
                if isinstance(v, (tuple, list)) and len(v) == 2:
                    ports.append((int(v[0]), int(v[1])))
                elif isinstance(v, int) or (isinstance(v, str) and v.isdigit()):
                    ports.append((int(v), int(v)))
            # "udp dport 500" also says the protocol is udp.
            return "dports", tuple(ports)
        if fld in ("saddr", "daddr") and proto in ("ip", "ip6"):
            return ("src" if fld == "saddr" else "dst"), tuple(str(v) for v in values)
        if fld in ("protocol", "nexthdr") and proto in ("ip", "ip6"):
            return "protos", tuple(str(v) for v in values)
        return None, None
    if "meta" in left:
        key = left["meta"].get("key")
        if key in ("l4proto", "protocol"):
            return ("protos", tuple(str(v) for v in values)) if key == "l4proto" else (None, None)
        if key in ("iifname", "iif"):
            return "iif", tuple(str(v) for v in values)
        if key in ("oifname", "oif"):
            return "oif", tuple(str(v) for v in values)
        if key == "secpath":
            return "ipsec", bool(values and values[0] not in (False, "missing"))
        if key == "nfproto":
            return "ignore", ()
    if "ct" in left and left["ct"].get("key") == "state":
        return "ct_states", ()
    if "rt" in left and left["rt"].get("key") == "ipsec":
        return "ipsec", bool(values and values[0] not in (False, "missing"))
    if "ipsec" in left:
        return "ipsec", True
    return None, None


def _nft_words(left: dict, right, op: str) -> str:
    """A readable approximation of the rule text (nft's own syntax, not guaranteed exact)."""
    if "payload" in left:
        name = f"{left['payload'].get('protocol')} {left['payload'].get('field')}"
    elif "meta" in left:
        name = f"meta {left['meta'].get('key')}"
    elif "ct" in left:
        name = f"ct {left['ct'].get('key')}"
    elif "&" in left:
        return "tcp flags syn"
    else:
        name = next(iter(left), "?")
    values = _right_values(right)
    shown = ", ".join(f"{v[0]}-{v[1]}" if isinstance(v, tuple) else str(v) for v in values)
    if isinstance(right, dict) and "set" in right:
        shown = "{ " + shown + " }"
    neg = "!= " if op == "!=" else ""
    return f"{name} {neg}{shown}"


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
