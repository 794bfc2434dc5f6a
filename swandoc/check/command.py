"""``swandoc check``: a thin click wrapper over :func:`swandoc.check.run_check`."""
from __future__ import annotations

import sys

import click

from ..clitools import config_option, format_option, help_epilog, html_option, output_option

EXIT_STATUS = ("0 every check passed, 1 problems found (or foreseen), 2 usage error or unreadable input, "
               "3 internal error")


@click.command("check", epilog=help_epilog(
    ("/etc/ipsec.conf, ipsec.secrets and this host (what ipsec verify did)", "swandoc check"),
    ("one file and one conn, offline", "swandoc check --config site.conf --conn office"),
    ("will these two ends agree?", "swandoc check --config west.conf --secrets west.secrets "
                                   "--peer-config east.conf --peer-secrets east.secrets"),
    ("the peer runs Libreswan 5", "swandoc check --config mine.conf --peer-config theirs.conf --peer-libreswan 5"),
    ("for a script: predicted failures carry \"predicted\": true", "swandoc check --format json -o check.json"),
    exit_status=EXIT_STATUS))
@config_option
@click.option("--secrets", "secrets", metavar="FILE", help="ipsec.secrets of this end (default /etc/ipsec.secrets "
              "with the default config). Secrets are never printed.")
@click.option("--conn", metavar="NAME", help="Only this connection (default: every conn).")
@click.option("--peer-config", metavar="FILE", help="The other end's ipsec.conf: predict whether the two agree.")
@click.option("--peer-secrets", metavar="FILE", help="The other end's ipsec.secrets (PSKs compared by digest only).")
@click.option("--peer-conn", metavar="NAME", help="The conn's name on the peer, if it differs.")
@click.option("--host/--no-host", "host", default=None,
              help="Also check this host (XFRM, sysctls, pluto, NSS, FIPS, ESP offload). Default: on for "
                   "/etc/ipsec.conf; for another --config only the NIC of a nic-offload=yes conn.")
@click.option("--libreswan", "version", type=click.Choice(["4", "5"]), default=None,
              help="Judge this end as Libreswan 4.x or 5.x (keywords, default proposals). Default: the installed one.")
@click.option("--peer-libreswan", "peer_version", type=click.Choice(["4", "5"]), default=None,
              help="The peer's Libreswan major version. Default: the same as this end.")
@format_option
@output_option
@html_option
def check(config_path, secrets, conn, peer_config, peer_secrets, peer_conn, host, version, peer_version, fmt,
          output, html_path) -> None:
    """Check configuration files and this host before bringing a tunnel up (what ipsec verify did).

    Needs neither root nor a running pluto: files are checked offline, and the live host as far as
    this user may read it. With --peer-config the two ends are compared as pluto would (IKE version,
    proposals with each version's defaults and the crypto policy, IDs, PSKs, traffic selectors, TCP,
    PFS); a failure foreseen that way is marked "predicted" and has the id pluto's log would give it.
    """
    from . import run_check
    from ..clitools import emit_report

    if (peer_secrets or peer_conn or peer_version) and not peer_config:
        raise click.UsageError("--peer-secrets, --peer-conn and --peer-libreswan need --peer-config")
    report = run_check(config_path, secrets, conn, peer_config, peer_secrets, host=host, peer_conn=peer_conn,
                       version=int(version) if version else None,
                       peer_version=int(peer_version) if peer_version else None)
    sys.exit(emit_report(report, fmt, output, html_path))
