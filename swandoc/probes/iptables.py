"""``iptables-save`` output as a :class:`~swandoc.probes.netfilter.Ruleset`.

Hand parsing: iptables has no structured output (``iptables-save`` is the stable, complete form);
each rule is one line of options, split with :mod:`shlex`.
"""
from __future__ import annotations

import shlex

from .netfilter import BUILTIN_CHAINS, KNOWN_MATCHES, TERMINAL, FwChain, FwRule, Ruleset

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
            hook = BUILTIN_CHAINS.get(name)
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


def parse_ip6tables_save(text: str) -> Ruleset:
    """``ip6tables-save`` output: the same format, rules of family ip6."""
    return parse_iptables_save(text, family="ip6")


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
            if arg not in KNOWN_MATCHES:
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
