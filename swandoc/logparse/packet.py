"""The packet model: one decoded IKE, ESP or ICMP packet as plain facts.

:mod:`swandoc.logparse.decode` makes them (from a capture file, :mod:`swandoc.logparse.capture`,
or the live capture probe), :mod:`swandoc.logparse.pairing` pairs requests with responses, and
the packet rules and the ladder read them. Nothing here needs scapy.

Sample (what :meth:`IkePacket.summary` prints for a real capture)::

    192.0.2.1:500 -> 192.0.2.2:500 IKEv2 IKE_SA_INIT request msgid=0
    192.0.2.2:500 -> 192.0.2.1:500 IKEv2 IKE_SA_INIT response msgid=0 [NO_PROPOSAL_CHOSEN]
    192.0.2.2 -> 192.0.2.1 ICMP 3/3 about UDP 192.0.2.1:500 -> 192.0.2.2:500
"""
from __future__ import annotations

from dataclasses import dataclass

from ..compat import SLOTS

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
    source: str  # capture name (file name, or BUNDLE:ike_capture, or evidence name)
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
    host: str | None = None  # the host whose capture this is, when known (a bundle's, diagnose's)

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
