"""check's rules inside analyze (a bundle's config) and diagnose (this host), on real bundles."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
F = ROOT / "fixtures" / "check"
LOG = ROOT / "fixtures" / "lab" / "ikev2-psk-mismatch" / "west.log"


def _bundle(tmp_path, conf: Path) -> Path:
    out = tmp_path / "b.tar.xz"
    made = subprocess.run([sys.executable, "-m", "swandoc", "bundle", "--config", str(conf), "--secrets",
                           str(F / "rhel9-opt-out.secrets"), "--log", str(LOG), "--timeout", "5", "-o", str(out)],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    return out


def test_analyze_finds_the_config_rule_in_a_bundle(tmp_path):
    from swandoc.analysis import analyze_paths

    report = analyze_paths([str(_bundle(tmp_path, F / "bad" / "ikev1-gcm-ike.conf"))])
    gcm = [f for f in report.findings if f.id == "ikev1-gcm-ike"]
    assert gcm, [f.id for f in report.findings]
    # cited as a line of the bundle's ipsec.conf item, the line itself shown
    assert any("ike=aes_gcm256-sha2" in e.text and e.line for e in gcm[0].evidence)
    assert not gcm[0].predicted


def test_analyze_of_a_clean_bundle_config_adds_no_config_finding(tmp_path):
    from swandoc.analysis import analyze_paths

    report = analyze_paths([str(_bundle(tmp_path, F / "rhel9-opt-out.conf"))])
    config_ids = {"config-syntax-error", "obsolete-option", "ikev1-gcm-ike", "algorithm-not-allowed"}
    assert not {f.id for f in report.findings} & config_ids
