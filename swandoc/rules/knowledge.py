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


# Libreswan major versions a fix step can apply to. The lab checks every ``ipsec ...`` command and every
# ipsec.conf option of a step against the installed 4.x and the 5.x root (tests/lab/test_fix_versions.py).
ALL_VERSIONS = ("3", "4", "5")
UP_TO_4 = ("3", "4")   # ipsec auto --add/--up/--replace/--rereadsecrets; ikev2=insist/yes (no keyexchange=ikev2)
V5 = ("5",)            # ipsec add/up/replace/rereadsecrets/connectionstatus; keyexchange=ikev2


class FixStep(str):
    """One fix step: its text (a str, so every renderer can treat it as one) and the Libreswan major
    versions it applies to (``versions``), e.g. ``keyexchange=ikev2`` is 5.x only.

    >>> step = FixStep("keyexchange=ikev2", ("5",))
    >>> step, step.versions, versions_label(step.versions)
    ('keyexchange=ikev2', ('5',), 'Libreswan 5.x')
    >>> versions_label(FixStep("ping PEER").versions)
    ''
    """

    versions: tuple[str, ...]

    def __new__(cls, text: str, versions: tuple[str, ...] | str = ALL_VERSIONS) -> "FixStep":
        step = super().__new__(cls, text)
        step.versions = tuple(versions) if not isinstance(versions, str) else (versions,)
        return step

    def __reduce__(self):
        return (FixStep, (str(self), self.versions))


def fix_step(step: "str | tuple[str, tuple[str, ...] | str]") -> FixStep:
    """A step from plain text (every version) or a (text, versions) pair."""
    if isinstance(step, FixStep):
        return step
    if isinstance(step, tuple):
        return FixStep(step[0], step[1])
    return FixStep(step)


def step_versions(step: str) -> tuple[str, ...]:
    return getattr(step, "versions", ALL_VERSIONS)


def versions_label(versions: tuple[str, ...]) -> str:
    """'' for a step that applies to every version, else e.g. 'Libreswan 4.x' or 'Libreswan 3.x and 4.x'.

    >>> versions_label(("3", "4")), versions_label(("4", "5")), versions_label(ALL_VERSIONS)
    ('Libreswan 3.x and 4.x', 'Libreswan 4.x and 5.x', '')
    """
    if tuple(sorted(versions)) == ALL_VERSIONS:
        return ""
    names = [f"{v}.x" for v in sorted(versions)]
    return "Libreswan " + (names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1])


@dataclass(frozen=True, **SLOTS)
class Topic:
    id: str
    severity: str
    title: str
    side: str
    explanation: str
    fix: tuple[FixStep, ...]  # each step with the Libreswan versions it applies to
    reference: str
    rank: int  # how likely this is the root cause when several findings appear together


TOPICS: dict[str, Topic] = {}


def topic(id: str, severity: str, title: str, side: str, explanation: str, fix: tuple | list,
          reference: str, rank: int) -> Topic:
    """Register a topic. Fix steps are plain text (every version) or ``(text, versions)`` pairs."""
    t = Topic(id, severity, title, side, " ".join(explanation.split()), tuple(fix_step(f) for f in fix),
              reference, rank)
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
        fix=tuple(fix_step(f) for f in (fix if fix is not None else t.fix)) + tuple(fix_step(f) for f in extra_fix),
        reference=t.reference,
        rank=t.rank if rank is None else rank,
        details=tuple((details or {}).items()),
    )
