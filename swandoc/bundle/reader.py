"""Read a support bundle (the .tar.xz or its unpacked folder) back into evidence and facts.

The archive comes from someone else's machine: it is read member by member into memory
(never extracted to disk), only members the manifest names are read, paths with ``..`` or
an absolute path are refused, and sizes are capped. A corrupt or truncated archive is an
:class:`~swandoc.errors.InputError` with one line (exit status 2), never a traceback.

After loading, ``facts.evidence`` holds every item as it was on the host (redacted), the
pluto log is fed to the log parser, the capture to the packet decoder, and
``swandoc.probes.parse.parse_evidence`` turns the rest (config, firewall, routes, xfrm ...)
into facts, so every rule runs on a bundle as it would live.
"""
from __future__ import annotations


import json
import lzma
import os
import tarfile
import tempfile
import zlib
from typing import Any

from ..errors import InputError
from ..evidence import Evidence
from ..facts import Facts
from ..model import SourceSummary

MAX_MEMBER = 512 * 1024 * 1024
_READ_ERRORS = (tarfile.TarError, EOFError, lzma.LZMAError, zlib.error, OSError, ValueError)


def is_bundle(path: str) -> bool:
    """A swandoc bundle: a tar archive (any compression) or a folder with a manifest.json."""
    if os.path.isdir(path):
        return os.path.isfile(os.path.join(path, "manifest.json"))
    try:
        with tarfile.open(path, "r:*") as tar:
            for member in tar:
                if os.path.basename(member.name) == "manifest.json":
                    return True
    except _READ_ERRORS:
        return False
    return False


class _Source:
    """Members by relative path, from a tar archive or a folder."""

    def __init__(self, path: str):
        self.path = path
        self.tar: tarfile.TarFile | None = None
        self.members: dict[str, tarfile.TarInfo] = {}
        self.root = path
        if os.path.isdir(path):
            return
        self.tar = tarfile.open(path, "r:*")
        for member in self.tar.getmembers():  # reads the whole archive: truncation shows here
            if not member.isfile():
                continue
            name = member.name
            if name.endswith("/manifest.json") or name == "manifest.json":
                self.prefix = name[: -len("manifest.json")]
            self.members[name] = member
        if not hasattr(self, "prefix"):
            raise InputError(f"{path}: a tar archive without manifest.json (not a swandoc bundle)")

    def read(self, relative: str) -> bytes | None:
        if relative.startswith("/") or ".." in relative.split("/"):
            raise InputError(f"{self.path}: manifest names an unsafe path {relative!r}")
        if self.tar is None:
            full = os.path.join(self.root, relative)
            try:
                if os.path.getsize(full) > MAX_MEMBER:
                    raise InputError(f"{self.path}: {relative} is too large")
                with open(full, "rb") as fh:
                    return fh.read()
            except FileNotFoundError:
                return None
        member = self.members.get(self.prefix + relative)
        if member is None:
            return None
        if member.size > MAX_MEMBER:
            raise InputError(f"{self.path}: {relative} is too large")
        fh = self.tar.extractfile(member)
        return fh.read() if fh else None

    def close(self) -> None:
        if self.tar is not None:
            self.tar.close()


def _open(path: str) -> tuple[_Source, dict[str, Any]]:
    try:
        source = _Source(path)
        raw = source.read("manifest.json")
    except InputError:
        raise
    except _READ_ERRORS as exc:
        raise InputError(f"{path}: corrupt or truncated bundle ({exc.__class__.__name__}: {str(exc) or 'unexpected end'})") from None
    if raw is None:
        raise InputError(f"{path}: no manifest.json (not a swandoc bundle)")
    try:
        manifest = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        source.close()
        raise InputError(f"{path}: manifest.json is not valid JSON (corrupt bundle)") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("items"), list):
        source.close()
        raise InputError(f"{path}: manifest.json has no item list (not a swandoc bundle)")
    return source, manifest


def read_bundle(path: str) -> tuple[dict[str, Any], list[Evidence]]:
    """The manifest and every item (collected or missing) as Evidence."""
    source, manifest = _open(path)
    items: list[Evidence] = []
    try:
        for entry in manifest["items"]:
            if not isinstance(entry, dict) or "name" not in entry or "path" not in entry:
                continue
            try:
                data = source.read(str(entry["path"]))
            except InputError:
                raise
            except _READ_ERRORS as exc:
                raise InputError(f"{path}: corrupt or truncated bundle at {entry['path']} "
                                 f"({exc.__class__.__name__})") from None
            error = entry.get("error")
            if data is None:
                error = error or f"{entry['path']} listed in manifest.json but missing from the bundle"
            items.append(Evidence(
                name=str(entry["name"]), content=data, origin=str(entry.get("origin") or entry["path"]),
                status=entry.get("status"), duration=float(entry.get("duration") or 0.0), error=error,
                redactions=tuple(sorted((entry.get("redactions") or {}).items())),
                meta=tuple((str(k), str(v)) for k, v in (entry.get("meta") or {}).items() if v is not None)))
        for miss in manifest.get("missing") or ():
            if isinstance(miss, dict) and "name" in miss:
                items.append(Evidence(str(miss["name"]), None, str(miss.get("origin") or ""),
                                      error=str(miss.get("reason") or "not collected")))
    finally:
        source.close()
    return manifest, items


def load_bundle(path: str, facts: Facts, name: str) -> None:
    """Rebuild the bundle's evidence into *facts* and parse it so every rule can run."""
    manifest, items = read_bundle(path)
    version = str(manifest.get("libreswan_version") or "").strip()
    version = version.split()[-1] if version.lower().startswith("libreswan") and version.split() else (version or None)
    summary = SourceSummary(name=name, kind="bundle", version=version,
                            first_time=manifest.get("created"))
    summary.notes.append(f"bundle from {manifest.get('host', '?')} made {manifest.get('created', '?')} "
                         f"by swandoc {manifest.get('swandoc_version', '?')}"
                         + (" (obfuscated)" if manifest.get("obfuscated") else ""))
    for item in items:
        facts.evidence.add(item)
        if not item.available and item.content is None:
            summary.notes.append(f"not collected: {item.name}: {item.error}")
    facts.sources.append(summary)

    try:
        from ..probes.parse import parse_evidence
    except ImportError:
        parse_evidence = None
    if parse_evidence is None:  # without the probe parsers, still read the log and the capture
        _feed_fallback(facts, name, summary)
        summary.notes.append("host evidence kept but not parsed (probe parsers unavailable)")
        return
    # parse_evidence also feeds the pluto log and the capture to their parsers.
    parse_evidence(facts.evidence, facts, facts.focus or manifest.get("options", {}).get("conn"))


def _feed_fallback(facts: Facts, name: str, summary: SourceSummary) -> None:
    log = facts.evidence.get("pluto_log")
    if log is not None and log.content:
        from ..inputs import feed_log_bytes
        sub = feed_log_bytes(f"{name}:logs/pluto.log", log.content, facts)
        summary.lines, summary.events = sub.lines, sub.events
    pcap = facts.evidence.get("ike_capture")
    if pcap is not None and pcap.content:
        _load_capture(pcap.content, facts, f"{name}:capture/ike.pcap", summary)


def _load_capture(data: bytes, facts: Facts, name: str, summary: SourceSummary) -> None:
    try:
        from ..logparse.packets import load_pcap
    except ImportError:
        summary.notes.append("capture kept but not decoded (packet decoder unavailable)")
        return
    fd, tmp = tempfile.mkstemp(prefix="swandoc-bundle-", suffix=".pcap")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        before = len(facts.packets)
        load_pcap(tmp, facts, name)
        summary.packets = len(facts.packets) - before
    finally:
        os.unlink(tmp)


__all__ = ["is_bundle", "load_bundle", "read_bundle"]

