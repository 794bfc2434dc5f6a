"""IKE, ESP and ICMP packets from a capture, decoded into plain facts.

The same :func:`decode` serves pcap/pcapng files (:func:`load_pcap`) and the live capture
probe (``swandoc.probes.capture``). Only what travels in clear text is decoded: the IKE
header (version, exchange, initiator/response flags, message id, SPIs), the cleartext
notifies of IKE_SA_INIT and IKEv1, the NAT-T non-ESP marker and keepalives, RFC 8229 TCP
framing, ESP SPI/sequence, and ICMP errors that quote one of those packets.

Scapy is imported lazily: ``swandoc analyze`` of a log file must not pay for it. The UDP
and TCP payloads are sliced by hand and handed to scapy's IKE layer classes, because
scapy's own port bindings depend on import order and do not cover IKE on TCP at all.

Sample (what :meth:`IkePacket.summary` prints for a real capture)::

    192.0.2.1:500 -> 192.0.2.2:500 IKEv2 IKE_SA_INIT request msgid=0
    192.0.2.2:500 -> 192.0.2.1:500 IKEv2 IKE_SA_INIT response msgid=0 [NO_PROPOSAL_CHOSEN]
    192.0.2.2 -> 192.0.2.1 ICMP 3/3 about UDP 192.0.2.1:500 -> 192.0.2.2:500
"""
from __future__ import annotations

import hashlib
import logging
import struct
from dataclasses import dataclass, field
from ..compat import SLOTS
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from ..errors import InputError
from ..model import SourceSummary

if TYPE_CHECKING:  # pragma: no cover
    from ..facts import Facts

IKE_PORT = 500
NATT_PORT = 4500
IKE_HEADER_LEN = 28
NON_ESP_MARKER = b"\x00\x00\x00\x00"
IKETCP_PREFIX = b"IKETCP"  # RFC 8229 §3: sent once by the TCP initiator before the first frame

IKEV1_EXCHANGES = {
    1: "Base",
    2: "Main Mode",  # "Identity Protection" in RFC 2408
    3: "Authentication Only",
    4: "Aggressive",
    5: "Informational",
    32: "Quick Mode",
    33: "New Group Mode",
}
IKEV2_EXCHANGES = {
    34: "IKE_SA_INIT",
    35: "IKE_AUTH",
    36: "CREATE_CHILD_SA",
    37: "INFORMATIONAL",
    38: "IKE_SESSION_RESUME",
    43: "IKE_INTERMEDIATE",
    44: "IKE_FOLLOWUP_KE",
}
# Exchanges that open a new IKE SA: their first request has a zero responder SPI.
INITIAL_EXCHANGES = frozenset({"IKE_SA_INIT", "Main Mode", "Aggressive"})

ICMP_UNREACH = {0: "net unreachable", 1: "host unreachable", 2: "protocol unreachable",
                3: "port unreachable", 4: "fragmentation needed", 9: "net prohibited",
                10: "host prohibited", 13: "administratively prohibited"}
ICMP6_UNREACH = {0: "no route", 1: "administratively prohibited", 3: "address unreachable",
                 4: "port unreachable"}


@dataclass(frozen=True, **SLOTS)
class IkePacket:
    """One decoded packet: IKE, ESP, a NAT-T keepalive, an ICMP error about those, or an IP fragment."""

    number: int  # 1-based position in its capture
    source: str  # capture name (file name or evidence name)
    time: float
    src: str
    dst: str
    sport: int | None
    dport: int | None
    transport: str  # "udp", "tcp", "ip" (ESP straight on IP), "icmp"
    kind: str  # "ike", "esp", "keepalive", "icmp", "fragment", "tcp" (RFC 8229 segment with no frame)
    size: int  # bytes on the wire (IP packet)
    ike_version: int | None = None
    exchange: str | None = None
    is_response: bool | None = None  # None: IKEv1 message whose role the header does not tell
    is_initiator: bool | None = None  # IKEv2 "Initiator" flag: sent by the IKE SA's original initiator
    msgid: int | None = None
    spi_i: str | None = None  # hex
    spi_r: str | None = None
    notifies: tuple[str, ...] = ()
    identities: tuple[str, ...] = ()  # cleartext IDs (IKEv1 Aggressive Mode only): peer-controlled text
    encrypted: bool = False  # body is SK{} / IKEv1 encrypted: notifies inside are invisible
    ike_fragment: tuple[int, int] | None = None  # RFC 7383 (number, total)
    non_esp_marker: bool = False  # IKE on UDP 4500 behind the 4-zero-byte marker (RFC 3948)
    tcp_encap: bool = False  # RFC 8229 framing on TCP
    tcp_flags: str | None = None  # kind "tcp": SYN/ACK/FIN/RST/PSH
    tcp_prefix: bool = False  # the segment starts with the RFC 8229 "IKETCP" stream prefix
    digest: str | None = None  # hash of the IKE message bytes: equal digests = retransmission
    esp_spi: int | None = None
    esp_seq: int | None = None
    ip_fragment: str | None = None  # "first", "middle", "last" when the IP packet is a fragment
    ip_id: int | None = None
    icmp_type: int | None = None
    icmp_code: int | None = None
    icmp_reason: str | None = None
    quoted_src: str | None = None  # what the ICMP error quotes
    quoted_dst: str | None = None
    quoted_proto: str | None = None  # "udp", "tcp", "esp"
    quoted_sport: int | None = None
    quoted_dport: int | None = None
    quoted_msgid: int | None = None
    quoted_exchange: str | None = None

    @property
    def nat_t(self) -> bool:
        return NATT_PORT in (self.sport, self.dport)

    @property
    def about_ike(self) -> bool:
        """An ICMP error quoting an IKE packet (UDP/TCP to or from 500/4500)."""
        return self.kind == "icmp" and self.quoted_proto in ("udp", "tcp") and bool(
            {IKE_PORT, NATT_PORT} & {self.quoted_sport, self.quoted_dport})

    def endpoint(self, which: str) -> str:
        addr = self.src if which == "src" else self.dst
        port = self.sport if which == "src" else self.dport
        host = f"[{addr}]" if ":" in addr else addr
        return f"{host}:{port}" if port is not None else host

    def summary(self) -> str:
        """One line for evidence and the ladder; every field here may be peer-controlled."""
        head = f"{self.endpoint('src')} -> {self.endpoint('dst')}"
        if self.kind == "ike":
            role = {True: "response", False: "request", None: "message"}[self.is_response]
            text = f"{head} IKEv{self.ike_version} {self.exchange} {role} msgid={self.msgid}"
            if self.tcp_encap:
                text += " (TCP)"
            if self.ike_fragment:
                text += f" fragment {self.ike_fragment[0]}/{self.ike_fragment[1]}"
            if self.ip_fragment:
                text += f" (IP fragment, {self.size} bytes)"
            if self.notifies:
                text += f" [{', '.join(self.notifies)}]"
            if self.identities:
                text += f" ID={', '.join(self.identities)}"
            return text
        if self.kind == "esp":
            where = " in UDP" if self.transport == "udp" else (" in TCP" if self.transport == "tcp" else "")
            return f"{head} ESP{where} spi=0x{self.esp_spi:08x} seq={self.esp_seq}"
        if self.kind == "keepalive":
            return f"{head} NAT-T keepalive"
        if self.kind == "tcp":
            text = f"{head} TCP {self.tcp_flags or '-'}"
            return text + ' "IKETCP" stream prefix' if self.tcp_prefix else text
        if self.kind == "icmp":
            quoted = self.quoted_proto.upper() if self.quoted_proto else "?"
            qs = _hostport(self.quoted_src, self.quoted_sport)
            qd = _hostport(self.quoted_dst, self.quoted_dport)
            return f"{head} ICMP {self.icmp_type}/{self.icmp_code} ({self.icmp_reason}) about {quoted} {qs} -> {qd}"
        return f"{head} IP fragment ({self.ip_fragment}, id={self.ip_id}, {self.size} bytes)"


def _hostport(addr: str | None, port: int | None) -> str:
    if addr is None:
        return "?"
    host = f"[{addr}]" if ":" in addr else addr
    return f"{host}:{port}" if port is not None else host


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


# --- reading captures -------------------------------------------------------------------------


class _ReaderWatch(logging.Handler):
    """Scapy only logs warnings about a damaged capture (a record cut short, an unknown link
    type); collect them instead of letting them reach the terminal."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())

    def saw(self, text: str) -> bool:
        return any(text in m for m in self.messages)


def read_packets(path: str, name: str) -> tuple[list[IkePacket], SourceSummary]:
    """Decode a pcap or pcapng file; raise InputError (one line) when it cannot be read."""
    _layers()
    from scapy.error import Scapy_Exception
    from scapy.utils import PcapReader

    summary = SourceSummary(name=name, kind="pcap")
    decoded: list[IkePacket] = []
    ignored = number = dropped = 0
    watch = _ReaderWatch()
    runtime_log = logging.getLogger("scapy.runtime")
    runtime_log.addHandler(watch)
    propagate, runtime_log.propagate = runtime_log.propagate, False
    try:
        with PcapReader(path) as reader:
            for pkt in reader:
                number += 1
                found = _safe_decode(pkt, number, name)
                if found is None:
                    summary.unparsed += 1
                elif not found:
                    ignored += 1
                elif len(decoded) < MAX_DECODED:
                    decoded.extend(found)
                else:
                    dropped += len(found)
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except (Scapy_Exception, EOFError, struct.error, ValueError, OSError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{name}: not a readable pcap/pcapng capture ({reason})") from None
    finally:
        runtime_log.removeHandler(watch)
        runtime_log.propagate = propagate
    if watch.saw("unknown LL type"):
        raise InputError(f"{name}: not a readable pcap/pcapng capture (unknown link-layer type; damaged header?)")
    layout = _record_layout(path)
    if layout is not None:
        complete, truncated = layout
    else:  # not a layout we walk: rely on scapy's warning (2.6+ logs one for a record cut short)
        truncated = watch.saw("truncated")
        complete = number - 1 if truncated else number
    if truncated and complete <= 0:
        raise InputError(f"{name}: not a readable pcap/pcapng capture (truncated: no complete packet)")
    summary.lines = number
    summary.packets = len(decoded)
    if decoded:
        summary.first_time = _iso(decoded[0].time)
        summary.last_time = _iso(decoded[-1].time)
    if ignored:
        summary.notes.append(f"{ignored} packets were not IKE, ESP or ICMP errors about them (ignored)")
    if truncated:
        summary.notes.append("the capture ends in a truncated packet (was the capture cut short?)")
    if dropped:
        summary.notes.append(f"only the first {MAX_DECODED} IKE/ESP/ICMP packets were kept; {dropped} later ones "
                             "were counted, not analysed (memory stays bounded)")
    return decoded, summary


MAX_DECODED = 50_000  # decoded packets kept from one capture: far beyond any IKE negotiation

PCAP_MAGICS = {  # classic pcap, microsecond and nanosecond variants: byte order of the headers
    b"\xa1\xb2\xc3\xd4": ">", b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\x3c\x4d": ">", b"\x4d\x3c\xb2\xa1": "<"}
PCAP_HEADER_LEN, PCAP_RECORD_HEADER_LEN = 24, 16
PCAPNG_SHB = b"\x0a\x0d\x0d\x0a"
PCAPNG_BYTE_ORDER = {b"\x1a\x2b\x3c\x4d": ">", b"\x4d\x3c\x2b\x1a": "<"}
PCAPNG_PACKET_BLOCKS = frozenset({2, 3, 6})  # obsolete Packet, Simple Packet, Enhanced Packet


def _record_layout(path: str) -> tuple[int, bool] | None:
    """(complete packet records, whether the file ends inside a record) of a pcap/pcapng file.

    Why by hand: scapy 2.5's PcapReader hands back a record cut short (a capture killed
    mid-write, or a bare file header plus half a record header) as an ordinary packet without
    a word, where 2.6+ logs "truncated". Only the record headers are read (16 bytes per pcap
    record, 8 per pcapng block; the data is skipped with seek), so this stays cheap on big
    captures. None when the file is neither layout (scapy has already said what it thinks).
    """
    import os

    size = os.path.getsize(path)
    complete = 0
    with open(path, "rb") as fh:
        head = fh.read(12)
        if head[:4] in PCAP_MAGICS:
            if len(head) < 12 or size < PCAP_HEADER_LEN:
                return 0, True
            order, pos = PCAP_MAGICS[head[:4]], PCAP_HEADER_LEN
            while pos < size:
                fh.seek(pos)
                hdr = fh.read(PCAP_RECORD_HEADER_LEN)
                if len(hdr) < PCAP_RECORD_HEADER_LEN:
                    return complete, True
                pos += PCAP_RECORD_HEADER_LEN + struct.unpack(order + "I", hdr[8:12])[0]
                if pos > size:
                    return complete, True
                complete += 1
            return complete, False
        if head[:4] == PCAPNG_SHB and head[8:12] in PCAPNG_BYTE_ORDER:
            order, pos = PCAPNG_BYTE_ORDER[head[8:12]], 0
            while pos < size:
                fh.seek(pos)
                hdr = fh.read(8)
                if len(hdr) < 8:
                    return complete, True
                kind, length = struct.unpack(order + "II", hdr)
                if hdr[:4] == PCAPNG_SHB:  # a new section may switch byte order
                    order = PCAPNG_BYTE_ORDER.get(fh.read(4), order)
                    length = struct.unpack(order + "I", hdr[4:8])[0]
                if length < 12:  # damaged block header: scapy judges the rest
                    return None
                pos += length
                if pos > size:
                    return complete, True
                complete += kind in PCAPNG_PACKET_BLOCKS
            return complete, False
    return None


def _safe_decode(pkt: Any, number: int, name: str) -> list[IkePacket] | None:
    """Decoded messages ([] if not ours); None when a packet on an IKE port could not be decoded."""
    try:
        found = decode_all(pkt, number=number, source=name)
    except Exception:  # a hostile or mangled packet must not end the analysis
        return None
    if not found and _looks_like_ike(pkt):
        return None
    return found


def _looks_like_ike(pkt: Any) -> bool:
    L = _layers()
    for cls in (L["UDP"], L["TCP"]):
        layer = pkt.getlayer(cls)
        if layer is not None and {IKE_PORT, NATT_PORT} & {layer.sport, layer.dport}:
            return True
    return False


def _iso(ts: float) -> str:
    import datetime as _dt

    return _dt.datetime.fromtimestamp(ts, _dt.timezone.utc).isoformat(timespec="milliseconds")


def load_pcap(path: str, facts: "Facts", name: str) -> None:
    """Read a capture into ``facts.packets`` and add its SourceSummary to ``facts.sources``."""
    decoded, summary = read_packets(path, name)
    facts.sources.append(summary)
    facts.packets.extend(decoded)


def decode_pcap_bytes(data: bytes, name: str) -> tuple[list[IkePacket], SourceSummary]:
    """Decode a capture held in memory (the ``ike_capture`` evidence of a probe or bundle)."""
    import os
    import tempfile

    fd, tmp = tempfile.mkstemp(suffix=".pcap")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return read_packets(tmp, name)
    finally:
        os.unlink(tmp)


def load_capture_evidence(evidence: Any, facts: "Facts") -> None:
    """Add an ``ike_capture`` Evidence item (live probe or bundle) to facts, if it holds a capture."""
    if evidence is None or not evidence.available or not evidence.content:
        return
    decoded, summary = decode_pcap_bytes(evidence.content, evidence.name)
    facts.sources.append(summary)
    facts.packets.extend(decoded)


# --- exchanges: requests paired with responses ------------------------------------------------


@dataclass(**SLOTS)
class Exchange:
    """One IKE request and what became of it."""

    request: IkePacket  # the first transmission
    transmissions: list[IkePacket] = field(default_factory=list)  # every copy sent, first included
    responses: list[IkePacket] = field(default_factory=list)
    icmp_errors: list[IkePacket] = field(default_factory=list)  # ICMP errors quoting this request
    moved_to_natt: bool = False  # first request of this IKE SA on 4500 after earlier ones on 500
    expects_response: bool = True  # False for IKEv1 messages nothing answers (Informational, last QM)

    def rounds(self) -> list[tuple[int, IkePacket]]:
        """(attempt number from 0, packet) for each transmission; RFC 7383 fragments of one
        attempt share its number (a new attempt starts with the first fragment again)."""
        first = self.request.ike_fragment[0] if self.request.ike_fragment else None
        attempt, out = -1, []
        for p in self.transmissions:
            if first is None or not p.ike_fragment or p.ike_fragment[0] == first:
                attempt += 1
            out.append((max(attempt, 0), p))
        return out

    @property
    def retransmits(self) -> int:
        rounds = self.rounds()
        return rounds[-1][0] if rounds else 0

    @property
    def answered(self) -> bool:
        return bool(self.responses)

    @property
    def response(self) -> IkePacket | None:
        return self.responses[0] if self.responses else None

    @property
    def exchange(self) -> str:
        return self.request.exchange or "?"

    @property
    def msgid(self) -> int | None:
        return self.request.msgid

    @property
    def requester(self) -> str:
        return self.request.src

    @property
    def responder(self) -> str:
        return self.request.dst

    @property
    def initial(self) -> bool:
        return self.request.exchange in INITIAL_EXCHANGES and not any(bytes.fromhex(self.request.spi_r or "00"))

    @property
    def fragmented(self) -> bool:
        return any(p.ip_fragment or p.ike_fragment for p in self.transmissions)

    @property
    def largest(self) -> int:
        return max(p.size for p in self.transmissions)

    def evidence_text(self) -> str:
        text = self.request.summary()
        if self.retransmits:
            text += f" (retransmit {self.retransmits})"
        if not self.answered and self.expects_response:
            text += " - no response"
        return text


@dataclass(frozen=True, **SLOTS)
class EspFlow:
    """ESP from one address to another during the capture (any SPI)."""

    src: str
    dst: str
    packets: int
    spis: tuple[int, ...]
    first: IkePacket
    encapsulation: str  # "ip", "udp", "tcp"


@dataclass(**SLOTS)
class Wire:
    """Everything a capture says, arranged for the rules and the ladder."""

    exchanges: list[Exchange]
    icmp: list[IkePacket]  # every ICMP error about IKE/ESP
    esp: list[EspFlow]
    packets: list[IkePacket]

    def peers(self) -> list[tuple[str, str]]:
        """(a, b) address pairs that exchanged IKE, in order of first appearance."""
        seen: dict[frozenset, tuple[str, str]] = {}
        for ex in self.exchanges:
            seen.setdefault(frozenset((ex.requester, ex.responder)), (ex.requester, ex.responder))
        return list(seen.values())

    def sent_by(self, addr: str) -> list[IkePacket]:
        return [p for p in self.packets if p.kind == "ike" and p.src == addr]


def _v2_key(p: IkePacket, requester_is_initiator: bool) -> tuple:
    return (2, p.spi_i, p.msgid, requester_is_initiator)


def exchanges(packets: Iterable[IkePacket]) -> list[Exchange]:
    """Pair each IKE request with its response; retransmissions are identical copies.

    IKEv2 pairs by initiator SPI + message id + which side asked (the Initiator flag of a
    request, the opposite of it in a response), which survives NAT rewriting addresses.
    IKEv1 has no response flag: whoever sent the first message with a cookie and message id
    asks, and anything the other side sends next on them answers.
    """
    result: list[Exchange] = []
    open_v2: dict[tuple, Exchange] = {}
    # IKEv1 (cookie, msgid) -> who started it and its latest request
    v1_state: dict[tuple, dict[str, Any]] = {}
    natt_seen: set[str] = set()
    port500_seen: set[str] = set()
    ike = [p for p in packets if p.kind == "ike"]
    for p in ike:
        if p.ike_version == 2:
            if p.is_response:
                ex = open_v2.get(_v2_key(p, not p.is_initiator))
                if ex is not None:
                    ex.responses.append(p)
                continue
            key = _v2_key(p, bool(p.is_initiator))
            ex = open_v2.get(key)
            if ex is not None and _capture_duplicate(ex.transmissions[-1], p):
                continue
            if ex is not None and (ex.request.digest == p.digest or _same_fragment_train(ex, p)):
                ex.transmissions.append(p)
                continue
            ex = Exchange(request=p, transmissions=[p])
            open_v2[key] = ex
        else:
            state = v1_state.setdefault((p.spi_i, p.msgid), {"initiator": p.src, "last": None})
            last = state["last"]
            if p.src != state["initiator"]:
                if last is not None:
                    last.responses.append(p)
                continue
            if last is not None and last.request.digest == p.digest:
                if not _capture_duplicate(last.transmissions[-1], p):
                    last.transmissions.append(p)
                continue
            ex = Exchange(request=p, transmissions=[p])
            # Informational messages are never answered; the last message of Quick Mode and of
            # Aggressive Mode only confirms, so nothing answers it either.
            if p.exchange == "Informational" or (
                    last is not None and last.answered and p.exchange in ("Quick Mode", "Aggressive")):
                ex.expects_response = False
            state["last"] = ex
        if p.nat_t and p.spi_i not in natt_seen:
            natt_seen.add(p.spi_i)
            ex.moved_to_natt = p.spi_i in port500_seen
        elif not p.nat_t:
            port500_seen.add(p.spi_i)
        result.append(ex)
    _attach_icmp(result, [p for p in packets if p.kind == "icmp"])
    return result


DUPLICATE_WINDOW = 0.005  # seconds; pluto's first retransmission comes after 0.5 s


def _capture_duplicate(a: IkePacket, b: IkePacket) -> bool:
    """The same datagram seen twice (capturing on "any" or on lo), not a retransmission."""
    return (a.digest == b.digest and a.ike_fragment == b.ike_fragment and (a.src, a.dst) == (b.src, b.dst)
            and abs(b.time - a.time) < DUPLICATE_WINDOW)


def _same_fragment_train(ex: Exchange, p: IkePacket) -> bool:
    # RFC 7383: each fragment is its own datagram with the same message id; they are one request.
    return bool(p.ike_fragment and ex.request.ike_fragment)


def _attach_icmp(result: list[Exchange], icmp: list[IkePacket]) -> None:
    for err in icmp:
        best = None
        for ex in result:
            req = ex.request
            if (req.dst, req.dport) != (err.quoted_dst, err.quoted_dport) or not _before(req, err):
                continue
            if err.quoted_msgid is not None and (err.quoted_msgid, err.quoted_exchange) != (req.msgid, req.exchange):
                continue
            best = ex  # the latest matching request before the error
        if best is not None:
            best.icmp_errors.append(err)


def _before(a: IkePacket, b: IkePacket) -> bool:
    if a.source == b.source:
        return a.number < b.number
    return a.time <= b.time


def esp_flows(packets: Iterable[IkePacket]) -> list[EspFlow]:
    flows: dict[tuple[str, str], list[IkePacket]] = {}
    for p in packets:
        if p.kind == "esp":
            flows.setdefault((p.src, p.dst), []).append(p)
    return [EspFlow(src, dst, len(ps), tuple(dict.fromkeys(p.esp_spi for p in ps)), ps[0], ps[0].transport)
            for (src, dst), ps in flows.items()]


def wire(packets: Iterable[IkePacket]) -> Wire:
    packets = list(packets)
    return Wire(exchanges=exchanges(packets),
                icmp=[p for p in packets if p.kind == "icmp" and (p.about_ike or p.quoted_proto == "esp")],
                esp=esp_flows(packets), packets=packets)
