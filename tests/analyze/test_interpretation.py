"""Why before what: the same symptom means different causes depending on what came before it.

Each case is real pluto output: lab runs (fixtures/lab, Libreswan 4.10) cut the way people paste
them, and public reports (fixtures/realworld, with their source in corpus.json).
"""
from __future__ import annotations

import pytest

from swandoc.analysis import analyze_paths

from .conftest import fixture


def _ids(tmp_path, lines: list[str]) -> list[str]:
    path = tmp_path / "excerpt.log"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [f.id for f in analyze_paths([str(path)]).findings]


def _lab(scenario: str, name: str) -> list[str]:
    with open(fixture("lab", scenario, name), encoding="utf-8") as fh:
        return fh.read().splitlines()


def test_ikev1_no_proposal_after_quick_mode_began_is_phase2(tmp_path):
    """IKEv1 NO_PROPOSAL_CHOSEN once Quick Mode began is a Child SA (ESP) mismatch, even when the paste
    starts after the 'ISAKMP SA established' line."""
    lines = _lab("esp-proposal-mismatch-v1", "west.log")
    start = next(i for i, line in enumerate(lines) if "sent Quick Mode request" in line)
    assert _ids(tmp_path, lines[start:])[0] == "child-proposal-mismatch"


def test_responder_without_a_connection_is_not_a_proposal_mismatch():
    """'no suitable connection' then NO_PROPOSAL_CHOSEN: the answer is about the missing connection."""
    report = analyze_paths([fixture("realworld", "010-cert-not-in-nss-debian-3.27.log")])
    ids = [f.id for f in report.findings]
    assert "ike-proposal-mismatch" not in ids
    assert ids[0] == "connection-not-loaded" and "no-matching-connection" in ids


def test_responder_answering_the_same_first_message_is_not_heard():
    ids = [f.id for f in analyze_paths([fixture("realworld", "016-responder-repeats-mr1-firewall.log")]).findings]
    assert ids[0] == "ike-no-response"
    finding = analyze_paths([fixture("realworld", "016-responder-repeats-mr1-firewall.log")]).findings[0]
    assert finding.side == "path" and "return path" in finding.explanation


def test_load_reason_ranks_above_not_loaded(tmp_path):
    """The conn failed to load because of ikev1-policy: that reason comes first, 'not loaded' after it."""
    east = [line for line in _lab("ikev1-policy", "east.log")]
    ids = _ids(tmp_path, east + ['Nov 26 21:42:10.000000: no connection named "lab"'])
    assert ids.index("ikev1-disabled") < ids.index("connection-not-loaded"), ids


def test_crash_after_a_fatal_kernel_error_is_its_consequence():
    ids = [f.id for f in analyze_paths([fixture("realworld", "040-kernel-no-ipsec-fatal-at-start-4x.log")]).findings]
    assert ids[0] == "kernel-ipsec-unsupported" and "pluto-crashed" in ids


def test_crash_names_the_version_and_what_to_collect():
    report = analyze_paths([fixture("realworld", "004-assertion-at-startup-3.21.log")])
    crash = report.findings[0]
    assert crash.id == "pluto-crashed" and crash.severity == "critical"
    assert "3.21" in crash.explanation and "bug" in crash.explanation
    assert any("core" in step for step in crash.fix) and any("libreswan/issues" in step for step in crash.fix)


@pytest.mark.parametrize("line,expected", [
    # Openswan 2.6 / Libreswan 3.x wordings for the same causes
    ("we require peer to have ID '195.210.50.155', but peer declares '10.10.3.1'", "ikev1-id-mismatch"),
    ('"c" #3: we require IKEv1 peer to have ID \'@gw\', but peer declares \'10.0.0.5\'', "ikev1-id-mismatch"),
    ("\"c\" #1: no suitable connection for peer '10.10.3.1'", "ikev1-id-mismatch"),
    ('"xauth" #4: XAUTH: User bob: Authentication Failed: Incorrect Username or Password', "xauth-failed"),
    ('"xauth" #4: XAUTH: unable to open password file (/etc/ipsec.d/passwd) for verification', "xauth-failed"),
    ('"c": We cannot identify ourselves with either end of this connection.', "connection-unoriented"),
    ('"c" #1: No matching PSK found for connection: c', "secret-not-found"),
    ('"c" #1: Can\'t authenticate: no preshared key found for `@a\' and `@b\'.  Attribute OAKLEY_AUTHENTICATION_METHOD',
     "secret-not-found"),
    ("packet from 198.51.100.33:500: initial Main Mode message received on 192.0.2.10:500 but no connection has been "
     "authorized with policy=PSK", "no-matching-connection"),
    ('"c" #2: cannot respond to IPsec SA request because no connection is known for 10.1.0.0/16===192.0.2.1...'
     '198.51.100.7===10.2.0.0/16', "ts-unacceptable"),
])
def test_older_wordings(tmp_path, line, expected):
    assert _ids(tmp_path, [line])[0] == expected


# Real lines (addresses replaced by documentation ranges): github.com/hwdsl2/docker-ipsec-vpn-server/issues/57
REFUSED_THEN_ANSWERED = [
    'Feb 22 19:01:55 63e180cacf32 pluto[2747]: "l2tp-psk"[1] 198.51.100.9 #1: responding to Main Mode from unknown '
    'peer 198.51.100.9 on port 500',
    'Feb 22 19:01:55 63e180cacf32 pluto[2747]: "l2tp-psk"[1] 198.51.100.9 #1: Oakley Transform [AES_CBC (256), '
    'HMAC_SHA1, DH20] refused',
    'Feb 22 19:01:55 63e180cacf32 pluto[2747]: "l2tp-psk"[1] 198.51.100.9 #1: STATE_MAIN_R1: sent MR1, expecting MI2',
    'Feb 22 19:01:56 63e180cacf32 pluto[2747]: "l2tp-psk"[1] 198.51.100.9 #1: retransmitting in response to duplicate '
    'packet; already STATE_MAIN_R1',
    'Feb 22 19:02:55 63e180cacf32 pluto[2747]: "l2tp-psk"[1] 198.51.100.9 #1: deleting incomplete state after 60.000 '
    'seconds',
]
# github.com/sarfata/voodooprivacy/issues/14
RESPONDER_GAVE_UP_AT_R1 = [
    'Oct 28 07:27:27 ip-172-31-1-24 pluto[2650]: "vpnpsk"[3] 198.51.100.7 #6: STATE_MAIN_R1: sent MR1, expecting MI2',
    'Oct 28 07:28:37 ip-172-31-1-24 pluto[2650]: "vpnpsk"[3] 198.51.100.7 #6: max number of retransmissions (2) '
    'reached STATE_MAIN_R1',
]


def test_a_refused_transform_before_an_accepted_one_is_not_a_mismatch(tmp_path):
    """IKEv1 logs each transform it refuses before it accepts one; MR1 was sent, so one matched."""
    ids = _ids(tmp_path, REFUSED_THEN_ANSWERED)
    assert "ike-proposal-mismatch" not in ids and ids[0] == "ike-no-response", ids


def test_refused_transforms_alone_are_a_mismatch(tmp_path):
    ids = _ids(tmp_path, REFUSED_THEN_ANSWERED[:2])
    assert ids[0] == "ike-proposal-mismatch", ids


def test_responder_that_gave_up_after_its_first_answer_is_not_heard(tmp_path):
    assert _ids(tmp_path, RESPONDER_GAVE_UP_AT_R1)[0] == "ike-no-response"
