"""Read ipsec.secrets and the files it includes, and hand back ONLY a censored copy.

The raw text never leaves :func:`collect_secrets`: the returned :class:`Evidence` item
``ipsec_secrets`` is already redacted (which IDs have which kind of secret and its length
class — never a byte of it). If a :class:`~swandoc.bundle.redact.Redactor` is passed, the
secret values are also taught to it, in memory, so the bundle can scrub echoes of them from
every other item (a PSK pasted into a log line, for example).

Includes follow ipsec.secrets(5): ``include /etc/ipsec.d/*.secrets``; a relative pattern is
relative to the including file's directory. A file that cannot be read (no root, vanished
mid-run) is noted in the output and in ``meta``; it never ends the collection.
"""
from __future__ import annotations

import glob
import os
import time

from ..evidence import Evidence

DEFAULT_SECRETS = "/etc/ipsec.secrets"
MAX_DEPTH = 10  # include loops: pluto stops at 10 too


def _read(path: str, seen: set[str], depth: int, parts: list[str], problems: list[str], files: list[str]) -> None:
    real = os.path.realpath(path)
    if real in seen or depth > MAX_DEPTH:
        problems.append(f"{path}: include loop or too deep, skipped")
        return
    seen.add(real)
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError as exc:
        problems.append(f"{path}: {exc.strerror or exc}")
        parts.append(f"# --- swandoc: {path}: not readable ({exc.strerror or exc}) ---\n")
        return
    files.append(path)
    parts.append(f"# --- swandoc: file {path} ---\n")
    parts.append(text if text.endswith("\n") or not text else text + "\n")
    from ..bundle.secrets_grammar import parse_secrets

    records, _ = parse_secrets(text)  # pluto's grammar: "include FILE # comment" names FILE only
    for record in records:
        if record.include is None:
            continue
        pattern = record.include
        if not os.path.isabs(pattern):
            pattern = os.path.join(os.path.dirname(path), pattern)
        matches = sorted(glob.glob(pattern))
        if not matches and not glob.has_magic(pattern):
            problems.append(f"{pattern}: included file does not exist")
        for included in matches:
            _read(included, seen, depth + 1, parts, problems, files)


def collect_secrets(path: str = DEFAULT_SECRETS, redactor=None) -> Evidence:
    """The censored ``ipsec_secrets`` evidence item (see module docstring)."""
    from ..bundle.redact import redact_secrets

    start = time.monotonic()
    parts: list[str] = []
    problems: list[str] = []
    files: list[str] = []
    _read(path, set(), 0, parts, problems, files)
    raw = "".join(parts)
    if redactor is not None:
        redactor.learn_secrets_text(raw)
    censored, counts = redact_secrets(raw)
    # Belt and braces: if the file was unreadable, the first part already says so.
    del raw, parts
    duration = time.monotonic() - start
    meta = (("files", ", ".join(files)),) + ((("problems", "; ".join(problems)),) if problems else ())
    if not files:
        return Evidence("ipsec_secrets", None, path, duration=duration,
                        error="; ".join(problems) or "not readable", meta=meta)
    return Evidence("ipsec_secrets", censored.encode(), path, status=0, duration=duration,
                    redactions=tuple(sorted(counts.items())), meta=meta)
