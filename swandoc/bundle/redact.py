"""Remove every secret from evidence text before it is written anywhere.

Each function is pure: ``(text) -> (new_text, counts)`` where *counts* maps a redaction
kind (``psk``, ``xfrm-key``, ``log-key-material`` ...) to how many were removed. Nothing
that replaces a secret depends on its bytes except a coarse length class
(``[PSK, quoted, 16-31 chars]``): never a prefix, never a hash (a hash of a short PSK can be
brute-forced, which is how Libreswan's ``_secretcensor`` md5 prefix fails).

Layers, all applied by :class:`Redactor` to every text item of a bundle:

1. the item's policy (``secrets``, ``xfrm_state``, ``log``, ``config``, ``nsspassword``);
2. the generic scrubber, over EVERY text item whatever its policy: private-key PEM blocks,
   ipsec.secrets-shaped lines, xfrm key lines, pluto debug hex dumps, ``password=`` values;
3. known values: the secrets actually read from ipsec.secrets/nsspassword are held in memory
   (never written) and any occurrence of them, their hex, base64 or hex-dump form is removed
   wherever it turns up (a PSK echoed in a log line, a shell history in a journal ...).

Fail closed: a secrets line that cannot be understood is dropped whole
(``unparsed-secret-line``), a PEM block without its END line is cut to the end of the item.

Sample (ipsec.secrets)::

    @west @east : PSK "correct horse"      ->  @west @east : PSK [PSK, quoted, 8-15 chars]
    @a : PPKS "ppk-1" 0x0011...             ->  @a : PPKS "ppk-1" [PPK, hex, 32-63 bytes]
"""
from __future__ import annotations

import base64
import binascii
import json
import re
from collections import Counter
from typing import Callable

Counts = dict[str, int]
Result = tuple[str, Counts]

# ---------------------------------------------------------------------------
# helpers


def length_class(n: int) -> str:
    """A coarse bucket: enough to spot an empty or too-short secret, nothing more."""
    if n == 0:
        return "empty"
    for low, high in ((1, 7), (8, 15), (16, 31), (32, 63)):
        if n <= high:
            return f"{low}-{high}"
    return "64+"


def _merge(*counts: Counts) -> Counts:
    total: Counter[str] = Counter()
    for c in counts:
        total.update(c)
    return {k: v for k, v in total.items() if v}


# A secret value in ipsec.secrets syntax: "quoted" (with \" escapes), 0x hex, 0s base64, 0t text,
# or a bare word. ttodata() allows '_' separators inside hex.
_PLACEHOLDER = re.compile(r"\[[A-Za-z][A-Za-z ]*, (?:quoted|hex|base64|text|bare), (?:empty|[0-9]+-[0-9]+|64\+)(?: chars| bytes)?\]")
_VALUE = re.compile(_PLACEHOLDER.pattern + r'|"(?:[^"\\]|\\.)*"?|0[xX][0-9a-fA-F_]*|0[sS][A-Za-z0-9+/=_]*|0[tT]\S*|\S+')


def describe_value(token: str) -> tuple[str, int, str]:
    """(form, decoded length, unit) of one secret token, without keeping any of its bytes."""
    if token.startswith('"'):
        body = token[1:-1] if token.endswith('"') and len(token) > 1 else token[1:]
        return "quoted", len(body.replace('\\"', '"')), "chars"
    low = token[:2].lower()
    if low == "0x":
        digits = token[2:].replace("_", "")
        return "hex", len(digits) // 2, "bytes"
    if low == "0s":
        body = token[2:].replace("_", "")
        try:
            return "base64", len(base64.b64decode(body + "=" * (-len(body) % 4))), "bytes"
        except (binascii.Error, ValueError):
            return "base64", len(body) * 3 // 4, "bytes"
    if low == "0t":
        return "text", len(token) - 2, "chars"
    return "bare", len(token), "chars"


def placeholder(kind: str, token: str) -> str:
    form, n, unit = describe_value(token)
    return f"[{kind}, {form}, {length_class(n)} {unit}]"


# ---------------------------------------------------------------------------
# ipsec.secrets

_TYPES = ("PSK", "XAUTH", "EAP", "PPKS", "RSA", "ECDSA", "PIN", "NTLM")
_SEPARATOR = re.compile(r"(?:^|(?<=\s)):\s*(" + "|".join(_TYPES) + r")\b", re.IGNORECASE)
_KIND = {"PSK": "psk", "XAUTH": "xauth", "EAP": "eap", "PPKS": "ppk", "RSA": "rsa-private",
         "ECDSA": "ecdsa-private", "PIN": "pin", "NTLM": "ntlm"}
_LABEL = {"PSK": "PSK", "XAUTH": "XAUTH password", "EAP": "EAP password", "PPKS": "PPK",
          "RSA": "RSA key", "ECDSA": "ECDSA key", "PIN": "PIN", "NTLM": "NTLM password"}


_COMMENTED_ENTRY = re.compile(r"(?:^|\s):\s*(?:(?:PSK|XAUTH|EAP|PPKS|NTLM|PIN)\s+(?:\"|0[xXsStT])|(?:RSA|ECDSA)\s*\{)",
                              re.IGNORECASE)


_UNPARSED = "[unparsed secrets line removed]"


def _records(text: str) -> list[list[str]]:
    """Group lines into records: a line starting in column 0 plus its indented continuations.

    ipsec.secrets(5): a record may continue on lines that begin with white space (RSA { }
    blocks, a secret put on the next line).
    """
    records: list[list[str]] = []
    for line in text.splitlines(keepends=True):
        if records and line[:1] in (" ", "\t") and records[-1][0].strip() and not records[-1][0].lstrip().startswith("#"):
            records[-1].append(line)
        else:
            records.append([line])
    return records


def _redact_record(record: str) -> tuple[str, Counts]:
    """One ipsec.secrets record (possibly several lines) -> censored text."""
    stripped = record.strip()
    newline = "\n" if record.endswith("\n") else ""
    if not stripped:
        return record, {}
    if stripped.startswith("#"):
        # A commented-out entry is often the old secret: censor it like a live one.
        body = stripped.lstrip("#").strip()
        # Only entries that look like real ones (a quoted/encoded value, an RSA block), so that
        # prose such as "private key :RSA statements" in the stock comments stays readable.
        if _COMMENTED_ENTRY.search(body):
            text, counts = _redact_record(body)
            return "# " + text.rstrip("\n") + newline, counts
        return record, {}
    if re.match(r"include\s", stripped) or stripped == _UNPARSED:
        return record, {}
    match = _SEPARATOR.search(record)
    if not match:
        return _UNPARSED + newline, {"unparsed-secret-line": 1}
    kind_word = match.group(1).upper()
    head = record[: match.end()]
    rest = record[match.end():]
    label, kind = _LABEL[kind_word], _KIND[kind_word]
    rest_stripped = rest.strip()
    if kind_word in ("RSA", "ECDSA"):
        if re.fullmatch(r"\{ \[[^\]]*removed[^\]]*\] \}", rest_stripped):
            return record, {}
        if rest_stripped.startswith("{"):
            lines = max(1, rest_stripped.count("\n") - 1)
            return f"{head} {{ [{label} block removed, {lines} lines] }}" + newline, {kind: 1}
        tokens = rest_stripped.split()
        if not tokens or tokens[0].lower() == "%prompt":
            return record, {}
        if len(tokens) == 1 and tokens[0].startswith('"'):
            # 4.x: ": RSA "nickname"" names a key inside NSS; the nickname is no secret.
            return record, {}
        return f"{head} [{label} reference and passphrase removed]" + newline, {kind: 1}
    # Strip a trailing comment only when it is clearly separated (a quoted secret may hold '#').
    out = [head]
    pos = 0
    count = 0
    values = list(_VALUE.finditer(rest))
    if kind_word == "PPKS" and values and values[0].group().startswith('"') and len(values) > 1:
        # PPKS "ppk-id" secret: the PPK id is an identifier, the second value is the key.
        first = values.pop(0)
        out.append(rest[: first.end()])
        pos = first.end()
    seen_value = False
    for value in values:
        token = value.group()
        if token.startswith("#") and seen_value:
            out.append(rest[pos:value.start()] + "# [comment removed]" + newline)
            pos = len(rest)
            break
        seen_value = True
        if token.lower() == "%prompt" or _PLACEHOLDER.fullmatch(token):
            out.append(rest[pos:value.end()])
        else:
            out.append(rest[pos:value.start()] + placeholder(label, token))
            count += 1
        pos = value.end()
    tail = rest[pos:]
    out.append("\n" if tail.strip() == "" and tail else tail)
    text = "".join(out)
    if "\n" in text.rstrip("\n"):
        # keep one record per line; continuation lines were joined
        text = " ".join(part.strip() for part in text.splitlines()) + newline
    return text, ({kind: count} if count else {})


def redact_secrets(text: str) -> Result:
    """Censor an ipsec.secrets file (and included files), keeping its structure.

    >>> redact_secrets('@w @e : PSK 0sc2VjcmV0\\n')[0]
    '@w @e : PSK [PSK, base64, 1-7 bytes]\\n'
    """
    out: list[str] = []
    counts: list[Counts] = []
    for lines in _records(text):
        record = "".join(lines)
        censored, c = _redact_record(record)
        out.append(censored)
        counts.append(c)
    return "".join(out), _merge(*counts)


def scrub_secret_lines(text: str) -> Result:
    """ipsec.secrets-shaped lines anywhere (a log echoing a line, a copied file): censor them."""
    counts: Counter[str] = Counter()

    def fix(match: re.Match) -> str:
        line = match.group(0)
        censored, c = _redact_record(line)
        if censored.rstrip("\n") == line.rstrip("\n"):
            return line
        counts.update(c)
        return censored.rstrip("\n")

    pattern = re.compile(r"^.*(?:^|[ \t]):[ \t]*(?:" + "|".join(_TYPES) + r")[ \t]+\S.*$", re.MULTILINE | re.IGNORECASE)
    new = pattern.sub(fix, text)
    return new, dict(counts)


# ---------------------------------------------------------------------------
# PEM private keys

_PEM = re.compile(r"-----BEGIN ([A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?)-----.*?(?:-----END \1-----|\Z)", re.DOTALL)


def redact_private_keys(text: str) -> Result:
    """Any ``-----BEGIN ... PRIVATE KEY-----`` block (an unterminated one: to the end)."""
    n = 0

    def fix(match: re.Match) -> str:
        nonlocal n
        n += 1
        return f"-----BEGIN {match.group(1)}-----\n[private key removed]\n-----END {match.group(1)}-----"

    new = _PEM.sub(fix, text)
    return new, ({"private-key-block": n} if n else {})


# ---------------------------------------------------------------------------
# ip xfrm state

# "\tenc cbc(aes) 0x0011..." / "\tauth-trunc hmac(sha256) 0x... 128" / "\taead rfc4106(gcm(aes)) 0x... 128"
_XFRM_KEY = re.compile(r"(\b(?:enc|auth|auth-trunc|aead|comp)\s+\S+\s+)(0x[0-9a-fA-F]+|\"[^\"]*\"|'[^']*')")


def redact_xfrm_state(text: str) -> Result:
    """The encryption/authentication keys ``ip xfrm state`` prints; algorithms stay."""
    n = 0

    def fix(match: re.Match) -> str:
        nonlocal n
        key = match.group(2)
        if key.lower().startswith("0x"):
            size = len(key) - 2
            if size <= 8:  # 'comp deflate 0x...' is a CPI, not a key
                return match.group(0)
            label = f"[key removed, {size // 2} bytes]"
        else:
            label = "[key removed]"
        n += 1
        return match.group(1) + label

    new = _XFRM_KEY.sub(fix, text)
    return new, ({"xfrm-key": n} if n else {})


# ---------------------------------------------------------------------------
# pluto debug logs

# A pluto hex dump line: "|   53 77 61 6e  64 6f 63 54 ...   SwandocTestPSK-D" (after any
# timestamp/syslog prefix). The ASCII column is dropped too: it is the same secret.
# Pluto's helper threads mark their debug lines "|] " (4.x) or "] " (5.x) instead of "| "
# (see the debug-marker comment in swandoc/inputs.py): their dumps hold the same key material.
_MARKER = r"(?:\|\]?|\])"
_HEXDUMP = re.compile(r"^(?P<prefix>.*?" + _MARKER + r") {2,}(?P<hex>[0-9a-f]{2}(?: {1,2}[0-9a-f]{2})*)(?: .*)?$", re.MULTILINE)
# Inline dumps: 'input "0x00 11 22 ..."', 'raw_key: 0x0011...'
_INLINE_HEX = re.compile(r"(?P<lead>" + _MARKER + r".*?)(?P<hex>0x(?:[0-9A-Fa-f]{2} ?){8,}|(?<![0-9A-Za-z@])(?:[0-9a-f]{2} ){8,}[0-9a-f]{2})")
# Labels of debug dumps that carry key material (4.x/5.x wording: "PreShared Key", "PSK",
# "Generated nonce:", "SK_ei", "skeyseed", "g^ir", "DH secret", "PPK", "keymat", "Salt ...").
_SECRET_LABEL = re.compile(
    r"psk|pre-?shared|nonce|\bn[ir]\b|sk_[a-z]+|skeyseed|g\^|g_ir|shared|secret|ppk|keymat|key|salt|"
    r"unwrapped|chunk output|decrypt|encrypt|prf|hmac|xcbc|integ|data (?:before|after)|auth|idhash|hash",
    re.IGNORECASE)


def redact_log(text: str) -> Result:
    """plutodebug dumps (``all,private`` / ``crypt``): keep the label, drop every hex byte.

    Every hex dump body goes, whatever its label, because a label does not prove a dump is
    harmless; the count says whether the label looked like key material. Works on plain log
    lines (file, syslog, ``journalctl -o short``) and on ``journalctl -o json`` lines, where
    only the MESSAGE field is rewritten so each line stays valid JSON.
    """
    state = _DumpState()
    out: list[str] = []
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        newline = line[len(body):]
        if body.startswith("{") and '"MESSAGE"' in body:
            try:
                record = json.loads(body)
            except ValueError:
                record = None
            if isinstance(record, dict) and isinstance(record.get("MESSAGE"), str):
                new = state.line(record["MESSAGE"], keep_continuation=True)
                if new != record["MESSAGE"]:
                    record["MESSAGE"] = new
                    body = json.dumps(record)
                out.append(body + newline)
                continue
        new = state.line(body, keep_continuation=False)
        if new is not None:
            out.append(new + newline)
    return "".join(out), dict(state.counts)


# Where a debug line's text starts: "| ", "|] ", or a 5.x helper's "] " at the start of the
# line or right after the "timestamp: " / "pluto[pid]: " prefix.
_DEBUG_MARKER = re.compile(r"\|\]?|(?:^|(?<=: ))\](?= )")


class _DumpState:
    """Follows hex dumps across lines: the label line, then one or more dump lines."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.label = ""
        self.in_dump = False

    def _kind(self) -> str:
        return "log-key-material" if _SECRET_LABEL.search(self.label) else "log-hexdump"

    def line(self, body: str, *, keep_continuation: bool) -> str | None:
        match = _HEXDUMP.match(body)
        if match:
            first = not self.in_dump
            if first:
                self.counts[self._kind()] += 1
                self.in_dump = True
            if first or keep_continuation:
                return f"{match.group('prefix')}   [hex dump removed]"
            return None  # later lines of the same dump: dropped
        self.in_dump = False
        marker = _DEBUG_MARKER.search(body)
        self.label = body[marker.end():] if marker else ""
        if marker:
            new, n = _INLINE_HEX.subn(lambda m: m.group("lead") + "[hex removed]", body)
            if n:
                self.counts[self._kind()] += n
                return new
        return body


# ---------------------------------------------------------------------------
# ipsec.conf and other key=value text

# Options whose value is a secret. leftrsasigkey/rightrsasigkey/leftpubkey are PUBLIC: kept.
_CONF_SECRET = re.compile(
    r"(?P<lead>(?:^|(?<=[\s{,\[]))\s*\"?(?P<key>[A-Za-z0-9_-]*(?:pass(?:word|wd|phrase)?|secret|psk|ppk|pin|xauthpass)[A-Za-z0-9_-]*)\"?\s*[=:]\s*)"
    r"(?P<value>\"[^\"\n]*\"?|[^\s,}\]]+)",
    re.MULTILINE | re.IGNORECASE)
_CONF_KEEP_KEYS = {"ppk", "ppk-ids", "pfs", "ppk_ids", "spin", "xauthby", "secretsfile", "secrets"}
_POLICY_WORDS = {"yes", "no", "permit", "propose", "insist", "never", "true", "false", "always"}


def redact_config(text: str) -> Result:
    """ipsec.conf: values of password/secret/PPK-like options; public keys and policies stay."""
    n = 0

    def fix(match: re.Match) -> str:
        nonlocal n
        key = match.group("key").lower()
        value = match.group("value")
        if key in _CONF_KEEP_KEYS or key.endswith("file") or key.endswith("ids") or value.lower().strip('"') in _POLICY_WORDS:
            return match.group(0)
        if value.startswith("%") or value.startswith("/"):
            return match.group(0)  # %prompt, %none, a path: not the secret itself
        if _PLACEHOLDER.fullmatch(value.strip('"')):
            return match.group(0)  # already censored
        n += 1
        # quoted, so that JSON (the resolved connection) and ipsec.conf stay parseable
        return match.group("lead") + f'"{placeholder("value", value)}"'

    new = _CONF_SECRET.sub(fix, text)
    return new, ({"config-secret": n} if n else {})


def redact_nsspassword(text: str) -> Result:
    """NSS password file: ``token:password`` lines (or a bare password) -> token kept only."""
    out: list[str] = []
    n = 0
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        newline = line[len(body):]
        if not body.strip() or body.lstrip().startswith("#"):
            out.append(line)
            continue
        # Token names ("NSS Certificate DB") hold no colon; the password may: split on the first.
        token, sep, password = body.partition(":")
        if not sep:
            token, password = "", body
        n += 1
        out.append(f"{token}{sep}[NSS password removed, {length_class(len(password))} chars]{newline}")
    return "".join(out), ({"nss-password": n} if n else {})


# ---------------------------------------------------------------------------
# the generic scrubber, run over every text item

_GENERIC: tuple[Callable[[str], Result], ...] = (
    redact_private_keys, scrub_secret_lines, redact_xfrm_state, redact_log,
)


def scrub_generic(text: str) -> Result:
    counts: list[Counts] = []
    for fn in _GENERIC:
        text, c = fn(text)
        counts.append(c)
    return text, _merge(*counts)


POLICIES: dict[str, Callable[[str], Result]] = {
    "secrets": redact_secrets,
    "xfrm_state": redact_xfrm_state,
    "log": redact_log,
    "config": redact_config,
    "nsspassword": redact_nsspassword,
    "generic": lambda text: (text, {}),
    "none": lambda text: (text, {}),
}


# ---------------------------------------------------------------------------
# known values


def decode_secret(token: str) -> bytes | None:
    """The bytes a secrets-file token stands for (as pluto's ttodata would decode it)."""
    form, _, _ = describe_value(token)
    try:
        if form == "quoted":
            return token[1:-1].replace('\\"', '"').encode() if token.endswith('"') else token[1:].encode()
        if form == "hex":
            digits = token[2:].replace("_", "")
            return bytes.fromhex(digits[: len(digits) // 2 * 2])
        if form == "base64":
            body = token[2:].replace("_", "")
            return base64.b64decode(body + "=" * (-len(body) % 4))
        if form == "text":
            return token[2:].encode()
    except (ValueError, binascii.Error):
        return None
    return token.encode()


def secret_tokens(text: str) -> list[str]:
    """Raw secret tokens in ipsec.secrets text (for the in-memory known-value scrubber)."""
    found: list[str] = []
    for lines in _records(text):
        record = "".join(lines)
        body = record.strip().lstrip("#").strip()
        match = _SEPARATOR.search(body)
        if not match or match.group(1).upper() in ("RSA", "ECDSA"):
            continue
        values = []
        for v in _VALUE.finditer(body[match.end():]):
            if v.group().startswith("#") and values:
                break
            values.append(v.group())
        if match.group(1).upper() == "PPKS" and len(values) > 1 and values[0].startswith('"'):
            values = values[1:]
        found.extend(v for v in values if v.lower() != "%prompt" and not _PLACEHOLDER.fullmatch(v))
    return found


class Redactor:
    """Applies policy + generic + known-value redaction; holds known secrets in memory only."""

    MIN_KNOWN = 4  # shorter values would match everywhere; the policies still catch them in place

    def __init__(self) -> None:
        self._known: set[str] = set()
        self._pattern: re.Pattern | None = None

    def learn_secrets_text(self, text: str) -> None:
        for token in secret_tokens(text):
            self.learn(token)

    def learn_nsspassword(self, text: str) -> None:
        for line in text.splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                _, sep, password = line.partition(":")  # see redact_nsspassword: first colon
                self.learn_bytes((password if sep else line).encode())

    def learn(self, token: str) -> None:
        data = decode_secret(token)
        if token.startswith('"') or token[:2].lower() in ("0x", "0s", "0t"):
            self._add(token.strip('"'))
        if data:
            self.learn_bytes(data)

    def learn_bytes(self, data: bytes) -> None:
        if len(data) < self.MIN_KNOWN:
            return
        try:
            self._add(data.decode())
        except UnicodeDecodeError:
            pass
        hexed = data.hex()
        self._add(hexed)
        self._add(" ".join(hexed[i:i + 2] for i in range(0, len(hexed), 2)))
        b64 = base64.b64encode(data).decode()
        self._add(b64)
        self._add(b64.rstrip("="))

    def _add(self, value: str) -> None:
        if len(value) >= self.MIN_KNOWN:
            self._known.add(value)
            self._pattern = None

    def scrub_known(self, text: str) -> Result:
        if not self._known:
            return text, {}
        if self._pattern is None:
            alternatives = sorted(self._known, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(v) for v in alternatives), re.IGNORECASE)
        new, n = self._pattern.subn("[known secret removed]", text)
        return new, ({"known-secret": n} if n else {})

    def redact(self, text: str, policy: str = "generic") -> Result:
        fn = POLICIES.get(policy, POLICIES["generic"])
        text, a = fn(text)
        text, b = scrub_generic(text)
        text, c = self.scrub_known(text)
        return text, _merge(a, b, c)

