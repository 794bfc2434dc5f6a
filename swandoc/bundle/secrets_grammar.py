"""ipsec.secrets read the way pluto reads it, so that redaction follows its grammar, not a guess.

The grammar (ipsec.secrets(5), and pluto's lexer in Libreswan 3.x-5.x, read but not copied):

* A **record** starts on a line whose first character is neither blank nor ``#``; lines that
  begin with a blank continue it, and comment lines and empty lines inside it do not end it.
* **Tokens** are separated by blanks. A ``#`` where a token would start begins a comment to the
  end of the line (inside a token it is part of the token). A token that starts with ``"``,
  ``'`` or a backquote runs to the next same quote character on that line — there are no
  escapes — and its value is learnt without the quotes; an unterminated one runs to the end of
  the line. A token starting ``0t`` runs to the end of the line (text data may hold blanks).
  A trailing ``:`` is split from the token it ends (``@b:`` -> ``@b`` ``:``).
* ``include FILE`` (glob, relative to the including file) is one kind of record; every other
  is ``ID ID ... : KIND value...`` with KIND one of PSK, XAUTH, EAP, NTLM, PIN, PPKS, RSA,
  ECDSA (older Openswan/strongSwan forms included). PPKS's first value is the PPK *id* (kept),
  ``%prompt`` and ``%smartcard[:slot:id]`` are references (kept), ``: RSA "nickname"`` names a
  key in NSS (kept), ``: RSA { ... }`` is a raw private key block (removed whole).

What cannot be understood is removed *with* a note, and whatever stands before its ``:`` (its
IDs) is kept. Comments are searched too: a commented-out entry (``#@a @b : PSK "old"``) is
usually the previous secret, and every quoted or ``0x``/``0s``/``0t`` token inside a comment
goes, whatever surrounds it.

>>> redact_secrets("@a @b: PSK 'two words' # old: \\"x1\\"\\n")[0]
'@a @b: PSK [PSK, quoted, 8-15 chars] # old: [secret in a comment removed]\\n'
>>> [t.value for r in parse_secrets('@u : XAUTH "p w"\\n: PIN %smartcard:45 "1234"\\n')[0] for t in r.secrets]
['p w', '1234']
"""
from __future__ import annotations

import base64
import binascii
import re
from collections import Counter
from dataclasses import dataclass
from typing import Iterator

from ..compat import SLOTS

QUOTES = "\"'`"
KINDS = ("PSK", "XAUTH", "EAP", "NTLM", "PIN", "PPKS", "PPKF", "RSA", "ECDSA", "P12", "BLISS", "PKCS12")
KEY_KINDS = ("RSA", "ECDSA", "P12", "BLISS", "PKCS12")
_KEY_KINDS = KEY_KINDS
LABEL = {"PSK": "PSK", "XAUTH": "XAUTH password", "EAP": "EAP password", "NTLM": "NTLM password", "PIN": "PIN",
         "PPKS": "PPK", "PPKF": "PPK file", "RSA": "RSA key", "ECDSA": "ECDSA key", "P12": "PKCS#12 passphrase",
         "PKCS12": "PKCS#12 passphrase", "BLISS": "BLISS key"}
COUNT_KIND = {"PSK": "psk", "XAUTH": "xauth", "EAP": "eap", "NTLM": "ntlm", "PIN": "pin", "PPKS": "ppk", "PPKF": "ppk",
              "RSA": "rsa-private", "ECDSA": "ecdsa-private", "P12": "p12-passphrase", "PKCS12": "p12-passphrase",
              "BLISS": "bliss-private"}
# What this module writes in place of a secret: read back as one token, never censored twice.
# Only the exact shapes written here, so that a value merely looking like one is still a value.
_PLACEHOLDER = re.compile(r"\[(?:[A-Za-z#0-9 ]+, (?:quoted|hex|base64|text|bare), (?:empty|\d+-\d+|64\+) (?:chars|bytes)"
                          r"|unparsed secrets entry removed: [a-z ':]+|secret in a comment removed|known secret removed"
                          r"|[A-Za-z#0-9 ]+ block removed, \d+ lines|[A-Za-z#0-9 ]+ block removed)\]")
_FUSED = re.compile(r"^(?P<id>.*?):(?P<kind>" + "|".join(KINDS) + r")$", re.IGNORECASE)
_ID_SHAPED = re.compile(r"@\S+|%any6?|[0-9a-fA-F:.]+(?:/\d+)?|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+")


_ENCODED = re.compile(r"0[xX][0-9A-Fa-f_]{2}|0[sS][A-Za-z0-9+/=_-]{2}|0[tT]\S")


@dataclass(frozen=True, **SLOTS)
class Token:
    start: int  # offsets in the text, quotes included
    end: int
    raw: str  # as written, with its quotes
    quote: str  # the quote character, or ""

    @property
    def value(self) -> str:
        """What pluto learns: a quoted token without its quotes (an unterminated one keeps its opening quote)."""
        if self.quote and len(self.raw) > 1 and self.raw.endswith(self.quote):
            return self.raw[1:-1]
        return self.raw


@dataclass(frozen=True, **SLOTS)
class Record:
    tokens: tuple[Token, ...]
    ids: tuple[Token, ...] = ()
    kind: str | None = None  # upper-case KIND, None for include / unparsed
    secrets: tuple[Token, ...] = ()  # tokens whose value is secret
    block: tuple[int, int] | None = None  # span of an RSA { ... } block (removed whole)
    include: str | None = None
    problem: str | None = None  # why it could not be understood (its secrets are still removed)


@dataclass(frozen=True, **SLOTS)
class Comment:
    start: int  # the '#'
    end: int
    tokens: tuple[Token, ...]


def _lines(text: str) -> Iterator[tuple[int, str]]:
    pos = 0
    for line in text.splitlines(keepends=True):
        yield pos, line.rstrip("\r\n")
        pos += len(line)


def lex(text: str) -> tuple[list[list[Token]], list[Comment]]:
    """Records (as token lists) and comments of an ipsec.secrets text."""
    records: list[list[Token]] = []
    comments: list[Comment] = []
    for offset, line in _lines(text):
        stripped = line.rstrip()
        p = 0
        while p < len(stripped) and stripped[p] == "\ufeff":  # a BOM is not a token
            p += 1
        if p < len(stripped) and stripped[p] not in " \t#":
            records.append([])
        elif not records:
            records.append([])
        tokens = records[-1]
        while p < len(stripped):
            c = stripped[p]
            if c in " \t":
                p += 1
                continue
            if c == "#":
                body = stripped[p:]
                inner = _tokens_of(body.lstrip("#"), offset + p + (len(body) - len(body.lstrip("#"))))
                comments.append(Comment(offset + p, offset + len(stripped), tuple(inner)))
                break
            held = _PLACEHOLDER.match(stripped, p) if c == "[" else None
            if held:
                tokens.append(Token(offset + p, offset + held.end(), held.group(), ""))
                p = held.end()
                continue
            if c in QUOTES:
                close = stripped.find(c, p + 1)
                end = len(stripped) if close < 0 else close + 1
                tokens.append(Token(offset + p, offset + end, stripped[p:end], c))
                p = end
                continue
            if stripped.startswith("0t", p):
                tokens.append(Token(offset + p, offset + len(stripped), stripped[p:], ""))
                break
            end = p
            while end < len(stripped) and stripped[end] not in " \t":
                end += 1
            word = stripped[p:end]
            if len(word) > 1 and word.endswith(":"):
                tokens.append(Token(offset + p, offset + end - 1, word[:-1], ""))
                tokens.append(Token(offset + end - 1, offset + end, ":", ""))
            else:
                fused = _FUSED.match(word)
                if fused and word != ":":
                    cut = offset + p + len(fused.group("id"))
                    if fused.group("id"):
                        tokens.append(Token(offset + p, cut, fused.group("id"), ""))
                    tokens.append(Token(cut, cut + 1, ":", ""))
                    tokens.append(Token(cut + 1, offset + end, fused.group("kind"), ""))
                else:
                    tokens.append(Token(offset + p, offset + end, word, ""))
            p = end
    return [r for r in records if r], comments


def _tokens_of(text: str, offset: int) -> list[Token]:
    records, _ = lex(" " + text)  # one line, as a continuation: no record boundary inside
    return [Token(t.start - 1 + offset, t.end - 1 + offset, t.raw, t.quote) for r in records for t in r]


def _is_reference(token: Token) -> bool:
    low = token.raw.lower()
    return not token.quote and (low == "%prompt" or low.startswith("%smartcard") or low == "%any")


def parse_record(tokens: list[Token]) -> Record:
    words = [t.raw if not t.quote else None for t in tokens]
    if words[0] == "include":
        return Record(tuple(tokens), include=tokens[1].value if len(tokens) > 1 else None,
                      problem=None if len(tokens) == 2 else "include needs exactly one file name",
                      secrets=tuple(tokens[2:]))
    if ":" not in words:
        ids = []
        for t in tokens:
            if t.quote or not _ID_SHAPED.fullmatch(t.raw) or t.raw.upper() in KINDS:
                break
            ids.append(t)
        rest = tokens[len(ids):]
        return Record(tuple(tokens), tuple(ids), secrets=tuple(rest), problem="no ':' before the secret")
    colon = words.index(":")
    ids, after = tuple(tokens[:colon]), tokens[colon + 1:]
    if not after:
        return Record(tuple(tokens), ids, problem="nothing after ':'")
    kind = after[0].raw.upper() if not after[0].quote else ""
    values = after[1:]
    if kind not in KINDS:
        return Record(tuple(tokens), ids, secrets=tuple(after), problem="unknown secret type")
    if kind in _KEY_KINDS:
        if values and values[0].raw.startswith("{") and not values[0].quote:
            close = next((i for i, t in enumerate(values) if t.raw.endswith("}") and not t.quote), None)
            end = values[close].end if close is not None else values[-1].end
            problem = None if close is not None else "RSA block without its closing '}'"
            trailing = tuple(values[close + 1:]) if close is not None else ()
            return Record(tuple(tokens), ids, kind, secrets=trailing, block=(values[0].start, end), problem=problem)
        # a nickname / key file / %smartcard reference, then an optional passphrase
        secret = tuple(t for t in values[1:] if not _is_reference(t))
        if values and _is_reference(values[0]):
            secret = tuple(t for t in values if not _is_reference(t))
        return Record(tuple(tokens), ids, kind, secrets=secret)
    if kind in ("PPKS", "PPKF") and len(values) >= 2:
        values = values[1:]  # the PPK id names the key; the next value is the key (PPKF: the file holding it)
    if kind == "PPKF" and len(values) == 1 and values[0].value.startswith("/"):
        return Record(tuple(tokens), ids, kind)
    secret = tuple(t for t in values if not _is_reference(t))
    problem = None if values else "no value"
    if len(secret) > 1:
        problem = "more than one value"
    return Record(tuple(tokens), ids, kind, secrets=secret, problem=problem)


def parse_secrets(text: str) -> tuple[list[Record], list[Comment]]:
    records, comments = lex(text)
    return [parse_record(r) for r in records], comments


def comment_secrets(comment: Comment) -> list[Token]:
    """Secret tokens inside a comment: a commented-out entry's values, and any quoted/encoded token."""
    tokens = list(comment.tokens)
    found: dict[int, Token] = {}
    if tokens:
        words = [t.raw for t in tokens]
        if ":" in words:
            record = parse_record(tokens)
            after = len(tokens) - words.index(":") - 2
            # an entry, not prose ("private key :RSA statements as these now reside"): as many
            # values as a real entry has (PPKS/RSA: an id or file, then the value)
            if record.kind is not None and (record.block or (record.problem is None and after <= 2)):
                for t in record.secrets:
                    found[t.start] = t
                if record.block:
                    found[record.block[0]] = Token(record.block[0], record.block[1], "{", "")
    for t in tokens:
        if t.quote or _ENCODED.match(t.raw):
            found.setdefault(t.start, t)
    return [found[k] for k in sorted(found)]


# ---------------------------------------------------------------------------
# censoring


def length_class(n: int) -> str:
    """A coarse bucket: enough to spot an empty or too-short secret, nothing more."""
    if n == 0:
        return "empty"
    for low, high in ((1, 7), (8, 15), (16, 31), (32, 63)):
        if n <= high:
            return f"{low}-{high}"
    return "64+"


def decode_value(token: Token) -> bytes | None:
    """The bytes pluto would take from *token* (ttodata for 0x/0s/0t), or None if it would refuse."""
    if token.quote:
        return token.value.encode("utf-8", "surrogateescape")
    raw = token.raw
    prefix, body = raw[:2].lower(), raw[2:].replace("_", "")
    try:
        if prefix == "0x":
            return bytes.fromhex(body) if len(body) % 2 == 0 else bytes.fromhex("0" + body)
        if prefix == "0s":
            return base64.b64decode(body + "=" * (-len(body) % 4), validate=False)
        if prefix == "0t":
            return raw[2:].encode("utf-8", "surrogateescape")
    except (ValueError, binascii.Error):
        return None
    return None


def describe(token: Token) -> tuple[str, int, str]:
    if token.quote:
        return "quoted", len(token.value), "chars"
    prefix = token.raw[:2].lower()
    data = decode_value(token)
    form = {"0x": "hex", "0s": "base64", "0t": "text"}.get(prefix, "bare")
    if form in ("hex", "base64"):
        return form, len(data) if data is not None else len(token.raw) // 2, "bytes"
    return form, len(token.raw) - (2 if form == "text" else 0), "chars"


def placeholder(label: str, token: Token) -> str:
    form, n, unit = describe(token)
    return f"[{label}, {form}, {length_class(n)} {unit}]"


def secret_values(text: str) -> list[Token]:
    """Every token of *text* (an ipsec.secrets file) whose value is secret, comments included."""
    records, comments = parse_secrets(text)
    out: list[Token] = []
    for record in records:
        out.extend(t for t in record.secrets if not is_placeholder(t.raw))
        if record.block:
            out.extend(t for t in record.tokens if record.block[0] <= t.start < record.block[1]
                       and t.raw not in ("{", "}") and not t.raw.endswith(":") and not is_placeholder(t.raw))
    for comment in comments:
        out.extend(t for t in comment_secrets(comment) if not is_placeholder(t.raw))
    return out


def is_placeholder(raw: str) -> bool:
    return bool(_PLACEHOLDER.fullmatch(raw))


def redact_secrets(text: str) -> tuple[str, dict[str, int]]:
    """Censor an ipsec.secrets text, keeping its structure, IDs, kinds and comments' prose.

    >>> redact_secrets('@w @e : PSK 0sc2VjcmV0\\n')[0]
    '@w @e : PSK [PSK, base64, 1-7 bytes]\\n'
    """
    records, comments = parse_secrets(text)
    edits: list[tuple[int, int, str]] = []
    counts: Counter[str] = Counter()
    for record in records:
        label = LABEL.get(record.kind or "", "secret")
        inside = [t for t in record.tokens if record.block and record.block[0] <= t.start < record.block[1]]
        if record.block and all(is_placeholder(t.raw) or t.raw in ("{", "}") for t in inside):
            pass  # censored already
        elif record.block:
            lines = text.count("\n", record.block[0], record.block[1]) + 1
            edits.append((record.block[0], record.block[1], f"{{ [{label} block removed, {lines} lines] }}"))
            counts[COUNT_KIND[record.kind or "RSA"]] += 1
        secret = [t for t in record.secrets if not is_placeholder(t.raw)]
        if record.problem and secret:
            edits.append((secret[0].start, secret[-1].end, f"[unparsed secrets entry removed: {record.problem}]"))
            counts["unparsed-secret-line"] += 1
            continue
        for t in secret:
            edits.append((t.start, t.end, placeholder(label, t)))
            counts[COUNT_KIND.get(record.kind or "", "secret")] += 1
    for comment in comments:
        for t in comment_secrets(comment):
            if is_placeholder(t.raw):
                continue
            edits.append((t.start, t.end, "[secret in a comment removed]"))
            counts["commented-secret"] += 1
    return _apply(text, edits), dict(counts)


def _apply(text: str, edits: list[tuple[int, int, str]]) -> str:
    out, pos = [], 0
    for start, end, new in sorted(edits):
        if start < pos:  # overlapping (a token inside a removed block): the earlier edit covers it
            continue
        out.append(text[pos:start])
        out.append(new)
        pos = end
    out.append(text[pos:])
    result = "".join(out)
    # a block spanning lines became one line: drop the blank continuation lines it leaves behind
    return result


def ids_of(text: str) -> list[str]:
    """Every ID written in an ipsec.secrets text (for obfuscation; XAUTH user names are IDs)."""
    records, _ = parse_secrets(text)
    return [t.value for r in records for t in r.ids]
