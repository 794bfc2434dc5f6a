"""What every subcommand shares: options, help layout, output, progress and colour.

One definition per idea, so the same option has the same name, default and syntax in every
command (``docs/commands.md`` has the table). A new command takes its options from here and its
help from :func:`help_epilog`::

    @click.command("check", epilog=help_epilog(
        ("check the config before a restart", "swandoc check /etc/ipsec.conf"),
        ...))
    @format_option
    @output_option

Kept apart from cli.py (which imports the subcommands) so subcommand modules can import it.
Works with click 7.1 (RHEL 9, Debian 11) and click 8: only APIs both have are used here.
"""
from __future__ import annotations

import os
import re
import sys
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterable, Iterator, Sequence

import click

from . import forking
from .errors import EXIT_STATUS_HELP, SwandocError
from .report import FORMATS

# Libreswan's own default (``ipsec whack`` without --ctlsocket) on every distribution swandoc supports;
# /var/run is a link to /run on all of them.
DEFAULT_CTL_SOCKET = "/run/pluto/pluto.ctl"
DEFAULT_CAPTURE_SECONDS = 10.0


# ---- help text -------------------------------------------------------------------------------------

def help_epilog(*examples: tuple[str, str], exit_status: str = EXIT_STATUS_HELP) -> str:
    """The end of a command's --help: examples (what each does, then the command) and exit status.

    ``\\b`` keeps click (7 and 8) from re-wrapping the example block.

    >>> print(help_epilog(("a pluto log", "swandoc analyze pluto.log"), exit_status="0 fine"))
    \b
    Examples:
      # a pluto log
      swandoc analyze pluto.log
    <BLANKLINE>
    Exit status: 0 fine.
    """
    lines = ["\b", "Examples:"]
    for what, command in examples:
        lines += [f"  # {what}", f"  {command}"]
    return "\n".join(lines) + f"\n\nExit status: {exit_status}."


# ---- options ---------------------------------------------------------------------------------------

format_option = click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
                             help="Report format.")
output_option = click.option("-o", "--output", metavar="FILE", help="Write the report to FILE instead of stdout.")
html_option = click.option("--html", "html_path", metavar="FILE",
                           help="Also write the HTML report to FILE (beside the --format output).")
ctl_socket_option = click.option("--ctl-socket", default=DEFAULT_CTL_SOCKET, show_default=True, metavar="PATH",
                                 help="pluto's control socket (what ipsec whack --ctlsocket takes).")
config_option = click.option("--config", "config_path", default="/etc/ipsec.conf", show_default=True,
                             metavar="FILE", help="ipsec.conf to read (include files and also= are followed).")
log_option = click.option("--log", "log_path", metavar="FILE",
                          help="Read this pluto log file instead of the journal "
                               "(default: logfile= of config setup if set).")
timeout_option = click.option("--timeout", type=click.FloatRange(0.1, 600), default=10, show_default=True,
                              metavar="SECONDS", help="Seconds allowed per command before it is cut off.")


def normalize_since(value: str) -> str:
    """A ``--since`` value in journalctl's syntax; a bare duration (``2h``) means that long ago.

    One parser for every command: the journal probe reads the result (``probes.journal``).

    >>> normalize_since("2h"), normalize_since("-1h"), normalize_since(" yesterday ")
    ('-2h', '-1h', 'yesterday')
    """
    text = value.strip()
    if not text:
        raise SwandocError("give a time such as -2h, '30 min ago', yesterday or '2024-05-01 10:00'")
    if re.fullmatch(r"\d+\s*[a-z]+", text, re.IGNORECASE):
        text = "-" + text  # the old `bundle --since 24h` spelling; journalctl itself wants -24h
    return text


def _since_callback(ctx, param, value):
    if value is None:
        return None
    try:
        return normalize_since(value)
    except SwandocError as exc:
        raise click.BadParameter(str(exc)) from None


def since_option(default: str) -> Callable:
    return click.option("--since", default=default, show_default=True, metavar="WHEN", callback=_since_callback,
                        help="Start of the journal window, in journalctl's syntax: -2h, '30 min ago', "
                             "yesterday, '2024-05-01 10:00'.")


def capture_options(*, on_by_default: bool) -> Callable:
    """``--duration SECONDS`` and ``--no-capture``: the same two spellings in diagnose and bundle.

    diagnose captures unless told not to; bundle captures only when given --duration (a capture
    needs CAP_NET_RAW and makes the bundle wait). Read the result with :func:`capture_seconds`.
    """
    when = "" if on_by_default else " A bundle captures only when this is given."
    duration = click.option("--duration", type=click.FloatRange(0.5, 3600), default=None, metavar="SECONDS",
                            help=f"How long to capture IKE/ESP packets (default: {DEFAULT_CAPTURE_SECONDS:g})."
                                 + when)
    no_capture = click.option("--no-capture", is_flag=True, help="Do not capture packets.")

    def decorate(f):
        return duration(no_capture(f))
    return decorate


def no_esp_option(f: Callable) -> Callable:
    """``--no-esp``: capture IKE only; ESP is then kept out in the kernel and never reaches swandoc."""
    return click.option("--no-esp", is_flag=True,
                        help="Leave ESP out of the capture (IKE, NAT-T keepalives and ICMP errors only). By "
                             "default ESP is counted per SPI and direction and a few packets of each are kept.")(f)


def capture_seconds(duration: float | None, no_capture: bool, *, on_by_default: bool) -> float | None:
    """How long to capture, or None for no capture.

    >>> capture_seconds(None, False, on_by_default=True), capture_seconds(None, False, on_by_default=False)
    (10.0, None)
    >>> capture_seconds(3, False, on_by_default=False), capture_seconds(3, True, on_by_default=True)
    (3, None)
    """
    if no_capture:
        return None
    if duration is None:
        return DEFAULT_CAPTURE_SECONDS if on_by_default else None
    return duration


# ---- output ----------------------------------------------------------------------------------------

def emit(text: str | Iterable[str], output: str | None) -> None:
    """Write a rendered report (its text, or its text in pieces) to -o FILE, or to stdout."""
    pieces = (text,) if isinstance(text, str) else text
    if output and output != "-":
        try:
            with open(output, "w", encoding="utf-8") as fh:
                for piece in pieces:
                    fh.write(piece)
        except OSError as exc:
            raise SwandocError(f"cannot write {output}: {exc.strerror}") from None
    else:
        try:
            for piece in pieces:
                click.echo(piece, nl=False)
            sys.stdout.flush()
        except BrokenPipeError:
            # The reader stopped early (| head): not an error of ours. The rest is dropped and stdout
            # pointed at /dev/null, so that Python's own flush at exit does not fail again; the exit
            # status stays the report's.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def emit_report(report, fmt: str, output: str | None, html_path: str | None = None, *, render=None) -> int:
    """Render *report* as --format asks to -o (colour only for text on a terminal), --html beside it;
    return the exit status the report's verdict calls for. *render* (report, format) -> str is the
    ordinary report's renderer unless another is given (the fleet's)."""
    if render is None and fmt == "json":
        from .report.json import json_chunks

        emit(json_chunks(report), output)  # piece by piece: a huge report is never one string
        if html_path:
            from .report import render

            emit(render(report, "html"), html_path)
        return report.exit_code
    if render is None:
        from .report import render

    text = render(report, fmt)
    if fmt == "text" and (not output or output == "-") and use_colour(sys.stdout):
        text = colourize(text)
    emit(text, output)
    if html_path:
        emit(render(report, "html"), html_path)
    return report.exit_code


def use_colour(stream) -> bool:
    """Colour only on a terminal, never when NO_COLOR is set (https://no-color.org) or TERM=dumb."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


_SEVERITY_COLOUR = {"CRITICAL": "red", "ERROR": "red", "WARNING": "yellow", "INFO": "cyan"}
_VERDICT_COLOUR = {"PROBLEMS": "red", "HEALTHY": "green", "INCONCLUSIVE": "yellow"}
# Only the renderer's own lines at column 0 are coloured: a finding's "N. SEVERITY  id" and the first
# "swandoc CMD: VERDICT". Log text is always indented (and control characters are escaped), so a hostile
# log line can never be made to look like one of them.
_FINDING_HEAD = re.compile(r"^(\d+\. )(CRITICAL|ERROR|WARNING|INFO)(  \S+)$", re.MULTILINE)
_VERDICT_HEAD = re.compile(r"\A(swandoc \S+: )(PROBLEMS|HEALTHY|INCONCLUSIVE)$", re.MULTILINE)


def colourize(text: str) -> str:
    """The text report with its severities and verdict in colour (ANSI)."""
    text = _VERDICT_HEAD.sub(lambda m: m[1] + click.style(m[2], fg=_VERDICT_COLOUR[m[2]], bold=True), text, count=1)
    return _FINDING_HEAD.sub(lambda m: m[1] + click.style(m[2], fg=_SEVERITY_COLOUR[m[2]], bold=True) + m[3], text)


# ---- progress --------------------------------------------------------------------------------------

class ProgressLine:
    """One status line on stderr, rewritten in place; silent unless stderr is a terminal."""

    def __init__(self, stream=None, enabled: bool | None = None):
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.shown = False
        self._lock = threading.Lock()

    def show(self, text: str) -> None:
        if not self.enabled:
            return
        with self._lock:
            self.stream.write("\r\033[K" + text[:200])
            self.stream.flush()
            self.shown = True

    def clear(self) -> None:
        with self._lock:
            if self.shown:
                self.stream.write("\r\033[K")
                self.stream.flush()
                self.shown = False


def _human(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"


def _open_positions(targets: set[str]) -> dict[str, int]:
    """Read offsets of this process's open files among *targets* (Linux /proc; {} elsewhere).

    Reading them from /proc keeps the readers free of progress hooks: the input code is unchanged
    and the file's own offset is the truth, compressed or not.
    """
    found: dict[str, int] = {}
    try:
        fds = os.listdir("/proc/self/fd")
    except OSError:
        return found
    for fd in fds:
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
            if target not in targets:
                continue
            with open(f"/proc/self/fdinfo/{fd}") as info:
                pos = int(info.readline().split()[1])
        except (OSError, ValueError, IndexError):
            continue
        found[target] = max(pos, found.get(target, 0))
    return found


@contextmanager
def input_progress(paths: Sequence[str], *, line: ProgressLine | None = None, delay: float = 1.0,
                   interval: float = 0.25) -> Iterator[None]:
    """While the block runs, show which input is being read and how far, on a terminal only.

    Nothing appears for runs shorter than *delay*: a quick analyze prints exactly what it prints
    when piped.
    """
    line = line or ProgressLine()
    if not line.enabled:
        yield
        return
    sizes: dict[str, int] = {}
    order: dict[str, int] = {}
    for n, path in enumerate(paths, 1):
        if path == "-":
            continue
        try:
            real = os.path.realpath(path)
            sizes[real] = os.path.getsize(real)
            order.setdefault(real, n)
        except OSError:
            continue
    stop = threading.Event()
    began = time.monotonic()

    def watch() -> None:
        if stop.wait(delay):
            return
        last = ""
        while not stop.is_set():
            with forking.STEP:  # one step at a time: the log reader may fork its worker between two
                positions = _open_positions(set(sizes))
                if positions:
                    real, pos = max(positions.items(), key=lambda kv: order[kv[0]])
                    size = sizes[real] or 1
                    last = (f"swandoc: reading {os.path.basename(real)} ({order[real]}/{len(paths)}): "
                            f"{min(100, 100 * pos // size)}% of {_human(size)}")
                elif not last:
                    last = f"swandoc: reading {len(paths)} input(s)"
                line.show(f"{last}  [{time.monotonic() - began:.0f}s]")
            stop.wait(interval)

    thread = forking.mark_helper(threading.Thread(target=watch, name="swandoc-progress", daemon=True))
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=2)
        line.clear()
