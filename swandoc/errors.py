"""Errors that end a command with a one-line message, and the exit statuses every command uses.

The statuses are the contract with scripts and monitoring, so they live here, once: the README,
``docs/commands.md`` and every ``--help`` show :data:`EXIT_STATUS_HELP`.
"""
from __future__ import annotations

EXIT_OK = 0            # a healthy tunnel or a clean host (and: a bundle was written, a list was printed)
EXIT_PROBLEMS = 1      # findings that need action
EXIT_USAGE = 2         # usage error or unreadable input: one line on stderr
EXIT_INTERNAL = 3      # a bug of swandoc: one line; SWANDOC_DEBUG=1 shows the traceback
EXIT_INCONCLUSIVE = 4  # nothing to diagnose: empty input, no pluto lines, no connection attempt
EXIT_INTERRUPTED = 130  # Ctrl-C, as the shell reports it

# A report's verdict -> the process's exit status. Only "healthy" is 0: a script that reads 0 as
# "all is well" must never get it for an input that showed nothing.
VERDICT_EXIT = {"healthy": EXIT_OK, "problems": EXIT_PROBLEMS, "inconclusive": EXIT_INCONCLUSIVE}

EXIT_STATUS_HELP = ("0 healthy tunnel or clean host, 1 problems found, 2 usage error or unreadable input, "
                    "3 internal error, 4 inconclusive (nothing to diagnose: empty input, no pluto lines, "
                    "no connection attempt)")


def verdict_exit_status(verdict: str) -> int:
    """The exit status for a report's verdict; an unknown verdict is never 0.

    >>> verdict_exit_status("healthy"), verdict_exit_status("problems"), verdict_exit_status("inconclusive")
    (0, 1, 4)
    """
    return VERDICT_EXIT.get(verdict, EXIT_PROBLEMS)


class SwandocError(Exception):
    """A problem the user can fix (bad input, missing permission); never a traceback."""

    exit_code = EXIT_USAGE


class InputError(SwandocError):
    """An input file that cannot be read or is not something swandoc understands."""
