"""``swandoc lab``: run a scenario (or two user configs) in namespaces and analyze the result."""
from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path

import click

from ..clitools import emit_report, format_option, help_epilog, html_option, output_option
from ..errors import SwandocError
from .roots import HOST_VERSION, ROOTS, VERSIONS
from .scenarios import SCENARIOS


def _default_out(label: str) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path.cwd() / f"swandoc-lab-{label}-{stamp}"


def _print_lab_summary(result) -> None:
    o = result.outcome
    lines = [
        f"lab: scenario {result.scenario}: {result.description}",
        f"lab: kernel can install ESP SAs: {'yes' if result.kernel_esp else 'no'}",
        f"lab: IKE SA established: {'yes' if o.ike_established else 'no'}; "
        f"Child SA established: {'yes' if o.child_established else 'no'}; "
        f"kernel SA install failed: {'yes' if o.sa_install_failed else 'no'}"
        + ("" if o.traffic_ok is None else f"; traffic through tunnel: {'ok' if o.traffic_ok else 'FAILED'}"),
        f"lab: expected finding: {result.expected or '-'}; took {result.duration:.1f}s; "
        f"evidence in {result.out_dir}",
    ]
    for line in lines:
        click.echo(line, err=True)


@click.command("lab", epilog=help_epilog(
    ("the failure scenarios, one a line", "swandoc lab --list"),
    ("reproduce one (as root): logs, capture and configs land in ./swandoc-lab-NAME-TIME",
     "swandoc lab ikev2-psk-mismatch"),
    ("will these two configs talk to each other?",
     "swandoc lab --west-conf mine.conf --west-secrets mine.secrets --east-conf theirs.conf --east-secrets theirs.secrets"),
    ("keep the evidence in a known place; the report as HTML", "swandoc lab healthy --out /tmp/lab --format html -o lab.html"),
    ("a migration: a Libreswan 5 initiator against this host's 4.x responder",
     "swandoc lab ikev2-psk-mismatch --west-version 5 --east-version 4"),
    ("remove what a killed run left behind", "swandoc lab --cleanup"),
))
@click.argument("scenario", required=False)
@click.option("--list", "list_only", is_flag=True, help="List the scenarios, one a line.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), metavar="DIR",
              help="Directory for logs, capture and configs (default: ./swandoc-lab-NAME-TIME).")
@format_option
@output_option
@html_option
@click.option("--debug", is_flag=True, help="Run both plutos with plutodebug=all.")
@click.option("--west-conf", type=click.Path(exists=True, dir_okay=False), metavar="FILE",
              help="Your initiator's ipsec.conf (its first conn is used).")
@click.option("--east-conf", type=click.Path(exists=True, dir_okay=False), metavar="FILE",
              help="Your responder's ipsec.conf.")
@click.option("--west-secrets", type=click.Path(exists=True, dir_okay=False), metavar="FILE",
              help="The initiator's ipsec.secrets (with --west-conf).")
@click.option("--east-secrets", type=click.Path(exists=True, dir_okay=False), metavar="FILE",
              help="The responder's ipsec.secrets (with --east-conf).")
@click.option("--west-version", type=click.Choice(VERSIONS), default=HOST_VERSION, show_default=True,
              help="Libreswan major version west runs: 4 is this host's own, 5 comes from a Debian 13 root.")
@click.option("--east-version", type=click.Choice(VERSIONS), default=HOST_VERSION, show_default=True,
              help="Libreswan major version east runs.")
@click.option("--build-root", type=click.Choice(tuple(ROOTS)), metavar="VERSION",
              help="(Re)build the cached Debian root with Libreswan VERSION (debootstrap), then exit.")
@click.option("--cleanup", is_flag=True,
              help="Remove namespaces and processes left behind by lab runs that died, then exit.")
def lab(scenario, list_only, out_dir, fmt, output, html_path, debug, west_conf, east_conf, west_secrets, east_secrets,
        west_version, east_version, build_root, cleanup):
    """Reproduce an IPsec failure with two real pluto daemons in network namespaces.

    SCENARIO is one of --list; or give --west-conf and --east-conf to find out whether two
    configurations talk to each other. Needs root; what happened goes to stderr, the
    report to stdout (or -o).
    """
    # click 7 has no Path(path_type=): paths arrive as str and become Path here.
    out_dir, west_conf, east_conf, west_secrets, east_secrets = (
        None if p is None else Path(p) for p in (out_dir, west_conf, east_conf, west_secrets, east_secrets))
    if list_only:
        width = max(len(s.name) for s in SCENARIOS)
        for s in SCENARIOS:
            click.echo(f"{s.name:<{width}}  {s.description}")
        return
    if os.geteuid() != 0:
        raise SwandocError("swandoc lab needs root (it creates network namespaces and runs pluto)")

    from . import runner

    if cleanup:
        removed = runner.cleanup_stale()
        click.echo(f"swandoc lab: removed {len(removed)} stale lab namespace(s)"
                   + (": " + ", ".join(removed) if removed else ""))
        return
    if build_root:
        from . import roots
        try:
            root = roots.build(build_root, force=True, log=lambda msg: click.echo(f"swandoc lab: {msg}", err=True))
        except roots.RootError as exc:
            raise SwandocError(str(exc)) from None
        click.echo(f"swandoc lab: Libreswan {build_root} root ready in {root}")
        return
    if (west_conf is None) != (east_conf is None):
        raise SwandocError("give both --west-conf and --east-conf")
    if west_conf is None and not scenario:
        raise SwandocError("name a SCENARIO (see swandoc lab --list) or give --west-conf and --east-conf")
    if west_conf is not None and scenario:
        raise SwandocError("give either a SCENARIO or --west-conf/--east-conf, not both")

    versions = (west_version, east_version)
    if west_conf is not None:
        out_dir = out_dir or _default_out("configs")
        result = runner.run_configs(west_conf, east_conf, west_secrets, east_secrets, out_dir=out_dir, debug=debug,
                                    versions=versions)
    else:
        from .scenarios import canonical
        if canonical(scenario) is None:
            raise SwandocError(f"unknown scenario {scenario!r}; see swandoc lab --list")
        scenario = canonical(scenario)
        out_dir = out_dir or _default_out(scenario)
        result = runner.run_scenario(scenario, out_dir, debug=debug, versions=versions)
    # runner.LabError is a SwandocError, and Ctrl-C reaches the command group: one line, as everywhere.

    _print_lab_summary(result)
    from swandoc.analysis import analyze_paths

    report = analyze_paths([str(p) for p in result.evidence_paths()], command="lab")
    sys.exit(emit_report(report, fmt, output, html_path))
