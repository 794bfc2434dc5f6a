"""Put a bundle together: live probes + the bundle's own items -> redacted archive.

Order matters for secrecy: the secrets file and the NSS password file are read FIRST, so the
redactor knows their values before any other item (a log, a command's error text) is
written, and can scrub echoes of them everywhere.
"""
from __future__ import annotations

import json
import os
import re
import socket
import tempfile
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from ..errors import SwandocError
from ..evidence import Evidence
from .archive import default_name, write_bundle
from .gather import Options, gather, nss_dir, read_bounded
from .redact import Redactor

COLLECT_DEADLINE = 300.0  # the live probes as a whole; each of their items has its own bound


@dataclass(frozen=True)
class BundleResult:
    path: str
    manifest: dict[str, Any]
    map_path: str | None = None


def _nss_password(options: Options, redactor: Redactor) -> Evidence | None:
    directory = nss_dir(options)
    candidates = [os.path.join(d, "nsspassword") for d in filter(None, (directory, "/etc/ipsec.d", "/var/lib/ipsec/nss"))]
    for path in dict.fromkeys(candidates):
        if os.path.lexists(path):
            item = read_bounded("nss_password", path, limit=65536)
            if item.available:
                redactor.learn_nsspassword(item.text())
            return item
    return None


def _live_probes(options: Options, progress: Callable[[str], None]) -> tuple[list[Evidence], str | None]:
    """The diagnose probes (``swandoc.probes.collect``) for --conn, bounded as a whole.

    They need a connection to aim at (route and MTU toward its peer, its log file); without
    --conn, or if they are unavailable or fail, ([], reason) and the bundle's own collection
    (same evidence names, same formats where it can) does the work.
    """
    if not options.conn:
        return [], None
    try:
        from ..probes.collect import CollectOptions, collect
    except ImportError as exc:
        return [], f"live probes unavailable ({exc}); used the bundle's own collection"
    kwargs: dict[str, Any] = {"conn": options.conn, "config": options.config, "log": options.log,
                              "since": _since(options.since), "capture": bool(options.capture),
                              "duration": options.capture or 10.0, "initiate": False, "countdown": False}
    if options.ctl_socket:
        kwargs["ctl_socket"] = options.ctl_socket
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["set"] = collect(CollectOptions(**kwargs))
        except SwandocError as exc:  # e.g. no such conn: the user must hear it
            result["user_error"] = exc
        except Exception as exc:  # their failure must not end the bundle
            result["error"] = f"{exc.__class__.__name__}: {exc}"

    progress("collecting (live probes)...")
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(COLLECT_DEADLINE + (options.capture or 0))
    if thread.is_alive():
        return [], f"live probes did not finish within {COLLECT_DEADLINE:g}s; used the bundle's own collection"
    if "user_error" in result:
        raise result["user_error"]
    if "error" in result:
        return [], f"live probes failed ({result['error']}); used the bundle's own collection"
    evidence = result.get("set")
    return list(evidence or ()), None


def _since(value: str | None) -> str | None:
    """'24h' (bundle's syntax) -> '-24h' (the journal probe's relative syntax)."""
    if value and re.fullmatch(r"\d+[smhd]", value.strip()):
        return "-" + value.strip()
    return value


def _capture(options: Options) -> Evidence:
    try:
        from ..probes.capture import capture
    except ImportError as exc:
        return Evidence("ike_capture", None, "capture", error=f"capture unavailable: {exc}")
    fd, path = tempfile.mkstemp(prefix="swandoc-capture-", suffix=".pcap")
    os.close(fd)
    try:
        item = capture(None, options.capture, 5000, path, False)
        if item.content is None and item.error is None and os.path.exists(path):
            with open(path, "rb") as fh:
                item = Evidence(item.name, fh.read(), item.origin, item.status, item.duration)
        return item
    except Exception as exc:
        return Evidence("ike_capture", None, "capture", error=f"capture failed: {exc.__class__.__name__}: {exc}")
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass


def build_bundle(options: Options, *, output: str | None = None, obfuscate: bool = False,
                 progress: Callable[[str], None] = lambda m: None, use_live_probes: bool = True,
                 extra_items: Iterable[Evidence] = ()) -> BundleResult:
    """Collect everything, redact it, write the archive; *extra_items* are added as they are
    (still redacted) and take precedence over collected items of the same name."""
    host = socket.gethostname() or "host"
    redactor = Redactor()
    from ..probes.secrets import collect_secrets

    items: list[Evidence] = [collect_secrets(options.secrets, redactor)]
    nss = _nss_password(options, redactor)
    if nss is not None:
        items.append(nss)
    items.extend(extra_items)
    notes: list[str] = []
    live, why = _live_probes(options, progress) if use_live_probes else ([], None)
    if why:
        notes.append(why)
    have = {i.name for i in items}
    for item in live:
        if item.name not in have:  # our censored secrets win over anything else's
            items.append(item)
            have.add(item.name)
    progress("collecting...")
    items.extend(gather(options, skip=have))
    if options.capture and "ike_capture" not in {i.name for i in items}:
        progress(f"capturing for {options.capture:g}s...")
        items.append(_capture(options))
    version_item = next((i for i in items if i.name == "libreswan_version" and i.content), None)
    version = version_item.text().strip().splitlines()[0] if version_item and version_item.text().strip() else None

    obfuscator = None
    if obfuscate:
        from .obfuscate import Obfuscator
        obfuscator = Obfuscator()
    if output is None:
        output = default_name("obfuscated" if obfuscate else host)
    if os.path.isdir(output):
        output = os.path.join(output, default_name("obfuscated" if obfuscate else host))
    opts = {"config": options.config, "secrets": options.secrets, "ctl_socket": options.ctl_socket,
            "log": options.log, "since": options.since, "conn": options.conn, "capture": options.capture,
            "timeout": options.timeout, "notes": "; ".join(notes) or None}
    try:
        manifest = write_bundle(items, output, redactor=redactor, obfuscator=obfuscator, host=host,
                                libreswan_version=version, options=opts)
    except OSError as exc:
        raise SwandocError(f"cannot write {output}: {exc.strerror or exc}") from None
    map_path = None
    if obfuscator is not None:
        map_path = output + ".map.json"
        fd = os.open(map_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(obfuscator.map, fh, indent=2, sort_keys=True)
    return BundleResult(output, manifest, map_path)
