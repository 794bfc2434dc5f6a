"""The lab's scenarios as a declarative table.

Each scenario says which topology it needs, how west (the initiator) and east (the
responder) differ from the common base connection, which fault is injected, and which
swandoc finding id the analysis should put first. Runner code interprets the table; no
scenario carries code of its own.
"""
from __future__ import annotations

from dataclasses import dataclass, field

# Throwaway pre-shared keys: they exist only in the lab's namespaces and fixtures.
LAB_PSK = "swandoc-lab-throwaway-psk-0123456789abcdef"
OTHER_PSK = "swandoc-lab-a-different-psk-fedcba9876543210"

CONN_NAME = "lab"

# Options every lab connection shares: fail fast instead of retrying for minutes.
BASE_CONN = {
    "leftid": "@west",
    "rightid": "@east",
    "authby": "secret",
    "ikev2": "insist",
    "keyingtries": "1",
    "retransmit-interval": "500",
    "retransmit-timeout": "3",
    "auto": "add",
}


@dataclass(frozen=True)
class Fault:
    """One thing done to the lab to break it.

    kind:
      ``firewall``      iptables rule (``args``) in namespace ``where``
      ``nft``           nft command lines (``args`` joined) loaded in ``where``
      ``mtu``           set MTU ``args[0]`` on ``args[1]`` in ``where``
      ``no-responder``  east's pluto is never started
    """

    kind: str
    where: str = "east"
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    expected: str                     # finding id on a kernel without ESP (this CI)
    expected_with_esp: str | None = None  # finding id when the kernel can install ESP SAs
    topology: str = "plain"           # plain | router | nat
    auth: str = "psk"                 # psk | rsa-raw | x509 | x509-untrusted
    subnets: bool = False             # subnet-to-subnet (dummy lan0 in each peer)
    west: dict[str, str] = field(default_factory=dict)   # overrides of BASE_CONN for west
    east: dict[str, str] = field(default_factory=dict)   # overrides of BASE_CONN for east
    west_setup: dict[str, str] = field(default_factory=dict)  # extra "config setup" keys
    east_setup: dict[str, str] = field(default_factory=dict)
    west_psk: str = LAB_PSK
    east_psk: str = LAB_PSK
    west_secrets_ids: str = "@west @east"
    east_secrets_ids: str = "@west @east"
    faults: tuple[Fault, ...] = ()
    pcap_decides: bool = False        # the capture alone is enough to diagnose it
    big_certs: bool = False           # larger RSA keys so IKE_AUTH is certainly big
    # Where one end's evidence cannot show the root cause, what that end alone does show
    # (view -> finding id). Views: initiator, responder, both, pcap. Applies when the
    # kernel-with-ESP expectation does not.
    by_view: dict[str, str] = field(default_factory=dict)
    # Views with no evidence of the scenario at all (e.g. east never saw a packet).
    blind_views: tuple[str, ...] = ()
    needs_espintcp: bool = False      # TCP encapsulation: the kernel must know espintcp
    expected_without_espintcp: str = "tcp-encap-unsupported"

    def expected_for(self, kernel_esp: bool, view: str = "both", espintcp: bool = True,
                     responder_version: str = "4") -> str:
        if self.needs_espintcp and not espintcp:
            return self.expected_without_espintcp
        if kernel_esp and self.expected_with_esp:
            return self.expected_with_esp
        expected = self.by_view.get(view, self.expected)
        # A 5.x responder whose kernel refuses the SA answers TEMPORARY_FAILURE, not TS_UNACCEPTABLE.
        if view == "initiator" and responder_version == "5":
            expected = RESPONDER_V5_SAYS.get(expected, expected) if self.by_view.get(view) else expected
        return expected


IKEV1 = {"ikev2": "no"}
# What the initiator alone sees when a 5.x responder's kernel refuses the Child SA.
RESPONDER_V5_SAYS = {"ts-unacceptable": "child-sa-temporary-failure"}
# Without ESP in the kernel the responder fails to install the Child SA and answers
# TS_UNACCEPTABLE: the initiator's own evidence shows only that notify.
INITIATOR_HEARS_TS = {"initiator": "ts-unacceptable"}
# Debian's 4.10 pluto refuses IKEv1 unless config setup allows it ("global ikev1-policy
# does not allow IKEv1 connections"), so every IKEv1 scenario opts in on purpose.
ALLOW_V1 = {"ikev1-policy": "accept"}
DROP_UDP_IKE = (
    Fault("firewall", "east", ("-A", "INPUT", "-p", "udp", "--dport", "500", "-j", "DROP")),
    Fault("firewall", "east", ("-A", "INPUT", "-p", "udp", "--dport", "4500", "-j", "DROP")),
)

SCENARIOS: tuple[Scenario, ...] = (
    Scenario("healthy", "matching IKEv2 PSK subnet-to-subnet config on both ends",
             expected="kernel-sa-install-failed", expected_with_esp="tunnel-up", subnets=True,
             by_view=INITIATOR_HEARS_TS),
    Scenario("ikev2-psk-mismatch", "IKEv2, each end has a different pre-shared key",
             expected="authentication-failed", east_psk=OTHER_PSK),
    Scenario("ikev1-psk-mismatch", "IKEv1 Main Mode, each end has a different pre-shared key",
             expected="ikev1-psk-mismatch", west=IKEV1, east=IKEV1, east_psk=OTHER_PSK,
             west_setup=ALLOW_V1, east_setup=ALLOW_V1),
    Scenario("ike-proposal-mismatch-v2", "IKEv2, no IKE algorithm in common",
             expected="ike-proposal-mismatch",
             west={"ike": "aes256-sha2_256-modp2048"}, east={"ike": "aes128-sha2_512-dh19"}),
    Scenario("ike-proposal-mismatch-v1", "IKEv1, no IKE algorithm in common",
             expected="ike-proposal-mismatch",
             west={**IKEV1, "ike": "aes256-sha2_256-modp2048"},
             east={**IKEV1, "ike": "aes128-sha1-modp1536"},
             west_setup=ALLOW_V1, east_setup=ALLOW_V1),
    Scenario("esp-proposal-mismatch-v2", "IKEv2, IKE agrees but no ESP algorithm in common",
             expected="child-proposal-mismatch",
             west={"esp": "aes256-sha2_256"}, east={"esp": "aes128-sha1"}),
    Scenario("esp-proposal-mismatch-v1", "IKEv1, Main Mode agrees but no ESP algorithm in common",
             expected="child-proposal-mismatch",
             west={**IKEV1, "esp": "aes256-sha2_256"}, east={**IKEV1, "esp": "aes128-sha1"},
             west_setup=ALLOW_V1, east_setup=ALLOW_V1),
    Scenario("ts-mismatch", "subnets do not match: east expects a different west subnet",
             expected="ts-unacceptable", subnets=True,
             east={"leftsubnet": "203.0.113.192/26"}),
    Scenario("udp500-blocked", "east's firewall drops IKE (UDP 500 and 4500)",
             expected="ike-no-response", faults=DROP_UDP_IKE, pcap_decides=True,
             # the firewall drops before pluto: east logs nothing about it
             blind_views=("responder",)),
    Scenario("responder-down", "east's pluto is not running: ICMP port unreachable",
             expected="peer-unreachable", faults=(Fault("no-responder"),), pcap_decides=True,
             blind_views=("responder",)),
    Scenario("id-mismatch", "west identifies itself as @west-office, east expects @west",
             expected="authentication-failed",
             west={"leftid": "@west-office"}, west_secrets_ids="@west-office @east"),
    Scenario("secret-missing", "east's secrets file has no PSK for this pair of IDs",
             expected="secret-not-found", east_secrets_ids="@somebody @else",
             # west only hears AUTHENTICATION_FAILED; the missing PSK shows on east
             by_view={"initiator": "authentication-failed"}),
    Scenario("large-packets-dropped",
             "certificate auth, fragmentation=no, the router drops UDP packets over 1000 bytes",
             expected="large-packets-dropped", topology="router", auth="x509", big_certs=True,
             west={"fragmentation": "no"}, east={"fragmentation": "no"},
             faults=(
                 Fault("firewall", "router", ("-A", "FORWARD", "-p", "udp", "-m", "length",
                                              "--length", "1000:65535", "-j", "DROP")),
                 # non-first fragments carry no UDP header; drop them too
                 Fault("firewall", "router", ("-A", "FORWARD", "-f", "-j", "DROP")),
             ), pcap_decides=True),
    Scenario("nat-t-blocked", "west behind NAT; the router drops UDP 4500 so IKE_AUTH is lost",
             expected="nat-t-blocked", topology="nat", subnets=True,
             faults=(Fault("firewall", "router", ("-A", "FORWARD", "-p", "udp", "--dport", "4500",
                                                  "-j", "DROP")),),
             pcap_decides=True,
             # At plutodebug=none east logs no NAT detection and no port: it only sees
             # IKE_SA_INIT answered and IKE_AUTH never arriving, exactly as when a big
             # IKE_AUTH is dropped. The NAT shows in west's log and in the capture.
             by_view={"responder": "large-packets-dropped"}),
    Scenario("nat-healthy", "west behind NAT, nothing blocked (NAT-T on UDP 4500)",
             expected="kernel-sa-install-failed", expected_with_esp="tunnel-up", topology="nat",
             subnets=True,
             by_view=INITIATOR_HEARS_TS),
    Scenario("ikev1-policy", "west proposes IKEv1, east refuses IKEv1 (ikev1-policy=reject)",
             expected="ikev1-disabled", west=IKEV1, east=IKEV1,
             west_setup=ALLOW_V1, east_setup={"ikev1-policy": "reject"}),
    Scenario("ike-version-mismatch", "west is IKEv1 only, east is IKEv2 only",
             expected="ike-version-mismatch", west=IKEV1,
             west_setup=ALLOW_V1, east_setup=ALLOW_V1,
             # east drops IKEv1 silently: to west alone this is a peer that never answers
             by_view={"initiator": "ike-no-response"}),
    Scenario("rsa-raw", "raw RSA keys (ipsec newhostkey) on both ends",
             expected="kernel-sa-install-failed", expected_with_esp="tunnel-up", auth="rsa-raw",
             by_view=INITIATOR_HEARS_TS),
    Scenario("x509", "certificates from a lab CA made with certutil",
             expected="kernel-sa-install-failed", expected_with_esp="tunnel-up", auth="x509",
             by_view=INITIATOR_HEARS_TS),
    Scenario("x509-untrusted-ca", "west's certificate is issued by a CA east does not trust",
             expected="authentication-failed", auth="x509-untrusted"),
    Scenario("tcp-encap", "IKE over TCP (RFC 8229): east listen-tcp=yes, west enable-tcp=yes",
             expected="kernel-sa-install-failed", expected_with_esp="tunnel-up", needs_espintcp=True,
             west={"enable-tcp": "yes", "tcp-remoteport": "4500"},
             east={"enable-tcp": "yes", "tcp-remoteport": "4500"},
             east_setup={"listen-tcp": "yes"},
             by_view=INITIATOR_HEARS_TS),
)

VIEWS = ("initiator", "responder", "both", "pcap")

BY_NAME = {s.name: s for s in SCENARIOS}


def canonical(name: str) -> str | None:
    """The scenario's own name for *name*, which may leave out the "ike" of "ikev1-"/"ikev2-" (as
    people write "v2-psk-mismatch"); None when there is no such scenario.

    >>> canonical("v2-psk-mismatch"), canonical("ikev2-psk-mismatch"), canonical("nosuch")
    ('ikev2-psk-mismatch', 'ikev2-psk-mismatch', None)
    """
    if name in BY_NAME:
        return name
    if name.startswith(("v1-", "v2-")) and "ike" + name in BY_NAME:
        return "ike" + name
    return None


def get(name: str) -> Scenario:
    found = canonical(name)
    if found is None:
        raise KeyError(f"unknown lab scenario {name!r}; try: swandoc lab --list")
    return BY_NAME[found]
