"""``swandoc check``: a thin click wrapper over :func:`swandoc.check.run_check`."""
from __future__ import annotations

import sys

import click

from ..clitools import emit, format_option, output_option


@click.command("check")
@click.option("--config", "config", metavar="FILE", help="ipsec.conf to check (default /etc/ipsec.conf, "
              "with this host's readiness checks).")
@click.option("--secrets", "secrets", metavar="FILE", help="ipsec.secrets of this end (default /etc/ipsec.secrets "
              "with the default config). Secrets are never printed.")
@click.option("--conn", metavar="NAME", help="Only this connection (default: every conn).")
@click.option("--peer-config", metavar="FILE", help="The other end's ipsec.conf: predict whether the two agree.")
@click.option("--peer-secrets", metavar="FILE", help="The other end's ipsec.secrets (PSKs compared by digest only).")
@click.option("--peer-conn", metavar="NAME", help="The conn's name on the peer, if it differs.")
@click.option("--host/--no-host", "host", default=None,
              help="Also check this host (XFRM, sysctls, pluto, NSS, FIPS, ESP offload). "
                   "Default: on without --config; with --config only the NIC of a nic-offload=yes conn.")
@click.option("--libreswan", "version", type=click.Choice(["4", "5"]), default=None,
              help="Judge this end as Libreswan 4.x or 5.x (keywords, default proposals). Default: the installed one.")
@click.option("--peer-libreswan", "peer_version", type=click.Choice(["4", "5"]), default=None,
              help="The peer's Libreswan major version. Default: the same as this end.")
@format_option
@output_option
def check(config, secrets, conn, peer_config, peer_secrets, peer_conn, host, version, peer_version, fmt,
          output) -> None:
    """Check configuration files and this host before bringing a tunnel up (what ipsec verify did).

    Needs neither root nor a running pluto: files are checked offline; with --host (the default
    when no --config is given) the live host is checked too, as far as this user may read it.
    With --peer-config the two ends are compared as pluto would (IKE version, proposals, IDs,
    PSKs, traffic selectors, TCP, PFS); a failure foreseen that way is marked "predicted" and
    has the id pluto's log would give it.

    \b
    Examples:
      swandoc check                                   # /etc/ipsec.conf, ipsec.secrets and this host
      swandoc check --config site.conf --conn office  # one file, offline
      swandoc check --config west.conf --secrets west.secrets \\
                    --peer-config east.conf --peer-secrets east.secrets
      swandoc check --config mine.conf --peer-config theirs.conf --peer-libreswan 5
      swandoc check --format json -o check.json

    Exit status: 0 no problem found, 1 problems found, 2 usage error or unreadable input.
    """
    from . import run_check
    from ..report import render

    if (peer_secrets or peer_conn or peer_version) and not peer_config:
        raise click.UsageError("--peer-secrets, --peer-conn and --peer-libreswan need --peer-config")

    report = run_check(config, secrets, conn, peer_config, peer_secrets, host=host, peer_conn=peer_conn,
                       version=int(version) if version else None,
                       peer_version=int(peer_version) if peer_version else None)
    emit(render(report, fmt), output)
    sys.exit(report.exit_code)
