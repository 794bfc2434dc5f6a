"""One pluto daemon inside a lab namespace, with everything it owns kept private.

Each daemon gets its own ipsec.conf, ipsec.secrets, NSS database, run directory
(control socket + pid file) and log file, so two daemons on one host never share state
and the host's /etc/ipsec.* and /run/pluto are never read or written.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from .toolset import HOST, Toolset

PLUTO = "/usr/libexec/ipsec/pluto"
IPSEC = "ipsec"


def ipsec_version() -> str:
    try:
        out = subprocess.run([IPSEC, "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return out.strip().splitlines()[0] if out.strip() else "unknown"


def config_setup(logfile: Path, *, debug: bool, extra: dict[str, str] | None = None) -> str:
    """The ``config setup`` section every lab daemon shares."""
    options = {
        "logfile": str(logfile),
        "logappend": "no",
        "logtime": "yes",
        "plutodebug": "all" if debug else "none",
        # No DNSSEC: nothing in the lab needs a resolver and pluto must not go looking.
        "dnssec-enable": "no",
        "uniqueids": "yes",
    }
    options.update(extra or {})
    body = "".join(f"\t{key}={value}\n" for key, value in options.items())
    return "config setup\n" + body


@dataclass
class Pluto:
    """A pluto process for one side of the lab."""

    side: str               # "west" or "east"
    namespace: str
    workdir: Path            # private directory for this daemon
    config_text: str
    secrets_text: str
    process: subprocess.Popen | None = None
    started_at: float | None = None
    extra_args: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)
    toolset: Toolset = HOST  # which Libreswan runs this daemon (and its whack/addconn)

    def command(self, *argv: str) -> list[str]:
        """*argv* run in this daemon's namespace with its own version's programs."""
        return self.toolset.argv(self.namespace, (self.workdir,), *argv)

    @property
    def conf(self) -> Path:
        return self.workdir / "ipsec.conf"

    @property
    def secrets(self) -> Path:
        return self.workdir / "ipsec.secrets"

    @property
    def nssdir(self) -> Path:
        return self.workdir / "nss"

    @property
    def rundir(self) -> Path:
        return self.workdir / "run"

    @property
    def ctlsocket(self) -> Path:
        return self.rundir / "pluto.ctl"

    @property
    def logfile(self) -> Path:
        return self.workdir / "pluto.log"

    def prepare(self) -> None:
        """Write config and secrets and make an empty NSS database (no password)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.rundir.mkdir(exist_ok=True)
        (self.workdir / "ipsec.d").mkdir(exist_ok=True)
        init_nss(self.nssdir)
        self.write_config()

    def write_config(self) -> None:
        self.conf.write_text(self.config_text)
        self.secrets.write_text(self.secrets_text)
        self.secrets.chmod(0o600)

    def start(self, timeout: float = 10.0) -> None:
        argv = self.command(
            PLUTO,
            "--config", str(self.conf),
            "--nofork",
            "--rundir", str(self.rundir),
            "--nssdir", str(self.nssdir),
            "--secretsfile", str(self.secrets),
            "--ipsecdir", str(self.workdir / "ipsec.d"),
            "--logfile", str(self.logfile),
            *self.extra_args,
        )
        # A new session keeps Ctrl-C at the terminal from reaching pluto directly: the
        # runner decides the shutdown order, and a half-killed pluto cannot be left behind.
        # The child has its own copy of the descriptor; the parent's is closed at once.
        with open(self.workdir / "pluto.stderr", "wb") as stderr:
            self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                            stderr=stderr, start_new_session=True)
        self.started_at = time.monotonic()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                # The work dir is deleted at teardown: say pluto's last words here.
                raise RuntimeError(f"{self.side} pluto exited at start (rc {self.process.returncode}): "
                                   f"{self._last_words()}")
            if self.ctlsocket.exists() and self._whack("--status", check=False).returncode == 0:
                return
            time.sleep(0.05)
        raise RuntimeError(f"{self.side} pluto did not open {self.ctlsocket} within {timeout}s")

    def _last_words(self) -> str:
        """The last line pluto wrote to stderr or its log, for an error message."""
        for path in (self.workdir / "pluto.stderr", self.logfile):
            try:
                lines = path.read_text(errors="replace").strip().splitlines()
            except OSError:
                continue
            if lines:
                return lines[-1].strip()
        return "it wrote nothing"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _whack(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        argv = self.command(IPSEC, "whack", "--ctlsocket", str(self.ctlsocket), *args)
        return subprocess.run(argv, capture_output=True, text=True, check=check, timeout=timeout)

    def addconn(self, *names: str) -> subprocess.CompletedProcess:
        """``ipsec addconn`` of this daemon's config: the named conns, or every ``auto=add`` one."""
        argv = self.command(IPSEC, "addconn", "--config", str(self.conf), "--ctlsocket", str(self.ctlsocket),
                            *(names or ("--autoall",)))
        return subprocess.run(argv, capture_output=True, text=True, timeout=30)

    def add_connections(self) -> subprocess.CompletedProcess:
        """Load every conn in the config (``auto=add``) into this daemon."""
        result = self.addconn()
        self._whack("--listen", check=False)
        self._whack("--rereadsecrets", check=False)
        return result

    def initiate(self, conn: str, timeout: float = 60) -> tuple[str, int]:
        """Initiate *conn* and return whack's console output, codes and all, plus its exit code."""
        try:
            result = self._whack("--name", conn, "--initiate", check=False, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
            return out + f"\n[swandoc lab: whack gave no result within {timeout}s]\n", 124
        return result.stdout + result.stderr, result.returncode

    def whack(self, *args: str, timeout: float = 30) -> str:
        result = self._whack(*args, check=False, timeout=timeout)
        return result.stdout + result.stderr

    def stop(self, grace: float = 3.0) -> None:
        """Ask pluto to shut down, then make sure it is gone."""
        if self.process is None:
            return
        if self.process.poll() is None:
            try:
                self._whack("--shutdown", check=False, timeout=grace)
            except subprocess.TimeoutExpired:
                pass
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        if self.process.poll() is None:
            kill_group(self.process, signal.SIGKILL)
            self.process.wait(timeout=5)


def kill_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass


def init_nss(nssdir: Path) -> None:
    nssdir.mkdir(parents=True, exist_ok=True)
    if not (nssdir / "cert9.db").exists():
        subprocess.run(["certutil", "-N", "-d", f"sql:{nssdir}", "--empty-password"],
                       check=True, capture_output=True, text=True)
