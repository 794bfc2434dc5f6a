"""The `swandoc lab` command (placeholder until its owner fills it in)."""
import click

from ..errors import SwandocError


@click.command("lab", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1)
def lab(args):
    """Not built yet."""
    raise SwandocError("'swandoc lab' is not built yet")
