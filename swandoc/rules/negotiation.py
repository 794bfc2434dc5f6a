"""Log rules: the two ends disagree on what to negotiate (algorithms, subnets).

Where the responder logged what it was offered, the finding names the exact ipsec.conf line that
would make it accept (``proposals.ipsec_conf_line``).
"""

from __future__ import annotations

from ..facts import Facts, Signal
from .registry import rule
from .knowledge import REF_MISMATCH, TOPICS, UP_TO_4, V5, finding, topic
from .proposals import ipsec_conf_line
from .support import accepted_later, lines_of, only_single_refusals, retransmits

# Knowledge: what each id means and what to do (the project's own words).

topic("ike-proposal-mismatch", "error", "No common IKE SA algorithms (IKE proposal mismatch)", "both", """
    The responder found no algorithm set in the initiator's IKE SA proposals that it accepts, and
    answered NO_PROPOSAL_CHOSEN (IKEv2 IKE_SA_INIT, or IKEv1 Main/Aggressive Mode). The ike= lines of
    the two ends share no encryption/PRF/integrity/DH combination, or a crypto policy or FIPS mode
    removed the one they had in common.""", [
    "Compare the ike= line of both ends and make them share at least one proposal, for example "
    "ike=aes_gcm256-sha2_512-dh19,aes256-sha2_256-modp2048 on both",
    "On RHEL, check the system crypto policy on both ends: update-crypto-policies --show",
    ("Reload and retry: ipsec auto --add NAME && ipsec auto --up NAME", UP_TO_4),
    ("Reload and retry: ipsec add NAME && ipsec up NAME", V5),
], REF_MISMATCH, 88)

topic("child-proposal-mismatch", "error", "No common ESP/AH algorithms (Child SA proposal mismatch)", "both", """
    The IKE SA came up, but the responder accepts none of the proposals for the IPsec (Child) SA and
    answered NO_PROPOSAL_CHOSEN (IKEv2 IKE_AUTH/CREATE_CHILD_SA, IKEv1 Quick Mode). The esp= (or
    phase2alg=) lines differ, or PFS/DH settings for the Child SA disagree.""", [
    "Compare esp= (phase2alg=) on both ends and make them share one proposal, for example "
    "esp=aes_gcm256,aes256-sha2_256 on both",
    "Check PFS agreement: pfs=yes/no must match, and the DH group in esp= (e.g. esp=aes256-sha2_256-dh19)",
    ("Reload and retry: ipsec auto --add NAME && ipsec auto --up NAME", UP_TO_4),
    ("Reload and retry: ipsec add NAME && ipsec up NAME", V5),
], REF_MISMATCH, 86)

topic("ts-unacceptable", "error", "Traffic selectors (subnets) do not match", "both", """
    The peer refused the Child SA's traffic selectors: the leftsubnet/rightsubnet (or
    leftprotoport/rightprotoport) of the two ends do not mirror each other, so the responder has no
    connection covering the requested networks.""", [
    "Make the subnets mirror each other: this end's leftsubnet= must equal the peer's rightsubnet= "
    "and the reverse (or use leftsubnets=/rightsubnets= on both)",
    "Check for narrowing: a peer that offers a wider subnet than yours accepts only with narrowing=yes",
    ("Reload both ends and retry: ipsec auto --add NAME && ipsec auto --up NAME", UP_TO_4),
    ("Reload both ends and retry: ipsec add NAME && ipsec up NAME", V5),
], REF_MISMATCH, 85)


@rule
def proposal_mismatch(facts: Facts):
    for c in facts.connections():
        ike_ev: list[Signal] = []
        child_ev: list[Signal] = []
        quick = any((s.qualifier or "").startswith("QUICK_") for k in ("retransmit", "timeout", "state")
                    for s in c.all(k)) or any("Quick Mode" in v for s in c.all("initiate") for v in s.values)
        phase2 = c.has("ike_established") or quick
        sent = c.notified("notify_sent", "NO_PROPOSAL_CHOSEN")
        if c.has("no_connection"):
            # A responder that found no connection answers NO_PROPOSAL_CHOSEN: that answer is about the
            # missing connection (no-matching-connection), not about algorithms.
            sent = []
        for s in c.notified("notify_received", "NO_PROPOSAL_CHOSEN") + sent:
            exchange = (s.qualifier or "").partition("@")[2]
            if exchange in ("IKE_AUTH", "CREATE_CHILD_SA", "QUICK_MODE"):
                child_ev.append(s)
            elif exchange == "IKE_SA_INIT":
                ike_ev.append(s)
            elif phase2:  # IKEv1 informational after the ISAKMP SA (or once Quick Mode began) = Phase 2
                child_ev.append(s)
            else:
                ike_ev.append(s)
        for s in c.all("no_proposal"):
            if only_single_refusals(s) and accepted_later(c, s.qualifier == "IKE"):
                continue  # some transforms refused, another one accepted: the normal way to pick one
            (ike_ev if s.qualifier == "IKE" else child_ev).append(s)
        discard = c.get("invalid_ke")
        if discard and any("not acceptable" in v for v in discard.values):
            ike_ev.append(discard)
        proposals = c.get("proposal_list")
        local = sorted(proposals.values) if proposals else []
        if ike_ev:
            fix = _proposal_fix(ike_ev)
            told_only = all(s.kind == "notify_received" for s in ike_ev)
            extra = ("Only the peer's answer is in this log. A Libreswan responder also answers NO_PROPOSAL_CHOSEN "
                     "when it has no connection at all for this peer or IKE version; its log says which "
                     "('no suitable connection' means no-matching-connection).") if told_only else None
            yield finding("ike-proposal-mismatch", c.name, lines_of(*ike_ev), extra=extra,
                          details=_proposal_details(ike_ev, [p for p in local if "IKE=" in p]),
                          fix=fix + list(TOPICS["ike-proposal-mismatch"].fix) if fix else None)
        if child_ev:
            fix = _proposal_fix(child_ev)
            yield finding("child-proposal-mismatch", c.name, lines_of(*child_ev),
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
        quick = retransmits(c, ("QUICK_I1",))
        if quick and not signals and not c.notified("notify_received", "NO_PROPOSAL_CHOSEN"):
            # IKEv1: a responder refusing our ESP proposal says NO_PROPOSAL_CHOSEN; one that has no
            # connection for our subnets stays silent, and Quick Mode times out (the reference doc's example).
            yield finding("ts-unacceptable", c.name, lines_of(*quick), rank=62,
                          extra="Here Quick Mode (IKEv1 phase 2) got no answer at all. A responder that disliked "
                                "the ESP proposal would have said NO_PROPOSAL_CHOSEN; silence after phase 1 "
                                "usually means it has no connection for these subnets. The peer's log says for sure.")
            continue
        if signals:
            yield finding("ts-unacceptable", c.name, lines_of(*signals),
                          extra="If the peer's log shows a kernel (netlink) error at the same time, that is the real "
                                "cause: a responder that cannot install its SA answers TS_UNACCEPTABLE too.")
