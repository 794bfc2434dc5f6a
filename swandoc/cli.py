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
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--conn", metavar="NAME", help="Only report on this connection.")
@format_option
@output_option
@click.option("--html", "html_path", metavar="FILE", help="Also write the HTML report to FILE.")
def analyze(paths: tuple[str, ...], conn: str | None, fmt: str, output: str | None, html_path: str | None) -> None:
    """Diagnose pluto logs, journal exports, whack output, pcaps and support bundles offline.

    Give several files at once (both ends of a tunnel, rotated .gz/.xz logs); '-' reads stdin.
    Exit status: 0 no problem found, 1 problems found, 2 usage error or unreadable input.
    """
    from .analysis import analyze_paths
    from .report import render

    report = analyze_paths(paths, conn=conn)
    emit(render(report, fmt), output)
    if html_path:
        emit(render(report, "html"), html_path)
    sys.exit(report.exit_code)


def _register_subcommands() -> None:
    from .bundle.command import bundle
    from .check.command import check
    from .lab.command import lab
    from .probes.command import diagnose

    main.add_command(diagnose)
    main.add_command(bundle)
    main.add_command(lab)
    main.add_command(check)


_register_subcommands()
