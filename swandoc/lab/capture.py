"""tcpdump on west's interface, inside west's namespace."""
from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from .daemon import kill_group

CAPTURE_FILTER = "udp port 500 or udp port 4500 or tcp port 4500 or esp or icmp or (ip[6:2] & 0x1fff != 0)"


class Capture:
    def __init__(self, namespace: str, interface: str, pcap: Path, snaplen: int = 2048):
        self.namespace = namespace
        self.interface = interface
        self.pcap = pcap
        self.snaplen = snaplen
        self.process: subprocess.Popen | None = None
        self._stderr = pcap.with_suffix(".tcpdump.txt")

    def start(self, timeout: float = 5.0) -> None:
        # -Z root: tcpdump would otherwise drop to its own user and fail to write into an
        # out dir owned by root; -U writes each packet at once so a killed run keeps them.
        argv = ["ip", "netns", "exec", self.namespace, "tcpdump", "-i", self.interface, "-n", "-U", "--immediate-mode",
                "-Z", "root", "-s", str(self.snaplen), "-w", str(self.pcap), CAPTURE_FILTER]
        # The child has its own copy of the descriptor; the parent's is closed at once.
        with self._stderr.open("wb") as stderr:
            self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                            stderr=stderr, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"tcpdump exited: {self._stderr.read_text().strip()}")
            if "listening on" in self._stderr.read_text(errors="replace"):
                return
            time.sleep(0.02)
        raise RuntimeError("tcpdump did not start listening in time")

    def stop(self) -> str:
        """Stop tcpdump and return its summary lines (packets captured/dropped)."""
        if self.process is None:
            return ""
        if self.process.poll() is None:
            kill_group(self.process, signal.SIGINT)
            try:
                self.process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                kill_group(self.process, signal.SIGKILL)
                self.process.wait(timeout=3)
        text = self._stderr.read_text(errors="replace") if self._stderr.exists() else ""
        self._stderr.unlink(missing_ok=True)
        return text.strip()
