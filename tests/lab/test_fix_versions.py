"""Every fix step is checked against the Libreswan versions it says it is for.

For each step of the knowledge base (and the steps rules add at run time are built the same way):
every ``ipsec COMMAND`` must be listed by that version's ``ipsec --help`` (``ipsec whack --OPTION`` by
``ipsec whack --help``, ``ipsec auto --OPTION`` by ``ipsec auto --help``, ``ipsec addconn --OPTION`` by
``ipsec addconn --help``), and every ``option=value`` that is an ipsec.conf keyword must pass that
version's ``ipsec addconn --checkconfig`` in a config using it, with no warning. 4 is this host's
Libreswan, 5 the Debian 13 root of the lab (built if missing). Also: no finding lacks a fix.
"""
from __future__ import annotations

import re
import subprocess
from functools import lru_cache
from pathlib import Path

import pytest

from swandoc.lab.toolset import Toolset
import swandoc.check.knowledge  # noqa: F401  (swandoc check's own ids: the catalogue has them too)
import swandoc.rules  # noqa: F401  (loads every rules module and its topics)
from swandoc.rules.knowledge import TOPICS, step_versions

pytestmark = pytest.mark.lab

CHECKED = ("4", "5")
_COMMAND = re.compile(r"\bipsec ([a-z][a-z0-9-]*)((?: --?[a-z][a-z0-9-]*)*)")
# key=value where the key looks like an ipsec.conf keyword; sysctl names and shell bits are excluded below
_OPTION = re.compile(r"(?<![\w.-])([a-z][a-z0-9-]*)=([^\s,;)'\"]*)")
NOT_CONF = {"net", "sport"}  # sysctl names, ss filters
# Values to use when a step names an option without one ("leftid=/rightid=", "dpddelay=")
SAMPLE = {"leftid": "@west", "rightid": "@east", "right": "192.0.2.2", "leftsubnet": "10.0.1.0/24",
          "rightsubnet": "10.0.2.0/24", "leftsubnets": "10.0.1.0/24", "rightsubnets": "10.0.2.0/24",
          "dpddelay": "30", "dpdtimeout": "120", "retransmit-timeout": "60", "authby": "secret",
          "keyexchange": "ikev2", "ikev2": "insist", "logfile": "/tmp/pluto.log", "listen": "192.0.2.1",
          "listen-tcp": "yes", "esp": "aes256-sha2_256", "phase2alg": "aes256-sha2_256", "ike": "aes256-sha2_256",
          "pfs": "yes", "dpdaction": "restart", "ikev1-policy": "accept", "mtu": "1400"}


def _steps():
    return [(t.id, n, step) for t in TOPICS.values() for n, step in enumerate(t.fix, 1)]


STEPS = _steps()


@lru_cache(maxsize=None)
def toolset(version: str) -> Toolset:
    return Toolset.for_version(version)


def run(version: str, *argv: str, binds: tuple[Path, ...] = ()) -> str:
    result = subprocess.run(toolset(version).argv(None, binds, *argv), capture_output=True, text=True, timeout=60)
    return result.stdout + result.stderr + f"\n[rc={result.returncode}]"


@lru_cache(maxsize=None)
def help_text(version: str, *command: str) -> str:
    return run(version, "ipsec", *command, "--help")


def commands_of(step: str) -> list[tuple[str, tuple[str, ...]]]:
    """``ipsec CMD --opt`` in a step; "systemctl status ipsec, and ..." or "-u ipsec" name the service."""
    found = []
    for m in _COMMAND.finditer(step):
        before = step[:m.start()]
        if re.search(r"(systemctl \w+|-u)\s+$", before):
            continue
        found.append((m.group(1), tuple(m.group(2).split())))
    return found


def option_listed(option: str, help_out: str) -> bool:
    """--add in "--add", or in 4.x's brace lists such as "--{add|delete|replace|start}"."""
    name = option.lstrip("-")
    return bool(re.search(rf"--{re.escape(name)}\b", help_out)
                or re.search(rf"--\{{[^}}]*\b{re.escape(name)}\b[^}}]*\}}", help_out))


def options_of(step: str) -> list[tuple[str, str]]:
    found = []
    for m in _OPTION.finditer(step):
        key, value = m.group(1), m.group(2)
        if key in NOT_CONF or "." in key:
            continue
        value = value.split("/")[0]  # "pfs=yes/no": either; the first is checked
        found.append((key, value if value and value not in ("...",) and not value.isupper() else SAMPLE.get(key, "")))
    return found


@lru_cache(maxsize=None)
def checkconfig(version: str, key: str, value: str, tmp: str) -> tuple[bool, str]:
    """Does *version*'s addconn accept key=value, in a conn or in config setup, without complaint?"""
    tmpdir = Path(tmp)
    out = ""
    base_setup = {"logfile": "/tmp/swandoc-check.log"}
    base_conn = {"left": "192.0.2.1", "right": "192.0.2.2", "authby": "secret", "auto": "add"}
    for section in ("conn", "setup"):
        conf = tmpdir / f"check-{version}-{section}.conf"
        setup, conn = dict(base_setup), dict(base_conn)
        (conn if section == "conn" else setup)[key] = value  # the option under test replaces the base one
        conf.write_text("config setup\n" + "".join(f"\t{k}={v}\n" for k, v in setup.items())
                        + "\nconn check\n" + "".join(f"\t{k}={v}\n" for k, v in conn.items()))
        out = run(version, "ipsec", "addconn", "--checkconfig", "--config", str(conf), binds=(tmpdir,))
        if "[rc=0]" in out and not re.search(r"warning|not valid|invalid|ERROR|unrecognized|syntax error", out, re.I):
            return True, out
    return False, out


def test_every_finding_has_a_fix():
    assert not [t.id for t in TOPICS.values() if not t.fix]


def test_the_two_libreswans_are_what_they_claim():
    assert toolset("4").version_line().startswith("Libreswan 4.")
    assert toolset("5").version_line().startswith("Libreswan 5.")


@pytest.mark.parametrize("version", CHECKED)
def test_commands_in_fix_steps_exist(version):
    bad = []
    top = help_text(version)
    for topic, n, step in STEPS:
        if version not in step_versions(step):
            continue
        for command, options in commands_of(step):
            listed = re.search(rf"(?m)(^|\s){re.escape(command)}(\s|$)", top.split("[rc=")[0])
            if not listed:
                bad.append(f"{topic} step {n}: 'ipsec {command}' is not in Libreswan {version}'s ipsec --help")
                continue
            if options and command in ("whack", "auto", "addconn"):
                sub = help_text(version, command)
                for option in options:
                    if not option_listed(option, sub):
                        bad.append(f"{topic} step {n}: 'ipsec {command} {option}' is not in Libreswan {version}'s "
                                   f"ipsec {command} --help")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("version", CHECKED)
def test_options_in_fix_steps_pass_checkconfig(version, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"checkconfig{version}", numbered=True)
    # under /tmp, so the 5.x root can see it at the same path
    assert str(tmp).startswith("/tmp/")
    bad = []
    for topic, n, step in STEPS:
        if version not in step_versions(step):
            continue
        for key, value in options_of(step):
            ok, out = checkconfig(version, key, value, str(tmp))
            if not ok:
                said = " ".join(out.split())[:200]
                bad.append(f"{topic} step {n}: {key}={value} rejected by Libreswan {version}: {said}")
    assert not bad, "\n".join(bad)


def test_keyexchange_is_5x_only_and_ikev2_insist_both(tmp_path_factory):
    """The issue's example, measured: 4.x's addconn refuses keyexchange=ikev2; both read ikev2=insist."""
    tmp = str(tmp_path_factory.mktemp("kx"))
    assert not checkconfig("4", "keyexchange", "ikev2", tmp)[0]
    assert checkconfig("5", "keyexchange", "ikev2", tmp)[0]
    assert checkconfig("4", "ikev2", "insist", tmp)[0] and checkconfig("5", "ikev2", "insist", tmp)[0]


@pytest.mark.parametrize("version", CHECKED)
@pytest.mark.parametrize("value,expected", [("permit", "IKEv1"), ("propose", "IKEv2"), ("insist", "IKEv2")])
def test_how_each_pluto_reads_ikev2(version, value, expected, tmp_path_factory, lab_environment):
    """The fix texts say ikev2=permit means IKEv1 and propose/insist IKEv2, in 4.x and 5.x: measured here."""
    from swandoc.lab import topology
    from swandoc.lab.daemon import Pluto, config_setup

    work = tmp_path_factory.mktemp(f"ikev2-{value}-{version}")
    ns = f"{topology.NAMESPACE_PREFIX}{topology.new_run_id()}-kx"
    topology.run_ip("netns", "add", ns)
    daemon = Pluto("west", ns, work, config_setup(work / "pluto.log", debug=False, extra={"ikev1-policy": "accept"})
                   + f"\nconn kx\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tauthby=secret\n\tikev2={value}\n"
                     f"\tauto=add\n", "", toolset=toolset(version))
    try:
        daemon.prepare()
        daemon.start()
        daemon.addconn("kx")
        log = daemon.logfile.read_text()
    finally:
        daemon.stop()
        topology.delete_namespace(ns)
    assert f"added {expected} connection" in log, log[-500:]
