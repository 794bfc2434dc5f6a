"""Regexes compiled the first time they are used.

Compiling a regex costs a fraction of a millisecond to a few; a module of many costs milliseconds at
every start, paid again by every run that never uses them (the envelope patterns, say, when the log is
in pluto's own format and takes the fast path). A :class:`LazyPattern` compiles on its first
``match``/``search``/``fullmatch``/``finditer``/``findall``/``sub`` and from then on those are the
compiled pattern's own methods, at the same cost.
"""
from __future__ import annotations

import re


class LazyPattern:
    """``re.compile(pattern, flags)``, done when first used.

    >>> p = LazyPattern(r"a+", re.I)
    >>> p.match("AAb").group(), p.pattern
    ('AA', 'a+')
    """

    __slots__ = ("pattern", "flags", "match", "search", "fullmatch", "finditer", "findall", "sub")

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.pattern, self.flags = pattern, flags

    def __getattr__(self, name: str):  # (only while not compiled: then every method is set on the instance)
        compiled = re.compile(self.pattern, self.flags)
        for method in ("match", "search", "fullmatch", "finditer", "findall", "sub"):
            setattr(self, method, getattr(compiled, method))
        return getattr(compiled, name)
