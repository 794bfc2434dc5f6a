"""A hostile secrets corpus with FRESH random values on every run, and a detector for every encoding.

The forms come from ipsec.secrets(5), pluto's lexer (Libreswan 3.x-5.x), the Libreswan test
suite's ``testing/pluto/*/*.secrets`` files and what users post: quoted (double, single,
backquote), 0x (with ``_``), 0s, 0t (with blanks, running to the end of the line), entries
split over continuation lines with comment lines inside, commented-out old entries (also right
after a comment line, and in a BOM-started file), ``:PSK`` glued to the colon, XAUTH/EAP/NTLM/PIN
(``%smartcard:45`` is NOT secret), PPKS ids vs values, ``: RSA { }`` blocks, Openswan key files
with passphrases, an unparseable entry, includes by glob and relative path, ``secretsfile=``.
The same values are echoed in pluto logs (3.x row-labelled dumps, 4.x/5.x dumps, helper
threads), journal JSON (escaped), hex, base64, NetworkManager connections and ipsec.conf.
"""
from __future__ import annotations

import base64
import json
import random
import re
import string

ALPHABET = string.ascii_letters + string.digits + "-_.!%+=,;~"


def rand_text(rng: random.Random, n: int, *, extra: str = "") -> str:
    return "".join(rng.choice(ALPHABET + extra) for _ in range(n))


def forms(data: bytes) -> set[bytes]:
    """Every encoding of *data* that must not appear: raw, JSON-escaped, hex (plain and with
    pluto's separators), base64 (padded or not, URL alphabet), and the 0x/0s/0t spellings."""
    out = {data}
    try:
        text = data.decode()
        out.add(json.dumps(text)[1:-1].encode())
        out.add(json.dumps(text, ensure_ascii=False)[1:-1].encode())
    except UnicodeDecodeError:
        pass
    hexed = data.hex()
    pairs = [hexed[i:i + 2] for i in range(0, len(hexed), 2)]
    out |= {hexed.encode(), " ".join(pairs).encode(), ":".join(pairs).encode(), b"0x" + hexed.encode()}
    b64 = base64.b64encode(data)
    out |= {b64, b64.rstrip(b"="), base64.urlsafe_b64encode(data).rstrip(b"="), b"0s" + b64, b"0t" + data}
    return {f for f in out if len(f) >= 6}


_DUMP_ROW = re.compile(rb"(?:^|\s)((?:[0-9a-fA-F]{2}[ \t]{1,2}){1,}[0-9a-fA-F]{2})(?=\s|$)", re.MULTILINE)


def hex_stream(data: bytes) -> bytes:
    """Every run of spaced hex pairs, joined: a secret dumped over several rows (any label) reassembled."""
    return b"".join(re.sub(rb"\s+", b"", m) for m in _DUMP_ROW.findall(data)).lower()


def decode_member(data: bytes) -> list[bytes]:
    """A member as stored and as JSON-decoded strings (manifest, journal records)."""
    views = [data, data.lower(), hex_stream(data)]
    for line in data.splitlines():
        line = line.strip()
        if line.startswith((b"{", b"[")):
            try:
                views.append(json.dumps(json.loads(line), ensure_ascii=False).encode())
            except (ValueError, RecursionError):
                pass
    try:
        views.append(json.dumps(json.loads(data), ensure_ascii=False).encode())
    except (ValueError, RecursionError):
        pass
    return views


def leaked(members: dict[str, bytes], secrets: list[bytes]) -> list[str]:
    """(member: secret) for every secret found in any encoding in any member."""
    found = []
    for name, data in members.items():
        views = decode_member(data)
        lowered = [v.lower() for v in views]
        for secret in secrets:
            needles = forms(secret)
            if any(n in v for v in views for n in needles) or any(n.lower() in v for v in lowered
                                                                   for n in needles if re.fullmatch(rb"[0-9a-fA-F: x]+", n)):
                found.append(f"{name}: {secret[:3]!r}...")
    return found


class Corpus:
    """Writes a fake host's files into *root* with fresh random secrets; ``secrets`` lists them."""

    def __init__(self, root, seed: int | None = None):
        self.rng = random.Random(seed)
        self.root = root
        self.secrets: list[bytes] = []
        self.ids: list[str] = []  # IDs that must stay (without --obfuscate) and go (with it)

    def value(self, n: int | None = None, extra: str = "") -> str:
        v = rand_text(self.rng, n or self.rng.randint(12, 40), extra=extra)
        self.secrets.append(v.encode())
        return v

    def raw(self, n: int) -> bytes:
        v = bytes(self.rng.getrandbits(8) for _ in range(n))
        self.secrets.append(v)
        return v

    def build(self) -> dict[str, str]:
        r, v = self.rng, self.value
        d = self.root
        (d / "ipsec.d").mkdir()
        (d / "ipsec.d" / "policies").mkdir()
        host = f"gw{r.randint(1, 99)}.branch-{r.randint(1, 999)}.{r.choice(['pt', 'ie', 'ro', 'co.uk', 'museum', 'xn--p1ai', 'corp'])}"
        org = f"Org{''.join(r.choice(string.ascii_letters + string.digits) for _ in range(6))} Lda"
        user = f"u{r.randint(100, 999)}x"
        dn = f"C=PT, ST=Lisboa, O={org}, OU=Net Ops, CN={host}, E=ops@{host}"
        keyid = "@#0x" + "".join(r.choice("0123456789abcdef") for _ in range(20))
        v4a, v4b = f"203.0.113.{r.randint(2, 250)}", f"198.51.100.{r.randint(2, 250)}"
        v6 = f"2001:db8:{r.randint(1, 0xfff):x}::{r.randint(1, 0xfff):x}"
        self.ids = [f"@vpn-gw{r.randint(1, 9)}", f"{user}@{host}", host, org, keyid, v4a, v6, user]
        hub = f"vpn-hub-{r.randint(10, 99)}"
        # more names that --obfuscate must leave nowhere (single-label host, syslog host, nickname, IDs)
        self.names = [v4b, hub, "rhel7-gw", f"{host}-nick", "@ntlm-u", "@abs-id",
                      f"{v6}/64".split("/")[0]]
        hexkey = self.raw(r.randint(16, 40)).hex()
        b64key = base64.b64encode(self.raw(r.randint(16, 40))).decode()
        unicode_psk = v(14) + "ü€\"\\"
        self.secrets.append(unicode_psk.encode())
        spaced = v(10) + " " + v(10)
        self.secrets.append(spaced.encode())
        text_psk = v(16) + " with blanks # not a comment"
        self.secrets.append(text_psk.encode())
        rsa_priv = "0x" + self.raw(64).hex()
        secrets = f"""\ufeff# stock comment with a BOM: still a comment
include ipsec.d/*.secrets
include {d / 'ipsec.d' / 'absolute.inc'}
{self.ids[0]} {host} : PSK "{unicode_psk}"
{v4a} {v6} : PSK '{spaced}'
%any {v4b}: PSK 0x{hexkey[:8]}_{hexkey[8:]}
{self.ids[0]} %any6 : PSK 0s{b64key}
@t-{r.randint(1, 9)} :PSK 0t{text_psk}
# an old key, commented out twice over
#{self.ids[0]} {v4a}: PSK "{v()}"
  # indented comment: #@x : XAUTH "{v()}"
{dn.join('""')} {keyid} :
  # a comment line inside the entry
\tPSK "{v()}"
@{user} : XAUTH "{v()}"
{user}@{host} : EAP '{v()}'
@ntlm-u : NTLM `{v()}`
: PIN %smartcard:45 "{v(8)}"
@{host} : PPKS "ppk-id-{r.randint(1, 99)}" 0x{self.raw(32).hex()}
: PPKS 'ppk-quoted' "{v()}"
: RSA {{
\t# RSA 2048 bits   {host}
\tModulus: {rsa_priv}
\tPrivateExponent: 0x{self.raw(64).hex()}
\tPrime1: 0s{base64.b64encode(self.raw(32)).decode()}
\t}}
: RSA /etc/ipsec.d/private/{host}.key "{v()}"
: RSA "{host}-nick"
: RSA %prompt
{self.ids[0]} {v4b} : FROB "{v()}"
{v4b} garbled {v()}
"""
        (d / "real.secrets").write_text(secrets, encoding="utf-8")
        (d / "ipsec.d" / "a.secrets").write_text(f"@inc-{r.randint(1, 9)} : PSK \"{v()}\" # trailing\n")
        (d / "ipsec.d" / "absolute.inc").write_text(f"@abs-id : XAUTH 0t{v()}\n")
        nss = v()
        (d / "nsspassword").write_text(f"NSS Certificate DB:{nss}\n")
        nm_psk, nm_xauth = v(), v()
        (d / "nm").mkdir()
        (d / "nm" / "acme.nmconnection").write_text(
            f"[connection]\nid=Acme\ntype=vpn\n\n[vpn]\nservice-type=org.freedesktop.NetworkManager.libreswan\n"
            f"right={host}\nleftid={self.ids[0]}\npskvalue={nm_psk}\npskvalue-flags=0\nleftxauthusername={user}\n"
            f"xauthpassword={nm_xauth}\n\n[vpn-secrets]\npskvalue={nm_psk}\nxauthpassword={nm_xauth}\n"
            f"extra={v()}\n")
        conf_pw = v()
        (d / "ipsec.conf").write_text(
            f"config setup\n\tsecretsfile={d / 'real.secrets'}\n\tlogfile={d / 'pluto.log'}\n\tnssdir={d}\n"
            f"conn acme\n\tleft={v4a}\n\tleftid={self.ids[0]}\n\tright={host}\n\trightid=\"{dn}\"\n"
            f"\tleftcert={host}-nick\n\tleftxauthusername={user}\n\txauthpassword={conf_pw}\n"
            f"\tleftsubnet=10.{r.randint(0, 255)}.0.0/16\n\trightsubnet={v6}/64\n\tauthby=secret\n"
            f"conn hub\n\tright={hub}\n\tauthby=secret\n")
        (d / "ipsec.d" / "policies" / "private").write_text(f"{v4b}/32\n")
        leaked_psk = unicode_psk
        dump = self.raw(24)
        rows3 = [f"Nov 30 10:00:0{i} rhel7-gw pluto[4321]: | PSK  " + "  ".join(
            " ".join(f"{b:02x}" for b in dump[j:j + 4]) for j in range(k, min(k + 16, len(dump)), 4))
            for i, k in enumerate(range(0, len(dump), 16))]
        dump4 = self.raw(20)
        rows4 = [f"Nov 30 10:00:10.000001: |   " + "  ".join(
            " ".join(f"{b:02x}" for b in dump4[j:j + 4]) for j in range(k, min(k + 16, len(dump4)), 4)) + "   ...."
            for k in range(0, len(dump4), 16)]
        helper = self.raw(18)
        log = "\n".join([
            f'Nov 30 10:00:00 rhel7-gw pluto[4321]: "acme" #1: initiating Main Mode to {v4b}:500 ID_FQDN \'{self.ids[0]}\'',
            *rows3,
            "Nov 30 10:00:10.000000: | PreShared Key",
            *rows4,
            "Nov 30 10:00:11.000000: ] helper thread 1: g^ir",
            f"Nov 30 10:00:11.000001: ]   {' '.join(f'{b:02x}' for b in helper)}",
            f"Nov 30 10:00:12 rhel7-gw pluto[4321]: XAUTH: User {user}: Authentication Successful",
            f'"acme": 10.1.0.0/16==={v4a}[{self.ids[0]}]...{v4b}[{dn}]==={v6}/64; erouted',
            f"Nov 30 10:00:13 rhel7-gw pluto[4321]: received from {v6}:500 [{v6}]:4500",
            f"Nov 30 10:00:14 rhel7 sudo: admin typed {leaked_psk} and {leaked_psk.encode().hex()}",
            json.dumps({"MESSAGE": f"echo {leaked_psk} {base64.b64encode(leaked_psk.encode()).decode()}",
                        "_COMM": "bash"}),
            json.dumps({"MESSAGE": f"nss {nss} nm {nm_psk} conf {conf_pw}", "_COMM": "pluto"}, ensure_ascii=True),
            f"Nov 30 10:00:15 rhel7-gw pluto[4321]: | ppk 0x{self.secrets[-1].hex()}",
            f"Nov 30 10:00:16 rhel7-gw pluto[4321]: loaded {text_psk}",
            # pluto's own XAUTH debug lines print the password (passwd-file users: never in a secrets file)
            f"Nov 30 10:00:17 rhel7-gw pluto[4321]: | XAUTH: found user({user}/{user}) pass({v()}) connid(acme/acme) "
            f"addresspool(10.9.0.1-10.9.0.9)",
            f"Nov 30 10:00:18 rhel7-gw pluto[4321]: | XAUTH: xauth user({user}:acme) pass {v()} vs $6$salt$hash",
            json.dumps({"MESSAGE": "whack", "_CMDLINE": f"ipsec whack --name acme --xauthpass {v()} --initiate"}),
            "",
        ])
        (d / "pluto.log").write_text(log)
        (d / "hosts").write_text(f"{v4a} {host} {hub}\n")
        return {"config": str(d / "ipsec.conf"), "nm": str(d / "nm"), "host": host, "org": org, "dn": dn}
