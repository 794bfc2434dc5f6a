"""Two ends, statically: will these two configs agree, and if not, what would pluto report?

The comparison walks the exchange in pluto's order and stops where pluto would: IKE version
(and ikev1-policy), the IKE proposal, the peers' addresses, IDs and authentication (the PSKs are
compared by keyed digest, never shown), the Child SA proposal, the traffic selectors. A failure
is reported with the id the runtime rules give the same failure in a log, marked ``predicted``,
with the lines of both configs as evidence. Checks pluto makes independently of that order
(TCP encapsulation, PFS, encapsulation, fragmentation) are reported as well.

Which end initiates: an end with auto=start (or ondemand/route) does; when neither or both do,
this end (--config) is taken as the initiator.
"""
from __future__ import annotations

import dataclasses
import ipaddress
from typing import Iterator

from ..model import EvidenceLine, Finding
from .. import rules as _runtime_rules  # noqa: F401  (loads the ids a running pluto would give)
from ..rules.knowledge import finding
from . import algorithms as alg
from . import knowledge  # noqa: F401
from .conn import ConnView, orientation
from .rules import End

SIDES = ("left", "right")


def _predicted(id: str, conn: ConnView, lines, **kw) -> Finding:
    f = finding(id, conn.name, list(dict.fromkeys(lines)), **kw)
    return dataclasses.replace(f, predicted=True)


def _initiator_first(a: ConnView, b: ConnView) -> bool:
    starts = lambda c: (c.value("auto") or "").lower() in ("start", "ondemand", "route", "up")  # noqa: E731
    return not (starts(b) and not starts(a))


def _ip(value: str | None):
    try:
        return ipaddress.ip_address(value) if value else None
    except ValueError:
        return None


def _nets(values: tuple[str, ...]) -> set:
    out = set()
    for v in values:
        try:
            out.add(ipaddress.ip_network(v.split("/")[0] + ("/" + v.split("/")[1] if "/" in v else ""), strict=False))
        except ValueError:
            out.add(v)
    return out


def _covers(outer: set, inner: set) -> bool:
    for n in inner:
        if not any(isinstance(o, type(n)) and hasattr(o, "supernet_of") and o.version == n.version
                   and o.supernet_of(n) for o in outer):
            return False
    return True


def _norm_id(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip().strip('"')
    if value in ("%any", "%fromcert", "%none", "") or value.startswith("%"):
        return None
    value = value.lower()
    return value[1:] if value.startswith("@") and not value.startswith("@#") else value


def compare(a_end: End, a: ConnView, b_end: End, b: ConnView) -> list[Finding]:
    """Predicted findings for conn *a* of this end against conn *b* of the peer."""
    out: list[Finding] = []
    out.extend(_independent(a, b))
    out.extend(_negotiation(a_end, a, b_end, b))
    return out


def _negotiation(a_end: End, a: ConnView, b_end: End, b: ConnView) -> Iterator[Finding]:
    m = orientation(a, b)
    init, resp = (a, b) if _initiator_first(a, b) else (b, a)
    # 0. a conn pluto refuses to load never negotiates (unknown, unbuilt or invalid algorithms)
    for c, side in ((a, "local"), (b, "peer")):
        refused = [o for o in (c.proposal_line("ike"), c.proposal_line("esp")) if o is not None and
                   alg.parse_line(o.value, "esp" if o.key in ("esp", "phase2alg") else "ike", c.version,
                                  c.ike_version).refused]
        if refused:
            yield _predicted("connection-not-loaded", a, [o.where for o in refused], side=side,
                             extra=f"pluto refuses to load conn {c.name} from {c.doc.path}: see "
                                   f"algorithm-not-allowed for the line.")
            return
    # 1. IKE version, ikev1-policy
    if a.ike_version != b.ike_version:
        yield _predicted("ike-version-mismatch", a, a.where(a.ike_version_key) + b.where(b.ike_version_key),
                         extra=f"This end uses IKEv{a.ike_version}, the peer IKEv{b.ike_version}.")
        return
    if a.ike_version == 1:
        refused = [c for c in (a, b) if c.ikev1_policy != "accept"]
        for c in refused:
            where = c.setup("ikev1-policy")
            lines = [where.where] if where else [EvidenceLine(c.doc.path, None, "config setup: no ikev1-policy= "
                                                              "(default: drop)")]
            yield _predicted("ikev1-disabled", a, lines + list(c.where(c.ike_version_key)),
                             side="local" if c is a else "peer",
                             extra=f"ikev1-policy={c.ikev1_policy} in {c.doc.path}.")
        if refused:
            return
    # 2. IKE proposals
    chosen = resp.accepts_any("ike") or alg.agree(init.proposals("ike"), resp.proposals("ike"))
    if not chosen:
        yield _predicted("ike-proposal-mismatch", a, list(a.where("ike")) + list(b.where("ike")),
                         extra=f"The initiator proposes {init.proposal_text('ike')}; the responder accepts "
                               f"{resp.proposal_text('ike')}. No proposal has every kind of transform in common.",
                         details={"local_ike": _texts(a.proposals("ike")), "peer_ike": _texts(b.proposals("ike"))})
        return
    # 3. addresses: does the responder have a conn for the initiator's address?
    for side in SIDES:
        mine, theirs = _ip(a.host(side)), _ip(b.host(m[side]))
        if mine and theirs and mine != theirs and not (mine.is_private and not theirs.is_private) \
                and not (theirs.is_private and not mine.is_private):
            yield _predicted("no-matching-connection", a, list(a.where(side)) + list(b.where(m[side])),
                             extra=f"{side}= is {mine} here but the peer's config expects {theirs}.")
            return
    # 4. IDs and authentication methods
    problems, lines = [], []
    for side in SIDES:
        mine, theirs = _norm_id(a.id(side)), _norm_id(b.id(m[side]))
        if mine and theirs and mine != theirs:
            problems.append(f"{side}id is {a.id(side)} here but {b.id(m[side])} on the peer")
            lines += list(a.where(f"{side}id", side)) + list(b.where(f"{m[side]}id", m[side]))
        am, bm = a.authby(side), b.authby(m[side])
        if "-or-" not in am + bm and am != bm:
            problems.append(f"the {side} end authenticates with {am} here but {bm} on the peer")
            lines += list(a.where("authby", f"{side}auth")) + list(b.where("authby", f"{m[side]}auth"))
    if problems:
        yield _predicted("authentication-failed", a, lines, extra="; ".join(problems).capitalize() + ".")
        return
    # 5. pre-shared keys: present on both ends, and equal (keyed digests; never shown)
    if "secret" in a.authby("left") and "secret" in b.authby("left"):
        stop = False
        entries = {}
        for end, conn, side in ((a_end, a, "local"), (b_end, b, "peer")):
            if end.secrets is None:
                continue
            entry = end.secrets.find("PSK", conn.id("left"), conn.id("right"))
            entries[side] = entry
            if entry is None:
                stop = True
                yield _predicted("secret-not-found", a, list(conn.where("authby")) + [
                    EvidenceLine(end.secrets.path, None, f"no PSK entry for {conn.id('left')} {conn.id('right')}")],
                    side=side, extra=f"{end.secrets.path} has no PSK for {conn.id('left')} and {conn.id('right')}.")
        if stop:
            return
        if len(entries) == 2 and entries["local"].digest != entries["peer"].digest:
            yield _predicted("ikev1-psk-mismatch" if a.ike_version == 1 else "authentication-failed", a,
                             [entries["local"].where, entries["peer"].where],
                             extra="The two PSKs differ (compared by keyed digest; neither is shown).")
            return
    # 6. Child SA proposals
    use_dh = a.ike_version == 1 and init.pfs and resp.pfs
    if not resp.accepts_any("esp") and alg.agree(init.proposals("esp"), resp.proposals("esp"), use_dh=use_dh) is None:
        yield _predicted("child-proposal-mismatch", a, list(a.where("esp", "phase2alg")) + list(b.where("esp", "phase2alg")),
                         extra=f"The initiator proposes {init.proposal_text('esp')}; the responder accepts "
                               f"{resp.proposal_text('esp')}.",
                         details={"local_esp": _texts(a.proposals("esp")), "peer_esp": _texts(b.proposals("esp"))})
        return
    # 7. traffic selectors, mirrored
    for side in SIDES:
        mine, theirs = _nets(a.selectors(side)), _nets(b.selectors(m[side]))
        if not mine or not theirs or mine == theirs:
            continue
        narrowed = a.ike_version == 2 and resp.narrowing and (_covers(mine, theirs) or _covers(theirs, mine))
        if narrowed:
            continue
        def lines(c: ConnView, s: str) -> list:
            keys = ("subnet", "subnets") if c.subnets(s) else ("",)
            return list(c.where(*(s + k for k in keys)))
        yield _predicted("ts-unacceptable", a, lines(a, side) + lines(b, m[side]),
                         extra=f"The {side} side protects {', '.join(sorted(map(str, mine)))} here but "
                               f"{', '.join(sorted(map(str, theirs)))} on the peer.")
        return


def _texts(proposals) -> str:
    return ", ".join(p.text() for p in proposals[:6]) + (" ..." if len(proposals) > 6 else "")


def _independent(a: ConnView, b: ConnView) -> Iterator[Finding]:
    init, resp = (a, b) if _initiator_first(a, b) else (b, a)
    if init.enable_tcp in ("yes", "fallback"):
        reasons = []
        if not resp.listen_tcp:
            reasons.append(f"{resp.doc.path} has no listen-tcp=yes in config setup")
        if init.tcp_remoteport != 4500:
            reasons.append(f"tcp-remoteport={init.tcp_remoteport}, but pluto listens for TCP on 4500")
        if resp.enable_tcp in ("yes", "fallback") and resp.tcp_remoteport != init.tcp_remoteport:
            reasons.append(f"the ends use different tcp-remoteport ({init.tcp_remoteport} and {resp.tcp_remoteport})")
        if reasons:
            f = _predicted("tcp-encap-one-sided", a, list(init.where("enable-tcp", "tcp-remoteport")) +
                           [resp.setup("listen-tcp").where if resp.setup("listen-tcp") else
                            EvidenceLine(resp.doc.path, None, "config setup: no listen-tcp=yes")],
                           extra="; ".join(reasons).capitalize() + ".")
            if init.enable_tcp == "fallback":
                f = dataclasses.replace(f, severity="warning", rank=40,
                                        title="IKE over TCP fallback would find no TCP listener")
            yield f
    if a.pfs != b.pfs:
        yield _predicted("pfs-mismatch", a, list(a.where("pfs")) + list(b.where("pfs")),
                         extra=f"pfs={'yes' if a.pfs else 'no'} here, {'yes' if b.pfs else 'no'} on the peer.")
    enc = {(a.value("encapsulation") or "auto").lower(), (b.value("encapsulation") or "auto").lower()}
    if enc == {"yes", "no"}:
        yield _predicted("encapsulation-mismatch", a, list(a.where("encapsulation")) + list(b.where("encapsulation")))
    frag = [(c.value("fragmentation") or "yes").lower() for c in (a, b)]
    certs = any(c.authby(s) in ("rsasig", "ecdsa") for c in (a, b) for s in SIDES)
    if certs and "no" in frag and frag[0] != frag[1]:
        yield _predicted("fragmentation-mismatch", a, list(a.where("fragmentation")) + list(b.where("fragmentation")))
