"""Strip the envelope a pluto message arrives in, leaving pluto's own text.

The same message reaches an admin in several wrappers::

    Nov 26 20:44:33.364929: "west" #1: sent IKE_SA_INIT request      pluto logfile= (day space-padded)
    Jun  2 20:35:40 vpn1 pluto[1683]: "west" #1: ...                  syslog / journalctl short
    2024-06-02T20:35:40.123456+00:00 vpn1 pluto[1683]: "west" #1: ... rsyslog / journalctl short-iso
    010 "west" #1: STATE_PARENT_I1: retransmission; ...               ipsec whack / auto --up (3.x/4.x)
    "west" #1: initiating IKEv2 connection                            ipsec whack 5.x, logtime=no, journalctl -o cat
    Jun  2 20:35:40: "west" #1: ...                                   older pluto logfile= (no fraction)
    Mon 2024-06-02 20:35:40 CEST vpn1 pluto[1683]: ...                journalctl short-full
    1717353340.123456 vpn1 pluto[1683]: ... / [ 1234.5678] vpn1 ...   journalctl short-unix / short-monotonic
    pluto[1683]: "west" #1: ...                                       pasted without time and host
    Jan 29 10:23:11 pc NetworkManager[1056]: 003 "vpn" #1: ...        NetworkManager relaying whack output

Regexes rather than a library: there is no maintained parser for pluto's line formats, and
each shape is one fixed prefix, read from pluto's log.c per version (samples of each release's
output in fixtures/versions/).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from ..compat import SLOTS
from ..lazyregex import LazyPattern

# Envelope kinds, in the order a mixed file is most likely to contain them.
LOGFILE = "pluto-log"
SYSLOG = "syslog"
WHACK = "whack"
BARE = "pluto-log (no timestamps)"

# pluto's logfile=: strftime("%b %e %T") then ".%06ld: " (3.x+); older plutos and logtime variants
# write no fraction.
_LOGFILE_RE = LazyPattern(r"([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d(?:\.\d{1,9})?): (.*)", re.S)
_MONTH = r"[^\W\d_]{3,5}\.?"  # 'Jun', and localised journalctl month names ('okt', 'mars')
_TIME = (
    rf"{_MONTH} [ \d]?\d \d\d:\d\d:\d\d(?:\.\d+)?"              # syslog, journalctl short / short-precise
    r"|\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?"   # rsyslog high precision, short-iso
    r"|[A-Z][a-z]{2} \d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? [A-Z][A-Za-z0-9+-]{1,5}"  # journalctl short-full
    r"|[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}"          # OpenWrt logread
    r"|\d{9,10}\.\d{1,9}"                                               # journalctl short-unix
    r"|\[ *\d+\.\d+\]"                                                # journalctl short-monotonic
)
# Syslog-shaped lines: a time, a host (or OpenWrt's facility.level), a program and its PID.
_SYSLOG_RE = LazyPattern(
    rf"(?:<\d{{1,3}}>)?(?P<time>{_TIME}) (?P<host>\S+)(?: [\w.]+\.\w+)? (?P<ident>[^\s\[:]+)(?:\[[\d,]+\])?: "
    r"(?P<body>.*)",
    re.S,
)
# The same with the time, the host or the program name cut off by whoever pasted it:
# 'vpn1 pluto[1683]: ...', 'pluto[1683]: ...', 'pluto[X]: ...' (PID masked), 'Jul  4 08:35:05 [2814]: ...'.
_PARTIAL_SYSLOG_RE = LazyPattern(
    rf"(?:(?P<time>{_TIME}) +)?(?:(?P<host>[\w.-]+) )?(?P<ident>[A-Za-z_][\w.-]*)?\[\w+\]: (?P<body>.*)", re.S)
# GLib-style lines of NetworkManager's plugins: 'nm-l2tp[1300] <warn>  Could not establish IPsec tunnel.'
_GLIB_RE = LazyPattern(r"(?:\S+ )*?[\w.-]+\[\d+\]:? <(?:debug|info|warn|error|trace)> ")
# NetworkManager-l2tp's log of its children: 'Jul 31 20:25:15 [pluto] "conn" #1: ...'.
_BRACKETED_RE = LazyPattern(rf"(?P<time>{_TIME}) \[(?P<ident>[A-Za-z_][\w.-]*)\] (?P<body>.*)", re.S)
# Only the program name: 'ipsec__plutorun: !pluto failure!: ...', 'systemd: ipsec.service: ...' (some syslogs).
_IDENT_ONLY_RE = LazyPattern(r"(?P<ident>[A-Za-z_][\w.-]*): (?P<body>.*)", re.S)
# Quoted in a mail or forum reply ('> '), or indented in a paste: taken off before anything else.
_QUOTE_RE = LazyPattern(r"(?:\s*>)+ ?|\s+")
_WHACK_RE = LazyPattern(r"(\d{3}|\d[vV]\d) (.*)", re.S)

# Programs whose syslog lines carry pluto's own messages (Libreswan 3.x-5.x and Openswan 2.6 helpers).
PLUTO_IDENTS = frozenset({"pluto", "ipsec", "ipsec_starter", "whack", "addconn", "ipsec_pluto", "ipsec_setup",
                          "libipsecconf", "ipsec__plutorun", "_plutorun", "ipsec__plutoload", "_plutoload",
                          "ipsec_auto", "ipsec.service", "ipsec_whack", "ipsec-auto", "ipsec_addconn"})
# Programs that relay pluto's or whack's output into their own log lines (NetworkManager-libreswan,
# NetworkManager-l2tp): only what is recognisably pluto's is taken from them.
RELAY_IDENTS = frozenset({"NetworkManager", "nm-libreswan-service", "nm-libreswan-helper", "nm-l2tp-service",
                          "charon-nm"})
# Other programs' lines that are about pluto: systemd and the kernel reporting its death, a core dump.
WITNESS_IDENTS = frozenset({"systemd", "kernel", "systemd-coredump", "abrt-hook-ccpp", "abrtd", "audit"})
_ABOUT_PLUTO = LazyPattern(r"ipsec\.service|\bpluto\b")
# What a relayed line looks like when it is pluto's (whack codes are handled separately).
_RELAYED = LazyPattern(r'(?:"[^"]*"[\[\]\d]* |#\d+: |packet from |whack: |whack error|ERROR: |ASSERTION|'
                      r"ipsec_setup: |pluto(?:\[\d+\])?: |FATAL|initiating |Pluto is not running)")

# How a message body that pluto wrote begins (after any envelope).
_BODY_START = LazyPattern(
    r'(?:"|#\d+: |packet from |connection from |ERROR: |\|\]? |\|\]?$|\] |FATAL|WARNING|ASSERTION|EXPECTATION|ABORT|'
    r"Starting Pluto|Pluto |pluto |NSS|FIPS|adding (?:UDP|TCP) interface|listening for IKE|loading secrets|"
    r"loaded private key|forgetting secrets|added connection|no connection |no connection or alias|"
    r"Initializing NSS|Using Linux|NAT-Traversal|Encryption algorithms|Hash algorithms|PRF algorithms|"
    r"Integrity algorithms|DH algorithms|Key Exchange|testing |starting |shutting down|IKE |IKEv1|IKEv2|"
    r"seccomp|SELinux|systemd|nhelpers|Using|using|ipsec |initiating |terminating |deleting |"
    r"libcap-ng|Linux audit|leak-detective|XAUTH|IPCOMP|\d+ CPU cores|started thread|helper\(\d+\)|selinux|"
    r"[Kk]ernel |netlink|add keyid|"
    r"connection |global |\s{2,}|\w[\w-]*=|\w[\w -]*: )"
)


# The commonest envelope by far (pluto logging to syslog; journalctl's default output): a syslog time, a
# plain host name, pluto and its PID. A line of exactly this shape is what strip_envelope would make a
# SYSLOG envelope of (time, body) once its other shapes had failed: no logfile time is followed by a host,
# and no quote, whack code or other program starts with a month's name (every step: see strip_envelope).
# So feed_text_lines reads it first, with one match instead of several. tests/analyze/test_envelopes.py
# holds the two to the same result on every line of every fixture and on near misses.
PLUTO_SYSLOG = LazyPattern(r"([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d(?:\.\d+)?) [A-Za-z0-9_.-]+ pluto\[\d+\]: (.*)",
                           re.S | re.A)


@dataclass(frozen=True, **SLOTS)
class Envelope:
    kind: str
    time: str | None
    body: str


def strip_envelope(line: str) -> Envelope | None:
    """Return pluto's message from one line, or None if the line is not pluto's.

    >>> strip_envelope('Nov 26 20:44:33.364929: "west" #1: sent IKE_SA_INIT request').body
    '"west" #1: sent IKE_SA_INIT request'
    >>> strip_envelope('Jun  2 20:35:40: "west" #1: x').time                  # older logfile, no fraction
    'Jun  2 20:35:40'
    >>> strip_envelope('Jun  2 20:35:40 vpn1 pluto[1683]: "west" #1: x').kind
    'syslog'
    >>> strip_envelope('pluto[1683]: "west" #1: x').body                     # pasted without time and host
    '"west" #1: x'
    >>> strip_envelope('010 "west" #1: STATE_PARENT_I1: retransmission').kind
    'whack'
    >>> strip_envelope('Jan 29 10:23:11 pc NetworkManager[1056]: 003 "vpn" #1: x').body
    '"vpn" #1: x'
    >>> strip_envelope('Jan 29 10:23:11 pc NetworkManager[1056]: <info>  [1580282591.1854] vpn: up') is None
    True
    """
    m = _LOGFILE_RE.match(line)
    if m:
        return Envelope(LOGFILE, m.group(1), m.group(2))
    quote = _QUOTE_RE.match(line)
    if quote and not _PROPOSAL_LINE.match(line) and line[quote.end():]:
        inner = strip_envelope(line[quote.end():])
        if inner is not None:
            return inner
    m = _WHACK_RE.match(line)
    if m:
        return Envelope(WHACK, None, m.group(2))
    m = _PARTIAL_SYSLOG_RE.match(line) or _SYSLOG_RE.match(line) or _BRACKETED_RE.match(line)
    if m:
        body = from_program(m.group("ident"), m.group("body"))
        if body is None:
            return None  # another program's line
        return Envelope(SYSLOG, m.group("time"), body)
    if _BODY_START.match(line):
        return Envelope(BARE, None, line)
    m = _IDENT_ONLY_RE.match(line)
    if m and (m.group("ident") in PLUTO_IDENTS or m.group("ident") in WITNESS_IDENTS):
        body = from_program(m.group("ident"), m.group("body"))
        return Envelope(SYSLOG, None, body) if body is not None else None
    if _known_message(line):  # a bare message a human would recognise as pluto's
        return Envelope(BARE, None, line)
    return None


# pluto's proposal list at conn add is indented: '   1:IKE=AES_GCM_C_256-...' keeps its indent.
_PROPOSAL_LINE = LazyPattern(r"\s+\d+:(?:IKE|ESP|AH)=")


def _known_message(line: str) -> bool:
    from .events import parse_message  # events needs nothing from here; imported late to keep this module light
    event = parse_message(line, source="", line=0, text=line, time=None)
    return event is not None and event.kind != "trouble"


def from_program(ident: str | None, message: str) -> str | None:
    """pluto's message in a line (or journal record) written by program ident, or None if it is not pluto's.

    >>> from_program("pluto", '"west" #1: x'), from_program("sshd", "Accepted publickey")
    ('"west" #1: x', None)
    >>> from_program("NetworkManager", '002 "vpn" #2: x'), from_program("NetworkManager", "whack: Pluto is not running")
    ('"vpn" #2: x', 'whack: Pluto is not running')
    """
    if ident in PLUTO_IDENTS or ident is None:
        return message
    if ident in WITNESS_IDENTS:
        return message if _ABOUT_PLUTO.search(message) else None
    if ident in RELAY_IDENTS:
        inner = _WHACK_RE.match(message)
        if inner:
            return inner.group(2)
        if _RELAYED.match(message):
            return message
    return None


def is_other_program(line: str) -> bool:
    """A syslog line of some other program (counted, not 'unparsed'): sshd, sudo, NetworkManager's own ...

    >>> is_other_program("Jun  2 20:35:41 vpn1 sshd[2001]: Accepted publickey for root")
    True
    """
    if _GLIB_RE.match(line):
        return True
    m = _PARTIAL_SYSLOG_RE.match(line) or _SYSLOG_RE.match(line) or _BRACKETED_RE.match(line)
    return bool(m and from_program(m.group("ident"), m.group("body")) is None)
