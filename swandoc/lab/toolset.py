"""How to run one Libreswan version's programs inside a lab namespace.

Version 4 is the host's own Libreswan: ``ip netns exec NS ipsec ...``. Version 5 runs from the
Debian 13 root of :mod:`swandoc.lab.roots`: every command (pluto, whack, addconn, ``ipsec
--version``) gets a private mount namespace (``unshare --mount``) in which the daemon's own
directory is bind-mounted at the same path inside the root, ``/proc``, ``/sys`` (the namespace's,
as ``ip netns exec`` mounted it) and ``/dev`` are bound in, ``/tmp`` and ``/run`` are fresh
tmpfs, and the command is exec'd chrooted into the root. Every step execs the next, so the pid
the lab holds is pluto's own; the cached root itself is never written to.

Same paths inside and outside mean configs, logs and control sockets need no translation, and
5.x's whack talks to 5.x's pluto while 4.x's tools never touch it.
"""
from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from . import roots

# $1 = root, then the directories to bind, then "--", then the command.
_ENTER_ROOT = r"""
set -e
root=$1; shift
mount --rbind /proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --rbind /dev "$root/dev"
mount -t tmpfs -o mode=1777 swandoc-tmp "$root/tmp"
mount -t tmpfs -o mode=755 swandoc-run "$root/run"
while [ "$1" != "--" ]; do
  mkdir -p "$root$1"
  mount --bind "$1" "$root$1"
  shift
done
shift
exec chroot "$root" "$@"
"""


@dataclass(frozen=True)
class Toolset:
    """The Libreswan a lab daemon runs: "4" (the host's) or "5" (the Debian 13 root)."""

    version: str = roots.HOST_VERSION
    root: Path | None = None

    @classmethod
    def for_version(cls, version: str, *, log=None) -> "Toolset":
        """The toolset for *version*, building its root first if this machine has none yet."""
        return cls(version, roots.ensure(version, log=log))

    def argv(self, namespace: str | None, binds: tuple[Path, ...], *command: str) -> list[str]:
        """argv running *command* in *namespace* (None: the host's) with this version's programs.

        *binds* are the directories the command must see (the daemon's work dir); with the
        host's Libreswan they are visible anyway.
        """
        prefix = ["ip", "netns", "exec", namespace] if namespace else []
        if self.root is None:
            return [*prefix, *command]
        for bind in binds:
            if not str(bind).startswith("/tmp/") and not Path(self.root, str(bind).lstrip("/")).is_dir():
                # outside /tmp the mount point would have to be made in the cached root
                raise roots.RootError(f"lab directory {bind} must be under /tmp for the Libreswan "
                                      f"{self.version} root")
        return [*prefix, "unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", _ENTER_ROOT,
                "swandoc-root", str(self.root), *(str(b) for b in binds), "--", *command]

    def shell_wrapper(self, binds: tuple[Path, ...]) -> str:
        """A ``/bin/sh`` script that runs this version's ``ipsec "$@"`` on the host (seeing *binds*).

        Put as ``ipsec`` first on PATH, it makes a host look like one with this Libreswan installed:
        the lab uses it to run ``swandoc diagnose``/``bundle`` against a 5.x pluto.
        """
        import shlex

        return "#!/bin/sh\n# swandoc lab: Libreswan %s's ipsec\nexec %s \"$@\"\n" % (
            # the root's own ipsec by its full path: PATH may lead back to this very wrapper
            self.version, shlex.join(self.argv(None, binds, "/usr/sbin/ipsec")))

    def version_line(self) -> str:
        """First line of this version's ``ipsec --version``, e.g. "Libreswan 5.2"."""
        try:
            result = subprocess.run(self.argv(None, (), "ipsec", "--version"), capture_output=True, text=True,
                                    timeout=15)
        except (OSError, subprocess.TimeoutExpired):
            return "unknown"
        lines = result.stdout.strip().splitlines()
        return lines[0] if lines else "unknown"


HOST = Toolset()
