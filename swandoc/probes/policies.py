"""Read a node's opportunistic policy groups (``/etc/ipsec.d/policies/*``) as one evidence item.

Each file is a list of address prefixes for the group of the same name (reference §4.6). The
files are joined, each after a ``# swandoc: from PATH`` line (the config's own convention), so
the item keeps which line came from which file: :func:`swandoc.fleet.policies.parse_policy_files`
reads it back. Only regular files directly in the directory are read, each capped in size.
"""
from __future__ import annotations

import os

from ..evidence import Evidence
from ..fleet.policies import FILE_MARK

FILE_LIMIT = 1024 * 1024
MAX_FILES = 64


def policies_dir_for(config: str) -> str:
    """Where pluto looks for the groups of *config*: ``ipsec.d/policies`` beside it."""
    return os.path.join(os.path.dirname(os.path.abspath(config)) or "/", "ipsec.d", "policies")


def read_policies(directory: str) -> Evidence:
    try:
        names = sorted(os.listdir(directory))
    except FileNotFoundError:
        return Evidence("ipsec_policies", None, directory, error=f"{directory} does not exist (no mesh policy groups)")
    except OSError as exc:
        return Evidence("ipsec_policies", None, directory, error=f"cannot list {directory}: {exc.strerror}")
    parts: list[bytes] = []
    skipped: list[str] = []
    for name in names[:MAX_FILES]:
        path = os.path.join(directory, name)
        if name.startswith(".") or not os.path.isfile(path) or os.path.islink(path):
            continue
        try:
            with open(path, "rb") as fh:
                data = fh.read(FILE_LIMIT)
        except OSError as exc:
            skipped.append(f"{name}: {exc.strerror}")
            continue
        parts.append(f"{FILE_MARK}{path}\n".encode() + data + (b"" if data.endswith(b"\n") or not data else b"\n"))
    meta = (("skipped", "; ".join(skipped)),) if skipped else ()
    if len(names) > MAX_FILES:
        meta += (("cut", f"only the first {MAX_FILES} of {len(names)} files"),)
    return Evidence("ipsec_policies", b"".join(parts), directory, meta=meta)
