"""ike=/esp= lines as pluto expands them, each release's defaults, and what may be negotiated.

A proposal is four sets of transform names (encryption, PRF, integrity, DH group) in IANA-style
names (``AES_GCM_16_256``, ``HMAC_SHA2_256``, ``MODP2048``, ``DH19``), the way pluto prints them
in ``ipsec status`` ("IKE algorithms: ..."). Two ends agree when one proposal of each has at
least one transform of every kind in common, which is how a responder picks (RFC 7296 §3.3.6).

The defaults are facts read from Libreswan's sources (lib/libswan/ike_info.c, esp_info.c at
v4.10 and v5.0) and the resolved crypto-policy lines in Libreswan's own test
``testing/pluto/addconn-23-fedora-crypto-policies`` (what ``ipsec status`` shows for the DEFAULT,
FIPS, FUTURE and LEGACY policies); written here as data, not code.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..compat import SLOTS


@dataclass(frozen=True, **SLOTS)
class Proposal:
    encr: tuple[str, ...]
    prf: tuple[str, ...]
    integ: tuple[str, ...]
    dh: tuple[str, ...]

    def text(self) -> str:
        parts = ["+".join(self.encr)]
        if self.integ and self.integ != ("NONE",):
            parts.append("+".join(self.integ))
        elif self.prf:
            parts.append("+".join(self.prf))
        if self.dh:
            parts.append("+".join(self.dh))
        return "-".join(parts)


@dataclass(frozen=True, **SLOTS)
class Parsed:
    proposals: tuple[Proposal, ...]
    unknown: tuple[str, ...]  # tokens no Libreswan release knows
    removed: tuple[str, ...]  # tokens the release named does not build by default
    invalid: tuple[str, ...] = ()  # combinations pluto refuses (an AEAD cipher with an integrity algorithm in esp=)

    @property
    def refused(self) -> bool:
        """pluto refuses to load a conn whose line has any of these (seen with 4.10 in the lab)."""
        return bool(self.unknown or self.removed or self.invalid)


AEAD = ("AES_GCM", "AES_CCM", "CHACHA20_POLY1305")
_BITS = {"a": 8, "b": 12, "c": 16, "8": 8, "12": 12, "16": 16}

_PRF = {"md5": "HMAC_MD5", "sha1": "HMAC_SHA1", "sha": "HMAC_SHA1", "sha2": "HMAC_SHA2_256",
        "sha256": "HMAC_SHA2_256", "sha2_256": "HMAC_SHA2_256", "sha384": "HMAC_SHA2_384",
        "sha2_384": "HMAC_SHA2_384", "sha512": "HMAC_SHA2_512", "sha2_512": "HMAC_SHA2_512",
        "aes_xcbc": "AES_XCBC", "aes128_xcbc": "AES_XCBC"}
_INTEG_OF_PRF = {"HMAC_MD5": "HMAC_MD5_96", "HMAC_SHA1": "HMAC_SHA1_96", "HMAC_SHA2_256": "HMAC_SHA2_256_128",
                 "HMAC_SHA2_384": "HMAC_SHA2_384_192", "HMAC_SHA2_512": "HMAC_SHA2_512_256",
                 "AES_XCBC": "AES_XCBC_96"}
_INTEG_ONLY = {"aes_cmac": "AES_CMAC_96", "sha2_256_96": "HMAC_SHA2_256_96", "sha1_96": "HMAC_SHA1_96",
               "sha2_256_128": "HMAC_SHA2_256_128", "sha2_384_192": "HMAC_SHA2_384_192",
               "sha2_512_256": "HMAC_SHA2_512_256", "null": "NONE", "none": "NONE"}
_DH = {"modp768": "MODP768", "modp1024": "MODP1024", "modp1536": "MODP1536", "modp2048": "MODP2048",
       "modp3072": "MODP3072", "modp4096": "MODP4096", "modp6144": "MODP6144", "modp8192": "MODP8192",
       "dh1": "MODP768", "dh2": "MODP1024", "dh5": "MODP1536", "dh14": "MODP2048", "dh15": "MODP3072",
       "dh16": "MODP4096", "dh17": "MODP6144", "dh18": "MODP8192", "dh19": "DH19", "ecp256": "DH19",
       "ecp_256": "DH19", "dh20": "DH20", "ecp384": "DH20", "ecp_384": "DH20", "dh21": "DH21",
       "ecp521": "DH21", "ecp_521": "DH21", "dh22": "DH22", "dh23": "DH23", "dh24": "DH24",
       "dh31": "DH31", "curve25519": "DH31", "none": "NONE", "null": "NONE", "dh0": "NONE"}
# Algorithms that Libreswan 4.x/5.x no longer build by default (USE_DH2/DH22/23/24 off; 768-bit,
# DES, Blowfish, Serpent, Twofish, CAST gone): pluto refuses a line naming them.
NOT_BUILT = {"MODP768", "MODP1024", "DH22", "DH23", "DH24", "DES", "BLOWFISH", "SERPENT", "TWOFISH", "CAST"}
# Disabled in FIPS mode (RHEL 9 guide §4.8, `ipsec pluto --selftest | grep disabled`).
FIPS_DISABLED = {"CAMELLIA_CTR", "CAMELLIA_CBC", "NULL", "CHACHA20_POLY1305", "HMAC_MD5", "HMAC_MD5_96",
                 "AES_XCBC", "AES_XCBC_96", "MODP1536", "DH31"}


def _encr(token: str) -> tuple[str, ...] | None:
    """Encryption transforms for one ike=/esp= token, all key lengths it stands for."""
    t = token.lower()
    m = re.fullmatch(r"aes(?:_cbc)?_?(\d+)?", t)
    if m:
        return _lengths("AES_CBC", m.group(1))
    m = re.fullmatch(r"aes_?ctr_?(\d+)?", t)
    if m:
        return _lengths("AES_CTR", m.group(1))
    m = re.fullmatch(r"aes_?(gcm|ccm)(?:_?([abc]|8|12|16)(?=_|$|\d{3}))?_?(\d+)?", t)
    if m:
        bits = _BITS[m.group(2)] if m.group(2) else 16
        return _lengths(f"AES_{m.group(1).upper()}_{bits}", m.group(3))
    m = re.fullmatch(r"aes(\d+)?_?gcm(8|12|16)?", t)  # strongSwan spelling some admins carry over
    if m:
        return _lengths(f"AES_GCM_{m.group(2) or 16}", m.group(1))
    m = re.fullmatch(r"camellia(?:_cbc)?_?(\d+)?", t)
    if m:
        return _lengths("CAMELLIA_CBC", m.group(1))
    m = re.fullmatch(r"camellia_?ctr_?(\d+)?", t)
    if m:
        return _lengths("CAMELLIA_CTR", m.group(1))
    m = re.fullmatch(r"aes_gmac_?(\d+)?", t)
    if m:
        return _lengths("NULL_AUTH_AES_GMAC", m.group(1))
    simple = {"3des": "3DES", "3des_cbc": "3DES", "chacha20_poly1305": "CHACHA20_POLY1305",
              "chacha20poly1305": "CHACHA20_POLY1305", "null": "NULL", "des": "DES", "blowfish": "BLOWFISH",
              "serpent": "SERPENT", "twofish": "TWOFISH", "cast": "CAST", "cast128": "CAST"}
    return (simple[t],) if t in simple else None


def _lengths(base: str, bits: str | None) -> tuple[str, ...]:
    # Without a key length pluto proposes 256 and 128 (ike_info.c/esp_info.c "add both").
    return (f"{base}_{bits}",) if bits else (f"{base}_256", f"{base}_128")


def is_aead(encr: str) -> bool:
    return encr.startswith(AEAD)


@dataclass(frozen=True, **SLOTS)
class Defaults:
    proposals: tuple[str, ...]  # encryption transforms, one proposal each
    prf: tuple[str, ...]
    integ: tuple[str, ...]
    dh: tuple[str, ...]


_V2_GROUPS_4 = ("MODP2048", "MODP3072", "MODP4096", "MODP8192", "DH19", "DH20", "DH21", "DH31")
_V2_GROUPS_5 = ("DH19", "DH20", "DH21", "DH31", "MODP4096", "MODP3072", "MODP2048", "MODP8192")
DEFAULTS = {
    # (major version, "ike"/"esp", IKE version)
    (4, "ike", 2): Defaults(("AES_GCM_16_256", "AES_GCM_16_128", "AES_CBC_256", "AES_CBC_128"),
                            ("HMAC_SHA2_512", "HMAC_SHA2_256"), (), _V2_GROUPS_4),
    (5, "ike", 2): Defaults(("AES_GCM_16_256", "AES_GCM_16_128", "CHACHA20_POLY1305", "AES_CBC_256", "AES_CBC_128"),
                            ("HMAC_SHA2_512", "HMAC_SHA2_256"), (), _V2_GROUPS_5),
    (4, "ike", 1): Defaults(("AES_CBC_256", "AES_CBC_128", "3DES"), ("HMAC_SHA2_256", "HMAC_SHA2_512", "HMAC_SHA1"),
                            (), ("MODP2048", "MODP1536")),
    (5, "ike", 1): Defaults(("AES_CBC_256", "AES_CBC_128", "3DES"), ("HMAC_SHA2_256", "HMAC_SHA2_512", "HMAC_SHA1"),
                            (), ("MODP2048", "MODP1536", "DH19", "DH31")),
    (4, "esp", 2): Defaults(("AES_GCM_16_256", "AES_GCM_16_128", "AES_CBC_256", "AES_CBC_128"), (),
                            ("HMAC_SHA2_512_256", "HMAC_SHA2_256_128"), ()),
    (5, "esp", 2): Defaults(("AES_GCM_16_256", "AES_GCM_16_128", "CHACHA20_POLY1305", "AES_CBC_256", "AES_CBC_128"),
                            (), ("HMAC_SHA2_512_256", "HMAC_SHA2_256_128"), ()),
    (4, "esp", 1): Defaults(("AES_CBC_256", "AES_CBC_128"), (), ("HMAC_SHA1_96",), ()),
    (5, "esp", 1): Defaults(("AES_CBC_256", "AES_CBC_128", "AES_GCM_16_128", "AES_GCM_16_256", "3DES"), (),
                            ("HMAC_SHA1_96", "HMAC_SHA2_512_256", "HMAC_SHA2_256_128"), ()),
}


def defaults(version: int, kind: str, ike_version: int) -> Defaults:
    return DEFAULTS[(5 if version >= 5 else 4, kind, 1 if ike_version == 1 else 2)]


def default_proposals(version: int, kind: str, ike_version: int) -> tuple[Proposal, ...]:
    d = defaults(version, kind, ike_version)
    out = []
    for encr in d.proposals:
        if kind == "ike":
            integ = ("NONE",) if is_aead(encr) else tuple(_INTEG_OF_PRF[p] for p in d.prf)
            out.append(Proposal((encr,), d.prf, integ, d.dh))
        else:
            out.append(Proposal((encr,), (), ("NONE",) if is_aead(encr) else d.integ, ()))
    return tuple(out)


def parse_line(line: str, kind: str, version: int, ike_version: int) -> Parsed:
    """Expand an ike= or esp= value into proposals, filling what it leaves out from the defaults.

    >>> p = parse_line("aes256-sha2_256-modp2048", "ike", 4, 2).proposals[0]
    >>> p.encr, p.prf, p.integ, p.dh
    (('AES_CBC_256',), ('HMAC_SHA2_256',), ('HMAC_SHA2_256_128',), ('MODP2048',))
    >>> [q.text() for q in parse_line("aes_gcm256,aes128-sha1", "esp", 4, 2).proposals]
    ['AES_GCM_16_256', 'AES_CBC_128-HMAC_SHA1_96']
    >>> parse_line("aes-sha1;modp1024,blurb", "ike", 4, 1).removed, parse_line("aes-sha1,blurb", "ike", 4, 1).unknown
    (('modp1024',), ('blurb',))
    """
    d = defaults(version, kind, ike_version)
    proposals, unknown, removed, invalid = [], [], [], []
    for text in line.split(","):
        text = text.strip().rstrip("!").strip()
        if not text:
            continue
        encr: list[str] = []
        prf: list[str] = []
        integ: list[str] = []
        dh: list[str] = []
        bad = False
        for group in re.split(r"[-;]", text):
            for token in group.split("+"):
                token = token.strip().lower()
                if not token:
                    continue
                found = _encr(token)
                if found and not (token == "null" and encr):
                    encr.extend(found)
                    if set(found) & NOT_BUILT:
                        removed.append(token)
                    continue
                if token in _PRF and kind == "ike":
                    prf.append(_PRF[token])
                elif token in _PRF:
                    integ.append(_INTEG_OF_PRF[_PRF[token]])
                elif token in _INTEG_ONLY:
                    integ.append(_INTEG_ONLY[token])
                elif token in _DH:
                    dh.append(_DH[token])
                    if _DH[token] in NOT_BUILT:
                        removed.append(token)
                else:
                    unknown.append(token)
                    bad = True
        if bad or not encr:
            continue
        if kind == "esp" and any(is_aead(e) for e in encr) and [i for i in integ if i != "NONE"]:
            invalid.append(f"{text}: an AEAD cipher takes no integrity algorithm in esp= (write e.g. aes_gcm256)")
        for e in dict.fromkeys(encr):
            if kind == "ike":
                p_prf = tuple(prf) or d.prf
                p_integ = ("NONE",) if is_aead(e) else (tuple(integ) or tuple(_INTEG_OF_PRF.get(p, p) for p in p_prf))
                proposals.append(Proposal((e,), p_prf, p_integ, tuple(dh) or d.dh))
            else:
                p_integ = ("NONE",) if is_aead(e) else (tuple(i for i in integ if i != "NONE") or d.integ)
                proposals.append(Proposal((e,), (), p_integ, tuple(d for d in dh if d != "NONE")))
    return Parsed(tuple(proposals), tuple(dict.fromkeys(unknown)), tuple(dict.fromkeys(removed)),
                  tuple(dict.fromkeys(invalid)))


def agree(initiator: tuple[Proposal, ...], responder: tuple[Proposal, ...], *, use_dh: bool = True) -> Proposal | None:
    """The first of the initiator's proposals the responder can accept (as a proposal of both), or None.

    >>> a = parse_line("aes256-sha2_256-modp2048", "ike", 4, 2).proposals
    >>> b = parse_line("aes128-sha2_512-dh19", "ike", 4, 2).proposals
    >>> agree(a, b) is None, agree(a, default_proposals(4, "ike", 2)).text()
    (True, 'AES_CBC_256-HMAC_SHA2_256_128-MODP2048')
    """
    for mine in initiator:
        for theirs in responder:
            encr = [e for e in mine.encr if e in theirs.encr]
            prf = [p for p in mine.prf if p in theirs.prf] if mine.prf or theirs.prf else []
            integ = [i for i in mine.integ if i in theirs.integ]
            dh = [g for g in mine.dh if g in theirs.dh] if use_dh and (mine.dh or theirs.dh) else []
            if not encr or not integ:
                continue
            if (mine.prf or theirs.prf) and not prf:
                continue
            if use_dh and (mine.dh or theirs.dh) and not dh:
                continue
            return Proposal((encr[0],), tuple(prf[:1]), (integ[0],), tuple(dh[:1]))
    return None


def fips_disabled(proposals: tuple[Proposal, ...]) -> list[str]:
    names = []
    for p in proposals:
        for name in p.encr + p.prf + p.integ + p.dh:
            base = re.sub(r"_(\d+)$", "", name) if name.startswith("CAMELLIA") else name
            if name in FIPS_DISABLED or base in FIPS_DISABLED:
                names.append(name)
    return list(dict.fromkeys(names))


# --------------------------------------------------------------------------- crypto policies
# What each system-wide crypto policy makes a conn propose when it leaves ike=/esp= to the
# policy's %default (Libreswan's addconn-23-fedora-crypto-policies test, "ipsec status").

def _policy(ike: str, esp: str) -> dict[str, tuple[Proposal, ...]]:
    def props(text: str, kind: str) -> tuple[Proposal, ...]:
        out = []
        for part in text.split(", "):
            fields = part.split("-")
            encr = (fields[0],)
            if kind == "ike":
                prf = tuple(fields[1].split("+"))
                integ = ("NONE",) if is_aead(fields[0]) else tuple(_INTEG_OF_PRF[p] for p in prf)
                out.append(Proposal(encr, prf, integ, tuple(fields[2].split("+"))))
            else:
                integ = ("NONE",) if len(fields) == 1 else tuple(fields[1].split("+"))
                out.append(Proposal(encr, (), integ, ()))
        return tuple(out)
    return {"ike": props(ike, "ike"), "esp": props(esp, "esp")}


_G = "DH19+MODP2048+DH31+DH21+DH20+MODP3072+MODP4096+MODP8192"
_P = "HMAC_SHA2_512+HMAC_SHA2_256"
CRYPTO_POLICIES = {
    "DEFAULT": _policy(f"AES_GCM_16_256-{_P}-{_G}, CHACHA20_POLY1305-{_P}-{_G}, AES_CBC_256-{_P}-{_G}, "
                       f"AES_GCM_16_128-{_P}-{_G}, AES_CBC_128-HMAC_SHA2_256-{_G}",
                       "AES_GCM_16_256, CHACHA20_POLY1305, AES_CBC_256-HMAC_SHA2_512_256+HMAC_SHA1_96+"
                       "HMAC_SHA2_256_128, AES_GCM_16_128, AES_CBC_128-HMAC_SHA1_96+HMAC_SHA2_256_128"),
    "FIPS": _policy(f"AES_GCM_16_256-{_P}-{_G.replace('+DH31', '')}, AES_CBC_256-{_P}-{_G.replace('+DH31', '')}, "
                    f"AES_GCM_16_128-{_P}-{_G.replace('+DH31', '')}, AES_CBC_128-HMAC_SHA2_256-{_G.replace('+DH31', '')}",
                    "AES_GCM_16_256, AES_CBC_256-HMAC_SHA2_512_256+HMAC_SHA1_96+HMAC_SHA2_256_128, AES_GCM_16_128, "
                    "AES_CBC_128-HMAC_SHA1_96+HMAC_SHA2_256_128"),
}
