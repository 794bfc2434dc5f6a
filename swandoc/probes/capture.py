"""Live capture of IKE, NAT-T, ESP and ICMP errors about them: the ``ike_capture`` evidence.

A gateway that carries traffic always sees ESP, often tens of thousands of packets a second; the
few IKE packets that explain a failure must never be crowded out by it. So IKE and ESP are taken
on two separate packet sockets, each with its own kernel (BPF) filter, socket buffer and budget:

- the IKE socket sees only IKE (UDP 500, UDP 4500 with the non-ESP marker, TCP 4500), NAT-T
  keepalives, ICMP errors about them and IP fragments; every packet is kept, up to *max_packets*;
- the ESP socket (only when ESP is asked for) sees ESP and ESP-in-UDP, cut to its headers in the
  kernel; each flow (source, destination, SPI) is counted and only its first few packets are kept
  as samples, so a flood costs counters, not memory, and never ends the capture.

The result is a classic pcap held in the Evidence (``swandoc.logparse.capture.decode_pcap_bytes``
turns it into packets for the rules), with the ESP counts in its meta.

The capture runs for the time asked; neither budget ends it. What the kernel dropped on either
socket (``PACKET_STATISTICS``) is reported. The filters are compiled by libpcap (through scapy),
but packets are read with plain sockets and written as a classic pcap by this module: no scapy
dissection runs during the capture, so none of its warnings reach the user's terminal.

Capturing needs CAP_NET_RAW. Without it the probe returns Evidence with an ``error`` so the rest of
the diagnosis goes on. It works inside ``ip netns exec``: the capture sees that namespace's
interfaces. It never changes the interface (no promiscuous mode).
"""
from __future__ import annotations

import ctypes
import json
import select
import socket
import struct
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
# ESP in UDP (RFC 3948): UDP 4500 whose payload is longer than a keepalive (UDP length > 9) and does
# not start with the four zero bytes that mark IKE. libpcap reads udp[] of IPv4 only: ESP-in-UDP over
# IPv6 reaches the IKE socket and is told apart there, in Python.
_ESP_IN_UDP = "(udp port 4500 and udp[4:2] > 9 and udp[8:4] != 0)"

IKE_FILTER = " or ".join((
    "udp port 500", f"(udp port 4500 and not {_ESP_IN_UDP})", "tcp port 4500",
    _ICMP_ABOUT_IPSEC, _ICMP6_ERRORS, _UDP_FRAGMENTS,
))
ESP_FILTER = f"ip proto 50 or ip6 proto 50 or {_ESP_IN_UDP}"
# Everything the capture may keep, as one expression (what the lab's tcpdump uses, and the origin).
CAPTURE_FILTER = " or ".join((
    "udp port 500", "udp port 4500", "tcp port 4500", "ip proto 50", "ip6 proto 50",
    _ICMP_ABOUT_IPSEC, _ICMP6_ERRORS, _UDP_FRAGMENTS,
))

MAX_DURATION = 3600.0
MAX_PACKETS = 1_000_000
# Bytes kept of each IKE-side packet, like tcpdump -s: the IKE header, the payload chain and the start
# of any ICMP quote fit many times over. A big fragmented IKE_AUTH is cut, with its real length kept
# in the pcap record, so a long capture on a busy VPN stays small.
SNAPLEN = 2048
# ESP is cut in the kernel to its headers: link, IP (with options), UDP, SPI and sequence number.
ESP_SNAPLEN = 128
ESP_SAMPLES_PER_FLOW = 8  # ESP packets kept in the pcap per (source, destination, SPI)
MAX_ESP_FLOWS = 4096  # flows counted one by one; more are pooled under one counter
DLT_EN10MB, DLT_RAW = 1, 101
# ARPHRD_* (/sys/class/net/IF/type) -> pcap link type of what a raw packet socket returns.
_LINKTYPES = {1: DLT_EN10MB, 772: DLT_EN10MB, 65534: DLT_RAW, 776: DLT_RAW, 778: DLT_RAW}

_ETH_P_ALL = 0x0003
_SO_ATTACH_FILTER = 26
_SO_RCVBUFFORCE = 33
_SOL_PACKET = 263
_PACKET_STATISTICS = 6
_RCVBUF = {"ike": 8 << 20, "esp": 4 << 20}


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
            countdown: bool = True, *, on_started: Callable[[], None] | None = None, esp: bool = True) -> Evidence:
    """Capture for *duration* seconds; keep at most *max_packets* IKE-side packets.

    *interface* None means the interface of the default route. *on_started* is called once both
    kernel filters are attached (``diagnose --initiate`` brings the connection up from there).
    *esp* False keeps ESP out of the capture altogether (it never reaches Python). The pcap is also
    written to *pcap_path* when given.
    """
    if not 0 < duration <= MAX_DURATION:
        raise SwandocError(f"capture duration must be between 0 and {MAX_DURATION:.0f} seconds")
    if not 0 < max_packets <= MAX_PACKETS:
        raise SwandocError(f"capture packet limit must be between 1 and {MAX_PACKETS}")
    origin = f"capture on {interface or 'the default interface'}: {CAPTURE_FILTER}"
    why = can_capture()
    if why:
        return Evidence(NAME, None, origin, error=why)
    iface = interface or default_interface()
    if not iface or iface not in _interfaces():
        return Evidence(NAME, None, origin, error=f"no interface named {iface!r} here" if iface
                        else "no default route: name the interface to capture on")
    origin = f"capture on {iface}: {CAPTURE_FILTER}"
    linktype = _linktype(iface)
    try:
        # IKE is not cut in the kernel, so each packet's real length reaches the pcap (orig_len);
        # ESP is, to its headers: a flood then costs little socket buffer.
        programs = {"ike": compile_bpf(IKE_FILTER, linktype, 0)}
        if esp:
            programs["esp"] = compile_bpf(ESP_FILTER, linktype, ESP_SNAPLEN)
    except Exception as exc:  # ImportError (no libpcap), a filter that does not compile
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return Evidence(NAME, None, origin, error=f"capture failed: cannot build the capture filter: {text}")
    started = time.monotonic()
    recorder = _Recorder(max_packets, linktype)
    sockets: dict[str, socket.socket] = {}
    tty = countdown and sys.stderr.isatty()
    try:
        for role, program in programs.items():
            sockets[role] = _open(iface, program, _RCVBUF[role])
        if on_started:
            on_started()
        _read_until(sockets, recorder, started + duration, tty, iface)
        drops = {role: _kernel_drops(sock) for role, sock in sockets.items()}
    except PermissionError:
        return Evidence(NAME, None, origin, error="capture needs root (CAP_NET_RAW)")
    except OSError as exc:
        return Evidence(NAME, None, origin, duration=time.monotonic() - started,
                        error=f"capture failed: {exc.strerror or exc}")
    finally:
        for sock in sockets.values():
            sock.close()
        if tty:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
    data = recorder.pcap(linktype)
    if pcap_path:
        try:
            with open(pcap_path, "wb") as fh:
                fh.write(data)
        except OSError as exc:
            raise SwandocError(f"cannot write {pcap_path}: {exc.strerror}") from None
    return Evidence(NAME, data, origin, duration=time.monotonic() - started, meta=(
        ("interface", iface), ("packets", str(len(recorder.records))), ("stopped_by", "time limit"),
        ("ike_packets", str(recorder.ike_seen)), ("ike_not_kept", str(recorder.ike_not_kept)),
        ("esp", "counted and sampled" if esp else "not captured"),
        ("esp_packets", str(recorder.esp_seen)), ("esp_flows", json.dumps(recorder.esp_flow_list())),
        ("kernel_drops_ike", str(drops.get("ike", 0))), ("kernel_drops_esp", str(drops.get("esp", 0))),
        ("snaplen", str(SNAPLEN)), ("truncated_packets", str(recorder.truncated)), ("filter", CAPTURE_FILTER)))


def compile_bpf(expression: str, linktype: int, snaplen: int) -> bytes:
    """The classic BPF program for *expression* (libpcap's compiler), accepting at most *snaplen* bytes.

    libpcap compiles with its own snap length in every "accept" instruction; lowering those to
    *snaplen* (0: leave them) makes the kernel cut each packet before it is queued.
    """
    from scapy.arch.common import compile_filter

    program = compile_filter(expression, linktype=linktype)
    out = bytearray()
    for n in range(program.bf_len):
        insn = program.bf_insns[n]
        k = insn.k
        if insn.code == 0x06 and k and snaplen:  # BPF_RET|BPF_K, non-zero: accept k bytes
            k = min(k, snaplen)
        out += struct.pack("HBBI", insn.code, insn.jt, insn.jf, k)
    return bytes(out)


def _open(iface: str, program: bytes, rcvbuf: int) -> socket.socket:
    # Protocol 0 first: the socket receives nothing until the filter is attached and it is bound,
    # so no unfiltered packet is ever queued.
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    try:
        code = ctypes.create_string_buffer(program, len(program))
        fprog = struct.pack("HL", len(program) // 8, ctypes.addressof(code))
        sock.setsockopt(socket.SOL_SOCKET, _SO_ATTACH_FILTER, fprog)
        try:
            sock.setsockopt(socket.SOL_SOCKET, _SO_RCVBUFFORCE, rcvbuf)
        except OSError:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.bind((iface, _ETH_P_ALL))
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def _read_until(sockets: dict[str, socket.socket], recorder: "_Recorder", end: float, tty: bool,
                iface: str) -> None:
    """Drain both sockets until *end*: the IKE socket first, every time, so ESP never delays it."""
    poller = select.poll()
    roles = {}
    for role, sock in sockets.items():
        poller.register(sock, select.POLLIN)
        roles[sock.fileno()] = role
    ike, esp = sockets.get("ike"), sockets.get("esp")
    next_tick = 0.0
    while True:
        now = time.monotonic()
        if now >= end:
            break
        if tty and now >= next_tick:
            sys.stderr.write(f"\r\033[Kcapturing IKE/ESP on {iface}: {end - now:4.0f} s left, "
                             f"{recorder.ike_seen} IKE, {recorder.esp_seen} ESP packets")
            sys.stderr.flush()
            next_tick = now + 1.0
        if not poller.poll(max(1, int(min(end - now, 0.25) * 1000))):
            continue
        _drain(ike, recorder.add_ike, SNAPLEN, 4096)
        if esp is not None:
            _drain(esp, recorder.add_esp, ESP_SNAPLEN, 256)  # a bounded batch, then IKE again
    _drain(ike, recorder.add_ike, SNAPLEN, 1 << 20)


def _drain(sock: socket.socket | None, add: Callable[[bytes, int, float], None], snaplen: int, limit: int) -> None:
    """Read what is queued (at most *limit* packets), each cut to *snaplen* with its real length kept."""
    if sock is None:
        return
    buf = bytearray(snaplen)
    view = memoryview(buf)
    for _ in range(limit):
        try:
            # MSG_TRUNC: the return value is the packet's whole length even when only snaplen bytes fit
            length, _address = sock.recvfrom_into(view, snaplen, socket.MSG_TRUNC)
        except (BlockingIOError, InterruptedError):
            return
        add(bytes(view[:min(length, snaplen)]), length, time.time())


def _kernel_drops(sock: socket.socket) -> int:
    """Packets the kernel had to drop for this socket (its buffer was full)."""
    try:
        _packets, drops = struct.unpack("II", sock.getsockopt(_SOL_PACKET, _PACKET_STATISTICS, 8))
    except OSError:
        return 0
    return drops


class _Recorder:
    """What the capture keeps: every IKE-side packet up to a bound, ESP as per-flow counts and samples."""

    def __init__(self, max_ike: int, linktype: int) -> None:
        self.max_ike = max_ike
        self.raw = linktype == DLT_RAW
        self.records: list[tuple[float, bytes, int]] = []  # (time, bytes kept, length on the wire)
        self.ike_seen = self.ike_kept = self.ike_not_kept = self.esp_seen = self.truncated = 0
        self.flows: dict[tuple[str, str, int], list] = {}  # -> [packets, bytes, first, last]
        self.pooled = [0, 0]

    def add_ike(self, data: bytes, length: int, stamp: float) -> None:
        if _is_esp_in_udp(data, self.raw):  # ESP in UDP over IPv6: the kernel filter cannot tell it apart
            self.add_esp(data, length, stamp)
            return
        self.ike_seen += 1
        if self.ike_kept >= self.max_ike:
            self.ike_not_kept += 1
            return
        self.ike_kept += 1
        self._keep(data, length, stamp)

    def add_esp(self, data: bytes, length: int, stamp: float) -> None:
        self.esp_seen += 1
        key = esp_flow_key(data, self.raw)
        size = ip_length(data, self.raw) or length  # the kernel cut ESP to its headers: the IP header knows the size
        flow = self.flows.get(key) if key else None
        if flow is None:
            if key is None or len(self.flows) >= MAX_ESP_FLOWS:
                self.pooled[0] += 1
                self.pooled[1] += size
                return
            flow = self.flows[key] = [0, 0, stamp, stamp]
        flow[0] += 1
        flow[1] += size
        flow[3] = stamp
        if flow[0] <= ESP_SAMPLES_PER_FLOW:
            self._keep(data, max(length, len(data)), stamp)

    def _keep(self, data: bytes, length: int, stamp: float) -> None:
        if length > len(data):
            self.truncated += 1
        self.records.append((stamp, data, length))

    def esp_flow_list(self) -> list[dict]:
        flows = [{"src": s, "dst": d, "spi": f"0x{spi:08x}", "packets": f[0], "bytes": f[1],
                  "first": round(f[2], 6), "last": round(f[3], 6)} for (s, d, spi), f in self.flows.items()]
        if self.pooled[0]:
            flows.append({"src": "*", "dst": "*", "spi": "*", "packets": self.pooled[0], "bytes": self.pooled[1]})
        return flows

    def pcap(self, linktype: int) -> bytes:
        return pcap_bytes(sorted(self.records, key=lambda r: r[0]), linktype, SNAPLEN)


def pcap_bytes(records, linktype: int, snaplen: int) -> bytes:
    """A classic pcap file (what tshark and Wireshark open everywhere), even when empty.

    Each record keeps the bytes captured and the packet's length on the wire as ``orig_len``, exactly
    as tcpdump -s writes a cut packet, so tshark shows "[Packet size limited during capture]".

    >>> len(pcap_bytes([], DLT_EN10MB, 2048))
    24
    >>> struct.unpack("<IIII", pcap_bytes([(1.5, b"ab", 60)], DLT_RAW, 2048)[24:40])
    (1, 500000, 2, 60)
    """
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, linktype)]
    for stamp, data, wirelen in records:
        sec = int(stamp)
        usec = min(999_999, int(round((stamp - sec) * 1_000_000)))
        out.append(struct.pack("<IIII", sec, usec, len(data), max(wirelen, len(data))))
        out.append(data)
    return b"".join(out)


def _ip_start(data: bytes, raw: bool = False) -> tuple[int, int]:
    """(offset of the IP header, IP version) in an Ethernet (or, *raw*, bare IP) frame; (-1, 0) if not IP."""
    if raw:
        version = data[0] >> 4 if data else 0
        return (0, version) if version in (4, 6) else (-1, 0)
    offset, ethertype = 14, data[12:14]
    while ethertype in (b"\x81\x00", b"\x88\xa8") and len(data) >= offset + 4:  # VLAN tags
        ethertype = data[offset + 2:offset + 4]
        offset += 4
    version = {b"\x08\x00": 4, b"\x86\xdd": 6}.get(ethertype, 0)
    return (offset, version) if version else (-1, 0)


def ip_length(data: bytes, raw: bool = False) -> int:
    """The IP packet's length from its header (0 if the frame is not IP).

    >>> ip_length(bytes(12) + b"\\x08\\x00" + bytes.fromhex("450005dc00000000"))
    1500
    """
    offset, version = _ip_start(data, raw)
    if offset < 0 or len(data) < offset + 6:
        return 0
    if version == 4:
        return int.from_bytes(data[offset + 2:offset + 4], "big")
    return 40 + int.from_bytes(data[offset + 4:offset + 6], "big")


def esp_flow_key(data: bytes, raw: bool = False) -> tuple[str, str, int] | None:
    """(source, destination, SPI) of an ESP or ESP-in-UDP frame, from its headers only.

    >>> frame = bytes(12) + b"\\x08\\x00" + bytes.fromhex("4500003c00000000403200000a000001c0000201") + bytes.fromhex("0000abcd00000001")
    >>> esp_flow_key(frame)
    ('10.0.0.1', '192.0.2.1', 43981)
    """
    offset, version = _ip_start(data, raw)
    if offset < 0:
        return None
    if version == 4:
        if len(data) < offset + 20:
            return None
        proto, header = data[offset + 9], (data[offset] & 0x0F) * 4
        src, dst = socket.inet_ntop(socket.AF_INET, data[offset + 12:offset + 16]), \
            socket.inet_ntop(socket.AF_INET, data[offset + 16:offset + 20])
    else:
        if len(data) < offset + 40:
            return None
        proto, header = data[offset + 6], 40
        src, dst = socket.inet_ntop(socket.AF_INET6, data[offset + 8:offset + 24]), \
            socket.inet_ntop(socket.AF_INET6, data[offset + 24:offset + 40])
    body = offset + header
    if proto == 17:
        body += 8
    elif proto != 50:
        return None
    if len(data) < body + 4:
        return None
    return src, dst, int.from_bytes(data[body:body + 4], "big")


def _is_esp_in_udp(data: bytes, raw: bool = False) -> bool:
    """UDP 4500 with a payload that is neither a keepalive nor IKE (non-ESP marker): ESP in UDP."""
    offset, version = _ip_start(data, raw)
    if offset < 0:
        return False
    if version == 4:
        if len(data) < offset + 20 or data[offset + 9] != 17:
            return False
        udp = offset + (data[offset] & 0x0F) * 4
    else:
        if len(data) < offset + 40 or data[offset + 6] != 17:
            return False
        udp = offset + 40
    if len(data) < udp + 12 or 4500 not in struct.unpack("!HH", data[udp:udp + 4]):
        return False
    length = int.from_bytes(data[udp + 4:udp + 6], "big")
    return length > 9 and data[udp + 8:udp + 12] != b"\x00\x00\x00\x00"


def default_interface() -> str | None:
    """The interface of the IPv4 default route (from /proc/net/route), else scapy's guess."""
    try:
        with open("/proc/net/route") as fh:
            for line in fh.readlines()[1:]:
                fields = line.split()
                if len(fields) > 2 and fields[1] == "00000000":
                    return fields[0]
    except OSError:
        pass
    try:
        from scapy.config import conf
        return str(conf.iface) if conf.iface else None
    except Exception:
        return None


def _linktype(iface: str) -> int:
    try:
        with open(f"/sys/class/net/{iface}/type") as fh:
            return _LINKTYPES.get(int(fh.read().strip()), DLT_EN10MB)
    except (OSError, ValueError):
        return DLT_EN10MB


def _interfaces() -> set[str]:
    return {name for _, name in socket.if_nameindex()}
