"""``nft -j list ruleset`` (libnftables JSON) as a :class:`~swandoc.probes.netfilter.Ruleset`.

The JSON is nft's own structured form, so nothing here parses nft's text syntax. A rule that matches
against a named set (``udp dport @blocked``) gets the set's elements from the same ruleset; a set
that is not there, or whose elements are not plain values, makes the condition uncertain, never "any".
"""
from __future__ import annotations

import json

from .netfilter import BUILTIN_CHAINS, KNOWN_MATCHES, TERMINAL, FwChain, FwRule, Ruleset

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

    A named set is resolved from the ruleset; one that is not there leaves the rule uncertain:

    >>> set_ = '{"set": {"family": "inet", "table": "filter", "name": "ike", "elem": [500, 4500]}}'
    >>> rule = ('{"rule": {"family": "inet", "table": "filter", "chain": "input", "handle": 4, "expr": ['
    ...   '{"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}},'
    ...   ' "right": "@ike"}}, {"drop": null}]}}')
    >>> r = parse_nft_json('{"nftables": [' + set_ + ', ' + rule + ']}').rules[0]
    >>> r.dports, r.uncertain, r.text
    (((500, 500), (4500, 4500)), (), 'udp dport @ike drop')
    >>> parse_nft_json('{"nftables": [' + rule + ']}').rules[0].uncertain
    ('udp dport @ike (named set not in the ruleset)',)
    """
    try:
        items = json.loads(text).get("nftables", [])
    except (ValueError, AttributeError):
        return Ruleset("nft", (), ())
    chains: list[FwChain] = []
    rules: list[FwRule] = []
    sets = _named_sets(items)
    for item in items:
        if "chain" in item:
            c = item["chain"]
            name = c.get("name", "")
            compat = c.get("family") in ("ip", "ip6") and name in BUILTIN_CHAINS
            chains.append(FwChain("nft", c.get("family", ""), c.get("table", ""), name, c.get("hook"),
                                  c.get("type"), _int_prio(c.get("prio", 0)), c.get("policy", "accept"), compat))
        elif "rule" in item:
            r = item["rule"]
            index = sum(1 for x in rules if (x.family, x.table, x.chain) == (r.get("family"), r.get("table"),
                                                                             r.get("chain"))) + 1
            rules.append(_nft_rule(r, index, sets))
    return Ruleset("nft", tuple(chains), tuple(rules))


def _named_sets(items: list) -> dict[tuple[str, str, str], list | None]:
    """(family, table, name) -> the set's elements, or None when an element is not a plain value."""
    sets: dict[tuple[str, str, str], list | None] = {}
    for item in items:
        body = item.get("set") if isinstance(item, dict) else None
        if not isinstance(body, dict):
            continue
        values: list | None = []
        for elem in body.get("elem") or []:
            if isinstance(elem, dict) and "elem" in elem:  # an element with a timeout or comment
                elem = elem["elem"].get("val") if isinstance(elem["elem"], dict) else elem["elem"]
            if isinstance(elem, (int, str)) or (isinstance(elem, dict) and set(elem) <= {"range", "prefix"}):
                values.extend(_right_values(elem))
            else:
                values = None  # concatenations, maps, ...: not a list of plain values
                break
        sets[(str(body.get("family")), str(body.get("table")), str(body.get("name")))] = values
    return sets


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


def _nft_rule(r: dict, index: int, sets: dict[tuple[str, str, str], list | None]) -> FwRule:
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
            words.append(_nft_words(left, right, cmp))
            if isinstance(right, str) and right.startswith("@"):
                # A named set: its elements, from the same ruleset. Unknown elements must never
                # read as "no condition" (= any port), or a rule about other ports looks like a block.
                key = (str(r.get("family")), str(r.get("table")), right[1:])
                right = sets.get(key)
                if not right:  # not there, not plain values, or empty (matches nothing, never "any")
                    why = "not in the ruleset" if key not in sets else ("empty" if right == [] else "not plain values")
                    uncertain.append(f"{words[-1]} (named set {why})")
                    continue
                right = {"set": right}
            values = _right_values(right)
            key, value = _nft_match(left, values)
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
            if body.get("type") == "match" and name not in KNOWN_MATCHES:
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
