"""Log rules: packets that do not arrive — no answer, ICMP errors, IKE_AUTH lost, a dead peer.

Where the exchange stopped decides what the silence means: no IKE_SA_INIT answer is the path or the
peer's firewall; an answered IKE_SA_INIT followed by a lost IKE_AUTH is fragmentation or UDP 4500.
"""

from __future__ import annotations

from ..facts import Facts
from .registry import rule
from .knowledge import REF_FIREWALL, REF_LOGS, REF_MISMATCH, REF_MTU, TOPICS, finding, topic
from .support import (IKE_INIT_STAGES, auth_never_arrived, got_any_reply, lines_of, nat_evidence,
                      only_single_refusals, retransmits)

# Knowledge: what each id means and what to do (the project's own words).

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

topic("dpd-peer-dead", "warning", "Dead peer detection declared the peer gone", "peer", """
    The tunnel was up, then the peer stopped answering liveness/DPD probes and pluto acted on it
    (restart, hold or clear). The peer rebooted, its IPsec restarted, or the path broke (often a NAT
    mapping that expired).""", [
    "Check the peer's uptime and logs around the time of the DPD action",
    "Behind NAT, keep mappings alive: nat-keepalive=yes (default) and a shorter keep-alive period "
    "(keep-alive=20 in config setup)",
    "IKEv2: liveness is dpddelay= (how often to check) with retransmit-timeout= (how long to wait); "
    "dpdtimeout= is ignored for IKEv2",
    "IKEv1: dpddelay= and dpdtimeout= (both must be set)",
], REF_LOGS, 60)


@rule
def retransmissions(facts: Facts):
    """Where the exchange stopped decides what the silence means."""
    for c in facts.connections():
        if c.has("icmp_error"):
            s = c.first("icmp_error")
            yield finding("peer-unreachable", c.name, lines_of(*c.all("icmp_error"))[:5],
                          extra=f"The ICMP error was: {s.qualifier}." if s and s.qualifier else None)
        init = retransmits(c, IKE_INIT_STAGES)
        if init and not got_any_reply(c):
            yield finding("ike-no-response", c.name, lines_of(c.get("initiate"), *init)[:6])
        auth = retransmits(c, ("IKE_AUTH_I",))
        if auth and not c.has("notify_received") and not c.has("ike_established"):
            nat = nat_evidence(facts, c, {src for a in auth for src in a.sources})
            if nat and "nat-t-blocked" in TOPICS:
                yield finding("nat-t-blocked", c.name, lines_of(*c.all("nat_detected"), *auth)[:6], extra=nat)
            else:
                yield finding("large-packets-dropped", c.name, lines_of(*auth)[:6])
        elif auth_never_arrived(c):
            replies = [s for s in c.all("sent") if any(v.startswith(("IKE_SA_INIT reply", "IKE_SA_INIT response"))
                                                        for v in s.values)]
            # Ranked below the initiator's own view: from here NAT-T blocking and big packets look alike.
            yield finding("large-packets-dropped", c.name, lines_of(*replies)[:4], side="path", rank=72,
                          extra="Seen from the responder: it answered IKE_SA_INIT but the initiator's IKE_AUTH never "
                                "arrived. If the initiator is behind NAT, IKE_AUTH travels on UDP 4500: a firewall "
                                "blocking UDP 4500 looks exactly the same from here.")


# A responder that answered the same first message this many times, with nothing after, is not heard.
REPEATS = 3


@rule
def answers_not_arriving(facts: Facts):
    """Responder side: the initiator keeps sending its first message, so our answers never reach it."""
    for c in facts.connections():
        refused = any(not only_single_refusals(s) for s in c.all("no_proposal"))
        if c.has("ike_established") or refused or c.has("notify_sent") or c.has("no_connection"):
            continue
        r1 = c.get("state", "MAIN_R1") or c.get("state", "AGGR_R1")
        later = any((s.qualifier or "").startswith(("MAIN_R2", "MAIN_R3", "AGGR_R2", "QUICK_")) for s in c.all("state"))
        repeated = [s for s in (c.get("responding"), r1) if s and s.count >= REPEATS]
        repeated += retransmits(c, ("MAIN_R1", "AGGR_R1"))  # this end gave up waiting after its first answer
        # pluto itself saying the initiator sent its first message again (not a later exchange's duplicate).
        duplicate = c.get("duplicate_request")
        if duplicate and not any(x in v for v in duplicate.values for x in ("IKE_AUTH", "CREATE_CHILD", "INFORMATIONAL",
                                                                             "QUICK", "MAIN_R2", "MAIN_R3")):
            repeated.append(duplicate)
        if repeated and not later:
            yield finding("ike-no-response", c.name, lines_of(*repeated)[:6], side="path", rank=71,
                          extra="Seen from the responder: the initiator sent its first message again and again and "
                                "this end answered each time, but the exchange never moved on. The answers do not get "
                                "back to the initiator: a firewall or NAT on the return path (UDP 500/4500 from "
                                "this host to the peer) drops them, or this host routes them out the wrong way.")


@rule
def dead_peer(facts: Facts):
    for c in facts.connections():
        dpd = c.get("dpd")
        liveness = [s for s in c.all("timeout") if s.qualifier == "ESTABLISHED_IKE_SA"]
        if dpd or liveness:
            yield finding("dpd-peer-dead", c.name, lines_of(*liveness, dpd))
