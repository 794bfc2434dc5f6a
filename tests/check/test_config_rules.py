"""swandoc check on real configuration files: the RHEL 9 guide's examples, one-change bad variants,
the lab's recorded config pairs (fixtures/check/README.md says where each file comes from)."""
from __future__ import annotations

import doctest
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from swandoc.check import algorithms, confsource, conn, hostcheck, run_check, secrets
from swandoc.errors import SwandocError

ROOT = Path(__file__).resolve().parents[2]
F = ROOT / "fixtures" / "check"
LAB = ROOT / "fixtures" / "lab"
CHECK_IDS = {"weak-psk", "ppk-not-configured", "ikev1-gcm-ike", "algorithm-not-allowed", "tcp-encap-one-sided",
             "nic-offload-unsupported", "config-syntax-error", "obsolete-option", "crypto-policy-not-included",
             "ike-proposal-mismatch", "child-proposal-mismatch", "ts-unacceptable", "authentication-failed",
             "ike-version-mismatch", "ikev1-disabled", "secret-not-found", "ikev1-psk-mismatch",
             "no-matching-connection", "pfs-mismatch", "encapsulation-mismatch", "fragmentation-mismatch",
             "ppk-needs-ikev2", "weak-ppk", "secrets-file-error"}


def ids(report, problems_only=True):
    return [f.id for f in report.findings if not problems_only or f.severity != "info"]


@pytest.mark.parametrize("module", [algorithms, confsource, hostcheck, secrets, conn])
def test_docstring_samples(module):
    result = doctest.testmod(module)
    assert result.failed == 0


@pytest.mark.parametrize("name", ["rhel9-host-to-host", "rhel9-site-to-site", "rhel9-opt-out", "rhel9-tcp-client",
                                  "rhel9-tcp-server", "rhel9-ppk"])
def test_the_guides_examples_are_clean(name):
    report = run_check(str(F / f"{name}.conf"), host=False)
    assert ids(report) == [], [f.explanation for f in report.findings]
    assert report.exit_code == 0


@pytest.mark.parametrize(("conf", "secrets_file", "expected", "source", "line"), [
    ("bad/ikev1-gcm-ike.conf", None, "ikev1-gcm-ike", "bad/ikev1-gcm-ike.conf", 11),
    ("bad/algorithm-not-allowed.conf", None, "algorithm-not-allowed", "bad/algorithm-not-allowed.conf", 11),
    ("bad/obsolete-option.conf", None, "obsolete-option", "bad/obsolete-option.conf", 13),
    ("bad/config-syntax-error.conf", None, "config-syntax-error", "bad/config-syntax-error.conf", 2),
    ("rhel9-opt-out.conf", "bad/weak-psk.secrets", "weak-psk", "bad/weak-psk.secrets", 1),
    ("rhel9-ppk.conf", "bad/ppk-not-configured.secrets", "ppk-not-configured", "rhel9-ppk.conf", 7),
])
def test_each_bad_file_gets_its_id_with_file_and_line(conf, secrets_file, expected, source, line):
    report = run_check(str(F / conf), str(F / secrets_file) if secrets_file else None, host=False)
    assert ids(report)[0] == expected, ids(report)
    first = report.findings[0]
    assert first.predicted is False
    assert any(e.line == line and e.source.endswith(source) for e in first.evidence), first.evidence
    assert report.exit_code == 1


def test_syntax_error_names_every_bad_line():
    report = run_check(str(F / "bad/config-syntax-error.conf"), host=False)
    lines = {e.line for f in report.findings if f.id == "config-syntax-error" for e in f.evidence}
    assert {2, 10} <= lines  # the unindented option, the made-up keyword auto-start


def test_unquoted_value_with_spaces_is_a_syntax_error(tmp_path):
    # The guide prints its RSA keys elided with spaces ("0sAQO... [...] ...=="): as is, pluto refuses it.
    text = (F / "rhel9-host-to-host.conf").read_text().replace('"0sAQOrlo', "0sAQOrlo").replace('vuIQ=="', "vuIQ==")
    (tmp_path / "h.conf").write_text(text)
    report = run_check(str(tmp_path / "h.conf"), host=False)
    assert ids(report) == ["config-syntax-error"]
    assert [e.line for e in report.findings[0].evidence] == [7]


def test_weak_psk_is_never_printed():
    psk = "Tr0ub4dor&3x"
    for fmt in ("text", "json", "html"):
        from swandoc.report import render
        out = render(run_check(str(F / "rhel9-opt-out.conf"), str(F / "bad/weak-psk.secrets"), host=False), fmt)
        assert psk not in out and "Tr0ub4dor" not in out
        assert "weak-psk" in out


def test_the_guides_ppk_example_is_word_like():
    report = run_check(str(F / "rhel9-ppk.conf"), str(F / "rhel9-ppk.secrets"), host=False)
    assert ids(report) == ["weak-ppk"]


def test_ppk_with_ikev1(tmp_path):
    (tmp_path / "c.conf").write_text((F / "rhel9-opt-out.conf").read_text() + "  ppk=insist\n")
    assert "ppk-needs-ikev2" in ids(run_check(str(tmp_path / "c.conf"), host=False))


def test_fips_makes_chacha_not_allowed(tmp_path):
    from swandoc.check.rules import End, check_end

    text = (F / "rhel9-opt-out.conf").read_text().replace("esp=aes_gcm,aes-sha2,aes-sha1", "esp=chacha20_poly1305")
    (tmp_path / "c.conf").write_text(text)
    doc = confsource.read_config(str(tmp_path / "c.conf"))
    assert [f.id for f in check_end(End(doc, version=4, fips=False))] == []
    found = check_end(End(doc, version=4, fips=True))
    assert [f.id for f in found] == ["algorithm-not-allowed"]
    assert "CHACHA20_POLY1305" in found[0].explanation


def test_fips_minimum_psk_length(tmp_path):
    from swandoc.check.rules import End, check_end

    (tmp_path / "s").write_text('@west @east : PSK "aB3$dE6&gH9*jK2@mN5!pQ"\n')  # 22 bytes: fine outside FIPS
    doc = confsource.read_config(str(F / "rhel9-ppk.conf"))
    sec = secrets.read_secrets(str(tmp_path / "s"))
    assert [f.id for f in check_end(End(doc, sec, version=4)) if f.id == "weak-psk"] == []
    fips = [f for f in check_end(End(doc, sec, version=4, fips=True)) if f.id == "weak-psk"]
    assert fips and fips[0].severity == "error"  # the IKEv2 default PRFs include SHA2-512: 32 bytes needed


def test_crypto_policy_include_missing(tmp_path):
    from swandoc.check.rules import End, check_end

    doc = confsource.read_config(str(F / "rhel9-tcp-server.conf"))
    assert [f.id for f in check_end(End(doc), policy_file_exists=True)] == ["crypto-policy-not-included"]
    assert [f.id for f in check_end(End(doc), policy_file_exists=False)] == []
    # an include whose file is not on this machine: the DEFAULT policy's proposals stand in
    (tmp_path / "p.conf").write_text("include /nonexistent/crypto-policies/back-ends/libreswan.config\n"
                                     + (F / "rhel9-tcp-server.conf").read_text())
    view = conn.resolve(confsource.read_config(str(tmp_path / "p.conf")), "mytunnel")
    assert view.policy == "DEFAULT" and view.proposal_text("ike") == "crypto-policy DEFAULT default"


def test_tcp_encap_one_sided_pair():
    report = run_check(str(F / "rhel9-tcp-client.conf"), peer_config=str(F / "bad/tcp-encap-one-sided-server.conf"),
                       host=False)
    assert ids(report) == ["tcp-encap-one-sided"]
    f = report.findings[0]
    assert f.predicted and {Path(e.source).name for e in f.evidence} == {"rhel9-tcp-client.conf",
                                                                         "tcp-encap-one-sided-server.conf"}
    assert ids(run_check(str(F / "rhel9-tcp-client.conf"), peer_config=str(F / "rhel9-tcp-server.conf"),
                         host=False)) == []


def test_a_clean_pair_gets_none_of_the_ids():
    d = LAB / "healthy"
    report = run_check(str(d / "west.conf"), str(d / "west.secrets"), peer_config=str(d / "east.conf"),
                       peer_secrets=str(d / "east.secrets"), host=False)
    assert not {f.id for f in report.findings} & CHECK_IDS, [f.id for f in report.findings]
    assert report.exit_code == 0 and report.verdict == "healthy"


def test_different_psks_compared_without_showing_either(tmp_path):
    d = LAB / "ikev2-psk-mismatch"
    report = run_check(str(d / "west.conf"), str(d / "west.secrets"), peer_config=str(d / "east.conf"),
                       peer_secrets=str(d / "east.secrets"), host=False)
    assert ids(report) == ["authentication-failed"] and report.findings[0].predicted
    from swandoc.lab.scenarios import LAB_PSK, OTHER_PSK
    from swandoc.report import render
    for fmt in ("text", "json", "html"):
        out = render(report, fmt)
        assert LAB_PSK not in out and OTHER_PSK not in out
    assert json.loads(render(report, "json"))["findings"][0]["predicted"] is True


def test_unreadable_input_is_one_line_exit_2(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "swandoc", "check", "--config", str(tmp_path / "nope.conf")],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "nope.conf" in proc.stderr
    with pytest.raises(SwandocError):
        run_check(str(F / "rhel9-opt-out.conf"), conn="nosuch", host=False)


def test_help_has_examples():
    proc = subprocess.run([sys.executable, "-m", "swandoc", "check", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "--peer-config" in proc.stdout and "Examples:" in proc.stdout


def test_addconn_checkconfig_of_the_installed_libreswan(tmp_path):
    """The real `ipsec addconn --checkconfig` (Libreswan 4.10 here) on a bad file: file:line in the finding."""
    if shutil.which("ipsec") is None:
        pytest.fail("Libreswan (ipsec) is needed: bash scripts/setup-debian --test")
    bad = tmp_path / "bad.conf"
    bad.write_text("config setup\n\tlogfile=/tmp/x.log\n\tfrobnicate=yes\n\nconn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n")
    report = run_check(str(bad), host=False)
    f = [f for f in report.findings if f.id == "config-syntax-error"][0]
    assert "ipsec addconn --checkconfig: syntax error [frobnicate]" in f.explanation
    assert any(e.source == str(bad) and e.line == 3 for e in f.evidence)
    probes = dict((n, s) for n, s, _ in report.extra("probes"))
    assert probes["ipsec addconn --checkconfig"] == "failed"


def _recorded_scenarios():
    from swandoc.lab.scenarios import SCENARIOS
    return [s for s in SCENARIOS if (LAB / s.name / "west.conf").exists()]


@pytest.mark.parametrize("name", [s.name for s in _recorded_scenarios()])
def test_static_check_on_the_recorded_lab_pairs(name):
    """The same agreement as tests/lab/test_check_agreement.py, on the pairs recorded in fixtures/lab
    (their lab.json holds what the real run's analysis put first)."""
    from swandoc.check.agreement import DISAGREEMENTS, lab_verdict, static_first
    from swandoc.lab.scenarios import get

    s = get(name)
    lab = lab_verdict(s.expected_for(kernel_esp=False, view="both"))
    static = static_first(LAB / name)
    if name in DISAGREEMENTS:
        assert static is None and lab is not None
    else:
        assert static == lab, f"{name}: static {static}, lab {lab}"


# The table is checked against the Libreswan the lab runs (Debian 12's 4.10): where the lab tests run. The
# Debian 11 (Python 3.9) run of the non-lab tests has 4.3, which the table does not claim to describe.
@pytest.mark.lab
def test_keyword_tables_match_the_installed_libreswan(tmp_path):
    """Every keyword the 4.x table knows passes the real `ipsec addconn --checkconfig` (4.10 here) without a
    syntax error, obsolete ones draw its warning, and words the table lacks are refused: the table is right."""
    from swandoc.check.keywords import KEYWORDS

    if shutil.which("ipsec") is None:
        pytest.fail("Libreswan (ipsec) is needed: bash scripts/setup-debian --test")
    version = subprocess.run(["ipsec", "--version"], capture_output=True, text=True).stdout
    if "Libreswan 4." not in version:
        pytest.fail(f"this test compares with the 4.x table; installed: {version.strip()}")
    table = KEYWORDS[4]
    assert not [w for kind in table.values() for w in kind if w.endswith("-") or w.startswith("-")]

    def addconn(setup: str, conn: str) -> str:
        f = tmp_path / "k.conf"
        f.write_text(f"config setup\n{setup}conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n{conn}")
        return subprocess.run(["ipsec", "addconn", "--checkconfig", "--config", str(f)],
                              capture_output=True, text=True).stderr

    # only "syntax error [KEYWORD]" is about the keyword; a value of the wrong type is another message
    refused = []
    optional = table["optional"]  # compile-time features: this build may lack them
    for word in sorted(table["setup"] - optional):
        if f"syntax error [{word}]" in addconn(f"\t{word}=yes\n\n", ""):
            refused.append(word)
    for word in sorted(table["conn"] - {"also", "left", "right"} - optional):
        if f"syntax error [{word}]" in addconn("", f"\t{word}=yes\n"):
            refused.append(word)
    for word in sorted(table["leftright"] - optional):
        if f"syntax error [left{word}]" in addconn("", f"\tleft{word}=yes\n"):
            refused.append("left" + word)
    assert refused == []
    for word in ("ike-frag", "sareftrack", "leftgroundhog"):
        assert f"syntax error [{word}]" in addconn("", f"\t{word}=yes\n")
    assert "syntax error [nat_traversal]" in addconn("\tnat_traversal=yes\n\n", "")
    assert "obsolete keyword 'forceencaps'" in addconn("", "\tforceencaps=yes\n")


def test_weak_psk_that_no_conn_reaches(tmp_path):
    (tmp_path / "s").write_text('%any %any : PSK "short"\n')
    report = run_check(str(F / "rhel9-opt-out.conf"), str(tmp_path / "s"), host=False)
    assert "weak-psk" in ids(report)


def test_ikev1_conn_inheriting_the_policys_gcm(tmp_path):
    # §4.12: a conn that opts out with ikev2=never must bring its own ike=, or it inherits the policy's AES-GCM
    (tmp_path / "c.conf").write_text("include /nonexistent/crypto-policies/back-ends/libreswan.config\n\n"
                                     "conn v1\n  left=192.1.2.23\n  right=192.1.2.45\n  authby=secret\n  ikev2=never\n")
    report = run_check(str(tmp_path / "c.conf"), host=False)
    assert ids(report) == ["ikev1-gcm-ike"]
    assert report.findings[0].evidence[0].line == 1


MIRRORED_A = """conn a
    left=192.0.2.1
    leftid=@west
    leftsubnet=10.1.0.0/24
    right=192.0.2.2
    rightid=@east
    rightsubnet=10.2.0.0/24
    authby=secret
    auto=start
"""
MIRRORED_B = """conn b
    left=192.0.2.2
    leftid=@east
    leftsubnet={lsub}
    right=%any
    rightid=@west
    rightsubnet=10.1.0.0/24
    authby=secret
    auto=add
"""


@pytest.mark.parametrize(("lsub", "expected"), [("10.2.0.0/24", []), ("10.3.0.0/24", ["ts-unacceptable"])])
def test_mirrored_configs_are_compared_side_for_side(tmp_path, lsub, expected):
    """The peer writes itself as left (the usual mirror image), names its conn differently, answers %any."""
    (tmp_path / "a.conf").write_text(MIRRORED_A)
    (tmp_path / "b.conf").write_text(MIRRORED_B.format(lsub=lsub))
    (tmp_path / "s").write_text('@west @east : PSK "q3Rk9vX2mP7wLz4TnB8cYh6JsD1fGa5EuKo0NiVb"\n')
    report = run_check(str(tmp_path / "a.conf"), str(tmp_path / "s"), peer_config=str(tmp_path / "b.conf"),
                       peer_secrets=str(tmp_path / "s"), host=False)
    assert ids(report) == expected
    if expected:
        assert [(Path(e.source).name, e.line) for e in report.findings[0].evidence] == [("a.conf", 7), ("b.conf", 4)]


def test_libreswan_3_keywords_are_obsolete_and_refused(tmp_path):
    (tmp_path / "c.conf").write_text("config setup\n\tnat_traversal=yes\n\tprotostack=netkey\n\n"
                                     "conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n")
    report = run_check(str(tmp_path / "c.conf"), host=False)
    obsolete = [f for f in report.findings if f.id == "obsolete-option"][0]
    assert obsolete.severity == "error" and [e.line for e in obsolete.evidence] == [2]


def test_crypto_policy_include_commented_out(tmp_path):
    # §4.12: "comment out the include" disables the system policy for every conn
    (tmp_path / "c.conf").write_text("#include /etc/crypto-policies/back-ends/libreswan.config\n\n"
                                     "conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tauthby=secret\n")
    report = run_check(str(tmp_path / "c.conf"), host=False)
    assert ids(report) == ["crypto-policy-not-included"] and report.findings[0].evidence[0].line == 1
    (tmp_path / "d.conf").write_text((tmp_path / "c.conf").read_text() + "\tike=aes256-sha2\n\tesp=aes256-sha2\n")
    assert ids(run_check(str(tmp_path / "d.conf"), host=False)) == []


def test_responder_for_any_peer_finds_its_psk_by_address(tmp_path):
    """IDs left to their default (the addresses) and a responder with right=%any: pluto learns the
    peer's ID at run time, so a PSK for the peer's address is not 'missing'."""
    (tmp_path / "a.conf").write_text("conn a\n  left=192.0.2.1\n  right=192.0.2.2\n  authby=secret\n  auto=start\n")
    (tmp_path / "b.conf").write_text("conn b\n  left=%any\n  right=192.0.2.2\n  authby=secret\n  auto=add\n")
    (tmp_path / "s").write_text('192.0.2.1 192.0.2.2 : PSK "q3Rk9vX2mP7wLz4TnB8cYh6JsD1fGa5EuKo0NiVb"\n')
    report = run_check(str(tmp_path / "a.conf"), str(tmp_path / "s"), peer_config=str(tmp_path / "b.conf"),
                       peer_secrets=str(tmp_path / "s"), host=False)
    assert ids(report) == []
    (tmp_path / "t").write_text('192.0.2.9 192.0.2.2 : PSK "q3Rk9vX2mP7wLz4TnB8cYh6JsD1fGa5EuKo0NiVb"\n')
    report = run_check(str(tmp_path / "a.conf"), str(tmp_path / "t"), peer_config=str(tmp_path / "b.conf"),
                       peer_secrets=str(tmp_path / "s"), host=False)
    assert ids(report) == ["secret-not-found"] and report.findings[0].side == "local"


def test_each_versions_default_proposals(tmp_path):
    """5.x adds CHACHA20_POLY1305 to the IKEv2 defaults; 4.x does not know to propose it."""
    (tmp_path / "a.conf").write_text("conn a\n  left=192.0.2.1\n  right=192.0.2.2\n  authby=secret\n"
                                     "  ike=chacha20_poly1305-sha2_512-dh19\n  auto=start\n")
    (tmp_path / "b.conf").write_text("conn a\n  left=192.0.2.1\n  right=192.0.2.2\n  authby=secret\n  auto=add\n")
    common = dict(peer_config=str(tmp_path / "b.conf"), host=False, version=4)
    assert ids(run_check(str(tmp_path / "a.conf"), peer_version=4, **common)) == ["ike-proposal-mismatch"]
    assert ids(run_check(str(tmp_path / "a.conf"), peer_version=5, **common)) == []


def test_the_crypto_policy_file_when_it_is_there(tmp_path):
    """The include read like any file: its conn %default gives the conn its ike=/esp= (DEFAULT policy lines,
    in ipsec.conf syntax as ipsec status shows them resolved in Libreswan's addconn-23 test)."""
    groups = "dh19+dh14+dh31+dh21+dh20+dh15+dh16+dh18"
    (tmp_path / "libreswan.config").write_text(
        "conn %default\n\tikev2=insist\n\tpfs=yes\n"
        f"\tike=aes_gcm256-sha2_512+sha2_256-{groups},chacha20_poly1305-sha2_512+sha2_256-{groups},"
        f"aes256-sha2_512+sha2_256-{groups},aes_gcm128-sha2_512+sha2_256-{groups},aes128-sha2_256-{groups}\n"
        "\tesp=aes_gcm256,chacha20_poly1305,aes256-sha2_512+sha1+sha2_256,aes_gcm128,aes128-sha1+sha2_256\n")
    (tmp_path / "a.conf").write_text(f"include {tmp_path}/libreswan.config\n\nconn a\n  left=192.0.2.1\n"
                                     "  right=192.0.2.2\n  authby=secret\n  auto=start\n")
    (tmp_path / "b.conf").write_text("conn a\n  left=192.0.2.1\n  right=192.0.2.2\n  authby=secret\n"
                                     "  ike=aes128-sha1-modp2048\n  auto=add\n")
    report = run_check(str(tmp_path / "a.conf"), peer_config=str(tmp_path / "b.conf"), host=False, version=4)
    assert ids(report) == ["ike-proposal-mismatch"]
    assert any(e.source.endswith("libreswan.config") for e in report.findings[0].evidence)
    (tmp_path / "b.conf").write_text((tmp_path / "b.conf").read_text().replace("aes128-sha1-modp2048",
                                                                              "aes128-sha2_256-dh19"))
    assert ids(run_check(str(tmp_path / "a.conf"), peer_config=str(tmp_path / "b.conf"), host=False)) == []


@pytest.mark.parametrize("args", [["--config", "rhel9-opt-out.conf", "--secrets", "/nonexistent.secrets"],
                                  ["--peer-secrets", "x.secrets"],
                                  ["--config", "rhel9-opt-out.conf", "--peer-config", "/nonexistent.conf"],
                                  ["--config", "."]])
def test_bad_arguments_exit_2_in_one_line(args):
    proc = subprocess.run([sys.executable, "-m", "swandoc", "check", *args], capture_output=True, text=True, cwd=F)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and proc.stdout == ""
