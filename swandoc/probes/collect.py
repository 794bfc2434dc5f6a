"""Run every read-only probe on this host and return the evidence, by registry name.

The one collection both ``swandoc diagnose`` (for a connection) and ``swandoc bundle`` (for a
connection, or without one: host-wide items only) use, so that ``analyze bundle.tar.xz``
reads the same evidence ``diagnose`` saw on the host.

Nothing here changes the host, with one exception the user asks for explicitly:
``initiate=True`` brings the connection up with ``ipsec whack --initiate`` while the capture
runs. Every probe is bounded in time and returns either its raw output or why it could not
(tool missing, no root, daemon down); a failed probe never stops the others.
"""
from __future__ import annotations

import dataclasses
import glob
import os
import re
import threading
import time
from dataclasses import dataclass
from typing import Callable

from ..errors import SwandocError
from ..evidence import Evidence, EvidenceSet
from . import config as confmod
from .hostinfo import find_pluto, read_sysctls, strip_xfrm_keys
from .netinfo import collect_netlink, collect_route_to_peer, local_addresses
from .run import DEFAULT_TIMEOUT, failed, read_file, run_command

IPSEC = "ipsec"
NSS_CANDIDATES = ("/var/lib/ipsec/nss", "/etc/ipsec.d")  # Fedora/RHEL 9+/upstream, then Debian/RHEL<=8
MAX_PACKETS = 10_000
LOG_LIMIT = 64 * 1024 * 1024
# Where pluto's lines land on hosts without a journal (syslog), in the order worth trying.
LOG_FILES = ("/var/log/pluto.log", "/var/log/secure", "/var/log/auth.log")
NO_CONN = "no connection named (--conn): only host-wide evidence was collected"


@dataclass(frozen=True)
class CollectOptions:
    conn: str | None = None  # None: host-wide items only (what ``swandoc bundle`` gathers without --conn)
    config: str = "/etc/ipsec.conf"
    ctl_socket: str | None = "/run/pluto/pluto.ctl"  # None: ipsec whack's own default
    log: str | None = None
    since: str | None = None
    duration: float = 10.0
    interface: str | None = None
    capture: bool = True
    esp: bool = True  # False: the capture takes IKE only, ESP is filtered out in the kernel
    pcap: str | None = None
    initiate: bool = False
    countdown: bool = False
    timeout: float = DEFAULT_TIMEOUT  # for each command
    nss_dir: str | None = None  # None: the NSS database pluto reports, else a standard place
    policies_dir: str | None = None  # None: ipsec.d/policies beside the config (the mesh's groups)


def _whack_argv(ctl: str | None, *args: str) -> list[str]:
    return [IPSEC, "whack", *(("--ctlsocket", ctl) if ctl else ()), *args]


def _whack(name: str, options: CollectOptions, *args: str) -> Evidence:
    return run_command(name, _whack_argv(options.ctl_socket, *args), timeout=options.timeout)


def find_nss_dir(status: Evidence | None = None, override: str | None = None) -> str | None:
    """*override*, else the NSS database pluto itself reports, else the first standard place holding one."""
    if override:
        return override
    if status is not None and status.available:
        from .whack import parse_whack_status
        nssdir = parse_whack_status(status.text()).nssdir
        if nssdir and os.path.isdir(nssdir):
            return nssdir
    for candidate in NSS_CANDIDATES:
        if os.path.exists(os.path.join(candidate, "cert9.db")) or os.path.exists(os.path.join(candidate, "cert8.db")):
            return candidate
    return None


def _listening_sockets(timeout: float) -> Evidence:
    udp = run_command("listening_sockets", ["ss", "-Hulnp"], timeout=timeout)
    tcp = run_command("listening_sockets", ["ss", "-Htlnp"], timeout=timeout)
    if not udp.available and not tcp.available:
        # No ss (minimal containers): the kernel's own tables still say what listens.
        udp_proc, tcp_proc = read_file("listening_sockets", "/proc/net/udp"), read_file("listening_sockets", "/proc/net/tcp")
        if udp_proc.available:
            content = b"# /proc/net/udp\n" + udp_proc.content + b"# /proc/net/tcp\n" + (tcp_proc.content or b"")
            return Evidence("listening_sockets", content, "/proc/net/udp /proc/net/tcp")
        return udp
    content = b"# ss -Hulnp\n" + (udp.content or b"") + b"# ss -Htlnp\n" + (tcp.content or b"")
    return Evidence("listening_sockets", content, "ss -Hulnp; ss -Htlnp", duration=udp.duration + tcp.duration)


def _pluto_process() -> Evidence:
    try:
        return Evidence("pluto_process", find_pluto().encode(), "/proc/*/comm")
    except OSError as exc:
        return failed("pluto_process", "/proc/*/comm", f"cannot list processes: {exc.strerror}")


def _xfrm_state(timeout: float, name: str = "xfrm_state", argv: tuple | list = ("ip", "xfrm", "state")) -> Evidence:
    """``ip [-s] xfrm state`` (with -s: byte/packet counters, lifetimes); keys removed at once."""
    raw = run_command(name, list(argv), timeout=timeout)
    if raw.content is None:
        return raw
    # Keys are removed here, before the text is stored anywhere (report, bundle, memory).
    text, removed = strip_xfrm_keys(raw.content.decode("utf-8", "replace"))
    return Evidence(name, text.encode(), raw.origin, raw.status, raw.duration, raw.error,
                    redactions=(("xfrm-key", removed),) if removed else ())


def _fips() -> Evidence:
    ev = read_file("fips_status", "/proc/sys/crypto/fips_enabled")
    if ev.available:
        value = ev.text().strip()
        return Evidence("fips_status", f"fips_enabled={value}\n".encode(), ev.origin)
    return ev


def _crypto_policy(timeout: float) -> Evidence:
    ev = run_command("crypto_policy", ["update-crypto-policies", "--show"], timeout=timeout)
    if ev.available:
        return ev
    ev = read_file("crypto_policy", "/etc/crypto-policies/config")
    if ev.available:
        return ev
    return failed("crypto_policy", "update-crypto-policies --show",
                  "no system crypto-policies on this host (not a Fedora/RHEL family system)")


def _pluto_log(options: CollectOptions, cfg: confmod.ConfigFile | None) -> Evidence:
    """--log, else ``logfile=`` of ``config setup``, else the journal, else pluto's lines of a syslog file."""
    path = options.log or (cfg.setup_value("logfile") if cfg else None)
    if path:
        return read_file("pluto_log", path, limit=LOG_LIMIT)
    from .journal import read_journal
    journal = read_journal(options.since)
    if journal.available:
        return journal
    for path in LOG_FILES:  # hosts without systemd: pluto logs through syslog
        if os.path.exists(path):
            found = read_file("pluto_log", path, limit=LOG_LIMIT)
            if found.available:
                return found if path == "/var/log/pluto.log" else pluto_lines_only(found)
    return journal


# A syslog line from pluto (or the ipsec tools around it): "... pluto[123]: ...", "ipsec: ...".
_PLUTO_SYSLOG = re.compile(rb"^[^\n]*?\s(?:pluto|ipsec|ipsec_[a-z]+|addconn|whack)(?:\[\d+\])?:", re.MULTILINE)


def pluto_lines_only(item: Evidence) -> Evidence:
    """Keep only pluto's lines of a shared syslog file (/var/log/secure, auth.log): the rest is
    other programs' business (logins, sudo) and never goes into a bundle or a report.

    >>> pluto_lines_only(Evidence("pluto_log", b"a sshd[1]: x\\nb pluto[2]: y\\n", "/var/log/secure")).content
    b'b pluto[2]: y\\n'
    """
    lines = [line for line in (item.content or b"").splitlines(keepends=True) if _PLUTO_SYSLOG.match(line)]
    kept = b"".join(lines)
    return dataclasses.replace(item, content=kept, meta=item.meta + (("filtered", f"pluto's lines only ({len(lines)} kept)"),))


def _capture(options: CollectOptions, interface: str | None) -> Evidence:
    try:
        from .capture import capture
    except ImportError:
        return failed("ike_capture", "capture", "packet capture is not available in this build")
    started = threading.Event()
    on_started: Callable[[], None] = started.set
    result: list[Evidence] = []
    user_error: list[SwandocError] = []

    def run() -> None:
        try:
            result.append(capture(interface, options.duration, MAX_PACKETS, options.pcap, options.countdown,
                                  on_started=on_started, esp=options.esp))
        except SwandocError as exc:  # the user's to fix (e.g. no such --interface): said after the join
            user_error.append(exc)
        except Exception as exc:  # the capture helper reports problems as Evidence; this is a last guard
            result.append(failed("ike_capture", f"capture on {interface}", f"capture failed: {exc}"))
        finally:
            started.set()

    thread = threading.Thread(target=run, name="swandoc-capture", daemon=True)
    thread.start()
    initiated = None
    if options.initiate:
        started.wait(timeout=5)
        time.sleep(0.2)  # let the filter see the very first IKE_SA_INIT
        initiated = _initiate(options)
    thread.join(timeout=options.duration + 30)
    if user_error:
        raise user_error[0]
    capture_ev = result[0] if result else failed("ike_capture", "capture", "capture did not finish in time")
    if initiated is not None:
        capture_ev = Evidence(capture_ev.name, capture_ev.content, capture_ev.origin, capture_ev.status,
                              capture_ev.duration, capture_ev.error, capture_ev.redactions,
                              capture_ev.meta + (("initiate", initiated.text().strip() or (initiated.error or "")),))
    return capture_ev


def collect(options: CollectOptions, *, progress: Callable[[str], None] | None = None) -> EvidenceSet:
    """Every probe, aimed at *options.conn* when one is named; raises SwandocError only for what
    the user must fix (an unknown conn, an unreadable config for it, a mistyped --interface)."""
    say = progress or (lambda _msg: None)
    _check_interface(options.interface)
    t = options.timeout
    evidence = EvidenceSet()

    def add(name: str, probe: Callable[[], Evidence | list[Evidence]]) -> Evidence | list[Evidence]:
        """Run one probe; whatever goes wrong inside it is recorded, never fatal to the others."""
        try:
            got = probe()
        except SwandocError:
            raise
        except Exception as exc:
            got = failed(name, name, f"probe failed: {exc.__class__.__name__}: {exc}")
        for item in got if isinstance(got, list) else [got]:
            evidence.add(item)
        return got

    netlink = add("links", collect_netlink)
    netlink = netlink if isinstance(netlink, list) else [netlink]
    say("reading the configuration")
    cfg = _config(options, evidence)
    route = add("route_to_peer", lambda: _connection(options, cfg, netlink, evidence))

    add("libreswan_version", lambda: run_command("libreswan_version", [IPSEC, "--version"], timeout=t))
    say("asking pluto")
    add("pluto_process", _pluto_process)
    add("listening_sockets", lambda: _listening_sockets(t))
    status = add("whack_status", lambda: _whack("whack_status", options, "--status"))
    add("whack_trafficstatus", lambda: _whack("whack_trafficstatus", options, "--trafficstatus"))
    add("whack_listall", lambda: _whack("whack_listall", options, "--listall"))
    say("reading logs, kernel and firewall state")
    add("pluto_log", lambda: _pluto_log(options, cfg))
    add("xfrm_stat", lambda: read_file("xfrm_stat", "/proc/net/xfrm_stat"))
    add("xfrm_state", lambda: _xfrm_state(t))
    add("xfrm_policy", lambda: run_command("xfrm_policy", ["ip", "xfrm", "policy"], timeout=t))
    add("iptables_save", lambda: run_command("iptables_save", ["iptables-save"], timeout=t))
    add("ip6tables_save", lambda: run_command("ip6tables_save", ["ip6tables-save"], timeout=t))
    add("nft_ruleset", lambda: run_command("nft_ruleset", ["nft", "-j", "list", "ruleset"], timeout=t))
    add("sysctls", lambda: Evidence("sysctls", read_sysctls(_device_names(netlink)).encode(), "/proc/sys/net"))
    add("fips_status", _fips)
    add("crypto_policy", lambda: _crypto_policy(t))
    add("nss_certs", lambda: _nss_certs(options, status if isinstance(status, Evidence) else None))
    add("nss_keys", lambda: _nss_keys(options, status if isinstance(status, Evidence) else None))
    say("reading what a support engineer asks for")
    add("xfrm_state_stats", lambda: _xfrm_state(t, "xfrm_state_stats", ["ip", "-s", "xfrm", "state"]))
    # ipsec_policies comes with the config (_config): the groups beside it, or --policies-dir
    add("nm_connections", _nm_connections)
    add("hosts_file", lambda: read_file("hosts_file", "/etc/hosts"))
    add("kernel_version", lambda: read_file("kernel_version", "/proc/version"))
    add("os_release", _os_release)
    add("ipsec_service_status", lambda: run_command(
        "ipsec_service_status", ["systemctl", "status", "--no-pager", "--full", "--lines=50", "ipsec.service"],
        timeout=t))

    if options.capture:
        interface = options.interface or _route_device(route)
        say(f"capturing on {interface or 'the default interface'} for {options.duration:g}s")
        add("ike_capture", lambda: _capture(options, interface))
    elif options.initiate:
        add("whack_initiate", lambda: _initiate(options))
    add("xfrm_stat_end", lambda: read_file("xfrm_stat_end", "/proc/net/xfrm_stat"))
    if options.initiate and options.conn:
        # The exchange just started: read pluto's view again so the report shows where it got to.
        add("whack_status", lambda: _whack("whack_status", options, "--status"))
        add("whack_trafficstatus", lambda: _whack("whack_trafficstatus", options, "--trafficstatus"))
        add("pluto_log", lambda: _pluto_log(options, cfg))
    return evidence


def _config(options: CollectOptions, evidence: EvidenceSet) -> confmod.ConfigFile | None:
    """ipsec.conf with its includes; unreadable is fatal only when a conn must be resolved from it.
    The mesh's policy groups beside it (``ipsec.d/policies``) come along."""
    from .policies import policies_dir_for, read_policies
    evidence.add(read_policies(options.policies_dir or policies_dir_for(options.config)))
    try:
        text = confmod.load_config(options.config)
    except SwandocError as exc:
        if options.conn:
            raise
        evidence.add(failed("ipsec_conf", options.config, str(exc)))
        return None
    evidence.add(Evidence("ipsec_conf", text.encode(), options.config))
    return confmod.parse_ipsec_conf(text)


def _connection(options: CollectOptions, cfg: confmod.ConfigFile | None, netlink: list[Evidence],
                evidence: EvidenceSet) -> Evidence:
    """The named conn's resolved definition (added to *evidence*) and the route toward its peer."""
    if not options.conn or cfg is None:
        evidence.add(failed("connection", options.config, NO_CONN))
        return failed("route_to_peer", "netlink route get", NO_CONN + " (no peer to route toward)")
    addresses = next((e for e in netlink if e.name == "addresses"), None)
    local = local_addresses(addresses.text() if addresses and addresses.available else None)
    conn = confmod.resolve_conn(cfg, options.conn, local)
    evidence.add(Evidence("connection", conn.to_json().encode(), f"{options.config} conn {options.conn}"))
    return collect_route_to_peer(conn.remote_address())


def _nss_certs(options: CollectOptions, status: Evidence | None) -> Evidence:
    nssdir = find_nss_dir(status, options.nss_dir)
    if not nssdir:
        return failed("nss_certs", "certutil -L", f"no NSS database found ({', '.join(NSS_CANDIDATES)})")
    return run_command("nss_certs", ["certutil", "-L", "-d", f"sql:{nssdir}"], timeout=options.timeout)


def _nss_keys(options: CollectOptions, status: Evidence | None) -> Evidence:
    """``certutil -K``: the private keys' CKA_IDs (what leftckaid= names) and nicknames, never a key.
    An empty password file: a password-protected database is reported as such, never prompted for."""
    nssdir = find_nss_dir(status, options.nss_dir)
    if not nssdir:
        return failed("nss_keys", "certutil -K", f"no NSS database found ({', '.join(NSS_CANDIDATES)})")
    return run_command("nss_keys", ["certutil", "-K", "-d", f"sql:{nssdir}", "-f", "/dev/null"], timeout=options.timeout)


MAX_FILES = 200
NM_CONNECTIONS = ("/etc/NetworkManager/system-connections/*", "/run/NetworkManager/system-connections/*")


def _concatenated(name: str, *patterns: str, keep=lambda text: True) -> Evidence:
    """Several small files in one item, each introduced by ``# --- swandoc: file PATH ---``."""
    parts: list[bytes] = []
    problems: list[str] = []
    paths = sorted({p for pattern in patterns for p in glob.glob(pattern) if os.path.isfile(p)})[:MAX_FILES]
    for path in paths:
        item = read_file(name, path, limit=1024 * 1024)
        if not item.available:
            problems.append(f"{path}: {item.error}")
            continue
        if keep(item.content):
            parts.append(f"# --- swandoc: file {path} ---\n".encode() + item.content.rstrip(b"\n") + b"\n")
    origin = " ".join(patterns)
    for pattern in patterns:  # a directory we may not list is not an empty one
        directory = os.path.dirname(pattern)
        if os.path.isdir(directory) and not os.access(directory, os.R_OK | os.X_OK):
            problems.append(f"no permission to list {directory} (run as root)")
    if not parts:
        why = "; ".join(problems) or f"no such files ({origin})"
        return failed(name, origin, why)
    meta = (("problems", "; ".join(problems)),) if problems else ()
    return Evidence(name, b"".join(parts), origin, meta=meta)


def _nm_connections() -> Evidence:
    """NetworkManager-libreswan connections (secrets removed later by the nm_connection policy)."""
    return _concatenated("nm_connections", *NM_CONNECTIONS,
                         keep=lambda text: b"libreswan" in text.lower() or b"[vpn" in text.lower())


def _os_release() -> Evidence:
    for path in ("/etc/os-release", "/usr/lib/os-release", "/etc/redhat-release"):
        item = read_file("os_release", path)
        if item.available:
            return item
    return failed("os_release", "/etc/os-release", "no os-release file")


def _initiate(options: CollectOptions) -> Evidence:
    if not options.conn:
        return failed("whack_initiate", "ipsec whack --initiate", NO_CONN + " (nothing to initiate)")
    return _whack("whack_initiate", options, "--name", options.conn, "--initiate", "--asynchronous")


def _check_interface(name: str | None) -> None:
    """A mistyped --interface is the user's to fix: say so before spending time on probes."""
    if not name:
        return
    try:
        present = sorted(os.listdir("/sys/class/net"))
    except OSError:
        return
    if name not in present:
        raise SwandocError(f"no interface named {name!r} here; interfaces: {', '.join(present)}")


def _device_names(netlink: list[Evidence]) -> list[str]:
    import json
    links = next((e for e in netlink if e.name == "links" and e.available), None)
    if not links:
        return []
    try:
        return [link["name"] for link in json.loads(links.text()) if link.get("name")]
    except (ValueError, TypeError, KeyError):
        return []


def _route_device(route: Evidence) -> str | None:
    if not route.available:
        return None
    import json
    try:
        return json.loads(route.text()).get("dev")
    except ValueError:
        return None
