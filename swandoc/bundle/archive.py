"""Write evidence items into a redacted ``.tar.xz`` support bundle with a manifest.

Layout inside the archive (one top folder, ``swandoc-bundle/``)::

    manifest.json      versions, host, time; per item: path, command/file, exit status,
                       duration, size, sha256, redaction counts; items that could not be had
    README.md          what is in it, how secrets were removed, how to read it
    config/ commands/ net/ firewall/ proc/ logs/ capture/   the items (paths from evidence.REGISTRY)

Every text item goes through :meth:`Redactor.redact` (its own policy, the generic scrubber,
the known-secret scrubber) and then the optional :class:`Obfuscator` before a byte is
written; the manifest's own strings (origins, error messages) go through the same filters.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import os
import tarfile
import tempfile
import time
from typing import Any, Iterable

from .. import __version__
from ..evidence import REGISTRY, Evidence
from .redact import Redactor

TOP = "swandoc-bundle"
FORMAT = "swandoc-bundle"
FORMAT_VERSION = 1

README = """\
# swandoc support bundle

Made by `swandoc bundle` (swandoc {version}) on {host} at {created}.
Read it on any machine with:

    swandoc analyze {archive}

`manifest.json` lists every item: the command or file it came from, exit status, duration,
size, sha256 of the stored (redacted) content and how many secrets of each kind were removed.
Items that could not be collected are listed under "missing" with the reason (no root, tool
not installed, daemon not running, timed out).

## Secrets

Nothing secret is stored. Before any item was written, every secret was learnt from the file
that holds it, read with that file's grammar (ipsec.secrets as pluto reads it, with its includes
and the file secretsfile= names; password options of ipsec.conf; the NSS password file;
NetworkManager connections), and then:
- ipsec.secrets: every PSK, XAUTH/EAP/NTLM password, PIN, PPK and private key block was replaced
  by its kind and a length class, e.g. `[PSK, quoted, 16-31 chars]`; IDs, PPK ids, %smartcard and
  key nicknames are kept; commented-out entries are censored too; an entry that could not be
  understood lost everything after its IDs, with a note.
- `ip [-s] xfrm state`: the enc/auth/auth-trunc/aead keys were removed (algorithms, counters kept).
- pluto logs: every debug hex dump (3.x, 4.x, 5.x, helper threads) was removed by its shape.
- any PEM private key block, NSS passwords, password-like ipsec.conf and NetworkManager values.
- every member (this README and manifest.json included) was searched for the learnt values in
  every encoding: as text, JSON-escaped, hex (any case and separators), base64, 0x/0s/0t.
Public keys (leftrsasigkey=) and certificates' public parts are kept.
A packet capture (capture/ike.pcap, only with --capture) is stored as captured: IKE keys are
never on the wire, but an IKEv1 Aggressive Mode exchange carries a hash that allows offline
guessing of a weak PSK; leave --capture off for such peers if that matters.

## Obfuscation

{obfuscation}
"""

OBFUSCATED = """\
IP addresses, host names, IDs (@fqdn, user@fqdn, DN parts, key ids), XAUTH user names and
certificate nicknames were replaced (--obfuscate). The same value always has the same stand-in
in every file; prefixes are preserved bit for bit, so addresses in one subnet are still in one
subnet and prefix lengths are as written; private/link-local addresses stay private/link-local;
loopback, netmasks and 0.0.0.0/0 are kept. Host names became host-N.example, IDs id-N, user
names user-N, organisations org-N. The packet capture, if any, was left out (it cannot be rewritten safely). The
map back to real values is NOT in this archive; the sender kept it beside the archive."""

NOT_OBFUSCATED = "Not obfuscated: addresses and host names are as on the host (use --obfuscate to hide them)."


def item_path(name: str) -> str:
    spec = REGISTRY.get(name)
    return spec.bundle_path if spec else f"extra/{name}.txt"


def item_policy(name: str) -> str:
    spec = REGISTRY.get(name)
    return spec.redaction if spec else "generic"


def _clean(text: str | None, redactor: Redactor, obfuscator) -> str | None:
    if text is None:
        return None
    text, _ = redactor.redact(text)
    return obfuscator.text(text) if obfuscator else text


def _redact_item(item: Evidence, redactor: Redactor) -> tuple[str | bytes | None, dict[str, Any]]:
    """(redacted text, raw bytes for a binary item, or None; manifest entry) for one item."""
    policy = item_policy(item.name)
    counts: dict[str, int] = dict(item.redactions)
    entry: dict[str, Any] = {
        "name": item.name,
        "path": item_path(item.name),
        "origin": _clean(item.origin, redactor, None),
        "status": item.status,
        "duration": round(item.duration, 3),
        "error": _clean(item.error, redactor, None),
        "meta": {k: _clean(v, redactor, None) for k, v in item.meta},
        "redactions": counts,
    }
    if item.content is None:
        return None, entry
    if policy == "none":
        return item.content, entry
    text, found = redactor.redact(item.content.decode("utf-8", errors="replace"), policy)
    for kind, n in found.items():
        counts[kind] = counts.get(kind, 0) + n
    return text, entry


def _obfuscate_entry(entry: dict[str, Any], obfuscator) -> None:
    for key in ("origin", "error"):
        if entry[key] is not None:
            entry[key] = obfuscator.text(entry[key])
    entry["meta"] = {k: obfuscator.text(v) if v is not None else None for k, v in entry["meta"].items()}


def prepare_items(items: Iterable[Evidence], redactor: Redactor, obfuscator=None) -> list[tuple[bytes | None, dict[str, Any]]]:
    """(bytes to store or None, manifest entry) for every item, by construction:

    1. every secret each item's grammar names is learnt (ipsec.secrets, password options,
       NSS password file, NetworkManager connections) before any item is redacted, so an
       echo of it in any other item is found;
    2. every item is redacted (its policy, the generic scrubber, the learnt values);
    3. with *obfuscator*: it learns every name, address and ID from all redacted items (and the
       manifest's strings), then each is rewritten with the same map.
    """
    items = list(items)
    for item in items:
        policy = item_policy(item.name)
        if item.content is not None and policy != "none":
            redactor.learn(item.content.decode("utf-8", errors="replace"), policy)
    prepared = [_redact_item(item, redactor) for item in items]
    if obfuscator is not None:
        for content, entry in prepared:
            if isinstance(content, str):
                obfuscator.learn(content, entry["name"])
            for value in (entry["origin"], entry["error"], *entry["meta"].values()):
                if value:
                    obfuscator.learn(value, "")
    out: list[tuple[bytes | None, dict[str, Any]]] = []
    for content, entry in prepared:
        if obfuscator is not None:
            _obfuscate_entry(entry, obfuscator)
            if isinstance(content, bytes):
                entry["error"] = "left out: --obfuscate cannot rewrite binary packet data safely"
                content = None
            elif content is not None:
                content = obfuscator.text(content)
        if content is None:
            out.append((None, entry))
            continue
        data = content.encode("utf-8") if isinstance(content, str) else content
        entry.update(size=len(data), sha256=hashlib.sha256(data).hexdigest())
        out.append((data, entry))
    return out


def prepare_item(item: Evidence, redactor: Redactor, obfuscator=None) -> tuple[bytes | None, dict[str, Any]]:
    """One item alone (see :func:`prepare_items`)."""
    return prepare_items([item], redactor, obfuscator)[0]


def default_name(host: str, when: _dt.datetime | None = None) -> str:
    when = when or _dt.datetime.now()
    return f"swandoc-{host}-{when.strftime('%Y%m%d-%H%M%S')}.tar.xz"


def _add(tar: tarfile.TarFile, path: str, data: bytes, mtime: float) -> None:
    info = tarfile.TarInfo(f"{TOP}/{path}")
    info.size = len(data)
    info.mtime = int(mtime)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def write_bundle(items: Iterable[Evidence], output: str, *, redactor: Redactor, obfuscator=None,
                 host: str, libreswan_version: str | None, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Redact every item, write the archive atomically to *output*, return the manifest."""
    now = time.time()
    created = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    if obfuscator is not None:
        obfuscator.learn_name(host)
    entries: list[dict[str, Any]] = []
    missing: list[dict[str, Any]] = []
    stored: list[tuple[str, bytes]] = []
    totals: dict[str, int] = {}
    for data, entry in prepare_items(items, redactor, obfuscator):
        for kind, n in entry.get("redactions", {}).items():
            totals[kind] = totals.get(kind, 0) + n
        if data is None:
            missing.append({"name": entry["name"], "origin": entry["origin"],
                            "reason": entry["error"] or "no content"})
            continue
        entries.append(entry)
        stored.append((entry["path"], data))
    shown_host = obfuscator.text(host) if obfuscator else host
    if obfuscator and shown_host == host:
        shown_host = "host-obfuscated"
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "swandoc_version": __version__,
        "libreswan_version": _clean(libreswan_version, redactor, obfuscator),
        "host": shown_host,
        "created": created,
        "obfuscated": obfuscator is not None,
        "options": {k: _clean(str(v), redactor, obfuscator) if v is not None else None
                    for k, v in (options or {}).items()},
        "items": entries,
        "missing": missing,
        "redaction_totals": totals,
    }
    readme = README.format(version=__version__, host=shown_host, created=created,
                           archive=_clean(os.path.basename(output), redactor, obfuscator),
                           obfuscation=OBFUSCATED if obfuscator else NOT_OBFUSCATED)
    directory = os.path.dirname(os.path.abspath(output))
    fd, tmp = tempfile.mkstemp(prefix=".swandoc-bundle-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:xz") as tar:
            _add(tar, "manifest.json", json.dumps(manifest, indent=2, sort_keys=False).encode() + b"\n", now)
            _add(tar, "README.md", readme.encode(), now)
            for path, data in stored:
                _add(tar, path, data, now)
        os.chmod(tmp, 0o600)  # a bundle describes the VPN's topology: not for everyone
        os.replace(tmp, output)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return manifest
