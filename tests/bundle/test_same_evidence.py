"""``swandoc bundle`` and ``swandoc diagnose`` gather through one collection: the same names.

If someone adds a probe to one of them only, ``analyze bundle.tar.xz`` would no longer see what
``diagnose`` saw on the host; this test fails first.
"""
from __future__ import annotations

import json
import subprocess

from swandoc.bundle.collect import BUNDLE_ONLY
from swandoc.evidence import REGISTRY
from swandoc.probes.collect import CollectOptions, collect

from bundle_helpers import PYTHON, ROOT, SECRETS, archive_members

LOG = ROOT / "fixtures" / "lab" / "ikev2-psk-mismatch" / "west.log"


def _bundle_names(tmp_path) -> set[str]:
    out = tmp_path / "b.tar.xz"
    made = subprocess.run([PYTHON, "-m", "swandoc", "bundle", "--config", str(SECRETS / "ipsec.conf"),
                           "--secrets", str(SECRETS / "ipsec.secrets"), "--log", str(LOG), "--timeout", "5",
                           "-o", str(out)], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    manifest = json.loads(archive_members(str(out))["swandoc-bundle/manifest.json"])
    # collected or not: an item the collection tried is listed under one of the two
    return {i["name"] for i in manifest["items"]} | {m["name"] for m in manifest["missing"]}


def test_bundle_without_conn_collects_what_collect_does(tmp_path):
    bundled = _bundle_names(tmp_path)
    probed = {item.name for item in collect(CollectOptions(conn=None, config=str(SECRETS / "ipsec.conf"),
                                                           ctl_socket=None, log=str(LOG), capture=False,
                                                           timeout=5))}
    assert "ipsec_secrets" in bundled  # nss_password only where an nsspassword file exists
    assert bundled - BUNDLE_ONLY == probed
    # a few that diagnose needs and the bundle once lacked (or the other way round)
    assert {"whack_listall", "ip6tables_save", "listening_sockets", "pluto_log", "sysctls", "xfrm_stat_end"} <= probed
    assert set(REGISTRY) >= probed | bundled  # every name has a registered place in a bundle


def test_without_conn_the_conn_items_say_why(tmp_path):
    items = collect(CollectOptions(conn=None, config=str(SECRETS / "ipsec.conf"), ctl_socket=None, log=str(LOG),
                                   capture=False, timeout=5))
    for name in ("connection", "route_to_peer"):
        assert "no connection named" in items.get(name).error
    assert items.get("ipsec_conf").available and items.get("pluto_log").available


def test_without_conn_an_unreadable_config_is_recorded_not_fatal(tmp_path):
    missing = str(tmp_path / "no-such.conf")
    items = collect(CollectOptions(conn=None, config=missing, ctl_socket=None, log=str(LOG), capture=False,
                                   timeout=5))
    assert "no such file" in items.get("ipsec_conf").error
    assert items.get("pluto_log").available  # the rest carried on
