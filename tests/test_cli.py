"""The command line as an admin's hands meet it: help, documentation, shared options, exit status,
colour and progress. Runs with click 7.1 (RHEL 9, Debian 11; scripts/ci-bullseye) and click 8."""
from __future__ import annotations

import doctest
import io
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest

from swandoc import clitools, errors
from swandoc.cli import main

ROOT = Path(__file__).resolve().parents[1]
LAB = ROOT / "fixtures" / "lab"


def swandoc(*args: str, env: dict | None = None, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "swandoc", *args], cwd=ROOT, capture_output=True, input=stdin,
                          timeout=120, env={**os.environ, **(env or {})})


def commands() -> dict[str, click.Command]:
    return main.load_all()  # diagnose, bundle and lab load lazily


def visible_options(command: click.Command) -> list[click.Option]:
    return [p for p in command.params if isinstance(p, click.Option) and not p.hidden and "--help" not in p.opts]


def test_doctests():
    for module in (clitools, errors):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__


# ---- help and documentation -------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(commands()) + [""])
def test_every_help_has_examples_and_exit_status(name):
    result = swandoc(*([name] if name else []), "--help")
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr
    examples = out.split("Examples:")[1].split("Exit status:")[0]
    runs = [line.strip() for line in examples.splitlines() if "swandoc" in line and not line.strip().startswith("#")]
    assert runs, out
    assert any(f"swandoc {name}".strip() in run for run in runs), runs
    flat = " ".join(out.split())
    assert "Exit status:" in flat and "2 usage error" in flat and "3 internal error" in flat


def test_report_commands_document_the_inconclusive_status():
    for name in ("analyze", "diagnose", "lab"):
        assert "4 inconclusive" in " ".join(swandoc(name, "--help").stdout.decode().split())


def _doc_section(text: str, command: str) -> str:
    match = re.search(rf"^## swandoc {command}\b(.*?)(?=^## |\Z)", text, re.M | re.S)
    return match.group(1) if match else ""


def test_every_command_and_option_is_documented():
    """Each command has a section in docs/commands.md (or README.md) naming every option it takes."""
    docs = (ROOT / "docs" / "commands.md").read_text()
    readme = (ROOT / "README.md").read_text()
    missing = []
    for name, command in commands().items():
        section = _doc_section(docs, name) or _doc_section(readme, name)
        if not section:
            missing.append(f"no '## swandoc {name}' section in docs/commands.md")
            continue
        if f"swandoc {name}" not in readme:
            missing.append(f"README.md does not mention swandoc {name}")
        for option in visible_options(command):
            if not any(re.search(rf"`{re.escape(o)}\b", section) for o in option.opts):
                missing.append(f"swandoc {name} {'/'.join(option.opts)} is not in its section of docs/commands.md")
    assert not missing, "\n".join(missing)


def test_exit_statuses_are_documented_everywhere():
    readme = (ROOT / "README.md").read_text()
    docs = (ROOT / "docs" / "commands.md").read_text()
    for status in (errors.EXIT_OK, errors.EXIT_PROBLEMS, errors.EXIT_USAGE, errors.EXIT_INTERNAL,
                   errors.EXIT_INCONCLUSIVE):
        assert f"`{status}`" in readme and f"`{status}`" in docs, status


# ---- one set of options --------------------------------------------------------------------------

def _shape(option: click.Option) -> tuple:
    return (tuple(option.opts), option.metavar, type(option.type).__name__, option.is_flag)


SHARED = ("--format", "--output", "--html", "--ctl-socket", "--config", "--log", "--since", "--duration",
          "--no-capture", "--timeout")


def test_shared_options_have_one_name_syntax_and_default():
    seen: dict[str, list[tuple[str, click.Option]]] = {}
    for name, command in commands().items():
        for option in visible_options(command):
            for long in (o for o in option.opts if o.startswith("--")):
                seen.setdefault(long, []).append((name, option))
    assert {c for c, _ in seen["--ctl-socket"]} >= {"diagnose", "bundle"}
    assert {c for c, _ in seen["--since"]} >= {"diagnose", "bundle"}
    assert {c for c, _ in seen["--duration"]} >= {"diagnose", "bundle"}
    assert {c for c, _ in seen["--format"]} >= {"analyze", "diagnose", "lab"}
    assert {c for c, _ in seen["--output"]} >= {"analyze", "diagnose", "lab", "bundle"}
    for long in SHARED:
        shapes = {_shape(o) for _, o in seen[long]}
        assert len(shapes) == 1, (long, shapes)
        if long not in ("--since", "--output"):  # the journal window's default is per command, by purpose
            assert len({repr(o.default) for _, o in seen[long]}) == 1, long
    assert seen["--ctl-socket"][0][1].default == "/run/pluto/pluto.ctl"


@pytest.mark.parametrize("value, expected", [("2h", "-2h"), ("-1h", "-1h"), ("30 min ago", "30 min ago"),
                                             ("yesterday", "yesterday"), ("2024-05-01 10:00", "2024-05-01 10:00")])
def test_since_one_syntax(value, expected):
    from swandoc.probes.journal import parse_since
    assert clitools.normalize_since(value) == expected
    assert parse_since(expected) is not None  # the journal probe understands what the option hands it


def test_since_empty_is_a_usage_error():
    result = swandoc("bundle", "--since", " ", "-o", "/nonexistent/x.tar.xz")
    assert result.returncode == 2 and b"Traceback" not in result.stderr and b"--since" in result.stderr


def test_bundle_old_capture_spelling_is_still_accepted(monkeypatch):
    from click.testing import CliRunner

    from swandoc.bundle import collect
    seen = {}

    def fake_build(options, **kwargs):
        seen["options"] = options
        raise errors.SwandocError("stop here")
    monkeypatch.setattr(collect, "build_bundle", fake_build)
    for args, capture in ((["--capture", "3"], 3), (["--duration", "4"], 4), ([], 0), (["--duration", "4", "--no-capture"], 0)):
        result = CliRunner().invoke(main, ["bundle", *args])
        assert "stop here" in result.output or result.exit_code == 2, result.output
        assert seen["options"].capture == capture, args
        assert seen["options"].ctl_socket == "/run/pluto/pluto.ctl" and seen["options"].since == "-24h"


# ---- exit status ---------------------------------------------------------------------------------

def test_empty_input_is_inconclusive_not_healthy(tmp_path):
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    assert swandoc("analyze", str(empty)).returncode == errors.EXIT_INCONCLUSIVE
    assert swandoc("analyze", "-", stdin=b"").returncode == errors.EXIT_INCONCLUSIVE


def test_pluto_less_input_is_inconclusive(tmp_path):
    syslog = tmp_path / "secure"
    syslog.write_text("Nov 26 10:00:00 gw sshd[812]: Accepted publickey for root from 192.0.2.9 port 52222 ssh2\n")
    result = swandoc("analyze", str(syslog))
    assert result.returncode == errors.EXIT_INCONCLUSIVE and b"INCONCLUSIVE" in result.stdout


def test_startup_without_a_connection_attempt_is_inconclusive(tmp_path):
    startup = tmp_path / "startup.log"
    startup.write_text("".join((LAB / "healthy" / "west.log").read_text().splitlines(True)[:20]))
    assert swandoc("analyze", str(startup)).returncode == errors.EXIT_INCONCLUSIVE


def test_problems_exit_1():
    assert swandoc("analyze", str(LAB / "ikev2-psk-mismatch" / "east.log")).returncode == errors.EXIT_PROBLEMS


def test_healthy_verdict_exits_0(tmp_path):
    """Pluto lines of an established tunnel -> exit 0. The IKE SA line is the lab's own; the Child SA
    line is pluto 4.x's wording for it (the lab kernel cannot install ESP SAs, so no fixture has one;
    see fixtures/lab/README.md)."""
    lines = [line for line in (LAB / "healthy" / "west.log").read_text().splitlines(True)
             if "established IKE SA" in line]
    assert lines, "the healthy lab log lost its 'established IKE SA' line"
    stamp = lines[0].split(": ")[0]
    lines.append(f'{stamp}: "lab" #2: initiator established Child SA using #1; IPsec tunnel '
                 "[10.0.1.0/24===10.0.2.0/24] {ESP/ESN=>0x1234abcd <0xabcd1234 xfrm=AES_GCM_16_256-NONE DPD=passive}\n")
    up = tmp_path / "up.log"
    up.write_text("".join(lines))
    result = swandoc("analyze", str(up))
    assert result.returncode == errors.EXIT_OK, result.stdout.decode()
    assert b"HEALTHY" in result.stdout


@pytest.mark.parametrize("verdict, status", [("healthy", 0), ("problems", 1), ("inconclusive", 4), ("other", 1)])
def test_verdict_exit_map(verdict, status):
    assert errors.verdict_exit_status(verdict) == status


def test_lab_errors_are_swandoc_errors():
    from swandoc.lab.runner import LabError
    assert issubclass(LabError, errors.SwandocError) and LabError("x").exit_code == errors.EXIT_USAGE


# ---- colour and progress -------------------------------------------------------------------------

class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_tty_and_never_with_no_color(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert clitools.use_colour(_Tty()) and not clitools.use_colour(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not clitools.use_colour(_Tty())


def test_colourize_touches_only_the_renderers_own_lines():
    text = ("swandoc analyze: PROBLEMS\n1. ERROR  ts-unacceptable\n"
            "     west.log:150: 1. ERROR  forged-by-a-log-line\n")
    coloured = clitools.colourize(text)
    assert "\x1b[" in coloured.splitlines()[0] and "\x1b[" in coloured.splitlines()[1]
    assert coloured.splitlines()[2] == text.splitlines()[2]
    assert click.unstyle(coloured) == text


def test_piped_output_has_no_colour_and_stderr_stays_empty():
    result = swandoc("analyze", str(LAB / "ikev2-psk-mismatch" / "east.log"), env={"TERM": "xterm"})
    assert b"\x1b[" not in result.stdout and result.stderr == b""


def test_progress_names_the_input_being_read(tmp_path):
    big = tmp_path / "big.log"
    big.write_bytes(b"x" * 1_000_000)
    stream = _Tty()
    line = clitools.ProgressLine(stream)
    with clitools.input_progress([str(big)], line=line, delay=0, interval=0.02):
        with open(big, "rb") as fh:
            fh.read(500_000)
            time.sleep(0.3)
    shown = stream.getvalue()
    assert "reading big.log (1/1): 50% of 1.0 MB" in shown
    assert shown.endswith("\r\x1b[K")  # erased at the end


def test_progress_is_silent_when_not_a_tty(tmp_path):
    stream = io.StringIO()
    with clitools.input_progress([str(tmp_path)], line=clitools.ProgressLine(stream), delay=0, interval=0.01):
        time.sleep(0.05)
    assert stream.getvalue() == ""


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_a_reader_that_stops_early_is_no_error(fmt, tmp_path):
    # `swandoc analyze ... | head`: the reader closes the pipe after a few lines; swandoc must not call that
    # an internal error (exit 3): it stops writing and exits with the report's own status.
    logs = sorted(str(p) for p in (Path(__file__).parent.parent / "fixtures" / "realworld").glob("*.log"))
    proc = subprocess.Popen([sys.executable, "-m", "swandoc", "analyze", *logs, "--format", fmt],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.read(64)
    proc.stdout.close()  # before swandoc has written it all
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == errors.EXIT_PROBLEMS, stderr
    assert "internal error" not in stderr and "Traceback" not in stderr


def _program(setup: str) -> subprocess.CompletedProcess:
    """The swandoc program (cli.run) analysing a lab log to JSON, after the Python statements *setup*."""
    fixture = str(ROOT / "fixtures" / "lab" / "ikev2-psk-mismatch" / "west.log")
    script = (f"import atexit, sys, threading, time; from swandoc import cli; {setup}; "
              f"sys.argv = ['swandoc', 'analyze', {fixture!r}, '--format', 'json']; cli.run()")
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)


def test_the_program_exits_fast_with_its_output_whole_and_its_exit_handlers_run():
    # swandoc.cli.run (the console script, python -m swandoc) ends the process without tearing down
    # what it built: the report must still be complete, the status main's, the atexit handlers run.
    proc = _program("atexit.register(lambda: sys.stderr.write('handler ran'))")
    assert proc.returncode == errors.EXIT_PROBLEMS, proc.stderr
    assert json.loads(proc.stdout)["verdict"] == "problems"  # all of it was flushed
    assert proc.stderr == "handler ran"


def test_a_thread_still_running_gets_pythons_own_exit():
    proc = _program("threading.Thread(target=lambda: (time.sleep(0.3), sys.stderr.write('thread finished'))).start()")
    assert proc.returncode == errors.EXIT_PROBLEMS and proc.stderr == "thread finished"
