"""Keys and certificates for the lab, made with Libreswan's and NSS's own tools.

* raw RSA: ``ipsec newhostkey`` into each daemon's NSS database, public key read back
  with ``ipsec showhostkey --left/--right`` for ``leftrsasigkey=``/``rightrsasigkey=``.
* X.509: a throwaway CA made with ``certutil`` in a scratch NSS database; end-entity
  certificates for west and east are exported with ``pk12util`` and imported into each
  daemon's database, which also gets the CA certificate with trust ``CT,,``.
"""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

from .daemon import init_nss

CA_NICK = "swandoc-lab-ca"
ROGUE_CA_NICK = "swandoc-lab-other-ca"


def _run(argv: list[str], stdin: str | None = None) -> str:
    result = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {result.stderr.strip() or result.stdout.strip()}")
    return result.stdout


def new_raw_rsa_key(nssdir: Path) -> str:
    """Make a raw RSA host key in *nssdir*; return its CKAID (4.10 wants at least 2192 bits)."""
    out = _run(["ipsec", "newhostkey", "--nssdir", str(nssdir), "--keytype", "rsa", "--bits", "3072"])
    out += _run(["ipsec", "showhostkey", "--nssdir", str(nssdir), "--list"])
    match = re.findall(r"ckaid[: ]+([0-9a-f]{40})", out, re.IGNORECASE)
    if not match:
        raise RuntimeError(f"no CKAID in ipsec newhostkey/showhostkey output: {out!r}")
    return match[-1]


def raw_rsa_pubkey(nssdir: Path, ckaid: str) -> str:
    """The base64 public key value (``0s...``) for ``leftrsasigkey=``."""
    out = _run(["ipsec", "showhostkey", "--nssdir", str(nssdir), "--left", "--ckaid", ckaid])
    match = re.search(r"rsasigkey=(\S+)", out)
    if not match:
        raise RuntimeError(f"no rsasigkey in showhostkey output: {out!r}")
    return match.group(1)


def _noise(path: Path) -> Path:
    path.write_bytes(Path("/dev/urandom").open("rb").read(2048))
    return path


def _make_ca(cadir: Path, nick: str, subject: str, bits: int) -> None:
    # certutil asks for the basic constraints interactively; answer: CA=yes, no path
    # length limit, critical=yes.
    _run(["certutil", "-S", "-d", f"sql:{cadir}", "-n", nick, "-s", subject, "-x", "-t", "CT,C,C",
          "-k", "rsa", "-g", str(bits), "-v", "12", "-z", str(_noise(cadir / "noise")),
          "-m", str(abs(hash(nick)) % 100000 + 1), "-2", "--keyUsage", "certSigning,crlSigning"],
         stdin="y\n\ny\n")


def _issue(cadir: Path, ca_nick: str, nick: str, bits: int, serial: int) -> None:
    _run(["certutil", "-S", "-d", f"sql:{cadir}", "-n", nick, "-s", f"CN={nick}, O=swandoc lab",
          "-c", ca_nick, "-t", ",,", "-k", "rsa", "-g", str(bits), "-v", "12",
          "-z", str(_noise(cadir / "noise")), "-m", str(serial),
          "--extSAN", f"dns:{nick}.lab.example",
          "--keyUsage", "digitalSignature,keyEncipherment"])


def _install(cadir: Path, nick: str, ca_nick: str, target_nss: Path, trust_ca: str | None) -> None:
    p12 = cadir / f"{nick}.p12"
    _run(["pk12util", "-o", str(p12), "-n", nick, "-d", f"sql:{cadir}", "-W", ""])
    _run(["pk12util", "-i", str(p12), "-d", f"sql:{target_nss}", "-W", ""])
    if trust_ca:
        pem = _run(["certutil", "-L", "-d", f"sql:{cadir}", "-n", trust_ca, "-a"])
        (cadir / f"{trust_ca}.pem").write_text(pem)
        _run(["certutil", "-A", "-d", f"sql:{target_nss}", "-n", trust_ca, "-t", "CT,,",
              "-a", "-i", str(cadir / f"{trust_ca}.pem")])


def make_x509(workdir: Path, west_nss: Path, east_nss: Path, *, untrusted_west: bool,
              bits: int = 2048) -> None:
    """Issue certificates ``west`` and ``east`` and install them into the daemons' databases.

    With *untrusted_west*, west's certificate comes from a second CA that east never sees,
    so east cannot build a chain for it.
    """
    cadir = workdir / "ca"
    init_nss(cadir)
    _make_ca(cadir, CA_NICK, "CN=swandoc lab CA, O=swandoc lab", bits)
    west_ca = CA_NICK
    if untrusted_west:
        _make_ca(cadir, ROGUE_CA_NICK, "CN=swandoc lab other CA, O=swandoc lab", bits)
        west_ca = ROGUE_CA_NICK
    _issue(cadir, west_ca, "west", bits, 101)
    _issue(cadir, CA_NICK, "east", bits, 102)
    for nss in (west_nss, east_nss):
        init_nss(nss)
    # pk12util brings the issuing CA along without trust; set trust explicitly.
    _install(cadir, "west", west_ca, west_nss, trust_ca=CA_NICK)
    _install(cadir, "east", CA_NICK, east_nss, trust_ca=CA_NICK)
