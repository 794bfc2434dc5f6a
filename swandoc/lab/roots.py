"""Other Libreswan versions for the lab: a Debian root with that version's packages, built once.

Libreswan 4.x is the host's own (Debian 12 ships 4.10). Libreswan 5.x comes from a Debian 13
(trixie) root made with ``debootstrap --variant=minbase`` from Debian's own packages, cached under
``/var/cache/swandoc`` with a stamp file, and rebuilt when the stamp is missing. Its pluto, whack
and addconn run chrooted into that root (see :mod:`swandoc.lab.daemon`), inside the lab's network
namespaces, so the daemons are real 5.x binaries with real 5.x behaviour.

``bind9-host`` is named because minbase's resolver cannot choose a provider of libreswan's
virtual dependency ``host``.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

CACHE = Path(os.environ.get("SWANDOC_ROOT_CACHE", "/var/cache/swandoc"))
STAMP = ".swandoc-root"
DEBIAN_SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
SOURCES_LIST = Path("/etc/apt/sources.list")
HOST_VERSION = "4"  # the host's own Libreswan (Debian 12: 4.10)


@dataclass(frozen=True)
class RootSpec:
    version: str        # the Libreswan major version it provides
    suite: str          # Debian suite
    name: str           # directory under CACHE
    packages: tuple[str, ...]


ROOTS = {
    "5": RootSpec("5", "trixie", "trixie-libreswan",
                  ("libreswan", "bind9-host", "libnss3-tools", "iproute2")),
}
VERSIONS = (HOST_VERSION, *ROOTS)


class RootError(RuntimeError):
    """The root could not be built or is unusable (one line, for the user)."""


def path_for(version: str) -> Path | None:
    """The root directory for *version*, or None for the host's own Libreswan."""
    if version == HOST_VERSION:
        return None
    try:
        spec = ROOTS[version]
    except KeyError:
        raise RootError(f"no Libreswan {version} for the lab; choose one of {', '.join(VERSIONS)}") from None
    return CACHE / spec.name


def is_built(version: str) -> bool:
    root = path_for(version)
    return root is None or ((root / STAMP).is_file() and (root / "usr/libexec/ipsec/pluto").exists())


def mirror() -> str:
    """The Debian mirror this host's apt already uses: ``$SWANDOC_DEBIAN_MIRROR``, else the deb822 ``URIs:``
    of debian.sources, else the first ``deb`` line of sources.list (what debootstrap writes).

    >>> isinstance(mirror(), str)
    True
    """
    if os.environ.get("SWANDOC_DEBIAN_MIRROR"):
        return os.environ["SWANDOC_DEBIAN_MIRROR"]
    try:
        for line in DEBIAN_SOURCES.read_text().splitlines():
            if line.startswith("URIs:") and line.split()[1:]:
                return line.split()[1]
    except OSError:
        pass
    try:
        for line in SOURCES_LIST.read_text().splitlines():
            words = [w for w in line.split() if not w.startswith("[")]
            if len(words) > 1 and words[0] == "deb" and "security" not in words[1]:
                return words[1]
    except OSError:
        pass
    return ""


def ensure(version: str, *, log=None) -> Path | None:
    """The root for *version*, built first when it is missing (a few minutes, once per machine)."""
    root = path_for(version)
    if root is None or is_built(version):
        return root
    return build(version, log=log)


def build(version: str, *, force: bool = False, log=None) -> Path:
    """debootstrap the root for *version* into a temporary directory, then move it into place.

    A half-built root never takes the cached root's place: the stamp is written last and the
    rename is atomic, so an interrupted build just leaves a ``.tmp`` directory to be removed.
    """
    root = path_for(version)
    if root is None:
        raise RootError(f"Libreswan {version} is the host's own; there is no root to build")
    if is_built(version) and not force:
        return root
    if os.geteuid() != 0:
        raise RootError("building a Libreswan root needs root (debootstrap, chroot)")
    debootstrap = shutil.which("debootstrap")
    if debootstrap is None:
        raise RootError("debootstrap is not installed (apt-get install debootstrap)")
    spec = ROOTS[version]
    source = mirror()
    if not source:
        raise RootError("no Debian mirror in this host's apt sources; set SWANDOC_DEBIAN_MIRROR")
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = root.with_name(root.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    argv = [debootstrap, "--variant=minbase", f"--include={','.join(spec.packages)}", spec.suite, str(tmp),
            source]
    logfile = CACHE / f"{spec.name}.build.log"
    if log:
        log(f"building the Libreswan {version} root ({spec.suite}) in {root}; log in {logfile}")
    with open(logfile, "w") as out:
        result = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise RootError(f"debootstrap of {spec.suite} failed (exit {result.returncode}); see {logfile}: "
                        f"{_last_line(logfile)}")
    if not (tmp / "usr/libexec/ipsec/pluto").exists():
        raise RootError(f"the {spec.suite} root has no /usr/libexec/ipsec/pluto; see {logfile}")
    version_line = _ipsec_version(tmp)
    (tmp / STAMP).write_text(
        f"suite={spec.suite}\npackages={','.join(spec.packages)}\nmirror={mirror()}\n"
        f"built={datetime.now(timezone.utc).isoformat(timespec='seconds')}\nlibreswan={version_line}\n")
    if root.exists():
        shutil.rmtree(root)
    tmp.rename(root)
    return root


def _ipsec_version(root: Path) -> str:
    result = subprocess.run(["chroot", str(root), "ipsec", "--version"], capture_output=True, text=True,
                            timeout=30)
    return (result.stdout.strip().splitlines() or ["unknown"])[0]


def _last_line(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1] if lines else ""


def main(argv: list[str]) -> int:
    """``python -m swandoc.lab.roots [VERSION...]``: build each missing root (CI's setup step)."""
    import sys

    for version in argv or list(ROOTS):
        try:
            root = ensure(version, log=lambda msg: print(f"swandoc: {msg}", file=sys.stderr))
        except RootError as exc:
            print(f"swandoc: {exc}", file=sys.stderr)
            return 2
        print(f"Libreswan {version} root: {root} ({_ipsec_version(root)})")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
