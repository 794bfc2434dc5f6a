"""Real pluto logs that admins posted publicly: swandoc must name the cause the thread resolved first.

The corpus (fixtures/realworld/, see its README) is the measuring stick for issue 9: every entry is an
excerpt as posted, labelled with the cause the thread itself settled on, never with what swandoc says.
This file does not grade swandoc gently: each entry asserts the top finding. Entries swandoc gets wrong
today are listed in KNOWN_MISSES (here, not in corpus.json) and marked xfail(strict=True), so a fix
that makes one pass fails the suite until its line here is deleted - the list only ever shrinks.

`scripts/realworld-score` prints the same comparison entry by entry, with the hit rate.
"""
from __future__ import annotations

import json
import os

import pytest

from swandoc.analysis import analyze_paths

from .conftest import fixture

CORPUS_DIR = fixture("realworld")
CORPUS = fixture("realworld", "corpus.json")

# Findings about the input itself, not about the tunnel: they never count as the diagnosis.
INPUT_NOTES = {"unparsed-lines", "connections-pooled", "xfrm-stats-unavailable"}

# file -> why swandoc misses it today (format not read / wording unknown / cause missing from the
# catalogue / interpretation). Delete a line when the entry passes; strict xfail makes that visible.
KNOWN_MISSES: dict[str, str] = {
    '034-v2-no-proposal-mixed-whack-syslog.log':
        "interpretation limit: only the initiator's side is in the excerpt, and a Libreswan responder answers "
        "NO_PROPOSAL_CHOSEN to IKE_SA_INIT both when no algorithms match and when it has no IKEv2 connection; "
        "the responder's 'no suitable connection' line (the issue title) is not in the paste. swandoc reports "
        "ike-proposal-mismatch and says in its explanation that the responder may have no connection",
    '058-netlink-bad-fd-then-assertion-fnos-docker-5.3.log':
        "interpretation: the decisive 'socket() in init_netlink(): Protocol not supported (errno 93)' line, which the "
        "maintainer quoted, lies in a part of the paste the index did not serve; what is left is XFRM flush writes "
        "failing with 'Bad file descriptor' (the netlink socket never opened) and the shutdown assertion that follows, "
        "so swandoc names pluto-crashed first instead of kernel-ipsec-unsupported",
}


def load_corpus() -> list[dict]:
    with open(CORPUS, encoding="utf-8") as fh:
        return json.load(fh)


def top_finding(report) -> str:
    """The root cause swandoc names first, skipping info notes about the input (unparsed lines...)."""
    for f in report.findings:
        if f.severity == "info" and f.id in INPUT_NOTES:
            continue
        return f.id
    return "(none)"


def diagnose(entry: dict) -> tuple[str, list[str]]:
    report = analyze_paths([os.path.join(CORPUS_DIR, entry["file"])])
    return top_finding(report), [f.id for f in report.findings]


def _params():
    out = []
    for entry in load_corpus():
        marks = []
        if entry["file"] in KNOWN_MISSES:
            marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_MISSES[entry["file"]]))
        out.append(pytest.param(entry, id=entry["file"], marks=marks))
    return out


@pytest.mark.parametrize("entry", _params())
def test_labelled_cause_first(entry):
    got, ids = diagnose(entry)
    assert got == entry["label"], f"{entry['file']}: expected {entry['label']}, swandoc says {ids}"


def test_corpus_is_well_formed():
    """Every entry names an existing excerpt, a source, a family and a label; every excerpt is indexed."""
    entries = load_corpus()
    files = {e["file"] for e in entries}
    assert len(files) == len(entries), "an excerpt is indexed twice"
    on_disk = {f for f in os.listdir(CORPUS_DIR) if f.endswith(".log")}
    assert files == on_disk, f"indexed but missing: {files - on_disk}; on disk but not indexed: {on_disk - files}"
    for e in entries:
        assert e["source_url"].startswith("https://"), e["file"]
        assert e["family"] in {"3", "4", "5", "openswan"}, e["file"]
        assert e["roles"] in {"initiator", "responder", "both", "unknown"}, e["file"]
        assert e["label"] and e["resolution"] and e["version"] and e["format"], e["file"]
    assert set(KNOWN_MISSES) <= files, f"KNOWN_MISSES names files not in the corpus: {set(KNOWN_MISSES) - files}"


def test_hit_rate(capsys):
    """The aggregate figure the issue is judged by; printed so `pytest -s` and CI logs show it."""
    entries = load_corpus()
    hits = sum(diagnose(e)[0] == e["label"] for e in entries)
    with capsys.disabled():
        print(f"\nreal-world corpus: {hits}/{len(entries)} labelled cause first ({100.0 * hits / len(entries):.1f} %)")
    # The known misses are exactly the entries that miss; anything else is a regression or a new pass.
    assert hits == len(entries) - len(KNOWN_MISSES)
