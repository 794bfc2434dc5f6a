"""``swandoc check``'s configuration rules inside ``diagnose`` (live) and ``analyze`` (a bundle).

The rules themselves live in :mod:`swandoc.check.rules`; this host rule only hands them the
``ipsec_conf`` item a host's evidence carries (cited as lines of that item) and the sysctls it
already has. Secrets are not judged here: a bundle holds them censored, so ``weak-psk`` and
``ppk-not-configured`` need ``swandoc check`` on the host itself.
"""
from __future__ import annotations

import re
from typing import Iterator

from ..facts import HostFacts
from ..model import Finding
from .registry import host_rule


@host_rule
def configuration(host: HostFacts) -> Iterator[Finding]:
    from ..check.confsource import from_combined_text
    from ..check.hostcheck import sysctl_findings
    from ..check.rules import End, check_end

    item = host.evidence.get("ipsec_conf")
    if item is not None and item.available:
        version_item = host.evidence.get("libreswan_version")
        m = re.search(r"Libreswan (?:U|v)?(\d+)\.", version_item.text()) if version_item and version_item.available \
            else None
        doc = from_combined_text(item.text(), item.label, host.name)
        end = End(doc, None, int(m.group(1)) if m else 4, False, m is not None)
        only = host.connection.name if host.connection and doc.conn(host.connection.name) else None
        # policy_file_exists=False: whether the policy back-end exists is a fact of that host, not
        # of its config; only a commented-out include (config alone) is judged here
        yield from check_end(end, only, policy_file_exists=False)
    if host.sysctls:
        name = host.connection.name if host.connection else None
        yield from sysctl_findings(host.sysctls, name, lambda key: host.line("sysctls", f"{key} = {host.sysctls.get(key)}"))
