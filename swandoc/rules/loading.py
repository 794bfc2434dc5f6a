"""Log rules: is the connection there at all (loaded, allowed, found by the responder)?

These rank highest: a connection that is not loaded, refused by ikev1-policy or unknown to the
responder explains every later symptom.
"""

from __future__ import annotations

from ..facts import Facts
from .registry import rule
from .knowledge import REF_BASIC, REF_HOST, REF_MISMATCH, UP_TO_4, V5, finding, topic
from .support import IKE_INIT_STAGES, lines_of, retransmits

# Knowledge: what each id means and what to do (the project's own words).

topic("connection-not-loaded", "error", "The connection is not loaded in pluto", "local", """
    pluto was asked about a connection it does not have: it was never added, it failed to load
    (a syntax or semantic error in its definition), or the name is misspelled.""", [
    ("List what pluto has loaded: ipsec status | grep '\"NAME\"'", UP_TO_4),
    ("List what pluto has loaded: ipsec connectionstatus NAME", V5),
    ("Load it and read the error, if any: ipsec auto --add NAME", UP_TO_4),
    ("Load it and read the error, if any: ipsec add NAME", V5),
    "Check the file defining it is included from /etc/ipsec.conf (include /etc/ipsec.d/*.conf) and "
    "that the conn has auto=add or auto=start",
], REF_BASIC, 95)

topic("ikev1-disabled", "error", "IKEv1 is refused by ikev1-policy", "local", """
    One side runs with IKEv1 disabled (ikev1-policy=drop or reject in config setup; the default in
    Libreswan 5 and in RHEL's builds), so the IKEv1 connection can never start. IKEv1 is deprecated:
    the lasting fix is to move both ends to IKEv2.""", [
    ("Preferred: use IKEv2 on both ends, in the conn: ikev2=insist (IKEv2 is also the default when ikev2= is not "
     "set; ikev2=permit means IKEv1)", UP_TO_4),
    ("Preferred: use IKEv2 on both ends, in the conn: keyexchange=ikev2 (the default; the old ikev2= is still read, "
     "and ikev2=permit means IKEv1)", V5),
    "Only if the peer cannot do IKEv2: set ikev1-policy=accept in the config setup section and restart "
    "(systemctl restart ipsec)",
], REF_MISMATCH, 92)

topic("ike-version-mismatch", "error", "The two ends speak different IKE versions", "both", """
    One end proposes IKEv2 and the other only accepts IKEv1 (or the reverse). The responder finds no
    connection for that version and drops or refuses the request; to the initiator this can look
    exactly like a firewall dropping IKE.""", [
    ("Make both conns agree on IKEv2: ikev2=insist (or no ikev2= at all: IKEv2 is the default; ikev2=never or "
     "ikev2=permit mean IKEv1 only)", UP_TO_4),
    ("Make both conns agree on IKEv2: keyexchange=ikev2 (the default; ikev2=no and ikev2=permit mean IKEv1 only)",
     V5),
    "Only when the peer cannot do IKEv2, use IKEv1 on both ends (and ikev1-policy=accept in config setup)",
    "On the responder, confirm which version its conn accepts: ipsec status | grep -E 'policy|IKEv'",
], REF_MISMATCH, 89)

topic("no-matching-connection", "error", "The responder has no connection for this peer", "peer", """
    The responder received the initiator's first message but none of its loaded connections accepts it:
    the peer's address, IKE version or authentication method (authby=) matches no conn there.""", [
    "On the responder, compare its conn with the initiator's: right= must cover the initiator's address "
    "(or %any), and authby= must agree",
    ("The IKE version must agree too: ikev2= (unset means IKEv2)", UP_TO_4),
    ("The IKE version must agree too: keyexchange= (unset means IKEv2)", V5),
    "Check the conn is loaded on the responder: ipsec status | grep NAME",
], REF_MISMATCH, 83)


topic("connection-unoriented", "error", "pluto cannot tell which end of the connection is this host", "local", """
    Neither left= nor right= is an address of this host, so pluto cannot orient the connection: it
    does not know whether it is left or right, and an unoriented conn cannot be initiated or routed.
    Typical causes: a typo in the address, the address moved (DHCP, a new interface), or a cloud or
    NATed host whose public address is not on any interface.""", [
    "Compare left=/right= with this host's addresses: ip -br addr",
    "Behind NAT or on a cloud instance: put the local (private) address or %defaultroute in left= and the "
    "public address in leftid=, e.g. left=%defaultroute leftid=203.0.113.10",
    ("After fixing the addresses reload the conn (ipsec auto --add NAME); if an interface came up after pluto "
     "started, make pluto look at its interfaces again: ipsec whack --listen", UP_TO_4),
    ("After fixing the addresses reload the conn (ipsec add NAME); if an interface came up after pluto "
     "started, make pluto look at its interfaces again: ipsec whack --listen", V5),
], REF_HOST, 95)

# Findings that say why a connection is not there: when one is present, "not loaded" is its consequence.
_LOAD_REASON_KINDS = ("ikev1_refused", "unoriented", "config_error", "crashed", "daemon_down")


@rule
def connection_missing(facts: Facts):
    reasons_anywhere = any(c.has(k) for c in facts.connections() for k in ("config_error", "crashed", "daemon_down"))
    for c in facts.connections():
        unknown, failed = c.get("unknown_conn"), c.get("add_failed")
        if unknown or failed:
            detail = failed.first.detail if failed and failed.first else None
            explained = reasons_anywhere or any(c.has(k) for k in _LOAD_REASON_KINDS)
            extra = f"pluto said: {detail}." if detail else None
            if explained:
                extra = ((extra + " ") if extra else "") + "The finding ranked above says why it is not loaded."
            yield finding("connection-not-loaded", c.name, lines_of(unknown, failed), extra=extra,
                          rank=80 if explained else None)


@rule
def unoriented(facts: Facts):
    for c in facts.connections():
        s = c.get("unoriented")
        if s:
            yield finding("connection-unoriented", c.name, lines_of(s))


@rule
def ikev1_refused(facts: Facts):
    for c in facts.connections():
        s = c.get("ikev1_refused")
        if s:
            yield finding("ikev1-disabled", c.name, lines_of(s))
        # The initiator's view: an IKEv1 peer that rejects IKEv1 answers INVALID_MAJOR_VERSION.
        major = c.notified("notify_received", "INVALID_MAJOR_VERSION")
        if major and not s:
            yield finding("ikev1-disabled", c.name, lines_of(*major, *retransmits(c, IKE_INIT_STAGES))[:5],
                          side="peer", extra="Here the peer answered every IKEv1 request with INVALID_MAJOR_VERSION, "
                                             "which is how pluto refuses IKEv1 when its ikev1-policy is reject.")


@rule
def version_or_no_conn(facts: Facts):
    """A responder that found no connection for the initiator: wrong IKE version, or no conn at all."""
    unnamed = facts.conns.get("")
    if not unnamed:
        return
    loaded_in: dict[str, dict[str, set[str]]] = {}  # per source: one walk over the connections, not one per signal
    for signal in [s for c in facts.connections() for s in c.all("no_connection")]:
        wanted = signal.qualifier  # the version the initiator spoke
        for source in signal.sources:
            loaded = loaded_in.get(source)
            if loaded is None:
                loaded = loaded_in[source] = _versions_loaded(facts, source)
            names = sorted(loaded)
            known = all(v for vs in loaded.values() for v in vs)  # 3.x/4.x 'added connection' names no version
            if not loaded and _restarted(facts, source):
                yield finding("connection-not-loaded", None, lines_of(_restart_signal(facts, source), signal)[:6],
                              extra="This log shows pluto (re)loading and then no connection being added, so the "
                                    "responder had none to match the initiator with: the connection did not load.")
                continue
            if loaded and known and wanted and all(v != wanted for vs in loaded.values() for v in vs):
                have = sorted({v for vs in loaded.values() for v in vs})
                yield finding("ike-version-mismatch", names[0] if len(names) == 1 else None, lines_of(signal),
                              extra=f"The initiator spoke {wanted}; this responder's connections accept only "
                                    f"{' and '.join(have)}.")
            else:
                yield finding("no-matching-connection", names[0] if len(names) == 1 else None, lines_of(signal))


def _restart_signal(facts: Facts, source: str):
    unnamed = facts.conns.get("")
    for kind in ("banner", "secrets_loaded"):
        for s in (unnamed.all(kind) if unnamed else []):
            if source in s.sources:
                return s
    return None


def _restarted(facts: Facts, source: str) -> bool:
    """Does this source show pluto starting (or re-reading its configuration) before the failure?"""
    return _restart_signal(facts, source) is not None


def _versions_loaded(facts: Facts, source: str) -> dict[str, set[str]]:
    """Connection name -> IKE versions pluto reported adding, as logged in one source."""
    loaded: dict[str, set[str]] = {}
    for c in facts.conns.values():
        for s in c.all("conn_added"):
            if source in s.sources and c.name:
                loaded.setdefault(c.name, set()).add(s.qualifier)
    return loaded
