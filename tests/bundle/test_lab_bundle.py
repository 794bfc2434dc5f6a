"""Bundles made on a host with a real pluto (in network namespaces this test creates).

* the bundle of a host whose pluto logs ``plutodebug=all,crypt,private`` key dumps holds no
  PSK in any form;
* ``swandoc analyze bundle`` reaches the same finding ids as ``swandoc diagnose`` on that host;
* as ``nobody`` (no root) the bundle is still written and says what it could not collect.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from unprivileged import python_as_nobody

from bundle_helpers import PYTHON, ROOT, SECRETS, archive_members, leaks, leaks_of, require_root

pytestmark = pytest.mark.lab

WEST_PSK = "SwandocLabWestPSK-" + "7c1e"
EAST_PSK = "SwandocLabEastPSK-" + "19fa"  # differs: authentication fails, a finding to compare

CONN = """
conn sdb
\tleft=192.0.2.1
\tright=192.0.2.2
\tauthby=secret
\tikev2=yes
\tauto=add
"""


def _sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(argv, check=check, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module", params=["4", "5"], ids=["libreswan4", "libreswan5"])
def pluto_host(request, tmp_path_factory):
    """West and east pluto in fresh namespaces; west has a PSK mismatch and logs key dumps.

    Once with the host's Libreswan 4.x, once with 5.x from the lab's Debian 13 root (whose ``ipsec``
    then comes first on swandoc's PATH, as on a 5.x host)."""
    require_root()
    for tool in ("ipsec", "ip", "certutil"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is needed for this test (install libreswan, iproute2, libnss3-tools)", pytrace=False)
    from swandoc.lab.daemon import Pluto, config_setup
    from swandoc.lab.toolset import Toolset

    toolset = Toolset.for_version(request.param)

    tag = secrets.token_hex(3)
    west_ns, east_ns = f"sdbundle-w-{tag}", f"sdbundle-e-{tag}"
    base = tmp_path_factory.mktemp("pluto")
    daemons: list[Pluto] = []
    try:
        _sh("ip", "netns", "add", west_ns)
        _sh("ip", "netns", "add", east_ns)
        _sh("ip", "-n", west_ns, "link", "add", "sdbw0", "type", "veth", "peer", "name", "sdbe0", "netns", east_ns)
        _sh("ip", "-n", west_ns, "addr", "add", "192.0.2.1/24", "dev", "sdbw0")
        _sh("ip", "-n", east_ns, "addr", "add", "192.0.2.2/24", "dev", "sdbe0")
        for ns, dev in ((west_ns, "sdbw0"), (east_ns, "sdbe0")):
            _sh("ip", "-n", ns, "link", "set", dev, "up")
            _sh("ip", "-n", ns, "link", "set", "lo", "up")
        for side, ns, psk, debug in (("west", west_ns, WEST_PSK, "all,crypt,private"), ("east", east_ns, EAST_PSK, "none")):
            workdir = base / side
            cfg = config_setup(workdir / "pluto.log", debug=True, extra={"plutodebug": debug}) + CONN
            daemon = Pluto(side, ns, workdir, cfg, f'192.0.2.1 192.0.2.2 : PSK "{psk}"\n', toolset=toolset)
            daemon.prepare()
            daemon.start()
            daemon.add_connections()
            daemons.append(daemon)
        daemons[0].initiate("sdb", timeout=15)
        yield daemons[0]
    finally:
        for daemon in daemons:
            daemon.stop()
        for ns in (west_ns, east_ns):
            _sh("ip", "netns", "del", ns, check=False)


def _swandoc(ns: str, *args: str, timeout: float = 240, daemon=None) -> subprocess.CompletedProcess:
    """swandoc in *ns*; for a 5.x *daemon* its version's ipsec comes first on PATH."""
    env = ()
    if daemon is not None and daemon.toolset.root is not None:
        bindir = daemon.workdir.parent / f"bin-{daemon.side}"
        bindir.mkdir(exist_ok=True)
        (bindir / "ipsec").write_text(daemon.toolset.shell_wrapper((daemon.workdir,)))
        (bindir / "ipsec").chmod(0o755)
        env = ("env", f"PATH={bindir}:{os.environ.get('PATH', '/usr/sbin:/usr/bin:/sbin:/bin')}")
    return subprocess.run(["ip", "netns", "exec", ns, *env, PYTHON, "-m", "swandoc", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT)


def _ids(stdout: str) -> set[str]:
    return {f["id"] for f in json.loads(stdout)["findings"]}


def test_real_pluto_bundle_has_no_psk_and_analyzes_like_diagnose(pluto_host, tmp_path):
    west = pluto_host
    assert WEST_PSK.encode().hex(" ")[:11] in west.logfile.read_text()  # the key dumps really are there
    out = tmp_path / "west.tar.xz"
    made = _swandoc(west.namespace, "bundle", "--conn", "sdb", "--config", str(west.conf), "--secrets",
                    str(west.secrets), "--ctl-socket", str(west.ctlsocket), "--log", str(west.logfile),
                    "-o", str(out), daemon=west)
    assert made.returncode == 0, made.stderr
    members = archive_members(str(out))
    assert leaks_of(members, [WEST_PSK.encode(), EAST_PSK.encode()]) == []
    manifest = json.loads(members["swandoc-bundle/manifest.json"])
    by_name = {i["name"]: i for i in manifest["items"]}
    assert by_name["pluto_log"]["redactions"]["log-key-material"] >= 2
    assert by_name["ipsec_secrets"]["redactions"] == {"psk": 1}
    assert "whack_status" in by_name and "connection" in by_name
    version = members["swandoc-bundle/" + by_name["libreswan_version"]["path"]].decode()
    assert version.startswith(f"Libreswan {west.toolset.version}."), version

    diagnose = _swandoc(west.namespace, "diagnose", "sdb", "--config", str(west.conf), "--ctl-socket",
                        str(west.ctlsocket), "--log", str(west.logfile), "--no-capture", "--format", "json",
                        daemon=west)
    assert diagnose.returncode in (0, 1), diagnose.stderr
    analyzed = subprocess.run([PYTHON, "-m", "swandoc", "analyze", "--format", "json", str(out)],
                              capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert analyzed.returncode in (0, 1), analyzed.stderr
    live, offline = _ids(diagnose.stdout), _ids(analyzed.stdout)
    assert "authentication-failed" in offline
    print("finding ids:", sorted(offline))
    assert offline == live, (sorted(live), sorted(offline))


def test_bundle_without_root_still_written(tmp_path):
    require_root()  # to become nobody we must start as root
    if shutil.which("setpriv") is None:
        pytest.fail("setpriv (util-linux) is needed to run as nobody", pytrace=False)
    work = Path(tempfile.mkdtemp(prefix="sdbundle-nobody-"))
    try:
        os.chmod(work, 0o777)
        secret_copy = work / "ipsec.secrets"
        shutil.copy(SECRETS / "ipsec.secrets", secret_copy)
        os.chmod(secret_copy, 0o600)  # root-only, like the real file
        out = work / "b.tar.xz"
        run = subprocess.run([*python_as_nobody(home=str(work)), "-m", "swandoc", "bundle", "--secrets", str(secret_copy),
                              "--config", str(SECRETS / "ipsec.conf"), "--timeout", "5", "-o", str(out)],
                             capture_output=True, text=True, timeout=300, cwd=work)
        assert run.returncode == 0, run.stderr
        assert out.exists() and out.stat().st_uid != 0
        members = archive_members(str(out))
        manifest = json.loads(members["swandoc-bundle/manifest.json"])
        missing = {m["name"]: m["reason"] for m in manifest["missing"]}
        assert "permission" in missing["ipsec_secrets"].lower()
        assert "not collected: ipsec_secrets" in run.stdout
        assert leaks(members) == []
    finally:
        shutil.rmtree(work, ignore_errors=True)
