"""Remove pluto's debug hex dumps by their structure, whatever their label says.

Pluto prints bytes (keys, nonces, the PSK itself with ``plutodebug=private``) as rows of hex
pairs on debug lines. The shapes, per version (read in Libreswan's sources, not copied):

* 4.x/5.x: a label line ``| PreShared Key`` then rows ``|   53 77 61 6e  64 6f ...   Swan...``
  (4-byte groups separated by two blanks, an ASCII column after three blanks);
* 3.x (RHEL 7's pluto): a label shorter than 20 characters is repeated at the start of EVERY
  row: ``| PSK  53 77 61 6e  64 6f ...``; a longer label is on its own line first;
* helper threads mark their lines ``|] `` (4.x) or ``] `` (5.x) instead of ``| ``;
* inline: ``raw_key: 0x53 77 ...``, ``0x5377616e...``, or a long run of hex digits.

On a debug line, a run of hex pairs that begins after two blanks and ends the line (or is
followed by the ASCII column) is a dump row: it goes, with the ASCII column. Inline ``0x`` runs
and runs of 16+ hex digits on debug lines go too. What stays is the prefix and the label, so the
log still reads. Plain log lines, syslog lines and ``journalctl -o json`` records are handled;
in JSON only MESSAGE is rewritten (a MESSAGE journald stored as a byte array is decoded first),
so each record stays valid JSON.

>>> redact_log("Jan 1 pluto[1]: | PSK  53 77 61 6e  64 6f 63 54\\n")[0]
'Jan 1 pluto[1]: | PSK   [hex dump removed]\\n'
"""
from __future__ import annotations

import json
import re
from collections import Counter

# Where a debug line's text starts: "| ", "|] ", or a 5.x helper's "] " at the start of the
# line or right after the "timestamp: " / "pluto[pid]: " prefix.
_DEBUG_MARKER = re.compile(r"\|\]?|(?:^|(?<=: ))\](?= )")
_ROW = re.compile(r"(?:^|(?<= {2})|(?<=\t))(?P<hex>[0-9A-Fa-f]{2}(?: {1,2}[0-9A-Fa-f]{2})*)(?= {2,}\S| *$)")
_INLINE = re.compile(r"0[xX](?:[ :]?[0-9A-Fa-f]{2}){8,}|(?<![0-9A-Za-z])(?:[0-9A-Fa-f]{2}[ :]){7,}[0-9A-Fa-f]{2}"
                     r"|(?<![0-9A-Za-z])[0-9A-Fa-f]{16,}(?![0-9A-Za-z])")
_SECRET_LABEL = re.compile(
    r"psk|pre-?shared|nonce|\bn[ir]\b|sk_[a-z]+|skeyseed|g\^|g_ir|shared|secret|ppk|keymat|key|salt|"
    r"unwrapped|chunk output|decrypt|encrypt|prf|hmac|xcbc|integ|data (?:before|after)|auth|idhash|hash",
    re.IGNORECASE)
DUMP = "[hex dump removed]"
_PUBLIC_ID = re.compile(r"(?:ckaid|keyid|key id|key-id|@#)[\s:=']*$")
# pluto's XAUTH debug lines print the password: "pass(%s)" and, with crypt, "pass %s vs %s".
_XAUTH_PASS = re.compile(r"(\bpass\()[^\n]*?(?=\) connid\()|(\bpass )\S+ vs \S+")


class _DumpState:
    """Follows consecutive dump rows: the first becomes a placeholder, later ones go."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.in_dump = False
        self.label = ""

    def line(self, body: str, *, keep_continuation: bool) -> str | None:
        marker = _DEBUG_MARKER.search(body)
        if not marker:
            self.in_dump = False
            return body
        head, text = body[:marker.end()], body[marker.end():]
        row = _ROW.search(text)
        if row:
            label = text[:row.start()].rstrip()
            kind = "log-key-material" if _SECRET_LABEL.search(label or self.label) else "log-hexdump"
            first = not self.in_dump or (label and label != self.label)
            self.in_dump = True
            if label:
                self.label = label
            if first:
                self.counts[kind] += 1
            if first or keep_continuation:
                return f"{head}{text[:row.start()].rstrip()}   {DUMP}" if label else f"{head}   {DUMP}"
            return None
        self.in_dump = False
        self.label = text.strip()
        n = 0

        def inline(match: re.Match) -> str:
            nonlocal n
            before = match.string[max(0, match.start() - 16):match.start()].lower()
            if before.endswith("@#") or _PUBLIC_ID.search(before):
                return match.group()  # a key id / CKAID names a public key: an ID, not key material
            n += 1
            return "[hex removed]"

        new = _INLINE.sub(inline, text)
        if n:
            self.counts["log-key-material" if _SECRET_LABEL.search(text) else "log-hexdump"] += n
        new, m = _XAUTH_PASS.subn(lambda g: g.group(1) + "[password removed]" if g.group(1)
                                  else g.group(2) + "[password removed] vs [password removed]", new)
        if m:
            self.counts["log-xauth-password"] += m
        return head + new


def _message(record: dict) -> str | None:
    message = record.get("MESSAGE")
    if isinstance(message, str):
        return message
    if isinstance(message, list) and all(isinstance(b, int) and 0 <= b < 256 for b in message):
        return bytes(message).decode("utf-8", "replace")  # journald's form for a non-UTF-8 message
    return None


def redact_log(text: str) -> tuple[str, dict[str, int]]:
    """Every debug dump removed from a log text (plain, syslog, journal JSON lines)."""
    state = _DumpState()
    out: list[str] = []
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        newline = line[len(body):]
        if body.startswith("{") and '"MESSAGE"' in body:
            try:
                record = json.loads(body)
            except (ValueError, RecursionError):
                record = None
            message = _message(record) if isinstance(record, dict) else None
            if message is not None:
                new = state.line(message, keep_continuation=True)
                if new != record["MESSAGE"]:
                    record["MESSAGE"] = new
                    body = json.dumps(record)
                out.append(body + newline)
                continue
        new = state.line(body, keep_continuation=False)
        if new is not None:
            out.append(new + newline)
    return "".join(out), dict(state.counts)
