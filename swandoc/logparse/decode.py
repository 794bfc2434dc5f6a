"""Decoding: the IKE, ESP and ICMP messages in one captured packet.

Only what travels in clear text is decoded: the IKE header (version, exchange,
initiator/response flags, message id, SPIs), the cleartext notifies of IKE_SA_INIT and IKEv1,
the NAT-T non-ESP marker and keepalives, RFC 8229 TCP framing, ESP SPI/sequence, and ICMP errors
that quote one of those packets. The same :func:`decode_all` serves capture files
(:mod:`swandoc.logparse.capture`) and the live capture probe (``swandoc.probes.capture``).

Scapy is imported lazily: ``swandoc analyze`` of a log file must not pay for it. The UDP
and TCP payloads are sliced by hand and handed to scapy's IKE layer classes, because
scapy's own port bindings depend on import order and do not cover IKE on TCP at all.
"""
from __future__ import annotations

import hashlib
import struct
from typing import Any, Iterator

from .packet import (ICMP6_UNREACH, ICMP_UNREACH, IKE_HEADER_LEN, IKE_PORT, IKETCP_PREFIX, IKEV1_EXCHANGES,
                     IKEV2_EXCHANGES, NATT_PORT, NON_ESP_MARKER, IkePacket)

# --- decoding ---------------------------------------------------------------------------------

_scapy: dict[str, Any] = {}


def _either(module: Any, *names: str) -> Any:
    for name in names:
        if hasattr(module, name):
            return getattr(module, name)
    raise ImportError(f"scapy has none of {names}")


def _layers() -> dict[str, Any]:
    """Scapy's classes, imported on first use only."""
    if not _scapy:
        from scapy.contrib import ikev2
        from scapy.layers import inet, inet6, ipsec, isakmp

        _scapy.update(
            IP=inet.IP, UDP=inet.UDP, TCP=inet.TCP, ICMP=inet.ICMP, IPerror=inet.IPerror,
            IPv6=inet6.IPv6, IPerror6=inet6.IPerror6, IPv6ExtHdrFragment=inet6.IPv6ExtHdrFragment,
            ESP=ipsec.ESP, IKEv2=ikev2.IKEv2,
            # scapy 2.5 (Debian 12's python3-scapy) names these IKEv2_payload_*; 2.6+ dropped "payload_".
            IKEv2_Notify=_either(ikev2, "IKEv2_Notify", "IKEv2_payload_Notify"),
            IKEv2_Encrypted=_either(ikev2, "IKEv2_Encrypted", "IKEv2_payload_Encrypted"),
            IKEv2_Encrypted_Fragment=_either(ikev2, "IKEv2_Encrypted_Fragment", "IKEv2_payload_Encrypted_Fragment"),
            IKEv2NotifyMessageTypes=ikev2.IKEv2NotifyMessageTypes,
            ISAKMP=isakmp.ISAKMP, ISAKMP_payload_ID=isakmp.ISAKMP_payload_ID,
            # scapy 2.5 has no IKEv1 Notify layer: _v1_notifies then walks the payload chain itself.
            ISAKMP_payload_Notify=getattr(isakmp, "ISAKMP_payload_Notify", None),
        )
    return _scapy


def decode(pkt: Any, *, number: int = 0, source: str = "") -> IkePacket | None:
    """The first IKE/ESP/ICMP message in a scapy packet, or None when it is none of those."""
    found = decode_all(pkt, number=number, source=source)
    return found[0] if found else None


def decode_all(pkt: Any, *, number: int = 0, source: str = "") -> list[IkePacket]:
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
    base = dict(number=number, source=source, time=time, src=src, dst=dst, size=size)
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
    L = _layers()
    try:
        msg = L["IKEv2"](data)  # dispatches to ISAKMP for version 1.x
    except Exception:  # scapy raises many kinds on malformed payloads; the header is enough
        msg = None
    spi_i, spi_r = data[0:8].hex(), data[8:16].hex()
    exch_type, flags = data[18], data[19]
    msgid = struct.unpack("!I", data[20:24])[0]
    length = struct.unpack("!I", data[24:28])[0]
    digest = hashlib.blake2b(data[:length] if IKE_HEADER_LEN <= length <= len(data) else data,
                             digest_size=8).hexdigest()
    notifies: list[str] = []
    identities: list[str] = []
    fragment = None
    if major == 2:
        encrypted = data[16] in (46, 53)
        is_response = bool(flags & 0x20)
        is_initiator = bool(flags & 0x08)
        if msg is not None:
            notifies = _v2_notifies(msg, L)
            frag = msg.getlayer(L["IKEv2_Encrypted_Fragment"])
            if frag is not None:
                fragment = (frag.frag_number, frag.frag_total)
            encrypted = encrypted or msg.getlayer(L["IKEv2_Encrypted"]) is not None
    else:
        encrypted = bool(flags & 0x01)
        is_initiator = None
        # The first message of a new IKEv1 SA has no responder cookie; for the rest the
        # header does not say who is asking: exchanges() works it out from the order.
        is_response = False if not any(data[8:16]) else None
        if msg is not None and not encrypted:
            notifies = _v1_notifies(msg, L)
            identities = _v1_identities(msg, L)
    return IkePacket(kind="ike", ike_version=major, exchange=_exchange_name(major, exch_type),
                     is_response=is_response, is_initiator=is_initiator, msgid=msgid, spi_i=spi_i,
                     spi_r=spi_r, notifies=tuple(notifies), identities=tuple(identities),
                     encrypted=encrypted, ike_fragment=fragment, digest=digest, **fields, **base)


def _payloads(msg: Any, cls: Any) -> Iterator[Any]:
    layer = msg.getlayer(cls)
    nb = 1
    while layer is not None and nb <= 64:  # bound: a hostile packet may chain many payloads
        yield layer
        nb += 1
        layer = msg.getlayer(cls, nb=nb)


# IANA IKEv2 notify types newer than scapy 2.5's table (2.6+ has them, spelled "IV2_NOTIFY_..."):
# named here, ahead of scapy's table, so a capture reads the same whichever scapy is installed.
V2_NOTIFY_NAMES_EXTRA = {
    47: "STATE_NOT_FOUND", 16434: "PUZZLE", 16435: "USE_PPK", 16436: "PPK_IDENTITY", 16437: "NO_PPK_AUTH",
    16438: "INTERMEDIATE_EXCHANGE_SUPPORTED", 16439: "IP4_ALLOWED", 16440: "IP6_ALLOWED",
    16441: "ADDITIONAL_KEY_EXCHANGE", 16442: "USE_AGGFRAG",
}


def _v2_notifies(msg: Any, L: dict) -> list[str]:
    names = L["IKEv2NotifyMessageTypes"]
    return [V2_NOTIFY_NAMES_EXTRA.get(n.type) or names.get(n.type, f"NOTIFY-{n.type}")
            for n in _payloads(msg, L["IKEv2_Notify"])]


# IKEv1 notify message types, spelled as RFC 2408 §3.14.1 does (and scapy 2.6+'s NotifyMessageType),
# plus RFC 2407 §4.6.3 and the RFC 3706 DPD pair. Our own table on every scapy version: 2.5 has
# none, and the names shown must not change with the scapy that happens to be installed.
V1_NOTIFY_NAMES = {
    1: "INVALID-PAYLOAD-TYPE", 2: "DOI-NOT-SUPPORTED", 3: "SITUATION-NOT-SUPPORTED", 4: "INVALID-COOKIE",
    5: "INVALID-MAJOR-VERSION", 6: "INVALID-MINOR-VERSION", 7: "INVALID-EXCHANGE-TYPE", 8: "INVALID-FLAGS",
    9: "INVALID-MESSAGE-ID", 10: "INVALID-PROTOCOL-ID", 11: "INVALID-SPI", 12: "INVALID-TRANSFORM-ID",
    13: "ATTRIBUTES-NOT-SUPPORTED", 14: "NO-PROPOSAL-CHOSEN", 15: "BAD-PROPOSAL-SYNTAX", 16: "PAYLOAD-MALFORMED",
    17: "INVALID-KEY-INFORMATION", 18: "INVALID-ID-INFORMATION", 19: "INVALID-CERT-ENCODING",
    20: "INVALID-CERTIFICATE", 21: "CERT-TYPE-UNSUPPORTED", 22: "INVALID-CERT-AUTHORITY",
    23: "INVALID-HASH-INFORMATION", 24: "AUTHENTICATION-FAILED", 25: "INVALID-SIGNATURE",
    26: "ADDRESS-NOTIFICATION", 27: "NOTIFY-SA-LIFETIME", 28: "CERTIFICATE-UNAVAILABLE",
    29: "UNSUPPORTED-EXCHANGE-TYPE", 30: "UNEQUAL-PAYLOAD-LENGTHS", 16384: "CONNECTED",
    24576: "RESPONDER-LIFETIME", 24577: "REPLAY-STATUS", 24578: "INITIAL-CONTACT",
    36136: "R-U-THERE", 36137: "R-U-THERE-ACK",
}


def _v1_notifies(msg: Any, L: dict) -> list[str]:
    if L["ISAKMP_payload_Notify"] is not None:
        codes = [n.notify_msg_type for n in _payloads(msg, L["ISAKMP_payload_Notify"])]
    else:
        codes = _v1_notify_codes(bytes(msg))
    return [V1_NOTIFY_NAMES.get(code, f"NOTIFY-{code}") for code in codes]


def _v1_notify_codes(raw: bytes) -> list[int]:
    """Notify types in a cleartext ISAKMP message, walking the generic payload headers (RFC 2408 §3.2).

    >>> hdr = bytes(16) + bytes([11, 0x10, 5, 0]) + bytes(4) + (40).to_bytes(4, "big")
    >>> _v1_notify_codes(hdr + bytes([0, 0, 0, 12]) + bytes(4) + bytes([1, 0]) + (14).to_bytes(2, "big"))
    [14]
    """
    if len(raw) < 28 or raw[19] & 0x01:  # too short, or encrypted: notifies are not readable
        return []
    codes: list[int] = []
    payload, offset = raw[16], 28
    for _ in range(64):  # bound: a hostile packet may chain many payloads
        if payload == 0 or offset + 4 > len(raw):
            break
        length = int.from_bytes(raw[offset + 2:offset + 4], "big")
        if length < 4:
            break
        if payload == 11 and offset + 12 <= len(raw):  # Notification: DOI(4) proto(1) spi size(1) type(2)
            codes.append(int.from_bytes(raw[offset + 10:offset + 12], "big"))
        payload, offset = raw[offset], offset + length
    return codes


def _v1_identities(msg: Any, L: dict) -> list[str]:
    found = []
    for p in _payloads(msg, L["ISAKMP_payload_ID"]):
        found.append(_v1_identity_text(p)[:200])
    return found


ID_IPV4_ADDR = 1  # RFC 2407 §4.6.2.1


def _v1_identity_text(p: Any) -> str:
    """The identification data of an ISAKMP ID payload as text.

    scapy 2.6+ names the field ``IdentData`` and decodes an IPv4 address ID itself; scapy 2.5
    keeps the raw bytes in ``load``, so the IPv4 case is formatted here the same way.
    """
    if any(f.name == "IdentData" for f in p.fields_desc):
        value = p.IdentData
    else:
        value = p.load
        if p.IDtype == ID_IPV4_ADDR and isinstance(value, bytes) and len(value) == 4:
            value = ".".join(str(b) for b in value)
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    return str(value)


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
