"""The bundle provider: a support bundle (the .tar.xz or its unpacked folder) back as Evidence.

The archive comes from someone else's machine: it is read member by member into memory
(never extracted to disk), only members the manifest names are read, paths with ``..`` or
an absolute path are refused, and sizes are capped per member and in total. In an unpacked
folder a member must be a regular file inside it: symbolic links, devices and FIFOs are
refused. The manifest's field types are checked before any is used. A corrupt or truncated archive is an
:class:`~swandoc.errors.InputError` with one line (exit status 2), never a traceback.

Every item comes back as it was on the host (redacted), with an
:class:`~swandoc.evidence.Origin` naming the bundle and the host it was made on; nothing is
parsed here. ``swandoc/parse.py`` turns the items into facts exactly as it does for a live
diagnosis, so every rule runs on a bundle as it would live, and two bundles stay two hosts.
"""
from __future__ import annotations

import json
import lzma
import os
import stat
import tarfile
import zlib
from typing import Any

from ..errors import InputError
from ..evidence import BUNDLE, Evidence, Origin

# Limits on what someone else's archive may make us hold (every member read is kept in memory until
# the analysis ends, so memory is bounded per bundle, whatever the archive claims). A bundle made by
# `swandoc bundle` holds ~40 members, a manifest of a few KiB, and logs bounded by --since. A member
# may be a little bigger than the most the writer collects of one item (probes.collect.LOG_LIMIT,
# 64 MiB): redaction notes and markers add bytes, and a bundle swandoc wrote must always read back.
MAX_MEMBER = 72 * 1024 * 1024
MAX_TOTAL = 160 * 1024 * 1024  # all members read, together
MAX_MANIFEST = 4 * 1024 * 1024
MAX_ITEMS = 2000  # entries in manifest.json
MAX_MEMBERS = 10000  # entries in the tar archive
MAX_HEADER = 64 * 1024  # a GNU long name or a pax header
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


class _Refused(tarfile.ReadError):
    """An archive refused for what it claims (tarfile lets a ReadError through its header loop)."""


class _BoundedTarInfo(tarfile.TarInfo):
    """tarfile reads a GNU long name or a pax header whole, whatever size its header claims:
    refuse one larger than any path (a hostile archive could claim gigabytes)."""

    def _proc_gnulong(self, tarfile):  # noqa: A002 - tarfile's own signature
        self._check_header_size()
        return super()._proc_gnulong(tarfile)

    def _proc_pax(self, tarfile):  # noqa: A002
        self._check_header_size()
        return super()._proc_pax(tarfile)

    def _check_header_size(self) -> None:
        if self.size > MAX_HEADER:
            raise _Refused(f"a tar header of {self.size} bytes (a long name or pax header; "
                           f"more than {MAX_HEADER} is not a swandoc bundle)")


class _Source:
    """Members by relative path, from a tar archive or a folder."""

    def __init__(self, path: str):
        self.path = path
        self.tar: tarfile.TarFile | None = None
        self.members: dict[str, tarfile.TarInfo] = {}
        self.root = os.path.realpath(path)
        self.total = 0  # bytes read so far, against MAX_TOTAL
        if os.path.isdir(path):
            return
        self.tar = tarfile.open(path, "r:*", tarinfo=_BoundedTarInfo)
        self.cache: dict[str, bytes] = {}
        count = 0
        for member in self.tar:  # reads the whole archive: truncation shows here
            count += 1
            if count > MAX_MEMBERS:
                raise InputError(f"{path}: more than {MAX_MEMBERS} members (not a swandoc bundle)")
            if not member.isfile():
                continue
            name = member.name
            if name.endswith("/manifest.json") or name == "manifest.json":
                self.prefix = name[: -len("manifest.json")]
            self.members[name] = member
        if not hasattr(self, "prefix"):
            raise InputError(f"{path}: a tar archive without manifest.json (not a swandoc bundle)")

    def read(self, relative: str, limit: int | None = None) -> bytes | None:
        limit = MAX_MEMBER if limit is None else limit
        if relative.startswith("/") or ".." in relative.split("/"):
            raise InputError(f"{self.path}: manifest names an unsafe path {relative!r}")
        if self.tar is None:
            data = self._read_folder_member(relative, limit)
        elif relative in self.cache:
            data = self.cache[relative]
        else:
            member = self.members.get(self.prefix + relative)
            if member is None:
                return None
            if member.size > limit:
                raise InputError(f"{self.path}: {relative} is too large ({member.size} bytes, "
                                 f"more than {limit} is not read)")
            self._count(relative, member.size)
            fh = self.tar.extractfile(member)
            data = fh.read(limit + 1) if fh else None
            if data is not None:
                self.cache[relative] = data
        if data is not None and len(data) > limit:
            raise InputError(f"{self.path}: {relative} is too large")
        return data

    def preload(self, paths: list[str]) -> None:
        """Read the members *paths* name in the order they are stored: a compressed tar is a
        stream, so reading in the manifest's order would decompress it again for each member."""
        if self.tar is None:
            return
        wanted = {self.prefix + p: p for p in paths if not (p.startswith("/") or ".." in p.split("/"))}
        for member in sorted((m for n, m in self.members.items() if n in wanted), key=lambda m: m.offset):
            self.read(wanted[member.name])

    def _count(self, relative: str, size: int) -> None:
        self.total += size
        if self.total > MAX_TOTAL:
            raise InputError(f"{self.path}: members add up to more than {MAX_TOTAL} bytes at {relative} "
                             "(a damaged or hostile manifest)")

    def _read_folder_member(self, relative: str, limit: int) -> bytes | None:
        """One member of an unpacked bundle: a regular file inside the folder, read with a bound.

        A bundle folder is someone else's: a member that is a symbolic link could show a file
        of this host (/etc/shadow) in the report, a device (/dev/zero) or FIFO would never end.
        """
        full = os.path.join(self.root, relative)
        real = os.path.realpath(full)
        if os.path.islink(full) or os.path.commonpath([self.root, real]) != self.root:
            raise InputError(f"{self.path}: {relative} is a symbolic link or leads outside the bundle (refused)")
        try:
            # O_NOFOLLOW: a link swapped in after the check still fails; O_NONBLOCK: a FIFO does not block
            fd = os.open(full, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise InputError(f"{self.path}: cannot read {relative} ({exc.strerror or exc})") from None
        with os.fdopen(fd, "rb") as fh:
            info = os.fstat(fh.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise InputError(f"{self.path}: {relative} is not a regular file (refused)")
            if info.st_size > limit:
                raise InputError(f"{self.path}: {relative} is too large")
            self._count(relative, info.st_size)
            data = fh.read(limit + 1)
        self._count(relative, max(0, len(data) - info.st_size))  # a file that grew while read
        return data

    def close(self) -> None:
        if self.tar is not None:
            self.tar.close()


def _open(path: str) -> tuple[_Source, dict[str, Any]]:
    try:
        source = _Source(path)
        raw = source.read("manifest.json", MAX_MANIFEST)
    except InputError:
        raise
    except _Refused as exc:
        raise InputError(f"{path}: {exc}") from None
    except _READ_ERRORS as exc:
        raise InputError(f"{path}: corrupt or truncated bundle ({exc.__class__.__name__}: {str(exc) or 'unexpected end'})") from None
    if raw is None:
        raise InputError(f"{path}: no manifest.json (not a swandoc bundle)")
    try:
        manifest = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested absurdly deep
        source.close()
        raise InputError(f"{path}: manifest.json is not valid JSON (corrupt bundle)") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("items"), list):
        source.close()
        raise InputError(f"{path}: manifest.json has no item list (not a swandoc bundle)")
    if len(manifest["items"]) > MAX_ITEMS:
        source.close()
        raise InputError(f"{path}: manifest.json lists {len(manifest['items'])} items, more than {MAX_ITEMS} "
                         "(damaged bundle)")
    try:
        _check_manifest(manifest)
    except InputError as exc:
        source.close()
        raise InputError(f"{path}: manifest.json {exc} (damaged bundle)") from None
    return source, manifest


_NUMBER = (int, float)
_SCALAR = (str, int, float, bool, type(None))
_OPTIONAL_TEXT = (str, type(None))
# Field -> the JSON types write_bundle puts there; anything else means a damaged or forged manifest.
_ITEM_FIELDS: dict[str, tuple[type, ...]] = {
    "name": (str,), "path": (str,), "origin": _OPTIONAL_TEXT, "error": _OPTIONAL_TEXT,
    "status": (int, type(None)), "duration": (*_NUMBER, type(None)),
    "redactions": (dict, type(None)), "meta": (dict, type(None)),
}

_TOP_FIELDS: dict[str, tuple[type, ...]] = {
    "options": (dict, type(None)), "missing": (list, type(None)), "created": _OPTIONAL_TEXT,
    "host": _OPTIONAL_TEXT, "swandoc_version": _OPTIONAL_TEXT, "libreswan_version": _OPTIONAL_TEXT,
}


def _check_manifest(manifest: dict[str, Any]) -> None:
    """Raise InputError('has ...') for a field whose type read_bundle cannot use."""
    for key, types in _TOP_FIELDS.items():
        if not isinstance(manifest.get(key), types):
            raise InputError(f"has a bad {key!r} ({type(manifest.get(key)).__name__})")
    if not isinstance((manifest.get("options") or {}).get("conn"), _OPTIONAL_TEXT):
        raise InputError("has a bad 'options.conn' (expected a connection name)")
    for index, entry in enumerate(manifest["items"]):
        if not isinstance(entry, dict):
            raise InputError(f"item {index} is not an object")
        for key, types in _ITEM_FIELDS.items():
            value = entry.get(key)
            if key in ("name", "path") and value is None:
                raise InputError(f"item {index} has no {key!r}")
            if not isinstance(value, types) or isinstance(value, bool):
                raise InputError(f"item {index} has a bad {key!r} ({type(value).__name__})")
        for key, count in (entry.get("redactions") or {}).items():
            if not isinstance(count, int) or isinstance(count, bool):
                raise InputError(f"item {index} has a bad redaction count for {key!r}")
        for key, value in (entry.get("meta") or {}).items():
            if not isinstance(value, _SCALAR):  # write_bundle stores text and numbers, never nesting
                raise InputError(f"item {index} has a bad meta value for {key!r} ({type(value).__name__})")


def read_bundle(path: str) -> tuple[dict[str, Any], list[Evidence]]:
    """The manifest and every item (collected or missing) as Evidence from this bundle."""
    source, manifest = _open(path)
    where = bundle_origin(path, manifest)
    items: list[Evidence] = []
    seen: set[str] = set()
    repeated = 0
    try:
        try:
            source.preload([entry["path"] for entry in manifest["items"]])
        except InputError:
            raise
        except _READ_ERRORS as exc:
            raise InputError(f"{path}: corrupt or truncated bundle ({exc.__class__.__name__})") from None
        for entry in manifest["items"]:  # types checked by _check_manifest
            if entry["path"] in seen:  # listed again: one member is one item, read once
                repeated += 1
                continue
            seen.add(entry["path"])
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
                name=entry["name"], content=data, origin=entry.get("origin") or entry["path"],
                status=entry.get("status"), duration=float(entry.get("duration") or 0.0), error=error,
                redactions=tuple(sorted((entry.get("redactions") or {}).items())),
                meta=tuple((str(k), str(v)) for k, v in (entry.get("meta") or {}).items() if v is not None),
                where=where))
        if repeated:
            items.append(Evidence("repeated_manifest_entries", None, "manifest.json", where=where,
                                  error=f"{repeated} entries name a member listed before (each member read once)"))
        for miss in (manifest.get("missing") or ())[:MAX_ITEMS]:
            if isinstance(miss, dict) and isinstance(miss.get("name"), str):
                # Text only: str() of a value nested a thousand deep would recurse that deep.
                items.append(Evidence(miss["name"], None, _text(miss.get("origin")),
                                      error=_text(miss.get("reason")) or "not collected", where=where))
    finally:
        source.close()
    return manifest, items


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def bundle_origin(path: str, manifest: dict[str, Any]) -> Origin:
    """The bundle as an origin: its path, the host it was made on, and what the manifest says of it."""
    version = str(manifest.get("libreswan_version") or "").strip()
    words = version.split()
    version = words[-1] if version.lower().startswith("libreswan") and words else version
    details = {
        "created": manifest.get("created"),
        "swandoc_version": manifest.get("swandoc_version"),
        "libreswan_version": version or None,
        "conn": (manifest.get("options") or {}).get("conn"),
        "obfuscated": "yes" if manifest.get("obfuscated") else None,
    }
    return Origin(BUNDLE, path, str(manifest.get("host") or ""),
                  tuple((k, str(v)) for k, v in details.items() if v))


def bundle_evidence(path: str) -> list[Evidence]:
    """Every item of the bundle at *path*, each with the bundle's origin."""
    return read_bundle(path)[1]


__all__ = ["bundle_evidence", "bundle_origin", "is_bundle", "read_bundle"]

