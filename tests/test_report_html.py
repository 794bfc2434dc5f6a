"""The HTML report: self-contained, escaped, verdict first, findings as cards."""
from __future__ import annotations

import re
import sys
from dataclasses import replace
from html.parser import HTMLParser

import pytest
from markupsafe import Markup

from swandoc.report import render
from swandoc.report.html import render_html
from swandoc.report.sample import XSS_ATTR, XSS_SCRIPT, sample_report


class TagCollector(HTMLParser):
    """Every start tag with its attributes, as a browser's tokenizer would see them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.script_text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.script_text.append(data)


def tags_of(html: str) -> TagCollector:
    parser = TagCollector()
    parser.feed(html)
    return parser


@pytest.fixture(scope="module")
def hostile_html() -> str:
    return render_html(sample_report(hostile=True, probes=True, command="diagnose"))


def test_hostile_text_is_escaped_everywhere(hostile_html):
    # The sample puts the payloads in a connection name, an IKE ID, evidence lines, a source name, a probe result.
    assert XSS_SCRIPT not in hostile_html
    assert XSS_ATTR not in hostile_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hostile_html
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in hostile_html
    parsed = tags_of(hostile_html)
    assert [t for t, _ in parsed.tags if t in ("img", "iframe", "object", "embed")] == []
    assert sum(1 for t, _ in parsed.tags if t == "script") == 1  # only our own copy-button script
    assert "alert" not in "".join(parsed.script_text)
    handlers = [(t, a) for t, attrs in parsed.tags for a in attrs if a.startswith("on")]
    assert handlers == []


def test_no_network_resources(hostile_html):
    for html in (hostile_html, render_html(sample_report())):
        assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.I)
        assert "@import" not in html and "url(" not in html
        for tag, attrs in tags_of(html).tags:
            assert "src" not in attrs, tag
            href = attrs.get("href")
            assert href is None or href.startswith("#"), (tag, href)


def test_verdict_banner_comes_before_findings():
    html = render_html(sample_report())
    banner = html.index('class="banner problems"')
    assert banner < html.index('id="finding-1"') < html.index('id="finding-2"') < html.index('id="finding-3"')
    assert "Most likely cause on connection &#34;west-east&#34;" in html[banner:html.index("</header>")]


def test_cards_carry_severity_side_evidence_fix_and_reference():
    html = render_html(sample_report())
    card = html[html.index('id="finding-1"'):html.index('id="finding-2"')]
    assert 'class="card error"' in html[html.index('id="finding-1"') - 40:html.index('id="finding-1"')]
    assert "ike-proposal-mismatch" in card and "<b>both ends</b>" in card
    assert '<span class="where">east.log:41:</span> Nov 26 20:44:33.364929:' in card
    assert '<pre>ike=aes_gcm256-sha2_256;dh19\nesp=aes_gcm256</pre><button type="button" class="copy">copy</button>' in card
    assert "<pre>ipsec auto --replace west-east</pre>" in card
    assert "Documentation: RHEL 9 &#34;Configuring a VPN with IPsec&#34; §4.13" in card
    second = html[html.index('id="finding-2"'):html.index('id="finding-3"')]
    assert "<b>the network between the peers</b>" in second


def test_inputs_table_and_probes():
    html = render_html(sample_report(probes=True, command="diagnose"))
    inputs = html[html.index("<h2>Inputs</h2>"):]
    assert '<td class="name">west.log</td>' in inputs
    assert '<td class="num">1234</td><td class="num">1200</td>' in inputs
    assert "line 777 was cut mid-line" in inputs
    probes = html[html.index("<h2>Probes</h2>"):html.index("<h2>Inputs</h2>")]
    assert '<td class="name">nft_ruleset</td><td class="status bad">failed</td>' in probes
    assert '<td class="name">whack_status</td><td class="status good">ok</td>' in probes
    assert "<h2>Probes</h2>" not in render_html(sample_report())


def test_ladder_section_tolerates_a_missing_ladder_module(monkeypatch):
    report = replace(sample_report(), extras=(("packets", ["p1", "p2"]),))
    monkeypatch.setitem(sys.modules, "swandoc.report.ladder", None)  # import now raises ImportError
    html = render_html(report)
    assert "IKE exchange (2 packets)" in html
    assert "cannot draw the ladder" in html
    assert "IKE exchange" not in render_html(sample_report())  # no packets, no section


def test_ladder_svg_is_embedded_as_markup(monkeypatch):
    import types
    module = types.ModuleType("swandoc.report.ladder")
    seen = []
    # A stand-in for the packets helper's renderer: the contract is packets in, Markup out.
    module.render_ladder_svg = lambda packets, events=(), flows=None: seen.append(packets) or Markup('<svg id="ladder"></svg>')
    monkeypatch.setitem(sys.modules, "swandoc.report.ladder", module)
    html = render_html(replace(sample_report(), extras=(("packets", ["p1"]),)))
    assert seen == [["p1"]]
    assert '<div class="ladder"><svg id="ladder"></svg></div>' in html


def test_a_failing_ladder_does_not_lose_the_report(monkeypatch):
    import types
    module = types.ModuleType("swandoc.report.ladder")

    def broken(packets, events=(), flows=None):
        raise ValueError("<b>odd packet</b>")
    module.render_ladder_svg = broken
    monkeypatch.setitem(sys.modules, "swandoc.report.ladder", module)
    html = render_html(replace(sample_report(), extras=(("packets", ["p1"]),)))
    assert "could not be drawn: ValueError" not in html
    assert "could not be drawn: &lt;b&gt;odd packet&lt;/b&gt;" in html
    assert 'id="finding-1"' in html


def test_render_dispatch():
    assert render(sample_report(), "html") == render_html(sample_report())


def test_long_evidence_folds_under_details():
    from swandoc.model import EvidenceLine
    sample = sample_report()
    many = tuple(EvidenceLine("big.log", n, f"line {n}") for n in range(1, 601))
    report = replace(sample, findings=(replace(sample.findings[0], evidence=many),))
    html = render_html(report)
    head, _, folded = html.partition('<details class="more"><summary>')
    assert "big.log:8:" in head and "big.log:9:" not in head
    assert folded.startswith("92 more evidence line(s) (and 500 not shown; see the JSON report)</summary>")
    assert "big.log:100:" in folded and "big.log:101:" not in folded


def test_many_findings_fold_beyond_the_cards_into_one_row_per_kind():
    """A big log's hundreds of findings: full cards for the likeliest, one folded row per kind for the rest."""
    from swandoc.model import EvidenceLine
    from swandoc.report.html import CARDS_MAX
    sample = sample_report()
    first = sample.findings[0]
    many = tuple(replace(first, connection=f"site{n:04d}<x>", evidence=(EvidenceLine("big.log", n, f"line {n}"),))
                 for n in range(CARDS_MAX + 300))
    html = render_html(replace(sample, findings=many))
    assert html.count('<section class="card') == CARDS_MAX
    assert "… and 300 more finding(s) of 1 kind(s), folded below" in html
    folded = html.partition('id="more-findings"')[2]
    assert "300 connection(s)" in folded and "site0239&lt;x&gt;" in folded and "site0239<x>" not in html
    assert "site0240" not in folded and "… and 100 more" in folded  # ROW_CONNECTIONS named, the rest counted
    assert len(html) < 200_000


def test_real_report_renders_self_contained():
    from pathlib import Path

    from swandoc.analysis import analyze_paths
    lab = Path(__file__).resolve().parent.parent / "fixtures" / "lab" / "ike-proposal-mismatch-v2"
    report = analyze_paths([str(lab / "west.log"), str(lab / "east.log"), str(lab / "west.pcap")])
    html = render_html(report)
    assert 'class="banner problems"' in html and "ike-proposal-mismatch" in html
    assert "NO_PROPOSAL_CHOSEN" in html and "&#34;lab&#34; #1:" in html
    assert "IKE exchange (" in html  # the capture's packets get their section
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.I)
