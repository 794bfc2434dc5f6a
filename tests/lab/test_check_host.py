"""Host readiness (what ipsec verify checked) inside real network namespaces, with a real pluto 4.10.

Everything happens in a namespace pair the test creates (swandoc.lab.topology); the host's own
/etc/ipsec.* and sysctls are never touched.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from swandoc.lab import topology
from swandoc.lab.daemon import Pluto

pytestmark = pytest.mark.lab


@pytest.fixture
def plain(lab_environment):
    topo = topology.build("plain")
    try:
        yield topo
    finally:
        topo.delete()


def _check(ns: str, *args: str) -> dict:
    proc = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-m", "swandoc", "check", "--format", "json",
                           *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


def _ids(report: dict) -> set[str]:
    return {f["id"] for f in report["findings"]}


def test_host_readiness_in_a_namespace(plain, tmp_path):
    work = tmp_path / "west"
    conf_text = (f"config setup\n\tnssdir={work}/nss\n\tlogfile={work}/pluto.log\n\n"
                 f"conn t\n\tleft={plain.west_ip}\n\tright={plain.east_ip}\n\tleftid=@w\n\trightid=@e\n"
                 f"\tauthby=secret\n\tnic-offload=yes\n")
    pluto = Pluto("west", plain.west_ns, work, conf_text, '@w @e : PSK "host-readiness-test-psk-0123456789abcdef"\n')
    pluto.prepare()
    conf = str(pluto.conf)
    topology.netns_exec(plain.west_ns, "sysctl", "-qw", "net.ipv4.conf.all.send_redirects=1",
                        "net.core.xfrm_larval_drop=0")

    before = _check(plain.west_ns, "--config", conf, "--host")
    ids = _ids(before)
    assert {"icmp-redirects-enabled", "xfrm-larval-drop-off", "pluto-not-running", "nic-offload-unsupported"} <= ids
    assert "xfrm-unavailable" not in ids and "nss-db-missing" not in ids and "nss-password-problem" not in ids
    offload = [f for f in before["findings"] if f["id"] == "nic-offload-unsupported"][0]
    assert any("eth0" in e["text"] for e in offload["evidence"])  # the veth toward the peer
    assert any(e["text"].strip() == "nic-offload=yes" and e["line"] == 11 for e in offload["evidence"])
    # without --host, a --config check still asks the NIC what the conn asks of it, and nothing else
    assert _ids(_check(plain.west_ns, "--config", conf)) & {"nic-offload-unsupported", "pluto-not-running"} \
        == {"nic-offload-unsupported"}

    pluto.start()
    try:
        # the same checks inside diagnose (live): check's readiness rows and its nic-offload finding
        diag = subprocess.run(["ip", "netns", "exec", plain.west_ns, sys.executable, "-m", "swandoc", "diagnose", "t",
                               "--config", conf, "--ctl-socket", str(pluto.ctlsocket), "--log", str(pluto.logfile),
                               "--no-capture", "--format", "json"], capture_output=True, text=True, timeout=300)
        assert diag.returncode in (0, 1), diag.stderr
        diag_report = json.loads(diag.stdout)
        assert {"nic-offload-unsupported", "icmp-redirects-enabled", "xfrm-larval-drop-off"} <= _ids(diag_report)
        assert {"xfrm", "ipsec addconn --checkconfig"} <= {p["name"] for p in diag_report["probes"]}
        topology.netns_exec(plain.west_ns, "sysctl", "-qw", "net.ipv4.conf.all.send_redirects=0",
                            "net.ipv4.conf.default.send_redirects=0", "net.ipv4.conf.all.accept_redirects=0",
                            "net.ipv4.conf.default.accept_redirects=0", "net.core.xfrm_larval_drop=1")
        after = _check(plain.west_ns, "--config", conf, "--host")
    finally:
        pluto.stop()
    ids = _ids(after)
    assert not ids & {"pluto-not-running", "pluto-not-listening", "icmp-redirects-enabled", "xfrm-larval-drop-off"}, ids
    probes = {p["name"]: p["status"] for p in after["probes"]}
    assert probes["xfrm"] == "ok"


def test_nss_password_file_checked_against_the_real_database(tmp_path):
    """§4.9: a password-protected NSS database and its nsspassword file (token:password), opened by certutil."""
    import shutil

    if shutil.which("certutil") is None:
        pytest.fail("certutil (libnss3-tools) is needed")
    nss, ipsecdir = tmp_path / "nss", tmp_path / "ipsec.d"
    nss.mkdir()
    ipsecdir.mkdir()
    pw = tmp_path / "pw"
    pw.write_text("Sw4nd0c-nss-test-pw!\n")
    subprocess.run(["certutil", "-N", "-d", f"sql:{nss}", "-f", str(pw)], check=True, capture_output=True)
    conf = tmp_path / "ipsec.conf"
    conf.write_text(f"config setup\n\tnssdir={nss}\n\tipsecdir={ipsecdir}\n\nconn t\n\tleft=192.0.2.1\n"
                    f"\tright=192.0.2.2\n\tauthby=secret\n")

    def problem() -> list[dict]:
        out = subprocess.run([sys.executable, "-m", "swandoc", "check", "--config", str(conf), "--host", "--format",
                              "json"], capture_output=True, text=True, timeout=120)
        return [f for f in json.loads(out.stdout)["findings"] if f["id"] == "nss-password-problem"]

    assert problem(), "a protected database without an nsspassword file must be reported"
    (ipsecdir / "nsspassword").write_text("NSS Certificate DB:not-the-password\n")
    found = problem()
    assert found and "does not open" in found[0]["explanation"]
    assert "not-the-password" not in json.dumps(found)
    (ipsecdir / "nsspassword").write_text("NSS Certificate DB:Sw4nd0c-nss-test-pw!\n")
    assert problem() == []
    (ipsecdir / "nsspassword").write_text("Some Other Token:Sw4nd0c-nss-test-pw!\n")
    assert problem()
