"""Live capture of IKE, NAT-T, ESP and ICMP errors about them: the ``ike_capture`` evidence.

Always bounded twice, by time and by packet count, so it can never run away on a busy
gateway. The BPF filter runs in the kernel, so unrelated traffic never reaches Python. The
result is a classic pcap (what tshark and Wireshark open everywhere) held in the Evidence;
``swandoc.logparse.capture.decode_pcap_bytes`` turns it into packets for the rules.

Capturing needs CAP_NET_RAW. Without it the probe returns Evidence with an ``error`` so the
rest of the diagnosis goes on. It works inside ``ip netns exec``: the capture sees that
namespace's interfaces.
"""
from __future__ import annotations

import io
import socket
import sys
import time
from typing import Callable

from ..errors import SwandocError
from ..evidence import Evidence

NAME = "ike_capture"

# ICMP errors (unreachable, time exceeded) quoting UDP 500/4500, TCP 4500 or ESP. The quoted IP
# header is assumed to be 20 bytes (IKE packets carry no IP options): icmp[17] is its protocol,
# icmp[28:2]/icmp[30:2] its source/destination port.
_ICMP_ABOUT_IPSEC = (
    "(icmp and (icmp[0] == 3 or icmp[0] == 11) and ("
    "(icmp[17] == 17 and (icmp[28:2] == 500 or icmp[30:2] == 500 or icmp[28:2] == 4500 or icmp[30:2] == 4500))"
    " or (icmp[17] == 6 and (icmp[28:2] == 4500 or icmp[30:2] == 4500))"
    " or icmp[17] == 50))"
)
# ICMPv6 destination unreachable, packet too big, time exceeded (no extension headers assumed).
_ICMP6_ERRORS = "(icmp6 and (ip6[40] == 1 or ip6[40] == 2 or ip6[40] == 3))"
# Non-first IP fragments carry no UDP header, so "udp port 500" alone would miss the tail of a
# fragmented IKE_AUTH, which is exactly what an MTU problem looks like.
_UDP_FRAGMENTS = "(ip proto 17 and (ip[6:2] & 0x1fff) != 0)"

CAPTURE_FILTER = " or ".join((
    "udp port 500", "udp port 4500", "tcp port 4500", "ip proto 50", "ip6 proto 50",
    _ICMP_ABOUT_IPSEC, _ICMP6_ERRORS, _UDP_FRAGMENTS,
))

MAX_DURATION = 3600.0
MAX_PACKETS = 1_000_000
DLT_EN10MB = 1
# Bytes kept of each packet, like tcpdump -s: the IKE header, the payload chain and the start
# of any ICMP quote fit many times over. A big fragmented IKE_AUTH or ESP payload is cut, with
# its real length kept in the pcap record, so a long capture on a busy VPN stays small.
SNAPLEN = 2048


def can_capture() -> str | None:
    """None if a raw packet socket can be opened here, else why not."""
    try:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    except PermissionError:
        return "capture needs root (CAP_NET_RAW)"
    except OSError as exc:
        return f"cannot open a packet socket: {exc.strerror}"
    sock.close()
    return None


def capture(interface: str | None, duration: float, max_packets: int, pcap_path: str | None = None,
            countdown: bool = True, *, on_started: Callable[[], None] | None = None) -> Evidence:
    """Capture for *duration* seconds or *max_packets* packets, whichever ends first.

    *interface* None means the interface of the default route. *on_started* is called once the
    kernel filter is attached (``diagnose --initiate`` brings the connection up from there).
    The pcap is also written to *pcap_path* when given.
    """
    if not 0 < duration <= MAX_DURATION:
        raise SwandocError(f"capture duration must be between 0 and {MAX_DURATION:.0f} seconds")
    if not 0 < max_packets <= MAX_PACKETS:
        raise SwandocError(f"capture packet limit must be between 1 and {MAX_PACKETS}")
    origin = f"capture on {interface or 'the default interface'}: {CAPTURE_FILTER}"
    why = can_capture()
    if why:
        return Evidence(NAME, None, origin, error=why)

    from scapy.config import conf
    from scapy.sendrecv import AsyncSniffer

    iface = interface or str(conf.iface)
    if iface not in _interfaces():
        return Evidence(NAME, None, origin, error=f"no interface named {iface!r} here")
    origin = f"capture on {iface}: {CAPTURE_FILTER}"
    tty = countdown and sys.stderr.isatty()
    started = time.monotonic()
    seen = [0]

    def count(_pkt) -> None:
        seen[0] += 1

    unfilterable = _filter_error(iface)
    if unfilterable:
        return Evidence(NAME, None, origin, error=f"capture failed: {unfilterable}")
    ready: list[bool] = []
    # promisc=False: scapy 2.5 defaults to conf.sniff_promisc=True, which would change the
    # interface's state (the kernel logs "entered promiscuous mode") and record other hosts'
    # traffic. Probes never change the host; the IKE/ESP of this host reaches it anyway.
    sniffer = AsyncSniffer(iface=iface, filter=CAPTURE_FILTER, count=max_packets, store=True, prn=count,
                           promisc=False, started_callback=lambda: ready.append(True))
    _keep_thread_failure(sniffer)
    try:
        sniffer.start()
        failure = lambda: getattr(sniffer, "exception", None)  # noqa: E731
        _wait_until(lambda: ready or not sniffer.running or failure() is not None, 5.0)
        if failure() is not None or not ready:
            raise failure() or RuntimeError("the sniffer did not start")
        if on_started:
            on_started()
        stopped_by = _run_for(sniffer, duration, started, tty, iface, seen)
        if sniffer.running:
            try:
                sniffer.stop()
            except Exception:  # it may have hit the packet limit just now
                pass
        sniffer.join(timeout=5)
    except PermissionError:
        return Evidence(NAME, None, origin, error="capture needs root (CAP_NET_RAW)")
    except Exception as exc:  # scapy: socket errors, BPF compile errors
        return Evidence(NAME, None, origin, duration=time.monotonic() - started,
                        error=f"capture failed: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
    finally:
        if tty:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
    packets = list(sniffer.results or [])[:max_packets]
    data, cut = to_pcap(packets), sum(len(bytes(p)) > SNAPLEN for p in packets)
    if pcap_path:
        try:
            with open(pcap_path, "wb") as fh:
                fh.write(data)
        except OSError as exc:
            raise SwandocError(f"cannot write {pcap_path}: {exc.strerror}") from None
    if len(packets) >= max_packets:
        stopped_by = "packet limit"
    return Evidence(NAME, data, origin, duration=time.monotonic() - started,
                    meta=(("interface", iface), ("packets", str(len(packets))), ("stopped_by", stopped_by),
                          ("snaplen", str(SNAPLEN)), ("truncated_packets", str(cut)), ("filter", CAPTURE_FILTER)))


def _filter_error(iface: str) -> str | None:
    """Why the kernel filter cannot be built (None when it can), asked before sniffing.

    scapy 2.5 only logs "Cannot set filter" and then sniffs *unfiltered* (2.6+ raises): the
    capture, and a bundle made from it, would hold every packet on the interface.
    """
    from scapy.arch.common import compile_filter

    try:
        compile_filter(CAPTURE_FILTER, iface=iface)
    except Exception as exc:  # ImportError (no libpcap), Scapy_Exception (does not compile)
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return f"cannot build the capture filter: {text}"
    return None


def _keep_thread_failure(sniffer) -> None:
    """Keep an exception from the sniffing thread in ``sniffer.exception``, as scapy 2.6+ does.

    In scapy 2.5 it escapes the thread instead: a traceback on stderr, ``running`` left True,
    and the caller waiting out its timeout with no reason to report. Wrapping the thread's
    target (taken from ``_run`` when ``start()`` builds the thread) restores what 2.6+ does.
    """
    if hasattr(sniffer, "exception"):
        return
    sniffer.exception = None
    run = sniffer._run

    def run_catching(*args, **kwargs) -> None:
        try:
            run(*args, **kwargs)
        except Exception as exc:
            sniffer.exception = exc
            sniffer.running = False

    sniffer._run = run_catching


def _interfaces() -> set[str]:
    return {name for _, name in socket.if_nameindex()}


def _wait_until(done: Callable[[], object], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        time.sleep(0.01)


def _run_for(sniffer, duration: float, started: float, tty: bool, iface: str, seen: list[int]) -> str:
    """Wait until the time is up or the sniffer stopped itself (packet limit)."""
    end = started + duration
    while sniffer.running:
        left = end - time.monotonic()
        if left <= 0:
            return "time limit"
        if tty:
            sys.stderr.write(f"\r\033[Kcapturing IKE/ESP on {iface}: {left:4.0f} s left, {seen[0]} packets")
            sys.stderr.flush()
        sniffer.join(timeout=min(1.0, left))
    return "packet limit"


def to_pcap(packets, snaplen: int = SNAPLEN) -> bytes:
    """A classic pcap file (Ethernet link type unless the packets say otherwise), even when empty.

    Each record keeps at most *snaplen* bytes (scapy 2.5's sniff has no snap length) and its
    original length as ``orig_len``, exactly as tcpdump -s writes a cut packet, so tshark
    shows it as "[Packet size limited during capture]" rather than as a malformed file.
    """
    from scapy.utils import PcapWriter

    buf = io.BytesIO()
    writer = PcapWriter(buf, linktype=None if packets else DLT_EN10MB, snaplen=snaplen, sync=True)
    writer.write_header(packets[0] if packets else None)
    for packet in packets:
        raw = bytes(packet)
        stamp = float(packet.time)
        sec = int(stamp)
        writer.write_packet(raw[:snaplen], sec=sec, usec=min(999_999, int(round((stamp - sec) * 1_000_000))),
                            wirelen=len(raw))
    writer.flush()
    return buf.getvalue()
