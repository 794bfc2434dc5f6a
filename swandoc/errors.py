"""Errors that end a command with a one-line message and exit status 2."""


class SwandocError(Exception):
    """A problem the user can fix (bad input, missing permission); never a traceback."""

    exit_code = 2


class InputError(SwandocError):
    """An input file that cannot be read or is not something swandoc understands."""
