"""Turn one pluto message (envelope already stripped) into a :class:`LogEvent`.

Pluto's wording differs between Libreswan 3.x, 4.x and 5.x (see
/work/shared/reference/pluto-wording.md, read from pluto's sources per release). The
patterns below are the project's own, written to cover each version's form of a message;
the version each alternative comes from is noted beside it.

Most lines of a plutodebug=all log are debug lines and almost every non-debug line is
routine, so a single keyword regex decides first whether a line can be an event at all; only
those lines pay for the detailed patterns.
"""
from __future__ import annotations

import re
from typing import Callable

from ..model import LogEvent

# --- the object prefix: '"conn"[1] 192.0.2.2 #15: ', '"conn": ', 'packet from 192.0.2.2:500: '
_PREFIX = re.compile(
    r'(?P<error>ERROR: )?'
    r'(?:"(?P<conn>[^"]*)"(?P<inst>(?:\[\d+\])*)(?: (?P<peer>[^\s#"][^\s]*?))?(?: #(?P<serial>\d+))?: '
    r"|(?:packet|connection) from (?P<from>\S+?): )?"
)

# Any line that could be an event contains one of these (a cheap first filter).
_KEYWORDS = re.compile(
    r"retransmi|timeout exceeded|max number of retransmissions|initiating|established|"
    r"notification|NO_PROPOSAL|TS_UNACCEPTABLE|AUTHENTICATION_FAILED|INVALID_|no local proposal|"
    r"no acceptable|Traffic Selector|authentication|AUTH mismatch|Signature|[Cc]ertificate|X509|"
    r"Hash Payload|mismatch of preshared|no preshared key|no PSK|private key|public key|"
    r"asynchronous network error|no suitable connection|no connection|failed to add|netlink|"
    r"hit fail|DPD|liveness|declaring peer dead|IKEv1|ikev1|Starting Pluto|sent |processing |"
    r"cannot identify ourselves|could not route|cannot route|NAT-Traversal: Result|NATD=|ESPinUDP|"
    r"ESPinTCP|fragment|encountered fatal error|rejected|cannot respond|added connection|"
    r"deleting|STATE_|_I1|_I2|_I3|_R1|_R2|IKE SA|Child SA|ISAKMP SA|IPsec SA|TCP|NSS: |\d:(?:IKE|ESP|AH)=|"
    r"chosen from remote proposals|added (?:IKEv1|IKEv2) connection|adding (?:UDP|TCP) interface|TCP_ULP|reply",
)

# Pluto state names across versions -> one stage name (pluto-wording.md §1.4).
_STATE_ALIASES = {
    "PARENT_I1": "IKE_SA_INIT_I", "V2_PARENT_I1": "IKE_SA_INIT_I",
    "PARENT_I2": "IKE_AUTH_I", "V2_PARENT_I2": "IKE_AUTH_I",
    "PARENT_R1": "IKE_SA_INIT_R", "V2_PARENT_R1": "IKE_SA_INIT_R",
    "PARENT_R2": "ESTABLISHED_IKE_SA", "PARENT_I3": "ESTABLISHED_IKE_SA",
    "V2_ESTABLISHED_IKE_SA": "ESTABLISHED_IKE_SA", "V2_IKE_AUTH_CHILD_I0": "IKE_AUTH_I",
    "V2_ESTABLISHED_CHILD_SA": "ESTABLISHED_CHILD_SA", "V2_IPSEC_I": "ESTABLISHED_CHILD_SA",
    "V2_IPSEC_R": "ESTABLISHED_CHILD_SA",
    "V2_REKEY_IKE_I": "CREATE_CHILD_SA_I", "V2_REKEY_CHILD_I": "CREATE_CHILD_SA_I",
    "V2_NEW_CHILD_I": "CREATE_CHILD_SA_I", "V2_CREATE_I": "CREATE_CHILD_SA_I",
    "V2_REKEY_IKE_I0": "CREATE_CHILD_SA_I", "V2_REKEY_CHILD_I0": "CREATE_CHILD_SA_I",
    "V2_NEW_CHILD_I0": "CREATE_CHILD_SA_I", "V2_NEW_CHILD_I1": "CREATE_CHILD_SA_I",
    "V2_REKEY_IKE_I1": "CREATE_CHILD_SA_I", "V2_REKEY_CHILD_I1": "CREATE_CHILD_SA_I",
}
# 5.4 "retransmitting <story>" names the exchange instead of the state.
_STORY_STAGE = {"IKE_SA_INIT": "IKE_SA_INIT_I", "IKE_AUTH": "IKE_AUTH_I", "new Child SA": "CREATE_CHILD_SA_I",
                "rekey IKE SA": "CREATE_CHILD_SA_I", "rekey Child SA": "CREATE_CHILD_SA_I",
                "CREATE_CHILD_SA": "CREATE_CHILD_SA_I", "INFORMATIONAL": "ESTABLISHED_IKE_SA"}


def normalize_state(name: str | None) -> str | None:
    """One stage name for every version's spelling of a state.

    >>> normalize_state("STATE_V2_PARENT_I2"), normalize_state("STATE_MAIN_I3"), normalize_state("IKE_AUTH_I")
    ('IKE_AUTH_I', 'MAIN_I3', 'IKE_AUTH_I')
    """
    if not name:
        return None
    bare = name[6:] if name.startswith("STATE_") else name
    return _STATE_ALIASES.get(bare, bare)


def normalize_notify(name: str) -> str:
    """'v2N_NO_PROPOSAL_CHOSEN' (3.x long enum names) -> 'NO_PROPOSAL_CHOSEN'."""
    for prefix in ("v2N_", "v1N_", "ISAKMP_N_", "N_"):
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


_NOTIFY = r"(?P<notify>(?:v2N_|v1N_)?[A-Z][A-Z0-9_]{3,})"

# (kind, pattern) in priority order; the first that matches wins. Named groups fill the event:
# state, exchange, notify, detail.
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [(k, re.compile(p)) for k, p in [
    # -- retransmissions and timeouts (§2.1) --
    ("retransmit", r"(?P<state>[A-Z][A-Z0-9_]+): retransmission; will wait"),            # 3.x-5.3, 5.4 IKEv1
    ("retransmit", r"retransmitting (?P<story>.+?) (?:request|response); will wait"),    # 5.4 IKEv2
    ("timeout", r"(?P<state>[A-Z][A-Z0-9_]+): (?:max number of retransmissions \(\d+\) reached after [\d.]+ seconds?"
                r"|[\d.]+ seconds? timeout exceeded after \d+ retransmits)\.?\s*(?P<detail>.*)"),
    # -- dead peer detection (§2.8) --
    ("dpd", r"(?P<detail>(?:DPD|liveness) action - .*|liveness_check - peer .* has not responded.*"
            r"|DPD: No response from peer - declaring peer dead)"),
    # -- INVALID_KE (§2.6), before the generic notify patterns --
    ("invalid_ke", r"(?P<detail>(?:[Rr]eceived|[Dd]iscarding) unauthenticated INVALID_KE_PAYLOAD response.*"
                   r"|initiator guessed wrong keying material group.*)"),
    # -- what the peer told us (§2.2-2.4) --
    ("notify_received", r"IKE SA authentication request rejected by peer: " + _NOTIFY),
    ("notify_received", r"IKE SA authentication failed, incomplete IKE_AUTH response contains the Child SA error "
                        r"notification " + _NOTIFY),
    ("notify_received", r"(?:dropping )?unexpected (?P<exchange>\S+) message containing " + _NOTIFY + " notification"),
    ("notify_received", r"ignoring (?P<exchange>\S+) response containing " + _NOTIFY + " notification"),
    ("notify_received", r"(?P<state>\S+): received unauthenticated " + _NOTIFY + r" - ignored"),
    ("notify_received", r"(?P<exchange>IKE_AUTH|CREATE_CHILD_SA) response contained the error notification " + _NOTIFY),
    ("notify_received", r"(?P<exchange>IKE_AUTH|CREATE_CHILD_SA) response rejected Child SA with " + _NOTIFY),
    ("notify_received", r"response for Child SA #\d+ was rejected with " + _NOTIFY),
    ("notify_received", r"(?P<exchange>CREATE_CHILD_SA|\S+) failed with error notification " + _NOTIFY),
    ("notify_received", r"state transition '(?P<detail>[^']*)' failed with " + _NOTIFY),
    ("notify_received", r"ignoring (?:unsecured |secured )?informational payload " + _NOTIFY),
    ("notify_received", r"received and ignored notification payload: " + _NOTIFY),
    ("notify_received", r"received (?:v2 |IKEv2 )?(?:unauthenticated )?(?:notification|Notify Payload) " + _NOTIFY),
    # -- what we told the peer --
    ("notify_sent", r"responding to (?P<exchange>\S+) (?:\(\d+\) )?(?:message|request)\b.*? with "
                    r"(?:un)?encrypted notification " + _NOTIFY),
    ("notify_sent", r"sending (?:encrypted )?notification " + _NOTIFY + r" to"),
    # -- our own proposal check failed (responder side, §2.2) --
    ("no_proposal", r"no local proposal matches remote proposals (?P<detail>.*)"),
    ("no_proposal", r"(?P<detail>no acceptable Oakley Transform)"),
    ("no_proposal", r"(?P<detail>no acceptable Proposal in IPsec SA)"),
    ("proposal_list", r"\s+(?P<detail>\d+:(?:IKE|ESP|AH)=\S+)"),                          # 4.x/5.x at conn add
    ("proposal_chosen", r"proposal (?P<detail>\S+) chosen from remote proposals"),
    # -- traffic selectors (§2.3) --
    ("ts_mismatch", r"(?P<detail>[Nn]o IKEv2 connection found with compatible Traffic Selectors.*"
                    r"|Child SA's Traffic Selector .*(?:does not match|do not match|does not fit).*"
                    r"|cannot respond to IPsec SA request because no connection is known for.*"
                    r"|rejecting responder TSi/TSr Traffic Selector.*"
                    r"|[Rr]eceived TSi payload does not contain.*|rekey: received Traffic Selectors does not contain.*)"),
    # -- secrets / keys not found (before the generic authentication failures) --
    ("secret_missing", r"(?P<detail>authentication failed: no PSK found for.*|Can't authenticate: no preshared key found.*"
                       r"|unable to locate my private key.*|no (?:RSA|ECDSA) public key known for.*"
                       r"|private key matching .* not found.*|no suitable secret.*|(?:no|could not find) (?:PSK|secret|private key).*"
                       r"|failed to find .*(?:private key|secret).*)"),
    # -- IKEv1 PSK mismatch (§2.4) --
    ("hash_mismatch", r"(?P<detail>received Hash Payload does not match computed value.*"
                      r"|probable authentication failure \(mismatch of preshared secrets\?\).*)"),
    # -- our check of the peer's authentication failed (§2.4, §2.10) --
    ("auth_failed", r"(?P<detail>authentication failed:.*|AUTH mismatch:.*|PSK Authentication failed.*"
                    r"|Digital Signature authentication using .* failed.*|RSA authentication of .* failed.*"
                    r"|.*Signature check .* failed.*|X509: .*(?:rejected|bogus|failed|does not match).*"
                    r"|NSS: ERROR: .*certificate.*invalid.*|Certificate .* failed .*verification.*"
                    r"|certificate revoked.*|.*[Cc]ertificate .* (?:not trusted|has expired|issuer).*"
                    r"|no certificate matched.*|peer attempted PSK authentication but we want.*)"),
    # -- ICMP (§2.5) --
    ("icmp_error", r"ERROR: asynchronous network error report on (?P<iface>\S+) \([^)]*\)(?: for message to [^,]*)?, "
                   r"complainant (?P<complainant>\S+): (?P<detail>[^\[]+?) \[errno (?P<errno>\d+), origin (?P<origin>[^\]]*)\]"),
    # -- nobody on the peer's side wants this IKE SA (§2.7) --
    ("no_connection", r"(?P<detail>.*no suitable connection found with (?P<version>IKEv2) policy.*"
                      r"|initial (?:Main|Aggressive) Mode (?:message|packet).* but no connection has been authorized.*)"),
    # -- IKEv1 refused by policy (ikev1-policy=drop|reject) --
    ("ikev1_refused", r"(?P<detail>.*IKEv1 .*(?:disabled|not allowed|dropped|rejected|ignored).*"
                      r"|.*ikev1-policy.*|.*does not allow IKEv1.*)"),
    # -- the connection is not there (§2.7) --
    ("unknown_conn", r'no connection (?:or alias )?named "(?P<name>[^"]*)"'),
    ("add_failed", r"(?P<detail>failed to add connection.*|.*connection .* not (?:added|loaded).*)"),
    ("orient_failed", r"(?P<detail>we cannot identify ourselves with either end of this connection.*"
                      r"|cannot initiate connection without knowing peer IP address.*|could not route.*"
                      r"|cannot route .*)"),
    # -- TCP encapsulation (RFC 8229) needs the kernel's espintcp ULP --
    ("tcp_encap_failed", r"(?P<detail>.*(?:setsockopt\(.*TCP_ULP.*failed|TCP_ULP.*espintcp.*failed).*)"),
    # -- what pluto loaded: connection versions and its interfaces (used to explain silence) --
    ("conn_added", r"added (?P<detail>IKEv1|IKEv2) connection"),
    ("iface_added", r"adding (?:UDP|TCP) interface (?P<detail>\S+ \S+)"),
    # -- the kernel said no (§2.12) --
    ("netlink_error", r"(?P<detail>.*netlink response for .*|.*setup_half_ipsec_sa\(\) hit fail.*"
                      r"|.*(?:install|add|setup)[a-z_]* (?:SA|IPsec SA|policy|inbound|outbound).* failed.*"
                      r"|.*kernel (?:refused|failed).*)"),
    # -- success --
    ("child_established", r"(?P<detail>.*(?:IPsec SA established|established Child SA|negotiated connection \[).*)"),
    ("ike_established", r"(?P<detail>.*(?:established IKE SA|IKE SA established|ISAKMP SA established"
                        r"|PARENT SA established).*)"),
    # -- progress (sent/received exchanges): used for the stage reached and the ladder --
    ("initiate", r"initiating (?P<detail>IKEv2|IKEv1|Main Mode|Aggressive Mode|Quick Mode|.*)"),
    ("state", r"(?P<state>STATE_[A-Z0-9_]+|IKE_SA_INIT_[IR]|IKE_AUTH_[IR]|[A-Z_]+_[IR]\d?): (?P<detail>sent .*|.*)"),
    ("sent", r"sent (?P<exchange>[A-Z_]+) (?P<detail>request|response|reply)(?: to (?P<to>\S+))?"),
    ("processing", r"processing (?:decrypted )?(?P<exchange>[A-Z_]+) (?P<detail>request|response)(?: from (?P<to>\S+))?"),
    ("nat_detected", r"(?P<detail>NAT-Traversal: Result using .*: (?:I am behind NAT|peer behind NAT|both are NATed).*)"),
    ("fragmentation", r"(?P<detail>.*fragment.*)"),
    ("fatal", r"(?P<detail>encountered fatal error in state .*)"),
    ("banner", r"Starting Pluto \(Libreswan Version (?P<detail>[^\s)]+)"),
]]

# Notifications that are about the IKE SA (IKE_SA_INIT) vs the Child SA.
_PORT_4500 = re.compile(r":(?:UDP/)?4500\b|NATD=|ESPinUDP|ESPinTCP|NAT-T")


def parse_message(body: str, *, source: str, line: int, text: str, time: str | None) -> LogEvent | None:
    """The event this pluto message represents, or None for routine lines.

    >>> e = parse_message('"west" #1: STATE_V2_PARENT_I1: retransmission; will wait 0.5 seconds for response',
    ...                   source="west.log", line=7, text="...", time=None)
    >>> e.kind, e.conn, e.serial, e.state
    ('retransmit', 'west', 1, 'IKE_SA_INIT_I')
    """
    if body.startswith("|") or body.startswith("] "):
        return _debug_event(body, source=source, line=line, text=text, time=time)
    if not _KEYWORDS.search(body):
        return None
    m = _PREFIX.match(body)
    msg = body[m.end():]
    error = bool(m.group("error"))
    if msg.startswith("ERROR: "):
        error = True
    for kind, pattern in _PATTERNS:
        hit = pattern.search(msg) if kind in _SEARCHED else pattern.match(msg)
        if hit:
            return _build(kind, hit, m, msg, source=source, line=line, text=text, time=time, error=error)
    return None


# Patterns whose text may be preceded by other words ("ERROR: " placements, 3.x prefixes).
_SEARCHED = frozenset({"icmp_error", "netlink_error", "notify_received", "notify_sent", "auth_failed",
                       "hash_mismatch", "secret_missing", "no_connection", "ikev1_refused", "unknown_conn",
                       "add_failed", "orient_failed", "child_established", "ike_established", "dpd",
                       "invalid_ke", "no_proposal", "ts_mismatch", "local_proposals", "timeout", "retransmit",
                       "fatal", "banner", "fragmentation", "nat_detected", "tcp_encap_failed"})


def _build(kind: str, hit: re.Match[str], prefix: re.Match[str], msg: str, *, source: str, line: int, text: str,
           time: str | None, error: bool) -> LogEvent | None:
    groups = hit.groupdict()
    state = normalize_state(groups.get("state"))
    if kind == "retransmit" and groups.get("story"):
        story = groups["story"]
        state = _STORY_STAGE.get(story, story.replace(" ", "_").upper() + "_I")
    notify = groups.get("notify")
    detail = groups.get("detail") or groups.get("name")
    exchange = groups.get("exchange")
    if notify:
        notify = normalize_notify(notify)
        exchange = _notify_exchange(exchange, state, msg)
    if kind == "icmp_error":
        detail = f"{groups['detail'].strip()} (errno {groups['errno']})"
    elif kind == "no_proposal":
        # Remote proposals for an IKE SA say "IKE:"; for a Child SA "ESP:"/"AH:"; IKEv1 wording names the phase.
        exchange = "IKE" if ("IKE:" in msg or "Oakley" in msg) else "CHILD"
    elif kind == "no_connection":
        exchange = "IKEv2" if groups.get("version") else "IKEv1"
    elif kind == "sent":
        detail = f"{exchange} {detail}" + (f" to {groups['to']}" if groups.get("to") else "")
        if _PORT_4500.search(msg):
            detail += " [port 4500]"
    elif kind == "processing":
        detail = f"{exchange} {detail}"
    elif kind == "state" and _PORT_4500.search(msg):
        detail = (detail or "") + " [port 4500]"
    elif kind == "fragmentation" and "fragment" not in msg.lower():
        return None
    conn = prefix.group("conn")
    if kind == "unknown_conn":
        conn = groups.get("name") or conn
    serial = prefix.group("serial")
    return LogEvent(
        kind=kind,
        source=source,
        line=line,
        text=text,
        time=time,
        conn=conn,
        instance=prefix.group("inst") or None,
        peer=prefix.group("peer") or prefix.group("from"),
        serial=int(serial) if serial else None,
        state=state,
        exchange=exchange,
        notify=notify,
        direction="received" if kind == "notify_received" else "sent" if kind == "notify_sent" else None,
        detail=detail.strip() if detail else None,
    )


def _notify_exchange(exchange: str | None, state: str | None, msg: str) -> str | None:
    """Which exchange a notification belongs to: IKE_SA_INIT (the IKE SA), IKE_AUTH, CREATE_CHILD_SA ..."""
    if exchange:
        exchange = exchange.removeprefix("ISAKMP_v2_")
        return exchange if exchange in ("IKE_SA_INIT", "IKE_AUTH", "CREATE_CHILD_SA", "INFORMATIONAL") else None
    if state in ("IKE_SA_INIT_I", "IKE_SA_INIT_R"):
        return "IKE_SA_INIT"
    if state in ("IKE_AUTH_I", "IKE_AUTH_R") or "authentication request rejected" in msg \
            or "incomplete IKE_AUTH response" in msg:
        return "IKE_AUTH"
    if "Child SA #" in msg:
        return "IKE_AUTH"
    return None


# Debug lines worth an event: NAT detection results are debug-only since 3.x (§2.9).
_DEBUG_NAT = re.compile(r"NAT-Traversal: Result using .*?: (?P<detail>I am behind NAT|peer behind NAT|both are NATed)"
                        r"|(?P<detail2>NAT_TRAVERSAL_NAT_BHND_(?:ME|PEER))")


def _debug_event(body: str, *, source: str, line: int, text: str, time: str | None) -> LogEvent | None:
    if "NAT" not in body:
        return None
    m = _DEBUG_NAT.search(body)
    if not m:
        return None
    return LogEvent(kind="nat_detected", source=source, line=line, text=text, time=time,
                    detail=m.group("detail") or m.group("detail2"))


EventParser = Callable[..., LogEvent | None]
