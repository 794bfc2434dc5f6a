"""What the running kernel can do for IPsec, found by trying it in a throwaway namespace."""
from __future__ import annotations

import functools
import platform
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


@dataclass(frozen=True)
class KernelSupport:
    release: str
    esp: bool
    detail: str  # what the probe said, e.g. the error of ``ip xfrm state add``

    def as_dict(self) -> dict:
        return {"release": self.release, "esp": self.esp, "detail": self.detail}


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
    if result.returncode == 0:
        return KernelSupport(release, True, "ip xfrm state add of an ESP SA (aes-cbc/hmac-sha256) works")
    error = (result.stderr or result.stdout).strip()
    return KernelSupport(release, False, f"ip xfrm state add of an ESP SA failed: {error}")
