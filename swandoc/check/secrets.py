"""ipsec.secrets parsed for checking, with every secret reduced to facts that reveal nothing.

A secret's text lives only inside :func:`parse_secrets_text`: what leaves it is the IDs, the
kind (PSK, PPKS, RSA, XAUTH ...), the length, whether it looks random, and a keyed digest
(HMAC-SHA256 under a key made fresh for each swandoc run), so two ends' PSKs can be compared for
equality without either being printed, stored or guessable from the report. Evidence lines show
the entry with its secret replaced by ``[secret removed]``.
"""
from __future__ import annotations

import base64
import binascii
import glob
import hashlib
import hmac
import os
import re
import secrets as _random
import string
from dataclasses import dataclass

from ..compat import SLOTS
from ..model import EvidenceLine

DEFAULT_SECRETS = "/etc/ipsec.secrets"
MAX_DEPTH = 10
_RUN_KEY = _random.token_bytes(32)  # never stored: digests only compare within one run


@dataclass(frozen=True, **SLOTS)
class SecretEntry:
    ids: tuple[str, ...]
    kind: str  # PSK, PPKS, RSA, ECDSA, XAUTH, EAP, PIN, ...
    where: EvidenceLine  # the line, secret removed
    length: int = 0  # bytes of the secret as pluto uses it
    random_looking: bool = True
    digest: str = ""  # keyed, per run; equal digests = equal secrets
    ppk_id: str | None = None


@dataclass(frozen=True, **SLOTS)
class SecretsDoc:
    path: str
    entries: tuple[SecretEntry, ...]
    problems: tuple[tuple[EvidenceLine, str], ...]
    readable: bool = True

    def find(self, kind: str, local: str | None, remote: str | None) -> SecretEntry | None:
        """The entry pluto would pick for (local ID, remote ID): both IDs, then one, then none.

        An ID that is not known from the config alone (None: %any, %fromcert, an address learnt at
        run time) matches any ID, so an entry is never reported missing for want of it.
        """
        wanted = {_norm(local), _norm(remote)} - {""}
        unknown = local is None or remote is None
        best, score = None, -1
        for entry in self.entries:
            if entry.kind != kind:
                continue
            ids = {_norm(i) for i in entry.ids} - {"%any", "%any6", ""}
            if not ids:
                s = 1
            elif ids <= wanted or (unknown and (len(ids) == 1 or ids & wanted)):
                s = 2 + len(ids & wanted)
            else:
                continue
            if s > score:
                best, score = entry, s
        return best


def _norm(value: str | None) -> str:
    # "@west" and "west" name the same FQDN ID; pluto only differs in whether it may resolve it
    value = (value or "").strip().strip('"').lower()
    return value[1:] if value.startswith("@") and not value.startswith("@#") else value


def _random_looking(secret: str) -> bool:
    """False for what is plainly not random: one character class, or few distinct characters."""
    classes = sum(any(c in group for c in secret) for group in
                  (string.ascii_lowercase, string.ascii_uppercase, string.digits, string.punctuation + " "))
    distinct = len(set(secret))
    return classes >= 2 and distinct >= min(len(secret), 12) * 0.6


def _decode(value: str) -> tuple[bytes | None, str | None]:
    """(secret bytes, problem) for a quoted string, 0x hex or 0s base64 value."""
    if value.startswith('"'):
        end = value.rfind('"')
        if end <= 0:
            return None, "unterminated quoted secret"
        return value[1:end].encode(), None
    if value.lower().startswith("0x"):
        try:
            return binascii.unhexlify(value[2:].replace("_", "")), None
        except (binascii.Error, ValueError):
            return None, "0x secret is not valid hex"
    if value.startswith("0s"):
        try:
            return base64.b64decode(value[2:], validate=True), None
        except (binascii.Error, ValueError):
            return None, "0s secret is not valid base64"
    return None, "a secret must be quoted, 0x hex or 0s base64"


_ENTRY = re.compile(r"^(?P<ids>[^:]*?)\s*:\s*(?P<kind>[A-Za-z]+)\b\s*(?P<value>.*)$")


def parse_secrets_text(text: str, path: str) -> tuple[list[SecretEntry], list[tuple[EvidenceLine, str]], list[tuple[str, EvidenceLine]]]:
    """(entries, problems, include patterns) of one secrets file.

    >>> entries, problems, _ = parse_secrets_text('@west @east : PSK "short"\\n# x\\n'
    ...     '@a @b : PPKS "ppk1" "0123456789abcdefghijABCDEFGHIJ"\\nbroken line\\n', "s")
    >>> [(e.ids, e.kind, e.length, e.where.text) for e in entries]
    [(('@west', '@east'), 'PSK', 5, '@west @east : PSK "[secret removed]"'), (('@a', '@b'), 'PPKS', 30, '@a @b : PPKS "ppk1" "[secret removed]"')]
    >>> [(w.line, w.text, why) for w, why in problems]
    [(4, '[line not shown: it may hold a secret]', 'not an entry (IDs : TYPE secret)')]
    """
    entries: list[SecretEntry] = []
    problems: list[tuple[EvidenceLine, str]] = []
    includes: list[tuple[str, EvidenceLine]] = []
    logical: list[tuple[int, str]] = []
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        if raw[0].isspace() and logical:  # a continuation of the entry above
            logical[-1] = (logical[-1][0], logical[-1][1] + " " + raw.strip())
        else:
            logical.append((number, raw.strip()))
    for number, line in logical:
        if line.startswith("include ") or line.startswith("include\t"):
            includes.append((line.split(None, 1)[1].strip(), EvidenceLine(path, number, line)))
            continue
        match = _ENTRY.match(line)
        hidden = EvidenceLine(path, number, "[line not shown: it may hold a secret]")
        if not match:
            problems.append((hidden, "not an entry (IDs : TYPE secret)"))
            continue
        ids = tuple(re.findall(r'"[^"]*"|\S+', match["ids"]))
        kind, value = match["kind"].upper(), match["value"].strip()
        prefix = f"{match['ids']} : {match['kind']}".strip()
        if kind in ("RSA", "ECDSA"):
            entries.append(SecretEntry(ids, kind, EvidenceLine(path, number, f"{prefix} ...")))
            continue
        ppk_id = None
        if kind == "PPKS":
            m = re.match(r'("[^"]*"|\S+)\s+(.*)$', value)
            if not m:
                problems.append((hidden, "PPKS needs a PPK ID and a secret"))
                continue
            ppk_id, value = m.group(1).strip('"'), m.group(2).strip()
            prefix += f' "{ppk_id}"'
        secret, problem = _decode(value)
        if problem or secret is None:
            problems.append((EvidenceLine(path, number, f"{prefix} [secret removed]"), problem or "unreadable secret"))
            continue
        shown = f'{prefix} "[secret removed]"' if value.startswith('"') else f"{prefix} [secret removed]"
        as_text = secret.decode("latin-1")
        entries.append(SecretEntry(ids, kind, EvidenceLine(path, number, shown), len(secret),
                                   value.startswith(("0x", "0X", "0s")) or _random_looking(as_text),
                                   hmac.new(_RUN_KEY, secret, hashlib.sha256).hexdigest(), ppk_id))
        del secret, as_text, value
    return entries, problems, includes


def read_secrets(path: str = DEFAULT_SECRETS) -> SecretsDoc:
    """Read *path* and its includes; an unreadable file is a problem in the result, not an exception."""
    entries: list[SecretEntry] = []
    problems: list[tuple[EvidenceLine, str]] = []
    seen: set[str] = set()

    def visit(file: str, depth: int, origin: EvidenceLine | None) -> bool:
        real = os.path.realpath(file)
        if real in seen or depth > MAX_DEPTH:
            return True
        seen.add(real)
        try:
            with open(file, encoding="utf-8", errors="replace") as fh:
                text = fh.read()
        except OSError as exc:
            problems.append((origin or EvidenceLine(file, None, ""), f"cannot read {file}: {exc.strerror or exc}"))
            return False
        found, bad, includes = parse_secrets_text(text, file)
        entries.extend(found)
        problems.extend(bad)
        del text
        for pattern, where in includes:
            full = pattern if os.path.isabs(pattern) else os.path.join(os.path.dirname(file), pattern)
            matches = sorted(glob.glob(full))
            if not matches and not glob.has_magic(full):
                problems.append((where, f"included file {full} does not exist"))
            for included in matches:
                visit(included, depth + 1, where)
        return True

    readable = visit(path, 0, None)
    return SecretsDoc(path, tuple(entries), tuple(problems), readable)
