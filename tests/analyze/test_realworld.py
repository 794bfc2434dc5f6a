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
    '001-psk-mismatch-bare-message.log':
        'format not read: a bare message line without timestamp or pluto prefix',
    '002-unoriented-whack-3.27.log':
        "cause missing from catalogue: connection-unoriented ('We cannot identify ourselves with either end'); nothing is reported at all",
    '003-unoriented-openswan-whack.log':
        'cause missing from catalogue: connection-unoriented (Openswan 2.6 whack wording)',
    '004-assertion-at-startup-3.21.log':
        'cause missing from catalogue: pluto-crashed (ABORT: ASSERTION FAILED)',
    '005-segfault-plutorun-3.16.log':
        'cause missing from catalogue: pluto-crashed; format not read: ipsec__plutorun and kernel segfault lines',
    '006-systemd-abrt-4.7.log':
        'cause missing from catalogue: pluto-crashed; format not read: systemd lines without timestamp',
    '007-assertion-pid-only-4.7.log':
        "cause missing from catalogue: pluto-crashed; format not read: '[PID]:' with the program name stripped",
    '008-assertion-plutorun-4.6.log':
        "cause missing from catalogue: pluto-crashed; format not read: 'pluto[X]:' with no timestamp",
    '009-no-lock-dir-stderr.log':
        "format not read: pluto's own stderr ('pluto: FATAL: ...'); wording unknown: lock dir failure",
    '010-cert-not-in-nss-debian-3.27.log':
        "interpretation: the conn did not load (certificate not in NSS DB), so 'no suitable connection' + NO_PROPOSAL_CHOSEN is not a proposal mismatch",
    '011-oakley-refused-bare.log':
        'format not read: bare message lines without any prefix',
    '014-id-mismatch-old-wording-bare.log':
        "format not read: bare message line; wording unknown: pre-3.16 'we require peer to have ID'; cause missing from catalogue: ikev1-id-mismatch",
    '016-responder-repeats-mr1-firewall.log':
        'interpretation: a responder that keeps restarting Main Mode R1 is not being answered (ike-no-response on the path back)',
    '018-ike-auth-no-proposal-email-quote.log':
        "format not read: whack line quoted in an e-mail reply ('> ' prefix, wrapped)",
    '020-config-syntax-polish-month.log':
        'format not read: journal line with a non-English month and ipsec[PID] program; cause missing from catalogue: config-syntax-error (proposed)',
    '021-config-syntax-addconn-nethserver.log':
        "cause missing from catalogue: config-syntax-error (proposed); format not read: 'addconn:' program prefix",
    '022-id-mismatch-fqdn-indented.log':
        'format not read: indented bare message lines; cause missing from catalogue: ikev1-id-mismatch',
    '023-fatal-assertion-systemd-5.1.log':
        "cause missing from catalogue: pluto-crashed ('FATAL: ASSERTION FAILED', systemd core-dump); format not read: journal line with the host removed",
    '024-coredumpctl-segv-5.0.log':
        'cause missing from catalogue: pluto-crashed; format not read: coredumpctl output',
    '025-no-proposal-chosen-bare-5x.log':
        "format not read: bare 'pluto[PID]:' line without timestamp or host",
    '027-openswan-abort-keys-c.log':
        "cause missing from catalogue: pluto-crashed (Openswan 'ABORT at file:line'); format not read: bare line",
    '028-openswan-segfault-kernel.log':
        "cause missing from catalogue: pluto-crashed (kernel segfault line, 'Segmentation fault (core dumped)')",
    '029-openswan-abort-alg-info-authlog.log':
        "cause missing from catalogue: pluto-crashed (Openswan 'ABORT at file:line')",
    '031-assertion-after-timeout-4.10.log':
        'cause missing from catalogue: pluto-crashed; interpretation: the ABORT must rank above the liveness timeout that preceded it',
    '032-rsa-key-not-in-nss-whack.log':
        "wording unknown: 'Can't find the certificate or private key from the NSS CKA_ID' / 'Failed to find our RSA key' (3.x); nothing is reported",
    '033-modp1024-refused-email-joined.log':
        'format not read: several syslog records joined into one e-mail-quoted line',
    '034-v2-no-proposal-mixed-whack-syslog.log':
        'interpretation (not decidable from this end alone): the initiator only sees NO_PROPOSAL_CHOSEN; the thread shows the responder had no IKEv2 connection',
    '035-no-connection-authorized-logfile-nofrac.log':
        "format not read: pluto logfile timestamps without fractional seconds ('Aug  8 15:51:06: ...'); reported as input-not-understood",
    '037-nm-l2tp-036-modp1024-not-supported.log':
        "format not read: nm-l2tp-service debug output with a bare whack '036 Failed to add connection ...' reply; only unparsed-lines is reported",
    '040-kernel-no-ipsec-fatal-at-start-4x.log':
        "cause missing from catalogue: kernel-ipsec-unsupported (proposed); wording unknown: 'FATAL ERROR: kernel: could not insert ... bypass policy' - swandoc reports NO finding at all (silent)",
    '041-init-netlink-config-xfrm-docker-mac.log':
        "cause missing from catalogue: kernel-ipsec-unsupported (proposed); format not read: bare 'pluto[PID]:' lines",
    '042-responder-mr1-duplicates-bare-messages.log':
        'format not read: bare pluto messages without connection name or state number; only unparsed-lines is reported',
    '043-state-only-prefix-auth-failed-3.25.log':
        "format not read: state-only '#N:' prefixes without timestamp or connection name",
    '044-segfault-after-oakley-refused-iso-3.20.log':
        "cause missing from catalogue: pluto-crashed; interpretation: the kernel 'segfault ... in pluto' and plutorun 'exited with error status 139' must outrank the refused Oakley transform that triggered the crash",
    '045-kernel-segfault-lines-only-3.20.log':
        'cause missing from catalogue: pluto-crashed; format not read: syslog with only kernel ring-buffer lines',
    '046-no-matching-psk-whack-3x.log':
        "wording unknown: 'No matching PSK found for connection' / 'Failed to find our PreShared Key' in whack output - swandoc reports NO finding at all (silent)",
    '047-secrets-record-boundary-nm-l2tp-whack.log':
        "wording unknown: secrets-file parse error ('... .secrets\" line 1: expected record boundary in key') means no PSK was loaded; format not read: bare whack '002/003' replies with blank lines between - swandoc reports NO finding at all (silent)",
    '048-psk-mismatch-malformed-payload-bare.log':
        "format not read: a single bare message line ('probable authentication failure (mismatch of preshared secrets?): malformed payload in packet'); reported as input-not-understood",
    '049-nss-abi-abort-networkmanager-journal-3.32.log':
        "cause missing from catalogue: pluto-crashed (audit 'ANOM_ABEND ... comm=\"pluto\" ... sig=6'); format not read: NetworkManager[PID]: whack lines and libipsecconf lines in the journal - swandoc reports NO finding at all (silent)",
    '050-esp-sha2-512-unsupported-conn-not-added-rpi.log':
        "wording unknown: 3.x 'Failed to add connection \"X\", esp=\"...\" is invalid: ESP integrity algorithm ... is not supported' - swandoc reports NO finding at all (silent)",
    '051-unoriented-journal-nethserver-3.23.log':
        "cause missing from catalogue: connection-unoriented ('We cannot identify ourselves with either end of this connection' in the journal) - swandoc reports NO finding at all (silent)",
    '052-pluto-not-running-whack-4.6.log':
        "format not read: a shell prompt plus whack's 'Pluto is not running (no \"/run/pluto/pluto.ctl\")' without any pluto line; only unparsed-lines is reported",
    '053-pfs-no-with-esp-dh-conn-not-added-wrapped-3.25.log':
        "format not read: a bare 'Failed to add connection ... is invalid' message wrapped mid-word onto two lines; reported as input-not-understood",
    '054-xfrm-stat-missing-fatal-5.2.log':
        "cause missing from catalogue: kernel-ipsec-unsupported (proposed); wording unknown: 5.x 'FATAL ERROR: no XFRM kernel support detected, missing /proc/net/xfrm_stat' - swandoc reports NO finding at all (silent)",
    '055-unbound-libevent-abort-openwrt-3.32.log':
        "cause missing from catalogue: pluto-crashed ('ABORT: ASSERTION FAILED' then the shell's 'Aborted'); format not read: pluto stderr with logfile-style timestamps; only unparsed-lines is reported",
    '056-getentropy-old-kernel-fatal-assertion-5x.log':
        "cause missing from catalogue: pluto-crashed (5.x 'FATAL: ASSERTION FAILED', 'Aborted'); format not read: libunbound's bracketed-epoch line and pluto stderr; only unparsed-lines is reported",
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
