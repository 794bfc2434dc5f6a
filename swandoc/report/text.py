"""Plain-text renderer for terminals: what a tired admin reads at 3 a.m.

Order: verdict and why, then findings most likely first (each with its proof and the fix
to paste), then probe results (diagnose), then what every input turned out to be.
No colour, so it survives pagers, mail and tickets. Log text is hostile, so terminal
control characters are shown escaped rather than sent to the terminal.
"""
from __future__ import annotations

import textwrap

from ..model import Finding, Report, SourceSummary
from .wording import (clean, packet_count, probe_rows, shown_host, side_words, split_fix_step, step_only_for,
                      truncate,
                      verdict_sentence)

WIDTH = 78
EVIDENCE_WIDTH = 200
CODE_INDENT = " " * 10
EVIDENCE_SHOWN = 10  # the rest is counted; --format json/html has every line  # long pluto lines are cut in the middle, keeping both ends


def _wrap(text: str, indent: str) -> list[str]:
    return textwrap.wrap(clean(text), WIDTH, initial_indent=indent, subsequent_indent=indent,
                         break_long_words=False, break_on_hyphens=False) or [indent.rstrip()]


def _where(source: str, line: int | None, host: str | None = None) -> str:
    where = f"{clean(source)}:{line}" if line is not None else clean(source)
    return f"[{clean(host)}] {where}" if shown_host(host) else where


def _finding(n: int, f: Finding) -> list[str]:
    out = [f"{n}. {f.severity.upper()}  {f.id}" + ("  (predicted from the configs)" if f.predicted else "")]
    out += _wrap(f.title, "   ")
    conn = f'"{clean(f.connection)}"' if f.connection else "(not tied to one connection)"
    out.append(f"   connection: {conn}")
    out.append(f"   where:      {side_words(f.side)}")
    hosts = [h for h in dict.fromkeys(e.host for e in f.evidence) if shown_host(h)]
    if hosts:  # evidence from named hosts (bundles): say whose, so two ends are never confused
        out.append(f"   host{'s' if len(hosts) > 1 else ''}:{' ' if len(hosts) > 1 else '  '}     "
                   + ", ".join(clean(h) for h in hosts))
    out.append("")
    out += _wrap(f.explanation, "   ")
    for key, value in f.details:
        out += _wrap(f"{key}: {value}", "   ")
    if f.evidence:
        out += ["", "   Evidence:"]
        for e in f.evidence[:EVIDENCE_SHOWN]:
            out.append(f"     {_where(e.source, e.line, e.host)}: {truncate(clean(e.text), EVIDENCE_WIDTH)}")
        if len(f.evidence) > EVIDENCE_SHOWN:
            out.append(f"     ... and {len(f.evidence) - EVIDENCE_SHOWN} more line(s); --format html or json lists them all")
    if f.fix:
        out += ["", "   Fix:"]
        for step_no, step in enumerate(f.fix, 1):
            prose, code, after = split_fix_step(step)
            label = f"   {step_no}. "
            hang = " " * len(label)
            only = step_only_for(step)
            if only:  # the versions the step is for, before the step itself
                prose = f"[{only}] {prose}" if prose else f"[{only}]"
            if prose:
                out += textwrap.wrap(clean(prose), WIDTH, initial_indent=label, subsequent_indent=hang,
                                     break_long_words=False, break_on_hyphens=False)
            elif code:
                # A bare command goes on the step's own line, at the same column as other code.
                out.append(f"{label:<{len(CODE_INDENT)}}{clean(code[0])}")
                code = code[1:]
            # Code is indented by a fixed margin and never wrapped, so it can be copied as is.
            out += [f"{CODE_INDENT}{clean(c)}" for c in code]
            if after:
                out += textwrap.wrap(clean(after), WIDTH, initial_indent=hang, subsequent_indent=hang,
                                     break_long_words=False, break_on_hyphens=False)
    if f.reference:
        out += ["", f"   See: {clean(f.reference)}"]
    return out


def _source(s: SourceSummary) -> list[str]:
    out = [f"  {clean(s.name)}"]
    if shown_host(s.host):
        out.append(f"      host: {clean(s.host)}")
    kind = s.kind + (f", Libreswan {s.version}" if s.version else "")
    out.append(f"      detected as: {clean(kind)}")
    counts = (f"      lines read: {s.lines}   pluto: {s.pluto_lines}   debug: {s.debug_lines}   "
              f"unparsed: {s.unparsed}")
    if s.other_lines:
        counts += f"   other programs: {s.other_lines}"
    if s.lines or s.kind != "pcap":
        out.append(counts)
    extra = []
    if s.events:
        extra.append(f"events: {s.events}")
    if s.packets:
        extra.append(f"packets: {s.packets}")
    if s.first_time or s.last_time:
        extra.append(f"time: {clean(s.first_time or '?')} .. {clean(s.last_time or '?')}")
    if extra:
        out.append("      " + "   ".join(extra))
    if s.unparsed and s.unparsed_samples:
        out.append("      unparsed, for example:")
        for e in s.unparsed_samples[:2]:
            out.append(f"        {_where(e.source, e.line)}: {truncate(clean(e.text), EVIDENCE_WIDTH - 10)}")
    if getattr(s, "truncated", False):
        out.append("      the input ends early (cut mid-line or a truncated archive); read what was there")
    for note in s.notes:
        out += _wrap(f"note: {note}", "      ")
    return out


def render_text(report: Report) -> str:
    problems = sum(1 for f in report.findings if f.severity != "info")
    out = [f"swandoc {report.command}: {report.verdict.upper()}"]
    out += _wrap(verdict_sentence(report), "")
    if report.findings:
        out.append(f"{len(report.findings)} finding(s), {problems} problem(s); most likely first.")
    out.append("")

    for n, f in enumerate(report.findings, 1):
        out.append("=" * WIDTH)
        out += _finding(n, f)
        out.append("")

    probes = probe_rows(report)
    if probes:
        out += ["=" * WIDTH, "Probes:"]
        name_w = min(max(len(clean(n)) for n, _, _ in probes), 28)
        status_w = max(len(clean(s)) for _, s, _ in probes)
        for name, status, result in probes:
            out.append(f"  {clean(name):<{name_w}}  {clean(status).upper():<{status_w}}  {clean(result)}".rstrip())
        out.append("")

    n_packets = packet_count(report)
    if n_packets:
        out += [f"{n_packets} IKE/ESP packet(s) decoded; `--format html` draws them as a ladder diagram.", ""]

    out += ["=" * WIDTH, "Inputs:"]
    if not report.sources:
        out.append("  (none)")
    for s in report.sources:
        out += _source(s)
    out += ["", f"swandoc {report.tool_version}, {report.generated}"]
    return "\n".join(out) + "\n"
