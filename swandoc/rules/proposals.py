"""Turn the proposals pluto logs into the ike=/esp= lines an admin writes.

A responder logs what the initiator offered, in IANA-style names
(``1:IKE:ENCR=AES_CBC_256;PRF=HMAC_SHA2_256;INTEG=HMAC_SHA2_256_128;DH=MODP2048``, or for IKEv1
``Oakley Transform [AES_CBC (256), HMAC_SHA2_256, MODP2048] refused``). Written back in ipsec.conf
syntax, that is the line which would make the responder accept it.
"""
from __future__ import annotations

import re
from functools import lru_cache

_ENCR = [
    (r"AES_GCM_(?:16|C)_(\d+)", r"aes_gcm\1"), (r"AES_GCM_12_(\d+)", r"aes_gcm_b\1"), (r"AES_GCM_8_(\d+)", r"aes_gcm_a\1"),
    (r"AES_CCM_(?:16|C)_(\d+)", r"aes_ccm\1"), (r"AES_CBC_(\d+)", r"aes\1"), (r"AES_CBC", "aes"),
    (r"AES_CTR_(\d+)", r"aesctr\1"), (r"3DES(?:_CBC)?", "3des"), (r"CHACHA20_POLY1305(?:_\d+)?", "chacha20_poly1305"),
    (r"CAMELLIA_CBC_(\d+)", r"camellia\1"), (r"NULL_AUTH_AES_GMAC_(\d+)", r"aes_gmac\1"), (r"NULL", "null"),
]
_HASH = {"HMAC_SHA1": "sha1", "HMAC_SHA1_96": "sha1", "SHA1": "sha1", "HMAC_MD5": "md5", "HMAC_MD5_96": "md5",
         "MD5": "md5", "HMAC_SHA2_256": "sha2_256", "HMAC_SHA2_256_128": "sha2_256", "SHA2_256": "sha2_256",
         "HMAC_SHA2_384": "sha2_384", "HMAC_SHA2_384_192": "sha2_384", "SHA2_384": "sha2_384",
         "HMAC_SHA2_512": "sha2_512", "HMAC_SHA2_512_256": "sha2_512", "SHA2_512": "sha2_512",
         "AES_XCBC": "aes_xcbc", "AES_XCBC_96": "aes_xcbc", "AES_CMAC_96": "aes_cmac"}
_DH = {"ECP_256": "dh19", "ECP_384": "dh20", "ECP_521": "dh21", "CURVE25519": "dh31", "DH19": "dh19",
       "DH20": "dh20", "DH21": "dh21", "DH31": "dh31"}


_ENCR_COMPILED = [(re.compile(pattern), repl) for pattern, repl in _ENCR]


def _encr(name: str) -> str | None:
    for pattern, repl in _ENCR_COMPILED:
        m = pattern.fullmatch(name)
        if m:
            return m.expand(repl)
    return None


def _dh(name: str) -> str | None:
    if name.startswith("MODP"):
        return name.lower()
    return _DH.get(name)


@lru_cache(maxsize=256)  # a big log's many failed connections were mostly offered the same few proposals
def ipsec_conf_line(remote: str) -> str | None:
    """The ike=/esp= line for the first proposal pluto logged from the peer, or None.

    >>> ipsec_conf_line("1:IKE:ENCR=AES_CBC_256;PRF=HMAC_SHA2_256;INTEG=HMAC_SHA2_256_128;DH=MODP2048")
    'ike=aes256-sha2_256-modp2048'
    >>> ipsec_conf_line("1:ESP:ENCR=AES_CBC_256;INTEG=HMAC_SHA2_256_128;ESN=ENABLED;ESN=DISABLED")
    'esp=aes256-sha2_256'
    >>> ipsec_conf_line("[AES_CBC (256), HMAC_SHA2_256, MODP2048]")
    'ike=aes256-sha2_256-modp2048'
    """
    remote = remote.strip()
    if remote.startswith("["):  # IKEv1: Oakley Transform [ENCR (bits), HASH, GROUP]
        parts = [p.strip() for p in remote.strip("[]").split(",")]
        if len(parts) != 3:
            return None
        enc = re.sub(r"\s*\((\d+)\)", r"_\1", parts[0])
        tokens = [_encr(enc) or _encr(parts[0].split()[0]), _HASH.get(parts[1]), _dh(parts[2])]
        return "ike=" + "-".join(tokens) if all(tokens) else None
    first = remote.split()[0]
    m = re.match(r"\d+:(IKE|ESP|AH):(.*)", first)
    if not m:
        return None
    proto, fields = m.group(1), {}
    for item in m.group(2).removesuffix("[first-match]").split(";"):
        key, _, value = item.partition("=")
        fields.setdefault(key, value)  # the first of each kind is the peer's preference
    enc = _encr(fields.get("ENCR", "")) if "ENCR" in fields else None
    integ = _HASH.get(fields.get("INTEG", "")) or (_HASH.get(fields.get("PRF", "")) if proto == "IKE" else None)
    if proto == "IKE" and enc and "gcm" in enc and not integ:
        integ = _HASH.get(fields.get("PRF", ""))
    dh = _dh(fields.get("DH", "")) if fields.get("DH") not in (None, "NONE") else None
    tokens = [t for t in (enc, integ, dh) if t]
    if proto != "AH" and not enc:
        return None
    return f"{'ike' if proto == 'IKE' else proto.lower()}=" + "-".join(tokens)
