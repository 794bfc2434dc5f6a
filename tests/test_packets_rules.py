"""Packet rules on real captures, directly and through `swandoc analyze X.pcap`."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from swandoc.facts import Facts
from swandoc.evidence import FILE, Evidence, Origin
from swandoc.logparse.capture import feed_capture
from swandoc.rules import run_rules

ROOT = Path(__file__).resolve().parent.parent
PCAPS = ROOT / "fixtures" / "pcap"
PACKET_IDS = {"ike-no-response", "peer-unreachable", "nat-t-blocked", "large-packets-dropped", "esp-one-way"}


def findings(*names: str):
    facts = Facts()
    for name in names:
        feed_capture(Evidence("ike_capture", None, name, where=Origin(FILE, name), path=str(PCAPS / name)), facts)
    return run_rules(facts)


def ids(*names: str) -> list[str]:
    return [f.id for f in findings(*names)]


def analyze(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "swandoc", "analyze", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("name, expected", [
    ("lab-udp500-blocked.pcap", "ike-no-response"),
    ("lab-responder-down.pcap", "peer-unreachable"),
    ("ipv6-port-unreachable.pcap", "peer-unreachable"),
    ("lab-nat-t-blocked.pcap", "nat-t-blocked"),
    ("lab-large-packets-dropped.pcap", "large-packets-dropped"),
    ("ikev2-fragments-unanswered.pcap", "large-packets-dropped"),
    ("esp-one-way.pcap", "esp-one-way"),
])
def test_each_fault_gives_its_finding_first(name, expected):
    found = ids(name)
    assert found and found[0] == expected, found


@pytest.mark.parametrize("name", ["lab-healthy.pcap", "lab-nat-healthy.pcap", "lab-tcp-encap.pcap",
                                  "ikev2-tcp-rfc8229.pcap", "ikev1-main-aggressive.pcap", "esp-both-ways.pcap"])
def test_no_packet_finding_when_the_wire_is_fine(name):
    assert not PACKET_IDS & set(ids(name))


def test_icmp_errors_are_not_also_reported_as_silence():
    assert "ike-no-response" not in ids("lab-responder-down.pcap")


def test_nat_t_blocked_is_not_mistaken_for_large_packets():
    found = ids("lab-nat-t-blocked.pcap")
    assert "nat-t-blocked" in found and "large-packets-dropped" not in found


def test_evidence_lines_name_the_capture_and_packet_numbers():
    f = next(f for f in findings("lab-udp500-blocked.pcap") if f.id == "ike-no-response")
    assert f.connection is None
    assert [(e.source, e.line) for e in f.evidence[:4]] == [("lab-udp500-blocked.pcap", n) for n in (1, 2, 3, 4)]
    assert f.evidence[3].text.startswith("192.0.2.1:500 -> 192.0.2.2:500 IKEv2 IKE_SA_INIT request msgid=0")
    assert f.evidence[3].text.endswith("(retransmit 3) - no response")
    assert "192.0.2.2" in f.explanation


def test_nat_t_blocked_evidence_shows_the_answered_init_then_silence_on_4500():
    f = next(f for f in findings("lab-nat-t-blocked.pcap") if f.id == "nat-t-blocked")
    texts = [e.text for e in f.evidence]
    assert "IKE_SA_INIT response" in texts[1] and ":500 " in texts[1]
    assert all(":4500" in t and "IKE_AUTH request" in t for t in texts[2:])
    assert texts[-1].endswith("- no response")
    assert f.fix and f.reference and f.title


def test_large_packets_explains_the_size():
    f = next(f for f in findings("lab-large-packets-dropped.pcap") if f.id == "large-packets-dropped")
    assert "1500 bytes" in f.explanation and "IP fragments" in f.explanation
    g = next(f for f in findings("ikev2-fragments-unanswered.pcap") if f.id == "large-packets-dropped")
    assert "RFC 7383" in g.explanation and "3 time(s)" in g.explanation


def test_esp_one_way_names_the_direction():
    f = next(f for f in findings("esp-one-way.pcap") if f.id == "esp-one-way")
    assert dict(f.details)["from"] == "192.0.2.1" and dict(f.details)["packets"] == "6"
    assert f.severity == "warning"


@pytest.mark.parametrize("name, expected", [
    ("lab-udp500-blocked.pcap", "ike-no-response"),
    ("lab-responder-down.pcap", "peer-unreachable"),
    ("lab-nat-t-blocked.pcap", "nat-t-blocked"),
])
def test_analyze_cli_on_a_pcap(name, expected):
    proc = analyze(str(PCAPS / name), "--format", "json")
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert report["findings"][0]["id"] == expected
    assert report["inputs"][0]["kind"] == "pcap" and report["packet_count"] > 0
    assert "Traceback" not in proc.stderr


def test_analyze_cli_text_on_a_pcapng():
    proc = analyze(str(PCAPS / "lab-healthy.pcapng"))
    # A clean exchange on the wire, but IKE_AUTH is encrypted: whether it succeeded is not in a capture
    # alone, so the verdict is inconclusive (exit 4), not healthy (0).
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "packets: 4" in proc.stdout


@pytest.mark.parametrize("name", ["corrupt-header-only.pcap", "corrupt-garbage.pcap"])
def test_analyze_cli_corrupt_pcap_exits_2_with_one_line(name):
    proc = analyze(str(PCAPS / name))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("swandoc: error:") and "pcap" in lines[0], proc.stderr
    assert proc.stdout == ""
