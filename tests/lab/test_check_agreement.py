"""Every lab scenario's config pair through `swandoc check` (static) AND the real lab: they must agree.

The only disagreements allowed are the ones listed, with why, in swandoc.check.agreement.DISAGREEMENTS
(faults outside the configs, CA trust in NSS); a listed one that starts agreeing fails too, so the
list stays true.
"""
from __future__ import annotations

import pytest

from swandoc.check.agreement import DISAGREEMENTS, lab_verdict, static_first
from swandoc.lab.scenarios import SCENARIOS

pytestmark = pytest.mark.lab

BOTH = ("west.log", "west-whack.txt", "east.log", "west.pcap")


@pytest.mark.parametrize("name", [s.name for s in SCENARIOS])
def test_static_check_agrees_with_the_lab(lab_results, name):
    from swandoc.analysis import analyze_paths

    result = lab_results[name]
    report = analyze_paths([str(result.path(f)) for f in BOTH], command="lab")
    lab = lab_verdict(report.findings[0].id if report.findings else None)
    static = static_first(result.out_dir)
    print(f"{name}: static={static} lab={lab}")
    if name in DISAGREEMENTS:
        assert static is None and lab is not None, (
            f"{name} is listed as a disagreement ({DISAGREEMENTS[name]}) but static={static} lab={lab}")
    else:
        assert static == lab, f"{name}: static check predicts {static}, the lab shows {lab} (evidence in {result.out_dir})"


# More pairs than the scenarios have, each run by the real daemons (swandoc lab --west-conf/--east-conf)
# and predicted statically: they test the model of Libreswan's defaults, not just explicit lines.
PAIR_BASE = """\
{setup}conn t
    left=192.0.2.10
    right=198.51.100.20
    leftid=@w
    rightid=@e
    authby=secret
    leftsubnet=10.1.0.0/24
    rightsubnet=10.2.0.0/24
    auto=add
{extra}"""
V1 = "    ikev2=no\n"
V1_SETUP = "config setup\n    ikev1-policy=accept\n\n"
PAIR_SECRETS = '@w @e : PSK "pair-test-psk-not-a-real-one-0123456789abcdefXYZ"\n'
PAIRS = {
    # name: (west extra lines, east extra lines)
    "esp-sha1-vs-default": ("    esp=aes128-sha1\n", ""),          # 4.x IKEv2 ESP defaults integ SHA2 only
    "ike-sha1-vs-default": ("    ike=aes128-sha1-modp2048\n", ""),  # 4.x IKEv2 PRF defaults SHA2 only
    "ike-no-dh-vs-default": ("    ike=aes256-sha2_256\n", ""),       # DH filled from the defaults: agree
    "esp-gcm-vs-default": ("    esp=aes_gcm128\n", ""),            # in the defaults: agree
    "default-ids-vs-named": ("", "    leftid=@someone-else\n"),     # west sends @w, east expects another
    "narrower-subnet-no-narrowing": ("", "    leftsubnet=10.1.0.0/25\n"),
    "pfs-no-vs-default": ("    pfs=no\n", ""),                     # first Child SA still comes up (IKEv2)
    "ikev1-defaults": (V1, V1),                                      # 4.x IKEv1 defaults on both: agree
    # an IKEv1 responder without esp= accepts anything pluto knows ("verified unconditionally")
    "ikev1-esp-sha2-vs-default": (V1 + "    esp=aes256-sha2_256\n", V1),
    # ... while an IKEv1 initiator proposes its default (4.x: AES_CBC with SHA1 only)
    "ikev1-default-vs-esp-sha2": (V1, V1 + "    esp=aes256-sha2_256\n"),
    "authby-secret-vs-rsasig": ("", "    authby=rsasig\n"),
    # IKE over TCP (RFC 8229) toward a responder without listen-tcp=yes: refused; with fallback, UDP still works
    "tcp-one-sided": ("    enable-tcp=yes\n    tcp-remoteport=4500\n", ""),
    "tcp-fallback-one-sided": ("    enable-tcp=fallback\n    tcp-remoteport=4500\n", ""),
    # lines pluto refuses: the conn is never loaded
    "esp-aead-with-integrity": ("    esp=aes_gcm256-sha2_256\n", ""),
    "ike-dh2-not-built": ("    ike=aes-sha2;modp1024\n", ""),
    "ike-unknown-algorithm": ("    ike=aes-sha3\n", ""),
}


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_static_check_agrees_with_the_lab_on_more_pairs(lab_environment, tmp_path, name):
    from swandoc.analysis import analyze_paths
    from swandoc.check import run_check
    from swandoc.lab import runner

    west_extra, east_extra = PAIRS[name]
    (tmp_path / "w.conf").write_text(PAIR_BASE.format(extra=west_extra, setup=V1_SETUP if V1 in west_extra else ""))
    (tmp_path / "e.conf").write_text(PAIR_BASE.format(extra=east_extra, setup=V1_SETUP if V1 in east_extra else ""))
    for side in ("w", "e"):
        (tmp_path / f"{side}.secrets").write_text(PAIR_SECRETS)
    result = runner.run_configs(tmp_path / "w.conf", tmp_path / "e.conf", tmp_path / "w.secrets",
                                tmp_path / "e.secrets", out_dir=tmp_path / "out")
    report = analyze_paths([str(p) for p in result.evidence_paths() if p.suffix in (".log", ".pcap", ".txt")],
                           command="lab")
    lab = lab_verdict(report.findings[0].id if report.findings else None)
    # the configs as the lab ran them (addresses mapped onto the lab's), the secrets as given
    out = result.out_dir
    static_report = run_check(str(out / "west.conf"), str(tmp_path / "w.secrets"), peer_config=str(out / "east.conf"),
                              peer_secrets=str(tmp_path / "e.secrets"), host=False)
    problems = [f.id for f in static_report.findings if f.severity == "error"]
    static = problems[0] if problems else None
    print(f"{name}: static={static} lab={lab} ({[f.id for f in report.findings]})")
    assert static == lab, f"{name}: static {static}, lab {lab} (evidence in {out})"
