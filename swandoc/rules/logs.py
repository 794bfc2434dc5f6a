"""Rules over pluto log events, and the knowledge each finding draws on.

Ranks order findings by how likely each is the root cause when several appear together:
a specific statement from the side that decided ("no PSK found", "netlink ... errno 38")
outranks the symptom the other side saw (TS_UNACCEPTABLE, a retransmission timeout).
"""
from __future__ import annotations

from ..facts import MAX_CONNS, OVERFLOW, ConnFacts, Facts, Signal
from ..model import EvidenceLine, Finding
from . import rule
from .proposals import ipsec_conf_line
from .knowledge import (REF_BASIC, REF_FIREWALL, REF_KERNEL, REF_LOGS, REF_MISMATCH, REF_MTU, REF_TCP, TOPICS,
                        finding, topic)

# ---------------------------------------------------------------------------------------------
# Knowledge: what each id means and what to do (the project's own words).

topic("connection-not-loaded", "error", "The connection is not loaded in pluto", "local", """
    pluto was asked about a connection it does not have: it was never added, it failed to load
    (a syntax or semantic error in its definition), or the name is misspelled.""", [
    "List what pluto has loaded: ipsec status | grep '\"NAME\"' (5.x: ipsec connectionstatus NAME)",
    "Load it and read the error, if any: ipsec auto --add NAME",
    "Check the file defining it is included from /etc/ipsec.conf (include /etc/ipsec.d/*.conf) and "
    "that the conn has auto=add or auto=start",
], REF_BASIC, 95)

topic("ikev1-disabled", "error", "IKEv1 is refused by ikev1-policy", "local", """
    One side runs with IKEv1 disabled (ikev1-policy=drop or reject in config setup; the default in
    Libreswan 5 and in RHEL's builds), so the IKEv1 connection can never start. IKEv1 is deprecated:
    the lasting fix is to move both ends to IKEv2.""", [
    "Preferred: use IKEv2 on both ends: ikev2=yes (4.x: ikev2=insist) or keyexchange=ikev2 in the conn",
    "Only if the peer cannot do IKEv2: set ikev1-policy=accept in the config setup section and restart "
    "(systemctl restart ipsec)",
], REF_MISMATCH, 92)

topic("ike-version-mismatch", "error", "The two ends speak different IKE versions", "both", """
    One end proposes IKEv2 and the other only accepts IKEv1 (or the reverse). The responder finds no
    connection for that version and drops or refuses the request; to the initiator this can look
    exactly like a firewall dropping IKE.""", [
    "Make both conns agree: ikev2=yes (IKEv2, 4.x) / keyexchange=ikev2 (5.x) on both ends, or IKEv1 "
    "on both when the peer cannot do IKEv2",
    "On the responder, confirm which version its conn accepts: ipsec status | grep -E 'policy|IKEv'",
], REF_MISMATCH, 89)

topic("ike-proposal-mismatch", "error", "No common IKE SA algorithms (IKE proposal mismatch)", "both", """
    The responder found no algorithm set in the initiator's IKE SA proposals that it accepts, and
    answered NO_PROPOSAL_CHOSEN (IKEv2 IKE_SA_INIT, or IKEv1 Main/Aggressive Mode). The ike= lines of
    the two ends share no encryption/PRF/integrity/DH combination, or a crypto policy or FIPS mode
    removed the one they had in common.""", [
    "Compare the ike= line of both ends and make them share at least one proposal, for example "
    "ike=aes_gcm256-sha2_512-dh19,aes256-sha2_256-modp2048 on both",
    "On RHEL, check the system crypto policy on both ends: update-crypto-policies --show",
    "Reload and retry: ipsec auto --add NAME && ipsec auto --up NAME",
], REF_MISMATCH, 88)

topic("child-proposal-mismatch", "error", "No common ESP/AH algorithms (Child SA proposal mismatch)", "both", """
    The IKE SA came up, but the responder accepts none of the proposals for the IPsec (Child) SA and
    answered NO_PROPOSAL_CHOSEN (IKEv2 IKE_AUTH/CREATE_CHILD_SA, IKEv1 Quick Mode). The esp= (or
    phase2alg=) lines differ, or PFS/DH settings for the Child SA disagree.""", [
    "Compare esp= (phase2alg=) on both ends and make them share one proposal, for example "
    "esp=aes_gcm256,aes256-sha2_256 on both",
    "Check PFS agreement: pfs=yes/no must match, and the DH group in esp= (e.g. esp=aes256-sha2_256-dh19)",
    "Reload and retry: ipsec auto --add NAME && ipsec auto --up NAME",
], REF_MISMATCH, 86)

topic("ts-unacceptable", "error", "Traffic selectors (subnets) do not match", "both", """
    The peer refused the Child SA's traffic selectors: the leftsubnet/rightsubnet (or
    leftprotoport/rightprotoport) of the two ends do not mirror each other, so the responder has no
    connection covering the requested networks.""", [
    "Make the subnets mirror each other: this end's leftsubnet= must equal the peer's rightsubnet= "
    "and the reverse (or use leftsubnets=/rightsubnets= on both)",
    "Check for narrowing: a peer that offers a wider subnet than yours accepts only with narrowing=yes",
    "Reload both ends (ipsec auto --add NAME) and retry",
], REF_MISMATCH, 85)

topic("authentication-failed", "error", "IKEv2 authentication failed", "both", """
    The IKE_AUTH exchange was rejected with AUTHENTICATION_FAILED. With a pre-shared key this almost
    always means the two ends have different PSKs or one end presents an ID the other does not
    expect; with certificates or raw RSA keys, the peer's key, certificate chain or ID did not
    verify.""", [
    "PSK: make the secret identical in /etc/ipsec.secrets (or /etc/ipsec.d/*.secrets) on both ends, "
    "e.g. @west @east : PSK \"same secret\", then ipsec auto --rereadsecrets",
    "IDs: leftid=/rightid= must match what the other end expects (compare the IDs in the evidence)",
    "Certificates: check the chain with certutil -L -d sql:/var/lib/ipsec/nss and that the peer's CA is "
    "trusted (certutil -M -n CA -t CT,, ...)",
], REF_MISMATCH, 87)

topic("ikev1-psk-mismatch", "error", "IKEv1 pre-shared keys differ", "both", """
    In IKEv1 the first encrypted message is protected with a key derived from the PSK. When the two
    PSKs differ the peer cannot read it: one side reports a hash mismatch or a malformed payload
    ("probable authentication failure"), the other retransmits in Main Mode I3 / Aggressive Mode
    and finally gives up.""", [
    "Put the same PSK for this peer in ipsec.secrets on both ends, then ipsec auto --rereadsecrets",
    "Check that the IDs in the secrets line match the conn's leftid/rightid (or the IP addresses)",
    "Consider moving to IKEv2, which reports AUTHENTICATION_FAILED explicitly",
], REF_MISMATCH, 87)

topic("secret-not-found", "error", "No secret or key found for this ID pair", "local", """
    pluto could not find a pre-shared key, private key or peer public key for the IDs in use: the
    ipsec.secrets entry is missing, names different IDs than the conn's leftid/rightid, or the
    private key / certificate is not in the NSS database.""", [
    "Check that an entry matches both IDs exactly: @left-id @right-id : PSK \"...\" (or the IP "
    "addresses when no leftid/rightid is set)",
    "Reload secrets: ipsec auto --rereadsecrets (and ipsec secrets on 5.x)",
    "For RSA/certificates: certutil -K -d sql:/var/lib/ipsec/nss lists the private keys pluto can use",
], REF_MISMATCH, 93)

topic("large-packets-dropped", "error", "IKE_AUTH is lost on the path (large packets dropped)", "path", """
    IKE_SA_INIT was answered, so the peer is up and UDP 500 passes, but the much larger IKE_AUTH
    message (certificates, many proposals) never gets an answer. Something on the path drops large
    UDP packets or IP fragments: an MTU problem or a firewall dropping fragments.""", [
    "Enable IKEv2 fragmentation on both ends: fragmentation=yes in the conn (the default; make sure it "
    "is not set to no)",
    "Find the path MTU: ping -M do -s 1472 PEER and lower the size until it passes",
    "Make firewalls on the path pass IP fragments and UDP 500/4500 of any size",
    "Lower the tunnel MTU if traffic inside the tunnel also stalls: mtu=1400 in the conn",
], REF_MTU, 80)

topic("ike-no-response", "error", "The peer never answers IKE", "path", """
    The first IKE message was sent and retransmitted and nothing came back. Most often a firewall
    (on this host, on the path, or on the peer) drops UDP 500, the peer is down or the address is
    wrong. A peer configured for the other IKE version can also stay silent, which looks the same.""", [
    "Check the peer address in right= and that it is reachable: ping PEER",
    "Capture on both ends to see where packets stop: tcpdump -i IFACE -n esp or udp port 500 or "
    "udp port 4500 or tcp port 4500",
    "Open IKE on every firewall in between and on the peer: UDP 500 and 4500 (and ESP, protocol 50), "
    "e.g. firewall-cmd --add-service=ipsec --permanent && firewall-cmd --reload",
    "Make sure pluto runs on the peer and the conn is loaded there; confirm both ends use the same IKE "
    "version",
], REF_FIREWALL, 70)

topic("peer-unreachable", "error", "The peer's host answers IKE with ICMP errors", "peer", """
    IKE packets were answered with ICMP errors: "connection refused" (port unreachable) means the
    peer host is up but nothing listens on the IKE port, so pluto is not running there or listens on
    another address; "no route to host"/"network unreachable" means the path or address is wrong.""", [
    "On the peer: systemctl status ipsec, and ss -ulnp | grep -E ':(500|4500)' to see pluto listening",
    "Check the peer address in right= and the routing toward it: ip route get PEER",
    "If a firewall rejects (not drops) UDP 500/4500 on the peer, open it there",
], REF_MISMATCH, 84)

topic("kernel-sa-install-failed", "critical", "The kernel refused to install the IPsec SA", "local", """
    IKE negotiated the SA, but when pluto handed it to the kernel over netlink (XFRM), the kernel
    refused. The tunnel cannot carry traffic. The error number says why: missing kernel support
    for the algorithm or ESP itself (errno 2, 38, 93), a bad parameter (22), or a leftover SA (17).
    A responder that cannot install its SA answers the initiator with a Child SA error
    (often TS_UNACCEPTABLE), which is misleading on the initiator's side.""", [
    "Check kernel support for ESP and the negotiated algorithms: lsmod | grep -E 'esp4|xfrm'; "
    "modprobe esp4 esp6 xfrm_user; grep -A2 -E 'gcm|cbc' /proc/crypto",
    "Look at the XFRM error counters: cat /proc/net/xfrm_stat (any non-zero value is a problem)",
    "Check for SAs or policies left behind: ip xfrm state; ip xfrm policy",
    "In containers the host kernel must provide the xfrm/esp modules; load them on the host",
], REF_KERNEL, 90)

topic("dpd-peer-dead", "warning", "Dead peer detection declared the peer gone", "peer", """
    The tunnel was up, then the peer stopped answering liveness/DPD probes and pluto acted on it
    (restart, hold or clear). The peer rebooted, its IPsec restarted, or the path broke (often a NAT
    mapping that expired).""", [
    "Check the peer's uptime and logs around the time of the DPD action",
    "Behind NAT, keep mappings alive: nat-keepalive=yes (default) and a shorter keep-alive period "
    "(keep-alive=20 in config setup)",
    "Tune detection: dpddelay=/dpdtimeout= (4.x) or dpddelay= with retransmit-timeout (5.x)",
], REF_LOGS, 60)

topic("tcp-encap-unsupported", "error", "The kernel cannot do IKE/ESP over TCP (no espintcp)", "local", """
    The connection uses TCP encapsulation (enable-tcp= / listen-tcp=, RFC 8229), but setting the espintcp
    TCP upper-layer protocol on the socket failed: this kernel lacks espintcp support (CONFIG_INET_ESPINTCP,
    module espintcp), so no IKE or ESP can flow over TCP.""", [
    "Load the module if the kernel has it: modprobe espintcp (and esp4/esp6)",
    "Otherwise use a kernel built with CONFIG_INET_ESPINTCP=y, or fall back to UDP: enable-tcp=fallback "
    "(try UDP first) or enable-tcp=no",
], REF_TCP, 91)

topic("no-matching-connection", "error", "The responder has no connection for this peer", "peer", """
    The responder received the initiator's first message but none of its loaded connections accepts it:
    the peer's address, IKE version or authentication method (authby=) matches no conn there.""", [
    "On the responder, compare its conn with the initiator's: right= must cover the initiator's address "
    "(or %any), and authby= and the IKE version (ikev2=) must agree",
    "Check the conn is loaded on the responder: ipsec status | grep NAME",
], REF_MISMATCH, 83)

topic("connections-pooled", "info", "More connections than swandoc tracks one by one", "local", f"""
    The input names more than {MAX_CONNS} different connections. To keep memory bounded, events of the
    connections beyond the first {MAX_CONNS} were pooled under "{OVERFLOW}": findings there are real, but
    not attributed to one connection.""", [
    "Look at one connection at a time: swandoc analyze --conn NAME ...",
], REF_LOGS, 4)

topic("conn-not-in-input", "warning", "The connection asked for does not appear in the input", "local", """
    swandoc was asked to look at one connection (--conn), but no line of the input names it, so there is
    nothing to diagnose for it.""", [
    "Check the name against the connections the input does name (listed here), or drop --conn",
], REF_LOGS, 6)

topic("tunnel-up", "info", "The tunnel is up", "both", """
    The IKE SA and an IPsec (Child) SA were established and nothing after that points to a
    failure.""", [
    "Confirm traffic flows: ipsec trafficstatus shows inBytes/outBytes growing",
], REF_BASIC, 5)

topic("unparsed-lines", "info", "Some input lines could not be parsed", "local", """
    These lines are not in any pluto log format swandoc knows; they were counted and left out of the
    analysis. A few are normal (a line cut by log rotation); many mean the input is not what it
    seems.""", [
    "Give swandoc the pluto log itself (logfile= in config setup), journalctl -u ipsec -o json, or the "
    "console output of ipsec auto --up",
], REF_LOGS, 1)

topic("input-not-understood", "warning", "An input held nothing swandoc could use", "local", """
    No pluto lines, IKE packets or bundle evidence were found in this input, so it adds nothing to
    the diagnosis.""", [
    "For logs, make sure pluto logs there: logfile=/var/log/pluto.log in config setup, or "
    "journalctl -u ipsec -o json > pluto.json",
], REF_LOGS, 3)

topic("input-truncated", "warning", "An input ends early (truncated or corrupt)", "local", """
    The input stopped in the middle of its data (for example a .gz or .xz file that was copied while
    still being written). The lines before that were analysed; anything after is missing.""", [
    "Copy the file again once it is complete, or give the uncompressed log",
], REF_LOGS, 2)

# ---------------------------------------------------------------------------------------------

IKE_INIT_STAGES = ("IKE_SA_INIT_I", "MAIN_I1", "AGGR_I1")
IKEV1_AUTH_STAGES = ("MAIN_I3", "AGGR_I2", "MAIN_R2", "MAIN_R3")

# errno -> what it means for an SA install (pluto-wording.md §2.12 and the kernel's xfrm code)
NETLINK_ERRNO = {
    "2": "the kernel lacks a needed module or algorithm (ENOENT)",
    "22": "the kernel rejected a parameter of the SA, often an algorithm or key length (EINVAL)",
    "38": "the kernel has no ESP/AH implementation loaded (ENOSYS): the esp4/esp6 modules are missing",
    "93": "the kernel does not support this IPsec protocol (EPROTONOSUPPORT)",
    "17": "an SA with the same SPI already exists (EEXIST): state left behind",
    "3": "the SA to change or delete is already gone (ESRCH)",
    "12": "the kernel is out of memory (ENOMEM)",
}


def _lines(*signals: Signal | None) -> list[EvidenceLine]:
    out: list[EvidenceLine] = []
    for s in signals:
        if s is not None:
            out.extend(s.lines())
    return out


def _after(signal: Signal | None, other: Signal | None) -> bool:
    return bool(signal and other and signal.last_seq > other.last_seq)


def _retransmits(c: ConnFacts, stages: tuple[str, ...]) -> list[Signal]:
    return [s for s in c.all("retransmit") + c.all("timeout") if s.qualifier in stages]


def _got_any_reply(c: ConnFacts) -> bool:
    """Did the peer ever answer (a later state, a notification, an established SA)?"""
    return any(c.has(k) for k in ("notify_received", "ike_established", "child_established", "processing",
                                  "invalid_ke", "hash_mismatch", "auth_failed", "proposal_chosen")) \
        or any(s.qualifier and not s.qualifier.startswith(IKE_INIT_STAGES) for s in c.all("retransmit"))


def _auth_never_arrived(c: ConnFacts) -> bool:
    """Responder side: IKE_SA_INIT answered, then no IKE_AUTH request ever processed."""
    replied = any(v.startswith("IKE_SA_INIT reply") for s in c.all("sent") for v in s.values)
    got_auth = any(v.startswith("IKE_AUTH") for s in c.all("processing") for v in s.values)
    return replied and not got_auth and not c.has("ike_established") and not c.has("auth_failed")


PRIVATE_NETS = ("10.", "192.168.", "100.64.", "100.65.", "100.66.", "100.67.") + tuple(
    f"172.{n}." for n in range(16, 32))


def _nat_evidence(facts: Facts, c: ConnFacts, initiator_sources: set[str]) -> str | None:
    """Why we believe NAT sits between the peers (so IKE_AUTH went to UDP 4500), or None."""
    if c.has("nat_detected"):
        return "pluto's NAT detection found a NAT between the peers, so IKE moved to UDP 4500."
    if any("[port 4500]" in (v or "") for s in c.all("sent") + c.all("state") for v in s.values):
        return "IKE_AUTH was sent to UDP port 4500 (NAT traversal)."
    sent = [s for s in c.all("sent") if any(" to " in v for v in s.values)]
    peers = {v.rsplit(" to ", 1)[1].rsplit(":", 1)[0] for s in sent for v in s.values if " to " in v}
    unnamed = facts.conns.get("")
    local: set[str] = set()
    for source in initiator_sources:  # only the initiator's own interfaces
        ifaces = unnamed.get("iface_added", source) if unnamed else None
        local |= {v.split()[1].rsplit(":", 1)[0] for v in (ifaces.values if ifaces else ()) if not v.startswith("lo ")}
    if local and peers and all(a.startswith(PRIVATE_NETS) for a in local) \
            and not any(p.startswith(PRIVATE_NETS) for p in peers):
        return (f"This host's addresses ({', '.join(sorted(local))}) are private while the peer "
                f"({', '.join(sorted(peers))}) is public: there is a NAT in between, so after IKE_SA_INIT the "
                f"exchange moved to UDP 4500.")
    return None


@rule
def connection_missing(facts: Facts):
    for c in facts.connections():
        unknown, failed = c.get("unknown_conn"), c.get("add_failed")
        if unknown or failed:
            detail = failed.first.detail if failed and failed.first else None
            yield finding("connection-not-loaded", c.name, _lines(unknown, failed),
                          extra=f"pluto said: {detail}." if detail else None)


@rule
def ikev1_refused(facts: Facts):
    for c in facts.connections():
        s = c.get("ikev1_refused")
        if s:
            yield finding("ikev1-disabled", c.name, _lines(s))
        # The initiator's view: an IKEv1 peer that rejects IKEv1 answers INVALID_MAJOR_VERSION.
        major = c.notified("notify_received", "INVALID_MAJOR_VERSION")
        if major and not s:
            yield finding("ikev1-disabled", c.name, _lines(*major, *_retransmits(c, IKE_INIT_STAGES))[:5],
                          side="peer", extra="Here the peer answered every IKEv1 request with INVALID_MAJOR_VERSION, "
                                             "which is how pluto refuses IKEv1 when its ikev1-policy is reject.")


@rule
def version_or_no_conn(facts: Facts):
    """A responder that found no connection for the initiator: wrong IKE version, or no conn at all."""
    unnamed = facts.conns.get("")
    if not unnamed:
        return
    for signal in unnamed.all("no_connection"):
        wanted = signal.qualifier  # the version the initiator spoke
        for source in signal.sources:
            loaded = _versions_loaded(facts, source)
            names = sorted(loaded)
            if loaded and wanted and all(v != wanted for vs in loaded.values() for v in vs):
                have = sorted({v for vs in loaded.values() for v in vs})
                yield finding("ike-version-mismatch", names[0] if len(names) == 1 else None, _lines(signal),
                              extra=f"The initiator spoke {wanted}; this responder's connections accept only "
                                    f"{' and '.join(have)}.")
            else:
                yield finding("no-matching-connection", names[0] if len(names) == 1 else None, _lines(signal))


def _versions_loaded(facts: Facts, source: str) -> dict[str, set[str]]:
    """Connection name -> IKE versions pluto reported adding, as logged in one source."""
    loaded: dict[str, set[str]] = {}
    for c in facts.conns.values():
        for s in c.all("conn_added"):
            if source in s.sources and c.name:
                loaded.setdefault(c.name, set()).add(s.qualifier)
    return loaded


@rule
def tcp_encapsulation(facts: Facts):
    for c in facts.connections():
        s = c.get("tcp_encap_failed")
        if s:
            yield finding("tcp-encap-unsupported", c.name, _lines(s))


@rule
def proposal_mismatch(facts: Facts):
    for c in facts.connections():
        ike_ev: list[Signal] = []
        child_ev: list[Signal] = []
        for s in c.notified("notify_received", "NO_PROPOSAL_CHOSEN") + c.notified("notify_sent", "NO_PROPOSAL_CHOSEN"):
            exchange = (s.qualifier or "").partition("@")[2]
            if exchange in ("IKE_AUTH", "CREATE_CHILD_SA"):
                child_ev.append(s)
            elif exchange == "IKE_SA_INIT":
                ike_ev.append(s)
            elif c.has("ike_established"):  # IKEv1 informational: after ISAKMP SA = Quick Mode
                child_ev.append(s)
            else:
                ike_ev.append(s)
        for s in c.all("no_proposal"):
            (ike_ev if s.qualifier == "IKE" else child_ev).append(s)
        discard = c.get("invalid_ke")
        if discard and any("not acceptable" in v for v in discard.values):
            ike_ev.append(discard)
        proposals = c.get("proposal_list")
        local = sorted(proposals.values) if proposals else []
        if ike_ev:
            fix = _proposal_fix(ike_ev)
            yield finding("ike-proposal-mismatch", c.name, _lines(*ike_ev),
                          details=_proposal_details(ike_ev, [p for p in local if "IKE=" in p]),
                          fix=fix + list(TOPICS["ike-proposal-mismatch"].fix) if fix else None)
        if child_ev:
            fix = _proposal_fix(child_ev)
            yield finding("child-proposal-mismatch", c.name, _lines(*child_ev),
                          details=_proposal_details(child_ev, [p for p in local if "IKE=" not in p]),
                          fix=fix + list(TOPICS["child-proposal-mismatch"].fix) if fix else None)


def _remote_proposals(signals: list[Signal]) -> list[str]:
    return [v for s in signals if s.kind == "no_proposal" for v in s.values if v and (":" in v or v.startswith("["))]


def _proposal_details(signals: list[Signal], local: list[str]) -> dict[str, str]:
    details: dict[str, str] = {}
    remote = _remote_proposals(signals)
    if remote:
        details["remote proposals (rejected)"] = remote[0]
        line = ipsec_conf_line(remote[0])
        if line:
            details["line the responder would accept"] = line
    if local:
        details["local proposals"] = " | ".join(local[:6])
    return details


def _proposal_fix(signals: list[Signal]) -> list[str]:
    """A first fix step naming the exact line, when the responder logged what it was offered."""
    remote = _remote_proposals(signals)
    line = ipsec_conf_line(remote[0]) if remote else None
    if not line:
        return []
    return [f"To make the responder accept what the initiator offers, add this to the responder's conn "
            f"(or change the initiator to one of the responder's proposals): {line}"]


@rule
def traffic_selectors(facts: Facts):
    for c in facts.connections():
        signals = c.notified("notify_received", "TS_UNACCEPTABLE") + c.notified("notify_sent", "TS_UNACCEPTABLE")
        mismatch = c.get("ts_mismatch")
        if mismatch:
            signals.append(mismatch)
        signals += c.notified("notify_received", "INVALID_ID_INFORMATION")
        quick = _retransmits(c, ("QUICK_I1",))
        if quick and not signals and not c.notified("notify_received", "NO_PROPOSAL_CHOSEN"):
            # IKEv1: a responder refusing our ESP proposal says NO_PROPOSAL_CHOSEN; one that has no
            # connection for our subnets stays silent, and Quick Mode times out (the reference doc's example).
            yield finding("ts-unacceptable", c.name, _lines(*quick), rank=62,
                          extra="Here Quick Mode (IKEv1 phase 2) got no answer at all. A responder that disliked "
                                "the ESP proposal would have said NO_PROPOSAL_CHOSEN; silence after phase 1 "
                                "usually means it has no connection for these subnets. The peer's log says for sure.")
            continue
        if signals:
            yield finding("ts-unacceptable", c.name, _lines(*signals),
                          extra="If the peer's log shows a kernel (netlink) error at the same time, that is the real "
                                "cause: a responder that cannot install its SA answers TS_UNACCEPTABLE too.")


@rule
def authentication(facts: Facts):
    for c in facts.connections():
        rejected = c.notified("notify_received", "AUTHENTICATION_FAILED")
        sent = c.notified("notify_sent", "AUTHENTICATION_FAILED")
        local = c.get("auth_failed")
        if rejected or sent or local:
            extra = None
            if local and local.values:
                extra = f"This end's check: {next(iter(local.values))}."
            yield finding("authentication-failed", c.name, _lines(local, *rejected, *sent), extra=extra,
                          side="both")
        hash_bad = c.get("hash_mismatch")
        invalid_hash = c.notified("notify_sent", "INVALID_HASH_INFORMATION") + \
            c.notified("notify_received", "INVALID_HASH_INFORMATION")
        stuck = [s for s in _retransmits(c, IKEV1_AUTH_STAGES)]
        if hash_bad or invalid_hash or (stuck and not c.has("ike_established")):
            yield finding("ikev1-psk-mismatch", c.name, _lines(hash_bad, *invalid_hash, *stuck),
                          rank=87 if (hash_bad or invalid_hash) else 75)


@rule
def secrets(facts: Facts):
    for c in facts.connections():
        s = c.get("secret_missing")
        if s:
            yield finding("secret-not-found", c.name, _lines(s),
                          extra=f"pluto said: {next(iter(s.values))}." if s.values else None)


@rule
def retransmissions(facts: Facts):
    """Where the exchange stopped decides what the silence means."""
    for c in facts.connections():
        if c.has("icmp_error"):
            s = c.first("icmp_error")
            yield finding("peer-unreachable", c.name, _lines(*c.all("icmp_error"))[:5],
                          extra=f"The ICMP error was: {s.qualifier}." if s and s.qualifier else None)
        init = _retransmits(c, IKE_INIT_STAGES)
        if init and not _got_any_reply(c):
            yield finding("ike-no-response", c.name, _lines(c.get("initiate"), *init)[:6])
        auth = _retransmits(c, ("IKE_AUTH_I",))
        if auth and not c.has("notify_received") and not c.has("ike_established"):
            nat = _nat_evidence(facts, c, {src for a in auth for src in a.sources})
            if nat and "nat-t-blocked" in TOPICS:
                yield finding("nat-t-blocked", c.name, _lines(*c.all("nat_detected"), *auth)[:6], extra=nat)
            else:
                yield finding("large-packets-dropped", c.name, _lines(*auth)[:6])
        elif _auth_never_arrived(c):
            replies = [s for s in c.all("sent") if any(v.startswith("IKE_SA_INIT reply") for v in s.values)]
            # Ranked below the initiator's own view: from here NAT-T blocking and big packets look alike.
            yield finding("large-packets-dropped", c.name, _lines(*replies)[:4], side="path", rank=72,
                          extra="Seen from the responder: it answered IKE_SA_INIT but the initiator's IKE_AUTH never "
                                "arrived. If the initiator is behind NAT, IKE_AUTH travels on UDP 4500: a firewall "
                                "blocking UDP 4500 looks exactly the same from here.")


@rule
def kernel(facts: Facts):
    for c in facts.connections():
        s = c.get("netlink_error")
        if not s:
            continue
        errnos = {e.partition("(errno ")[2].rstrip(")") for e in s.values if "(errno " in e}
        errnos |= {e.partition("included errno ")[2].partition(":")[0] for e in s.values if "included errno" in e}
        meaning = "; ".join(NETLINK_ERRNO[n] for n in sorted(errnos) if n in NETLINK_ERRNO)
        yield finding("kernel-sa-install-failed", c.name, _lines(s),
                      extra=f"Here: {meaning}." if meaning else None,
                      details={"errno": ", ".join(sorted(errnos))} if errnos else None)


@rule
def dead_peer(facts: Facts):
    for c in facts.connections():
        dpd = c.get("dpd")
        liveness = [s for s in c.all("timeout") if s.qualifier == "ESTABLISHED_IKE_SA"]
        if dpd or liveness:
            yield finding("dpd-peer-dead", c.name, _lines(*liveness, dpd))


FAILURE_KINDS = ("retransmit", "timeout", "notify_received", "notify_sent", "no_proposal", "ts_mismatch",
                 "auth_failed", "hash_mismatch", "secret_missing", "icmp_error", "netlink_error", "dpd",
                 "ikev1_refused", "no_connection")


@rule
def tunnel_up(facts: Facts):
    for c in facts.connections():
        child = c.get("child_established")
        if not child:
            continue
        last_failure = max((s.last_seq for (k, _), s in c.signals.items() if k in FAILURE_KINDS), default=0)
        if child.last_seq > last_failure:
            yield finding("tunnel-up", c.name, _lines(c.get("ike_established"), child)[:4])


@rule
def pooled(facts: Facts):
    if facts.overflow_events:
        yield finding("connections-pooled", None, [],
                      extra=f"{facts.overflow_events} events were pooled.")


@rule
def focus_missing(facts: Facts):
    if facts.focus and facts.focus not in facts.conns and "connection" not in facts.parsed:
        names = ", ".join(f'"{n}"' for n in sorted(facts.others_seen)) or "none"
        yield finding("conn-not-in-input", facts.focus, [], extra=f"Connections the input names: {names}.")


@rule
def inputs(facts: Facts):
    for s in facts.sources:
        if s.truncated:
            yield finding("input-truncated", None, [EvidenceLine(s.name, None, n) for n in s.notes[:1]],
                          title=f"{s.name} ends early (truncated or corrupt)")
        useful = s.pluto_lines or s.packets or s.kind == "bundle"
        if not useful and s.lines:
            yield finding("input-not-understood", None, s.unparsed_samples[:3],
                          title=f"{s.name}: no pluto lines, packets or bundle evidence")
        elif s.unparsed:
            heavy = s.unparsed > max(10, s.lines // 10)
            f = finding("unparsed-lines", None, s.unparsed_samples,
                        title=f"{s.name}: {s.unparsed} of {s.lines} lines could not be parsed")
            if heavy:
                f = Finding(**{**{k: getattr(f, k) for k in f.__dataclass_fields__}, "severity": "warning"})
            yield f
