"""``swandoc diagnose CONN``: probe this host, then run the same rules as ``analyze``.

Read-only unless ``--initiate`` is given. Heavy libraries (pyroute2, scapy, systemd) are
imported inside the probes, so loading this module costs nothing for other commands.
"""
from __future__ import annotations

import sys

import click

from ..clitools import format_option, output_option


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


@click.command("diagnose")
@click.argument("conn")
@click.option("--config", "config_path", default="/etc/ipsec.conf", show_default=True, metavar="PATH",
              help="ipsec.conf to read (includes and also= are followed).")
@click.option("--ctl-socket", default="/run/pluto/pluto.ctl", show_default=True, metavar="PATH",
              help="pluto's control socket.")
@click.option("--log", "log_path", metavar="PATH", help="Read this pluto log file instead of the journal "
              "(default: logfile= of config setup if set).")
@click.option("--since", metavar="WHEN", help="Journal window in journalctl syntax (default: -1h).")
@click.option("--duration", type=click.FloatRange(0.5, 3600), default=10, show_default=True, metavar="SECONDS",
              help="How long to capture.")
@click.option("--interface", metavar="IFACE", help="Capture on IFACE (default: the one routing to the peer).")
@click.option("--no-capture", is_flag=True, help="Do not capture packets.")
@click.option("--pcap", metavar="FILE", help="Keep the capture in FILE.")
@click.option("--initiate", is_flag=True, help="Bring the connection up during the capture (changes the host).")
@format_option
@output_option
def diagnose(conn: str, config_path: str, ctl_socket: str, log_path: str | None, since: str | None, duration: float,
             interface: str | None, no_capture: bool, pcap: str | None, initiate: bool, fmt: str,
             output: str | None) -> None:
    """Diagnose connection CONN on this host with live probes.

    Gathers the connection's definition, pluto's state, logs, firewall, routing/MTU, xfrm
    state and (unless --no-capture) a bounded packet capture, then reports findings.
    Exit status: 0 no problem found, 1 problems found, 2 usage error.
    """
    from ..analysis import build_report
    from ..clitools import emit
    from ..facts import Facts
    from ..report import render
    from .collect import CollectOptions, collect
    from ..parse import parse_evidence

    interactive = sys.stderr.isatty()

    def progress(message: str) -> None:
        if interactive:
            click.echo(f"swandoc: {message}", err=True)

    options = CollectOptions(conn=conn, config=config_path, ctl_socket=ctl_socket, log=log_path, since=since,
                             duration=duration, interface=interface, capture=not no_capture, pcap=pcap,
                             initiate=initiate, countdown=interactive)
    evidence = collect(options, progress=progress)
    facts = Facts(focus=conn)
    parse_evidence(evidence, facts, conn)
    parse_errors = [error for host in facts.hosts.values() for error in host.parse_errors]
    report = build_report(facts, command="diagnose", extras=[("probes", probe_summary(evidence, parse_errors))])
    emit(render(report, fmt), output)
    sys.exit(report.exit_code)
