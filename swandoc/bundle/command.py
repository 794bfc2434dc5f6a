"""The ``swandoc bundle`` command: collect, redact, archive.

Heavy modules (the live probes, scapy for --capture) are imported inside the function so
that ``swandoc analyze`` keeps starting fast.
"""
from __future__ import annotations

import click

from ..errors import SwandocError


@click.command("bundle")
@click.option("--config", "config", default="/etc/ipsec.conf", show_default=True, metavar="FILE",
              help="ipsec.conf to collect (with its include files).")
@click.option("--secrets", "secrets", default=None, metavar="FILE",
              help="ipsec.secrets to collect, censored [default: secretsfile= of config setup, else /etc/ipsec.secrets].")
@click.option("--ctl-socket", metavar="PATH", help="pluto control socket (default: ipsec whack's own).")
@click.option("--log", metavar="FILE", help="pluto log file instead of the journal.")
@click.option("--since", default="24h", show_default=True, help="How much of the journal to take (e.g. 2h, 3d).")
@click.option("--conn", metavar="NAME", help="Connection to focus on.")
@click.option("--capture", type=click.FloatRange(0, 300), default=0, metavar="SECONDS",
              help="Also capture IKE/ESP packets for SECONDS (needs CAP_NET_RAW).")
@click.option("--obfuscate", is_flag=True, help="Replace IP addresses and host names consistently.")
@click.option("--timeout", type=click.FloatRange(0.1, 600), default=10, show_default=True,
              help="Seconds allowed per command before it is cut off.")
@click.option("-o", "--output", metavar="FILE", help="Archive to write (default swandoc-HOST-DATE.tar.xz).")
def bundle(config, secrets, ctl_socket, log, since, conn, capture, obfuscate, timeout, output):
    """Collect a support bundle (tar.xz) with every secret removed.

    Read it anywhere with `swandoc analyze FILE`. Collects what it can without root and
    lists what it could not in manifest.json. Never changes the host.
    """
    from .collect import Options, build_bundle

    if since and not since.strip():
        raise SwandocError("--since needs a value such as 24h")
    options = Options(config=config, secrets=secrets, ctl_socket=ctl_socket, log=log, since=since, conn=conn,
                      capture=capture, timeout=timeout)
    result = build_bundle(options, output=output, obfuscate=obfuscate, progress=lambda m: click.echo(m, err=True))
    manifest = result.manifest
    click.echo(f"wrote {result.path}: {len(manifest['items'])} items, {len(manifest['missing'])} not collected, "
               f"{sum(manifest['redaction_totals'].values())} secrets removed")
    for miss in manifest["missing"]:
        click.echo(f"  not collected: {miss['name']}: {miss['reason']}")
    if result.map_path:
        click.echo(f"obfuscation map (keep it, do not send it): {result.map_path}")
