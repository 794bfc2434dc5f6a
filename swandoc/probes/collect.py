"""Run every read-only probe on this host and return the evidence, by registry name.

Nothing here changes the host, with one exception the user asks for explicitly:
``initiate=True`` brings the connection up with ``ipsec whack --initiate`` while the capture
runs. Every probe is bounded in time and returns either its raw output or why it could not
(tool missing, no root, daemon down); a failed probe never stops the others.
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from typing import Callable

from ..errors import SwandocError
from ..evidence import Evidence, EvidenceSet
from . import config as confmod
from .hostinfo import find_pluto, read_sysctls, strip_xfrm_keys
from .netinfo import collect_netlink, collect_route_to_peer, local_addresses
from .run import failed, read_file, run_command

IPSEC = "ipsec"
NSS_CANDIDATES = ("/var/lib/ipsec/nss", "/etc/ipsec.d")
MAX_PACKETS = 10_000


@dataclass(frozen=True)
class CollectOptions:
    conn: str
    config: str = "/etc/ipsec.conf"
    ctl_socket: str = "/run/pluto/pluto.ctl"
    log: str | None = None
    since: str | None = None
    duration: float = 10.0
    interface: str | None = None
    capture: bool = True
    pcap: str | None = None
    initiate: bool = False
    countdown: bool = False


def _whack(name: str, ctl: str, *args: str, timeout: float = 15) -> Evidence:
    return run_command(name, [IPSEC, "whack", "--ctlsocket", ctl, *args], timeout=timeout)


def _nss_dir(status: Evidence) -> str | None:
    """The NSS database pluto itself reports, else the first standard place holding one."""
    if status.available:
        from .whack import parse_whack_status
        nssdir = parse_whack_status(status.text()).nssdir
        if nssdir and os.path.isdir(nssdir):
            return nssdir
    for candidate in NSS_CANDIDATES:
        if os.path.exists(os.path.join(candidate, "cert9.db")) or os.path.exists(os.path.join(candidate, "cert8.db")):
            return candidate
    return None


def _listening_sockets() -> Evidence:
    udp = run_command("listening_sockets", ["ss", "-Hulnp"])
    tcp = run_command("listening_sockets", ["ss", "-Htlnp"])
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


def _xfrm_state() -> Evidence:
    raw = run_command("xfrm_state", ["ip", "xfrm", "state"])
    if raw.content is None:
        return raw
    # Keys are removed here, before the text is stored anywhere (report, bundle, memory).
    text, removed = strip_xfrm_keys(raw.content.decode("utf-8", "replace"))
    return Evidence("xfrm_state", text.encode(), raw.origin, raw.status, raw.duration, raw.error,
                    redactions=(("xfrm-key", removed),) if removed else ())


def _fips() -> Evidence:
    ev = read_file("fips_status", "/proc/sys/crypto/fips_enabled")
    if ev.available:
        value = ev.text().strip()
        return Evidence("fips_status", f"fips_enabled={value}\n".encode(), ev.origin)
    return ev


def _crypto_policy() -> Evidence:
    ev = run_command("crypto_policy", ["update-crypto-policies", "--show"])
    if ev.available:
        return ev
    ev = read_file("crypto_policy", "/etc/crypto-policies/config")
    if ev.available:
        return ev
    return failed("crypto_policy", "update-crypto-policies --show",
                  "no system crypto-policies on this host (not a Fedora/RHEL family system)")


def _pluto_log(options: CollectOptions, conn: confmod.Connection | None) -> Evidence:
    path = options.log or (conn.logfile if conn else None)
    if path:
        return read_file("pluto_log", path)
    from .journal import read_journal
    return read_journal(options.since)


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
                                  on_started=on_started))
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
        initiated = _whack("whack_initiate", options.ctl_socket, "--name", options.conn, "--initiate",
                           "--asynchronous")
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
    """Every probe for *options.conn*; raises SwandocError only when the conn is unknown."""
    say = progress or (lambda _msg: None)
    _check_interface(options.interface)
    evidence = EvidenceSet()
    netlink = collect_netlink()
    addresses = next((e for e in netlink if e.name == "addresses"), None)
    local = local_addresses(addresses.text() if addresses and addresses.available else None)

    say("reading the configuration")
    text = confmod.load_config(options.config)
    evidence.add(Evidence("ipsec_conf", text.encode(), options.config))
    conn = confmod.resolve_conn(confmod.parse_ipsec_conf(text), options.conn, local)
    evidence.add(Evidence("connection", conn.to_json().encode(), f"{options.config} conn {options.conn}"))

    evidence.add(run_command("libreswan_version", [IPSEC, "--version"]))
    say("asking pluto")
    evidence.add(_pluto_process())
    evidence.add(_listening_sockets())
    status = _whack("whack_status", options.ctl_socket, "--status")
    evidence.add(status)
    evidence.add(_whack("whack_trafficstatus", options.ctl_socket, "--trafficstatus"))
    say("reading logs, kernel and firewall state")
    evidence.add(_pluto_log(options, conn))
    evidence.add(read_file("xfrm_stat", "/proc/net/xfrm_stat"))
    evidence.add(_xfrm_state())
    evidence.add(run_command("xfrm_policy", ["ip", "xfrm", "policy"]))
    for item in netlink:
        evidence.add(item)
    route = collect_route_to_peer(conn.remote_address())
    evidence.add(route)
    evidence.add(run_command("iptables_save", ["iptables-save"]))
    evidence.add(run_command("ip6tables_save", ["ip6tables-save"]))
    evidence.add(run_command("nft_ruleset", ["nft", "-j", "list", "ruleset"]))
    devices = _device_names(netlink)
    evidence.add(Evidence("sysctls", read_sysctls(devices).encode(), "/proc/sys/net"))
    evidence.add(_fips())
    evidence.add(_crypto_policy())
    nssdir = _nss_dir(status)
    if nssdir:
        evidence.add(run_command("nss_certs", ["certutil", "-L", "-d", f"sql:{nssdir}"]))
    else:
        evidence.add(failed("nss_certs", "certutil -L", "no NSS database found (/var/lib/ipsec/nss, /etc/ipsec.d)"))

    if options.capture:
        interface = options.interface or _route_device(route)
        say(f"capturing on {interface or 'the default interface'} for {options.duration:g}s")
        evidence.add(_capture(options, interface))
    elif options.initiate:
        evidence.add(_whack("whack_initiate", options.ctl_socket, "--name", options.conn, "--initiate",
                            "--asynchronous"))
    evidence.add(_xfrm_stat_end())
    if options.initiate:
        # The exchange just started: read pluto's view again so the report shows where it got to.
        evidence.add(_whack("whack_status", options.ctl_socket, "--status"))
        evidence.add(_whack("whack_trafficstatus", options.ctl_socket, "--trafficstatus"))
        evidence.add(_pluto_log(options, conn))
    return evidence


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


def _xfrm_stat_end() -> Evidence:
    ev = read_file("xfrm_stat_end", "/proc/net/xfrm_stat")
    return ev


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
