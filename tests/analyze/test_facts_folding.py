"""How log events fold into facts: bounded memory (per signal and over all of them), exact counts,
and bare ``#N:`` lines tied to the connection their source named with that serial.

Lines are real pluto wordings: fixtures/realworld/017 (named, Libreswan 3.32 whack) and 043 (the
state-only ``#N:`` prefix, 3.25, as posted), put in pluto's logfile format.
"""
from __future__ import annotations

import json
import tracemalloc

import pytest

from swandoc import facts as F
from swandoc.facts import Facts, Signal
from swandoc.logparse.events import parse_message
from swandoc.model import LogEvent

from .conftest import fixture

STAMP = "Nov 26 21:32:5{}.{:06d}: "
BANNER = ("Starting Pluto (Libreswan Version 3.25 XFRM(netkey) KLIPS FORK PTHREAD_SETSCHEDPRIO NSS DNSSEC "
          "LIBCAP_NG XAUTH_PAM NETWORKMANAGER CURL(non-NSS)) pid:1234")
NAMED = ['"TestConn" #3: initiating IKEv2 IKE SA',
         '"TestConn" #6: STATE_PARENT_I2: sent v2I2, expected v2R2 {auth=IKEv2 cipher=AES_CBC_256 '
         'integ=HMAC_SHA2_256_128 prf=HMAC_SHA2_256 group=MODP1536}',
         '"OtherConn" #7: initiating IKEv2 IKE SA']


def bare_lines() -> list[str]:
    with open(fixture("realworld", "043-state-only-prefix-auth-failed-3.25.log")) as fh:
        return [line.rstrip("\n") for line in fh if line.strip()]


def pluto_log(messages: list[str]) -> str:
    return "".join(STAMP.format(n // 100000 % 10, n) + m + "\n" for n, m in enumerate(messages, 1))


def findings(swandoc, *paths) -> list[tuple[str, str | None]]:
    result = swandoc("analyze", *map(str, paths), "--format", "json")
    assert b"Traceback" not in result.stderr
    return [(f["id"], f["connection"]) for f in json.loads(result.stdout)["findings"]]


def event(text: str, source: str = "pluto.log", line: int = 1) -> LogEvent:
    body = text.split(": ", 1)[1] if text.startswith("Nov") else text
    e = parse_message(body, source=source, line=line, text=text, time=None)
    assert e is not None, text
    return e


# --- the serial tie ---------------------------------------------------------------------------

def test_bare_serial_line_joins_the_connection_named_with_that_serial(swandoc, tmp_path):
    log = tmp_path / "pluto.log"
    log.write_text(pluto_log([BANNER, *NAMED, *bare_lines()]))
    # Two connections: without the tie, 043's AUTHENTICATION_FAILED (#6) could be either one's.
    assert ("authentication-failed", "TestConn") in findings(swandoc, log)


def test_bare_serial_lines_alone_stay_unnamed(swandoc):
    assert ("authentication-failed", None) in findings(swandoc, fixture("realworld",
                                                                        "043-state-only-prefix-auth-failed-3.25.log"))


def test_a_restart_forgets_the_serials(swandoc, tmp_path):
    log = tmp_path / "pluto.log"
    log.write_text(pluto_log([BANNER, *NAMED, BANNER, *bare_lines()]))  # #6 of the new run is not TestConn's #6
    found = findings(swandoc, log)
    assert ("authentication-failed", None) in found and ("authentication-failed", "TestConn") not in found


def test_another_source_s_serials_are_not_borrowed(swandoc, tmp_path):
    (tmp_path / "a.log").write_text(pluto_log([BANNER, *NAMED]))
    (tmp_path / "b.log").write_text(pluto_log(bare_lines()))
    found = findings(swandoc, tmp_path / "a.log", tmp_path / "b.log")
    assert ("authentication-failed", "TestConn") not in found


def test_the_tie_is_per_host_and_source_and_bounded(monkeypatch):
    monkeypatch.setattr(F, "MAX_SERIALS", 4)
    facts = Facts()
    facts.add_event(event(NAMED[1]), host="east")  # TestConn #6, said by east
    bare = event("#6:  IKE SA authentication request rejected: AUTHENTICATION_FAILED")
    facts.add_event(bare, host="west")  # west's #6 is another state
    assert facts.conns[""].has("notify_received")
    facts.add_event(bare, host="east")
    assert facts.conns["TestConn"].has("notify_received")
    for serial in range(100, 110):  # more states than the map keeps: the oldest go first
        facts.add_event(event(f'"OtherConn" #{serial}: initiating IKEv2 IKE SA'), host="east")
    assert len(facts._serials[("pluto.log", "east")]) == 4
    facts.add_event(bare, host="east")
    assert facts.conns[""].get("notify_received", "AUTHENTICATION_FAILED@IKE_AUTH").count == 2


def test_focus_sees_through_the_tie():
    facts = Facts(focus="OtherConn")
    facts.add_event(event(NAMED[1]))
    facts.add_event(event("#6:  IKE SA authentication request rejected: AUTHENTICATION_FAILED"))
    assert "" not in facts.conns and facts.others_seen == {"TestConn"}


# --- one signal -------------------------------------------------------------------------------

def ev(n: int, text: str = "", detail: str | None = None, source: str = "pluto.log", kind: str = "retransmit",
       conn: str | None = "c") -> LogEvent:
    return LogEvent(kind, source, n, text or f"line {n}", conn=conn, detail=detail)


def test_signal_keeps_first_and_last_lines_exact_counts_and_sources():
    s = Signal("retransmit", None)
    for n in range(1, 1001):
        s.add(ev(n, detail=f"d{n % 40}", source="a.log" if n < 500 else "b.log"), n, host="east" if n % 2 else None)
    assert s.count == 1000 and (s.first_seq, s.last_seq) == (1, 1000)
    assert [(e.line, e.source, e.host) for e in s.lines()] == [
        (1, "a.log", "east"), (2, "a.log", None), (3, "a.log", "east"), (999, "b.log", "east"), (1000, "b.log", None)]
    assert s.sources == ("a.log", "b.log")
    assert list(s.values) == [f"d{i % 40}" for i in range(1, F.MAX_VALUES + 1)]  # the first 32 seen
    assert s.values["d1"] == 25  # counted exactly, all the way


def test_signal_values_bounded_by_characters():
    s = Signal("trouble", None)
    long = "x" * 1500
    for n in range(1, 10):
        s.add(ev(n, detail=f"{n}{long}"), n)
    assert len(s.values) == F.MAX_VALUE_CHARS // 1501 and sum(map(len, s.values)) <= F.MAX_VALUE_CHARS
    assert s.count == 9


def test_giant_line_is_cut_when_kept():
    s = Signal("trouble", None)
    giant = "y" * 60000
    for n in range(1, 7):
        s.add(ev(n, text=giant, detail=giant), n)
    assert all(len(e.text) == F.MAX_TEXT and e.text.endswith("...") for e in s.lines())
    assert len(s.first.detail) == F.MAX_TEXT and not s.values  # a 60,000-character detail is no value
    assert s.count == 6


# --- the budget over all signals ---------------------------------------------------------------

def hostile(facts: Facts, conns: int, qualifiers: int, text_len: int, start: int = 0, char: str = "z") -> int:
    """Every connection meets ever new ICMP texts (each its own signal), on long lines."""
    n = start
    for q in range(qualifiers):
        for c in range(conns):
            n += 1
            detail = f"{q:04d} " + char * text_len
            facts.add_event(LogEvent("icmp_error", "h.log", n, f"{n} " + detail, conn=f"c{c}", detail=detail))
    return n - start


def total_count(facts: Facts) -> int:
    return sum(s.count for c in facts.conns.values() for s in c.signals.values())


def test_budget_goes_lean_then_pools_and_never_loses_a_count(monkeypatch):
    monkeypatch.setattr(F, "LEAN_BUDGET", 400_000)
    monkeypatch.setattr(F, "FULL_BUDGET", 600_000)
    facts = Facts()
    fed = hostile(facts, conns=50, qualifiers=40, text_len=300)
    assert total_count(facts) == fed  # every event counted, somewhere
    assert facts.overflow_events and F.OVERFLOW in facts.conns
    pooled = facts.conns[F.OVERFLOW]
    assert len(pooled.signals) <= F.MAX_SIGNALS + 1
    # While the budget lasted a signal kept its values; once lean, no new ones, and lines cut.
    c0 = facts.conns["c0"]
    assert c0.get("icmp_error", c0.signals and next(iter(c0.signals))[1]).values
    lean = [s for c in facts.conns.values() for s in c.signals.values() if not s.values]
    assert lean and all(len(e.text) <= F.LEAN_TEXT for s in lean for e in s.lines())
    assert facts.held <= F.FULL_BUDGET + (F.MAX_SIGNALS + 1) * (F.SIGNAL_BYTES + 3 * (F.ITEM_BYTES + F.LEAN_TEXT))


def test_pooling_is_reported(monkeypatch):
    from swandoc.rules import run_rules
    monkeypatch.setattr(F, "LEAN_BUDGET", 100_000)
    monkeypatch.setattr(F, "FULL_BUDGET", 150_000)
    facts = Facts()
    hostile(facts, conns=20, qualifiers=40, text_len=200)
    pooled = [f for f in run_rules(facts) if f.id == "connections-pooled"]
    assert facts.budget_pooled and pooled and "memory budget" in pooled[0].explanation


@pytest.mark.parametrize("text_len", [150, 1500])
def test_held_is_what_the_signals_really_take(text_len):
    """Facts.held is the budget's yardstick: it must not under-count real memory (tracemalloc)."""
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    facts = Facts()
    for n in range(1, 12001):  # each event made here and dropped after: what stays is what facts keep
        facts.add_event(LogEvent("icmp_error", "h.log", n, f"{n} " + "t" * text_len, conn=f"conn-{n % 300}",
                                 detail=f"{n % 7} {n % 2000} " + "d" * (text_len // 3), peer="192.0.2.1", serial=n))
    facts._serials.clear()  # not part of the signals
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert facts.held * 1.3 >= used >= facts.held * 0.6, (facts.held, used)


@pytest.mark.parametrize("char", ["z", "\u00e9", "\U0001F600"])  # 1, 2 and 4 bytes a character in memory
def test_worst_case_stays_within_the_full_budget(monkeypatch, char):
    """Ever new connections and qualifiers on long lines: memory stops growing at the budget."""
    monkeypatch.setattr(F, "LEAN_BUDGET", 1_000_000)
    monkeypatch.setattr(F, "FULL_BUDGET", 1_500_000)
    # Past FULL_BUDGET only the pooled bucket can still grow: its MAX_SIGNALS (+ one per kind) signals.
    bound = F.FULL_BUDGET + (F.MAX_SIGNALS + 60) * (F.SIGNAL_BYTES + 5 * (F.ITEM_BYTES + F.LEAN_TEXT))
    tracemalloc.start()
    facts = Facts()
    used = []
    for phase in range(4):
        hostile(facts, conns=400, qualifiers=20, text_len=1900, start=phase * 10**6, char=char)
        used.append(tracemalloc.get_traced_memory()[0])
    tracemalloc.stop()
    assert facts.held <= bound and used[-1] <= bound * 1.3, (facts.held, used, bound)
    assert used[-1] - used[-2] < 0.02 * used[-2], used  # 8,000 more events, no more memory
    assert total_count(facts) == 4 * 400 * 20
