"""The ladder SVG: shape, markings, and escaping of peer-controlled text."""
from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from pathlib import Path

from markupsafe import Markup

from swandoc.analysis import analyze_paths
from swandoc.logparse.capture import read_packets
from swandoc.model import LogEvent
from swandoc.report import render
from swandoc.report.ladder import MAX_ROWS, render_ladder_svg

PCAPS = Path(__file__).resolve().parent.parent / "fixtures" / "pcap"
SVG = "{http://www.w3.org/2000/svg}"
XSS = "<script>alert(1)</script>"


def packets(name: str):
    return read_packets(str(PCAPS / name), name)[0]


def parse(svg: Markup) -> ET.Element:
    """Well-formed XML or the test fails: broken escaping shows up here first."""
    return ET.fromstring(str(svg))


def texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def test_ladder_of_an_unreachable_peer():
    svg = render_ladder_svg(packets("lab-responder-down.pcap"))
    assert isinstance(svg, Markup)
    root = parse(svg)
    labels = texts(root)
    assert labels[0] == "192.0.2.1" and labels[1] == "192.0.2.2"  # initiator left, peer right
    assert sum(t == "IKEv2 IKE_SA_INIT request msgid=0" for t in labels) == 5
    assert sum(t == "ICMP port unreachable" for t in labels) == 5
    assert "retransmit 3, no response" in labels and "no response" in labels
    groups = [g.get("class") for g in root.iter(f"{SVG}g")]
    assert groups.count("icmp") == 5 and "req retx lost" in groups
    # arrows: requests point right, the ICMP errors come back left
    lines = [ln for ln in root.iter(f"{SVG}line") if ln.get("class") == "m"]
    assert int(lines[0].get("x1")) < int(lines[0].get("x2"))
    assert int(lines[1].get("x1")) > int(lines[1].get("x2"))


def test_ladder_marks_responses_and_notifies():
    labels = texts(parse(render_ladder_svg(packets("ikev2-tcp-rfc8229.pcap"))))
    assert "IKEv2 IKE_SA_INIT response msgid=0" in labels
    assert any("NO_PROPOSAL_CHOSEN" in t for t in labels)
    assert "TCP SYN" in labels


def test_ikev1_roles_come_from_the_pairing():
    labels = texts(parse(render_ladder_svg(packets("ikev1-main-aggressive.pcap"))))
    assert labels.count("IKEv1 Main Mode request msgid=0") == 3
    assert labels.count("IKEv1 Main Mode response msgid=0") == 3


def test_esp_runs_collapse_into_one_arrow():
    labels = texts(parse(render_ladder_svg(packets("esp-one-way.pcap"))))
    assert labels.count("ESP") == 6  # each ESP is followed by an ICMP error, so no run here
    root = parse(render_ladder_svg([p for p in packets("esp-one-way.pcap") if p.kind == "esp"]))
    assert texts(root).count("ESP") == 1 and "x6" in texts(root)


def test_peer_controlled_text_is_escaped():
    """A hostile IKEv1 ID (real capture) and a hostile notify/event text must stay text."""
    ikev1 = packets("ikev1-main-aggressive.pcap")
    hostile = dataclasses.replace(packets("lab-healthy.pcap")[1], notifies=(XSS, 'x" onload="alert(2)'))
    event = LogEvent(kind="notify_received", source="pluto.log", line=7, text='#1: <img src=x onerror=alert(3)>')
    svg = str(render_ladder_svg([*ikev1, hostile], events=[event]))
    assert "<script" not in svg and "<img" not in svg and 'onload="' not in svg
    assert "&lt;script&gt;alert(&#39;id&#39;)&lt;/script&gt;" in svg
    root = parse(Markup(svg))
    joined = "\n".join(texts(root))
    assert "<script>alert('id')</script>@example.net" in joined  # shown to the reader as text
    assert XSS in joined and "pluto.log:7 #1: <img src=x onerror=alert(3)>" in joined
    assert not list(root.iter(f"{SVG}script"))


def test_html_report_of_a_pcap_carries_the_escaped_ladder():
    report = analyze_paths([str(PCAPS / "ikev1-main-aggressive.pcap")])
    html = render(report, "html")
    assert "<svg" in html and "IKEv1 Aggressive request" in html
    assert "<script>alert(" not in html
    assert "&lt;script&gt;alert(&#39;id&#39;)" in html


def test_many_packets_are_capped():
    many = packets("lab-udp500-blocked.pcap") * 40
    many = [dataclasses.replace(p, number=i + 1) for i, p in enumerate(many)]
    root = parse(render_ladder_svg(many))
    assert len([g for g in root.iter(f"{SVG}g")]) == MAX_ROWS
    assert any("more not drawn" in t for t in texts(root))


def test_nothing_to_draw():
    assert render_ladder_svg([]) == Markup("")
