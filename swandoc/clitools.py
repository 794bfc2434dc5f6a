"""Options and output shared by every subcommand (kept apart from cli.py, which imports the subcommands)."""
from __future__ import annotations

import click

from .errors import SwandocError
from .report import FORMATS


def emit(text: str, output: str | None) -> None:
    """Write a rendered report to -o FILE, or to stdout."""
    if output and output != "-":
        try:
            with open(output, "w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as exc:
            raise SwandocError(f"cannot write {output}: {exc.strerror}") from None
    else:
        click.echo(text, nl=False)


format_option = click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
                             help="Report format.")
output_option = click.option("-o", "--output", metavar="FILE", help="Write the report to FILE instead of stdout.")
