"""Rules: pure functions from :class:`~swandoc.facts.Facts` to findings.

Each rules module registers its functions with :func:`rule`; the knowledge they draw on
(titles, explanations, fixes, references) lives beside them as data in ``knowledge``.
"""
from __future__ import annotations

from typing import Callable, Iterable

from ..facts import Facts
from ..model import SEVERITIES, Finding

Rule = Callable[[Facts], Iterable[Finding]]
RULES: list[Rule] = []


def rule(fn: Rule) -> Rule:
    RULES.append(fn)
    return fn


def _load_rule_modules() -> None:
    # Imported for their @rule registrations.
    from . import logs, packets, host  # noqa: F401


def run_rules(facts: Facts) -> list[Finding]:
    """All findings, most likely root cause first, one per (id, connection)."""
    _load_rule_modules()
    seen: dict[tuple[str, str | None], Finding] = {}
    for fn in RULES:
        for finding in fn(facts) or ():
            if facts.focus and finding.connection not in (None, "", facts.focus):
                continue
            key = (finding.id, finding.connection)
            old = seen.get(key)
            if old is None or finding.rank > old.rank:
                seen[key] = finding
    return sorted(seen.values(), key=lambda f: (-f.rank, SEVERITIES.index(f.severity), f.id, f.connection or ""))
