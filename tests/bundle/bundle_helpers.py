"""Helpers for the bundle tests: the secrets corpus and a leak detector."""
from __future__ import annotations

import base64
import json
import os
import re
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECRETS = ROOT / "fixtures" / "secrets"
LAB = ROOT / "fixtures" / "lab"
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else "python3"


def require_root() -> None:
    # Never skip silently: CI runs as root; a developer sees why the test cannot run.
    if os.geteuid() != 0:
        pytest.fail("this test needs root (network namespaces, setpriv); run it as root", pytrace=False)


def _forms(data: bytes) -> set[bytes]:
    """Every encoding of a secret that must not appear: raw, hex (both cases, spaced), base64."""
    hexed = data.hex()
    b64 = base64.b64encode(data)
    forms = {data, hexed.encode(), hexed.upper().encode(), b64, b64.rstrip(b"="),
             " ".join(hexed[i:i + 2] for i in range(0, len(hexed), 2)).encode()}
    return {f for f in forms if len(f) >= 6}


def corpus_needles() -> dict[str, set[bytes]]:
    """label -> byte strings that must never be found in a bundle."""
    spec = json.loads((SECRETS / "secrets.json").read_text())
    needles: dict[str, set[bytes]] = {}
    for form, value in spec["values"]:
        found: set[bytes] = set()
        if form == "pem":
            body = [line for line in (SECRETS / value).read_text().splitlines() if line and not line.startswith("-----")]
            found.update(line.encode() for line in body if len(line) >= 16)
        else:
            found |= _forms(value.encode())
            if form == "hex":
                found |= _forms(bytes.fromhex(value))
            elif form == "base64":
                found |= _forms(base64.b64decode(value))
        needles[f"{form}:{value}"] = found
    return needles


def archive_members(path: str) -> dict[str, bytes]:
    with tarfile.open(path, "r:*") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


# The hex of a pluto dump line, after its debug marker: "| " or, from helper threads,
# "|] " (4.x) or "] " (5.x).
_DUMP_LINE = re.compile(rb"(?:\|\]?|\])\s{2,}((?:[0-9a-fA-F]{2}\s{1,2}){0,31}[0-9a-fA-F]{2})(?:\s|$)", re.MULTILINE)


def leaks(blobs: dict[str, bytes]) -> list[str]:
    """Every (member, secret) pair where any form of a corpus secret appears (case-insensitive)."""
    found = []
    needles = corpus_needles()
    for member, data in blobs.items():
        # Hex dumps (after any debug marker) split a secret into "53 77 61 6e  64 6f ..." over several lines: also search
        # the stream of every 2-digit hex token, joined, for the secret's hex.
        dumps = _DUMP_LINE.findall(data)
        stream = re.sub(rb"\s+", b"", b"".join(dumps))
        low = data.lower() + b"\n" + stream.lower()
        for label, forms in needles.items():
            if any(f.lower() in low for f in forms):
                found.append(f"{member}: {label}")
    return found


def leaks_of(blobs: dict[str, bytes], secrets: list[bytes]) -> list[str]:
    """Like :func:`leaks` for arbitrary secret values (raw, hex, base64, hex-dump stream)."""
    found = []
    for member, data in blobs.items():
        dumps = _DUMP_LINE.findall(data)
        low = data.lower() + b"\n" + re.sub(rb"\s+", b"", b"".join(dumps)).lower()
        for secret in secrets:
            if any(f.lower() in low for f in _forms(secret)):
                found.append(f"{member}: {secret[:4]!r}...")
    return found
