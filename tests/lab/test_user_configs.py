"""swandoc lab --west-conf/--east-conf: two users' configs run against each other."""
from __future__ import annotations

import json

import pytest

from swandoc.lab import runner

pytestmark = pytest.mark.lab

WEST = """\
config setup
    logfile=/var/log/pluto.log

conn %default
    ikelifetime=8h

conn office-to-dc
    left=%defaultroute
    leftid=@office
    leftsubnet=10.10.0.0/16
    right=203.0.113.50
    rightid=@dc
    rightsubnet=10.20.0.0/16
    authby=secret
    ike=aes256-sha2_256-modp2048
    esp={west_esp}
    auto=start
"""

EAST = """\
conn base
    authby=secret
    ike=aes256-sha2_256-modp2048

conn dc-to-office
    also=base
    left=203.0.113.50
    leftid=@dc
    leftsubnet=10.20.0.0/16
    right=%any
    rightid=@office
    rightsubnet={east_remote_subnet}
    esp=aes256-sha2_256
    auto=add
"""

SECRETS = '@office @dc : PSK "user-test-psk-not-a-real-one-0123456789abcdef"\n'


def _run(tmp_path, west_esp="aes256-sha2_256", east_remote_subnet="10.10.0.0/16"):
    (tmp_path / "w.conf").write_text(WEST.format(west_esp=west_esp))
    (tmp_path / "e.conf").write_text(EAST.format(east_remote_subnet=east_remote_subnet))
    (tmp_path / "w.secrets").write_text(SECRETS)
    (tmp_path / "e.secrets").write_text(SECRETS)
    return runner.run_configs(tmp_path / "w.conf", tmp_path / "e.conf", tmp_path / "w.secrets",
                              tmp_path / "e.secrets", out_dir=tmp_path / "out")


def test_matching_configs_come_up_as_far_as_the_kernel_allows(lab_environment, tmp_path):
    result = _run(tmp_path)
    assert result.outcome.ike_established
    if result.kernel_esp:
        assert result.outcome.child_established and result.outcome.traffic_ok
    else:
        assert result.outcome.sa_install_failed
    west_conf = result.path("west.conf").read_text()
    # addresses and subnets mapped onto the lab's, crypto kept
    assert "leftsubnet=203.0.113.0/26" in west_conf and "right=192.0.2.2" in west_conf
    assert "esp=aes256-sha2_256" in west_conf and "auto=add" in west_conf
    # the user's key never lands in the out dir
    assert "user-test-psk" not in result.path("west.secrets").read_text()
    assert json.loads(result.path("lab.json").read_text())["kind"] == "user-configs"


def test_esp_mismatch_between_user_configs_is_found(lab_environment, tmp_path):
    from swandoc.analysis import analyze_paths

    result = _run(tmp_path, west_esp="aes128-sha1")
    assert result.outcome.ike_established and not result.outcome.child_established
    report = analyze_paths([str(p) for p in result.evidence_paths()], command="lab")
    assert report.findings[0].id == "child-proposal-mismatch"


def test_subnet_mismatch_between_user_configs_stays_a_mismatch(lab_environment, tmp_path):
    from swandoc.analysis import analyze_paths

    result = _run(tmp_path, east_remote_subnet="10.99.0.0/16")
    # With right=%any on east, pluto 4.10 logs nothing about the TS mismatch on east at
    # plutodebug=none; only the initiator hears TS_UNACCEPTABLE.
    assert "rejected Child SA with TS_UNACCEPTABLE" in result.path("west-whack.txt").read_text()
    report = analyze_paths([str(p) for p in result.evidence_paths()], command="lab")
    assert report.findings[0].id == "ts-unacceptable"


# A PSK continued on the next line (pluto accepts a record over several lines) and an old
# secret commented out: neither may reach the out dir.
SECRETS_HARD = (
    "# old key, kept for rollback:\n"
    '# @office @dc : PSK "user-old-secret-commented-out-9876543210"\n'
    "@office @dc :\n"
    '    PSK "user-continued-psk-not-a-real-one-0123456789abcdef"\n'
)


def test_user_secrets_never_reach_the_out_dir_in_any_form(lab_environment, tmp_path):
    (tmp_path / "w.conf").write_text(WEST.format(west_esp="aes256-sha2_256"))
    (tmp_path / "e.conf").write_text(EAST.format(east_remote_subnet="10.10.0.0/16"))
    (tmp_path / "w.secrets").write_text(SECRETS_HARD)
    (tmp_path / "e.secrets").write_text(SECRETS_HARD)
    result = runner.run_configs(tmp_path / "w.conf", tmp_path / "e.conf", tmp_path / "w.secrets",
                                tmp_path / "e.secrets", out_dir=tmp_path / "out")
    # the continued PSK was used for real: the two ends authenticated with it
    assert result.outcome.ike_established
    for name in ("west.secrets", "east.secrets"):
        text = result.path(name).read_text()
        assert "user-continued-psk" not in text and "user-old-secret" not in text, text
        assert "PSK [" in text  # the structure stays: which kind of key, where
    leaked = [p.name for p in result.out_dir.iterdir()
              if b"user-continued-psk" in p.read_bytes() or b"user-old-secret" in p.read_bytes()]
    assert leaked == []
