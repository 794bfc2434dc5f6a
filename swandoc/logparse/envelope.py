"""Strip the envelope a pluto message arrives in, leaving pluto's own text.

The same message reaches an admin in several wrappers::

    Nov 26 20:44:33.364929: "west" #1: sent IKE_SA_INIT request      pluto logfile= (day space-padded)
    Jun  2 20:35:40 vpn1 pluto[1683]: "west" #1: ...                  syslog / journalctl short
    2024-06-02T20:35:40.123456+00:00 vpn1 pluto[1683]: "west" #1: ... rsyslog / journalctl short-iso
    010 "west" #1: STATE_PARENT_I1: retransmission; ...               ipsec whack / auto --up (3.x/4.x)
    "west" #1: initiating IKEv2 connection                            ipsec whack 5.x, logtime=no

Regexes rather than a library: there is no maintained parser for pluto's line formats, and
each shape is one fixed prefix, read from pluto's log.c per version (samples of each release's
output in fixtures/versions/).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from ..compat import SLOTS

# Envelope kinds, in the order a mixed file is most likely to contain them.
LOGFILE = "pluto-log"
SYSLOG = "syslog"
WHACK = "whack"
BARE = "pluto-log (no timestamps)"

_LOGFILE_RE = re.compile(r"([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d\.\d{6}): (.*)", re.S)
# Classic syslog / journalctl short, ISO syslog / short-iso, OpenWrt logread, NetworkManager relays.
_SYSLOG_RE = re.compile(
    r"(?P<time>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d(?:\.\d+)?"
    r"|\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?"
    r"|[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4})"
    r" (?P<host>\S+)(?: [\w.]+\.\w+)? (?P<ident>[^\s\[:]+)(?:\[\d+\])?: (?P<body>.*)",
    re.S,
)
_WHACK_RE = re.compile(r"(\d{3}|\d[vV]\d) (.*)", re.S)

# Programs whose syslog lines carry pluto's messages. NetworkManager relays whack output with codes.
PLUTO_IDENTS = frozenset({"pluto", "ipsec", "ipsec_starter", "whack", "addconn", "ipsec_pluto"})
RELAY_IDENTS = frozenset({"NetworkManager", "nm-libreswan-service", "charon-nm"})

# How a message body that pluto wrote begins (after any envelope).
_BODY_START = re.compile(
    r'(?:"|packet from |connection from |ERROR: |\| |\] |FATAL|WARNING|'
    r"Starting Pluto|Pluto |pluto |NSS|FIPS|adding (?:UDP|TCP) interface|listening for IKE|loading secrets|"
    r"loaded private key|forgetting secrets|added connection|no connection |no connection or alias|"
    r"Initializing NSS|Using Linux|NAT-Traversal|Encryption algorithms|Hash algorithms|PRF algorithms|"
    r"Integrity algorithms|DH algorithms|Key Exchange|testing |starting |shutting down|IKE |IKEv1|IKEv2|"
    r"seccomp|SELinux|systemd|nhelpers|Using|using|ipsec |initiating |terminating |deleting |"
    r"connection |global |\s{2,}|\w[\w-]*=|\w[\w -]*: )"
)


@dataclass(frozen=True, **SLOTS)
class Envelope:
    kind: str
    time: str | None
    body: str


def strip_envelope(line: str) -> Envelope | None:
    """Return pluto's message from one line, or None if the line is not pluto's.

    >>> strip_envelope('Nov 26 20:44:33.364929: "west" #1: sent IKE_SA_INIT request').body
    '"west" #1: sent IKE_SA_INIT request'
    >>> strip_envelope('Jun  2 20:35:40 vpn1 pluto[1683]: "west" #1: x').kind
    'syslog'
    >>> strip_envelope('010 "west" #1: STATE_PARENT_I1: retransmission').kind
    'whack'
    """
    m = _LOGFILE_RE.match(line)
    if m:
        return Envelope(LOGFILE, m.group(1), m.group(2))
    m = _WHACK_RE.match(line)
    if m:
        return Envelope(WHACK, None, m.group(2))
    m = _SYSLOG_RE.match(line)
    if m:
        ident = m.group("ident")
        body = m.group("body")
        if ident in PLUTO_IDENTS:
            return Envelope(SYSLOG, m.group("time"), body)
        if ident in RELAY_IDENTS:
            inner = _WHACK_RE.match(body)
            if inner:
                return Envelope(SYSLOG, m.group("time"), inner.group(2))
        return None  # another program's line
    if _BODY_START.match(line):
        return Envelope(BARE, None, line)
    return None


def is_other_program(line: str) -> bool:
    """A syslog line of some other program (counted, not 'unparsed')."""
    m = _SYSLOG_RE.match(line)
    return bool(m and m.group("ident") not in PLUTO_IDENTS)
