"""One regex for many literal words, shaped as a trie: each position of the text tries one branch per
next character instead of every word (Python's re has no Aho-Corasick). The log parser's needles and
the bundle's learnt secrets and names both use it.
"""
from __future__ import annotations

import re


def trie_pattern(words) -> str:
    """A regex matching any of *words*, shaped as a trie (longest match wins).

    >>> trie_pattern(["fail", "failed", "found"])
    'f(?:ail(?:ed)?|ound)'
    >>> re.findall(trie_pattern(["fail", "failed", "found"]), "failed, not found, fail")
    ['failed', 'found', 'fail']
    """
    trie: dict = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = True

    def build(node: dict) -> str:
        # iterative over single-child chains so long words do not nest groups needlessly
        branches = []
        for ch, child in sorted(node.items()):
            if not ch:
                continue
            chain = re.escape(ch)
            while len(child) == 1 and "" not in child:
                (nxt, child), = child.items()
                chain += re.escape(nxt)
            branches.append(chain + build(child))
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 and "" not in node else "(?:" + "|".join(branches) + ")"
        return body + "?" if "" in node else body

    return build(trie)
