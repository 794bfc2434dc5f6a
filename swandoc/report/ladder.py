"""The IKE ladder diagram: what was on the wire, as inline SVG for the HTML report.

Two columns (the initiator on the left, its peer on the right), one arrow per message,
top to bottom in capture order. Each arrow is labelled with the exchange, message id and
cleartext notifies; retransmissions are dashed, a request that was never answered ends in
a red cross, ICMP errors are drawn in orange, runs of ESP collapse into one arrow.

Every piece of text here can come from a peer (notify names of unknown types, IKEv1 IDs,
addresses in ICMP quotes), so all of it goes through :func:`markupsafe.escape`; the only
unescaped strings are the fixed SVG tags written in this module.
"""
from __future__ import annotations

from dataclasses import dataclass
from ..compat import SLOTS
from typing import Any, Iterable, Sequence

from markupsafe import Markup, escape

from ..logparse.packet import IkePacket
from ..logparse.pairing import Exchange, exchanges

MAX_ROWS = 150
ROW = 34  # vertical space per arrow
TOP = 58
LEFT_X = 150
RIGHT_X = 610
WIDTH = 760
EVENTS_WIDTH = 460
LABEL_MAX = 90

STYLE = """
.sd-l text{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;fill:#1f2328}
.sd-l .peer{font-weight:bold;font-size:13px}
.sd-l .time,.sd-l .sub,.sd-l .ev{fill:#57606a;font-size:11px}
.sd-l .life{stroke:#8c959f;stroke-width:1}
.sd-l line.m{stroke:#0969da;stroke-width:1.6}
.sd-l .resp line.m{stroke:#1a7f37}
.sd-l .retx line.m{stroke-dasharray:5 4}
.sd-l .lost line.m{stroke:#cf222e}
.sd-l .lost text.tag{fill:#cf222e;font-weight:bold}
.sd-l .icmp line.m{stroke:#bc4c00}
.sd-l .icmp text{fill:#bc4c00}
.sd-l .esp line.m{stroke:#8250df}
.sd-l .misc line.m{stroke:#6e7781}
.sd-l .x{stroke:#cf222e;stroke-width:2.5}
"""


@dataclass(frozen=True, **SLOTS)
class _Row:
    packet: IkePacket
    css: str
    label: str
    sub: str
    tag: str  # "retransmit 2", "no response", "x12"
    lost: bool


def _peers(packets: Sequence[IkePacket], flows: list[Exchange]) -> tuple[str, str]:
    if flows:
        return flows[0].requester, flows[0].responder
    first = packets[0]
    if first.kind == "icmp":
        return first.dst, first.src
    return first.src, first.dst


def _annotations(flows: list[Exchange]) -> dict[tuple[str, int], tuple[str, bool, bool]]:
    """(source, number) -> (tag, lost, is_response): retransmission count, never answered."""
    notes: dict[tuple[str, int], tuple[str, bool, bool]] = {}
    for ex in flows:
        rounds = ex.rounds()
        for i, (attempt, p) in enumerate(rounds):
            lost = i == len(rounds) - 1 and ex.expects_response and not ex.answered
            tag = f"retransmit {attempt}" if attempt else ""
            if lost:
                tag = f"{tag}, no response" if tag else "no response"
            notes[(p.source, p.number)] = (tag, lost, False)
        for p in ex.responses:
            notes[(p.source, p.number)] = ("", False, True)
    return notes


def _clip(text: str, limit: int = LABEL_MAX) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _rows(packets: Sequence[IkePacket], flows: list[Exchange]) -> list[_Row]:
    notes = _annotations(flows)
    rows: list[_Row] = []
    esp_run: list[IkePacket] = []

    def flush_esp() -> None:
        if esp_run:
            p = esp_run[0]
            spis = ", ".join(dict.fromkeys(f"0x{q.esp_spi:08x}" for q in esp_run))
            encap = {"udp": " in UDP 4500", "tcp": " in TCP"}.get(p.transport, "")
            rows.append(_Row(p, "esp", f"ESP{encap}", f"spi {spis}", f"x{len(esp_run)}" if len(esp_run) > 1 else "",
                             False))
            esp_run.clear()

    for p in packets:
        if p.kind == "esp":
            if esp_run and (esp_run[0].src, esp_run[0].dst) != (p.src, p.dst):
                flush_esp()
            esp_run.append(p)
            continue
        flush_esp()
        if p.kind == "ike":
            tag, lost, answer = notes.get((p.source, p.number), ("", False, bool(p.is_response)))
            is_response = p.is_response if p.is_response is not None else answer
            role = "response" if is_response else "request"
            css = "resp" if is_response else "req"
            if tag.startswith("retransmit"):
                css += " retx"
            if lost:
                css += " lost"
            label = f"{p.exchange} {role} msgid={p.msgid}".replace("  ", " ")
            bits = []
            if p.notifies:
                bits.append(", ".join(p.notifies))
            if p.identities:
                bits.append("ID " + ", ".join(p.identities))
            if p.ike_fragment:
                bits.append(f"IKE fragment {p.ike_fragment[0]}/{p.ike_fragment[1]}")
            if p.ip_fragment:
                bits.append(f"IP fragment, {p.size} bytes")
            if p.encrypted and not p.notifies:
                bits.append("encrypted")
            port = "TCP" if p.tcp_encap else f"UDP {p.dport if p.dport in (500, 4500) else p.sport}"
            rows.append(_Row(p, css, f"IKEv{p.ike_version} {label}", f"{port}; " + "; ".join(bits) if bits else port,
                             tag, lost))
        elif p.kind == "icmp":
            quoted = f"{(p.quoted_proto or '?').upper()} {p.quoted_dport}" if p.quoted_dport else (p.quoted_proto or "?")
            what = f" ({p.quoted_exchange} msgid={p.quoted_msgid})" if p.quoted_exchange else ""
            rows.append(_Row(p, "icmp", f"ICMP {p.icmp_reason}", f"from {p.src} about {quoted}{what}", "", False))
        elif p.kind == "keepalive":
            rows.append(_Row(p, "misc", "NAT-T keepalive", "UDP 4500", "", False))
        elif p.kind == "tcp":
            rows.append(_Row(p, "misc", f"TCP {p.tcp_flags or ''}".strip(),
                             '"IKETCP" prefix' if p.tcp_prefix else f"port {p.dport}", "", False))
        else:
            rows.append(_Row(p, "misc", "IP fragment", f"{p.ip_fragment}, {p.size} bytes", "", False))
    flush_esp()
    return rows


def _event_text(event: Any) -> str:
    text = getattr(event, "text", None) or str(event)
    where = f"{getattr(event, 'source', '')}:{getattr(event, 'line', '')}".strip(":")
    return _clip(f"{where} {text}" if where else text, 70)


def render_ladder_svg(packets: Iterable[IkePacket], events: Iterable[Any] = (),
                      flows: list[Exchange] | None = None) -> Markup:
    """Inline SVG of the capture; *events* (log events) are listed beside it, in order.

    *flows* is the exchange pairing the analysis already made (``Facts.wire``); without it
    (a capture drawn on its own) the pairing is made here.
    """
    packets = [p for p in packets if isinstance(p, IkePacket)]
    if not packets:
        return Markup("")
    if flows is None:
        flows = exchanges(packets)
    left, right = _peers(packets, flows)
    rows = _rows(packets, flows)
    hidden = max(0, len(rows) - MAX_ROWS)
    rows = rows[:MAX_ROWS]
    events = list(events)[:MAX_ROWS]
    t0 = packets[0].time
    width = WIDTH + (EVENTS_WIDTH if events else 0)
    height = TOP + ROW * max(len(rows), len(events)) + (40 if hidden else 20)
    e = escape
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="sd-l" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">',
        f"<title>IKE messages between {e(left)} and {e(right)}</title>",
        f"<style>{STYLE}</style>",
        '<defs><marker id="sd-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="context-stroke"/></marker></defs>',
        f'<text class="peer" x="{LEFT_X}" y="20" text-anchor="middle">{e(left)}</text>',
        f'<text class="peer" x="{RIGHT_X}" y="20" text-anchor="middle">{e(right)}</text>',
        f'<text class="sub" x="{LEFT_X}" y="36" text-anchor="middle">initiator (first request)</text>',
        f'<text class="sub" x="{RIGHT_X}" y="36" text-anchor="middle">peer</text>',
        f'<line class="life" x1="{LEFT_X}" y1="44" x2="{LEFT_X}" y2="{height - 10}"/>',
        f'<line class="life" x1="{RIGHT_X}" y1="44" x2="{RIGHT_X}" y2="{height - 10}"/>',
    ]
    mid = (LEFT_X + RIGHT_X) // 2
    for i, row in enumerate(rows):
        p = row.packet
        y = TOP + i * ROW + 14
        to_right = p.src == left or (p.src != right and p.dst == right)
        x1, x2 = (LEFT_X, RIGHT_X) if to_right else (RIGHT_X, LEFT_X)
        if row.lost:  # the message was sent but nothing came of it: stop the arrow short
            x2 = x1 + (x2 - x1) * 3 // 4
        out.append(f'<g class="{e(row.css)}"><title>{e(p.source)} packet {p.number}: {e(p.summary())}</title>')
        out.append(f'<text class="time" x="8" y="{y + 4}">#{p.number} +{p.time - t0:.3f}s</text>')
        out.append(f'<text x="{mid}" y="{y - 4}" text-anchor="middle">{e(_clip(row.label))}</text>')
        out.append(f'<line class="m" x1="{x1}" y1="{y}" x2="{x2}" y2="{y}" marker-end="url(#sd-arrow)"/>')
        out.append(f'<text class="sub" x="{mid}" y="{y + 13}" text-anchor="middle">{e(_clip(row.sub))}</text>')
        if row.lost:
            out.append(f'<path class="x" d="M{x2 + 6},{y - 6} l10,12 m0,-12 l-10,12"/>')
        if row.tag:
            tx = RIGHT_X + 10 if to_right else LEFT_X - 10
            anchor = "start" if to_right else "end"
            if row.lost and to_right:
                tx = x2 + 22
            out.append(f'<text class="tag" x="{tx}" y="{y + 4}" text-anchor="{anchor}">{e(row.tag)}</text>')
        out.append("</g>")
    if hidden:
        y = TOP + len(rows) * ROW + 14
        out.append(f'<text class="sub" x="{mid}" y="{y}" text-anchor="middle">… {hidden} more not drawn</text>')
    if events:
        ex = WIDTH + 10
        out.append(f'<text class="peer" x="{ex}" y="20">log events</text>')
        for i, ev in enumerate(events):
            y = TOP + i * ROW + 18
            out.append(f'<text class="ev" x="{ex}" y="{y}">{e(_event_text(ev))}</text>')
    out.append("</svg>")
    return Markup("\n".join(out))
