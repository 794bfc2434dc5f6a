"""Log rules: the kernel refuses what pluto negotiated (SA install errors, no espintcp for TCP)."""

from __future__ import annotations

from ..facts import Facts
from .registry import rule
from .knowledge import REF_KERNEL, REF_TCP, finding, topic
from .support import lines_of

# Knowledge: what each id means and what to do (the project's own words).

topic("kernel-sa-install-failed", "critical", "The kernel refused to install the IPsec SA", "local", """
    IKE negotiated the SA, but when pluto handed it to the kernel over netlink (XFRM), the kernel
    refused. The tunnel cannot carry traffic. The error number says why: missing kernel support
    for the algorithm or ESP itself (errno 2, 38, 93), a bad parameter (22), or a leftover SA (17).
    A responder that cannot install its SA answers the initiator with a Child SA error
    (often TS_UNACCEPTABLE), which is misleading on the initiator's side.""", [
    "Check kernel support for ESP and the negotiated algorithms: lsmod | grep -E 'esp4|xfrm'; "
    "modprobe esp4 esp6 xfrm_user; grep -A2 -E 'gcm|cbc' /proc/crypto",
    "Look at the XFRM error counters: cat /proc/net/xfrm_stat (any non-zero value is a problem)",
    "Check for SAs or policies left behind: ip xfrm state; ip xfrm policy",
    "In containers the host kernel must provide the xfrm/esp modules; load them on the host",
], REF_KERNEL, 90)

topic("tcp-encap-unsupported", "error", "The kernel cannot do IKE/ESP over TCP (no espintcp)", "local", """
    The connection uses TCP encapsulation (enable-tcp= / listen-tcp=, RFC 8229), but setting the espintcp
    TCP upper-layer protocol on the socket failed: this kernel lacks espintcp support (CONFIG_INET_ESPINTCP,
    module espintcp), so no IKE or ESP can flow over TCP.""", [
    "Load the module if the kernel has it: modprobe espintcp (and esp4/esp6)",
    "Otherwise use a kernel built with CONFIG_INET_ESPINTCP=y, or fall back to UDP: enable-tcp=fallback "
    "(try UDP first) or enable-tcp=no",
    "The responder only accepts TCP with listen-tcp=yes in its config setup section",
], REF_TCP, 91)


topic("tcp-encap-one-sided", "error", "IKE over TCP is configured on one end only", "both", """
    With enable-tcp=yes the initiator opens TCP to the responder's tcp-remoteport; the responder
    only answers if its config setup has listen-tcp=yes and it listens on that port (Libreswan
    listens on TCP 4500). Otherwise the TCP connection is refused: with enable-tcp=yes the tunnel
    never comes up, with enable-tcp=fallback it only works while UDP does.""", [
    "On the responder: listen-tcp=yes in config setup, then systemctl restart ipsec",
    "On the initiator: enable-tcp=yes (or fallback) and tcp-remoteport=4500 in the conn",
], REF_TCP, 80)

topic("kernel-probe-failed", "warning", "The kernel refused Libreswan 5's startup test SA", "local", """
    At start, Libreswan 5 hands the kernel a throwaway ESP SA (its "Probe Test") to learn what the
    kernel's XFRM layer supports, and the kernel refused it. That is a fact about this host, not about
    any exchange: nothing negotiated reached the kernel. On kernels older than 6.10 it may only mean
    there are no directional SAs (harmless); with "Function not implemented" (errno 38) or "algorithm not
    found" the kernel has no ESP at all, and every Child SA will fail to install once IKE succeeds.
    A failure that stopped an exchange earlier (authentication, proposals, an unreachable peer) is the
    problem to fix first.""", [
    "Check that the kernel can do ESP: lsmod | grep -E 'esp4|esp6|xfrm'; modprobe esp4 esp6 xfrm_user",
    "Check the algorithms the kernel offers: grep -E '^name' /proc/crypto | sort -u",
    "In a container the host's kernel must provide these modules; load them on the host",
], REF_KERNEL, 30)

topic("child-sa-temporary-failure", "error", "The peer answered IKE_AUTH without a Child SA (TEMPORARY_FAILURE)",
      "peer", """
    The IKE SA came up, but the responder's IKE_AUTH answer carried no Child SA: pluto logs "IKE_AUTH
    response missing v2SA, v2TSi or v2TSr". A Libreswan 5 responder answers this way (notify
    TEMPORARY_FAILURE) when it could not finish the Child SA itself, most often because its kernel refused
    to install the SA; a 4.x responder says TS_UNACCEPTABLE in the same situation. The cause is on the
    peer: its log says which.""", [
    "Read the peer's pluto log around the same time for 'netlink response for Add SA' (its kernel refused the "
    "SA): then fix the peer's kernel support (see kernel-sa-install-failed)",
    "Analyze both ends together so one explains the other: swandoc analyze west.log east.log",
], REF_KERNEL, 60)


# Values of a netlink_error signal that are not an SA failing to install: Libreswan 5's startup probe
# (host capability, reported apart) and the clean-up of an SA or policy that never got in.
# 5.2+ logs the probe as "Probe Test" (debug only); development builds before it (libreswan commit
# 3e363aea, Feb 2025) logged "ERROR: netlink response for Add SA Support Probe: ..." at every start.
PROBE_MARKS = ("Probe Test", "Support Probe")
CLEANUP_MARKS = ("netlink response for Del SA", "DELPOLICY", "delete response")


def _is_probe(value: str) -> bool:
    return any(mark in value for mark in PROBE_MARKS)


def _is_install_failure(value: str) -> bool:
    """An SA that reached the kernel and failed there (not the startup probe, not a clean-up).

    >>> _is_install_failure('ERROR: "lab" #2: netlink response for Add SA esp.a8cbcccb@192.0.2.2: '
    ...                     'Function not implemented (errno 38)')
    True
    >>> _is_install_failure("| netlink response for Add SA Probe Test")
    False
    >>> _is_install_failure("ERROR: netlink response for Add SA Support Probe: Function not implemented (errno 38)")
    False
    >>> _is_install_failure('ERROR: "lab" #2: netlink response for Del SA esp.97b20aac@192.0.2.1: '
    ...                     'No such process (errno 3)')
    False
    """
    return not _is_probe(value) and not any(mark in value for mark in CLEANUP_MARKS)


# errno -> what it means for an SA install (pluto's netlink error lines and the kernel's xfrm code)
NETLINK_ERRNO = {
    "2": "the kernel lacks a needed module or algorithm (ENOENT)",
    "22": "the kernel rejected a parameter of the SA, often an algorithm or key length (EINVAL)",
    "38": "the kernel has no ESP/AH implementation loaded (ENOSYS): the esp4/esp6 modules are missing",
    "93": "the kernel does not support this IPsec protocol (EPROTONOSUPPORT)",
    "17": "an SA with the same SPI already exists (EEXIST): state left behind",
    "3": "the SA to change or delete is already gone (ESRCH)",
    "12": "the kernel is out of memory (ENOMEM)",
}


@rule
def tcp_encapsulation(facts: Facts):
    for c in facts.connections():
        s = c.get("tcp_encap_failed")
        if s:
            yield finding("tcp-encap-unsupported", c.name, lines_of(s))
        refused = c.get("tcp_connect_refused")
        if refused:
            yield finding("tcp-encap-one-sided", c.name, lines_of(refused),
                          extra="Here the peer refused the TCP connection: nothing listens on that port.")


def _errnos(values) -> set[str]:
    errnos = {e.partition("(errno ")[2].rstrip(")") for e in values if "(errno " in e}
    return errnos | {e.partition("included errno ")[2].partition(":")[0] for e in values if "included errno" in e}


@rule
def kernel(facts: Facts):
    """An SA that really reached the kernel and failed there; the startup probe is its own finding.

    Ranking principle: an exchange that stopped before any SA reached the kernel is what the user asks
    about. A kernel that cannot do ESP shows in Libreswan 5's startup probe on every start, so the probe
    (and the clean-up of SAs that never got in) must not outrank that failure.
    """
    for c in facts.connections():
        s = c.get("netlink_error")
        if not s:
            continue
        lines = lines_of(s)
        install = [e for e in lines if _is_install_failure(e.text)]
        probe = [e for e in lines if _is_probe(e.text)]
        if probe:
            errnos = _errnos(e.text for e in probe)
            yield finding("kernel-probe-failed", c.name, probe,
                          details={"errno": ", ".join(sorted(errnos))} if errnos else None)
        if not install:
            continue
        errnos = _errnos(e.text for e in install)
        meaning = "; ".join(NETLINK_ERRNO[n] for n in sorted(errnos) if n in NETLINK_ERRNO)
        yield finding("kernel-sa-install-failed", c.name, install,
                      extra=f"Here: {meaning}." if meaning else None,
                      details={"errno": ", ".join(sorted(errnos))} if errnos else None)


@rule
def child_refused(facts: Facts):
    for c in facts.connections():
        refused = c.notified("notify_received", "TEMPORARY_FAILURE") + c.all("child_refused")
        if refused and not c.has("child_established"):
            yield finding("child-sa-temporary-failure", c.name, lines_of(*refused))


# Findings that are what the initiator sees of the responder's kernel refusing the SA (a 4.x
# responder says TS_UNACCEPTABLE, a 5.x one TEMPORARY_FAILURE). Data, so the list can grow.
PEER_KERNEL_SYMPTOMS = {
    "child-sa-temporary-failure": "answered IKE_AUTH without a Child SA (TEMPORARY_FAILURE)",
}


def demote_peer_kernel_symptoms(findings: list) -> list:
    """A symptom seen in other evidence than the kernel failure is ranked below it (like TS_UNACCEPTABLE)."""
    from dataclasses import replace

    # Ends are told apart as correlate does: by host where the evidence names one, else by input.
    kernel_sources = {e.origin_key for f in findings if f.id == "kernel-sa-install-failed" for e in f.evidence}
    if not kernel_sources:
        return findings
    where = ", ".join(sorted(kernel_sources))
    out = []
    for f in findings:
        what = PEER_KERNEL_SYMPTOMS.get(f.id)
        if what and not {e.origin_key for e in f.evidence} & kernel_sources:
            f = replace(f, rank=min(f.rank, 40), severity="warning",
                        title=f"The peer {what}: a symptom of its kernel failure",
                        explanation=f"The other end could not install the IPsec SA in its kernel (see "
                                    f"kernel-sa-install-failed, in {where}) and so {what}. Fix the kernel problem "
                                    f"first. " + f.explanation)
        out.append(f)
    return out
