"""A realistic hand-built Report, for renderer tests and for looking at the HTML.

The pluto lines are in Libreswan 4.x logfile wording (documentation addresses); the finding
texts are placeholders in the shape the rules produce. ``hostile=True`` puts markup and
terminal escapes where peers control the text (IKE IDs, connection names, log lines).
"""
from __future__ import annotations

from ..model import EvidenceLine, Finding, Report, SourceSummary

XSS_SCRIPT = "<script>alert(1)</script>"
XSS_ATTR = '"><img src=x onerror=alert(1)>'


def sample_report(*, hostile: bool = False, command: str = "analyze", probes: bool = False) -> Report:
    conn = "west-east" + (XSS_ATTR if hostile else "")
    peer_id = "@east" + (XSS_SCRIPT if hostile else "")
    src_w = "west.log" + (XSS_SCRIPT if hostile else "")
    src_e = "east.log"
    ts = "Nov 26 20:44:33"
    ike = Finding(
        id="ike-proposal-mismatch",
        severity="error",
        title="IKE proposal mismatch: the peer accepts none of the offered IKE algorithms",
        connection=conn,
        side="both",
        evidence=(
            EvidenceLine(src_e, 41, f'{ts}.364929: "{conn}" #1: responding to IKE_SA_INIT message (ID 0) from '
                                    f"192.0.2.1:500 with unencrypted notification NO_PROPOSAL_CHOSEN"),
            EvidenceLine(src_w, 17, f'{ts}.366102: "{conn}" #1: dropping unexpected IKE_SA_INIT message containing '
                                    f"NO_PROPOSAL_CHOSEN notification; message payloads: N; missing payloads: SA,KE,Ni"),
            EvidenceLine(src_e, 39, f'{ts}.364120: | remote proposals: 1:IKE:ENCR=AES_CBC_128;PRF=HMAC_SHA1;'
                                    f"INTEG=HMAC_SHA1_96;DH=MODP2048 " + "x" * 180),
        ),
        explanation=(f"east ({peer_id}) answered west's first IKE message with NO_PROPOSAL_CHOSEN: the two ends "
                     "share no encryption / integrity / DH combination for the IKE SA. West offered "
                     "AES_CBC_128-HMAC_SHA1-MODP2048; east accepts only AES_GCM_256 with DH19."),
        fix=(
            "Make the ike= lines on both ends share at least one proposal, e.g. in /etc/ipsec.d/west-east.conf "
            "on west:\n    ike=aes_gcm256-sha2_256;dh19\n    esp=aes_gcm256",
            "Reload the connection on west: ipsec auto --replace west-east",
            "ipsec auto --up west-east",
        ),
        reference='RHEL 9 "Configuring a VPN with IPsec" §4.13 Troubleshooting: mismatched algorithms, protocols, and policies',
        rank=90,
        details=(("offered", "AES_CBC_128-HMAC_SHA1-MODP2048"), ("accepted", "AES_GCM_256-DH19")),
    )
    retrans = Finding(
        id="ike-no-response",
        severity="warning",
        title="No answer to IKE_SA_INIT: retransmitted and then gave up",
        connection="roadwarrior",
        side="path",
        evidence=(
            EvidenceLine(src_w, 88, f'{ts}.900001: "roadwarrior" #3: STATE_V2_PARENT_I1: retransmission; '
                                    "will wait 0.5 seconds for response"),
            EvidenceLine(src_w, 95, f'{ts}.950001: "roadwarrior" #3: STATE_V2_PARENT_I1: 60 second timeout '
                                    "exceeded after 7 retransmits.  No response (or no acceptable response) to our "
                                    "first IKEv2 message"),
        ),
        explanation="West sent IKE_SA_INIT to 198.51.100.7 seven times and never heard back. UDP 500 is "
                    "probably blocked between the ends, or the peer is down or at another address.",
        fix=("Check that the peer answers on UDP 500: tcpdump -ni any udp port 500 or udp port 4500",
             "Allow IKE in the peer's firewall: iptables -I INPUT -p udp -m multiport --dports 500,4500 -j ACCEPT",
             "Confirm right= points at the peer's real public address."),
        reference='RHEL 9 "Configuring a VPN with IPsec" §4.13 Troubleshooting: firewall-related problems',
        rank=80,
    )
    up = Finding(
        id="tunnel-up",
        severity="info",
        title="IKE SA and Child SA established",
        connection="north-south",
        side="both",
        evidence=(EvidenceLine(src_w, 120, f'{ts}.990001: "north-south" #5: initiator established Child SA using #4; '
                                           "IPsec tunnel [192.0.2.0-192.0.2.255:0-65535 0] -> "
                                           "[198.51.100.0-198.51.100.255:0-65535 0] {ESP/ESN=>0x1234abcd <0xdcba4321 "
                                           "xfrm=AES_GCM_16_256-NONE DPD=passive}"),),
        explanation="The tunnel came up; nothing to fix on this connection.",
        fix=(),
        reference='RHEL 9 "Configuring a VPN with IPsec" §4.3 Creating a host-to-host VPN',
        rank=10,
    )
    sources = (
        SourceSummary(name=src_w, kind="pluto-log", lines=1234, pluto_lines=1200, debug_lines=950, unparsed=3,
                      events=41, version="4.10", first_time=f"{ts}.100000", last_time=f"{ts}.990001",
                      notes=["line 777 was cut mid-line (truncated log?)"],
                      unparsed_samples=[EvidenceLine(src_w, 777, f'{ts}.555: "{conn}" #2: half a li'),
                                        EvidenceLine(src_w, 900, "\x1b[31mnot a pluto line " + (XSS_SCRIPT if hostile else "")),
                                        EvidenceLine(src_w, 901, "third sample, not shown in text")]),
        SourceSummary(name=src_e, kind="pluto-log", lines=88, pluto_lines=88, debug_lines=0, unparsed=0, events=9),
        SourceSummary(name="west.pcap", kind="pcap", packets=14),
    )
    extras: list[tuple[str, object]] = []
    if probes:
        extras.append(("probes", [
            # What swandoc.probes.command.probe_summary writes: evidence names, ok/failed.
            ("whack_status", "ok", "ipsec whack --status (38 lines)"),
            ("connection", "ok", f"conn {conn} of /etc/ipsec.conf (1 lines)"),
            ("nft_ruleset", "failed", "could not parse: Expecting value: line 1 column 1 (char 0) [nft -j list ruleset] "
             + (XSS_SCRIPT if hostile else "")),
            ("route_to_peer", "ok", "ip -j route get 198.51.100.7 (1 lines)"),
            ("ike_capture", "failed", "capture needs root (CAP_NET_RAW) [capture on eth0]"),
        ]))
    return Report(
        tool_version="0.1.0",
        command=command,
        generated="2026-11-26T20:45:00+00:00",
        verdict="problems",
        findings=(ike, retrans, up),
        sources=sources,
        extras=tuple(extras),
    )
