"""Rules: pure functions from :class:`~swandoc.facts.Facts` to findings.

Each rules module registers its functions with :func:`rule` (over all facts: logs, wire) or
:func:`host_rule` (run once per host in ``Facts.hosts``, over that host's typed facts alone);
the knowledge they draw on (titles, explanations, fixes, references) lives beside them as data
in ``knowledge``.
"""
from __future__ import annotations

from dataclasses import replace

from ..facts import Facts
from ..model import SEVERITIES, Finding
# Imported for their @rule/@host_rule registrations, in the order their rules run.
from . import daemon, loading, kernel, negotiation, auth, reachability, outcome, trouble, packets, host, config  # noqa: F401,E402
from . import fleet, mesh  # noqa: F401,E402  (knowledge of the fleet analysis; its rules take many hosts)
from .registry import RULES, host_rule, rule  # noqa: F401  (the names rules modules register with)


def run_rules(facts: Facts) -> list[Finding]:
    """All findings, most likely root cause first, one per (id, connection)."""
    seen: dict[tuple[str, str | None], Finding] = {}
    for fn in RULES:
        for finding in fn(facts) or ():
            if facts.focus and finding.connection not in (None, "", facts.focus):
                continue
            key = (finding.id, finding.connection)
            old = seen.get(key)
            if old is None:
                seen[key] = finding
            else:  # two rules (logs and packets, say) saw the same problem: keep the stronger, pool the proof
                keep, other = (finding, old) if finding.rank > old.rank else (old, finding)
                seen[key] = replace(keep, evidence=tuple(dict.fromkeys(keep.evidence + other.evidence)))
    findings = kernel.demote_peer_kernel_symptoms(correlate(_merge_unnamed(list(seen.values()))))
    return sorted(findings, key=lambda f: (-f.rank, SEVERITIES.index(f.severity), f.id, f.connection or ""))


def _merge_unnamed(findings: list[Finding]) -> list[Finding]:
    """A finding without a connection (a pcap, a 'packet from' line) joins the one named finding of its id."""
    named: dict[str, list[Finding]] = {}
    for f in findings:
        if f.connection:
            named.setdefault(f.id, []).append(f)
    out: list[Finding] = []
    absorbed: dict[int, list[Finding]] = {}
    for f in findings:
        owners = named.get(f.id, [])
        if not f.connection and len(owners) == 1:
            absorbed.setdefault(id(owners[0]), []).append(f)
        else:
            out.append(f)
    return [replace(f, evidence=tuple(dict.fromkeys(f.evidence + tuple(e for x in absorbed[id(f)] for e in x.evidence))))
            if id(f) in absorbed else f for f in out]


def correlate(findings: list[Finding]) -> list[Finding]:
    """Let one end's failure explain what the other end saw.

    A responder that cannot install its SA (kernel-sa-install-failed) answers the initiator's IKE_AUTH
    with TS_UNACCEPTABLE: the initiator's ts-unacceptable is then a symptom, not a second problem.
    """
    kernel = [f for f in findings if f.id == "kernel-sa-install-failed"]
    if not kernel:
        return findings
    # Ends are told apart by host where the evidence names one (bundles), else by input (log files).
    kernel_sources = {e.origin_key for f in kernel for e in f.evidence}
    out = []
    for f in findings:
        if f.id == "ts-unacceptable" and not {e.origin_key for e in f.evidence} & kernel_sources:
            where = ", ".join(sorted(kernel_sources))
            f = replace(f, rank=min(f.rank, 40), severity="warning",
                        title="TS_UNACCEPTABLE here is a symptom of the peer's kernel failure",
                        explanation=f"The other end could not install the IPsec SA in its kernel (see "
                                    f"kernel-sa-install-failed, in {where}) and so refused the Child SA with "
                                    f"TS_UNACCEPTABLE. The subnets are probably fine; fix the kernel problem first. "
                                    + f.explanation)
        out.append(f)
    return out
