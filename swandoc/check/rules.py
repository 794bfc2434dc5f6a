"""Rules over one end's configuration files (RHEL 9 guide §4.7-4.12): pure functions.

Each rule takes an :class:`End` (the parsed ipsec.conf, ipsec.secrets, the Libreswan major
version whose keywords and defaults apply, FIPS mode) and yields findings whose evidence is
the config file and line.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Iterator

from ..model import EvidenceLine, Finding
from ..rules.knowledge import finding
from . import algorithms as alg
from . import knowledge  # noqa: F401  (registers the topics)
from .confsource import ConfigDoc
from .conn import ConnView, resolve
from .keywords import KEYWORDS, REMOVED_IN_4
from .secrets import SecretsDoc


@dataclass(frozen=True)
class End:
    """One end's files and what decides how pluto reads them."""

    doc: ConfigDoc
    secrets: SecretsDoc | None = None
    version: int = 4
    fips: bool = False
    version_known: bool = False  # False: no Libreswan here, keywords judged against 4.x and 5.x

    def conn(self, name: str) -> ConnView:
        return resolve(self.doc, name, version=self.version, fips=self.fips)

    def conns(self, only: str | None = None) -> list[ConnView]:
        """The conns worth checking: *only*, or every conn that is not just an also= base."""
        if only:
            return [self.conn(only)]
        bases = {word for s in self.doc.sections if s.kind == "conn" for o in s.options if o.key == "also"
                 for word in o.value.split()}
        return [self.conn(name) for name in self.doc.conn_names()
                if name not in bases or self.doc.conn(name).get("auto")]


# ------------------------------------------------------------------------ syntax and keywords

def _keyword_state(key: str, kind: str, version: int) -> str:
    """"ok", "obsolete" or "unknown" for *key* in a section of *kind* under *version*."""
    table = KEYWORDS[5 if version >= 5 else 4]
    if key.startswith(("x-", "x_")):
        return "ok"
    if key in table["obsolete"]:
        return "obsolete"
    if kind == "setup":
        return "ok" if key in table["setup"] else "unknown"
    if key in table["conn"]:
        return "ok"
    for side in ("left", "right"):
        if key.startswith(side) and key[len(side):] in table["leftright"]:
            return "ok"
    return "unknown"


def syntax(end: End) -> Iterator[Finding]:
    problems: list[tuple[EvidenceLine, str]] = list(end.doc.problems)
    obsolete: list[tuple[EvidenceLine, str]] = []
    removed: list[tuple[EvidenceLine, str]] = []
    versions = (end.version,) if end.version_known else (4, 5)
    for section in end.doc.sections:
        for option in section.options:
            states = {v: _keyword_state(option.key, section.kind, v) for v in versions}
            if all(s == "unknown" for s in states.values()) and option.key in REMOVED_IN_4:
                removed.append((option.where, f"{option.key}= was a Libreswan 3.x keyword; 4.x and 5.x no longer "
                                              f"know it and refuse the file"))
            elif all(s == "unknown" for s in states.values()):
                where = "config setup" if section.kind == "setup" else "a conn"
                problems.append((option.where, f"{option.key}= is not a keyword of {where} "
                                               f"in Libreswan {'/'.join(f'{v}.x' for v in versions)}"))
            elif all(s != "ok" for s in states.values()):
                # obsolete everywhere we look (a keyword fine in 4.x but gone in 5.x is only news
                # when the version that reads the file is known)
                gone = [f"{v}.x" for v, s in states.items() if s != "ok"]
                obsolete.append((option.where, f"{option.key}= is obsolete or unknown in Libreswan {', '.join(gone)}"))
    for name in end.doc.conn_names():
        problems.extend(end.conn(name).problems)
    if problems:
        yield finding("config-syntax-error", None, [w for w, _ in problems],
                      extra=" ".join(f"{w.source}:{w.line}: {why}." for w, why in problems[:10]),
                      details={"problems": str(len(problems))})
    if obsolete or removed:
        found = finding("obsolete-option", None, [w for w, _ in removed + obsolete],
                        extra=" ".join(f"{w.source}:{w.line}: {why}." for w, why in (removed + obsolete)[:10]))
        if removed:  # not ignored with a warning: the whole file is refused
            found = dataclasses.replace(found, severity="error", rank=96)
        yield found


# ------------------------------------------------------------------------ per connection

def algorithms(end: End, conn: ConnView) -> Iterator[Finding]:
    if conn.ike_version == 1:
        line = conn.opt("ike")
        if line and any(p.encr[0].startswith(("AES_GCM", "AES_CCM", "CHACHA20")) for p in
                        alg.parse_line(line.value, "ike", end.version, 1).proposals):
            yield finding("ikev1-gcm-ike", conn.name, [line.where] + list(conn.where(conn.ike_version_key)),
                          extra=f"ike={line.value} with IKEv1.")
        elif line is None and conn.policy:
            # the policy file is not here to read; its ike= (AES-GCM first) is what the conn inherits
            include = end.doc.includes_crypto_policy()
            yield finding("ikev1-gcm-ike", conn.name, [include.where] + list(conn.where(conn.ike_version_key)),
                          extra=f"This IKEv1 conn sets no ike= of its own and inherits the {conn.policy} crypto "
                                f"policy's, which proposes AES-GCM for IKE.")
    reasons: list[str] = []
    lines: list[EvidenceLine] = []
    for kind in ("ike", "esp"):
        option = conn.proposal_line(kind)
        if option is None:
            continue
        parsed = alg.parse_line(option.value, kind, end.version, conn.ike_version)
        why = []
        if parsed.unknown:
            why.append(f"not an algorithm Libreswan knows: {', '.join(parsed.unknown)}")
        if parsed.removed:
            why.append(f"not built by Libreswan {end.version}.x: {', '.join(parsed.removed)}")
        why.extend(parsed.invalid)
        if end.fips:
            disabled = alg.fips_disabled(parsed.proposals)
            if disabled:
                why.append(f"disabled in FIPS mode: {', '.join(disabled)}")
        if why:
            reasons.append(f"{option.key}={option.value}: " + "; ".join(why))
            lines.append(option.where)
    if reasons:
        yield finding("algorithm-not-allowed", conn.name, lines, extra=" ".join(r + "." for r in reasons))


def _prf_min_bytes(conn: ConnView) -> int:
    sizes = {"HMAC_SHA1": 20, "HMAC_SHA2_256": 32, "HMAC_SHA2_384": 48, "HMAC_SHA2_512": 64}
    prfs = {p for proposal in conn.proposals("ike") for p in proposal.prf}
    return max((sizes.get(p, 0) // 2 for p in prfs), default=0)


def psk_strength(end: End, conn: ConnView) -> Iterator[Finding]:
    if end.secrets is None or "secret" not in conn.authby("left") + conn.authby("right"):
        return
    entry = end.secrets.find("PSK", conn.id("left"), conn.id("right"))
    if entry is None:
        return
    reasons = []
    if entry.length < 20:
        reasons.append(f"it is {entry.length} characters long (at least 20 are needed, 64 recommended)")
    if not entry.random_looking:
        reasons.append("it does not look random (one kind of character, or few distinct ones)")
    need = _prf_min_bytes(conn)
    fips_short = end.fips and entry.length < need
    if fips_short:
        reasons.append(f"in FIPS mode the PRF this conn may use needs at least {need} bytes; pluto will fail "
                       f"the authentication")
    if not reasons:
        return
    found = finding("weak-psk", conn.name, [entry.where] + list(conn.where("authby")),
                    extra="This PSK: " + "; ".join(reasons) + ".", details={"psk_length": str(entry.length)})
    if fips_short:
        found = dataclasses.replace(found, severity="error", rank=75)
    yield found


def ppk(end: End, conn: ConnView) -> Iterator[Finding]:
    option = conn.opt("ppk")
    if option is None or option.value.lower() in ("no", "never"):
        return
    if conn.ike_version == 1:
        yield finding("ppk-needs-ikev2", conn.name, [option.where] + list(conn.where(conn.ike_version_key)))
        return
    if end.secrets is None:
        return
    entry = end.secrets.find("PPKS", conn.id("left"), conn.id("right"))
    if entry is None:
        found = finding("ppk-not-configured", conn.name, [option.where],
                        extra=f"Looked in {end.secrets.path} for a PPKS entry for {conn.id('left')} and "
                              f"{conn.id('right')}.")
        if option.value.lower() in ("yes", "propose", "permit"):
            found = dataclasses.replace(found, severity="warning", rank=50)
        yield found
    elif entry.length < 32 or not entry.random_looking:
        yield finding("weak-ppk", conn.name, [entry.where, option.where],
                      details={"ppk_length": str(entry.length)})


def auth_and_tcp(end: End, conn: ConnView) -> Iterator[Finding]:
    if (conn.value("authby") or "").lower() == "null":
        yield finding("null-auth", conn.name, conn.where("authby"))
    if conn.enable_tcp == "yes":
        yield finding("tcp-encap-always", conn.name, conn.where("enable-tcp"))


def crypto_policy(end: End, conns: list[ConnView], policy_file_exists: bool) -> Iterator[Finding]:
    """Only where crypto policies exist (the back-end file is on this host), or the include is dangling."""
    include = end.doc.includes_crypto_policy()
    relying = [c for c in conns if c.proposal_line("ike") is None or c.proposal_line("esp") is None]
    if not relying:
        return
    names = ", ".join(c.name for c in relying)
    if include is None and end.doc.disabled_policy:
        yield finding("crypto-policy-not-included", None, list(end.doc.disabled_policy) + [c.header for c in relying[:5]],
                      extra=f"The include is commented out. Conns without their own ike=/esp=: {names}.")
    elif include is None and policy_file_exists:
        yield finding("crypto-policy-not-included", None, [EvidenceLine(end.doc.path, None, "no line: include "
                      "/etc/crypto-policies/back-ends/libreswan.config")] + [c.header for c in relying[:5]],
                      extra=f"Conns without their own ike=/esp=: {names}.")
    elif include is not None and include.matched == 0 and policy_file_exists:
        yield finding("crypto-policy-not-included", None, [include.where] + [c.header for c in relying[:5]],
                      extra=f"The include matches no readable file. Conns without their own ike=/esp=: {names}.")


def secrets_file(end: End) -> Iterator[Finding]:
    if end.secrets is None or not end.secrets.problems:
        return
    lines = [w for w, _ in end.secrets.problems]
    yield finding("secrets-file-error", None, lines,
                  extra=" ".join(f"{w.source}:{w.line or '-'}: {why}." for w, why in end.secrets.problems[:10]))


def unmatched_psks(end: End, conns: list[ConnView]) -> Iterator[Finding]:
    """PSK entries no checked conn picks (IDs written differently, %any entries): judged on their own."""
    if end.secrets is None:
        return
    used = {id(end.secrets.find("PSK", c.id("left"), c.id("right"))) for c in conns}
    for entry in end.secrets.entries:
        if entry.kind != "PSK" or id(entry) in used:
            continue
        if entry.length < 20 or not entry.random_looking:
            why = (f"it is {entry.length} characters long (at least 20 are needed, 64 recommended)"
                   if entry.length < 20 else "it does not look random")
            yield finding("weak-psk", None, [entry.where], extra=f"This PSK: {why}.",
                          details={"psk_length": str(entry.length)})


def check_end(end: End, only: str | None = None, *, policy_file_exists: bool = False) -> list[Finding]:
    """Every single-end rule over *end* (all its conns, or *only*)."""
    out = list(syntax(end)) + list(secrets_file(end))
    conns = end.conns(only)
    for conn in conns:
        for rule in (algorithms, psk_strength, ppk, auth_and_tcp):
            out.extend(rule(end, conn))
    if only is None:
        out.extend(unmatched_psks(end, conns))
    out.extend(crypto_policy(end, conns, policy_file_exists))
    return out
