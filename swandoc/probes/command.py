"""``swandoc diagnose CONN``: probe this host, then run the same rules as ``analyze``.

Read-only unless ``--initiate`` is given. Heavy libraries (pyroute2, scapy, systemd) are
imported inside the probes, so loading this module costs nothing for other commands.
"""
from __future__ import annotations

import sys

import click

from ..clitools import (DEFAULT_CAPTURE_SECONDS, capture_options, no_esp_option, capture_seconds, config_option, ctl_socket_option, format_option,
                        help_epilog, html_option, log_option, output_option, since_option, timeout_option)


def probe_summary(evidence, parse_errors=()) -> list[tuple[str, str, str]]:
    """(probe name, ok/failed, one-line result or reason) for the report's probe section.

    *parse_errors* are the (name, message) pairs ``swandoc.parse`` kept in the host's
    ``HostFacts.parse_errors``: an item that was gathered but could not be parsed feeds
    no rule, so it is "failed" here, or the report would be silently missing its checks.
    """
    unparsed = dict(parse_errors)
    rows = []
    for item in evidence:
        if item.name in unparsed:
            reason = unparsed[item.name] or "the parser gave no reason"
            rows.append((item.name, "failed", _short(f"could not parse: {reason} [{item.origin}]")))
        elif item.available:
            lines = item.text().count("\n")
            size = len(item.content or b"")
            result = f"{item.origin} ({lines} lines)" if size else f"{item.origin} (empty)"
            if item.redactions:
                result += "; " + ", ".join(f"{n} {what} removed" for what, n in item.redactions)
            for key, value in item.meta:
                if key != "filter":  # the BPF filter is long and always the same
                    result += f"; {key}: {value.splitlines()[0] if value else ''}"
            rows.append((item.name, "ok", _short(result)))
        else:
            # The reason first: origins can be long (the capture's origin carries its filter).
            rows.append((item.name, "failed", _short(f"{item.error} [{item.origin}]")))
    return rows


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


@click.command("diagnose", epilog=help_epilog(
    ("why is myvpn down? read-only; captures IKE/ESP for 10 s", "swandoc diagnose myvpn"),
    ("bring the connection up during a 20 s capture (changes the host)", "swandoc diagnose myvpn --initiate --duration 20"),
    ("no capture; the journal of the last 2 hours", "swandoc diagnose myvpn --no-capture --since -2h"),
    ("pluto logs to a file; keep the capture", "swandoc diagnose myvpn --log /var/log/pluto.log --pcap myvpn.pcap"),
    ("an HTML report to attach to a ticket", "swandoc diagnose myvpn --format html -o myvpn.html"),
))
@click.argument("conn")
@config_option
@ctl_socket_option
@log_option
@since_option("-1h")
@capture_options(on_by_default=True)
@no_esp_option
@click.option("--interface", metavar="IFACE", help="Capture on IFACE (default: the one routing to the peer).")
@click.option("--pcap", metavar="FILE", help="Keep the capture in FILE.")
@click.option("--initiate", is_flag=True, help="Bring the connection up during the capture (changes the host).")
@timeout_option
@format_option
@output_option
@html_option
def diagnose(conn: str, config_path: str, ctl_socket: str, log_path: str | None, since: str, duration: float | None,
             no_capture: bool, no_esp: bool, interface: str | None, pcap: str | None, initiate: bool, timeout: float, fmt: str,
             output: str | None, html_path: str | None) -> None:
    """Diagnose connection CONN on this host with live probes.

    Gathers the connection's definition, pluto's state, logs, firewall, routing/MTU, xfrm
    state and (unless --no-capture) a bounded packet capture, then reports findings.
    Read-only unless --initiate is given. Progress goes to stderr on a terminal only.
    """
    from ..analysis import build_report
    from ..clitools import emit_report
    from ..facts import Facts
    from .collect import CollectOptions, collect
    from ..parse import parse_evidence

    interactive = sys.stderr.isatty()

    def progress(message: str) -> None:
        if interactive:
            click.echo(f"swandoc: {message}", err=True)

    seconds = capture_seconds(duration, no_capture, on_by_default=True)
    options = CollectOptions(conn=conn, config=config_path, ctl_socket=ctl_socket, log=log_path, since=since,
                             duration=seconds or DEFAULT_CAPTURE_SECONDS, interface=interface, capture=seconds is not None, pcap=pcap,
                             initiate=initiate, countdown=interactive, timeout=timeout, esp=not no_esp)
    evidence = collect(options, progress=progress)
    facts = Facts(focus=conn)
    parse_evidence(evidence, facts, conn)
    parse_errors = [error for host in facts.hosts.values() for error in host.parse_errors]
    report = build_report(facts, command="diagnose", extras=[("probes", probe_summary(evidence, parse_errors))])
    from ..check import add_live_readiness
    report = add_live_readiness(report, config_path, conn)  # what ipsec verify checked, beyond the probes
    sys.exit(emit_report(report, fmt, output, html_path))
