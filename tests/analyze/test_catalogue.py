"""The message catalogue (swandoc/logparse/messages.json) stays complete, and no trouble line is lost.

The catalogue holds every trouble-worded message scripts/extract-pluto-messages found in the
Libreswan sources at 3.25, 3.32, 4.6, 4.12, 5.0, 5.2, 5.4 and in Openswan 2.6.38 / 2.6.51, rendered
as pluto prints it. Each is mapped to the event swandoc makes of it, or ignored with a reason; these
tests fail when the parser and the catalogue disagree, so a change to a pattern that loses a message
(or a new tag with unmapped messages) is seen.
"""
from __future__ import annotations

import glob
import os
from collections import Counter

import pytest

from swandoc.analysis import analyze_paths
from swandoc.logparse import catalogue
from swandoc.logparse.envelope import is_other_program, strip_envelope
from swandoc.logparse.events import parse_message

from .conftest import fixture

ENTRIES = catalogue.load_entries()
VERSIONS = ("openswan-2.6.38", "openswan-2.6.51", "3.25", "3.32", "4.6", "4.12", "5.0", "5.2", "5.4")


def _kind(message: str) -> str | None:
    event = parse_message(message, source="catalogue", line=1, text=message, time=None)
    return event.kind if event else None


def test_catalogue_covers_every_version_family():
    per_version = Counter(v for e in ENTRIES for v in e["versions"])
    for version in VERSIONS:
        assert per_version[version] >= 300, f"{version}: only {per_version[version]} messages extracted"
    keys = [e["key"] for e in ENTRIES]
    assert len(keys) == len(set(keys)), "a key is used twice"


def test_every_message_is_mapped_or_ignored():
    wrong = []
    for e in ENTRIES:
        assert ("event" in e) != ("ignored" in e), e["key"]
        if "ignored" in e:
            assert e["ignored"].strip(), e["key"]
            if _kind(e["example"]) is not None:
                wrong.append((e["key"], "ignored", _kind(e["example"])))
        else:
            assert e["event"] != "unmapped", f"{e['key']}: decide: an event in events.py, or ignored with a reason"
            if _kind(e["example"]) != e["event"]:
                wrong.append((e["key"], e["event"], _kind(e["example"])))
    assert not wrong, f"{len(wrong)} catalogue entries disagree with the parser (key, catalogue, parser): {wrong[:10]}"


@pytest.mark.parametrize("prefix", ['"west" #1: ', '"west"[3] 198.51.100.7 #12: ', "packet from 198.51.100.7:500: ",
                                    "#12345: "])
def test_a_message_keeps_its_meaning_behind_every_object_prefix(prefix):
    """pluto puts a connection/state/packet prefix in front of most messages; the mapping must not change."""
    wrong = []
    for e in ENTRIES:
        if e["example"].startswith(('"', "#", "packet from")):
            continue  # already carries a prefix of its own
        expected = None if "ignored" in e else e["event"]
        got = _kind(prefix + e["example"])
        if got != expected:
            wrong.append((e["key"], expected, got))
    assert len(wrong) <= len(ENTRIES) // 100, f"{len(wrong)} messages change meaning behind {prefix!r}: {wrong[:10]}"


def test_no_extracted_message_is_lost_in_a_log(tmp_path):
    """Every non-ignored message of every version, as lines of a real pluto logfile, becomes an event."""
    kept = [e for e in ENTRIES if "ignored" not in e]
    log = tmp_path / "pluto.log"
    log.write_text("".join(f"Nov 26 21:42:{n % 60:02d}.{n:06d}: \"west\" #{n}: {e['example']}\n"
                           for n, e in enumerate(kept, 1)), encoding="utf-8")
    report = analyze_paths([str(log)])
    summary = report.sources[0]
    assert summary.unparsed == 0
    assert summary.events == len(kept)


def test_unknown_trouble_is_shown_last():
    """A trouble line no rule knows is reported (unrecognised-trouble, ranked last), never dropped."""
    import tempfile
    with tempfile.NamedTemporaryFile("w", suffix=".log", delete=False) as fh:
        fh.write('Nov 26 21:42:06.218334: "west" #1: initiating IKEv2 connection\n'
                 'Nov 26 21:42:06.218400: "west" #1: frobnication of the widget failed badly\n'
                 'Nov 26 21:42:07.000000: "west" #1: STATE_PARENT_I1: retransmission; will wait 0.5 seconds '
                 'for response\n')
    try:
        report = analyze_paths([fh.name])
    finally:
        os.unlink(fh.name)
    ids = [f.id for f in report.findings]
    assert ids[-1] == "unrecognised-trouble" and ids[0] == "ike-no-response", ids
    shown = report.findings[-1]
    assert any("frobnication" in e.text for e in shown.evidence)
    assert shown.severity in ("info", "warning")


FIXTURE_LOGS = sorted(set(glob.glob(fixture("lab", "*", "*.log")) + glob.glob(fixture("lab", "*", "*.txt"))
                          + glob.glob(fixture("realworld", "*.log")) + glob.glob(fixture("versions", "*.txt"))))


@pytest.mark.parametrize("path", FIXTURE_LOGS, ids=[os.path.relpath(p, fixture()) for p in FIXTURE_LOGS])
def test_no_trouble_line_of_a_real_log_is_dropped_by_its_envelope(path):
    """A line that reads like trouble is pluto's (an envelope is found), another program's, or shown to the
    user as a line that could not be parsed (a paste wrapped mid-line): never lost silently."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        lines = fh.read().splitlines()
    shown = {e.text for s in analyze_paths([path]).sources for e in s.unparsed_samples}
    lost = [line for line in lines if catalogue.TROUBLE.search(line) and not line.startswith("#")
            and strip_envelope(line) is None and not is_other_program(line) and line[:200] not in shown]
    assert not lost, lost[:5]


def test_the_fast_trouble_check_finds_every_line_the_pattern_finds():
    """looks_like_trouble (substring hints, then the pattern on the lower-cased line) == TROUBLE.search,
    on every catalogued message and every line of every fixture log."""
    texts = [entry["example"] for entry in ENTRIES]
    for path in FIXTURE_LOGS + sorted(glob.glob(fixture("lab5", "*", "*.log"))):
        with open(path, encoding="utf-8", errors="replace") as fh:
            texts.extend(fh.read().splitlines())
    differ = [t for t in texts if bool(catalogue.TROUBLE.search(t)) != catalogue.looks_like_trouble(t)]
    assert not differ, differ[:5]
    assert sum(1 for t in texts if catalogue.looks_like_trouble(t)) > 1000  # the check is not vacuous
