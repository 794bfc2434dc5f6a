"""Turn one pluto message (envelope already stripped) into a :class:`LogEvent`.

Pluto's wording differs between Libreswan 3.x, 4.x and 5.x (read from pluto's sources per
release; samples of each in fixtures/versions/). The
patterns below are the project's own, written to cover each version's form of a message;
the version each alternative comes from is noted beside it.

Most lines of a plutodebug=all log are debug lines and almost every non-debug line is
routine, so a single keyword regex decides first whether a line can be an event at all; only
those lines pay for the detailed patterns.
"""
from __future__ import annotations

import re
import sys
from typing import Callable, Optional

from ..model import LogEvent
from ..trie import trie_pattern
from . import catalogue

# --- the object prefix: '"conn"[1] 192.0.2.2 #15: ', '"conn": ', 'packet from 192.0.2.2:500: '
_PREFIX = re.compile(
    r'(?P<error>ERROR: )?'
    # the peer is greedy (it holds no space, so it ends where ": " or " #N: " follows; lazy costs 2x)
    r'(?:"(?P<conn>[^"]*)"(?P<inst>(?:\[\d+\])*)(?: (?P<peer>[^\s#"]\S*))?(?: #(?P<serial>\d+))?: '
    r"|(?:packet|connection) from (?P<from>\S+?): "
    r"|#(?P<serial_only>\d+): )?"  # a state without its connection name (5.x helper lines, trimmed pastes)
)


# Pluto state names across versions -> one stage name (pluto's state tables per version).
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
# (kind, needles, pattern): the pattern runs only when one of its needles (plain substrings, found
# at C speed) is in the message; the first pattern that matches wins. Named groups fill the event
# (state, exchange, notify, detail); a pattern without a detail group keeps the whole message.
# No pattern starts with ".*": under re.search that is quadratic in the line length.
_GAP = re.compile(r"\.\*\??|\.\+\?")


def _bounded(pattern: str) -> str:
    """Bound every gap between two literals ('.*', '.*?', '.+?') to MAX_GAP characters.

    Under re.search an unbounded gap followed by a literal that is absent costs time quadratic in the
    line length when the literal before it repeats (a hostile 64 KiB line of 'retransmitting ...'). A
    trailing '(?P<detail>.*)' always succeeds at once and is left alone.

    >>> _bounded(r"TCP_ULP.*failed"), _bounded(r"refused: (?P<detail>.*)")
    ('TCP_ULP.{0,300}failed', 'refused: (?P<detail>.*)')
    """
    out, pos = [], 0
    for m in _GAP.finditer(pattern):
        if pattern.startswith("(?P<detail>", max(0, m.start() - 11)) and pattern[m.end():m.end() + 1] == ")":
            continue
        lazy = "?" if m.group().endswith("?") else ""
        low = "1" if m.group().startswith(".+") else "0"
        out.append(pattern[pos:m.start()] + "." + "{" + low + f",{MAX_GAP}" + "}" + lazy)
        pos = m.end()
    return "".join(out) + pattern[pos:]


MAX_GAP = 300
# Compiled when first tried (see _pattern): a log meets a handful of these, and compiling all ~80 would
# cost more than a whole small log's analysis.
_PATTERNS: list[tuple[str, tuple[str, ...], str]] = [(k, n, _bounded(p)) for k, n, p in [
    # -- pluto itself died: an assertion, a signal, systemd or the kernel reporting it (any version) --
    ("crashed", ("ASSERTION FAILED", "pluto failure", "segfault", "code=killed", "code=dumped", "/ABRT", "/SEGV",
                 "dumped core", "core dumped", "terminated by signal", "ABORT at ", "core-dump",
                 "Segmentation fault", "result 'signal'", "ANOM_ABEND", "Core was generated by"),
     r"ASSERTION FAILED|!pluto failure!.*exited with error status \d+(?: \(signal \d+\))?"
     r"|pluto\[\w+\]: segfault|segfault at .* in (?:lib\S+|pluto)\[|code=(?:killed|dumped), status=\d+/\w+"
     r"|status=\d+/(?:ABRT|SEGV|BUS|ILL|FPE)|\(pluto\) of user \d+ dumped core|pluto.*(?:terminated by signal|core dumped)"
     r"|^ABORT at \S+:\d+"  # Openswan 2.6 passert
     r"|ANOM_ABEND .{0,200}?comm=\"pluto\""  # the audit subsystem saw pluto abort
     r"|ipsec\.service: Failed with result '(?:core-dump|signal)'|^Segmentation fault(?: \(core dumped\))?$"
     r"|^Core was generated by `\S*pluto\b"),  # gdb opening a core file of pluto (a pasted backtrace)
    # -- an internal check failed but pluto carried on (a Libreswan bug; shown with a crash if one follows) --
    ("internal_error", ("EXPECTATION FAILED",), r"EXPECTATION FAILED: (?P<detail>.*)"),
    # -- the kernel has no usable IPsec (XFRM) support: pluto gives up at start-up (3.x-5.x, Openswan) --
    ("kernel_unsupported", ("CONFIG_XFRM", "bypass policy", "no suitable kernel stack", "XFRM kernel support",
                            "init_netlink", "IP_XFRM_POLICY"),
     r"kernel was not compiled with CONFIG_XFRM|could not insert \S+ bypass policy|no suitable kernel stack found"
     r"|[Nn]o XFRM kernel support|Failed to bind bcast socket in init_netlink"
     r"|socket\(\) in init_netlink\(\): (?:Protocol not supported|Address family not supported)"
     # the kernel refuses the per-socket IPsec policy pluto sets on each interface (no XFRM user API, or
     # a 32-bit pluto on a 64-bit kernel): no interface can carry IKE
     r"|setsockopt IP_XFRM_POLICY \S+ in \S+: (?:Not supported|Operation not supported|Protocol not available)"),
    # -- pluto is not running, or could not start (whack cannot reach it; a FATAL start-up error) --
    ("daemon_down", ("not running", "is Pluto running", "pluto.ctl", "FATAL", "lock dir", "pluto_ctl"),
     r"Pluto is not running|is Pluto running\?|connect\(\) for \S*pluto\.ctl\S* failed|connect\(pluto_ctl\) failed"
     r"|^(?:pluto: )?FATAL(?: ERROR)?: |unable to create lock dir"),
    # -- the configuration file does not parse (addconn / ipsec / libipsecconf) --
    ("config_error", ("cannot load config", "syntax error"),
     r"cannot load config '[^']*': (?P<detail>.*)|\S+:\d+: syntax error"),
    # -- retransmissions and timeouts (§2.1) --
    ("retransmit", ("retransmission",), r"(?P<state>[A-Z][A-Z0-9_]+): retransmission; will wait"),   # 3.x-5.3
    ("retransmit", ("retransmitting",), r"retransmitting (?P<story>.+?) (?:request|response); will wait"),  # 5.4
    ("timeout", ("timeout exceeded", "max number of retransmissions"),
     r"(?P<state>[A-Z][A-Z0-9_]+): (?:max number of retransmissions \(\d+\) reached after [\d.]+ seconds?"
     r"|[\d.]+ seconds? timeout exceeded after \d+ retransmits)\.?\s*(?P<detail>.*)"),
    ("timeout", ("max number of retransmissions",),  # Openswan 2.6 / early 3.x: the state comes after
     r"max number of retransmissions \(\d+\) reached (?P<state>STATE_[A-Z0-9_]+)"),
    # -- dead peer detection (§2.8) --
    ("dpd", ("DPD", "liveness"), r"(?:DPD|liveness) action - |liveness_check - peer .* has not responded"
                                 r"|DPD: No response from peer - declaring peer dead"),
    # -- INVALID_KE (§2.6), before the generic notify patterns --
    ("invalid_ke", ("INVALID_KE_PAYLOAD",), r"(?:[Rr]eceived|[Dd]iscarding) unauthenticated INVALID_KE_PAYLOAD response"
                                            r"|initiator guessed wrong keying material group"),
    # -- IKEv1 XAUTH user authentication (server and client side, 3.x-5.x; PAM) --
    ("xauth_failed", ("XAUTH", "PAM: authentication"),
     r"XAUTH: User .*: Authentication Failed|XAUTH: authentication for \S+ failed|XAUTH status: FAIL"
     r"|XAUTH: unable to open password file|XAUTH (?:password|username) prompt failed"
     r"|XAUTH: aborting entire IKE Exchange|PAM: authentication of user .*FAILED|XAUTH: .*(?:[Ff]ailed|rejected)"
     r"|XAUTH: failure user"),
    # -- the peer's identity is not the one the conn expects (IKEv1 wording names the version) --
    ("id_mismatch", ("peer to have ID", "mismatched on first", "does not match peer ID", "matching peer id",
                     "not specified on the certificate", "does not match expected"),
     r"we require (?:(?P<version>IKEv[12]) )?peer to have ID '[^']*', but peer declares '[^']*'"
     r"|Peer ID '[^']*' (?:mismatched on first found connection|is not specified on the certificate)"
     r"|SubjectAltName does not match peer ID|no connections matching peer id"
     r"|ID_DER_ASN1_DN '[^']*' does not match expected '"),
    ("id_mismatch", ("no suitable connection for peer",),  # Openswan 2.6 Main Mode ID check (IKEv1 only)
     r"no suitable connection for peer '"),
    # -- what the peer told us (§2.2-2.4) --
    ("notify_received", ("authentication request rejected",),
     r"IKE SA authentication request rejected(?: by peer)?: " + _NOTIFY),  # 3.25: without 'by peer'
    ("notify_received", ("incomplete IKE_AUTH",), r"IKE SA authentication failed, incomplete IKE_AUTH response "
                                                  r"contains the (?:Child SA error|status) notification " + _NOTIFY),
    ("notify_received", ("message containing",),
     r"(?:dropping )?unexpected (?P<exchange>\S+) message containing " + _NOTIFY + r"(?:\.\.\.)? notification"),
    ("notify_received", ("response containing",),
     r"ignoring (?P<exchange>\S+) response containing " + _NOTIFY + " notification"),
    ("notify_received", ("received unauthenticated",),
     r"(?P<state>\S+): received unauthenticated " + _NOTIFY + r" - ignored"),
    ("notify_received", ("contained the error notification",),
     r"(?P<exchange>IKE_AUTH|CREATE_CHILD_SA) response contained the error notification " + _NOTIFY),
    ("notify_received", ("rejected Child SA with",),
     r"(?P<exchange>IKE_AUTH|CREATE_CHILD_SA) response rejected Child SA with " + _NOTIFY),
    ("notify_received", ("was rejected with",), r"response for Child SA #\d+ was rejected with " + _NOTIFY),
    ("notify_received", ("failed with error notification",),
     r"(?P<exchange>CREATE_CHILD_SA|\S+) failed with error notification " + _NOTIFY),
    ("notify_received", ("state transition",), r"state transition '(?P<detail>[^']*)' failed with " + _NOTIFY),
    ("notify_received", ("informational payload",),
     r"ignoring (?:unsecured |secured )?informational payload,? (?:type )?" + _NOTIFY),  # 2.6: ', type N'
    ("notify_received", ("Received notify", "received notify"), r"[Rr]eceived notify(?: payload)?:? " + _NOTIFY),
    ("notify_received", ("ignored notification payload",), r"received and ignored notification payload: " + _NOTIFY),
    ("notify_received", ("received",), r"received (?:v2 |IKEv2 )?(?:unauthenticated )?(?:notification|Notify Payload) "
                                       + _NOTIFY),
    # -- what we told the peer --
    ("notify_sent", ("notification",), r"responding to (?P<exchange>\S+) (?:\(\d+\) )?(?:message|request)\b.*? with "
                                       r"(?:un)?encrypted notification " + _NOTIFY),
    ("notify_sent", ("sending",), r"sending (?:encrypted )?notification " + _NOTIFY + r" to"),
    # -- our own proposal check failed (responder side, §2.2) --
    ("no_proposal", ("no local proposal",), r"no local proposal matches remote proposals (?P<detail>.*)"),
    ("no_proposal", ("Oakley Transform",), r"Oakley Transform (?P<detail>\[[^\]]*\]) refused"),     # IKEv1 responder
    ("no_proposal", ("no acceptable Oakley",), r"no acceptable Oakley Transform"),
    ("no_proposal", ("no acceptable Proposal",), r"no acceptable Proposal in IPsec SA"),
    ("no_proposal", ("OAKLEY proposal refused", "in Oakley Transform"),
     r"OAKLEY proposal refused: (?P<detail>.*)|missing mandatory attribute\(s\) .* in Oakley Transform"),
    ("no_proposal", ("IPsec Transform refused", "transform rejected", "we require PFS", "remote ESP/AH proposals"),
     r"(?:ESP|AH) IPsec Transform refused|IPsec Transform \[.*\] refused|IPsec \w+ transform rejected"
     r"|we require PFS but Quick I1 SA specifies no"
     r"|responder matching remote ESP/AH proposals failed"),
    ("proposal_list", (":IKE=", ":ESP=", ":AH="), r"^\s+(?P<detail>\d+:(?:IKE|ESP|AH)=\S+)"),   # 4.x/5.x at conn add
    ("proposal_chosen", ("chosen from remote",), r"proposal (?P<detail>\S+) chosen from remote proposals"),
    # -- traffic selectors (§2.3) --
    ("ts_mismatch", ("Traffic Selector", "no connection is known", "TSi payload", "Traffic Selectors"),
     r"[Nn]o IKEv2 connection found with compatible Traffic Selectors"
     r"|Child SA's Traffic Selector .*(?:does not match|do not match|does not fit)"
     r"|cannot respond to IPsec SA request because no connection is known for"
     r"|rejecting responder TSi/TSr Traffic Selector"
     r"|[Rr]eceived TSi payload does not contain|rekey: received Traffic Selectors does not contain"),
    # -- secrets / keys not found (before the generic authentication failures) --
    ("secret_missing", ('" line ',), r'^"[^"]*secrets[^"]*" line \d+: (?P<detail>.*)'),  # a secrets file that does not parse
    ("secret_missing", ("end of record in", "record boundary in"),
     r"(?:unexpected end of record|expected record boundary) in (?:PSK|key)"),
    ("secret_missing", ("PSK", "preshared", "PreShared", "private key", "public key", "secret", "Failed to find our"),
     r"authentication failed: no PSK found for|Can't authenticate: no preshared key found"
     r"|No matching PSK found|cannot find PSK|Failed to find our PreShared Key|private key (?:for connection )?not found"
     r"|[Pp]rivate key not found|No \S+ private key found|Can't find the (?:certificate or )?private key"
     r"|Failed to find our \w+ key"
     r"|unable to locate my private key|no (?:RSA|ECDSA) public key known for"
     r"|private key matching .* not found|no suitable secret|(?:\bno|could not find) (?:PSK|secret|private key)"
     r"|failed to find .*(?:private key|secret)"),
    # -- IKEv1 PSK mismatch (§2.4) --
    ("hash_mismatch", ("Hash Payload", "mismatch of preshared"),
     r"received Hash Payload does not match computed value"
     r"|probable authentication failure \(mismatch of preshared secrets\?\)"),
    # -- our check of the peer's authentication failed (§2.4, §2.10) --
    ("auth_failed", ("uthentication", "AUTH mismatch", "Signature", "X509", "ertificate", "NSS: ERROR",
                     "NSS: end certificate", "CA certificate", "authenticator", "RSA-SHA1", "local policy requires",
                     "peer cert", "subjectAltName", "crl-strict"),
     r"authentication failed:|AUTH mismatch:|PSK Authentication failed"
     r"|Digital Signature authentication using .* failed|RSA authentication of .* failed"
     r"|Signature check .* failed|X509: .*(?:rejected|bogus|failed|does not match)"
     r"|NSS: ERROR: .*certificate.*invalid|Certificate .* failed .*verification"
     r"|certificate revoked|[Cc]ertificate .* (?:not trusted|has expired|issuer)"
     r"|no certificate matched|peer attempted PSK authentication but we want"
     r"|NSS: end certificate invalid|cannot use peer CA certificate|certificate '[^']*' is expired or not yet valid"
     r"|failed to match authenticator|legacy RSA-SHA1 is not allowed|local policy requires \S+ but peer sent no"
     r"|rejecting peer cert with key size|subjectAltName extension does not match"
     r"|certificate payload rejected; crl-strict"),
    # -- IKEv1: one transform's attribute refused (the next transform may be accepted); after the secret
    #    and authentication patterns, which end in the same 'Attribute OAKLEY_...' suffix --
    ("no_proposal", ("Attribute OAKLEY_",),  # IKEv1: one transform's attribute refused (the next may be accepted)
     r"(?P<detail>.{0,200}?\.\s+Attribute OAKLEY_\w+)"),
    # -- ICMP (§2.5) --
    ("icmp_error", ("asynchronous network error",),
     r"ERROR: asynchronous network error report on (?P<iface>\S+) \([^)]*\)(?: for message to [^,]*)?, "
     r"complainant (?P<complainant>\S+): (?P<detail>[^\[]+?) \[errno (?P<errno>\d+), origin (?P<origin>[^\]]*)\]"),
    # -- nobody on the peer's side wants this IKE SA (§2.7) --
    ("no_connection", ("no suitable connection", "connection has been authorized"),
     r"no suitable connection found with (?P<version>IKEv2) policy"
     r"|initial (?:Main|Aggressive) Mode (?:message|packet).* but no (?:matching )?connection has been authorized"),
    ("no_connection", ("IKEv2 not authorized",), r"connection refused, (?P<version>IKEv2) not authorized"),  # 2.6
    # -- a responder answering the same first message again and again (its answers do not get back) --
    ("duplicate_request", ("duplicate", "discarding initial packet"),
     r"received duplicate .* retransmitting response|has duplicate Message ID .*retransmitting response"
     r"|retransmitting in response to duplicate|discarding initial packet; already"
     r"|discarding duplicate packet"),
    ("responding", ("responding to Main Mode", "responding to Aggressive Mode"),
     r"responding to (?P<detail>Main|Aggressive) Mode"),
    # -- IKEv1 refused by policy (ikev1-policy=drop|reject) --
    ("ikev1_refused", ("IKEv1",), r"IKEv1 (?:packet|message|connection|support).*(?:disabled|not allowed|dropped"
                                  r"|rejected|ignored)|(?:rejecting|dropping) IKEv1|does not allow IKEv1"),
    # -- the connection is not there (§2.7) --
    ("unknown_conn", ("named",), r'no connection (?:or alias )?named "(?P<name>[^"]*)"'),
    ("add_failed", ("failed to add", "ailed to add", "not found in NSS", "not found in the NSS"),
     r"[Ff]ailed to add (?:IKEv[12] )?connection|certificate .*not found in (?:the )?NSS (?:DB|database)"),
    # -- neither end of the conn is an address of this host --
    ("unoriented", ("identify ourselves",), r"[Ww]e cannot identify ourselves with either end of this connection"),
    ("orient_failed", ("without knowing peer", "route"),
     r"cannot initiate connection without knowing peer IP address|could not route|cannot route "),
    # -- TCP encapsulation (RFC 8229) needs the kernel's espintcp ULP --
    # 4.x "TCP_ULP ... failed"; 5.x 'TCP: socket N: setting socket option "espintcp": ... (errno 2)'
    ("tcp_encap_failed", ("TCP_ULP", "espintcp"), r"TCP_ULP.*failed|setting socket option \"espintcp\":"),
    # the responder refused IKE's TCP connection: nothing listens there (no listen-tcp=yes, other port)
    ("tcp_connect_refused", ("TCP: connect",), r"TCP: connect\(\d+\) failed: Connection refused"),
    # -- what pluto loaded: connection versions and its interfaces (used to explain silence) --
    ("conn_added", ("added IKEv",), r"^added (?P<detail>IKEv1|IKEv2) connection"),
    ("conn_added", ("added connection description",), r"^added connection description(?P<detail>)"),  # 3.x/4.x: no version
    ("secrets_loaded", ("loading secrets from",), r"^loading secrets from"),  # pluto started or re-read its secrets
    ("iface_added", ("adding ",), r"^adding (?:UDP|TCP) interface (?P<detail>\S+ \S+)"),
    # -- the kernel said no (§2.12) --
    ("netlink_error", ("netlink response", "hit fail", "kernel"),
     r"netlink response for |setup_half_ipsec_sa\(\) hit fail|kernel (?:refused|failed)"),
    # -- the responder answered IKE_AUTH without a Child SA: a 5.x responder's TEMPORARY_FAILURE,
    # e.g. after its kernel refused the SA (4.x and 5.x initiators log it this way) --
    ("child_refused", ("missing v2SA",), r"IKE_AUTH response missing v2SA, v2TSi or v2TSr"),
    # -- success --
    ("child_established", ("IPsec SA established", "established Child SA", "negotiated connection"),
     r"IPsec SA established|established Child SA|negotiated connection \["),
    ("ike_established", ("established",), r"established IKE SA|IKE SA established|ISAKMP SA established"
                                          r"|PARENT SA established"),
    # -- progress (sent/received exchanges): used for the stage reached and the ladder --
    ("initiate", ("initiating",), r"^initiating (?P<detail>IKEv2|IKEv1|Main Mode|Aggressive Mode|Quick Mode|.*)"),
    ("state", (": ",), r"^(?P<state>STATE_[A-Z0-9_]+|IKE_SA_INIT_[IR]|IKE_AUTH_[IR]|[A-Z_]+_[IR]\d?): (?P<detail>.*)"),
    ("sent", ("sent ",), r"^sent (?P<exchange>[A-Z_]+) (?P<detail>request|response|reply)(?: to (?P<to>\S+))?"),
    ("processing", ("processing ",),
     r"^processing (?:decrypted )?(?P<exchange>[A-Z_]+) (?P<detail>request|response)(?: from (?P<to>\S+))?"),
    ("nat_detected", ("NAT-Traversal: Result",),
     r"NAT-Traversal: Result using .*: (?:I am behind NAT|peer behind NAT|both are NATed)"),
    ("fragmentation", ("fragment",), r"fragment"),
    ("fatal", ("fatal error",), r"encountered fatal error in state "),
    ("banner", ("Starting Pluto",), r"Starting Pluto \(Libreswan Version (?P<detail>[^\s)]+)"),
]]

# One regex finds every needle present in a message in a single pass (longest first). A needle that
# contains another (e.g. "IPsec SA established" contains "established") implies it, so a match of the
# longer one also wakes the patterns of the shorter.
_NEEDLES = sorted({n for _, needles, _ in _PATTERNS for n in needles}, key=len, reverse=True)
_NEEDLE_RE = re.compile(trie_pattern(_NEEDLES))
_IMPLIED = {n: frozenset(m for m in _NEEDLES if m in n) for n in _NEEDLES}
_BY_NEEDLE: dict[str, list[int]] = {n: [] for n in _NEEDLES}
# Memo: the same few needle combinations recur on every line of a kind; bounded by their number.
_CANDIDATES_OF: dict[tuple[str, ...], list[int]] = {}
for _index, (_kind, _needles, _pattern) in enumerate(_PATTERNS):
    for _n in _needles:
        _BY_NEEDLE[_n].append(_index)

# Notifications that are about the IKE SA (IKE_SA_INIT) vs the Child SA.
_PORT_4500 = re.compile(r":(?:UDP/)?4500\b|NATD=|ESPinUDP|ESPinTCP|NAT-T")


def parse_message(body: str, *, source: str, line: int, text: str, time: str | None) -> LogEvent | None:
    """The event this pluto message represents, or None for routine lines.

    >>> e = parse_message('"west" #1: STATE_V2_PARENT_I1: retransmission; will wait 0.5 seconds for response',
    ...                   source="west.log", line=7, text="...", time=None)
    >>> e.kind, e.conn, e.serial, e.state
    ('retransmit', 'west', 1, 'IKE_SA_INIT_I')
    """
    fields = message_fields(body)
    return None if fields is None else event_of(fields, source, line, text, time)


# What a message says, apart from where it was read: (kind, conn, instance, peer, serial, state, exchange,
# notify, direction, detail), LogEvent's fields after source, line, text and time. The log's fast path
# remembers these per message text and makes the event from them only where it is folded.
Fields = tuple


def event_of(fields: Fields, source: str, line: int, text: str, time: str | None) -> LogEvent:
    """The event of a message's *fields* read at *line* of *source*."""
    kind, conn, instance, peer, serial, state, exchange, notify, direction, detail = fields
    return LogEvent(kind, source, line, text, time, conn, instance, peer, serial, state, exchange, notify,
                    direction, detail)


def message_fields(body: str) -> Fields | None:
    """What a pluto message (envelope already stripped) says as an event's fields, or None for routine lines.

    >>> message_fields('"west"[2] 192.0.2.2 #15: sent IKE_SA_INIT request to 192.0.2.2:500')[:5]
    ('sent', 'west', '[2]', '192.0.2.2', 15)
    >>> message_fields('"west" #15: Dead Peer Detection (RFC 3706): enabled') is None
    True
    """
    if body.startswith(_DEBUG_MARKERS):
        return _debug_fields(body)
    prefix = _PREFIX.match(body)
    msg = body[prefix.end():]
    # What a message means depends on the text after its prefix alone (the prefix only says whose it is),
    # and that text recurs: every retransmission, every state line, every peer's "sent ..." line. So its
    # meaning is worked out once and remembered (see _MEANINGS); exact, because nothing else feeds it.
    # A leading "ERROR: " (before the connection's name) is part of what the line says.
    key = "ERROR: " + msg if prefix.start(1) == 0 else msg
    meaning = _MEANINGS.get(key, _UNSEEN)
    if meaning is _UNSEEN:
        meaning = _meaning(msg, key)
        _MEANINGS.remember(key, meaning)
    if meaning is None:
        return None
    kind, state, exchange, notify, direction, detail, named = meaning
    _, conn, inst, peer, serial, sender, serial_only = prefix.groups()
    conn = named or conn
    serial = serial or serial_only
    return (kind, _intern(conn) if conn else None,  # the same few names on every line: keep one copy
            inst or None, peer or sender,
            int(serial) if serial and len(serial) <= MAX_SERIAL_DIGITS else None,  # (as _serial, inline: a hot path)
            state, exchange, notify, direction, detail)


_DEBUG_MARKERS = ("|", "] ")  # how a debug line's text begins (4.x "| ", "|] "; 5.x helpers "] ")
_intern = sys.intern


# The meaning of a message text (after its prefix): (kind, state, exchange, notify, direction, detail,
# connection it names) or None when it is no event. Bounded: emptied when full, so a log of ever-new
# texts costs a re-parse, never memory. Full is MEANINGS_MAX texts or MEANINGS_CHARS characters of them:
# 16384 texts of up to 64 KiB each would be a gigabyte (a log of long lines that never recur), while one
# long text that recurs is still worked out once.
Meaning = Optional[tuple]
MEANINGS_MAX = 16384
MEANINGS_CHARS = 4 << 20


class _Memo(dict):
    """A dict of texts that empties itself when it holds MEANINGS_MAX of them or MEANINGS_CHARS characters."""

    chars = 0

    def remember(self, key: str, value) -> None:
        if len(self) >= MEANINGS_MAX or self.chars + len(key) > MEANINGS_CHARS:
            self.clear()
        self[key] = value
        self.chars += len(key)

    def clear(self) -> None:
        super().clear()
        self.chars = 0


_MEANINGS: _Memo = _Memo()
_UNSEEN = object()


def _meaning(msg: str, said: str | None = None) -> Meaning:
    """What a message text says, whoever's it is: the first pattern (among those whose needles the text
    contains) that matches, else a trouble word in *said* (the text with a leading "ERROR: "), else nothing.

    >>> _meaning("STATE_MAIN_I1: retransmission; will wait 1 seconds for response")[:2]
    ('retransmit', 'MAIN_I1')
    >>> _meaning("added IKEv2 connection")[0], _meaning("Dead Peer Detection (RFC 3706): enabled")
    ('conn_added', None)
    """
    needles = _NEEDLE_RE.findall(msg)
    if needles:
        candidates = _CANDIDATES_OF.get(tuple(needles))
        if candidates is None:
            found: set[str] = set()
            for needle in needles:
                found |= _IMPLIED[needle]
            candidates = _CANDIDATES_OF[tuple(needles)] = sorted({i for n in found for i in _BY_NEEDLE[n]})
        for index in candidates:
            hit = (_COMPILED[index] or _pattern(index)).search(msg)
            if hit:
                return _build(_PATTERNS[index][0], hit, msg)
    return _trouble(msg, said or msg)


_COMPILED: list[Optional[re.Pattern[str]]] = [None] * len(_PATTERNS)


def _pattern(index: int) -> re.Pattern[str]:
    compiled = _COMPILED[index] = re.compile(_PATTERNS[index][2])
    return compiled


TROUBLE_SCAN = 1000  # characters of a line looked at for trouble words


def _trouble(msg: str, said: str) -> Meaning:
    """A message no pattern understands but that reads like trouble: kept as a 'trouble' event, so the
    report shows it (unrecognised-trouble) instead of dropping it, unless the catalogue ignores it."""
    msg = msg[:TROUBLE_SCAN]  # pluto's lines are short; a hostile long line must not cost quadratic time
    if not catalogue.looks_like_trouble(said[:TROUBLE_SCAN]) or catalogue.is_ignored(msg):
        return None
    return ("trouble", None, None, None, None, msg.strip()[:200] or None, None)


def _build(kind: str, hit: re.Match[str], msg: str) -> Meaning:
    groups = hit.groupdict()
    state = normalize_state(groups.get("state"))
    if kind == "retransmit" and groups.get("story"):
        story = groups["story"]
        state = _STORY_STAGE.get(story, story.replace(" ", "_").upper() + "_I")
    notify = groups.get("notify")
    detail = groups.get("detail") or groups.get("name") or (msg if "detail" not in groups else None)
    exchange = groups.get("exchange")
    if notify:
        notify = normalize_notify(notify)
        exchange = _notify_exchange(exchange, state, msg)
    if kind == "icmp_error":
        detail = f"{groups['detail'].strip()} (errno {groups['errno']})"
    elif kind == "no_proposal":
        # Remote proposals for an IKE SA say "IKE:"; for a Child SA "ESP:"/"AH:"; IKEv1 wording names the phase.
        exchange = "IKE" if ("IKE:" in msg or "oakley" in msg.lower()) else "CHILD"
    elif kind == "id_mismatch":
        exchange = groups.get("version") or ("IKEv1" if "suitable connection for peer" in msg else None)
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
    named = groups.get("name") if kind == "unknown_conn" else None
    direction = "received" if kind == "notify_received" else "sent" if kind == "notify_sent" else None
    return (kind, state, exchange, notify, direction, detail.strip() if detail else None, named)


MAX_SERIAL_DIGITS = 18  # pluto's serials are 64-bit counters; more digits is damage, not a serial


def _serial(digits: str | None) -> int | None:
    """A state serial ('#15') as a number; None when absent or too long to be one (a hostile line).

    >>> _serial("15"), _serial(None), _serial("9" * 5000)
    (15, None, None)
    """
    if not digits or len(digits) > MAX_SERIAL_DIGITS:
        return None
    return int(digits)


def _notify_exchange(exchange: str | None, state: str | None, msg: str) -> str | None:
    """Which exchange a notification belongs to: IKE_SA_INIT (the IKE SA), IKE_AUTH, CREATE_CHILD_SA ..."""
    if exchange:
        exchange = exchange.removeprefix("ISAKMP_v2_")
        return exchange if exchange in ("IKE_SA_INIT", "IKE_AUTH", "CREATE_CHILD_SA", "INFORMATIONAL") else None
    if (state or "").startswith("QUICK_") or re.search(r"\bESP\b|PROTO_IPSEC_(?:ESP|AH)|Quick Mode", msg):
        return "QUICK_MODE"  # IKEv1 phase 2: the Child SA
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


_DEBUG_PROBE = re.compile(r"netlink response for (?P<detail>.*Probe Test.*)")


def _debug_fields(body: str) -> Fields | None:
    """The few debug lines that matter: NAT detection, and 5.2+'s kernel probe (debug-only when it fails).

    >>> _debug_fields("| netlink response for Add SA Probe Test")[0]
    'netlink_error'
    """
    if "Probe Test" in body:
        m = _DEBUG_PROBE.search(body)
        return _with_detail("netlink_error", m.group("detail")) if m else None
    if "NAT" not in body:
        return None
    m = _DEBUG_NAT.search(body)
    if not m:
        return None
    return _with_detail("nat_detected", m.group("detail") or m.group("detail2"))


def _with_detail(kind: str, detail: str) -> Fields:
    """The fields of an event of *kind* that says nothing but its *detail* (no connection, no state)."""
    return (kind, None, None, None, None, None, None, None, None, detail)


EventParser = Callable[..., Optional[LogEvent]]  # a runtime alias: no "X | None" before Python 3.10
