r"""Scrub learnt secret values wherever they turn up, in every encoding a tool may have used.

A secret read from ipsec.secrets (or an NSS password file, a NetworkManager connection, a
password option) is held in memory only, as bytes, and searched for in every member of a
bundle in each form it can take on the way there:

* as text (``correct horse``), JSON-escaped as a journal record holds it (``\"``, ``\\``,
  ``\u00fc``, ``\/``), C/pluto-escaped (``\ooo``, ``\xNN``);
* as hex in either case, with or without separators between the digits (``5377``, ``53 77``,
  ``53:77``, ``53-77``, ``0x53, 0x77``, ``\x53\x77``, ``%53%77``, the double blank between
  pluto's 4-byte groups): every run of hex digits
  and separators is normalised and searched, so the alignment of the bytes does not matter
  (dumps over several rows are pluto's, which ``dumps`` removes by structure);
* as base64 (standard and URL alphabet, with or without padding, and its middle at each of the
  three alignments, so a secret inside a longer base64 blob is found too);
* the ``0x``/``0s``/``0t`` forms are the same bytes behind a prefix, so they are covered.

Speed: the literal forms are searched in one pass with an Aho-Corasick automaton (Debian's
python3-ahocorasick; ``re`` has none, and a big alternation costs ~1 s per MB), case folded
for ASCII; where the library is missing (RHEL 9 without EPEL) a trie-shaped regex does the same,
slower. Hex runs are found by one generic pattern, then checked against the learnt hex.

A short value (< 8 characters) only matches between non-alphanumeric characters, and a match
that lies inside a protected ID (the IDs of ipsec.secrets) is left alone, so a learnt value never
eats part of an unrelated ID (``@vpn-gw`` and a PSK ``vpn-g``).

>>> k = KnownSecrets(); k.add('Sw\u00e4nd"oc-1'.encode())
>>> k.scrub(r'x "Sw\u00e4nd\"oc-1" 53 77 c3 a4 6e 64 22 6f 63 2d 31 U3fDpG5kIm9jLTE=')[0]
'x "[known secret removed]" [known secret removed] [known secret removed]'
"""
from __future__ import annotations

import base64
import bisect
import json
import re

from ..trie import trie_pattern

try:  # optional: linear-time multi-string search (python3-ahocorasick)
    import ahocorasick
except ImportError:  # pragma: no cover - the regex fallback below is used
    ahocorasick = None

MIN_LENGTH = 4  # shorter values would match everywhere; the grammar still removes them in place
SHORT = 8
REPLACEMENT = "[known secret removed]"
# A run of hex digits with at most two separator characters between any two of them.
# Separators: blanks, ':', '_', '.', '-', ',', '%' (URL escapes), and a repeated 0x / \x prefix
# ("0x53, 0x77", "\x53\x77").
_HEX_RUN = re.compile(r"[0-9A-Fa-f](?:[ \t:_.,%-]{0,2}(?:0[xX]|\\[xX])?[0-9A-Fa-f]){7,}")
_SEPARATORS = re.compile(r"0[xX]|\\[xX]|[ \t:_.,%-]")
_ASCII_LOWER = str.maketrans({c: c.lower() for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"})  # keeps every length


def _json_forms(text: str) -> set[str]:
    forms = {json.dumps(text)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1]}
    forms |= {f.replace("/", "\\/") for f in forms}
    forms |= {re.sub(r"\\u([0-9a-f]{4})", lambda m: "\\u" + m.group(1).upper(), f) for f in forms}
    return forms


def _escaped_forms(data: bytes) -> set[str]:
    """C-style escapes of non-printable or non-ASCII bytes, as loggers print them."""
    if all(32 <= b < 127 for b in data):
        return set()
    octal = "".join(chr(b) if 32 <= b < 127 and b != 92 else f"\\{b:03o}" for b in data)
    hexed = "".join(chr(b) if 32 <= b < 127 and b != 92 else f"\\x{b:02x}" for b in data)
    return {octal, hexed, hexed.replace("\\x", "\\X")}


def _base64_forms(data: bytes) -> set[str]:
    forms = set()
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        whole = encode(data).decode()
        forms |= {whole, whole.rstrip("=")}
        for shift in (0, 1, 2):
            # the secret's own characters when it sits *shift* bytes into a longer blob
            shifted = encode(b"\0" * shift + data).decode().rstrip("=")
            lead = (shift * 8 + 5) // 6
            tail = ((shift + len(data)) * 8) % 6 and 1
            core = shifted[lead:len(shifted) - tail]
            if len(core) >= 8:
                forms.add(core)
    return forms


def text_forms(data: bytes) -> set[str]:
    """Every textual form of *data* searched for (hex is searched separately)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    forms = {text} | _json_forms(text) | _escaped_forms(data) | _base64_forms(data)
    return {f for f in forms if len(f) >= MIN_LENGTH}


class KnownSecrets:
    """The learnt values (memory only) and the patterns for all their forms."""

    def __init__(self) -> None:
        self._values: set[bytes] = set()
        self._protected: set[str] = set()
        self._compiled: tuple | None = None

    def __len__(self) -> int:
        return len(self._values)

    def add(self, data: bytes) -> None:
        if len(data) >= MIN_LENGTH and data not in self._values:
            self._values.add(data)
            self._compiled = None

    def add_text(self, value: str) -> None:
        self.add(value.encode("utf-8", "surrogateescape"))

    def protect(self, ident: str) -> None:
        """An ID that a learnt value must not be cut out of (it is no secret)."""
        if len(ident) >= 2:
            self._protected.add(ident)
            self._compiled = None

    def _compile(self) -> tuple:
        if self._compiled is None:
            literals = sorted({f.translate(_ASCII_LOWER) for data in self._values for f in text_forms(data)})
            hexes = {data.hex() for data in self._values}
            if ahocorasick is not None and literals:
                literal = ahocorasick.Automaton()
                for form in literals:
                    literal.add_word(form, len(form))
                literal.make_automaton()
            else:
                literal = re.compile(trie_pattern(literals)) if literals else None
            hexed = re.compile(trie_pattern(sorted(hexes))) if hexes else None
            protected = re.compile(trie_pattern(sorted(self._protected, key=len, reverse=True))) \
                if self._protected else None
            self._compiled = (literal, hexed, protected)
        return self._compiled

    def _literal_spans(self, literal, folded: str) -> list[tuple[int, int]]:
        if literal is None:
            return []
        if isinstance(literal, re.Pattern):
            return [m.span() for m in literal.finditer(folded)]
        return [(end + 1 - length, end + 1) for end, length in literal.iter(folded)]

    def scrub(self, text: str) -> tuple[str, int]:
        if not self._values:
            return text, 0
        literal, hexed, protected = self._compile()
        spans = [(m.start(), m.end()) for m in protected.finditer(text)] if protected else []
        starts = [s for s, _ in spans]

        def inside_id(start: int, end: int) -> bool:
            i = bisect.bisect_right(starts, start) - 1
            while i >= 0 and spans[i][0] <= start:
                s, e = spans[i]
                if end <= e and (s, e) != (start, end):
                    return True
                i -= 1
            return False

        hits = []
        for start, end in self._literal_spans(literal, text.translate(_ASCII_LOWER)):
            if end - start < SHORT and ((start and text[start - 1].isalnum()) or (end < len(text) and text[end].isalnum())):
                continue
            if spans and inside_id(start, end):
                continue
            hits.append((start, end))
        count = 0
        if hits:
            hits.sort()
            out, pos = [], 0
            for start, end in hits:
                if start < pos:  # overlaps the previous hit: extend it
                    pos = max(pos, end)
                    continue
                out.append(text[pos:start])
                out.append(REPLACEMENT)
                count += 1
                pos = end
            out.append(text[pos:])
            text = "".join(out)
        if hexed is not None:
            def hex_run(match: re.Match) -> str:
                nonlocal count
                digits = _SEPARATORS.sub("", match.group()).lower()
                if hexed.search(digits):
                    count += 1
                    return REPLACEMENT
                return match.group()

            text = _HEX_RUN.sub(hex_run, text)
        return text, count
