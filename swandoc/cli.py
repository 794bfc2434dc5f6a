"""The ``swandoc`` command: thin click wrappers over the library.

Each front door lives beside the code it drives (``swandoc.lab.command``,
``swandoc.probes.command``, ``swandoc.bundle.command``); this module only wires them up and
turns :class:`~swandoc.errors.SwandocError` into a one-line message with exit status 2. The
options every command shares, the help layout and the output path are in ``swandoc.clitools``.
Subcommand modules import heavy libraries (scapy, pyroute2) lazily so ``analyze`` stays fast.
"""
from __future__ import annotations

import atexit
import gc
import importlib
import os
import sys

import click

from . import __version__
from .clitools import emit_report, format_option, help_epilog, html_option, input_progress, output_option
from .errors import EXIT_INTERNAL, EXIT_INTERRUPTED, SwandocError


def one_line(message: str, limit: int = 1000) -> str:
    """An error message as the one line the exit-status contract promises: a library's message or a
    file name may hold newlines and control characters; a hostile one may be megabytes long.

    >>> one_line("cannot open:\\n- method gz: bad\\x1b[31m")
    'cannot open: - method gz: bad?[31m'
    """
    flat = " ".join(message.split())
    flat = "".join(c if c.isprintable() else "?" for c in flat[:limit])
    return flat + (" ..." if len(message) > limit else "")


# The other front doors, loaded only when named (or when help lists them): "swandoc analyze" must not
# pay for the lab's scenario tables or the probes at every start (see benchmarks/README.md).
LAZY_COMMANDS = {"diagnose": "swandoc.probes.command:diagnose", "bundle": "swandoc.bundle.command:bundle",
                 "lab": "swandoc.lab.command:lab", "check": "swandoc.check.command:check"}


class SwandocGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(LAZY_COMMANDS))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in LAZY_COMMANDS and name not in self.commands:
            module, _, attr = LAZY_COMMANDS[name].partition(":")
            self.add_command(getattr(importlib.import_module(module), attr), name)
        return super().get_command(ctx, name)

    def load_all(self) -> dict[str, click.Command]:
        """Every command, the lazy ones loaded (for tools that walk the command tree)."""
        for name in LAZY_COMMANDS:
            self.get_command(click.Context(self), name)
        return dict(self.commands)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except SwandocError as exc:
            click.echo(f"swandoc: error: {one_line(str(exc))}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("swandoc: interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, SystemExit):
            raise
        except Exception as exc:  # a bug of ours: one line for the user, the traceback on request
            if os.environ.get("SWANDOC_DEBUG"):
                raise
            click.echo(f"swandoc: internal error: {type(exc).__name__}: {one_line(str(exc))} "
                       "(set SWANDOC_DEBUG=1 for details and please report it)", err=True)
            sys.exit(EXIT_INTERNAL)


@click.group(cls=SwandocGroup, context_settings={"help_option_names": ["-h", "--help"]}, epilog=help_epilog(
    ("why did the tunnel fail? (a pluto log, or both ends at once)", "swandoc analyze west.log east.log"),
    ("live, on the gateway", "swandoc diagnose myvpn"),
    ("a redacted support bundle", "swandoc bundle -o support.tar.xz"),
    ("reproduce a failure with two real plutos", "swandoc lab --list"),
    ("help on one command, with its examples", "swandoc analyze --help"),
))
@click.version_option(__version__, prog_name="swandoc")
def main() -> None:
    """Troubleshooting and diagnostics for Libreswan IPsec VPNs."""


@main.command(epilog=help_epilog(
    ("a pluto logfile=", "swandoc analyze /var/log/pluto.log"),
    ("both ends of a tunnel together: one explains the other", "swandoc analyze west.log east.log"),
    ("the journal, from stdin", "journalctl -u ipsec -o json | swandoc analyze -"),
    ("rotated logs", "swandoc analyze pluto.log.2.gz pluto.log.1.xz pluto.log"),
    ("what whack printed", "ipsec auto --up myvpn 2>&1 | swandoc analyze -"),
    ("a capture, and a support bundle, as an HTML page",
     "swandoc analyze --conn myvpn --format html -o report.html capture.pcap bundle.tar.xz"),
    ("in a script: status 0 only for a healthy tunnel, 4 when the log shows nothing to judge",
     "swandoc analyze pluto.log >/dev/null || echo \"swandoc says $?\""),
))
@click.argument("paths", nargs=-1, metavar="PATH...")
@click.option("--conn", metavar="NAME", help="Only report on this connection.")
@format_option
@output_option
@html_option
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
    On a terminal, a long run shows which input it is reading on stderr. Several bundles (one
    per host) are diagnosed as one network: hosts, tunnels paired end to end, mesh policy conflicts.
    """
    from .fleet.command import emit_fleet, fleet_requested, run_fleet

    if fleet_requested(paths, name_from_file, failures_path, unreachable):
        with input_progress(paths):
            report = run_fleet(paths, conn, name_from_file, failures_path, unreachable)
        sys.exit(emit_fleet(report, fmt, output, html_path))
    if not paths:
        raise click.UsageError("give at least one PATH")
    from .analysis import analyze_paths

    with input_progress(paths):
        report = analyze_paths(paths, conn=conn)
    sys.exit(emit_report(report, fmt, output, html_path))


# A run is one pass that builds its facts and report once and exits: the cyclic garbage collector
# would only walk them again and again as they grow (a big log makes hundreds of thousands of
# objects, none of them in a cycle). It still runs, rarely (see run()).
GC_THRESHOLD = (50_000, 20, 100)


def run() -> None:
    """The ``swandoc`` program: :func:`main`, then exit at once.

    The objects a run built are not torn down one by one at exit (on a big log that is tens of
    milliseconds of freeing memory the kernel takes back anyway): once the output is flushed and
    the exit handlers have run (temporary directories, logging), the process ends with main's
    status. Anything unexpected, a flush that fails, and a thread still running (Python waits for it)
    take Python's usual way out.
    """
    gc.set_threshold(*GC_THRESHOLD)
    try:
        main(prog_name="swandoc")
    except SystemExit as exc:
        status = exc.code
        threading = sys.modules.get("threading")
        if (status is not None and not isinstance(status, int)) or (threading and threading.active_count() > 1):
            raise
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):
            raise exc from None
        atexit._run_exitfuncs()  # (what Python's own exit would run, in the same order)
        try:  # and what the handlers wrote
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):
            status = 120  # as Python's own exit when flushing fails there
        os._exit(status or 0)
