"""Put a bundle together: the shared collection + the bundle's own items -> redacted archive.

Everything ``diagnose`` reads comes from :func:`swandoc.probes.collect.collect` (for --conn,
or host-wide without it), so ``swandoc analyze bundle.tar.xz`` sees the same evidence. Only
the censored secrets, the NSS password file and the manifest are the bundle's own.

Order matters for secrecy: the secrets file and the NSS password file are read before any
item is redacted and written, so the redactor knows their values and can scrub echoes of
them everywhere (a log, a command's error text). The NSS password file is read after the
collection only to learn, from pluto's status, which NSS directory pluto really uses.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import socket
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from ..errors import SwandocError
from ..evidence import Evidence
from ..probes.run import DEFAULT_TIMEOUT, read_file
from .archive import default_name, write_bundle
from .redact import Redactor

# The bundle's own items: never produced by probes.collect.
BUNDLE_ONLY = frozenset({"ipsec_secrets", "nss_password"})


@dataclass(frozen=True)
class Options:
    """What ``swandoc bundle`` was asked to collect."""

    config: str = "/etc/ipsec.conf"
    secrets: str | None = None  # None: secretsfile= of config setup, else /etc/ipsec.secrets
    ctl_socket: str | None = None  # None: ipsec whack's own default
    log: str | None = None
    since: str = "24h"
    conn: str | None = None
    capture: float = 0.0
    esp: bool = True  # False: the capture takes IKE only
    timeout: float = DEFAULT_TIMEOUT
    nss_dir: str | None = None
    policies_dir: str | None = None  # None: ipsec.d/policies beside the config


@dataclass(frozen=True)
class BundleResult:
    path: str
    manifest: dict[str, Any]
    map_path: str | None = None


def _nss_password(options: Options, redactor: Redactor, status: Evidence | None = None) -> Evidence | None:
    """The NSS password file beside the database pluto uses: the one its *status* (``ipsec whack
    --status``) reports, as ``nss_certs`` does, else the standard places."""
    from ..probes.collect import NSS_CANDIDATES, find_nss_dir

    directory = find_nss_dir(status, options.nss_dir)
    candidates = [os.path.join(d, "nsspassword") for d in filter(None, (directory, *reversed(NSS_CANDIDATES)))]
    for path in dict.fromkeys(candidates):
        if os.path.lexists(path):
            item = read_file("nss_password", path, limit=65536)
            if item.available:
                redactor.learn_nsspassword(item.text())
            return item
    return None


def _setup_value(options: Options, key: str) -> str | None:
    """A ``config setup`` option of the config pluto reads (None when unreadable or unset)."""
    from ..probes import config as confmod

    try:
        return confmod.parse_ipsec_conf(confmod.load_config(options.config)).setup_value(key)
    except (SwandocError, OSError, ValueError):
        return None


def secrets_path(options: Options) -> tuple[str, str]:
    """(path, why): --secrets, else ``secretsfile=`` in ``config setup`` (what pluto reads), else the default."""
    if options.secrets:
        return options.secrets, "--secrets"
    named = _setup_value(options, "secretsfile")
    if named:
        return named, f"secretsfile= in {options.config}"
    return "/etc/ipsec.secrets", "default"


def collect_options(options: Options):
    """The shared collection's options for a bundle: read-only, the bundle's own capture length."""
    from ..probes.collect import CollectOptions

    return CollectOptions(conn=options.conn, config=options.config, ctl_socket=options.ctl_socket, log=options.log,
                          since=_since(options.since), capture=bool(options.capture),
                          duration=options.capture or 10.0, initiate=False, countdown=False,
                          timeout=options.timeout, nss_dir=options.nss_dir, esp=options.esp,
                          policies_dir=options.policies_dir)


def _collect(options: Options, progress: Callable[[str], None]) -> tuple[list[Evidence], str | None]:
    """Every shared item; ([], reason) if the collection as a whole broke (the bundle still gets written)."""
    from ..probes.collect import collect

    progress("collecting..." if not options.capture else f"collecting (with a {options.capture:g}s capture)...")
    try:
        return list(collect(collect_options(options))), None
    except SwandocError:  # e.g. no such conn: the user must hear it
        raise
    except Exception as exc:  # each probe is guarded; this is a last guard so secrets still get bundled
        return [], f"collection failed ({exc.__class__.__name__}: {exc})"


def _since(value: str | None) -> str | None:
    """'24h' (bundle's syntax) -> '-24h' (the journal probe's relative syntax)."""
    if value and re.fullmatch(r"\d+[smhd]", value.strip()):
        return "-" + value.strip()
    return value


def build_bundle(options: Options, *, output: str | None = None, obfuscate: bool = False,
                 progress: Callable[[str], None] = lambda m: None, extra_items: Iterable[Evidence] = ()) -> BundleResult:
    """Collect everything, redact it, write the archive; *extra_items* are added as they are
    (still redacted) and take precedence over collected items of the same name."""
    host = socket.gethostname() or "host"
    redactor = Redactor()
    if options.nss_dir is None and _setup_value(options, "nssdir"):
        options = dataclasses.replace(options, nss_dir=_setup_value(options, "nssdir"))
    from ..probes.secrets import collect_secrets

    path, why = secrets_path(options)
    secrets_item = collect_secrets(path, redactor)
    items: list[Evidence] = [dataclasses.replace(secrets_item, meta=secrets_item.meta + (("chosen", why),))]
    notes: list[str] = []
    collected, why = _collect(options, progress)
    if why:
        notes.append(why)
    # After the collection, for pluto's own NSS dir from its status; still before anything is
    # redacted and written, so the password is known to the redactor everywhere.
    extra = list(extra_items)
    status = next((i for i in (*extra, *collected) if i.name == "whack_status"), None)
    nss = _nss_password(options, redactor, status)
    if nss is not None:
        items.append(nss)
    items.extend(extra)
    have = {i.name for i in items}
    # our censored secrets and the caller's items win over collected ones of the same name
    items.extend(item for item in collected if item.name not in have)
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
    opts = {"config": options.config, "secrets": path, "ctl_socket": options.ctl_socket,
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
