"""The `swandoc diagnose` command (placeholder until its owner fills it in)."""
import click

from ..errors import SwandocError


@click.command("diagnose", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1)
def diagnose(args):
    """Not built yet."""
    raise SwandocError("'swandoc diagnose' is not built yet")
