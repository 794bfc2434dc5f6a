"""The ``swandoc bundle`` command: collect, redact, archive.

Heavy modules (the live probes, scapy for a capture) are imported inside the function so
that ``swandoc analyze`` keeps starting fast. The options shared with diagnose (config, control
socket, log, --since, --duration/--no-capture, --timeout) come from ``swandoc.clitools``.
"""
from __future__ import annotations

import sys

import click

from ..clitools import (ProgressLine, capture_options, no_esp_option, capture_seconds, config_option, ctl_socket_option,
                        help_epilog, log_option, since_option, timeout_option)
from ..errors import EXIT_INTERNAL, EXIT_OK, EXIT_USAGE


@click.command("bundle", epilog=help_epilog(
    ("for a support case: the last 24 h of pluto's journal, secrets removed", "swandoc bundle -o support.tar.xz"),
    ("one connection, with a 20 s capture of IKE/ESP (needs CAP_NET_RAW)",
     "swandoc bundle --conn myvpn --duration 20 -o myvpn.tar.xz"),
    ("pluto logs to a file; IP addresses and host names replaced too",
     "swandoc bundle --log /var/log/pluto.log --obfuscate"),
    ("then, anywhere", "swandoc analyze support.tar.xz"),
    exit_status=f"{EXIT_OK} the bundle was written (what could not be collected is listed), "
                f"{EXIT_USAGE} usage error or the archive cannot be written, {EXIT_INTERNAL} internal error",
))
@config_option
@click.option("--secrets", "secrets", default=None, metavar="FILE",
              help="ipsec.secrets to collect, censored [default: secretsfile= of config setup, else /etc/ipsec.secrets].")
@click.option("--policies-dir", metavar="DIR",
              help="Mesh policy groups to collect (default: ipsec.d/policies beside --config).")
@ctl_socket_option
@log_option
@since_option("-24h")
@click.option("--conn", metavar="NAME", help="Connection to focus on.")
@capture_options(on_by_default=False)
@no_esp_option
@click.option("--capture", "legacy_capture", type=click.FloatRange(0, 300), default=None, hidden=True,
              help="Deprecated spelling of --duration.")
@click.option("--obfuscate", is_flag=True,
              help="Also replace IP addresses, host names, IDs, user names and certificate nicknames, consistently "
                   "(the map is written beside the archive, never into it).")
@timeout_option
@click.option("-o", "--output", metavar="FILE", help="Archive to write (default swandoc-HOST-DATE.tar.xz).")
def bundle(config_path, secrets, policies_dir, ctl_socket, log_path, since, conn, duration, no_capture, no_esp,
           legacy_capture, obfuscate,
           timeout, output):
    """Collect a support bundle (tar.xz) with every secret removed.

    Read it anywhere with `swandoc analyze FILE`. Collects what it can without root and
    lists what it could not in manifest.json. Never changes the host.
    """
    from .collect import Options, build_bundle

    if legacy_capture is not None:
        click.echo("swandoc: bundle --capture SECONDS is now --duration SECONDS (the same as diagnose)", err=True)
        if duration is None and legacy_capture:
            duration = legacy_capture
    seconds = capture_seconds(duration, no_capture, on_by_default=False)
    options = Options(config=config_path, secrets=secrets, ctl_socket=ctl_socket, log=log_path, since=since,
                      conn=conn, capture=seconds or 0.0, esp=not no_esp, timeout=timeout,
                      policies_dir=policies_dir)
    progress = ProgressLine(sys.stderr)
    try:
        result = build_bundle(options, output=output, obfuscate=obfuscate, progress=lambda m: progress.show(f"swandoc: {m}"))
    finally:
        progress.clear()
    manifest = result.manifest
    click.echo(f"wrote {result.path}: {len(manifest['items'])} items, {len(manifest['missing'])} not collected, "
               f"{sum(manifest['redaction_totals'].values())} secrets removed")
    for miss in manifest["missing"]:
        click.echo(f"  not collected: {miss['name']}: {miss['reason']}")
    if result.map_path:
        click.echo(f"obfuscation map (keep it, do not send it): {result.map_path}")
