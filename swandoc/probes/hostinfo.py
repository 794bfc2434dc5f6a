"""Small host facts: sysctls, listening sockets, pluto processes, xfrm state/stat.

Each parser is pure and tolerant: an odd line is skipped, never the whole item.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from ..compat import SLOTS


# Sysctls that decide whether IPsec traffic is forwarded and accepted. Per-device rp_filter
# values are added at collection time for every interface.
SYSCTLS = (
    "net.ipv4.ip_forward",
    "net.ipv6.conf.all.forwarding",
    "net.ipv4.conf.all.rp_filter",
    "net.ipv4.conf.default.rp_filter",
    "net.ipv4.conf.all.send_redirects",
    "net.ipv4.conf.all.accept_redirects",
    "net.ipv4.conf.all.disable_xfrm",
    "net.ipv4.conf.all.disable_policy",
    # path MTU discovery and the kernel's handling of IPsec acquires: context for MTU and
    # "tunnel up but no traffic" cases
    "net.ipv4.ip_no_pmtu_disc",
    "net.ipv4.tcp_mtu_probing",
    "net.core.xfrm_larval_drop",
    "net.core.xfrm_acq_expires",
    "net.ipv4.ip_local_port_range",
)


def read_sysctls(devices: list[str]) -> str:
    """``key = value`` lines, read from /proc/sys (no sysctl binary needed)."""
    keys = list(SYSCTLS) + [f"net.ipv4.conf.{d}.rp_filter" for d in devices if "." not in d and "/" not in d]
    lines = []
    for key in keys:
        path = "/proc/sys/" + key.replace(".", "/")
        try:
            with open(path) as fh:
                lines.append(f"{key} = {fh.read().strip()}")
        except OSError:
            continue
    return "\n".join(lines) + "\n"


def parse_sysctls(text: str) -> dict[str, str]:
    """``sysctl -a`` style lines.

    >>> parse_sysctls("net.ipv4.ip_forward = 0\\nnet.ipv4.conf.all.rp_filter = 1\\njunk")["net.ipv4.ip_forward"]
    '0'
    """
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key.strip()] = value.strip()
    return out


def effective_rp_filter(sysctls: dict[str, str], device: str | None) -> int | None:
    """The kernel uses the higher of conf.all and conf.DEV (0 off, 1 strict, 2 loose)."""
    values = [sysctls.get("net.ipv4.conf.all.rp_filter")]
    if device:
        values.append(sysctls.get(f"net.ipv4.conf.{device}.rp_filter"))
    numbers = [int(v) for v in values if v and v.isdigit()]
    return max(numbers) if numbers else None


@dataclass(frozen=True, **SLOTS)
class Socket:
    proto: str  # udp / tcp
    address: str
    port: int
    process: str | None
    text: str


_SS = re.compile(r"^(?:(?P<netid>udp|tcp)\s+)?(?P<state>\S+)\s+\d+\s+\d+\s+(?P<local>\S+):(?P<port>\d+|\*)\s+\S+(?:\s+(?P<proc>.*))?$")


def parse_ss(text: str) -> tuple[Socket, ...]:
    """Sockets from ``ss -Hulnp`` / ``ss -Htlnp`` output; ``# ss -Hu...`` headers say the protocol.

    >>> parse_ss('# ss -Hulnp\\nUNCONN 0 0 192.0.2.1:500  0.0.0.0:* users:(("pluto",pid=11690,fd=17))')[0]
    Socket(proto='udp', address='192.0.2.1', port=500, process='pluto', text='UNCONN 0 0 192.0.2.1:500  0.0.0.0:* users:(("pluto",pid=11690,fd=17))')
    """
    proto = "udp"
    out = []
    for line in text.splitlines():
        if line.startswith("#"):
            proto = "tcp" if "-Ht" in line or " -t" in line else "udp"
            continue
        match = _SS.match(line.strip())
        if not match or match["port"] == "*":
            continue
        name = re.search(r'\(\("([^"]+)"', match["proc"] or "")
        out.append(Socket(match["netid"] or proto, match["local"].strip("[]"), int(match["port"]),
                          name.group(1) if name else None, line.strip()))
    return tuple(out)


@dataclass(frozen=True, **SLOTS)
class Process:
    pid: int
    same_netns: bool
    cmdline: str


def find_pluto() -> str:
    """``pid=N netns=same|other cmdline`` for every pluto process.

    The pid namespace is usually shared with other network namespaces (``ip netns exec``),
    so a pluto of another namespace is visible here: only one in our own network namespace
    can be the daemon this host's connections use.
    """
    try:
        own = os.readlink("/proc/self/ns/net")
    except OSError:
        own = None
    lines = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/comm") as fh:
                if fh.read().strip() != "pluto":
                    continue
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmdline = fh.read().replace(b"\0", b" ").decode(errors="replace").strip()
            try:
                netns = "same" if own and os.readlink(f"/proc/{entry}/ns/net") == own else "other"
            except OSError:
                netns = "unknown"
        except OSError:
            continue
        lines.append(f"pid={entry} netns={netns} {cmdline}")
    return "\n".join(lines) + ("\n" if lines else "")


def parse_pluto_process(text: str) -> tuple[Process, ...]:
    """Pluto processes as listed by :func:`find_pluto`.

    >>> parse_pluto_process("pid=42 netns=same /usr/libexec/ipsec/pluto --nofork")[0].same_netns
    True
    """
    out = []
    for line in text.splitlines():
        match = re.match(r"pid=(\d+) netns=(\w+) ?(.*)", line)
        if match:
            out.append(Process(int(match[1]), match[2] in ("same", "unknown"), match[3]))
    return tuple(out)


def parse_xfrm_stat(text: str) -> dict[str, int]:
    """Counters of ``/proc/net/xfrm_stat``.

    >>> parse_xfrm_stat("XfrmInError             \\t0\\nXfrmOutNoStates         \\t5\\n")
    {'XfrmInError': 0, 'XfrmOutNoStates': 5}
    """
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            out[parts[0]] = int(parts[1])
    return out


def strip_xfrm_keys(text: str) -> tuple[str, int]:
    """Remove every key from ``ip xfrm state`` output; returns the text and how many were removed.

    The one implementation is :func:`swandoc.bundle.redact.redact_xfrm_state` (hex and quoted
    keys, a ``comp`` CPI kept), so what ``diagnose`` stores and what a bundle holds agree.

    >>> strip_xfrm_keys("\\taead rfc4106(gcm(aes)) 0x00112233445566778899aabbccddeeff0011223344 128")
    ('\\taead rfc4106(gcm(aes)) [key removed, 21 bytes] 128', 1)
    """
    from ..bundle.redact import redact_xfrm_state  # the bundle's scrubbers load only when keys are stripped

    stripped, counts = redact_xfrm_state(text)
    return stripped, counts.get("xfrm-key", 0)


@dataclass(frozen=True, **SLOTS)
class XfrmState:
    src: str
    dst: str
    proto: str
    spi: str
    mode: str | None
    encap: str | None  # "espinudp 4500 4500" etc.


def parse_xfrm_state(text: str) -> tuple[XfrmState, ...]:
    """SAs from ``ip xfrm state`` (keys already removed).

    >>> parse_xfrm_state('''src 192.0.2.1 dst 198.51.100.2
    ... \\tproto esp spi 0xc0ffee01 reqid 16389 mode tunnel
    ... \\treplay-window 0 flag af-unspec
    ... \\taead rfc4106(gcm(aes)) [key removed] 128
    ... \\tencap type espinudp sport 4500 dport 4500 addr 0.0.0.0''')[0]
    XfrmState(src='192.0.2.1', dst='198.51.100.2', proto='esp', spi='0xc0ffee01', mode='tunnel', encap='espinudp 4500 4500')
    """
    out = []
    cur: dict | None = None
    for line in text.splitlines():
        match = re.match(r"^src (\S+) dst (\S+)", line)
        if match:
            if cur:
                out.append(XfrmState(**cur))
            cur = {"src": match[1], "dst": match[2], "proto": "", "spi": "", "mode": None, "encap": None}
            continue
        if cur is None:
            continue
        match = re.search(r"proto (\S+) spi (\S+)(?: reqid \S+)?(?: mode (\S+))?", line)
        if match:
            cur.update(proto=match[1], spi=match[2], mode=match[3])
        match = re.search(r"encap type (\S+) sport (\d+) dport (\d+)", line)
        if match:
            cur["encap"] = f"{match[1]} {match[2]} {match[3]}"
    if cur:
        out.append(XfrmState(**cur))
    return tuple(out)
