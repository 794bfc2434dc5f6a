"""The knowledge base: what each finding id means and how to fix it, as data.

Text is the project's own; ``reference`` points at the section of the reference
documentation (RHEL 9 "Configuring a VPN with IPsec") that covers the problem.
Rules modules register their topics here with :func:`topic` so the data sits next to the
rule that uses it, and :func:`finding` turns a topic plus evidence into a Finding.
"""
from __future__ import annotations

from dataclasses import dataclass
from ..compat import SLOTS

from ..model import EvidenceLine, Finding

DOC = 'RHEL 9 "Configuring a VPN with IPsec"'
REF_FIREWALL = f"{DOC} §4.13 Troubleshooting: firewall-related problems"
REF_MISMATCH = f"{DOC} §4.13 Troubleshooting: mismatched algorithms, protocols, and policies"
REF_MTU = f"{DOC} §4.13 Troubleshooting: maximum transmission unit"
REF_NAT = f"{DOC} §4.13 Troubleshooting: network address translation (NAT)"
REF_KERNEL = f"{DOC} §4.13 Troubleshooting: kernel IPsec subsystem bugs"
REF_LOGS = f"{DOC} §4.13 Troubleshooting: Libreswan logs"
REF_BASIC = f"{DOC} §4.13 Troubleshooting: basic connection troubleshooting"
REF_AUTH = f"{DOC} §4.7 Methods of authentication used in Libreswan"
REF_TCP = f"{DOC} §4.10 Configuring an IPsec VPN to use TCP"
REF_HOST = f"{DOC} §4.3 Creating a host-to-host VPN"
REF_SITE = f"{DOC} §4.4 Configuring a site-to-site VPN"


@dataclass(frozen=True, **SLOTS)
class Topic:
    id: str
    severity: str
    title: str
    side: str
    explanation: str
    fix: tuple[str, ...]
    reference: str
    rank: int  # how likely this is the root cause when several findings appear together


TOPICS: dict[str, Topic] = {}


def topic(id: str, severity: str, title: str, side: str, explanation: str, fix: tuple[str, ...] | list[str],
          reference: str, rank: int) -> Topic:
    t = Topic(id, severity, title, side, " ".join(explanation.split()), tuple(fix), reference, rank)
    TOPICS[id] = t
    return t


def finding(id: str, connection: str | None, evidence: tuple[EvidenceLine, ...] | list[EvidenceLine], *,
            title: str | None = None, side: str | None = None, explanation: str | None = None,
            extra: str | None = None, fix: tuple[str, ...] | list[str] | None = None,
            extra_fix: tuple[str, ...] | list[str] = (), details: dict[str, str] | None = None,
            rank: int | None = None) -> Finding:
    """A Finding built from the topic's defaults, with any of them specialised by the rule."""
    t = TOPICS[id]
    text = explanation or t.explanation
    if extra:
        text = f"{text} {extra}"
    return Finding(
        id=id,
        severity=t.severity,
        title=title or t.title,
        connection=connection or None,
        side=side or t.side,
        evidence=tuple(dict.fromkeys(evidence)),  # keep order, drop repeats
        explanation=text,
        fix=tuple(fix if fix is not None else t.fix) + tuple(extra_fix),
        reference=t.reference,
        rank=t.rank if rank is None else rank,
        details=tuple((details or {}).items()),
    )
