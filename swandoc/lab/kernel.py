"""What the running kernel can do for IPsec, found by trying it in a throwaway namespace."""
from __future__ import annotations

import errno
import functools
import platform
import socket
import subprocess
from dataclasses import dataclass

from . import topology

# Dummy keys: the SA is added to a namespace that is deleted straight away.
_ESP_TEST_SA = [
    "xfrm", "state", "add", "src", "192.0.2.1", "dst", "192.0.2.2", "proto", "esp", "spi", "0x1000",
    "mode", "tunnel",
    "enc", "cbc(aes)", "0x" + "11" * 16,
    "auth-trunc", "hmac(sha256)", "0x" + "22" * 32, "128",
]


TCP_ULP = 31  # from linux/tcp.h; Python's socket module has no name for it


@dataclass(frozen=True)
class KernelSupport:
    release: str
    esp: bool
    detail: str  # what the probe said, e.g. the error of ``ip xfrm state add``
    espintcp: bool = False  # ESP in TCP (RFC 8229), needed by enable-tcp/listen-tcp

    def as_dict(self) -> dict:
        return {"release": self.release, "esp": self.esp, "detail": self.detail, "espintcp": self.espintcp}


def has_espintcp() -> bool:
    """Can a TCP socket take the "espintcp" upper-layer protocol, as pluto asks for?

    The socket is never bound or connected, so nothing reaches any network. A missing
    ULP gives ENOENT (what pluto logs for enable-tcp on such a kernel); anything else means
    the kernel knows espintcp.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, TCP_ULP, b"espintcp")
        except OSError as exc:
            return exc.errno != errno.ENOENT
    return True


@functools.cache
def detect() -> KernelSupport:
    """Try to add an AES-CBC/HMAC-SHA256 ESP SA; pluto needs the same kernel support."""
    name = f"{topology.NAMESPACE_PREFIX}{topology.new_run_id()}-probe"
    release = platform.release()
    try:
        topology.run_ip("netns", "add", name)
        result = topology.run_ip("-n", name, *_ESP_TEST_SA, check=False)
    except (OSError, subprocess.CalledProcessError) as exc:
        return KernelSupport(release, False, f"could not probe: {exc}")
    finally:
        topology.delete_namespace(name)
    espintcp = has_espintcp()
    if result.returncode == 0:
        return KernelSupport(release, True, "ip xfrm state add of an ESP SA (aes-cbc/hmac-sha256) works",
                             espintcp)
    error = (result.stderr or result.stdout).strip()
    return KernelSupport(release, False, f"ip xfrm state add of an ESP SA failed: {error}", espintcp)
