"""Host readiness (what ``ipsec verify`` checked, and more): gathered read-only, judged purely.

:func:`gather` reads this host — kernel XFRM support, sysctls, pluto's process and sockets, the
NSS database and its password file, FIPS state, ESP offload features — and never changes
anything; each part that cannot be read (no root, no tool) is noted, not guessed.
:func:`judge` turns the gathered :class:`HostFacts` into findings and is a pure function, so
tests feed it facts recorded elsewhere.
"""
from __future__ import annotations

import os
import re
import socket
import subprocess
from dataclasses import dataclass, field
from typing import Iterator

from ..model import EvidenceLine, Finding
from ..probes.hostinfo import parse_pluto_process, parse_ss, parse_sysctls, find_pluto, read_sysctls
from ..probes.run import run_command
from ..rules import host as _host_topics  # noqa: F401  (pluto-not-running, rp-filter-strict ...)
from ..rules.knowledge import finding
from . import knowledge  # noqa: F401
from .confsource import ConfigDoc
from .conn import ConnView

NETLINK_XFRM = 6
EXTRA_SYSCTLS = ("net.ipv4.conf.default.send_redirects", "net.ipv4.conf.default.accept_redirects")
NSS_TOKENS = ("NSS Certificate DB", "NSS FIPS 140-2 Certificate DB", "NSS FIPS 140-3 Certificate DB")


@dataclass
class HostFacts:
    xfrm: bool | None = None
    sysctls: dict[str, str] = field(default_factory=dict)
    pluto: tuple = ()  # Process records
    sockets: tuple | None = None  # Socket records, None when ss could not run
    nss_dir: str | None = None
    nss_files: tuple[str, ...] = ()
    nss_password_file: str | None = None
    nss_password_lines: tuple[tuple[int, str], ...] = ()  # (line number, token) — never the password
    nss_password_error: str | None = None
    nss_password_malformed: tuple[int, ...] = ()
    nss_password_works: bool | None = None  # None: not tried (no root, no certutil, no file)
    fips_kernel: bool | None = None
    fips_policy: bool | None = None  # /etc/crypto-policies/config says FIPS
    fips_pluto: bool | None = None
    offload: dict[str, tuple[bool | None, str]] = field(default_factory=dict)  # dev -> (ok, why)
    offload_dev: dict[str, str] = field(default_factory=dict)  # conn name -> the device its ESP leaves by
    notes: list[tuple[str, str, str]] = field(default_factory=list)  # (probe, status, result)


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read()
    except OSError:
        return None


def _xfrm_available() -> bool:
    try:
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_XFRM)
    except OSError:
        return False
    sock.close()
    return True


def gather(doc: ConfigDoc | None, conns: list[ConnView]) -> HostFacts:
    facts = HostFacts()
    facts.xfrm = _xfrm_available()
    facts.notes.append(("xfrm", "ok" if facts.xfrm else "failed", "XFRM netlink " + ("present" if facts.xfrm else "missing")))
    text = read_sysctls([])
    for key in EXTRA_SYSCTLS:
        value = _read("/proc/sys/" + key.replace(".", "/"))
        if value is not None:
            text += f"{key} = {value.strip()}\n"
    facts.sysctls = parse_sysctls(text)
    facts.pluto = parse_pluto_process(find_pluto())
    ss = run_command("listening_sockets", ["ss", "-Hulnp"])
    sst = run_command("listening_sockets", ["ss", "-Htlnp"])
    if ss.available and sst.available:
        facts.sockets = parse_ss("# ss -Hulnp\n" + ss.text() + "# ss -Htlnp\n" + sst.text())
    else:
        facts.notes.append(("listening sockets", "skipped", ss.error or sst.error or "ss failed"))
    _gather_nss(facts, doc)
    _gather_fips(facts)
    gather_offload(facts, conns)
    return facts


def _pluto_option(facts: HostFacts, option: str) -> str | None:
    """An option the running pluto was started with (``--nssdir DIR``): it wins over the config."""
    for process in facts.pluto:
        if process.same_netns:
            m = re.search(rf"(?:^|\s){re.escape(option)}[= ](\S+)", process.cmdline)
            if m:
                return m.group(1)
    return None


def _gather_nss(facts: HostFacts, doc: ConfigDoc | None) -> None:
    nssdir = _pluto_option(facts, "--nssdir") or (doc.setup_value("nssdir") if doc else None) or next(
        (d for d in ("/var/lib/ipsec/nss", "/etc/ipsec.d") if os.path.exists(os.path.join(d, "cert9.db"))),
        "/var/lib/ipsec/nss")
    facts.nss_dir = nssdir
    facts.nss_files = tuple(f for f in ("cert9.db", "key4.db") if os.path.exists(os.path.join(nssdir, f)))
    # pluto reads <ipsecdir>/nsspassword (ipsecdir= in config setup, /etc/ipsec.d by default)
    ipsecdir = _pluto_option(facts, "--ipsecdir") or (doc.setup_value("ipsecdir") if doc else None) or "/etc/ipsec.d"
    pwfile = os.path.join(ipsecdir, "nsspassword")
    if not os.path.exists(pwfile):
        facts.notes.append(("nss password file", "skipped", f"{pwfile}: none (an empty-password database needs none)"))
        facts.nss_password_works = _certutil_opens(nssdir, None) if facts.nss_files else None
        return
    facts.nss_password_file = pwfile
    try:
        with open(pwfile, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError as exc:
        facts.nss_password_error = exc.strerror or str(exc)
        return
    tokens, malformed, password = [], [], None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        token, sep, value = line.partition(":")
        if not sep:
            malformed.append(number)
            continue
        tokens.append((number, token.strip()))
        if password is None and token.strip() in NSS_TOKENS:
            password = value
    del text
    facts.nss_password_lines, facts.nss_password_malformed = tuple(tokens), tuple(malformed)
    if facts.nss_files:
        facts.nss_password_works = _certutil_opens(nssdir, password)
    del password


def _certutil_opens(nssdir: str, password: str | None) -> bool | None:
    """Whether certutil can list the private keys with *password* (fed through a pipe, never argv)."""
    if os.geteuid() != 0 or not os.path.exists("/usr/bin/certutil"):
        return None
    read_fd, write_fd = os.pipe()
    try:
        os.write(write_fd, (password or "").encode() + b"\n")
        os.close(write_fd)
        write_fd = -1
        proc = subprocess.run(["certutil", "-K", "-d", f"sql:{nssdir}", "-f", f"/dev/fd/{read_fd}"],
                              pass_fds=(read_fd,), stdin=subprocess.DEVNULL, capture_output=True, timeout=10,
                              env={**os.environ, "LC_ALL": "C"})
    except (OSError, subprocess.SubprocessError):
        return None
    finally:
        os.close(read_fd)
        if write_fd >= 0:
            os.close(write_fd)
    out = (proc.stdout + proc.stderr).decode(errors="replace")
    if "SEC_ERROR_BAD_PASSWORD" in out or "Incorrect password" in out or "bad database" in out.lower():
        return False
    if proc.returncode == 0:
        return True
    return None  # some other failure (locked database, odd NSS): not evidence about the password


def _gather_fips(facts: HostFacts) -> None:
    kernel = _read("/proc/sys/crypto/fips_enabled")
    facts.fips_kernel = kernel.strip() == "1" if kernel is not None else None
    policy = _read("/etc/crypto-policies/config")
    facts.fips_policy = policy.strip().upper().startswith("FIPS") if policy is not None else None
    if any(p.same_netns for p in facts.pluto):
        whack = run_command("whack_fipsstatus", ["ipsec", "whack", "--fipsstatus"], ok_status=(0, 1))
        if whack.content:
            text = whack.text().lower()
            facts.fips_pluto = True if "enabled" in text and "disabled" not in text else \
                (False if "disabled" in text else None)


def gather_offload(facts: HostFacts, conns: list[ConnView]) -> None:
    wanted = [c for c in conns if (c.value("nic-offload") or "").lower() == "yes"]
    if not wanted:
        return
    try:
        from pyroute2 import IPRoute
        from pyroute2.ethtool import Ethtool
    except ImportError:
        facts.notes.append(("esp offload", "skipped", "pyroute2 is not installed"))
        return
    devices: set[str] = set()
    with IPRoute() as ipr:
        for conn in wanted:
            dev = _egress_device(ipr, conn)
            if dev:
                devices.add(dev)
                facts.offload_dev[conn.name] = dev
            else:
                facts.notes.append(("esp offload", "skipped", f"conn {conn.name}: neither end is an address of "
                                                             "this host, so its interface is unknown"))
    eth = Ethtool()
    try:
        for dev in sorted(devices):
            facts.offload[dev] = _offload_of(eth, dev)
            facts.notes.append(("esp offload", "ok" if facts.offload[dev][0] else "failed", facts.offload[dev][1]))
    finally:
        eth.close()


def _egress_device(ipr, conn: ConnView) -> str | None:
    """The interface carrying *conn*'s ESP: the one holding this end's address, or the route to the peer."""
    def name(index) -> str | None:
        links = ipr.get_links(index) if index else []
        return links[0].get_attr("IFLA_IFNAME") if links else None

    def route(dst: str | None):
        try:
            routes = ipr.route("get", dst=dst) if dst else []
        except Exception:
            return None
        return routes[0] if routes else None

    hosts = {side: conn.host(side) for side in ("left", "right")}
    for side, other in (("left", "right"), ("right", "left")):
        address = _literal(hosts[side])
        here = route(address) if address else None
        if here is not None and here["type"] == 2:  # RTN_LOCAL: this end's address
            for addr in ipr.get_addr():
                if address in (addr.get_attr("IFA_ADDRESS"), addr.get_attr("IFA_LOCAL")):
                    return name(addr["index"])
        if hosts[side] == "%defaultroute":
            peer = route(_literal(hosts[other])) if _literal(hosts[other]) else None
            if peer is None:
                defaults = ipr.get_default_routes()
                peer = defaults[0] if defaults else None
            return name(peer.get_attr("RTA_OIF")) if peer is not None else None
    return None


def _literal(value: str | None) -> str | None:
    import ipaddress
    try:
        return str(ipaddress.ip_address(value)) if value else None
    except ValueError:
        return None


def _offload_of(eth, dev: str) -> tuple[bool | None, str]:
    def feature(name: str) -> bool | None:
        try:
            f = eth.get_features(name).features.get("esp-hw-offload")
        except Exception:
            return None
        return bool(f and f.available)

    bonding = f"/sys/class/net/{dev}/bonding"
    if os.path.isdir(bonding):
        mode = (_read(f"{bonding}/mode") or "").split()
        ports = (_read(f"{bonding}/slaves") or "").split()
        if mode and mode[0] != "active-backup":
            return False, f"bond {dev} is in mode {mode[0]}; ESP offload needs active-backup"
        lacking = [p for p in ports if feature(p) is not True]
        if lacking:
            return False, f"bond {dev}: ports without esp-hw-offload: {', '.join(lacking)}"
        return True, f"bond {dev} (active-backup) and all its ports offer esp-hw-offload"
    ok = feature(dev)
    return ok, f"{dev}: esp-hw-offload " + {True: "offered", False: "not offered (fixed off)", None: "unknown"}[ok]


# ------------------------------------------------------------------------------ judging

def _sysctl(facts: HostFacts, key: str) -> EvidenceLine:
    return EvidenceLine("sysctls", None, f"{key} = {facts.sysctls.get(key)}")


def sysctl_findings(sysctls, name: str | None, line) -> Iterator[Finding]:
    """Redirects and larval drop, as ipsec verify checked them; *line(key)* makes the evidence line."""
    on = [k for k in ("net.ipv4.conf.all.send_redirects", "net.ipv4.conf.default.send_redirects",
                      "net.ipv4.conf.all.accept_redirects", "net.ipv4.conf.default.accept_redirects")
          if sysctls.get(k) not in (None, "0")]
    if on:
        yield finding("icmp-redirects-enabled", name, [line(k) for k in on])
    if sysctls.get("net.core.xfrm_larval_drop") == "0":
        yield finding("xfrm-larval-drop-off", name, [line("net.core.xfrm_larval_drop")])


def judge(facts: HostFacts, conns: list[ConnView], doc: ConfigDoc | None = None) -> Iterator[Finding]:
    name = conns[0].name if len(conns) == 1 else None
    if facts.xfrm is False:
        yield finding("xfrm-unavailable", name, [EvidenceLine("xfrm", None, "socket(AF_NETLINK, NETLINK_XFRM): "
                                                               "protocol not supported")])
    yield from sysctl_findings(facts.sysctls, name, lambda key: _sysctl(facts, key))
    subnet_conns = [c for c in conns if c.subnets("left") or c.subnets("right")]
    if subnet_conns and facts.sysctls.get("net.ipv4.conf.all.rp_filter") == "1":
        yield finding("rp-filter-strict", subnet_conns[0].name if len(subnet_conns) == 1 else None,
                      [_sysctl(facts, "net.ipv4.conf.all.rp_filter")],
                      fix=["sysctl -w net.ipv4.conf.all.rp_filter=2", "Make it permanent in /etc/sysctl.d/50-ipsec.conf"])
    running = [p for p in facts.pluto if p.same_netns]
    if not running:
        yield finding("pluto-not-running", name, [EvidenceLine("pluto_process", None,
                                                                "no pluto process in this network namespace")])
    elif facts.sockets is not None:
        wanted = [("udp", 500), ("udp", 4500)]
        if doc is not None and (doc.setup_value("listen-tcp") or "").lower() in ("yes", "true"):
            wanted.append(("tcp", 4500))
        missing = [f"{p.upper()} {port}" for p, port in wanted
                   if not any(s.proto == p and s.port == port and s.process in (None, "pluto") for s in facts.sockets)]
        if missing:
            yield finding("pluto-not-listening", name, [EvidenceLine("listening_sockets", None,
                                                                      f"no pluto socket on {m}") for m in missing],
                          extra="Missing: " + ", ".join(missing) + ".")
    yield from _nss(facts, name)
    yield from _fips(facts, name)
    yield from offload_findings(facts, conns)


def offload_findings(facts: HostFacts, conns: list[ConnView]) -> Iterator[Finding]:
    for conn in conns:
        if (conn.value("nic-offload") or "").lower() != "yes":
            continue
        dev = facts.offload_dev.get(conn.name)
        bad = [(dev, facts.offload[dev][1])] if dev in facts.offload and facts.offload[dev][0] is False else []
        if bad:
            yield finding("nic-offload-unsupported", conn.name, list(conn.where("nic-offload")) +
                          [EvidenceLine("ethtool", None, why) for _, why in bad])


def _nss(facts: HostFacts, name: str | None) -> Iterator[Finding]:
    if facts.nss_dir and not facts.nss_files and os.path.isdir(os.path.dirname(facts.nss_dir) or "/"):
        yield finding("nss-db-missing", name, [EvidenceLine("nss", None, f"{facts.nss_dir}: no cert9.db/key4.db")])
        return
    lines, why = [], []
    pw = facts.nss_password_file
    if pw and facts.nss_password_error:
        lines.append(EvidenceLine(pw, None, f"cannot read: {facts.nss_password_error}"))
        why.append("the password file cannot be read")
    for number in facts.nss_password_malformed:
        lines.append(EvidenceLine(pw or "nsspassword", number, "[line not shown: not token:password]"))
        why.append(f"line {number} is not token:password")
    tokens = [t for _, t in facts.nss_password_lines]
    if pw and tokens and not set(tokens) & set(NSS_TOKENS):
        for number, token in facts.nss_password_lines:
            lines.append(EvidenceLine(pw, number, f"{token}:[password removed]"))
        why.append(f"no line names a token pluto uses ({', '.join(NSS_TOKENS[:2])})")
    fips = facts.fips_kernel or facts.fips_pluto
    if pw and fips and tokens and not any("FIPS" in t for t in tokens):
        lines += [EvidenceLine(pw, n, f"{t}:[password removed]") for n, t in facts.nss_password_lines]
        why.append("FIPS mode is on, so NSS asks for the 'NSS FIPS 140-2 Certificate DB' token")
    if facts.nss_password_works is False:
        lines.append(EvidenceLine("certutil", None, f"certutil -K -d sql:{facts.nss_dir}: the password does not open "
                                                    "the database"))
        why.append("the password does not open the database" if pw else
                   "the database has a password but there is no /etc/ipsec.d/nsspassword")
    if why:
        yield finding("nss-password-problem", name, lines, extra="Here: " + "; ".join(dict.fromkeys(why)) + ".")


def _fips(facts: HostFacts, name: str | None) -> Iterator[Finding]:
    states = {"kernel (/proc/sys/crypto/fips_enabled)": facts.fips_kernel,
              "crypto policy (/etc/crypto-policies/config)": facts.fips_policy,
              "pluto (ipsec whack --fipsstatus)": facts.fips_pluto}
    known = {k: v for k, v in states.items() if v is not None}
    if len(set(known.values())) > 1:
        yield finding("fips-inconsistent", name, [EvidenceLine("fips", None, f"{k}: {'on' if v else 'off'}")
                                                  for k, v in known.items()])


def addconn_findings(doc_path: str, lines_by_number: dict[tuple[str, int], EvidenceLine],
                     output: str) -> list[tuple[str, EvidenceLine, str]]:
    """(id, evidence, message) for what ``ipsec addconn --checkconfig`` printed.

    >>> found = addconn_findings("a.conf", {}, "cannot load config 'a.conf': a.conf:3: syntax error [frobnicate]\\n"
    ...                          "Warning: obsolete keyword 'forceencaps' ignored")
    >>> found += addconn_findings("a.conf", {}, "ipsec addconn: a.conf:6: warning: obsolete keyword ignored: "
    ...     "dpdaction=yes\\nFATAL ERROR: ipsec addconn: a.conf:2: unrecognized keyword 'frobnicate'")  # 5.x
    >>> [(id, e.source, e.line, message) for id, e, message in found]
    [('config-syntax-error', 'a.conf', 3, 'syntax error [frobnicate]'), ('obsolete-option', 'a.conf', None, "obsolete keyword 'forceencaps' ignored"), ('obsolete-option', 'a.conf', 6, 'warning: obsolete keyword ignored: dpdaction=yes'), ('config-syntax-error', 'a.conf', 2, "unrecognized keyword 'frobnicate'")]
    """
    out = []
    for raw in output.splitlines():
        line = raw.strip()
        if not line:
            continue
        m = re.search(r"(?P<file>[^\s':]+):(?P<line>\d+): (?P<msg>.*)$", line)
        if m and re.match(r"warning: obsolete keyword", m["msg"]):  # 5.x: FILE:LINE: warning: obsolete keyword ...
            where = lines_by_number.get((m["file"], int(m["line"]))) or EvidenceLine(m["file"], int(m["line"]), m["msg"])
            out.append(("obsolete-option", where, m["msg"]))
            continue
        if m:
            where = lines_by_number.get((m["file"], int(m["line"]))) or EvidenceLine(m["file"], int(m["line"]), m["msg"])
            out.append(("config-syntax-error", where, m["msg"]))
            continue
        m = re.match(r"(?i)warning: ((?:ignored )?obsolete keyword '(?P<key>[^']+)'.*)$", line)
        if m:
            out.append(("obsolete-option", EvidenceLine(doc_path, None, line), m.group(1)))
            continue
        if line.startswith(("addconn, in config", "while loading", "cannot load config")) or "error" in line.lower():
            out.append(("config-syntax-error", EvidenceLine(doc_path, None, line), line))
    # "while loading" and "addconn, in config" repeat one message: keep each message once
    seen, unique = set(), []
    for item in out:
        key = item[2].split(": ")[-1]
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return unique


def run_addconn(path: str) -> str | None:
    """``ipsec addconn --checkconfig`` output (stdout and stderr), or None when Libreswan is not installed."""
    item = run_command("addconn_checkconfig", ["ipsec", "addconn", "--checkconfig", "--config", path], ok_status=())
    if item.content is None and item.error and "not installed" in item.error:
        return None
    return item.text() if item.content is not None else item.error
