"""logparse/events.py works out what a message text means once and remembers it (the prefix only says
whose it is): the memo must change nothing but the time, and stay bounded."""
from __future__ import annotations

from pathlib import Path

from swandoc.logparse import envelope, events

LAB = Path(__file__).resolve().parents[2] / "fixtures" / "lab"


def _events(lines: list[str]) -> list:
    out = []
    for n, line in enumerate(lines, 1):
        env = envelope.strip_envelope(line)
        if env is not None:
            out.append(events.parse_message(env.body, source="x", line=n, text=line, time=env.time))
    return out


def test_remembered_meanings_give_the_same_events(monkeypatch):
    lines = [l for p in sorted(LAB.glob("*/*.log")) for l in p.read_text(errors="replace").splitlines()]
    monkeypatch.setattr(events, "_MEANINGS", events._Memo())
    first = _events(lines)  # fills the memo
    again = _events(lines)  # every text remembered
    monkeypatch.setattr(events, "MEANINGS_MAX", 0)  # nothing remembered: every text worked out anew
    cold = _events(lines)
    assert first == again == cold
    assert sum(e is not None for e in first) > 1000


def test_memo_is_bounded(monkeypatch):
    monkeypatch.setattr(events, "_MEANINGS", events._Memo())
    monkeypatch.setattr(events, "MEANINGS_MAX", 50)
    for n in range(500):
        events.parse_message(f'"c{n}" #{n}: STATE_MAIN_I1: retransmission; will wait {n} seconds for response',
                             source="x", line=n, text="", time=None)
    assert 0 < len(events._MEANINGS) <= 50


def test_the_connection_name_says_whose_not_what():
    # A connection named like trouble does not make its routine lines trouble; its real trouble still is.
    routine = events.parse_message('"failed-rejected" #3: sent IKE_SA_INIT request to 192.0.2.1:500',
                                   source="x", line=1, text="", time=None)
    assert routine.kind == "sent" and routine.conn == "failed-rejected"
    chatter = events.parse_message('"cannot-fail" #4: Dead Peer Detection (RFC 3706): enabled',
                                   source="x", line=2, text="", time=None)
    assert chatter is None
    trouble = events.parse_message('"cannot-fail" #4: frobnication failed badly', source="x", line=3, text="",
                                   time=None)
    assert trouble.kind == "trouble" and trouble.conn == "cannot-fail"
    # "ERROR: " before the connection's name is part of what the line says
    assert events.parse_message('ERROR: "c" #5: something odd happened', source="x", line=4, text="",
                                time=None).kind == "trouble"
