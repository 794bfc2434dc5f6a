"""The rule registry: rules modules register here, ``swandoc.rules`` runs them.

Kept apart from ``swandoc/rules/__init__.py`` so a rules module never imports the package that
imports it (no import cycle).
"""
from __future__ import annotations

from typing import Callable, Iterable

from ..facts import Facts, HostFacts
from ..model import Finding

Rule = Callable[[Facts], Iterable[Finding]]
HostRule = Callable[[HostFacts], Iterable[Finding]]
RULES: list[Rule] = []


def rule(fn: Rule) -> Rule:
    RULES.append(fn)
    return fn


def host_rule(fn: HostRule) -> HostRule:
    """Register *fn* to run on each host's facts: two bundles are judged as two hosts."""
    def each_host(facts: Facts) -> Iterable[Finding]:
        for host in facts.hosts.values():
            yield from fn(host) or ()

    each_host.__name__ = each_host.__qualname__ = fn.__name__
    RULES.append(each_host)
    return fn
