"""The journal probe against a real systemd-journald.

The test machine has no journald running (no systemd as PID 1), so each test starts a
private one in its own mount namespace (tmpfs over /run/systemd and /run/log): the host's
journal is neither read nor written.
"""
from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.lab

JOURNALD = "/lib/systemd/systemd-journald"

SCRIPT = """
set -e
mount -t tmpfs none /run/systemd
mount -t tmpfs none /run/log
mkdir -p /run/systemd/journal
{journald} &
JPID=$!
trap 'kill $JPID' EXIT
for i in $(seq 100); do [ -S /run/systemd/journal/socket ] && break; sleep 0.05; done
{python} -c "$PROBE"
"""

PROBE = textwrap.dedent("""
    import json, sys, time
    from systemd import journal
    from swandoc.probes.journal import read_journal
    journal.send("not ours", SYSLOG_IDENTIFIER="sshd")
    journal.send(sys.argv[1] if len(sys.argv) > 1 else "{token}", SYSLOG_IDENTIFIER="pluto")
    for since in ("{since}",):
        for _ in range(40):
            ev = read_journal(since)
            if ev.available and "{token}" in ev.text():
                break
            time.sleep(0.1)
        print(json.dumps({{"origin": ev.origin, "error": ev.error, "text": ev.text(), "meta": dict(ev.meta)}}))
""")


def run_probe(since: str) -> dict:
    token = f"swandoc-journal-{secrets.token_hex(4)}"
    out = run_in_private_journal(PROBE.format(token=token, since=since))
    out["token"] = token
    return out


def run_in_private_journal(probe: str) -> dict:
    """Run *probe* (Python) against a journald of its own in a private mount namespace; its JSON result."""
    if os.geteuid() != 0:
        pytest.fail("the journal test needs root (a private mount namespace and journald)")
    if not os.path.exists(JOURNALD):
        pytest.fail(f"{JOURNALD} is needed (Debian package systemd)")
    env = {**os.environ, "PROBE": probe,
           "PYTHONPATH": os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))}
    result = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                             SCRIPT.format(journald=JOURNALD, python=sys.executable)],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_journal_api_reads_only_pluto_lines():
    out = run_probe("-5min")
    assert out["origin"].startswith("journal SYSLOG_IDENTIFIER=pluto"), out
    records = [json.loads(line) for line in out["text"].splitlines()]
    assert [r["MESSAGE"] for r in records] == [out["token"]]
    assert records[0]["SYSLOG_IDENTIFIER"] == "pluto" and records[0]["__REALTIME_TIMESTAMP"].isdigit()


def test_since_syntax_only_journalctl_knows_is_handed_to_it():
    out = run_probe("2020-01-01 00:00:00.000")  # fractional seconds: not parse_since's
    assert out["origin"].startswith("journalctl"), out
    messages = [json.loads(line)["MESSAGE"] for line in out["text"].splitlines()]
    assert messages == [out["token"]]


NEWEST_PROBE = textwrap.dedent("""
    import json, time
    from systemd import journal
    import swandoc.probes.journal as probe
    probe.MAX_RECORDS = 5  # the same code path as 50 000 records, in a test-sized window
    for n in range(12):
        journal.send(f"{token} line {{n}}", SYSLOG_IDENTIFIER="pluto")
    for _ in range(40):
        ev = probe.read_journal("-5min")
        if ev.available and "{token} line 11" in ev.text():
            break
        time.sleep(0.1)
    print(json.dumps({{"error": ev.error, "text": ev.text(), "meta": dict(ev.meta)}}))
""")


def test_a_window_over_the_limit_keeps_the_newest_records_and_says_so():
    """The fresh failure is at the end of the window: it must be what is kept."""
    token = f"swandoc-journal-{secrets.token_hex(4)}"
    out = run_in_private_journal(NEWEST_PROBE.format(token=token))
    messages = [json.loads(line)["MESSAGE"] for line in out["text"].splitlines()]
    assert messages == [f"{token} line {n}" for n in range(7, 12)]
    assert out["meta"]["records"] == "5"
    assert out["meta"]["truncated"] == "kept the newest 5 of 12 records; the 7 oldest in the window were left out"


def test_a_window_under_the_limit_is_not_marked_truncated():
    out = run_probe("-5min")
    assert out["error"] is None
    assert out["meta"] == {"records": "1"}
