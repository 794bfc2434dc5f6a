"""Decoding: the IKE, ESP and ICMP messages in one captured packet.

Only what travels in clear text is decoded: the IKE header (version, exchange,
initiator/response flags, message id, SPIs), the cleartext notifies of IKE_SA_INIT and IKEv1,
the NAT-T non-ESP marker and keepalives, RFC 8229 TCP framing, ESP SPI/sequence, and ICMP errors
that quote one of those packets. The same :func:`decode_all` serves capture files
(:mod:`swandoc.logparse.capture`) and the live capture probe (``swandoc.probes.capture``).

Scapy reads the IP layer (imported lazily: ``swandoc analyze`` of a log file must not pay for
it). The UDP and TCP payloads are sliced by hand, because scapy's own port bindings depend on
import order and do not cover IKE on TCP at all, and the IKE payloads of both versions are read by
one walker over their generic payload header (:mod:`swandoc.logparse.ikepayload`).
"""
from __future__ import annotations

import hashlib
import struct
from typing import Any

from .ikepayload import (V2_ENCRYPTED, V2_ENCRYPTED_FRAGMENT, v1_identities, v1_notifies, v2_fragment,
                         v2_notifies, walk)
from .packet import (ICMP6_UNREACH, ICMP_UNREACH, IKE_HEADER_LEN, IKE_PORT, IKETCP_PREFIX, IKEV1_EXCHANGES,
                     IKEV2_EXCHANGES, NATT_PORT, NON_ESP_MARKER, IkePacket)

# --- decoding ---------------------------------------------------------------------------------

_scapy: dict[str, Any] = {}


def _layers() -> dict[str, Any]:
    """Scapy's classes, imported on first use only."""
    if not _scapy:
        from scapy.layers import inet, inet6

        _scapy.update(
            IP=inet.IP, UDP=inet.UDP, TCP=inet.TCP, ICMP=inet.ICMP, IPerror=inet.IPerror,
            IPv6=inet6.IPv6, IPerror6=inet6.IPerror6, IPv6ExtHdrFragment=inet6.IPv6ExtHdrFragment,
        )
    return _scapy


def decode(pkt: Any, *, number: int = 0, source: str = "", host: str | None = None) -> IkePacket | None:
    """The first IKE/ESP/ICMP message in a scapy packet, or None when it is none of those."""
    found = decode_all(pkt, number=number, source=source, host=host)
    return found[0] if found else None


def decode_all(pkt: Any, *, number: int = 0, source: str = "", host: str | None = None) -> list[IkePacket]:
    """Every message in a scapy packet (a TCP segment may carry several RFC 8229 frames)."""
    L = _layers()
    ip = pkt.getlayer(L["IP"])
    if ip is not None:
        src, dst, proto, size = ip.src, ip.dst, ip.proto, ip.len or len(ip)
        offset, more = ip.frag, bool(ip.flags.MF)
        frag_id = ip.id
        payload = bytes(ip.payload)
    else:
        ip = pkt.getlayer(L["IPv6"])
        if ip is None:
            return []
        src, dst, size = ip.src, ip.dst, ip.plen + 40
        fh = ip.getlayer(L["IPv6ExtHdrFragment"])
        if fh is not None:
            proto, offset, more, frag_id, payload = fh.nh, fh.offset, bool(fh.m), fh.id, bytes(fh.payload)
        else:
            proto, offset, more, frag_id = ip.nh, 0, False, None
            payload = bytes(ip.payload)
    time = float(getattr(pkt, "time", 0) or 0)
    base = dict(number=number, source=source, time=time, src=src, dst=dst, size=size, host=host)
    if offset:
        return [IkePacket(sport=None, dport=None, transport="ip", kind="fragment", ip_id=frag_id,
                          ip_fragment="middle" if more else "last", **base)]
    if more:
        base.update(ip_fragment="first", ip_id=frag_id)
    if proto == 17:
        return _from_udp(payload, base)
    if proto == 6:
        return _from_tcp(payload, base)
    if proto == 50:
        return _esp(payload, base, sport=None, dport=None, transport="ip")
    if proto in (1, 58):
        found = _icmp(pkt, proto, base)
        return [found] if found else []
    return []


def _from_udp(data: bytes, base: dict) -> list[IkePacket]:
    if len(data) < 8:
        return []
    sport, dport = struct.unpack("!HH", data[:4])
    body = data[8:]
    ports = {sport, dport}
    if NATT_PORT in ports:
        if body == b"\xff":
            return [IkePacket(sport=sport, dport=dport, transport="udp", kind="keepalive", **base)]
        if body[:4] == NON_ESP_MARKER:
            found = _ike(body[4:], base, sport=sport, dport=dport, transport="udp", non_esp_marker=True)
            return [found] if found else []
        return _esp(body, base, sport=sport, dport=dport, transport="udp")
    if IKE_PORT in ports:
        found = _ike(body, base, sport=sport, dport=dport, transport="udp")
        return [found] if found else []
    return []


def _from_tcp(data: bytes, base: dict) -> list[IkePacket]:
    """RFC 8229 frames in one TCP segment: [IKETCP] then (2-byte length, marker+IKE | ESP)*.

    Frames are decoded per segment: pluto writes each message with one send, so a frame split
    across segments is rare; such a remainder is simply not decoded.
    """
    if len(data) < 20:
        return []
    sport, dport = struct.unpack("!HH", data[:4])
    if NATT_PORT not in (sport, dport):
        return []
    body = data[(data[12] >> 4) * 4:]
    prefix = body.startswith(IKETCP_PREFIX)
    if prefix:
        body = body[len(IKETCP_PREFIX):]
    found: list[IkePacket] = []
    while len(body) >= 2:
        length = struct.unpack("!H", body[:2])[0]
        if length < 3 or length > len(body):
            break
        frame, body = body[2:length], body[length:]
        if frame[:4] == NON_ESP_MARKER:
            ike = _ike(frame[4:], base, sport=sport, dport=dport, transport="tcp", non_esp_marker=True,
                       tcp_encap=True)
            if ike:
                found.append(ike)
        else:
            found.extend(_esp(frame, base, sport=sport, dport=dport, transport="tcp", tcp_encap=True))
    if not found:
        # Connection set-up/tear-down and the bare "IKETCP" prefix: kept, so a ladder shows
        # the peer accepting or closing the TCP connection.
        flags = ",".join(name for bit, name in _TCP_FLAGS if data[13] & bit)
        found.append(IkePacket(sport=sport, dport=dport, transport="tcp", kind="tcp", tcp_encap=True,
                               tcp_flags=flags, tcp_prefix=prefix, **base))
    return found


_TCP_FLAGS = ((0x02, "SYN"), (0x10, "ACK"), (0x08, "PSH"), (0x01, "FIN"), (0x04, "RST"))


def _esp(data: bytes, base: dict, **fields: Any) -> list[IkePacket]:
    if len(data) < 8:
        return []
    spi, seq = struct.unpack("!II", data[:8])
    if spi == 0:
        return []
    return [IkePacket(kind="esp", esp_spi=spi, esp_seq=seq, **fields, **base)]


def _exchange_name(version: int, exch_type: int) -> str:
    table = IKEV2_EXCHANGES if version == 2 else IKEV1_EXCHANGES
    return table.get(exch_type, f"exchange-{exch_type}")


def _ike(data: bytes, base: dict, **fields: Any) -> IkePacket | None:
    """An IKE message from its raw bytes (header first); None if it is not one."""
    if len(data) < IKE_HEADER_LEN:
        return None
    major = data[17] >> 4
    if major not in (1, 2):
        return None
    spi_i, spi_r = data[0:8].hex(), data[8:16].hex()
    exch_type, flags = data[18], data[19]
    msgid = struct.unpack("!I", data[20:24])[0]
    length = struct.unpack("!I", data[24:28])[0]
    message = data[:length] if IKE_HEADER_LEN <= length <= len(data) else data
    digest = hashlib.blake2b(message, digest_size=8).hexdigest()
    notifies: list[str] = []
    identities: list[str] = []
    fragment = None
    if major == 2:
        encrypted = message[16] in (V2_ENCRYPTED, V2_ENCRYPTED_FRAGMENT) or any(
            kind in (V2_ENCRYPTED, V2_ENCRYPTED_FRAGMENT) for kind, _ in walk(message))
        is_response = bool(flags & 0x20)
        is_initiator = bool(flags & 0x08)
        notifies = v2_notifies(message)
        fragment = v2_fragment(message)
    else:
        encrypted = bool(flags & 0x01)
        is_initiator = None
        # The first message of a new IKEv1 SA has no responder cookie; for the rest the
        # header does not say who is asking: exchanges() works it out from the order.
        is_response = False if not any(data[8:16]) else None
        notifies = v1_notifies(message)
        identities = v1_identities(message)
    return IkePacket(kind="ike", ike_version=major, exchange=_exchange_name(major, exch_type),
                     is_response=is_response, is_initiator=is_initiator, msgid=msgid, spi_i=spi_i,
                     spi_r=spi_r, notifies=tuple(notifies), identities=tuple(identities),
                     encrypted=encrypted, ike_fragment=fragment, digest=digest, **fields, **base)


def _icmp(pkt: Any, proto: int, base: dict) -> IkePacket | None:
    """An ICMP/ICMPv6 error, with what it quotes; None for echo and other non-errors."""
    L = _layers()
    if proto == 1:
        icmp = pkt.getlayer(L["ICMP"])
        if icmp is None or icmp.type not in (3, 4, 5, 11, 12):
            return None
        reason = ICMP_UNREACH.get(icmp.code, f"code {icmp.code}") if icmp.type == 3 else {
            4: "source quench", 5: "redirect", 11: "time exceeded", 12: "parameter problem"}[icmp.type]
        quoted = bytes(icmp.payload)
        typ, code = icmp.type, icmp.code
        if len(quoted) < 20 or quoted[0] >> 4 != 4:
            return None
        ihl = (quoted[0] & 0x0F) * 4
        qsrc = ".".join(str(b) for b in quoted[12:16])
        qdst = ".".join(str(b) for b in quoted[16:20])
        qproto, inner = quoted[9], quoted[ihl:]
    else:
        raw = bytes(pkt.getlayer(L["IPv6"]).payload)
        if len(raw) < 8 or raw[0] not in (1, 2, 3, 4):
            return None
        typ, code = raw[0], raw[1]
        reason = ICMP6_UNREACH.get(code, f"code {code}") if typ == 1 else {
            2: "packet too big", 3: "time exceeded", 4: "parameter problem"}[typ]
        quoted = raw[8:]
        if len(quoted) < 40:
            return None
        import ipaddress
        qsrc = str(ipaddress.IPv6Address(quoted[8:24]))
        qdst = str(ipaddress.IPv6Address(quoted[24:40]))
        qproto, inner = quoted[6], quoted[40:]
    qname = {17: "udp", 6: "tcp", 50: "esp"}.get(qproto, f"proto-{qproto}")
    qsport = qdport = qmsgid = qexch = None
    if qproto in (17, 6) and len(inner) >= 4:
        qsport, qdport = struct.unpack("!HH", inner[:4])
        if qproto == 17 and len(inner) >= 8 + IKE_HEADER_LEN:
            ike = inner[8:]
            if NATT_PORT in (qsport, qdport) and ike[:4] == NON_ESP_MARKER:
                ike = ike[4:]
            if len(ike) >= IKE_HEADER_LEN and ike[17] >> 4 in (1, 2):
                qmsgid = struct.unpack("!I", ike[20:24])[0]
                qexch = _exchange_name(ike[17] >> 4, ike[18])
    return IkePacket(sport=None, dport=None, transport="icmp", kind="icmp", icmp_type=typ, icmp_code=code,
                     icmp_reason=reason, quoted_src=qsrc, quoted_dst=qdst, quoted_proto=qname,
                     quoted_sport=qsport, quoted_dport=qdport, quoted_msgid=qmsgid, quoted_exchange=qexch,
                     **base)
