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
  multicast, broadcast, netmasks (255.x), 0.0.0.0/0 and ::/0, documentation ranges
  (192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32).
* **Host names**: this host's name, and every fully qualified name whose last label is a
  known TLD-like word (not a file extension such as ``.conf`` or ``.c``), become
  ``host-N.example`` — the same name always the same stand-in; ``@`` IDs keep their ``@``.
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
_KEEP_V4 = [ipaddress.ip_network(n) for n in ("0.0.0.0/8", "127.0.0.0/8", "224.0.0.0/3", "192.0.2.0/24",
                                               "198.51.100.0/24", "203.0.113.0/24")]
_SPECIAL_V6 = [ipaddress.ip_network(n) for n in ("fc00::/7", "fe80::/10")]
_KEEP_V6 = [ipaddress.ip_network(n) for n in ("::/8", "ff00::/8", "2001:db8::/32", "::ffff:0:0/96")]

_V4 = re.compile(r"(?<![\w:])(?:(?<=\.\.\.)|(?<!\.))((?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3})(/\d{1,2}(?!\d))?(?![\w.]|\.\d)")
# Candidate IPv6 tokens; ipaddress decides whether one really is an address.
_V6 = re.compile(r"(?<![\w:.])((?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{0,4}|\d+\.\d+\.\d+\.\d+))(/\d{1,3}(?!\d))?(?![\w:])")
_TLDS = ("com|net|org|edu|gov|mil|int|io|info|biz|local|lan|corp|home|internal|intranet|example|invalid|test|"
         "de|uk|fr|nl|be|ch|at|it|es|se|no|dk|fi|pl|cz|ru|cn|jp|kr|in|au|nz|ca|us|br|mx|za|eu|co|me|cloud|dev|app")
_HOST = re.compile(r"(?<![\w.-])((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+(?:" + _TLDS + r"))(?![\w-]|\.[A-Za-z0-9])",
                   re.IGNORECASE)
_KEEP_HOSTS = {"libreswan.org", "www.libreswan.org", "example.com", "example.net", "example.org"}


class Obfuscator:
    def __init__(self, key: bytes | None = None, hostnames: tuple[str, ...] | None = None):
        self._key = key or os.urandom(32)
        self.map: dict[str, str] = {}
        self._hosts: dict[str, str] = {}
        names = hostnames if hostnames is not None else _local_names()
        self._local = [n for n in names if n and n not in ("localhost",)]
        self.counts: dict[str, int] = {}

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

    def _sub_address(self, text: str, prefix: str | None = None) -> str:
        original = text
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
            self.counts["address"] = self.counts.get("address", 0) + 1
        return new + (prefix or "")

    # -- host names ----------------------------------------------------------
    def _sub_host(self, name: str) -> str:
        key = name.lower()
        if key in _KEEP_HOSTS or key.endswith(".example") or key.endswith(".invalid"):
            return name
        stand_in = self._hosts.get(key)
        if stand_in is None:
            stand_in = self._hosts[key] = f"host-{len(self._hosts) + 1}.example"
            self.map[name] = stand_in
        self.counts["hostname"] = self.counts.get("hostname", 0) + 1
        return stand_in

    def text(self, text: str) -> str:
        text = _V6.sub(lambda m: self._sub_address(m.group(1), m.group(2)) if m.group(1).count(":") >= 2 else m.group(0), text)
        text = _V4.sub(lambda m: self._sub_address(m.group(1), m.group(2)), text)
        text = _HOST.sub(lambda m: self._sub_host(m.group(1)), text)
        for name in self._local:
            if name.lower() in self._hosts or "." not in name:
                pattern = re.compile(r"(?<![\w.-])" + re.escape(name) + r"(?![\w-])", re.IGNORECASE)
                text = pattern.sub(lambda m: self._sub_host(m.group(0)), text)
        return text


def _local_names() -> tuple[str, ...]:
    names = {socket.gethostname()}
    try:
        names.add(socket.getfqdn())
    except OSError:
        pass
    return tuple(sorted(n for n in names if n and n != "localhost"))
