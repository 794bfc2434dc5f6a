"""Log rules: is pluto itself healthy (running, not crashing, its configuration readable)?

These rank above every negotiation finding: a pluto that aborted, never started or cannot read
ipsec.conf explains whatever the tunnel did afterwards (why before what).
"""
from __future__ import annotations

from ..facts import Facts
from .registry import rule
from .knowledge import REF_BASIC, REF_KERNEL, REF_LOGS, UP_TO_4, V5, finding, topic
from .support import lines_of

# Knowledge: what each id means and what to do (the project's own words).

topic("pluto-crashed", "critical", "pluto crashed (a Libreswan bug)", "local", """
    The IKE daemon itself died: an internal consistency check failed (ABORT: ASSERTION FAILED), it
    was killed by a signal (segmentation fault, abort), dumped core, or systemd had to restart it.
    That is a bug in Libreswan, not a configuration mistake, even when a particular configuration or
    a peer's packet triggers it. Every SA it held is gone, and whatever the logs show after the crash
    (a tunnel down, whack unable to connect) is a consequence.""", [
    "Note the exact version: ipsec --version, and the package (rpm -q libreswan or dpkg -l libreswan); "
    "check the Libreswan release notes for a fix and upgrade if a newer release has one",
    "Collect for the bug report: the ABORT / ASSERTION FAILED or signal line with the log lines before it, "
    "the core dump (coredumpctl list pluto; coredumpctl dump pluto -o pluto.core, or the dumpdir, "
    "/run/pluto by default), and ipsec --version",
    "If it can be reproduced, add a log with plutodebug=all and logfile=/var/log/pluto.log in config setup, "
    "and the connections involved without their secrets (swandoc bundle writes them redacted)",
    "Report it at https://github.com/libreswan/libreswan/issues (or to your distribution's bug tracker) "
    "with what you collected",
], REF_LOGS, 101)  # above pluto-not-running (100): the crash is why it is not running

# pluto-not-running's knowledge lives with the live probe that finds it too (host.py); the log rule below
# reports the same id from whack's or pluto's own words.

topic("kernel-ipsec-unsupported", "critical", "The kernel has no usable IPsec (XFRM) support", "local", """
    pluto stopped at start-up because the running kernel does not provide the IPsec (XFRM) interface it
    needs: the kernel was built without it, its modules are missing after a kernel upgrade, or pluto
    runs in a container whose host kernel does not offer it (Docker Desktop on macOS or Windows, for
    example). No tunnel can work on this kernel; anything pluto logs afterwards (an abort while it
    exits, whack unable to connect) follows from this.""", [
    "Check the kernel: uname -r; lsmod | grep -E 'xfrm|esp4|af_key'; modprobe xfrm_user esp4 esp6",
    "After a kernel upgrade, install the matching modules package (or reboot into the kernel whose modules "
    "are installed)",
    "In a container, the host kernel must provide XFRM and ESP: run on a Linux host that has them, "
    "with the modules loaded on the host",
], REF_KERNEL, 102)  # above pluto-crashed: an abort while exiting after this is a consequence

topic("config-syntax-error", "error", "The configuration has lines pluto's parser refuses", "local", """
    A line of ipsec.conf (or a file it includes) is not valid: a keyword this Libreswan version does
    not know (for example one introduced in a later release, such as ikev1-policy=, which is 5.x only),
    an option outside a section or not indented under its conn, a line without '=', an unterminated
    quote, a key given twice, an also= naming no conn. Depending on the mistake pluto refuses the whole
    file or just the connection, so nothing or not everything loads. The evidence names the file and line.""", [
    "Open the file at the line named in the evidence and correct it: conn parameters are indented under "
    "'conn NAME' (or 'config setup'), each written as the keyword, an equals sign and its value",
    "Check the keyword against man ipsec.conf of the installed version (ipsec --version)",
    "Let Libreswan check the whole file before restarting: ipsec addconn --checkconfig --config /etc/ipsec.conf",
    ("Then load the conn: ipsec auto --add NAME (or systemctl restart ipsec)", UP_TO_4),
    ("Then load the conn: ipsec add NAME (or systemctl restart ipsec)", V5),
], REF_BASIC, 96)


@rule
def crashed(facts: Facts):
    signals = [s for c in facts.connections() for s in c.all("crashed")]
    if not signals:
        return
    checks = [s for c in facts.connections() for s in c.all("internal_error")]  # the same bug, seen earlier
    versions = sorted({s.version for s in facts.sources if s.version})
    known = (f"The log names Libreswan {', '.join(versions)}: give that version in the report."
             if versions else "The log does not name the version: run ipsec --version on that host.")
    details = {"libreswan version": ", ".join(versions)} if versions else {}
    failed = next((e.text.partition("ASSERTION FAILED")[2].lstrip(": ") for s in signals for e in s.lines()
                   if "ASSERTION FAILED" in e.text), None)
    if failed:
        details["failed check"] = failed
    yield finding("pluto-crashed", None, (lines_of(*checks) + lines_of(*signals))[:8], extra=known,
                  details=details or None)


@rule
def kernel_unsupported(facts: Facts):
    signals = [s for c in facts.connections() for s in c.all("kernel_unsupported")]
    if signals:
        yield finding("kernel-ipsec-unsupported", None, lines_of(*signals)[:6])


@rule
def not_running(facts: Facts):
    signals = [s for c in facts.connections() for s in c.all("daemon_down")]
    if signals:
        yield finding("pluto-not-running", None, lines_of(*signals)[:6],
                      extra="Here the log says so: whack could not reach pluto's control socket, or pluto "
                            "stopped at start-up with a FATAL error (the evidence names what it could not do).")


@rule
def config_syntax(facts: Facts):
    signals = [s for c in facts.connections() for s in c.all("config_error")]
    if signals:
        said = next((v for s in signals for v in s.values), None)
        yield finding("config-syntax-error", None, lines_of(*signals)[:6],
                      extra=f"The parser said: {said}." if said else None)
