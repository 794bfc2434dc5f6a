"""Every way pluto's lines reach a user: each envelope on real lines, and the lab corpus in each.

The lab logs (fixtures/lab, pluto's logfile= output) are re-wrapped into every envelope a user
may paste — syslog, journalctl's output modes, whack output, NetworkManager's relay, lines cut
from their time and host — and each view must still name the same cause first. The single-line
tests use lines quoted from public reports (addresses in the comments).
"""
from __future__ import annotations

import datetime as dt
import doctest
import json
import os
import re

import pytest

from swandoc.analysis import analyze_paths
from swandoc.logparse import catalogue, envelope, events
from swandoc.logparse.envelope import strip_envelope

from .conftest import fixture
from .test_lab_fixtures import EXPECTED, PCAP

_LOGFILE = re.compile(r"([A-Z][a-z]{2}) ([ \d]\d) (\d\d:\d\d:\d\d)\.(\d{6}): (.*)")
_MONTHS = {m: i for i, m in enumerate(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                                        "Nov", "Dec"], 1)}
OTHERS = ["sshd[2201]: Accepted publickey for admin from 198.51.100.20 port 52144 ssh2",
          "sudo[2210]:    admin : TTY=pts/0 ; PWD=/root ; USER=root ; COMMAND=/usr/sbin/ipsec status",
          "CRON[2230]: pam_unix(cron:session): session opened for user root(uid=0)",
          "systemd-logind[611]: New session 42 of user admin."]


def _parts(line: str):
    m = _LOGFILE.match(line)
    if not m:
        return None
    mon, day, hms, frac, body = m.groups()
    h, mi, s = (int(x) for x in hms.split(":"))
    when = dt.datetime(2026, _MONTHS[mon], int(day), h, mi, s, int(frac), tzinfo=dt.timezone.utc)
    return when, body


def _render(kind: str, lines: list[str], host: str) -> str:
    out: list[str] = []
    n = 0
    for line in lines:
        parts = _parts(line)
        if parts is None:
            out.append(line)
            continue
        when, body = parts
        n += 1
        short = when.strftime("%b %d %H:%M:%S")
        if kind == "logfile-no-fraction":
            out.append(f"{when.strftime('%b')} {when.day:>2} {when.strftime('%H:%M:%S')}: {body}")
        elif kind in ("rsyslog", "auth.log"):
            out.append(f"{when.strftime('%b')} {when.day:>2} {when.strftime('%H:%M:%S')} {host} pluto[1683]: {body}")
            if kind == "auth.log" and n % 3 == 0:
                out.append(f"{when.strftime('%b')} {when.day:>2} {when.strftime('%H:%M:%S')} {host} "
                           f"{OTHERS[n % len(OTHERS)]}")
        elif kind == "rsyslog-precise":
            out.append(f"{when.isoformat()} {host} pluto[1683]: {body}")
        elif kind == "short":
            out.append(f"{short} {host} pluto[1683]: {body}")
        elif kind == "short-precise":
            out.append(f"{short}.{when.microsecond:06d} {host} pluto[1683]: {body}")
        elif kind == "short-iso":
            out.append(f"{when.strftime('%Y-%m-%dT%H:%M:%S%z')} {host} pluto[1683]: {body}")
        elif kind == "short-full":
            out.append(f"{when.strftime('%a %Y-%m-%d %H:%M:%S')} UTC {host} pluto[1683]: {body}")
        elif kind == "short-unix":
            out.append(f"{when.timestamp():.6f} {host} pluto[1683]: {body}")
        elif kind == "short-monotonic":
            out.append(f"[{n * 0.01 + 3.5:12.6f}] {host} pluto[1683]: {body}")
        elif kind == "cat":
            out.append(body)
        elif kind == "whack-codes":
            if not body.startswith("|"):  # whack never relays debug lines
                out.append(f"002 {body}")
        elif kind == "networkmanager":
            if not body.startswith("|"):
                out.append(f"{short} {host} NetworkManager[432]: 002 {body}")
            out.append(f"{short} {host} NetworkManager[432]: <info>  [1764189873.1854] vpn[0x55d0f1490130]: "
                       f"VPN plugin: state change reason: unknown (0)")
        elif kind == "bare-pid":
            out.append(f"pluto[1683]: {body}")
        elif kind == "host-pid":
            out.append(f"{host} pluto[1683]: {body}")
        elif kind == "json":
            out.append(json.dumps({"__REALTIME_TIMESTAMP": str(int(when.timestamp() * 1e6)), "_HOSTNAME": host,
                                   "SYSLOG_IDENTIFIER": "pluto", "_PID": "1683", "MESSAGE": body}))
        elif kind == "export":
            out.append(f"__CURSOR=s=1;i={n}\n__REALTIME_TIMESTAMP={int(when.timestamp() * 1e6)}\n"
                       f"_HOSTNAME={host}\nSYSLOG_IDENTIFIER=pluto\n_PID=1683\nMESSAGE={body}\n")
        else:
            raise AssertionError(kind)
    return "\n".join(out) + "\n"


ENVELOPES = ["logfile-no-fraction", "rsyslog", "rsyslog-precise", "auth.log", "short", "short-precise", "short-iso",
             "short-full", "short-unix", "short-monotonic", "cat", "json", "export", "whack-codes", "networkmanager",
             "bare-pid", "host-pid"]
CASES = [(scenario, view, expected, kind) for scenario, views in EXPECTED.items() for view, expected in views.items()
         if view != PCAP for kind in ENVELOPES]


@pytest.mark.parametrize("scenario,view,expected,kind", CASES,
                         ids=[f"{s}-{'+'.join(v)}-{k}" for s, v, _, k in CASES])
def test_lab_cause_first_in_every_envelope(tmp_path, scenario, view, expected, kind):
    paths = []
    for name in view:
        src = fixture("lab", scenario, name)
        if not os.path.exists(src):
            continue
        if not name.endswith(".log"):
            paths.append(src)  # whack console output stays what it is
            continue
        with open(src, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
        out = tmp_path / f"{name}.{kind}"
        out.write_text(_render(kind, lines, host=name.split(".")[0]), encoding="utf-8")
        paths.append(str(out))
    report = analyze_paths(paths)
    ids = [f.id for f in report.findings]
    assert ids and ids[0] == expected, f"{scenario} {view} as {kind}: got {ids}"
    for summary in report.sources:
        assert summary.unparsed == 0, f"{kind}: unparsed lines {summary.unparsed_samples[:3]}"


@pytest.mark.parametrize("scenario", ["ikev2-psk-mismatch", "udp500-blocked", "ts-mismatch"])
def test_excerpt_cut_mid_exchange(tmp_path, scenario):
    """A paste that starts in the middle of the exchange (no start-up, no 'initiating') still explains it."""
    expected = EXPECTED[scenario][("west.log", "west-whack.txt")]
    with open(fixture("lab", scenario, "west.log"), encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    start = next(i for i, line in enumerate(lines) if " #1: " in line)
    cut = [line for line in lines[start + 1:]]
    out = tmp_path / "excerpt.log"
    out.write_text("\n".join(cut) + "\n", encoding="utf-8")
    ids = [f.id for f in analyze_paths([str(out)]).findings]
    assert ids and ids[0] == expected, ids


# --- single real lines, one per envelope ---------------------------------------------------------------------

REAL_LINES = [
    # (line, envelope kind, pluto's message)
    # pluto logfile= with fractions (fixtures/lab) and without (Openswan/early Libreswan logfile=)
    ('Nov 26 21:42:06.218334: "west" #1: sent IKE_SA_INIT request', envelope.LOGFILE,
     '"west" #1: sent IKE_SA_INIT request'),
    ('Mar  1 03:44:29: "L2TP-PSK" #3: max number of retransmissions (2) reached STATE_MAIN_I1', envelope.LOGFILE,
     '"L2TP-PSK" #3: max number of retransmissions (2) reached STATE_MAIN_I1'),
    # rsyslog traditional (/var/log/secure, auth.log) -- github.com/libreswan/libreswan/issues/232
    ('Jan  8 17:04:06 R2-1500 pluto[26867]: "Link1" #1: STATE_MAIN_I2: sent MI2, expecting MR2', envelope.SYSLOG,
     '"Link1" #1: STATE_MAIN_I2: sent MI2, expecting MR2'),
    # rsyslog high precision
    ('2024-06-02T20:35:40.123456+02:00 vpn1 pluto[1683]: "west" #1: initiating IKEv2 connection', envelope.SYSLOG,
     '"west" #1: initiating IKEv2 connection'),
    # journalctl -o short-iso / short-full / short-unix / short-monotonic / localised short
    ('2024-11-04T14:32:39+0100 gw pluto[7402]: "vpn" #2: IPsec SA established', envelope.SYSLOG,
     '"vpn" #2: IPsec SA established'),
    ('Mon 2024-11-04 14:32:39 CET gw pluto[7402]: "vpn" #2: IPsec SA established', envelope.SYSLOG,
     '"vpn" #2: IPsec SA established'),
    ('1730727159.123456 gw pluto[7402]: "vpn" #2: IPsec SA established', envelope.SYSLOG,
     '"vpn" #2: IPsec SA established'),
    ('[ 5123.456789] gw pluto[7402]: "vpn" #2: IPsec SA established', envelope.SYSLOG,
     '"vpn" #2: IPsec SA established'),
    # localised month, github.com/libreswan/libreswan/issues/1343
    ('okt 21 21:05:46 HOST NetworkManager[329146]: 003 "04c6" #1: received Hash Payload does not match computed value',
     envelope.SYSLOG, '"04c6" #1: received Hash Payload does not match computed value'),
    # NetworkManager relaying whack's own error -- github.com/libreswan/libreswan/issues/306
    ('Jan 29 10:23:11 itsme NetworkManager[1056]: whack: Pluto is not running (no "/run/pluto/pluto.ctl")',
     envelope.SYSLOG, 'whack: Pluto is not running (no "/run/pluto/pluto.ctl")'),
    # libipsecconf / addconn while loading -- same report
    ("Jan 29 10:23:11 itsme addconn[6607]: warning: could not open include filename: '/etc/ipsec.d/*.conf'",
     envelope.SYSLOG, "warning: could not open include filename: '/etc/ipsec.d/*.conf'"),
    ("Jan 29 10:23:11 itsme libipsecconf[6607]: warning: could not open include filename: '/etc/ipsec.d/*.con'",
     envelope.SYSLOG, "warning: could not open include filename: '/etc/ipsec.d/*.con'"),
    ("Mar 11 09:00:01 gw ipsec_setup: Starting Libreswan IPsec U3.25/K4.15.0", envelope.SYSLOG,
     "Starting Libreswan IPsec U3.25/K4.15.0"),
    # whack output with and without numeric codes
    ('003 "west" #1: received Hash Payload does not match computed value', envelope.WHACK,
     '"west" #1: received Hash Payload does not match computed value'),
    ('"west" #1: initiating IKEv2 connection', envelope.BARE, '"west" #1: initiating IKEv2 connection'),
    # bare pluto[PID] lines, with and without the host
    ('pluto[1413]: "l2tp-psk": deleting non-instance connection', envelope.SYSLOG,
     '"l2tp-psk": deleting non-instance connection'),
    ('api pluto[1413]: "l2tp-psk": deleting non-instance connection', envelope.SYSLOG,
     '"l2tp-psk": deleting non-instance connection'),
    # state-only prefix
    ("#12345: STATE_MAIN_R1: retransmission; will wait 0.5 seconds for response", envelope.BARE,
     "#12345: STATE_MAIN_R1: retransmission; will wait 0.5 seconds for response"),
    # NetworkManager-l2tp's log of its children -- github.com/nm-l2tp/NetworkManager-l2tp/issues/15
    ('Jul 31 20:25:15 [pluto] "nm-ipsec-l2tp-5611" #1: STATE_MAIN_I3: sent MI3, expecting MR3', envelope.SYSLOG,
     '"nm-ipsec-l2tp-5611" #1: STATE_MAIN_I3: sent MI3, expecting MR3'),
    # quoted in a mail reply -- github.com/hwdsl2/setup-ipsec-vpn/issues/476
    ('> Nov  4 17:40:13 raspberrypi-external pluto[2367]: "l2tp-psk"[1] 172.58.95.105 #1: STATE_MAIN_R1: sent MR1, '
     'expecting MI2', envelope.SYSLOG, '"l2tp-psk"[1] 172.58.95.105 #1: STATE_MAIN_R1: sent MR1, expecting MI2'),
    # OpenWrt logread
    ('Tue Sep 24 15:00:03 2024 authpriv.warn pluto[24873]: "x" #1: IPsec SA established', envelope.SYSLOG,
     '"x" #1: IPsec SA established'),
]


@pytest.mark.parametrize("line,kind,body", REAL_LINES)
def test_real_line_envelope(line, kind, body):
    env = strip_envelope(line)
    assert env is not None and env.kind == kind and env.body == body


@pytest.mark.parametrize("line", [
    "Jun  2 20:35:41 vpn1 sshd[2001]: Accepted publickey for root from 198.51.100.20 port 52144 ssh2",
    "Jan 29 10:23:11 itsme NetworkManager[1056]: <info>  [1580282591.1854] audit: op=\"connection-activate\"",
    "Jan 29 10:23:11 itsme systemd[1]: Starting Internet Key Exchange (IKE) Protocol Daemon for IPsec...",
])
def test_other_programs_are_not_pluto(line):
    assert strip_envelope(line) is None and envelope.is_other_program(line)


def test_state_only_prefix_keeps_the_serial():
    e = events.parse_message("#7: STATE_MAIN_I1: retransmission; will wait 1 seconds for response",
                             source="s", line=1, text="", time=None)
    assert e.kind == "retransmit" and e.serial == 7 and e.state == "MAIN_I1"


@pytest.mark.parametrize("module", [envelope, events, catalogue])
def test_docstring_samples(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


def test_networkmanager_journal_records_carry_plutos_lines(tmp_path):
    """journalctl -o json of NetworkManager-libreswan: whack output relayed under NetworkManager's identifier."""
    records = [
        {"__REALTIME_TIMESTAMP": "1764189726000000", "SYSLOG_IDENTIFIER": "NetworkManager",
         "MESSAGE": "<info>  [1764189726.0001] vpn[0x55d0f1490130,\"office\"]: starting libreswan"},
        {"__REALTIME_TIMESTAMP": "1764189726100000", "SYSLOG_IDENTIFIER": "NetworkManager",
         "MESSAGE": '003 "office" #1: received Hash Payload does not match computed value'},
        {"__REALTIME_TIMESTAMP": "1764189726200000", "SYSLOG_IDENTIFIER": "NetworkManager",
         "MESSAGE": '223 "office" #1: sending notification INVALID_HASH_INFORMATION to 192.0.2.2:500'},
    ]
    path = tmp_path / "nm.json"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    report = analyze_paths([str(path)])
    assert report.findings[0].id == "ikev1-psk-mismatch"
    assert report.sources[0].other_lines == 1


def _fixture_lines():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "fixtures"
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix not in (".pcap", ".gz", ".xz", ".tar", ".json"):
            yield from path.read_bytes().decode("utf-8", "replace").splitlines()


def test_the_syslog_shortcut_reads_a_line_as_strip_envelope_does():
    # feed_text_lines tries envelope.PLUTO_SYSLOG before strip_envelope: where it matches, the two must
    # agree, on every line of every fixture and on lines near the shape (other hosts, programs, times,
    # spacing, non-ASCII, quotes, whack codes in the body).
    near = ["Jun  2 20:35:40 vpn1 pluto[1683]: \"west\" #1: x", "Jun 12 20:35:40.123456 vpn-1.lan pluto[7]: ",
            "Jun  2 20:35:40 vpn1 pluto[1683]: 010 \"west\" #1: x", "Jun  2 20:35:40 vpn1 pluto[X]: x",
            "Jun  2 20:35:40  vpn1 pluto[1683]: x", "Jun 2 20:35:40 vpn1 pluto[1683]: x",
            "Jun  2 20:35:40 vpn1 pluto[1683]:x", "Jun  2 20:35:40 vpn\u00e91 pluto[1683]: x",
            "Jun  2 20:35:40 vpn1 pluto[\u0661]: x", "Jun  2 20:35:40: vpn1 pluto[1683]: x",
            "Jun  2 20:35:40 vpn1 ipsec[1683]: x", "Jun  2 20:35:40 vpn1 NetworkManager[1]: 003 \"vpn\" #1: x",
            "> Jun  2 20:35:40 vpn1 pluto[1683]: x", "juni  2 20:35:40 vpn1 pluto[1683]: x",
            "Jun  2 20:35:40 vpn1 pluto[1683]: x\r", "Jun  2 20:35:40 vpn1 pluto[1683]: | debug",
            "Jun  2 20:35:40 vpn1 pluto[1683]: a\nb", "JUN  2 20:35:40 vpn1 pluto[1683]: x"]
    lines = list(_fixture_lines())
    # and every logfile= line of the fixtures as pluto's syslog would have written it
    rewrapped = [f"{m[1]} {m[2]} {m[3]} gw-1.example pluto[4242]: {m[5]}" for m in map(_LOGFILE.match, lines) if m]
    matched = 0
    for line in [*near, *lines, *rewrapped]:
        m = envelope.PLUTO_SYSLOG.match(line)
        if m:
            matched += 1
            assert strip_envelope(line) == envelope.Envelope(envelope.SYSLOG, m.group(1), m.group(2)), line
    assert matched > 10_000 and len(rewrapped) > 10_000  # the comparison proves something
