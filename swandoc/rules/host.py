"""Rules over host evidence gathered by ``swandoc diagnose`` (or read back from a bundle).

Each rule only speaks when its evidence is there: ``analyze`` of a bare log never gets host
findings, and a probe that could not run is reported in the probe summary, not guessed at.
"""
from __future__ import annotations

import dataclasses
import ipaddress
from typing import TYPE_CHECKING, Iterator

from ..facts import HostFacts
from ..model import Finding
if TYPE_CHECKING:  # the probe parsers load when a host is diagnosed, not with every log analysis
    from ..probes.config import Connection
    from ..probes.netfilter import FwChain, FwRule, Packet, Ruleset
from .registry import host_rule
from .knowledge import (REF_BASIC, REF_FIREWALL, REF_KERNEL, REF_MTU, REF_NAT, REF_SITE, UP_TO_4, V5, finding,
                        fix_step, topic)

topic("pluto-not-running", "critical", "The IKE daemon (pluto) is not running", "local", """
    Nothing answers on pluto's control socket and no pluto process runs in this network namespace,
    so no connection can be loaded, initiated or answered. Everything else in this report describes
    a host with no IKE daemon.""", [
    "Start it: systemctl start ipsec (then systemctl status ipsec and journalctl -u ipsec for why it stopped)",
    "Check the configuration before starting: ipsec addconn --checkconfig",
    "If pluto runs with a non-default run directory, point swandoc at its socket: --ctl-socket PATH",
], REF_BASIC, 100)

topic("local-firewall-blocks-ike", "error", "This host's firewall drops IKE or ESP on the way in", "local", """
    A rule in the input path of this host's own firewall drops or rejects traffic the tunnel needs
    (UDP 500 for IKE, UDP 4500 for NAT-T, IP protocol 50 for ESP, TCP 4500 when IKE over TCP is
    used). The peer's requests or the encrypted traffic never reach pluto or the kernel, which looks
    to both ends like the other side is not answering.""", [
    "Allow IKE, NAT-T and ESP in (firewalld: firewall-cmd --permanent --add-service=ipsec && firewall-cmd --reload)",
], REF_FIREWALL, 90)

topic("nat-masquerade-before-ipsec", "error", "A NAT rule rewrites tunnel traffic before IPsec sees it", "local", """
    A MASQUERADE/SNAT rule in POSTROUTING also catches traffic from the local protected subnet to the
    remote one, with no earlier rule exempting it. The source address is rewritten to this gateway's
    address, the packet no longer matches the connection's IPsec policy, and it leaves unencrypted
    (or is dropped) instead of going through the tunnel.""", [
    "Exempt traffic between the protected subnets ahead of the NAT rule, e.g. iptables -t nat -I POSTROUTING "
    "-s LOCAL-SUBNET -d REMOTE-SUBNET -j RETURN (nft: a return rule before the masquerade)",
    "Or match only traffic without an IPsec policy: -m policy --dir out --pol none on the masquerade rule",
    "Make it permanent in the firewall configuration you use (iptables-save > /etc/iptables/rules.v4, "
    "/etc/nftables.conf, or a firewalld rich rule/policy)",
], REF_NAT, 85)

topic("mtu-too-small", "warning", "Encrypted packets do not fit the path MTU toward the peer", "path", """
    The path toward the peer carries smaller packets than a normal 1500-byte Ethernet, and IPsec adds
    its own headers on top. Full-size packets from the protected networks must be fragmented after
    encryption; when fragments are lost, small packets (ping, SSH login) work while large transfers
    hang.""", [
    "Set a lower tunnel MTU in the conn, e.g. mtu=1400 (the path MTU minus the IPsec overhead)",
    ("Then reload the conn: ipsec auto --replace NAME", UP_TO_4),
    ("Then reload the conn: ipsec replace NAME", V5),
    "Clamp TCP MSS to the path MTU: iptables -t mangle -I FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS "
    "--clamp-mss-to-pmtu",
], REF_MTU, 60)

topic("mss-not-clamped", "warning", "TCP MSS is not clamped for tunnel traffic", "local", """
    No TCPMSS rule (iptables) or 'tcp option maxseg size set' rule (nftables) adjusts TCP's maximum
    segment size, so TCP connections through the tunnel still try full-size segments that do not fit
    the reduced MTU.""", [
    "iptables -t mangle -I FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu",
], REF_MTU, 55)

topic("xfrm-errors", "warning", "The kernel's IPsec layer counts errors", "local", """
    /proc/net/xfrm_stat shows non-zero error counters: the kernel dropped packets in its IPsec
    (XFRM) layer. Counters that grew while swandoc watched point at the current problem; old
    non-zero values may come from earlier events.""", [
    "Watch the counters while reproducing: watch -d cat /proc/net/xfrm_stat",
    "Compare with pluto's view: ip xfrm state; ip xfrm policy; ipsec trafficstatus",
    "If the counters grow and the SAs look right, collect them with the IKE logs and report it (swandoc bundle)",
], REF_KERNEL, 40)

topic("xfrm-stats-unavailable", "info", "The kernel does not expose XFRM statistics", "local", """
    /proc/net/xfrm_stat is missing (kernel built without CONFIG_XFRM_STATISTICS, or XFRM not loaded),
    so kernel-side IPsec drops could not be checked.""", [
    "Run swandoc as root: /proc/net/xfrm_stat is readable by root only on some systems",
    "The kernel needs CONFIG_XFRM_STATISTICS=y for /proc/net/xfrm_stat; without it, compare the byte "
    "counters instead: ip -s xfrm state",
], REF_KERNEL, 5)

topic("ip-forward-disabled", "error", "IP forwarding is off on a subnet-to-subnet gateway", "local", """
    This connection protects networks behind the gateways, so the gateway must forward packets
    between its LAN and the tunnel. net.ipv4.ip_forward is 0: decrypted traffic is never forwarded to
    the LAN and LAN traffic never reaches the tunnel.""", [
    "sysctl -w net.ipv4.ip_forward=1",
    # >> (append): the rp_filter fix adds to the same file
    "Make it permanent: echo 'net.ipv4.ip_forward = 1' >> /etc/sysctl.d/50-ipsec.conf",
], REF_SITE, 80)

topic("rp-filter-strict", "warning", "Strict reverse-path filtering on a subnet-to-subnet gateway", "local", """
    rp_filter=1 (strict) drops packets whose source address would not be routed back out of the
    interface they arrived on. Decrypted tunnel traffic arrives from the remote subnet on the
    outside interface and can be dropped by this check; Libreswan recommends loose (2) or off (0)
    on gateways.""", [
    "sysctl -w net.ipv4.conf.all.rp_filter=2 (loose mode; or 0 on the interfaces that carry the tunnel)",
    "Make it permanent: echo 'net.ipv4.conf.all.rp_filter = 2' >> /etc/sysctl.d/50-ipsec.conf",
], REF_SITE, 35)


# ------------------------------------------------------------------------------- daemon state

@host_rule
def pluto_not_running(host: HostFacts) -> Iterator[Finding]:
    status = host.evidence.get("whack_status")
    if status is None or status.available:
        return
    procs = host.processes
    if procs and any(p.same_netns for p in procs):
        return  # it runs, the socket is elsewhere: the whack error says so in the probe summary
    conn = host.connection
    lines = [host.line("whack_status", f"{status.origin}: {status.error}")]
    if procs is not None:
        others = [p for p in procs if not p.same_netns]
        lines.append(host.line("pluto_process", "no pluto process in this network namespace" +
                                  (f" ({len(others)} in other namespaces)" if others else "")))
    yield finding("pluto-not-running", conn.name if conn else None, lines)


@host_rule
def connection_not_loaded(host: HostFacts) -> Iterator[Finding]:
    status, conn = host.whack_status, host.connection
    item = host.evidence.get("whack_status")
    if status is None or conn is None or item is None or not item.available:
        return
    if conn.name in status.conns:
        return
    loaded = ", ".join(status.conns) or "none"
    yield finding("connection-not-loaded", conn.name, [
        host.line("whack_status", f"{item.origin}: connections loaded: {loaded}"),
    ], extra=f"The configuration defines conn {conn.name!r} but pluto has not loaded it.")


topic("pluto-not-listening", "error", "pluto does not listen where the peer sends IKE", "local", """
    pluto runs, but no socket is open on a port this connection needs at this host's address (UDP 500
    for IKE, UDP 4500 for NAT-T, TCP 4500 with listen-tcp=yes). Requests from the peer are answered by
    the kernel with ICMP port unreachable, or silently lost. Typical causes: the address was added
    after pluto started and it was not told to rescan, listen= in config setup names another address,
    or another program holds the port.""", [
    "Make pluto rescan the interfaces: ipsec whack --listen",
    "Check listen= and listen-tcp= in the config setup section of ipsec.conf",
    "See who holds the port: ss -ulnp 'sport = :500'; ss -ulnp 'sport = :4500'",
], REF_BASIC, 88)


def _wanted_sockets(conn: Connection) -> list[tuple[str, int, str]]:
    wanted = [("udp", 500, "IKE (UDP 500)"), ("udp", 4500, "NAT-T (UDP 4500)")]
    if conn.listen_tcp:
        wanted.append(("tcp", 4500, "IKE over TCP (TCP 4500, listen-tcp=yes)"))
    return wanted


@host_rule
def pluto_not_listening(host: HostFacts) -> Iterator[Finding]:
    conn, sockets, procs = host.connection, host.sockets, host.processes
    if conn is None or sockets is None or not procs or not any(p.same_netns for p in procs):
        return  # without a running pluto, pluto-not-running says it all
    local = conn.local_address()
    wildcard = {"0.0.0.0", "*", "::", ""}
    missing = []
    for proto, port, what in _wanted_sockets(conn):
        bound = [s for s in sockets if s.proto == proto and s.port == port]
        if not any(local is None or s.address in wildcard or s.address == local for s in bound):
            missing.append(what)
    if not missing:
        return
    item = host.evidence.get("listening_sockets")
    where = f" at {local}" if local else ""
    lines = [host.line("listening_sockets", f"{item.origin if item else 'ss'}: nothing on {m}{where}")
             for m in missing]
    yield finding("pluto-not-listening", conn.name, lines, extra="Missing: " + ", ".join(missing) + where + ".")


# ------------------------------------------------------------------------------------ firewall

def _rulesets(host: HostFacts, ipv6: bool = False) -> list[tuple[Ruleset, bool]]:
    """(ruleset, skip iptables-nft compat chains) for each firewall view available."""
    out = []
    ipt = (host.ip6tables if ipv6 else host.iptables)
    if ipt is not None:
        out.append((ipt, False))
    nft = host.nft
    if nft is not None:
        # iptables-nft chains show up in both views; report them once, from iptables-save.
        out.append((nft, ipt is not None and bool(ipt.rules)))
    return out


def _source(family: str, backend: str) -> str:
    if backend == "nft":
        return "nft_ruleset"
    return "ip6tables_save" if family == "ip6" else "iptables_save"


def _delete_command(r: FwRule) -> str:
    if r.backend == "iptables":
        spec = r.text.split(None, 2)
        tool = "ip6tables" if r.family == "ip6" else "iptables"
        return f"{tool} -t {r.table} -D {spec[1]} {spec[2] if len(spec) > 2 else ''}".rstrip()
    return f"nft delete rule {r.family} {r.table} {r.chain} handle {r.line}"


def _accept_command(chain: FwChain, proto: str, port: int | None) -> str:
    """The command that accepts *proto*/*port* at the top of *chain*, in the chain's own tool.

    >>> from swandoc.probes.netfilter import FwChain
    >>> nft = FwChain("nft", "inet", "filter", "input", "input", "filter", policy="drop")
    >>> _accept_command(nft, "udp", 500)
    'nft insert rule inet filter input udp dport 500 accept'
    >>> _accept_command(FwChain("iptables", "ip", "filter", "INPUT", "input", "filter"), "esp", None)
    'iptables -t filter -I INPUT -p esp -j ACCEPT'
    """
    match = f"{proto} dport {port}" if port else ("meta l4proto esp" if proto == "esp" else f"meta l4proto {proto}")
    if chain.backend == "iptables":
        tool = "ip6tables" if chain.family == "ip6" else "iptables"
        args = f"-p {proto}" + (f" --dport {port}" if port else "")
        return f"{tool} -t {chain.table} -I {chain.name} {args} -j ACCEPT"
    return f"nft insert rule {chain.family} {chain.table} {chain.name} {match} accept"


@host_rule
def local_firewall_blocks_ike(host: HostFacts) -> Iterator[Finding]:
    from ..probes.netfilter import FwChain, Packet, verdict_for

    conn = host.connection
    peer = conn.remote_address() if conn else None
    rulesets = _rulesets(host, ipv6=bool(peer and ":" in peer))
    if conn is None or not rulesets:
        return
    route = host.route_to_peer
    iif = route.dev if route else None
    wanted = [("IKE (UDP 500)", "udp", 500), ("NAT-T (UDP 4500)", "udp", 4500)]
    if (conn.encapsulation or "auto") != "yes":
        wanted.append(("ESP (IP protocol 50)", "esp", None))
    if conn.uses_tcp:
        wanted.append(("IKE over TCP (TCP 4500)", "tcp", conn.tcp_remoteport or 4500))
    blocked: list[tuple[str, str, int | None, FwRule | None, FwChain]] = []
    for ruleset, skip_compat in rulesets:
        for what, proto, port in wanted:
            pkt = Packet(proto, port, src=peer, iif=iif)
            for outcome in verdict_for(ruleset, "input", pkt, cover=False, skip_compat=skip_compat):
                if outcome.verdict in ("drop", "reject"):
                    blocked.append((what, proto, port, outcome.rule, outcome.chain))
                    break
    if not blocked:
        return
    lines, fixes, names = [], [], []
    for what, proto, port, r, chain in blocked:
        names.append(what)
        # Cited from the ruleset that decided: an nft chain's policy is nft's, with an nft fix.
        source = _source(chain.family, chain.backend)
        where = f"{chain.backend} {chain.family} {chain.table} {chain.name}"
        if r is None:
            lines.append(host.line(source, f"{where}: policy {chain.policy}, no rule accepts {what}"))
            fixes.append(f"Accept {what} before the policy applies: {_accept_command(chain, proto, port)}")
            continue
        lines.append(host.line(source, f"{where}: {r.text}", r.line if r.backend == "iptables" else None))
        fixes.append(f"Remove the rule that blocks {what}: {_delete_command(r)}")
        rule_chain = FwChain(r.backend, r.family, r.table, r.chain, None, None)  # may be a jumped-to chain
        fixes.append(f"or accept {what} ahead of it: {_accept_command(rule_chain, proto, port)}")
    yield finding("local-firewall-blocks-ike", conn.name, lines, extra="Blocked here: " + ", ".join(dict.fromkeys(names)) + ".",
                  extra_fix=list(dict.fromkeys(fixes)))


def _nat_catch(ruleset: Ruleset, pkt: Packet, skip_compat: bool) -> tuple[FwRule | None, FwRule | None]:
    """(masquerade/SNAT rule that catches *pkt*, exemption that saves it first)."""
    from ..probes.netfilter import families_for, rule_matches

    families = families_for(pkt)
    for chain in ruleset.base_chains("postrouting", "nat"):
        if (skip_compat and chain.compat) or chain.family not in families:
            continue
        for r in ruleset.chain_rules(chain.family, chain.table, chain.name):
            if r.verdict in ("return", "accept") and rule_matches(r, pkt, cover=True):
                return None, r
            if r.verdict in ("masquerade", "snat") and rule_matches(r, pkt, cover=False):
                return r, None
    return None, None


def _exemption(r: FwRule, local: str, remote: str) -> str:
    v6 = ipaddress.ip_network(local, strict=False).version == 6
    if r.backend == "iptables":
        tool = "ip6tables" if v6 else "iptables"
        return f"{tool} -t nat -I {r.chain} -s {local} -d {remote} -j RETURN"
    ip = "ip6" if v6 else "ip"
    return f"nft insert rule {r.family} {r.table} {r.chain} {ip} saddr {local} {ip} daddr {remote} return"


@host_rule
def nat_masquerade_before_ipsec(host: HostFacts) -> Iterator[Finding]:
    from ..probes.netfilter import Packet

    conn = host.connection
    if conn is None or not conn.is_subnet_tunnel:
        return
    route = host.route_to_peer
    oif = route.dev if route else None
    locals_ = conn.local_subnets or ((conn.local_address(),) if conn.local_address() else ())
    remotes = conn.remote_subnets or ((conn.remote_address(),) if conn.remote_address() else ())
    ipv6 = any(":" in value for value in locals_)
    for ruleset, skip_compat in _rulesets(host, ipv6=ipv6):
        for local in locals_:
            for remote in remotes:
                try:
                    pkt = Packet(None, None, src=local, dst=remote, oif=oif, ipsec=True)
                except ValueError:
                    continue
                caught, _ = _nat_catch(ruleset, pkt, skip_compat)
                if caught is None:
                    continue
                source = _source(caught.family, caught.backend)
                yield finding("nat-masquerade-before-ipsec", conn.name, [
                    host.line(source, f"{caught.backend} {caught.family} {caught.table} {caught.chain}: {caught.text}",
                              caught.line if caught.backend == "iptables" else None),
                ], extra=f"Traffic {local} -> {remote} is caught by rule {caught.index} of "
                         f"{caught.table} {caught.chain} ({caught.backend}).",
                   fix=[f"Exempt the tunnel traffic ahead of the NAT rule: {_exemption(caught, local, remote)}",
                        "Make it permanent in the firewall configuration you use (iptables-save > /etc/iptables/rules.v4,"
                        " /etc/nftables.conf, or a firewalld rich rule/policy)"],
                   details={"local_subnet": local, "remote_subnet": remote})
                return


# -------------------------------------------------------------------------------------- MTU

def _uses_nat_t(host: HostFacts, conn: Connection) -> bool:
    if (conn.encapsulation or "") == "yes":
        return True
    status = host.whack_status
    if status and any(s.port == 4500 and s.conn == conn.name for s in status.states):
        return True
    states = host.xfrm_state or ()
    return any(s.encap for s in states)


@host_rule
def mtu_too_small(host: HostFacts) -> Iterator[Finding]:
    from ..probes.mtu import esp_overhead
    from ..probes.netfilter import has_mss_clamp

    conn, route = host.connection, host.route_to_peer
    if conn is None or route is None or not route.path_mtu:
        return
    nat_t = _uses_nat_t(host, conn)
    tcp = (conn.enable_tcp or "no") == "yes"
    overhead = esp_overhead(conn.esp, ipv6=route.family == 10, nat_t=nat_t, tcp=tcp, tunnel=conn.type == "tunnel")
    path = route.path_mtu
    inner = path - overhead
    if path >= 1500 or (conn.mtu is not None and conn.mtu <= inner):
        return
    mss = inner - 40
    where = []
    if route.route_mtu and route.route_mtu < (route.link_mtu or 1 << 30):
        where.append(f"{'cached path MTU' if route.cached else 'route MTU'} {route.route_mtu}")
    where.append(f"link MTU of {route.dev} {route.link_mtu}")
    lines = [host.line("route_to_peer", f"toward {route.peer} via {route.dev}: " + ", ".join(where))]
    clamp = None
    for ruleset, _ in _rulesets(host):
        clamp = clamp or has_mss_clamp(ruleset)
    details = {"path_mtu": str(path), "ipsec_overhead": str(overhead), "inner_mtu": str(inner),
               "esp": conn.esp or "default (AES_GCM_16_256)", "nat_t": "yes" if nat_t else "no",
               "conn_mtu": str(conn.mtu) if conn.mtu else "unset"}
    extra = (f"Path MTU {path} minus {overhead} bytes of IPsec overhead ({details['esp']}"
             f"{', NAT-T' if nat_t else ''}) leaves {inner} bytes for the original packet.")
    if clamp:
        extra += f" A TCP MSS clamp is in place ({clamp.text}); it helps TCP only."
    fixes = [f"Set the tunnel MTU in conn {conn.name}: mtu={inner}",
             fix_step((f"Then reload the conn: ipsec auto --replace {conn.name}", UP_TO_4)),
             fix_step((f"Then reload the conn: ipsec replace {conn.name}", V5)),
             "Clamp TCP MSS to the path MTU: iptables -t mangle -I FORWARD -p tcp --tcp-flags SYN,RST SYN "
             "-j TCPMSS --clamp-mss-to-pmtu",
             f"or set it outright: iptables -t mangle -I FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss {mss}"]
    yield finding("mtu-too-small", conn.name, lines, extra=extra, fix=fixes, details=details)
    if clamp is None and conn.is_subnet_tunnel and _rulesets(host):
        yield finding("mss-not-clamped", conn.name, lines + [
            host.line("iptables_save" if host.iptables else "nft_ruleset", "no TCPMSS / maxseg rule in any table")],
            fix=["iptables -t mangle -I FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu",
                 f"nft: add rule inet mangle forward tcp flags syn tcp option maxseg size set {mss} "
                 "(in a forward chain of type filter, priority mangle)"])


# ------------------------------------------------------------------------------------- kernel

XFRM_COUNTERS = {
    "XfrmInError": "inbound packets dropped for an unspecified error",
    "XfrmInBufferError": "no buffer space for inbound packets",
    "XfrmInHdrError": "inbound packets with a malformed header",
    "XfrmInNoStates": "inbound ESP for which no SA exists (unknown SPI: stale SA on one side, or keys not installed)",
    "XfrmInStateProtoError": "inbound packets that failed the SA's protocol check (wrong keys, bad ICV)",
    "XfrmInStateModeError": "inbound packets in the wrong mode (tunnel/transport) for their SA",
    "XfrmInStateSeqError": "inbound packets outside the replay window (replay or heavy reordering)",
    "XfrmInStateExpired": "inbound packets on an expired SA",
    "XfrmInStateMismatch": "inbound packets that matched an SA with other selectors",
    "XfrmInStateInvalid": "inbound packets on an SA that is not valid",
    "XfrmInTmplMismatch": "decrypted packets that did not match the policy's template (traffic selectors differ)",
    "XfrmInNoPols": "inbound packets with no matching policy",
    "XfrmInPolBlock": "inbound packets blocked by a policy",
    "XfrmInPolError": "inbound policy errors",
    "XfrmOutError": "outbound packets dropped for an unspecified error",
    "XfrmOutBundleGenError": "outbound bundle creation failed",
    "XfrmOutBundleCheckError": "outbound bundle check failed",
    "XfrmOutNoStates": "outbound packets that matched a policy with no SA yet (tunnel not up: traffic dropped while IKE negotiates)",
    "XfrmOutStateProtoError": "outbound protocol errors (often the kernel lacks the ESP algorithm)",
    "XfrmOutStateModeError": "outbound mode errors",
    "XfrmOutStateSeqError": "outbound sequence number overflow",
    "XfrmOutStateExpired": "outbound packets on an expired SA",
    "XfrmOutPolBlock": "outbound packets blocked by a policy (a block/hold shunt)",
    "XfrmOutPolDead": "outbound packets on a policy being deleted",
    "XfrmOutPolError": "outbound policy errors",
    "XfrmFwdHdrError": "forwarded packets with header errors",
    "XfrmOutStateInvalid": "outbound packets on an invalid SA",
    "XfrmAcquireError": "the kernel could not ask pluto to negotiate (acquire failed)",
}


EXPECTED_WHILE_NEGOTIATING = {"XfrmOutNoStates"}


@host_rule
def xfrm_errors(host: HostFacts) -> Iterator[Finding]:
    item = host.evidence.get("xfrm_stat")
    if item is None:
        return
    conn = host.connection
    if not item.available:
        yield finding("xfrm-stats-unavailable", conn.name if conn else None,
                      [host.line("xfrm_stat", f"{item.origin}: {item.error}")])
        return
    start = host.xfrm_stat or {}
    end = host.xfrm_stat_end or start
    nonzero = {k: v for k, v in end.items() if v}
    if not nonzero:
        return
    grew = {k: v - start.get(k, 0) for k, v in nonzero.items() if v > start.get(k, 0)}
    lines, explained = [], []
    for name, value in nonzero.items():
        growth = f" (+{grew[name]} during the diagnosis)" if name in grew else ""
        lines.append(host.line("xfrm_stat_end" if host.xfrm_stat_end is not None else "xfrm_stat",
                               f"{name} {value}{growth}"))
        explained.append(f"{name}: {XFRM_COUNTERS.get(name, 'kernel IPsec error counter')}")
    extra = " ".join(f"{e}." for e in explained)
    if grew:
        extra += " Growing now: " + ", ".join(grew) + "."
    found = finding("xfrm-errors", conn.name if conn else None, lines, extra=extra,
                    details={k: str(v) for k, v in nonzero.items()})
    if set(nonzero) <= EXPECTED_WHILE_NEGOTIATING:
        # Traffic hitting a policy before its SA exists is normal while a tunnel comes up: worth
        # showing, not an error by itself.
        found = dataclasses.replace(found, severity="info", rank=10)
    yield found


# --------------------------------------------------------------------------------------- host

@host_rule
def forwarding(host: HostFacts) -> Iterator[Finding]:
    from ..probes.hostinfo import effective_rp_filter

    conn, sysctls = host.connection, host.sysctls
    if conn is None or not sysctls or not conn.is_subnet_tunnel:
        return
    if sysctls.get("net.ipv4.ip_forward") == "0" and any(":" not in s for s in conn.local_subnets + conn.remote_subnets):
        yield finding("ip-forward-disabled", conn.name, [host.line("sysctls", "net.ipv4.ip_forward = 0")])
    route = host.route_to_peer
    dev = route.dev if route else None
    value = effective_rp_filter(sysctls, dev)
    if value == 1:
        lines = [host.line("sysctls", f"net.ipv4.conf.all.rp_filter = {sysctls.get('net.ipv4.conf.all.rp_filter')}")]
        if dev and f"net.ipv4.conf.{dev}.rp_filter" in sysctls:
            lines.append(host.line("sysctls", f"net.ipv4.conf.{dev}.rp_filter = {sysctls[f'net.ipv4.conf.{dev}.rp_filter']}"))
        names = ("all", dev) if dev else ("all",)
        yield finding("rp-filter-strict", conn.name, lines, fix=[
            "sysctl -w " + " ".join(f"net.ipv4.conf.{name}.rp_filter=2" for name in names),
            # appended: the ip_forward fix adds to the same file
            "Make it permanent: printf '%s\\n' " + " ".join(f"'net.ipv4.conf.{name}.rp_filter = 2'" for name in names)
            + " >> /etc/sysctl.d/50-ipsec.conf"])
