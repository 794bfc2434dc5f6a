"""Remove every secret from evidence text before it is written anywhere.

Each function is pure: ``(text) -> (new_text, counts)`` where *counts* maps a redaction
kind (``psk``, ``xfrm-key``, ``log-key-material`` ...) to how many were removed. Nothing
that replaces a secret depends on its bytes except a coarse length class
(``[PSK, quoted, 16-31 chars]``): never a prefix, never a hash (a hash of a short PSK can be
brute-forced, which is how Libreswan's ``_secretcensor`` md5 prefix fails).

Redaction is by construction, in two passes over a whole bundle (:class:`Redactor`):

1. **learn**: every item whose format holds secrets is parsed by its grammar (ipsec.secrets
   in ``secrets_grammar``, password options of ipsec.conf, NSS password files,
   NetworkManager connections) and the secret values are kept in memory, as bytes;
2. **scrub** every item: its own policy (the grammar again, ``ip xfrm state`` keys, pluto's
   debug dumps in ``dumps``), the generic scrubber over EVERY text item whatever its policy
   (private-key PEM blocks, secrets-file lines, xfrm key lines, debug dumps), then the learnt
   values in every encoding (``known``: raw, JSON-escaped, hex with any separators, base64).

Fail closed: a secrets entry that cannot be understood loses everything after its IDs, with a
note; a PEM block without its END line is cut to the end of the item.

Sample (ipsec.secrets)::

    @west @east : PSK "correct horse"      ->  @west @east : PSK [PSK, quoted, 8-15 chars]
    @a : PPKS "ppk-1" 0x0011...             ->  @a : PPKS "ppk-1" [PPK, hex, 32-63 bytes]
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Callable

from . import secrets_grammar as grammar
from .dumps import redact_log
from .known import KnownSecrets
from .secrets_grammar import is_placeholder, length_class, redact_secrets

__all__ = ["Redactor", "redact_secrets", "redact_log", "redact_xfrm_state", "redact_config", "redact_nsspassword",
           "redact_private_keys", "redact_nm_connection", "scrub_secret_lines", "placeholder", "length_class"]

Counts = dict
Result = tuple

_TYPES = grammar.KINDS


def _merge(*counts: Counts) -> Counts:
    total: Counter[str] = Counter()
    for c in counts:
        total.update(c)
    return {k: v for k, v in total.items() if v}


def _token(raw: str) -> grammar.Token:
    quote = raw[0] if raw[:1] in grammar.QUOTES else ""
    return grammar.Token(0, len(raw), raw, quote)


def placeholder(kind: str, raw: str) -> str:
    """``[KIND, form, length class]`` for one value as written (quoted, 0x, 0s, 0t, bare)."""
    return grammar.placeholder(kind, _token(raw))


value_placeholder = placeholder


# ---------------------------------------------------------------------------
# ipsec.secrets-shaped lines anywhere (a log echoing an entry, a shell history, a copied file)

_ENTRY = re.compile(r"(?:^|(?<=[\s\"'`]))(?P<colon>:)[ \t]*(?P<kind>" + "|".join(_TYPES) + r")\b(?P<rest>[^\n]*)",
                    re.MULTILINE | re.IGNORECASE)


def scrub_secret_lines(text: str) -> Result:
    """An ``: KIND value`` entry inside any text: its value goes, what precedes it stays.

    Only when the value looks like one (quoted, 0x/0s/0t, a ``{`` block, or a single word after
    an upper-case KIND), so that prose such as "PSK authentication failed" stays readable.

    >>> scrub_secret_lines('sudo echo \\'@a @b : PSK "pw-2024-x"\\' >> /etc/ipsec.secrets')[0]
    "sudo echo '@a @b : PSK [PSK, quoted, 8-15 chars]' >> /etc/ipsec.secrets"
    """
    counts: Counter[str] = Counter()

    def fix(match: re.Match) -> str:
        kind = match.group("kind").upper()
        rest = match.group("rest")
        tokens = grammar._tokens_of(rest, 0)
        if not tokens:
            return match.group(0)
        first = tokens[1] if kind == "PPKS" and len(tokens) > 1 else tokens[0]
        looks = (first.quote or first.raw[:2].lower() in ("0x", "0s", "0t") or first.raw.startswith("{")
                 or (match.group("kind").isupper() and len(tokens) == 1))
        if not looks or is_placeholder(first.raw):
            return match.group(0)
        colon = grammar.Token(-2, -1, ":", "")
        word = grammar.Token(-1, 0, match.group("kind"), "")
        record = grammar.parse_record([colon, word, *tokens])
        edits = []
        label = grammar.LABEL[kind]
        inside = [t for t in tokens if record.block and record.block[0] <= t.start < record.block[1]]
        if record.block and not all(is_placeholder(t.raw) or t.raw in ("{", "}") for t in inside):
            edits.append((record.block[0], len(rest), f"{{ [{label} block removed] }}"))
        # in other text the entry ends with its value: what follows ("' >> file") is not a secret
        values = record.secrets if kind in grammar.KEY_KINDS else record.secrets[:1]
        for t in values:
            if not is_placeholder(t.raw):
                edits.append((t.start, t.end, grammar.placeholder(label, t)))
        if not edits:
            return match.group(0)
        counts[grammar.COUNT_KIND[kind]] += 1
        head = match.group(0)[: match.start("rest") - match.start()]
        return head + grammar._apply(rest, edits)

    return _ENTRY.sub(fix, text), dict(counts)


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
# ipsec.conf and other key=value text

# Options whose value is a secret. leftrsasigkey/rightrsasigkey/leftpubkey are PUBLIC: kept.
_CONF_SECRET = re.compile(
    r"(?P<lead>(?:^|(?<=[\s{,\[]))\s*\"?(?P<key>[A-Za-z0-9_-]*(?:pass(?:word|wd|phrase)?|secret|psk|ppk|pin|xauthpass)[A-Za-z0-9_-]*)\"?\s*[=:]\s*)"
    r"(?P<value>\"[^\"\n]*\"?|\x27[^\x27\n]*\x27?|[^\s]+)",
    re.MULTILINE | re.IGNORECASE)
_CONF_KEEP_KEYS = {"ppk", "ppk-ids", "pfs", "ppk_ids", "spin", "xauthby", "secretsfile", "secrets"}
_POLICY_WORDS = {"yes", "no", "permit", "propose", "insist", "never", "true", "false", "always"}


_REFERENCES = {"%prompt", "%none", "%any", "%fromcert", "%cert", "%smartcard"}  # not the secret itself


def _kept_option(key: str, value: str) -> bool:
    """Option names that merely mention a secret (ppk=insist, secretsfile=, pskvalue-flags=)."""
    bare = value.strip("\"'")
    return (key in _CONF_KEEP_KEYS or key.endswith(("file", "ids", "flags", "type", "-by", "by"))
            or bare.lower() in _POLICY_WORDS or bare.lower() in _REFERENCES or is_placeholder(bare))


def config_secret_values(text: str) -> list[str]:
    """The values :func:`redact_config` removes (to be learnt before anything is written)."""
    return [m.group("value").strip("\"'") for m in _CONF_SECRET.finditer(text)
            if not _kept_option(m.group("key").lower(), m.group("value"))]


def redact_config(text: str) -> Result:
    """ipsec.conf: values of password/secret/PPK-like options; public keys and policies stay."""
    n = 0

    def fix(match: re.Match) -> str:
        nonlocal n
        key = match.group("key").lower()
        value = match.group("value")
        if _kept_option(key, value):
            return match.group(0)
        n += 1
        # quoted, so that JSON (the resolved connection) and ipsec.conf stay parseable
        return match.group("lead") + f'"{value_placeholder("value", value)}"'

    new = _CONF_SECRET.sub(fix, text)
    return new, ({"config-secret": n} if n else {})


def redact_nsspassword(text: str) -> Result:
    """NSS password file: ``token:password`` lines (or a bare password) -> token kept only."""
    out: list[str] = []
    n = 0
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        newline = line[len(body):]
        if not body.strip() or body.lstrip().startswith("#") or "[NSS password removed" in body:
            out.append(line)
            continue
        # Token names ("NSS Certificate DB") hold no colon; the password may: split on the first.
        token, sep, password = body.partition(":")
        if not sep:
            token, password = "", body
        n += 1
        out.append(f"{token}{sep}[NSS password removed, {length_class(len(password))} chars]{newline}")
    return "".join(out), ({"nss-password": n} if n else {})


def nss_password_values(text: str) -> list[str]:
    values = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            _, sep, password = line.partition(":")  # see redact_nsspassword: first colon
            values.append(password if sep else line)
    return values


# ---------------------------------------------------------------------------
# NetworkManager connections (keyfile format)

_NM_SECRET_KEY = re.compile(r"(?:psk|pskvalue|password|passwd|passphrase|secret|pin|xauthpassword|"
                            r"[a-z0-9_-]*(?:password|secret|psk|passphrase))$", re.IGNORECASE)


def _nm_entries(text: str):
    """(line, section, key, value-start) for every ``key=value`` line of a keyfile."""
    section = ""
    pos = 0
    for line in text.splitlines(keepends=True):
        body = line.strip()
        if body.startswith("[") and body.endswith("]"):
            section = body[1:-1].strip().lower()
        elif "=" in body and not body.startswith(("#", ";")):
            key = line.split("=", 1)[0].strip()
            yield line, pos, section, key
        pos += len(line)


def _nm_is_secret(section: str, key: str) -> bool:
    low = key.lower()
    if low.endswith(("-flags", "-type", "_flags", "_type")):
        return False
    return section == "vpn-secrets" or bool(_NM_SECRET_KEY.fullmatch(low))


def nm_secret_values(text: str) -> list[str]:
    values = []
    for line, _, section, key in _nm_entries(text):
        if _nm_is_secret(section, key):
            value = line.split("=", 1)[1].strip()
            if value and not is_placeholder(value):
                values.append(value)
    return values


def redact_nm_connection(text: str) -> Result:
    """A NetworkManager keyfile: the [vpn-secrets] section's values and every password-like key
    (pskvalue, xauthpassword, psk, password...) of any section; ``*-flags`` stay.

    >>> redact_nm_connection("[vpn]\\npskvalue-flags=0\\n[vpn-secrets]\\npskvalue=s3cret-value\\n")[0]
    '[vpn]\\npskvalue-flags=0\\n[vpn-secrets]\\npskvalue=[NetworkManager secret removed, 8-15 chars]\\n'
    """
    out: list[str] = []
    n = 0
    entries = {pos: (section, key) for _, pos, section, key in _nm_entries(text)}
    pos = 0
    for line in text.splitlines(keepends=True):
        found = entries.get(pos)
        pos += len(line)
        if found and _nm_is_secret(*found):
            key_part, value = line.split("=", 1)
            body = value.rstrip("\r\n")
            if body.strip() and not is_placeholder(body.strip()):
                n += 1
                line = f"{key_part}=[NetworkManager secret removed, {length_class(len(body.strip()))} chars]" + value[len(body):]
        out.append(line)
    return "".join(out), ({"nm-secret": n} if n else {})


# ---------------------------------------------------------------------------
# secrets on a command line (a journal's _CMDLINE, a shell history, ps output)

_CMDLINE_SECRET = re.compile(r"(--(?:xauthpass(?:word)?|password|passwd|pass|psk|secret|pin|ppk)(?:=|\s+))"
                             r"(\"[^\"\n]*\"?|'[^'\n]*'?|[^\s\"']+)", re.IGNORECASE)


def redact_command_lines(text: str) -> Result:
    """``ipsec whack --xauthpass VALUE`` and the like, wherever a command line was recorded.

    >>> redact_command_lines("ipsec whack --name vpn --xauthpass hunter2 --initiate")[0]
    'ipsec whack --name vpn --xauthpass [command-line secret removed] --initiate'
    """
    new, n = _CMDLINE_SECRET.subn(lambda m: m.group(1) + "[command-line secret removed]", text)
    return new, ({"command-line-secret": n} if n else {})


# ---------------------------------------------------------------------------
# the generic scrubber, run over every text item

_GENERIC: tuple[Callable[[str], Result], ...] = (
    redact_private_keys, scrub_secret_lines, redact_command_lines, redact_xfrm_state, redact_log,
)


def scrub_generic(text: str, skip: tuple = ()) -> Result:
    counts: list[Counts] = []
    for fn in _GENERIC:
        if fn in skip:
            continue
        text, c = fn(text)
        counts.append(c)
    return text, _merge(*counts)


POLICIES: dict[str, Callable[[str], Result]] = {
    "secrets": redact_secrets,
    "xfrm_state": redact_xfrm_state,
    "log": redact_log,
    "config": redact_config,
    "nsspassword": redact_nsspassword,
    "nm_connection": redact_nm_connection,
    "generic": lambda text: (text, {}),
    "none": lambda text: (text, {}),
}


# A quoted value read the C way (backslash escapes), which pluto does not do: a user who wrote
# "pa\"ss" may mean pa"ss, and that is what may turn up elsewhere. Learnt as well, never trusted.
_ESCAPED_QUOTED = re.compile(r'"((?:[^"\\\n]|\\.)*\\.(?:[^"\\\n]|\\.)*)"|\'((?:[^\'\\\n]|\\.)*\\.(?:[^\'\\\n]|\\.)*)\'')


def _secrets_learnt(text: str) -> list[bytes]:
    out = [re.sub(r"\\(.)", r"\1", m.group(1) or m.group(2) or "").encode("utf-8", "surrogateescape")
           for m in _ESCAPED_QUOTED.finditer(text)]
    for token in grammar.secret_values(text):
        out.append(token.value.encode("utf-8", "surrogateescape"))
        decoded = grammar.decode_value(token)
        if decoded:
            out.append(decoded)
        if token.raw[:2].lower() in ("0x", "0s", "0t"):
            out.append(token.raw[2:].encode("utf-8", "surrogateescape"))
    return out


# What each policy's grammar says is secret, to be learnt before anything is written.
LEARNERS: dict[str, Callable[[str], list[bytes]]] = {
    "secrets": _secrets_learnt,
    "config": lambda text: [v.encode() for v in config_secret_values(text)],
    "nsspassword": lambda text: [v.encode() for v in nss_password_values(text)],
    "nm_connection": lambda text: [v.encode() for v in nm_secret_values(text)],
}


class Redactor:
    """Applies policy + generic + known-value redaction; holds learnt secrets in memory only."""

    def __init__(self) -> None:
        self.known = KnownSecrets()

    def learn(self, text: str, policy: str = "secrets") -> None:
        """Learn the secret values *text* holds, read with *policy*'s grammar."""
        learner = LEARNERS.get(policy)
        if learner is None:
            return
        for value in learner(text):
            self.known.add(value)
        if policy == "secrets":  # IDs are no secret: a learnt value is never cut out of one
            for ident in grammar.ids_of(text):
                self.known.protect(ident)

    def learn_secrets_text(self, text: str) -> None:
        self.learn(text, "secrets")

    def learn_nsspassword(self, text: str) -> None:
        self.learn(text, "nsspassword")

    def learn_bytes(self, data: bytes) -> None:
        self.known.add(data)

    def scrub_known(self, text: str) -> Result:
        new, n = self.known.scrub(text)
        return new, ({"known-secret": n} if n else {})

    def redact(self, text: str, policy: str = "generic") -> Result:
        fn = POLICIES.get(policy, POLICIES["generic"])
        text, a = fn(text)
        text, b = scrub_generic(text, skip=(fn,))  # a policy that is also a generic step runs once
        text, c = self.scrub_known(text)
        return text, _merge(a, b, c)
