"""How many bytes IPsec adds to a packet, from the connection's ESP proposal."""
from __future__ import annotations

import re

# ICV (integrity check value) length in bytes by integrity algorithm name as written in esp=.
_INTEG_ICV = {"md5": 12, "sha1": 12, "sha": 12, "sha2": 16, "sha256": 16, "sha2_256": 16, "sha384": 24,
              "sha2_384": 24, "sha512": 32, "sha2_512": 32, "aes_xcbc": 12, "aes_cmac": 12}


def esp_overhead(esp: str | None, *, ipv6: bool = False, nat_t: bool = False, tcp: bool = False,
                 tunnel: bool = True) -> int:
    """Worst-case bytes added by ESP for the first proposal of *esp* (None = Libreswan's default).

    Outer IP header (tunnel mode) + ESP header 8 + IV + worst padding + 2 (pad length, next
    header) + ICV, plus 8 for NAT-T UDP encapsulation or 22 for RFC 8229 TCP framing.

    >>> esp_overhead(None)               # AES_GCM_16_256: 20 + 8 + 8 + 3 + 2 + 16
    57
    >>> esp_overhead("aes256-sha2_256", nat_t=True)  # 20 + 8 + 16 + 15 + 2 + 16 + 8
    85
    """
    first = (esp or "aes_gcm16_256").lower().split(",")[0].split(";")[0].strip()
    parts = first.split("-")
    cipher = parts[0]
    integ = parts[1] if len(parts) > 1 else None
    if re.match(r"(aes_gcm|aes_ccm|chacha20)", cipher):
        iv, block = 8, 4
        if re.match(r"aes_(gcm|ccm)_?(a|8)\b|aes_(gcm|ccm)8", cipher):
            icv = 8
        elif re.match(r"aes_(gcm|ccm)_?(b|12)\b|aes_(gcm|ccm)12", cipher):
            icv = 12
        else:
            icv = 16
    elif cipher.startswith("aes_ctr") or cipher == "null":
        iv, block = (8, 4) if cipher != "null" else (0, 4)
        icv = _INTEG_ICV.get(re.sub(r"_?\d+$", "", integ or "sha2_512"), 16) if integ != "sha2_512" else 32
    else:
        iv = block = 8 if cipher.startswith("3des") else 16
        name = (integ or "sha2_512").replace("_truncbug", "")
        icv = _INTEG_ICV.get(name, 16)
    size = 8 + iv + (block - 1) + 2 + icv
    if tunnel:
        size += 40 if ipv6 else 20
    if tcp:
        size += 20 + 2
    elif nat_t:
        size += 8
    return size
