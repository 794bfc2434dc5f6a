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
], REF_TCP, 91)


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


@rule
def kernel(facts: Facts):
    for c in facts.connections():
        s = c.get("netlink_error")
        if not s:
            continue
        errnos = {e.partition("(errno ")[2].rstrip(")") for e in s.values if "(errno " in e}
        errnos |= {e.partition("included errno ")[2].partition(":")[0] for e in s.values if "included errno" in e}
        meaning = "; ".join(NETLINK_ERRNO[n] for n in sorted(errnos) if n in NETLINK_ERRNO)
        yield finding("kernel-sa-install-failed", c.name, lines_of(s),
                      extra=f"Here: {meaning}." if meaning else None,
                      details={"errno": ", ".join(sorted(errnos))} if errnos else None)
