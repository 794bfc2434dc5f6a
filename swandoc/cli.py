"""The ``swandoc`` command: thin click wrappers over the library.

Each front door lives beside the code it drives (``swandoc.lab.command``,
``swandoc.probes.command``, ``swandoc.bundle.command``); this module only wires them up and
turns :class:`~swandoc.errors.SwandocError` into a one-line message with exit status 2.
Subcommand modules import heavy libraries (scapy, pyroute2) lazily so ``analyze`` stays fast.
"""
from __future__ import annotations

import os
import sys

import click

from . import __version__
from .clitools import emit, format_option, output_option
from .errors import SwandocError


class SwandocGroup(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except SwandocError as exc:
            click.echo(f"swandoc: error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("swandoc: interrupted", err=True)
            sys.exit(130)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, SystemExit):
            raise
        except Exception as exc:  # a bug of ours: one line for the user, the traceback on request
            if os.environ.get("SWANDOC_DEBUG"):
                raise
            click.echo(f"swandoc: internal error: {type(exc).__name__}: {exc} "
                       "(set SWANDOC_DEBUG=1 for details and please report it)", err=True)
            sys.exit(3)


@click.group(cls=SwandocGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="swandoc")
def main() -> None:
    """Troubleshooting and diagnostics for Libreswan IPsec VPNs."""


@main.command()
@click.argument("paths", nargs=-1, metavar="PATH...")
@click.option("--conn", metavar="NAME", help="Only report on this connection.")
@format_option
@output_option
@click.option("--html", "html_path", metavar="FILE", help="Also write the HTML report to FILE.")
@click.option("--name-from-file", is_flag=True,
              help="Fleet: name each bundle's host after its file (gw-a.tar.xz -> gw-a), as Ansible fetched it.")
@click.option("--failures", "failures_path", metavar="FILE",
              help="Fleet: JSON {host: reason or {reason, address}} of hosts that gave no bundle (the playbook writes it).")
@click.option("--unreachable", "unreachable", multiple=True, metavar="NAME[=REASON]",
              help="Fleet: a host that gave no bundle (repeatable).")
def analyze(paths: tuple[str, ...], conn: str | None, fmt: str, output: str | None, html_path: str | None,
            name_from_file: bool, failures_path: str | None, unreachable: tuple[str, ...]) -> None:
    """Diagnose pluto logs, journal exports, whack output, pcaps and support bundles offline.

    Give several files at once (both ends of a tunnel, rotated .gz/.xz logs); '-' reads stdin.
    Several bundles (one per host) are diagnosed as one network: hosts, tunnels paired end to
    end, mesh policy conflicts. Exit status: 0 no problem found, 1 problems found, 2 usage error
    or unreadable input.
    """
    from .fleet.command import fleet_requested, run_fleet

    if fleet_requested(paths, name_from_file, failures_path, unreachable):
        report, render_fn = run_fleet(paths, conn, name_from_file, failures_path, unreachable)
    else:
        if not paths:
            raise click.UsageError("give at least one PATH")
        from .analysis import analyze_paths
        from .report import render

        report = analyze_paths(paths, conn=conn)
        render_fn = render
    emit(render_fn(report, fmt), output)
    if html_path:
        emit(render_fn(report, "html"), html_path)
    sys.exit(report.exit_code)


def _register_subcommands() -> None:
    from .bundle.command import bundle
    from .lab.command import lab
    from .probes.command import diagnose

    main.add_command(diagnose)
    main.add_command(bundle)
    main.add_command(lab)


_register_subcommands()
