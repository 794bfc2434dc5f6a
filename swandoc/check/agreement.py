"""Static verdicts against the lab's: what ``swandoc check`` foresees for each scenario's config pair.

For every lab scenario, the first problem ``check`` predicts from the two configs and secrets
(or None for a pair it finds clean) is compared with what the real daemons produced. Where
they cannot agree the reason is data here, so the README, the report and the test read one list.
"""
from __future__ import annotations

from pathlib import Path

# Lab outcomes that say the configs agreed: the failure, if any, is the kernel's, not the configs'.
CONFIG_AGREED = {"tunnel-up", "kernel-sa-install-failed", "tcp-encap-unsupported"}

# scenario -> why the static check cannot see what the lab shows (only a running system knows).
DISAGREEMENTS = {
    "udp500-blocked": "the fault is a firewall rule on east, outside both configs; the pair itself is fine",
    "responder-down": "east's pluto is simply not started; nothing in the configs is wrong",
    "large-packets-dropped": "a router on the path drops big UDP packets; the configs (fragmentation=no on both "
                             "ends, certificates) only make it possible, the path decides",
    "nat-t-blocked": "a router drops UDP 4500 after NAT; the configs are a correct NAT-T pair",
    "x509-untrusted-ca": "whether east trusts west's CA is in east's NSS database, not in ipsec.conf",
}


def static_first(out_dir: Path | str, conn: str | None = None) -> str | None:
    """The first non-info finding ``check`` gives for a lab run's config pair, or None."""
    from . import run_check

    d = Path(out_dir)
    report = run_check(str(d / "west.conf"), str(d / "west.secrets"), conn,
                       peer_config=str(d / "east.conf"), peer_secrets=str(d / "east.secrets"), host=False)
    problems = [f.id for f in report.findings if f.severity != "info"]
    return problems[0] if problems else None


def lab_verdict(first_id: str | None) -> str | None:
    """A lab run's first finding as a config verdict: None when the configs agreed."""
    return None if first_id is None or first_id in CONFIG_AGREED else first_id
