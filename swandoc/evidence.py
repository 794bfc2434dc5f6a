"""Named evidence: the raw material every command shares.

A live probe, a support bundle and a file on the command line all produce the same thing:
an :class:`Evidence` item with a registry name and an :class:`Origin` (which host, through
which input). Providers (``inputs.py`` for files, ``bundle/reader.py`` for bundles,
``probes/collect.py`` live) only produce Evidence; ``swandoc/parse.py`` turns it into facts.
Parsers and rules only ever see those names, which is what lets ``analyze bundle.tar.xz``
reach the same diagnosis as ``diagnose`` did on the host (the insights-core idea of one spec
with several providers).

The registry below is the single list of names, where each lives inside a bundle and how it
is redacted before it is written anywhere.
"""
from __future__ import annotations

import io
import sys
from dataclasses import dataclass, field
from typing import BinaryIO

from .compat import SLOTS

FILE, BUNDLE, LIVE = "file", "bundle", "live"


@dataclass(frozen=True, **SLOTS)
class Origin:
    """Where a piece of evidence came from: which host, through which input.

    *host* names the machine the evidence describes (a bundle's manifest host, this host for a
    live diagnosis); a plain file on the command line has no known host (""). *input* is what
    the user gave (the file or bundle path; "live" for probes of this host). Every fact and
    evidence line keeps it, so two bundles of two hosts never mix.
    """

    kind: str = LIVE  # FILE, BUNDLE or LIVE
    input: str = "live"
    host: str = ""
    details: tuple[tuple[str, str], ...] = ()  # e.g. a bundle's manifest: created, made by, options.conn

    def detail(self, key: str) -> str | None:
        return dict(self.details).get(key)

    def label(self, name: str) -> str:
        """How evidence item *name* of this origin is cited in findings.

        >>> Origin(BUNDLE, "west.tar.xz", "gw-west").label("pluto_log")
        'west.tar.xz:pluto_log'
        >>> Origin(FILE, "/var/log/pluto.log").label("pluto_log")
        '/var/log/pluto.log'
        >>> Origin().label("whack_status")
        'whack_status'
        """
        if self.kind == FILE:
            return self.input
        if self.kind == BUNDLE:
            return f"{self.input}:{name}"
        return name


LOCAL = Origin()


@dataclass(frozen=True, **SLOTS)
class EvidenceSpec:
    name: str
    bundle_path: str
    description: str
    # Redaction policy names understood by swandoc.bundle.redact ("none" = nothing secret expected,
    # but the generic scrubber still runs over every text item).
    redaction: str = "generic"


@dataclass(frozen=True, **SLOTS)
class Evidence:
    """One named piece of raw material, or the reason it could not be had."""

    name: str
    content: bytes | None
    origin: str  # how it was gathered: the command line, or the file path inside the host
    status: int | None = None  # exit status of a command
    duration: float = 0.0
    error: str | None = None  # why it is missing (no root, tool missing, daemon down ...)
    redactions: tuple[tuple[str, int], ...] = ()
    meta: tuple[tuple[str, str], ...] = ()
    where: Origin = LOCAL  # which host, through which input (bundle, file, live)
    path: str | None = None  # a file to stream instead of *content* (a big log, a pcap; "-" = stdin)

    @property
    def available(self) -> bool:
        return (self.content is not None or self.path is not None) and self.error is None

    @property
    def label(self) -> str:
        """The name findings cite this item by (names the bundle or file it came from)."""
        return self.where.label(self.name)

    def text(self) -> str:
        return (self.content or b"").decode("utf-8", errors="replace")

    def open(self) -> BinaryIO:
        """A binary stream of the item, without reading a file-backed item into memory."""
        if self.content is not None:
            return io.BytesIO(self.content)
        if self.path == "-":
            return sys.stdin.buffer
        if self.path is None:
            raise ValueError(f"{self.name}: no content")
        return open(self.path, "rb")


def _specs(*specs: EvidenceSpec) -> dict[str, EvidenceSpec]:
    return {s.name: s for s in specs}


REGISTRY: dict[str, EvidenceSpec] = _specs(
    EvidenceSpec("libreswan_version", "commands/ipsec_version.txt", "ipsec --version"),
    EvidenceSpec("ipsec_conf", "config/ipsec.conf", "resolved ipsec.conf with includes", "config"),
    EvidenceSpec("ipsec_secrets", "config/ipsec.secrets", "secrets files, censored", "secrets"),
    EvidenceSpec("nss_password", "config/nsspassword.censored", "NSS password file, censored", "nsspassword"),
    EvidenceSpec("whack_status", "commands/whack_status.txt", "ipsec whack --status"),
    EvidenceSpec("whack_trafficstatus", "commands/whack_trafficstatus.txt", "ipsec whack --trafficstatus"),
    EvidenceSpec("whack_initiate", "commands/whack_initiate.txt", "ipsec whack --initiate (diagnose --initiate)"),
    EvidenceSpec("whack_listall", "commands/whack_listall.txt", "ipsec whack --listall"),
    EvidenceSpec("nss_certs", "commands/certutil_L.txt", "NSS certificate list (no keys)"),
    EvidenceSpec("fips_status", "commands/fips.txt", "FIPS mode"),
    EvidenceSpec("crypto_policy", "commands/crypto_policy.txt", "system crypto-policy backend"),
    EvidenceSpec("xfrm_state", "commands/ip_xfrm_state.txt", "ip xfrm state, keys removed", "xfrm_state"),
    EvidenceSpec("xfrm_policy", "commands/ip_xfrm_policy.txt", "ip xfrm policy"),
    EvidenceSpec("xfrm_stat", "proc/xfrm_stat.txt", "/proc/net/xfrm_stat"),
    EvidenceSpec("xfrm_stat_end", "proc/xfrm_stat_end.txt", "/proc/net/xfrm_stat at the end"),
    EvidenceSpec("links", "net/links.json", "links (netlink)"),
    EvidenceSpec("addresses", "net/addresses.json", "addresses (netlink)"),
    EvidenceSpec("routes", "net/routes.json", "routes (netlink)"),
    EvidenceSpec("route_to_peer", "net/route_to_peer.json", "route, device and MTU toward the peer"),
    EvidenceSpec("ip_rules", "net/rules.json", "policy routing rules (netlink)"),
    EvidenceSpec("iptables_save", "firewall/iptables-save.txt", "iptables-save"),
    EvidenceSpec("ip6tables_save", "firewall/ip6tables-save.txt", "ip6tables-save"),
    EvidenceSpec("nft_ruleset", "firewall/nft-ruleset.json", "nft -j list ruleset"),
    EvidenceSpec("sysctls", "proc/sysctls.txt", "relevant sysctls"),
    EvidenceSpec("listening_sockets", "commands/ss.txt", "sockets pluto listens on"),
    EvidenceSpec("pluto_process", "commands/pluto_process.txt", "is pluto running"),
    EvidenceSpec("pluto_log", "logs/pluto.log", "pluto log lines", "log"),
    EvidenceSpec("ike_capture", "capture/ike.pcap", "packet capture of IKE/ESP", "none"),
    EvidenceSpec("connection", "config/connection.json", "the connection's resolved definition", "config"),
)


@dataclass(**SLOTS)
class EvidenceSet:
    """What one run gathered: items by name, in the order they were gathered."""

    items: dict[str, Evidence] = field(default_factory=dict)

    def add(self, item: Evidence) -> None:
        self.items[item.name] = item

    def get(self, name: str) -> Evidence | None:
        return self.items.get(name)

    def __iter__(self):
        return iter(self.items.values())

# fleet (issue 13): the mesh's opportunistic policy groups, /etc/ipsec.d/policies/* joined
# (see swandoc/probes/policies.py); addresses only, the generic scrubber is enough.
REGISTRY["ipsec_policies"] = EvidenceSpec("ipsec_policies", "config/policies.txt",
                                          "opportunistic policy groups (/etc/ipsec.d/policies/*)")

# What a support engineer expects in a bundle (issue 10), beside what diagnose reads.
REGISTRY.update(_specs(
    EvidenceSpec("nss_keys", "commands/certutil_K.txt", "certutil -K: private keys' CKA_IDs (leftckaid=) and nicknames"),
    EvidenceSpec("xfrm_state_stats", "commands/ip_s_xfrm_state.txt", "ip -s xfrm state: counters, lifetimes, keys removed",
                 "xfrm_state"),
    EvidenceSpec("nm_connections", "config/nm-connections.txt", "NetworkManager-libreswan connections, secrets removed",
                 "nm_connection"),
    EvidenceSpec("kernel_version", "commands/kernel_version.txt", "/proc/version"),
    EvidenceSpec("os_release", "commands/os_release.txt", "/etc/os-release"),
    EvidenceSpec("ipsec_service_status", "commands/systemctl_status_ipsec.txt", "systemctl status ipsec"),
    EvidenceSpec("hosts_file", "config/hosts.txt", "/etc/hosts (names the config may use)"),
))
