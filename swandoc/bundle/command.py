"""The `swandoc bundle` command (placeholder until its owner fills it in)."""
import click

from ..errors import SwandocError


@click.command("bundle", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1)
def bundle(args):
    """Not built yet."""
    raise SwandocError("'swandoc bundle' is not built yet")
