"""Fleet rules for an opportunistic mesh (reference §4.6): policy groups that do not fit together.

Unlike the other rules these read several hosts at once (:class:`~swandoc.fleet.policies.MeshNode`
per host), so ``swandoc.fleet.network`` calls them after every bundle is read; the evaluation
itself (most specific prefix wins, what each pair of modes does) is in ``swandoc.fleet.policies``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterator, Sequence

if TYPE_CHECKING:  # the policy evaluation loads with the fleet report, not on every analysis
    from ..fleet.policies import Decision, MeshNode
from ..model import EvidenceLine, Finding
from .knowledge import DOC, UP_TO_4, V5, finding, topic

REF_MESH = f"{DOC} §4.6 Configuring a mesh VPN"

topic("mesh-policy-conflict", "error", "Two mesh nodes' policy groups do not fit together", "both", """
    Each mesh node decides from its own /etc/ipsec.d/policies files (the most specific prefix wins)
    whether traffic to another node must be encrypted (private), should be (private-or-clear), may be
    (clear-or-private), must not be (clear) or is refused (block). These two nodes decided differently
    for each other: when one requires IPsec and the other will not negotiate it, or one blocks the other,
    they cannot talk at all; when one only prefers IPsec and the other sends in clear, they talk
    unencrypted without any error. The nodes' policy files were provisioned differently.""",
      ["Decide what the two nodes should do for each other and put both addresses in the same group on "
       "both nodes (the policy files are best provisioned from one template, e.g. by Ansible)",
       "Reload the policy groups on each node you changed (pluto reads the policy files when it starts):\n"
       "    systemctl restart ipsec",
       "Check that the pair now negotiates (or stays clear) as intended:\n    ipsec trafficstatus"],
      REF_MESH, 85)

topic("mesh-group-conn-differs", "warning", "A mesh node's group connection differs from the rest of the mesh",
      "local", """
    Every node of a mesh should define its group connections (clear, private, private-or-clear, ...)
    identically, apart from its own certificate and address. This node's definition differs from what
    the other nodes have (or it lacks a group the others define), so it treats the same destinations
    differently: e.g. a private-or-clear that drops instead of falling back to clear.""",
      ["Make this node's group conns the same as the other nodes' (from the same template)",
       ("Reload each changed group conn:\n    ipsec auto --replace GROUP", UP_TO_4),
       ("Reload each changed group conn:\n    ipsec replace GROUP", V5),
       "Or restart pluto so it rereads the conns and the policy files:\n    systemctl restart ipsec"],
      REF_MESH, 45)

WORDS = {
    "no-traffic": "cannot talk: one requires IPsec, the other will not negotiate it",
    "blocked": "cannot talk: one blocks the other",
    "clear-fallback": "talk in clear without an error although one of them prefers IPsec",
}


def _decision_line(node: str, other: str, address: str, d: Decision) -> EvidenceLine:
    if d.line is None:
        return EvidenceLine("ipsec_policies", None,
                            f"{node} has no policy group covering {other} ({address}): traffic goes in clear", node)
    return EvidenceLine(d.line.source, d.line.line, d.line.text, node)


def mesh_findings(nodes: Sequence[MeshNode]) -> Iterator[Finding]:
    from ..fleet.policies import group_deviations, pair_conflicts

    for c in pair_conflicts(nodes):
        evidence = [_decision_line(c.a, c.b, c.b_address, c.a_decision),
                    _decision_line(c.b, c.a, c.a_address, c.b_decision)]
        a_mode, b_mode = c.a_decision.mode or "clear (no group)", c.b_decision.mode or "clear (no group)"
        # not about one conn: the hosts are in the title and details["hosts"]
        yield finding("mesh-policy-conflict", None, evidence,
                      title=f"Mesh nodes {c.a} and {c.b} {WORDS[c.outcome]}",
                      extra=f"{c.a} treats {c.b} ({c.b_address}) as {a_mode}; {c.b} treats {c.a} "
                            f"({c.a_address}) as {b_mode}.",
                      details={"hosts": f"{c.a},{c.b}", "outcome": c.outcome, c.a: a_mode, c.b: b_mode},
                      rank=85 if c.outcome != "clear-fallback" else 70)
    for d in group_deviations(nodes):
        if d.missing:
            text = f"{d.node} has no conn {d.group}, which the other mesh nodes define"
        else:
            text = "; ".join(f"{k}={mine if mine is not None else '(unset)'} here, "
                             f"{theirs if theirs is not None else '(unset)'} on the others" for k, mine, theirs in d.differs)
        yield finding("mesh-group-conn-differs", d.group,
                      [EvidenceLine("ipsec_conf", None, f"conn {d.group}: {text}", d.node)],
                      title=f"{d.node}'s group conn {d.group} differs from the rest of the mesh",
                      details={"host": d.node, "group": d.group})
