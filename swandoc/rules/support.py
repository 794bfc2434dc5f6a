"""What the log rules share: evidence lines from signals, where an exchange stopped, NAT clues.

Kept apart from the rules so each domain module (loading, negotiation, auth, reachability, kernel,
outcome) stays small and reads on its own.
"""

from __future__ import annotations

from ..facts import ConnFacts, Facts, Signal
from ..model import EvidenceLine


IKE_INIT_STAGES = ("IKE_SA_INIT_I", "MAIN_I1", "AGGR_I1")

IKEV1_AUTH_STAGES = ("MAIN_I3", "AGGR_I2", "MAIN_R2", "MAIN_R3")


def lines_of(*signals: Signal | None) -> list[EvidenceLine]:
    out: list[EvidenceLine] = []
    for s in signals:
        if s is not None:
            out.extend(s.lines())
    return out


IKEV1_STAGE_PREFIXES = ("MAIN_", "AGGR_", "QUICK_", "XAUTH_", "MODE_CFG_")


def is_ikev1(c: ConnFacts, signal: Signal | None = None) -> bool:
    """Does this connection's evidence say IKEv1 (the signal's own wording first, then states, then the conn)?"""
    if signal is not None and signal.first is not None:
        text = signal.first.detail or ""
        if signal.first.exchange == "IKEv1" or text.startswith("we require peer") or "IKEv1" in text:
            return True
        if signal.first.exchange == "IKEv2" or "IKEv2" in text:
            return False
    states = [s.qualifier or "" for k in ("state", "retransmit", "timeout") for s in c.all(k)]
    if any(q.startswith(IKEV1_STAGE_PREFIXES) for q in states) or c.has("responding"):
        return True
    return any(s.qualifier == "IKEv1" for s in c.all("conn_added"))


def retransmits(c: ConnFacts, stages: tuple[str, ...]) -> list[Signal]:
    return [s for s in c.all("retransmit") + c.all("timeout") if s.qualifier in stages]


def got_any_reply(c: ConnFacts) -> bool:
    """Did the peer ever answer (a later state, a notification, an established SA)?"""
    return any(c.has(k) for k in ("notify_received", "ike_established", "child_established", "processing",
                                  "invalid_ke", "hash_mismatch", "auth_failed", "proposal_chosen")) \
        or any(s.qualifier and not s.qualifier.startswith(IKE_INIT_STAGES) for s in c.all("retransmit"))


def auth_never_arrived(c: ConnFacts) -> bool:
    """Responder side: IKE_SA_INIT answered, then no IKE_AUTH request ever processed."""
    # 4.x "sent IKE_SA_INIT reply", 5.x "sent IKE_SA_INIT response"
    replied = any(v.startswith(("IKE_SA_INIT reply", "IKE_SA_INIT response")) for s in c.all("sent") for v in s.values)
    got_auth = any(v.startswith("IKE_AUTH") for s in c.all("processing") for v in s.values)
    return replied and not got_auth and not c.has("ike_established") and not c.has("auth_failed")


PRIVATE_NETS = ("10.", "192.168.", "100.64.", "100.65.", "100.66.", "100.67.") + tuple(
    f"172.{n}." for n in range(16, 32))


def nat_evidence(facts: Facts, c: ConnFacts, initiator_sources: set[str]) -> str | None:
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


def only_single_refusals(s: Signal) -> bool:
    """IKEv1 logs each transform it refuses ('Oakley Transform [...] refused') before it picks one it likes."""
    return all(v.startswith("[") or ("Transform" in v and "refused" in v) or "Attribute OAKLEY_" in v
               for v in s.values)


def accepted_later(c: ConnFacts, ike: bool) -> bool:
    """Did the exchange go on after the refusals (a transform was accepted)?"""
    if ike:
        return c.has("ike_established") or any((s.qualifier or "").startswith(("MAIN_R", "AGGR_R"))
                                               and s.qualifier not in ("MAIN_R0", "AGGR_R0") for s in c.all("state"))
    return c.has("child_established") or any((s.qualifier or "").startswith("QUICK_R") for s in c.all("state"))
