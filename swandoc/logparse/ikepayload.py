"""IKE payloads in clear text, for IKEv1 and IKEv2 alike: one walker over the generic payload header.

Both versions chain their payloads the same way (RFC 2408 §3.2, RFC 7296 §3.2): the IKE header
names the first payload type (byte 16); each payload starts with Next Payload (1 byte), a reserved
or flags byte, and Payload Length (2 bytes, header included). :func:`walk` follows that chain,
bounded, and hands each payload's type and body to the readers below: notify types (IKEv1 and
IKEv2 differ only in where the type sits), IKEv1 identities, the IKEv2 fragment header. An
encrypted payload (IKEv2 SK/SKF) ends the walk: what follows it is ciphertext.

Own tables rather than scapy's IKE layers: the names must not change with the scapy version
installed (2.5 has no IKEv1 Notify layer and an older IKEv2 notify table), and slicing bytes is all
a cleartext header needs. Scapy still reads the capture files and the live capture.

>>> hdr = bytes(16) + bytes([41, 0x20, 34, 0x20]) + bytes(4) + (36).to_bytes(4, "big")
>>> [(t, body.hex()) for t, body in walk(hdr + bytes([0, 0, 0, 8]) + bytes([0, 0, 0, 14]))]
[(41, '0000000e')]
>>> v2_notifies(hdr + bytes([0, 0, 0, 8]) + bytes([0, 0, 0, 14]))
['NO_PROPOSAL_CHOSEN']
"""
from __future__ import annotations

import ipaddress
from typing import Iterator

IKE_HEADER_LEN = 28
MAX_PAYLOADS = 64  # a hostile packet may chain many payloads

# payload types (RFC 2408 §3.1, RFC 7296 §3.2, RFC 7383 §2.5)
V1_ID, V1_NOTIFY = 5, 11
V2_NOTIFY, V2_ENCRYPTED, V2_ENCRYPTED_FRAGMENT = 41, 46, 53


def walk(message: bytes, offset: int = IKE_HEADER_LEN) -> Iterator[tuple[int, bytes]]:
    """(payload type, payload body) of each cleartext payload of an IKE *message* (header first)."""
    payload = message[16] if len(message) >= IKE_HEADER_LEN else 0
    for _ in range(MAX_PAYLOADS):
        if payload == 0 or offset + 4 > len(message):
            return
        length = int.from_bytes(message[offset + 2:offset + 4], "big")
        if length < 4:
            return  # a damaged chain: what was read so far stands
        yield payload, message[offset + 4:offset + length]
        if payload in (V2_ENCRYPTED, V2_ENCRYPTED_FRAGMENT):
            return
        payload, offset = message[offset], offset + length


def v2_notifies(message: bytes) -> list[str]:
    """Names of the notifications of a cleartext IKEv2 message (Protocol ID, SPI Size, Type)."""
    return [_v2_name(int.from_bytes(body[2:4], "big")) for kind, body in walk(message)
            if kind == V2_NOTIFY and len(body) >= 4]


def v2_fragment(message: bytes) -> tuple[int, int] | None:
    """(fragment number, total) of an RFC 7383 encrypted fragment, or None."""
    for kind, body in walk(message):
        if kind == V2_ENCRYPTED_FRAGMENT and len(body) >= 4:
            return int.from_bytes(body[0:2], "big"), int.from_bytes(body[2:4], "big")
    return None


def v1_notify_codes(message: bytes) -> list[int]:
    """Notify types of a cleartext ISAKMP message (DOI 4, Protocol ID 1, SPI Size 1, Type 2).

    >>> hdr = bytes(16) + bytes([11, 0x10, 5, 0]) + bytes(4) + (40).to_bytes(4, "big")
    >>> v1_notify_codes(hdr + bytes([0, 0, 0, 12]) + bytes(4) + bytes([1, 0]) + (14).to_bytes(2, "big"))
    [14]
    """
    if len(message) < IKE_HEADER_LEN or message[19] & 0x01:  # encrypted: notifies are not readable
        return []
    return [int.from_bytes(body[6:8], "big") for kind, body in walk(message) if kind == V1_NOTIFY and len(body) >= 8]


def v1_notifies(message: bytes) -> list[str]:
    return [V1_NOTIFY_NAMES.get(code, f"NOTIFY-{code}") for code in v1_notify_codes(message)]


def v1_identities(message: bytes) -> list[str]:
    """The identities of a cleartext ISAKMP message (ID Type 1, Protocol ID 1, Port 2, data), as text.

    >>> hdr = bytes(16) + bytes([5, 0x10, 4, 0]) + bytes(4) + (40).to_bytes(4, "big")
    >>> v1_identities(hdr + bytes([0, 0, 0, 12, 1, 17, 1, 244]) + bytes([192, 0, 2, 1]))
    ['192.0.2.1']
    """
    if len(message) < IKE_HEADER_LEN or message[19] & 0x01:
        return []
    return [_identity_text(body[0], body[4:])[:200] for kind, body in walk(message) if kind == V1_ID and len(body) >= 4]


ID_IPV4_ADDR, ID_IPV6_ADDR = 1, 5  # RFC 2407 §4.6.2.1


def _identity_text(id_type: int, data: bytes) -> str:
    if id_type == ID_IPV4_ADDR and len(data) == 4:
        return str(ipaddress.IPv4Address(data))
    if id_type == ID_IPV6_ADDR and len(data) == 16:
        return str(ipaddress.IPv6Address(data))
    return data.decode("utf-8", errors="replace")


def _v2_name(code: int) -> str:
    return V2_NOTIFY_NAMES.get(code, f"NOTIFY-{code}")


# IANA "IKEv2 Notify Message Types" (RFC 7296 §3.10.1 and later RFCs), error types then status types.
V2_NOTIFY_NAMES = {
    1: "UNSUPPORTED_CRITICAL_PAYLOAD", 4: "INVALID_IKE_SPI", 5: "INVALID_MAJOR_VERSION", 7: "INVALID_SYNTAX",
    9: "INVALID_MESSAGE_ID", 11: "INVALID_SPI", 14: "NO_PROPOSAL_CHOSEN", 17: "INVALID_KE_PAYLOAD",
    24: "AUTHENTICATION_FAILED", 34: "SINGLE_PAIR_REQUIRED", 35: "NO_ADDITIONAL_SAS", 36: "INTERNAL_ADDRESS_FAILURE",
    37: "FAILED_CP_REQUIRED", 38: "TS_UNACCEPTABLE", 39: "INVALID_SELECTORS", 40: "UNACCEPTABLE_ADDRESSES",
    41: "UNEXPECTED_NAT_DETECTED", 42: "USE_ASSIGNED_HoA", 43: "TEMPORARY_FAILURE", 44: "CHILD_SA_NOT_FOUND",
    45: "INVALID_GROUP_ID", 46: "AUTHORIZATION_FAILED", 47: "STATE_NOT_FOUND",
    16384: "INITIAL_CONTACT", 16385: "SET_WINDOW_SIZE", 16386: "ADDITIONAL_TS_POSSIBLE", 16387: "IPCOMP_SUPPORTED",
    16388: "NAT_DETECTION_SOURCE_IP", 16389: "NAT_DETECTION_DESTINATION_IP", 16390: "COOKIE",
    16391: "USE_TRANSPORT_MODE", 16392: "HTTP_CERT_LOOKUP_SUPPORTED", 16393: "REKEY_SA",
    16394: "ESP_TFC_PADDING_NOT_SUPPORTED", 16395: "NON_FIRST_FRAGMENTS_ALSO", 16396: "MOBIKE_SUPPORTED",
    16397: "ADDITIONAL_IP4_ADDRESS", 16398: "ADDITIONAL_IP6_ADDRESS", 16399: "NO_ADDITIONAL_ADDRESSES",
    16400: "UPDATE_SA_ADDRESSES", 16401: "COOKIE2", 16402: "NO_NATS_ALLOWED", 16403: "AUTH_LIFETIME",
    16404: "MULTIPLE_AUTH_SUPPORTED", 16405: "ANOTHER_AUTH_FOLLOWS", 16406: "REDIRECT_SUPPORTED", 16407: "REDIRECT",
    16408: "REDIRECTED_FROM", 16409: "TICKET_LT_OPAQUE", 16410: "TICKET_REQUEST", 16411: "TICKET_ACK",
    16412: "TICKET_NACK", 16413: "TICKET_OPAQUE", 16414: "LINK_ID", 16415: "USE_WESP_MODE", 16416: "ROHC_SUPPORTED",
    16417: "EAP_ONLY_AUTHENTICATION", 16418: "CHILDLESS_IKEV2_SUPPORTED", 16419: "QUICK_CRASH_DETECTION",
    16420: "IKEV2_MESSAGE_ID_SYNC_SUPPORTED", 16421: "IPSEC_REPLAY_COUNTER_SYNC_SUPPORTED",
    16422: "IKEV2_MESSAGE_ID_SYNC", 16423: "IPSEC_REPLAY_COUNTER_SYNC", 16424: "SECURE_PASSWORD_METHODS",
    16425: "PSK_PERSIST", 16426: "PSK_CONFIRM", 16427: "ERX_SUPPORTED", 16428: "IFOM_CAPABILITY",
    16429: "SENDER_REQUEST_ID", 16430: "IKEV2_FRAGMENTATION_SUPPORTED", 16431: "SIGNATURE_HASH_ALGORITHMS",
    16432: "CLONE_IKE_SA_SUPPORTED", 16433: "CLONE_IKE_SA", 16434: "PUZZLE", 16435: "USE_PPK",
    16436: "PPK_IDENTITY", 16437: "NO_PPK_AUTH", 16438: "INTERMEDIATE_EXCHANGE_SUPPORTED", 16439: "IP4_ALLOWED",
    16440: "IP6_ALLOWED", 16441: "ADDITIONAL_KEY_EXCHANGE", 16442: "USE_AGGFRAG",
}

# IKEv1 notify message types, spelled as RFC 2408 §3.14.1 does, plus RFC 2407 §4.6.3 and the
# RFC 3706 DPD pair.
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
