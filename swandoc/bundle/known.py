r"""Scrub learnt secret values wherever they turn up, in every encoding a tool may have used.

A secret read from ipsec.secrets (or an NSS password file, a NetworkManager connection, a
password option) is held in memory only, as bytes, and searched for in every member of a
bundle in each form it can take on the way there:

* as text (``correct horse``), JSON-escaped as a journal record holds it (``\"``, ``\\``,
  ``\u00fc``, ``\/``), C/pluto-escaped (``\ooo``, ``\xNN``);
* as hex in either case, with or without separators between the bytes (``5377``, ``53 77``,
  ``53:77``, ``53-77``, the double blank between pluto's 4-byte groups), also continued over
  the rows of a dump;
* as base64 (standard and URL alphabet, with or without padding, and its middle at each of the
  three alignments, so a secret inside a longer base64 blob is found too);
* the ``0x``/``0s``/``0t`` forms are the same bytes behind a prefix, so they are covered.

Matching is case-insensitive. A short value (< 8 characters) only matches between non-name
characters, so that it does not eat part of an unrelated ID (``@vpn-gw`` and a PSK ``vpn``).

>>> k = KnownSecrets(); k.add('Sw\u00e4nd"oc-1'.encode())
>>> k.scrub(r'x "Sw\u00e4nd\"oc-1" 53 77 c3 a4 6e 64 22 6f 63 2d 31 U3fDpG5kIm9jLTE=')[0]
'x "[known secret removed]" [known secret removed] [known secret removed]'
"""
from __future__ import annotations

import base64
import json
import re

MIN_LENGTH = 4  # shorter values would match everywhere; the grammar still removes them in place
SHORT = 8
_NAME_CHAR = r"[A-Za-z0-9_.@#-]"
# Between two hex bytes: nothing, one separator, pluto's double blank, or the end of a dump row
# and the prefix of the next ("\n<time>: |   ").
_HEX_GAP = r"(?:[ \t:_.-]{0,2}|[ \t]*\r?\n[^\n]{0,60}?[|\]][ \t]+)"
REPLACEMENT = "[known secret removed]"


def _json_forms(text: str) -> set[str]:
    forms = {json.dumps(text)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1]}
    forms |= {f.replace("/", "\\/") for f in forms}
    return forms


def _escaped_forms(data: bytes) -> set[str]:
    """C-style escapes of non-printable or non-ASCII bytes, as loggers print them."""
    if all(32 <= b < 127 for b in data):
        return set()
    octal = "".join(chr(b) if 32 <= b < 127 and b != 92 else f"\\{b:03o}" for b in data)
    hexed = "".join(chr(b) if 32 <= b < 127 and b != 92 else f"\\x{b:02x}" for b in data)
    return {octal, hexed}


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


class KnownSecrets:
    """The learnt values (memory only) and one compiled pattern for all their forms."""

    def __init__(self) -> None:
        self._values: set[bytes] = set()
        self._pattern: re.Pattern | None = None

    def __len__(self) -> int:
        return len(self._values)

    def add(self, data: bytes) -> None:
        if len(data) >= MIN_LENGTH and data not in self._values:
            self._values.add(data)
            self._pattern = None

    def add_text(self, value: str) -> None:
        self.add(value.encode("utf-8", "surrogateescape"))

    def _alternatives(self, data: bytes) -> list[str]:
        literal: set[str] = set()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
        literal.add(text)
        literal |= _json_forms(text)
        literal |= _escaped_forms(data)
        literal |= _base64_forms(data)
        alternatives = []
        for form in literal:
            if len(form) < MIN_LENGTH:
                continue
            body = re.escape(form)
            if len(form) < SHORT:
                body = f"(?<!{_NAME_CHAR}){body}(?!{_NAME_CHAR})"
            alternatives.append(body)
        hexed = data.hex()
        pairs = [hexed[i:i + 2] for i in range(0, len(hexed), 2)]
        hex_body = _HEX_GAP.join(pairs)
        if len(pairs) < SHORT // 2 + 1:
            hex_body = f"(?<![0-9A-Fa-f]){hex_body}(?![0-9A-Fa-f])"
        alternatives.append(hex_body)
        return alternatives

    def pattern(self) -> re.Pattern | None:
        if not self._values:
            return None
        if self._pattern is None:
            parts: list[str] = []
            for data in sorted(self._values, key=len, reverse=True):
                parts.extend(self._alternatives(data))
            parts.sort(key=len, reverse=True)
            self._pattern = re.compile("|".join(parts), re.IGNORECASE)
        return self._pattern

    def scrub(self, text: str) -> tuple[str, int]:
        pattern = self.pattern()
        if pattern is None:
            return text, 0
        return pattern.subn(REPLACEMENT, text)
