"""The terminal report: verdict first, findings in order, copyable fixes, inputs, probes."""
from __future__ import annotations

from dataclasses import replace

from swandoc.model import EvidenceLine, Report, SourceSummary
from swandoc.report import render
from swandoc.report.sample import sample_report
from swandoc.report.text import render_text
from swandoc.report.wording import split_fix_step, truncate


def test_verdict_and_reason_come_first():
    lines = render_text(sample_report()).splitlines()
    assert lines[0] == "swandoc analyze: PROBLEMS"
    assert lines[1].startswith('Most likely cause on connection "west-east": IKE proposal mismatch')


def test_findings_in_rank_order_with_plain_side_words():
    text = render_text(sample_report())
    first, second, third = (text.index(head) for head in ("1. ERROR  ike-proposal-mismatch",
                                                          "2. WARNING  ike-no-response", "3. INFO  tunnel-up"))
    assert first < second < third
    assert "where:      the network between the peers" in text  # side "path", in words
    assert "where:      both ends" in text


def test_evidence_has_source_and_line_and_long_lines_are_cut_in_the_middle():
    text = render_text(sample_report())
    assert "     east.log:41: Nov 26 20:44:33.364929: \"west-east\" #1: responding to IKE_SA_INIT" in text
    long_line = next(l for l in text.splitlines() if "east.log:39:" in l)
    assert "…[" in long_line and len(long_line) < 240
    assert long_line.rstrip().endswith("x")  # the end of the line survives


def test_fix_commands_are_indented_alone_on_their_line_for_copying():
    lines = render_text(sample_report()).splitlines()
    assert "          ike=aes_gcm256-sha2_256;dh19" in lines
    assert "          esp=aes_gcm256" in lines
    assert "          ipsec auto --replace west-east" in lines
    assert "   3.     ipsec auto --up west-east" in lines
    assert "          iptables -I INPUT -p udp -m multiport --dports 500,4500 -j ACCEPT" in lines


def test_inputs_section_with_unparsed_samples_and_notes():
    text = render_text(sample_report())
    inputs = text[text.index("Inputs:"):]
    assert "detected as: pluto-log, Libreswan 4.10" in inputs
    assert "lines read: 1234   pluto: 1200   debug: 950   unparsed: 3" in inputs
    assert 'west.log:777: Nov 26 20:44:33.555: "west-east" #2: half a li' in inputs
    assert "third sample" not in inputs  # two samples are enough at 3 a.m.
    assert "note: line 777 was cut mid-line" in inputs
    assert "packets: 14" in inputs


def test_no_unparsed_samples_when_count_is_zero():
    src = SourceSummary(name="a.log", kind="pluto-log", lines=3, pluto_lines=3, unparsed=0,
                        unparsed_samples=[EvidenceLine("a.log", 1, "stale sample")])
    report = replace(sample_report(), sources=(src,))
    assert "stale sample" not in render_text(report)


def test_terminal_control_characters_are_made_visible():
    text = render_text(sample_report(hostile=True))
    assert "\x1b" not in text
    assert "\\x1b[31mnot a pluto line" in text


def test_probes_are_listed_for_diagnose():
    text = render_text(sample_report(probes=True, command="diagnose"))
    probes = text[text.index("Probes:"):text.index("Inputs:")]
    assert "nft_ruleset    FAILED  could not parse: Expecting value: line 1 column 1 (char 0) [nft -j list ruleset]" \
        in probes
    assert "ike_capture    FAILED  capture needs root (CAP_NET_RAW) [capture on eth0]" in probes


def test_healthy_and_inconclusive_verdicts_say_why():
    sample = sample_report()
    healthy = replace(sample, verdict="healthy", findings=(sample.findings[2],))
    assert render_text(healthy).splitlines()[:2] == ["swandoc analyze: HEALTHY",
                                                    'Established and no problem seen: "north-south".']
    nothing = Report("0.1.0", "analyze", "2026-11-26T00:00:00+00:00", "inconclusive", (),
                     (SourceSummary(name="x.txt", kind="text", lines=10, unparsed=10),))
    lines = render_text(nothing).splitlines()
    assert lines[0] == "swandoc analyze: INCONCLUSIVE"
    assert "No pluto lines were found" in lines[1]


def test_render_dispatch_and_no_colour():
    text = render(sample_report(probes=True), "text")
    assert text == render_text(sample_report(probes=True))
    assert "\x1b[" not in text


def test_split_fix_step_shapes():
    assert split_fix_step("Restart: systemctl restart ipsec") == ("Restart:", ("systemctl restart ipsec",), "")
    assert split_fix_step("leftid=@west") == ("", ("leftid=@west",), "")
    assert split_fix_step("Set on both ends:\n    ike=aes256-sha2\n      # indented more") == (
        "Set on both ends:", ("ike=aes256-sha2", "  # indented more"), "")
    assert split_fix_step("Ask the peer's admin which algorithms they accept.") == (
        "Ask the peer's admin which algorithms they accept.", (), "")
    # Inline commands end where the sentence resumes; notes in parentheses stay prose.
    assert split_fix_step("Look at the counters: cat /proc/net/xfrm_stat (any non-zero value is a problem)") == (
        "Look at the counters:", ("cat /proc/net/xfrm_stat",), "(any non-zero value is a problem)")
    assert split_fix_step("Agree on one proposal, for example ike=aes_gcm256-sha2_512-dh19 on both") == (
        "Agree on one proposal, for example", ("ike=aes_gcm256-sha2_512-dh19",), "on both")
    assert split_fix_step('Match the IDs, e.g. @west @east : PSK "the same secret", then reread') == (
        "Match the IDs, e.g.", ('@west @east : PSK "the same secret"',), "then reread")
    assert split_fix_step("Capture: tcpdump -n esp or udp port 500 or udp port 4500") == (
        "Capture:", ("tcpdump -n esp or udp port 500 or udp port 4500",), "")
    assert split_fix_step("Open it: firewall-cmd --reload, or iptables -I INPUT -p esp -j ACCEPT")[1] == (
        "firewall-cmd --reload",)
    # A sentence that merely mentions a setting stays one sentence.
    assert split_fix_step("Reload both ends (ipsec auto --add NAME) and retry")[1] == ()


def test_truncate_keeps_both_ends():
    s = "A" * 100 + "B" * 300 + "Z" * 50
    t = truncate(s, 200)
    assert t.startswith("A" * 100) and t.endswith("Z" * 50) and len(t) <= 210
    assert truncate("short", 200) == "short"


def test_long_evidence_is_counted_not_dumped():
    sample = sample_report()
    many = tuple(EvidenceLine("big.log", n, f"line {n}") for n in range(1, 31))
    text = render_text(replace(sample, findings=(replace(sample.findings[0], evidence=many),)))
    assert "big.log:10: line 10" in text and "big.log:11:" not in text
    assert "... and 20 more line(s); --format html or json lists them all" in text


def test_real_report_reads_top_down():
    from pathlib import Path

    from swandoc.analysis import analyze_paths
    lab = Path(__file__).resolve().parent.parent / "fixtures" / "lab" / "ike-proposal-mismatch-v2"
    text = render_text(analyze_paths([str(lab / "west.log"), str(lab / "east.log")]))
    lines = text.splitlines()
    assert lines[0] == "swandoc analyze: PROBLEMS"
    assert lines[1].startswith('Most likely cause on connection "lab":')
    assert "1. ERROR  ike-proposal-mismatch" in text
    assert text.index("Evidence:") < text.index("Fix:") < text.index("See: RHEL 9") < text.index("Inputs:")
    assert "ike-proposal-mismatch-v2/east.log:" in text and "NO_PROPOSAL_CHOSEN" in text
    assert "detected as: pluto-log, Libreswan 4.10" in text
