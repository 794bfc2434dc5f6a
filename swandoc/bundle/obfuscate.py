"""``--obfuscate``: hide IP addresses and host names, consistently across a whole bundle.

Design
------
* **Addresses** are mapped with a prefix-preserving permutation (the Crypto-PAn idea): bit *i*
  of the stand-in is bit *i* of the real address XOR a keyed pseudo-random function of the
  first *i* bits. Two addresses that share their first *n* bits still share exactly *n* bits
  afterwards, so every subnet relation survives: hosts of one /24 stay in one /24, a
  ``leftsubnet=10.1.2.0/24`` still contains the address of the host that sits in it, and a
  prefix length (``/24``, ``/64``) is kept as written. The same address always gets the same
  stand-in within a bundle (one random key per bundle, never written into it).
* The **class** of an address is kept, because rules reason about it (private address
  behind NAT, loopback, link-local): inside a special block (10/8, 172.16/12, 192.168/16,
  100.64/10, 169.254/16, fc00::/7, fe80::/10) only the bits below the block's prefix are
  permuted; a public address is permuted over all its bits and re-permuted while it lands in
  a special block. Addresses that identify nobody stay as they are: unspecified, loopback,
  multicast, broadcast, netmasks (255.x), 0.0.0.0/0 and ::/0. Documentation ranges are
  mapped like any other (test hosts and examples use them). An IPv4-mapped IPv6 address maps
  its IPv4 part like the IPv4 address, and every IPv6 notation of one address (compressed,
  full, upper case, ``[..]:port``) gets the same stand-in.
* **Names and IDs, by construction**: a first pass over every member learns names from where
  they are written structurally — ipsec.conf IDs/hosts/cert nicknames/XAUTH user names, the
  IDs of ipsec.secrets, /etc/hosts, certutil's nickname column, pluto's ``ID_FQDN '@x'`` /
  ``[@x]`` / ``XAUTH: User x`` wordings, DNs (each RDN value, organisation names included)
  and certificate SANs; the second pass replaces every learnt name (whole words only) and
  every name-shaped token — any dotted host name with an alphabetic last label, whatever its
  TLD and label count (file names such as ``ipsec.conf``, sysctl keys and unit names are told
  apart by their shape), ``@fqdn``, ``user@domain``, ``@#keyid``, MAC addresses. The same value
  always gets the same stand-in (``host-N.example``, ``@id-N``, ``user-N@host-M.example``,
  ``O=org-N``); the whole of ``2001:db8::1:500`` in a 3.x log is an address and its port.
* The **map** (real -> stand-in) is returned to the caller, who may write it NEXT to the
  bundle for the admin (``FILE.map.json``) — never inside it.
* Binary items (the packet capture) cannot be rewritten safely (IKE ID payloads carry
  addresses inside the packet), so with ``--obfuscate`` the capture is left out and the
  manifest says why.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import re
import socket

_SPECIAL_V4 = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
                                                  "169.254.0.0/16")]
_KEEP_V4 = [ipaddress.ip_network(n) for n in ("0.0.0.0/8", "127.0.0.0/8", "224.0.0.0/3")]
_SPECIAL_V6 = [ipaddress.ip_network(n) for n in ("fc00::/7", "fe80::/10")]
_KEEP_V6 = [ipaddress.ip_network(n) for n in ("::/127", "ff00::/8")]

_V4 = re.compile(r"(?<![\w:])(?:(?<=\.\.\.)|(?<!\.))((?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3})(/\d{1,2}(?!\d))?(?![\w]|\.\d|\.[A-Za-z])")
# Candidate IPv6 tokens; ipaddress decides whether one really is an address.
_V6 = re.compile(r"(?:(?<=\.\.\.)|(?<![\w:.]))((?:[0-9A-Fa-f]{0,4}:){2,8}(?:\d+\.\d+\.\d+\.\d+|[0-9A-Fa-f]{0,4}))(%[\w.-]+)?(/\d{1,3}(?!\d))?(?![\w:])")
# Labels in any script (an IDN such as vpn.münchen.de is a host name too); no '_' (not in host names).
_ALNUM = r"[^\W_]"
_LABEL = _ALNUM + r"(?:(?:" + _ALNUM + r"|-){0,61}" + _ALNUM + r")?"
_HOST = re.compile(r"(?<![\w.@-])((?:" + _LABEL + r"\.)+[^\W\d_](?:" + _ALNUM + r"|-){0,62}" + _ALNUM
                   + r")(?![\w-]|\.\w|\()")
_AT_ID = re.compile(r"(?<![\w.@-])@(#?[\w][\w.:-]*[\w]|#?\w)")
_USER_FQDN = re.compile(r"(?<![\w.+-])([\w.+-]+)@((?:" + _LABEL + r"\.)+[^\W\d_](?:" + _ALNUM + r"|-)*" + _ALNUM
                        + r")(?![\w-]|\.\w)")
_MAC = re.compile(r"(?<![\w:])((?:[0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2})(?![\w:])")
_RDN_KEYS = ("C|ST|S|L|O|OU|CN|E|emailAddress|DC|SN|GN|G|UID|serialNumber|title|street|postalCode|T|I|"
             "initials|pseudonym|name|businessCategory|unstructuredName")
_RDN = re.compile(r"(?<![^\s,/'\"\[=(+])(" + _RDN_KEYS + r")=((?:[^,/'\"\]\n\\+]|[/+](?!(?:" + _RDN_KEYS
                  + r")=)|\\.)+?)(?=\s*(?:,\s*|/|\+)(?:" + _RDN_KEYS + r")=|['\"\]\n)]|\s*$)", re.IGNORECASE | re.MULTILINE)
# Dotted words that are not host names: file names, sysctl keys, units, library symbols.
_NOT_HOST_SUFFIX = {"conf", "secrets", "log", "db", "ctl", "pem", "crt", "cer", "der", "p12", "pfx", "key", "csr",
                    "service", "socket", "target", "timer", "mount", "scope", "slice", "path", "so", "py", "c", "h",
                    "txt", "json", "gz", "xz", "bz2", "zst", "tar", "pcap", "pcapng", "html", "md", "yaml", "yml",
                    "nmconnection", "pid", "sh", "d", "x86_64", "aarch64", "noarch", "rpm", "deb", "lock", "tmp",
                    "old", "bak", "orig", "rej", "xml", "cnf", "ini", "cfg", "sock", "example", "invalid", "fc", "el"}
_NOT_HOST_PREFIX = ("net.ipv4.", "net.ipv6.", "net.core.", "net.netfilter.", "net.unix.", "kernel.", "vm.", "fs.",
                    "crypto.", "user.", "dev.raid.", "org.freedesktop.", "swandoc.", "libreswan.", "ipsec.", "pluto.")
_KEEP_HOSTS = {"libreswan.org", "www.libreswan.org", "example.com", "example.net", "example.org"}
# Where a name stands structurally: config options, pluto's wordings, certificate fields.
_NAME_CONTEXTS = [
    re.compile(r"(?im)^\s*(?:left|right)(?:id|cert|xauthusername|username|ca|ckaid)?\s*=\s*\"?([^\"\n#]*[^\"\n#\s])"),
    re.compile(r"(?im)^\s*(?:xauthusername|username|leftusername|rightusername)\s*=\s*\"?([^\"\n#]*[^\"\n#\s])"),
    re.compile(r"ID_(?:FQDN|USER_FQDN|KEY_ID|DER_ASN1_DN|IPV4_ADDR|IPV6_ADDR)[ =:]+'([^'\n]+)'"),
    # pluto's wordings: "XAUTH: User alice: ...", "... user 'alice'", "user(alice/...)", "user=alice"
    re.compile(r"XAUTH: User ([^\s:']+):"),
    re.compile(r"XAUTH: [^\n]*?\buser[ =]'([^'\n]+)'"),
    re.compile(r"XAUTH: [^\n]*?\buser\(([^/:)\s]+)"),
    re.compile(r"(?:\bDNS|\bemail|\bURI|\bIP Address|\bIP)\s*:\s*([^\s,>]+)"),
    re.compile(r"\[(@[^\]\s,]+)"),
    re.compile(r"(?i)certificate \"([^\"\n]+)\""),
    re.compile(r"(?i)cert(?:ificate)?[ _-]?nick(?:name)?[:= ]+'?\"?([^'\"\n]+)"),
    # the host field of a syslog line ("Nov 30 10:00:00 HOST prog[pid]:", RFC 5424/ISO stamps too)
    re.compile(r"(?m)^(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-]\d\d:?\d\d)?) "
               r"([A-Za-z0-9][\w.-]*) [\w./-]+(?:\[\d+\])?:"),
    re.compile(r'"_HOSTNAME"\s*:\s*"([^"]+)"'),
]
_ANY_WORDS = {"%any", "%any6", "%defaultroute", "%direct", "%opportunistic", "%group", "%none", "%cert", "%fromcert",
              "%myid", "%fromcert", "%same", "%prompt", "%auto", "%bogus", "%okay", "%null", "yes", "no", "any"}


# Words of the software's own output: never replaced as loose words, only where they stand as a
# name (an RDN value, an @ID), or "Libreswan 4.10" and "Root CA" would stop reading.
_VOCABULARY = {"libreswan", "pluto", "ipsec", "nss", "linux", "kernel", "root", "default", "local", "localhost",
               "none", "any", "all", "yes", "no", "vpn", "ike", "esp", "ah", "server", "client", "test", "ca",
               "certificate", "user", "host", "gateway", "debian", "ubuntu", "fedora", "rhel", "centos", "red hat",
               "systemd", "networkmanager", "openswan", "strongswan", "xauth", "psk", "rsa", "ecdsa"}


# Public project and vendor domains name nobody's network (os-release URLs, kernel builders).
_PUBLIC_DOMAINS = ("libreswan.org", "example.com", "example.net", "example.org", "debian.org", "ubuntu.com",
                   "redhat.com", "fedoraproject.org", "centos.org", "rockylinux.org", "almalinux.org",
                   "oracle.com", "suse.com", "opensuse.org", "kernel.org", "gnu.org", "freedesktop.org",
                   "mozilla.org", "launchpad.net")


def _public(name: str) -> bool:
    return name in _KEEP_HOSTS or any(name == d or name.endswith("." + d) for d in _PUBLIC_DOMAINS)


def _stand_in(value: str) -> bool:
    return bool(re.fullmatch(r"@?(?:host|id|user|org|cert|key|rdn|name)-\d+(?:\.example)?|\S+@host-\d+\.example|"
                             r"host-\d+\.example|ZZ", value))


MAX_SEEN_ADDRESSES = 200_000  # addresses remembered for the clash check (a bundle has far fewer)
KEY_TRIES = 64


def _looks_like_address(value: str) -> bool:
    try:
        ipaddress.ip_network(value, strict=False)
        return True
    except ValueError:
        return False


class Obfuscator:
    def __init__(self, key: bytes | None = None, hostnames: tuple[str, ...] | None = None):
        self._key = key or os.urandom(32)
        self.map: dict[str, str] = {}
        names = hostnames if hostnames is not None else _local_names()
        self._local = [n for n in names if n and n not in ("localhost",)]
        self.counts: dict[str, int] = {}
        self._names: dict[str, str] = {}  # lower-case real name -> stand-in
        self._standins: set[str] = set()
        self._sub_cache: dict = {}
        self._addresses: dict = {}  # real -> stand-in (the permutation costs one HMAC per bit)
        self._loose: dict[str, str] = {}  # the names replaced wherever they stand as a word
        self._counters: dict[str, int] = {}
        self._pattern: re.Pattern | None = None
        # Addresses as written in the bundle ((address, /prefix or None)), so a key can be chosen
        # under which no stand-in is itself one of them (a permutation may map 10.2/16 onto 10.1/16).
        self._seen_addresses: set[tuple[str, str | None]] = set()
        self._key_checked = False

    # -- addresses ---------------------------------------------------------
    def _prf_bit(self, prefix_bits: str) -> int:
        return hmac.new(self._key, prefix_bits.encode(), hashlib.sha256).digest()[0] & 1

    def _permute(self, value: int, bits: int, keep: int) -> int:
        out = 0
        text = format(value, f"0{bits}b")
        for i in range(bits):
            bit = int(text[i])
            if i >= keep:
                bit ^= self._prf_bit(f"{bits}:{text[:i]}")
            out = (out << 1) | bit
        return out

    def address(self, addr: ipaddress._BaseAddress) -> ipaddress._BaseAddress:
        cached = self._addresses.get(addr)
        if cached is None:
            cached = self._addresses[addr] = self._address(addr)
        return cached

    def _address(self, addr: ipaddress._BaseAddress) -> ipaddress._BaseAddress:
        v6 = addr.version == 6
        keep_nets, special = (_KEEP_V6, _SPECIAL_V6) if v6 else (_KEEP_V4, _SPECIAL_V4)
        if any(addr in n for n in keep_nets) or (not v6 and int(addr) >> 24 == 255):
            return addr
        bits = 128 if v6 else 32
        for net in special:
            if addr in net:
                return type(addr)(self._permute(int(addr), bits, net.prefixlen))
        value = int(addr)
        for _ in range(16):  # cycle-walk out of special/kept blocks
            value = self._permute(value, bits, 0)
            candidate = type(addr)(value)
            if not any(candidate in n for n in (*special, *keep_nets)) and (v6 or value >> 24 not in (0, 127, 255)):
                return candidate
        return candidate

    def _sub_address(self, text: str, prefix: str | None = None, original: str | None = None) -> str:
        key = (text, prefix, original)
        done = self._sub_cache.get(key)
        if done is None:
            done = self._sub_cache[key] = self._sub_address_once(text, prefix, original)
        self.counts["address"] = self.counts.get("address", 0) + 1
        return done

    def _sub_address_once(self, text: str, prefix: str | None, original: str | None) -> str:
        original = original or text
        try:
            addr = ipaddress.ip_address(text)
        except ValueError:
            return original + (prefix or "")
        mapped = self.address(addr)
        if prefix and mapped != addr:
            # A network written as ADDR/LEN: map its prefix like any host's, keep the host
            # bits as written (usually zero) so it stays a valid network that contains them.
            bits = addr.max_prefixlen
            length = min(int(prefix[1:]), bits)
            mask = ((1 << bits) - 1) ^ ((1 << (bits - length)) - 1)
            mapped = type(addr)((int(mapped) & mask) | (int(addr) & ~mask & ((1 << bits) - 1)))
        new = str(mapped)
        if new != original:
            self.map.setdefault(original + (prefix or ""), new + (prefix or ""))
        return new + (prefix or "")

    def _v6_token(self, token: str, zone: str | None, prefix: str | None) -> str:
        """One IPv6-looking token; ``ADDR:500`` / ``ADDR:4500`` (3.x endpoints) is an address and a port."""
        key = ("v6", token, zone, prefix)
        done = self._sub_cache.get(key)
        if done is None:
            if len(self._sub_cache) > 200_000:  # bounded: timestamps look like v6 candidates too
                self._sub_cache.clear()
            done = self._sub_cache[key] = self._v6_token_once(token, zone, prefix)
        return done

    def _v6_token_once(self, token: str, zone: str | None, prefix: str | None) -> str:
        whole = token + (zone or "") + (prefix or "")
        head, _, port = token.rpartition(":")
        if not zone and not prefix and port.isdigit() and head.count(":") >= 2 and ("::" in head or head.count(":") == 7):
            try:
                ipaddress.IPv6Address(head)
                if port in ("500", "4500") or not _valid_v6(token):
                    return self._sub_address(head) + ":" + port
            except ValueError:
                pass
        if not _valid_v6(token):
            return whole
        addr = ipaddress.IPv6Address(token)
        if addr.ipv4_mapped is not None:
            mapped = "::ffff:" + self._sub_address(str(addr.ipv4_mapped))
            if mapped != "::ffff:" + str(addr.ipv4_mapped):
                self.map.setdefault(token, mapped)
            return mapped + (zone or "") + (prefix or "")
        return self._sub_address(str(addr), prefix, original=token) + (zone or "") if not prefix else \
            self._sub_address(str(addr), prefix, original=token)

    # -- names and IDs -------------------------------------------------------
    def _name(self, value: str, kind: str) -> str:
        key = value.lower()
        if _stand_in(value) or key in self._standins or _public(key):
            return value
        stand_in = self._names.get(key)
        if stand_in is None:
            self._counters[kind] = self._counters.get(kind, 0) + 1
            n = self._counters[kind]
            stand_in = {"host": f"host-{n}.example", "id": f"id-{n}", "user": f"user-{n}", "org": f"org-{n}",
                        "cert": f"cert-{n}", "country": "ZZ"}.get(kind, f"name-{n}")
            if kind == "key":
                digest = hmac.new(self._key, key.encode(), hashlib.sha256).hexdigest()
                prefix = value[:2] if value[:2].lower() == "0x" else ""
                stand_in = prefix + (digest * 4)[: len(value) - len(prefix)]
            self._names[key] = stand_in
            if kind != "country" and key not in _VOCABULARY and not key.isdigit():
                self._loose[key] = stand_in
            self._standins.add(stand_in.lower())
            self.map[value] = stand_in
            self._pattern = None
        self.counts[kind] = self.counts.get(kind, 0) + 1
        return stand_in

    def learn_name(self, value: str, kind: str | None = None) -> None:
        """Remember *value* (an ID, a host name, a nickname, an RDN value) as a name to replace everywhere."""
        value = value.strip().strip("'\"")
        low = value.lower()
        if (not value or low in _ANY_WORDS or low in _VOCABULARY or value.startswith("%") or _stand_in(value)
                or low.startswith(("localhost", "ip6-"))):
            return
        if kind is None:
            kind = self._kind_of(value)
        if kind is None:
            return
        if kind == "dn":
            for rdn in _RDN.finditer(value):
                self.learn_name(rdn.group(2), "country" if rdn.group(1).upper() == "C" else
                                "org" if rdn.group(1).upper() in ("O", "OU") else None)
            return
        if kind == "address":
            return
        if kind == "at":
            self.learn_name(value[1:])
            return
        if kind == "key" and value.startswith("@#"):
            value = value[2:]
        if kind == "user@":
            local, _, domain = value.rpartition("@")
            self.learn_name(local, "user")
            self.learn_name(domain)
            return
        if len(value) < 2:
            return
        self._name(value, kind)

    def _kind_of(self, value: str) -> str | None:
        if re.search(r"(?:^|[,/\s])(?:CN|O|OU|C)=", value):
            return "dn"
        if value.startswith("@#"):
            return "key"
        if value.startswith("@"):
            return "at"
        if "@" in value:
            return "user@"
        try:
            ipaddress.ip_network(value.split("[")[0], strict=False)
            return "address"
        except ValueError:
            pass
        if re.fullmatch(r"[0-9a-fA-F]{16,}", value):
            return "key"
        if re.fullmatch(r"[\w.-]+", value):
            return "host" if "." in value else "id"
        return "cert"

    def learn(self, text: str, name: str = "") -> None:
        """First pass: names written where the structure says they are names, and every address."""
        if len(self._seen_addresses) < MAX_SEEN_ADDRESSES:
            for m in _V4.finditer(text):
                self._seen_addresses.add((m.group(1), m.group(2)))
            for m in _V6.finditer(text):
                if m.group(1).count(":") >= 2 and _valid_v6(m.group(1)):
                    self._seen_addresses.add((m.group(1), m.group(3)))
        if name in ("ipsec_secrets",):
            from .secrets_grammar import ids_of
            for value in ids_of(text):
                self.learn_name(value)
        if name in ("hosts_file",):
            for line in text.splitlines():
                fields = line.split("#", 1)[0].split()
                for host in fields[1:]:
                    self.learn_name(host, "host" if "." in host else "id")
        if name in ("nss_certs",):
            for line in text.splitlines():
                match = re.match(r"^(\S.*?)\s{2,}([A-Za-z]*,[A-Za-z]*,[A-Za-z]*)\s*$", line)
                if match and match.group(1) != "Certificate Nickname":
                    self.learn_name(match.group(1), "cert")
        if name in ("nss_keys",):
            for line in text.splitlines():
                match = re.match(r"^<\s*\d+>\s+\S+\s+([0-9a-fA-F]{16,})\s+(.*)$", line)
                if match:
                    self.learn_name(match.group(1), "key")
                    nick = match.group(2).split(":", 1)[-1].strip()
                    if nick and not nick.startswith("("):
                        self.learn_name(nick, "cert")
        for context in _NAME_CONTEXTS:
            for match in context.finditer(text):
                value = match.group(1).strip()
                if "=" in value and re.search(r"\b(?:CN|O|OU|C)=", value):
                    self.learn_name(value, "dn")
                elif "," in value and "=" not in value:
                    for part in value.split(","):
                        self.learn_name(part)
                else:
                    self.learn_name(value)
        for rdn in _RDN.finditer(text):
            key = rdn.group(1).upper()
            self.learn_name(rdn.group(2), "country" if key == "C" else "org" if key in ("O", "OU") else None)
        for local in self._local:
            self.learn_name(local, "host" if "." in local else "id")

    def _learnt_pattern(self) -> re.Pattern | None:
        if not self._loose:
            return None
        if self._pattern is None:
            from ..trie import trie_pattern  # one branch per next character: fast with hundreds of names

            self._pattern = re.compile(r"(?<![\w-])(?:" + trie_pattern(sorted(self._loose))
                                       + r")(?![\w-]|\.[A-Za-z0-9])", re.IGNORECASE)
        return self._pattern

    def _sub_host(self, name: str) -> str:
        key = name.lower()
        if _public(key) or _stand_in(name) or key.startswith(_NOT_HOST_PREFIX):
            return name
        labels = key.split(".")
        if labels[-1] in _NOT_HOST_SUFFIX:
            stem = name.rsplit(".", 1)[0]
            if stem.count(".") >= 1 and not stem.lower().startswith(_NOT_HOST_PREFIX):
                return self._sub_host(stem) + name[len(stem):]  # vpn.acme.pt.conf: the host in a file name
            return name
        return self._name(name, "host")

    def _sub_rdn(self, match: re.Match) -> str:
        key = match.group(1)
        value = match.group(2).strip()
        kind = "country" if key.upper() == "C" else "org" if key.upper() in ("O", "OU") else None
        if _stand_in(value) or value.lower() in self._standins:
            return match.group(0)
        kind = kind or self._kind_of(value) or "name"
        if kind == "user@":
            return f"{key}={_USER_FQDN.sub(self._sub_user_fqdn, value)}"
        if kind == "host":
            return f"{key}={self._sub_host(value)}"
        return f"{key}={self._name(value, kind)}"

    def _choose_key(self) -> None:
        """Re-key until no stand-in of a learnt address is an address the bundle itself holds.

        A stand-in that happens to equal another real address of the bundle would leave that real
        address in the archive (standing for something else, but there all the same).

        >>> ob = Obfuscator(key=bytes(32), hostnames=())
        >>> ob.learn("10.1.0.0/16 10.2.0.0/16 10.9.0.10 192.0.2.1 2001:db8::1")
        >>> out = ob.text("10.1.0.0/16 10.2.0.0/16 10.9.0.10 192.0.2.1 2001:db8::1")
        >>> [a for a in ("10.1.0.0", "10.2.0.0", "10.9.0.10", "192.0.2.1", "2001:db8::1") if a in out.split()
        ...  or any(w.startswith(a + "/") for w in out.split())]
        []
        """
        self._key_checked = True
        originals: set[str] = set()
        for text, _prefix in self._seen_addresses:
            try:
                originals.add(str(ipaddress.ip_address(text)))
            except ValueError:
                continue
        for _ in range(KEY_TRIES):
            clash = False
            for text, prefix in self._seen_addresses:
                try:
                    addr = ipaddress.ip_address(text)
                except ValueError:
                    continue
                stand_in = self._sub_address_once(text, prefix if addr.version == 4 else None, None)
                stand_in = stand_in.split("/", 1)[0]
                if stand_in != str(addr) and str(ipaddress.ip_address(stand_in)) in originals:
                    clash = True
                    break
            if not clash:
                break
            self._key = os.urandom(32)
            self._addresses.clear()
            self._sub_cache.clear()
            self.map = {k: v for k, v in self.map.items() if not _looks_like_address(k)}

    def text(self, text: str) -> str:
        if not self._key_checked:
            self._choose_key()
        text = _RDN.sub(self._sub_rdn, text)
        learnt = self._learnt_pattern()
        if learnt is not None:
            text = learnt.sub(lambda m: self._names.get(m.group(0).lower(), m.group(0)), text)
        text = _MAC.sub(lambda m: self._mac(m.group(1)), text)
        text = _V6.sub(lambda m: self._v6_token(m.group(1), m.group(2), m.group(3)) if m.group(1).count(":") >= 2
                       else m.group(0), text)
        text = _V4.sub(lambda m: self._sub_address(m.group(1), m.group(2)), text)
        text = _USER_FQDN.sub(self._sub_user_fqdn, text)
        text = _AT_ID.sub(self._sub_at, text)
        text = _HOST.sub(lambda m: self._sub_host(m.group(1)), text)
        return text

    def _sub_user_fqdn(self, match: re.Match) -> str:
        local, domain = match.group(1), match.group(2)
        if _stand_in(match.group(0)) or domain.lower().endswith(tuple("." + x for x in ("service", "socket", "scope",
                                                                                           "slice", "target"))):
            return match.group(0)
        if re.fullmatch(r"[\d.]+", domain) or domain.startswith("host-"):
            return match.group(0)
        return f"{self._name(local, 'user')}@{self._sub_host(domain) if '.' in domain else self._name(domain, 'id')}"

    def _sub_at(self, match: re.Match) -> str:
        value = match.group(1)
        if _stand_in(value) or value.lower() in self._standins or not re.search(r"[A-Za-z#]", value):
            return match.group(0)
        if value.startswith("#"):
            return "@#" + self._name(value[1:], "key")
        if "." in value:
            return "@" + self._sub_host(value)
        return "@" + self._name(value, "id")

    def _mac(self, value: str) -> str:
        if value.lower() in ("00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"):
            return value
        digest = hmac.new(self._key, value.lower().encode(), hashlib.sha256).digest()
        new = "02:" + ":".join(f"{b:02x}" for b in digest[:5])
        self.map.setdefault(value, new)
        return new


def _valid_v6(token: str) -> bool:
    try:
        ipaddress.IPv6Address(token)
        return True
    except ValueError:
        return False


def _local_names() -> tuple[str, ...]:
    names = {socket.gethostname()}
    try:
        names.add(socket.getfqdn())
    except OSError:
        pass
    return tuple(sorted(n for n in names if n and n != "localhost"))
