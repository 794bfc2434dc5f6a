"""Log rules about the run as a whole: the tunnel came up, inputs were odd, connections were pooled.

These rank lowest: they describe the evidence, not a cause.
"""

from __future__ import annotations

from ..facts import FULL_BUDGET, MAX_CONNS, OVERFLOW, Facts
from ..logparse import kinds
from ..model import EvidenceLine, Finding
from .registry import rule
from .knowledge import REF_BASIC, REF_LOGS, UP_TO_4, V5, finding, topic
from .support import lines_of

# Knowledge: what each id means and what to do (the project's own words).

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
    "Give swandoc the pluto log itself (logfile= in config setup) or journalctl -u ipsec -o json",
    ("Or the console output of bringing the connection up: ipsec auto --up NAME", UP_TO_4),
    ("Or the console output of bringing the connection up: ipsec up NAME", V5),
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


FAILURE_KINDS = kinds.FAILURES  # one list of what counts as a failure (logparse/kinds.py), none missed


@rule
def tunnel_up(facts: Facts):
    for c in facts.connections():
        child = c.get("child_established")
        if not child:
            continue
        last_failure = max((s.last_seq for (k, _), s in c.signals.items() if k in FAILURE_KINDS), default=0)
        if child.last_seq > last_failure:
            yield finding("tunnel-up", c.name, lines_of(c.get("ike_established"), child)[:4])


@rule
def pooled(facts: Facts):
    if facts.overflow_events:
        extra = f"{facts.overflow_events} events were pooled."
        if facts.budget_pooled:
            extra += (f" {facts.budget_pooled} of them came after swandoc's memory budget for folded log facts "
                      f"({FULL_BUDGET // 1_000_000} MB) was spent: each would have started a new kind of "
                      "event for its connection, and was pooled instead.")
        yield finding("connections-pooled", None, [], extra=extra)


@rule
def focus_missing(facts: Facts):
    if facts.focus and facts.focus not in facts.conns and not any(h.connection for h in facts.hosts.values()):
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
