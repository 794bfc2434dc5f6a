"""The fleet side of ``swandoc analyze``: when it applies, and its options turned into a Report."""
from __future__ import annotations

import os
from typing import Sequence

import click

from ..errors import SwandocError
from ..model import Report


def fleet_requested(paths: Sequence[str], name_from_file: bool, failures: str | None,
                    unreachable: Sequence[str]) -> bool:
    """Fleet options given, or two or more inputs that are all bundles (one per host)."""
    if name_from_file or failures or unreachable:
        return True
    if len(paths) < 2 or "-" in paths:
        return False
    from ..bundle.reader import is_bundle
    return all(os.path.exists(p) and is_bundle(p) for p in paths)


def run_fleet(paths: Sequence[str], conn: str | None, name_from_file: bool, failures_path: str | None,
              unreachable: Sequence[str]) -> Report:
    from .network import Failure, analyze_fleet, read_failures

    if conn:
        raise click.UsageError("--conn does not apply to a fleet (several bundles): each tunnel is reported")
    failures = read_failures(failures_path) if failures_path else {}
    for item in unreachable:
        name, _, reason = item.partition("=")
        if not name.strip():
            raise click.UsageError(f"--unreachable {item!r}: give NAME or NAME=REASON")
        failures[name.strip()] = Failure(reason.strip() or "unreachable")
    from ..bundle.reader import is_bundle
    for p in paths:
        if not os.path.exists(p):
            raise SwandocError(f"{p}: no such file")
        if not is_bundle(p):
            raise SwandocError(f"{p}: not a swandoc bundle (a fleet analysis reads one bundle per host)")
    return analyze_fleet(paths, name_from_file=name_from_file, failures=failures)


def emit_fleet(report: Report, fmt: str, output: str | None, html_path: str | None = None) -> int:
    """``clitools.emit_report`` with the fleet's parts (hosts, tunnels, matrix) in each format."""
    from ..clitools import emit_report
    from .render import render_fleet

    return emit_report(report, fmt, output, html_path, render=render_fleet)
