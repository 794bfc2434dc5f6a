"""The bundle's own, read-only collection: bounded in time, never fatal.

``swandoc.probes.collect.collect`` (the live probes of ``diagnose``) provides most items;
this module fills in whatever it did not (or everything, when it is unavailable), and
gathers the items only a bundle needs (the censored secrets and NSS password file).

Each command runs in its own process group and the whole group is killed when its time is
up, so a hung command (or a grandchild holding its pipe) cannot hang the bundle.
"""
from __future__ import annotations

import glob
import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from typing import Sequence

from ..evidence import Evidence

ITEM_TIMEOUT = 10.0
LOG_LIMIT = 64 * 1024 * 1024
NSS_DIRS = ("/var/lib/ipsec/nss", "/etc/ipsec.d")  # Fedora/RHEL 9+/upstream, then Debian/RHEL<=8
SYSCTLS = (
    "net/ipv4/ip_forward", "net/ipv6/conf/all/forwarding", "net/ipv4/conf/all/rp_filter",
    "net/ipv4/conf/default/rp_filter", "net/ipv4/conf/all/send_redirects", "net/ipv4/conf/all/accept_redirects",
    "net/ipv4/ip_no_pmtu_disc", "net/ipv4/tcp_mtu_probing", "net/core/xfrm_larval_drop",
    "net/core/xfrm_acq_expires", "net/ipv4/conf/all/disable_xfrm", "net/ipv4/conf/all/disable_policy",
    "net/ipv4/ip_local_port_range", "crypto/fips_enabled",
)


@dataclass(frozen=True)
class Options:
    """What ``swandoc bundle`` was asked to collect (also handed to probes.collect)."""

    config: str = "/etc/ipsec.conf"
    secrets: str = "/etc/ipsec.secrets"
    ctl_socket: str | None = None
    log: str | None = None
    since: str = "24h"
    conn: str | None = None
    capture: float = 0.0
    timeout: float = ITEM_TIMEOUT
    nss_dir: str | None = None
    initiate: bool = False  # a bundle never changes the host


def run_bounded(name: str, argv: Sequence[str], *, timeout: float = ITEM_TIMEOUT, ok_status: Sequence[int] = (0,),
                limit: int = LOG_LIMIT) -> Evidence:
    origin = " ".join(argv)
    if shutil.which(argv[0]) is None:
        return Evidence(name, None, origin, error=f"{argv[0]} is not installed")
    start = time.monotonic()
    try:
        proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env={**os.environ, "LC_ALL": "C"}, start_new_session=True)
    except OSError as exc:
        return Evidence(name, None, origin, error=f"cannot run {argv[0]}: {exc.strerror}")
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        try:
            out, err = proc.communicate(timeout=2)
        except subprocess.TimeoutExpired:
            out, err = b"", b""
        return Evidence(name, out[:limit] or None, origin, status=proc.returncode, duration=time.monotonic() - start,
                        error=f"cut off after {timeout:g}s (no result in time)")
    duration = time.monotonic() - start
    if proc.returncode not in ok_status:
        lines = (err or out).decode("utf-8", "replace").strip().splitlines()
        why = lines[-1] if lines else "no output"
        return Evidence(name, (out + err)[:limit], origin, status=proc.returncode, duration=duration,
                        error=f"exit status {proc.returncode}: {why}")
    return Evidence(name, out[:limit], origin, status=proc.returncode, duration=duration)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


def read_bounded(name: str, path: str, *, limit: int = LOG_LIMIT) -> Evidence:
    """A file's contents (the last *limit* bytes); missing, vanished or unreadable -> a reason."""
    start = time.monotonic()
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > limit:
                fh.seek(size - limit)
            data = fh.read(limit)
    except FileNotFoundError:
        return Evidence(name, None, path, error=f"{path} does not exist (or vanished while collecting)")
    except PermissionError:
        return Evidence(name, None, path, error=f"no permission to read {path} (run as root)")
    except OSError as exc:
        return Evidence(name, None, path, error=f"cannot read {path}: {exc.strerror or exc}")
    return Evidence(name, data, path, status=0, duration=time.monotonic() - start)


def read_config(path: str, name: str = "ipsec_conf") -> Evidence:
    """ipsec.conf with its ``include`` files appended (each marked by a comment line)."""
    start = time.monotonic()
    first = read_bounded(name, path)
    if not first.available:
        return first
    parts = [f"# --- swandoc: file {path} ---\n", first.text()]
    problems: list[str] = []
    for pattern in re.findall(r"^\s*include\s+(\S+)", first.text(), re.MULTILINE):
        if not os.path.isabs(pattern):
            pattern = os.path.join(os.path.dirname(path), pattern)
        for included in sorted(glob.glob(pattern))[:64]:
            item = read_bounded(name, included)
            if item.available:
                parts.append(f"\n# --- swandoc: file {included} ---\n{item.text()}")
            else:
                problems.append(item.error or included)
    meta = (("problems", "; ".join(problems)),) if problems else ()
    return Evidence(name, "".join(parts).encode(), path, status=0, duration=time.monotonic() - start, meta=meta)


def nss_dir(options: Options) -> str | None:
    if options.nss_dir:
        return options.nss_dir
    for candidate in NSS_DIRS:
        if os.path.exists(os.path.join(candidate, "cert9.db")) or os.path.exists(os.path.join(candidate, "cert8.db")):
            return candidate
    return None


def _whack(options: Options, *args: str) -> list[str]:
    argv = ["ipsec", "whack"]
    if options.ctl_socket:
        argv += ["--ctlsocket", options.ctl_socket]
    return argv + list(args)


def _sysctls() -> Evidence:
    start = time.monotonic()
    lines = []
    for key in SYSCTLS:
        path = "/proc/sys/" + key
        try:
            with open(path) as fh:
                lines.append(f"{key.replace('/', '.')} = {fh.read().strip()}")
        except OSError as exc:
            lines.append(f"# {key.replace('/', '.')}: {exc.strerror or exc}")
    for path in sorted(glob.glob("/proc/sys/net/ipv4/conf/*/rp_filter")):
        try:
            with open(path) as fh:
                lines.append(f"{path[len('/proc/sys/'):].replace('/', '.')} = {fh.read().strip()}")
        except OSError:
            continue
    return Evidence("sysctls", ("\n".join(lines) + "\n").encode(), "/proc/sys", status=0,
                    duration=time.monotonic() - start)


def _pluto_log(options: Options) -> Evidence:
    if options.log:
        return read_bounded("pluto_log", options.log)
    try:  # the diagnose journal probe: same format as a live diagnosis
        from ..probes.journal import read_journal
    except ImportError:
        read_journal = None
    if read_journal is not None:
        since = options.since.strip()
        item = read_journal("-" + since if re.fullmatch(r"\d+[smhd]", since) else since)
        if item.available:
            return item
    since = options.since.strip()
    if re.fullmatch(r"\d+[smhd]", since):
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[since[-1]]
        since = f"-{since[:-1]} {unit}"
    item = run_bounded("pluto_log", ["journalctl", "--no-pager", "-o", "short-precise", "--since", since,
                                     "-u", "ipsec", "-u", "pluto", "-t", "pluto", "-t", "ipsec"],
                       timeout=max(30.0, options.timeout), ok_status=(0, 1))
    if item.available and item.content and item.content.strip() and b"-- No entries --" not in item.content[:200]:
        return item
    for path in ("/var/log/pluto.log", "/var/log/secure", "/var/log/auth.log"):
        if os.path.exists(path):
            found = read_bounded("pluto_log", path)
            if found.available:
                return found
    return item if item.error else Evidence("pluto_log", None, item.origin, error="no pluto lines in the journal or log files")


def gather(options: Options, skip: set[str] = frozenset()) -> list[Evidence]:
    """Every bundle item not in *skip*, one after the other, each bounded by options.timeout."""
    t = options.timeout
    plan = {
        "libreswan_version": lambda: run_bounded("libreswan_version", ["ipsec", "--version"], timeout=t),
        "ipsec_conf": lambda: read_config(options.config),
        "whack_status": lambda: run_bounded("whack_status", _whack(options, "--status"), timeout=t),
        "whack_trafficstatus": lambda: run_bounded("whack_trafficstatus", _whack(options, "--trafficstatus"), timeout=t),
        "whack_listall": lambda: run_bounded("whack_listall", _whack(options, "--listall"), timeout=t),
        "nss_certs": lambda: (run_bounded("nss_certs", ["certutil", "-L", "-d", f"sql:{nss_dir(options)}"], timeout=t)
                              if nss_dir(options) else Evidence("nss_certs", None, "certutil -L",
                                                                error=f"no NSS database in {' or '.join(NSS_DIRS)}")),
        "fips_status": lambda: read_bounded("fips_status", "/proc/sys/crypto/fips_enabled"),
        "crypto_policy": lambda: run_bounded("crypto_policy", ["update-crypto-policies", "--show"], timeout=t),
        "xfrm_state": lambda: run_bounded("xfrm_state", ["ip", "xfrm", "state"], timeout=t),
        "xfrm_policy": lambda: run_bounded("xfrm_policy", ["ip", "xfrm", "policy"], timeout=t),
        "xfrm_stat": lambda: read_bounded("xfrm_stat", "/proc/net/xfrm_stat"),
        "links": lambda: run_bounded("links", ["ip", "-j", "-d", "link", "show"], timeout=t),
        "addresses": lambda: run_bounded("addresses", ["ip", "-j", "addr", "show"], timeout=t),
        "routes": lambda: run_bounded("routes", ["ip", "-j", "route", "show", "table", "all"], timeout=t),
        "ip_rules": lambda: run_bounded("ip_rules", ["ip", "-j", "rule", "show"], timeout=t),
        "iptables_save": lambda: run_bounded("iptables_save", ["iptables-save"], timeout=t),
        "ip6tables_save": lambda: run_bounded("ip6tables_save", ["ip6tables-save"], timeout=t),
        "nft_ruleset": lambda: run_bounded("nft_ruleset", ["nft", "-j", "list", "ruleset"], timeout=t),
        "sysctls": _sysctls,
        "listening_sockets": lambda: run_bounded("listening_sockets", ["ss", "-lunp"], timeout=t),
        "pluto_process": lambda: run_bounded("pluto_process", ["ps", "-C", "pluto", "-o", "pid,user,etime,args"],
                                             timeout=t, ok_status=(0, 1)),
        "pluto_log": lambda: _pluto_log(options),
    }
    try:  # netlink via the diagnose probe (pyroute2 JSON, what its parsers read)
        from ..probes.netinfo import collect_netlink
    except ImportError:
        collect_netlink = None
    if collect_netlink is not None:
        for name in ("links", "addresses", "routes", "ip_rules"):
            plan.pop(name)
        plan["netlink"] = collect_netlink
    items = []
    for name, fn in plan.items():
        if name in skip:
            continue
        try:
            got = fn()
            if isinstance(got, list):
                items.extend(i for i in got if i.name not in skip)
            else:
                items.append(got)
        except Exception as exc:  # one broken probe never ends the bundle
            items.append(Evidence(name, None, name, error=f"probe failed: {exc.__class__.__name__}: {exc}"))
    return items
