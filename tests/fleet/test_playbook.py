"""The Ansible playbook for real: over SSH against the lab fleet, and on the local connection."""
from __future__ import annotations

import json
import os
import shutil
import tarfile
from pathlib import Path

import pytest

from swandoc.lab.fleet import FleetLab, default_swandoc_bin, run_ansible
from swandoc.lab.scenarios import LAB_PSK

from .test_fixtures import check_fleet_report


def _require(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:  # never skip: say what is missing
        pytest.fail(f"needs {', '.join(missing)} (scripts/setup-debian --test installs them)", pytrace=False)


@pytest.mark.lab
def test_playbook_over_ssh_against_the_lab_fleet(tmp_path):
    if os.geteuid() != 0:
        pytest.fail("the lab fleet needs root (namespaces, pluto, sshd)", pytrace=False)
    _require("ansible-playbook", "ssh", "ipsec")
    fetch = tmp_path / "fetch"
    with FleetLab() as lab:
        result = lab.run_playbook(fetch)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
        # the bundle ran inside each node's namespace and saw that node's own pluto and config
        for node in lab.nodes:
            with tarfile.open(fetch / f"{node.name}.tar.xz", "r:xz") as tar:
                prefix = tar.getnames()[0].split("/", 1)[0]
                conf = tar.extractfile(f"{prefix}/config/ipsec.conf").read().decode()
                status = tar.extractfile(f"{prefix}/commands/whack_status.txt").read().decode()
                for member in tar.getmembers():
                    if member.isfile():
                        assert LAB_PSK.encode() not in tar.extractfile(member).read(), (node.name, member.name)
            assert f"left={node.plan.address}" in conf
            assert str(node.pluto.ctlsocket.parent) in status or node.plan.address in status
    doc = json.loads((fetch / "fleet.json").read_text())
    check_fleet_report(doc)
    assert (fetch / "fleet.html").read_text().count('class="matrix"') == 1
    assert json.loads((fetch / "failures.json").read_text())["gw-e"]["address"] == "192.0.2.15"


# Needs ansible-core and openssh from scripts/setup-debian --test (Debian 12), as the lab does: the Debian 11
# run of the non-lab tests has only Ansible 2.10.
@pytest.mark.lab
def test_playbook_on_the_local_connection(tmp_path):
    """Two inventory hosts on ansible_connection=local: both bundled, fetched, one report naming both;
    a third whose swandoc cannot run is listed with the reason, not dropped."""
    _require("ansible-playbook")
    conf = tmp_path / "ipsec.conf"
    conf.write_text("config setup\n\tlogfile=%s\nconn to-b\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tauto=add\n"
                    % (tmp_path / "pluto.log"))
    (tmp_path / "pluto.log").write_text("")
    args = ["--config", str(conf), "--secrets", str(tmp_path / "no-secrets"), "--log", str(tmp_path / "pluto.log"),
            "--ctl-socket", str(tmp_path / "no-pluto.ctl"), "--timeout", "5"]
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(json.dumps({"all": {"hosts": {"node1": {}, "node2": {}, "broken": {"swandoc_bin": str(tmp_path / "no-swandoc")}}, "vars": {
        "ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3",
        "swandoc_bin": default_swandoc_bin(), "swandoc_bundle_args": args, "swandoc_become": False,
        "ansible_remote_tmp": str(tmp_path / "remote-tmp")}}}))
    fetch = tmp_path / "fetch"
    result = run_ansible(inventory, {"swandoc_fetch_dir": str(fetch)}, tmp_path / "ansible")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert sorted(p.name for p in fetch.glob("*.tar.xz")) == ["node1.tar.xz", "node2.tar.xz"]
    doc = json.loads((fetch / "fleet.json").read_text())
    assert [(h["name"], h["status"]) for h in doc["hosts"]] == [("node1", "analyzed"), ("node2", "analyzed"),
                                                                ("broken", "no-bundle")]
    failures = json.loads((fetch / "failures.json").read_text())
    assert list(failures) == ["broken"]
    assert "swandoc bundle" in failures["broken"]["reason"] and "no-swandoc" in failures["broken"]["reason"]
    assert any(f["id"] == "host-without-bundle" and f["details"]["host"] == "broken" for f in doc["findings"])
    assert (fetch / "fleet.html").exists()
