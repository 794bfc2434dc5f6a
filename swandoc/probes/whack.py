"""Parsers for ``ipsec whack --status`` and ``--trafficstatus`` (Libreswan 3.x-5.x wording)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from ..compat import SLOTS


@dataclass(frozen=True, **SLOTS)
class SAState:
    serial: int
    conn: str  # base name, without the "[1]" instance suffix
    instance: str | None
    port: int | None
    state: str
    text: str
    line: int

    @property
    def established(self) -> bool:
        return "ESTABLISHED" in self.state or self.state in ("STATE_MAIN_I4", "STATE_MAIN_R3", "STATE_QUICK_I2", "STATE_QUICK_R2")


@dataclass(frozen=True, **SLOTS)
class WhackStatus:
    conns: tuple[str, ...]  # loaded connection names (base names)
    conn_lines: tuple[tuple[str, str, int], ...]  # (conn, first description line, line number)
    states: tuple[SAState, ...]
    interfaces: tuple[str, ...]  # "eth0 UDP 192.0.2.1:500"
    fips: str | None
    nssdir: str | None
    version: str | None


_CODE = re.compile(r"^\d{3}\s?")
# Instances of a template conn are written "name"[1] (the number after the quote).
_CONN = re.compile(r'^"(?P<name>[^"]+)"(?P<inst>\[\d+\])?(?::\s|\s)')
# 3.x/4.x name states STATE_V2_ESTABLISHED_IKE_SA, 5.x ESTABLISHED_IKE_SA (no prefix).
_STATE = re.compile(r'^#(?P<serial>\d+):\s+"(?P<name>[^"]+)"(?P<inst>\[\d+\])?(?:\s+(?P<addr>\S+?))?(?::(?P<port>\d+))?'
                    r'\s+(?P<state>STATE_\w+|[A-Z][A-Z0-9]*_[A-Z0-9_]+)\b')


def _strip_code(line: str) -> str:
    return _CODE.sub("", line, count=1)


def parse_whack_status(text: str) -> WhackStatus:
    """Loaded conns, SA states and a few global facts.

    >>> s = parse_whack_status('''000 interface eth0 UDP 192.0.2.1:500
    ... 000 fips mode=disabled;
    ... 000 nssdir=/var/lib/ipsec/nss, dumpdir=/run/pluto, statsbin=unset
    ... 000 pluto_version=4.10, pluto_vendorid=OE-Libreswan-4.10, audit-log=yes
    ... 000 "west-east": 192.0.2.1[@west]...198.51.100.2[@east]; unrouted; eroute owner: #0
    ... 000 "west-east":   ike_life: 28800s; ipsec_life: 28800s;
    ... 000 #1: "west-east":500 STATE_V2_ESTABLISHED_IKE_SA (established IKE SA); REKEY in 28193s; newest; idle;
    ... ''')
    >>> s.conns, s.states[0].serial, s.states[0].state, s.nssdir, s.fips, s.version
    (('west-east',), 1, 'STATE_V2_ESTABLISHED_IKE_SA', '/var/lib/ipsec/nss', 'disabled', '4.10')

    Libreswan 5 writes no numeric codes and no STATE_ prefix:

    >>> s5 = parse_whack_status('#1: "west-east":500 ESTABLISHED_IKE_SA (established IKE SA); newest; idle;\\n'
    ...                         '#2: "west-east":500 NEW_CHILD_I1 (sent CREATE_CHILD_SA request); idle;')
    >>> [(x.serial, x.state, x.established) for x in s5.states]
    [(1, 'ESTABLISHED_IKE_SA', True), (2, 'NEW_CHILD_I1', False)]
    """
    conns: dict[str, None] = {}
    conn_lines: list[tuple[str, str, int]] = []
    states: list[SAState] = []
    interfaces: list[str] = []
    fips = nssdir = version = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = _strip_code(raw).strip()
        if not line:
            continue
        match = _STATE.match(line)
        if match:
            states.append(SAState(int(match["serial"]), match["name"], match["inst"],
                                  int(match["port"]) if match["port"] else None, match["state"], raw, number))
            continue
        match = _CONN.match(line)
        if match:
            name = match["name"]
            if name not in conns:
                conns[name] = None
                conn_lines.append((name, raw, number))
            continue
        if line.startswith("interface "):
            interfaces.append(line[len("interface "):])
        elif line.startswith("fips mode="):
            fips = line.split("=", 1)[1].rstrip(";").strip()
        elif "nssdir=" in line:
            nssdir = re.search(r"nssdir=([^,\s]+)", line).group(1)
        elif "pluto_version=" in line:
            version = re.search(r"pluto_version=([^,\s]+)", line).group(1)
    return WhackStatus(tuple(conns), tuple(conn_lines), tuple(states), tuple(interfaces), fips, nssdir, version)


@dataclass(frozen=True, **SLOTS)
class Traffic:
    serial: int
    conn: str
    inbytes: int
    outbytes: int
    text: str
    line: int


_TRAFFIC = re.compile(r'#(?P<serial>\d+):\s+"(?P<name>[^"]+)"(?:\[\d+\])?.*?inBytes=(?P<inb>\d+),\s*outBytes=(?P<outb>\d+)')


def parse_trafficstatus(text: str) -> tuple[Traffic, ...]:
    """One entry per established Child SA with its byte counters.

    >>> parse_trafficstatus('006 #2: "west-east", type=ESP, add_time=1700000000, inBytes=0, outBytes=840, id=\\'@east\\'')[0].outbytes
    840
    """
    found = []
    for number, raw in enumerate(text.splitlines(), 1):
        match = _TRAFFIC.search(raw)
        if match:
            found.append(Traffic(int(match["serial"]), match["name"], int(match["inb"]), int(match["outb"]), raw, number))
    return tuple(found)
