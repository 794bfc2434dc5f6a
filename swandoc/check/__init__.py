"""``swandoc check``: configuration files and host readiness, before anything runs.

A linear pipeline over small parts:

    read files (confsource, secrets) -> one End per side
    -> rules on each end (rules.py: syntax, keywords, algorithms, PSK/PPK, TCP, crypto policy)
    -> ``ipsec addconn --checkconfig`` when Libreswan is installed (Libreswan's own verdict)
    -> host readiness when asked (hostcheck.py: what ``ipsec verify`` did, and more)
    -> the two ends compared (pair.py), predicted failures with the runtime ids
    -> a Report like every other command's.

Works without root and without pluto: what cannot be read is noted in the report's probe table.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import replace
from typing import Any

from ..errors import SwandocError
from ..model import EvidenceLine, Finding, Report, SEVERITIES
from ..rules.knowledge import TOPICS, finding

DEFAULT_CONFIG = "/etc/ipsec.conf"
DEFAULT_SECRETS = "/etc/ipsec.secrets"
POLICY_BACKEND = "/etc/crypto-policies/back-ends/libreswan.config"


def installed_version() -> int | None:
    """Major version of the installed Libreswan (``ipsec --version``), or None."""
    if shutil.which("ipsec") is None:
        return None
    try:
        out = subprocess.run(["ipsec", "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"Libreswan (?:U|v)?(\d+)\.", out)
    return int(m.group(1)) if m else None


def load_end(config: str, secrets: str | None, *, version: int | None, fips: bool = False,
             secrets_required: bool = False):
    from .confsource import read_config
    from .rules import End
    from .secrets import read_secrets

    doc = read_config(config)
    sec = None
    if secrets is not None:
        if secrets_required and not os.path.exists(secrets):
            raise SwandocError(f"cannot read {secrets}: no such file")
        sec = read_secrets(secrets)
        if secrets_required and not sec.readable:
            raise SwandocError(f"cannot read {secrets}: {sec.problems[0][1] if sec.problems else 'unreadable'}")
    return End(doc, sec, version or 4, fips, version is not None)


def _pick_conn(end, name: str | None, role: str) -> str | None:
    names = end.doc.conn_names()
    if name:
        if end.doc.conn(name) is None or name == "%default":
            raise SwandocError(f"connection {name!r} is not in {end.doc.path} ({role}); conns defined: "
                               f"{', '.join(names) or 'none'}")
        return name
    return None


def _peer_conn(this_end, this_conn, peer_end, wanted: str | None):
    """The peer's conn for *this_conn*: the same name, else the one whose sides match best."""
    from .conn import orientation

    if wanted and peer_end.doc.conn(wanted):
        return peer_end.conn(wanted)
    if peer_end.doc.conn(this_conn.name):
        return peer_end.conn(this_conn.name)
    candidates = [peer_end.conn(n) for n in peer_end.doc.conn_names()]
    if not candidates:
        return None

    def score(c):
        m = orientation(this_conn, c)
        return sum(1 for s in ("left", "right") for k in ("", "id", "subnet")
                   if this_conn.value(s + k) and this_conn.value(s + k) == c.value(m[s] + k))
    best = max(candidates, key=score)
    # nothing in common (no address, ID or subnet): not this conn's other end, unless it is the only one
    return best if score(best) > 0 or len(candidates) == 1 else None


def run_check(config: str | None = None, secrets: str | None = None, conn: str | None = None,
              peer_config: str | None = None, peer_secrets: str | None = None, *, host: bool | None = None,
              peer_conn: str | None = None, version: int | None = None, peer_version: int | None = None) -> Report:
    """Everything ``swandoc check`` does, as a Report (see module docstring)."""
    from . import hostcheck, pair, rules

    # host=None (auto): everything about this host without --config; with --config only what the
    # conns themselves ask of it (nic-offload=yes: does the NIC offer ESP offload?). host=False: files only.
    conn_live = host is not False
    if host is None:
        host = config is None or os.path.abspath(config) == DEFAULT_CONFIG
    version = version or installed_version()
    config = config or DEFAULT_CONFIG
    secrets_given = secrets is not None
    if secrets is None and os.path.abspath(config) == DEFAULT_CONFIG:
        secrets = DEFAULT_SECRETS
    fips = _read_flag("/proc/sys/crypto/fips_enabled") if host else False
    # a --secrets FILE that cannot be read is bad input (exit 2); the default one unreadable to a
    # non-root user is only a check that could not run
    this = load_end(config, secrets, version=version, fips=fips, secrets_required=secrets_given)
    probes: list[tuple[str, str, str]] = [("config", "ok", f"{config}: {len(this.doc.conn_names())} conns")]
    if this.secrets is not None:
        state = "ok" if this.secrets.readable else ("skipped" if os.geteuid() != 0 else "failed")
        probes.append(("secrets", state, f"{this.secrets.path}: {len(this.secrets.entries)} entries"
                                          + ("" if this.secrets.readable else " (not readable)")))
        if not this.secrets.readable and os.geteuid() != 0:
            # Only root reads ipsec.secrets: unreadable to us says nothing about pluto.
            this = replace(this, secrets=None)
    _pick_conn(this, conn, "--config")
    findings: list[Finding] = rules.check_end(this, conn, policy_file_exists=host and os.path.exists(POLICY_BACKEND))
    findings += _addconn(config, this, probes)
    conns = this.conns(conn)
    if host:
        facts = hostcheck.gather(this.doc, conns)
        probes += facts.notes
        findings += list(hostcheck.judge(facts, conns, this.doc))
    elif conn_live:
        facts = hostcheck.HostFacts()
        hostcheck.gather_offload(facts, conns)
        probes += facts.notes
        findings += list(hostcheck.offload_findings(facts, conns))
    ends = [this]
    if peer_config:
        peer = load_end(peer_config, peer_secrets, version=peer_version or version,
                        secrets_required=peer_secrets is not None)
        ends.append(peer)
        probes.append(("peer config", "ok", f"{peer_config}: {len(peer.doc.conn_names())} conns"))
        findings += [replace(f, side="peer", title=f.title + " (peer's config)")
                     for f in rules.check_end(peer, None)]
        for c in conns:
            other = _peer_conn(this, c, peer, peer_conn)
            if other is None:
                if conn or len(conns) == 1:
                    findings.append(replace(finding("no-matching-connection", c.name, [c.header, EvidenceLine(
                        peer_config, None, "no conn with this conn's name, addresses, IDs or subnets")]),
                        predicted=True))
                else:
                    probes.append(("pair", "skipped", f"conn {c.name}: no conn of {peer_config} matches it"))
                continue
            probes.append(("pair", "ok", f"conn {c.name} compared with the peer's conn {other.name}"))
            findings += pair.compare(this, c, peer, other)
    return _report(findings, probes, _sources(ends))


# What diagnose already judges from its own probes (and rules/config.py from its sysctls).
_DIAGNOSE_HAS = {"pluto-not-running", "pluto-not-listening", "rp-filter-strict", "icmp-redirects-enabled",
                 "xfrm-larval-drop-off"}


def add_live_readiness(report: Report, config: str, conn: str | None) -> Report:
    """``diagnose``'s report with check's live host readiness added: XFRM, NSS and its password,
    FIPS, ESP offload, ``ipsec addconn --checkconfig``. Read-only, like every probe."""
    from . import hostcheck

    try:
        end = load_end(config, None, version=installed_version(), fips=_read_flag("/proc/sys/crypto/fips_enabled"))
        conns = [c for c in end.conns(None) if not conn or c.name == conn]
    except SwandocError as exc:
        return replace(report, extras=report.extras + (("check", str(exc)),))
    probes: list = []
    facts = hostcheck.gather(end.doc, conns)
    found = [f for f in hostcheck.judge(facts, conns, end.doc) if f.id not in _DIAGNOSE_HAS]
    found += [f for f in _addconn(config, end, probes) if f.id not in {x.id for x in report.findings}]
    extras = tuple((k, tuple(v) + tuple(facts.notes) + tuple(probes)) if k == "probes" else (k, v)
                   for k, v in report.extras)
    findings = _merge(list(report.findings) + found)
    verdict = "problems" if any(f.severity != "info" for f in findings) else report.verdict
    return replace(report, findings=tuple(findings), verdict=verdict, extras=extras)


def _read_flag(path: str) -> bool:
    try:
        with open(path) as fh:
            return fh.read().strip() == "1"
    except OSError:
        return False


def _addconn(config: str, end, probes: list) -> list[Finding]:
    from .hostcheck import addconn_findings, run_addconn

    output = run_addconn(config)
    if output is None:
        probes.append(("ipsec addconn --checkconfig", "skipped", "Libreswan is not installed here"))
        return []
    lines = {(o.where.source, o.where.line): o.where for s in end.doc.sections for o in s.options}
    found = addconn_findings(config, lines, output)
    probes.append(("ipsec addconn --checkconfig", "ok" if not found else "failed",
                   f"{len(found)} problems" if found else "no errors"))
    out = []
    for id, where, message in found:
        if id == "obsolete-option":
            key = re.search(r"'([^']+)'", message)
            matches = [o.where for s in end.doc.sections for o in s.options if key and o.key == key.group(1)]
            evidence = matches or [where]
        else:
            evidence = [where]
        out.append(finding(id, None, evidence, extra=f"ipsec addconn --checkconfig: {message}."))
    return out


def _merge(findings: list[Finding]) -> list[Finding]:
    """One finding per (id, connection, predicted), evidence pooled; most likely root cause first."""
    merged: dict[tuple, Finding] = {}
    for f in findings:
        key = (f.id, f.connection, f.predicted, f.side)
        old = merged.get(key)
        if old is None:
            merged[key] = f
        else:
            base = TOPICS[f.id].explanation if f.id in TOPICS else ""
            extra = f.explanation[len(base):].strip() if base and f.explanation.startswith(base) else f.explanation
            text = old.explanation if extra in old.explanation else f"{old.explanation} {extra}"
            merged[key] = replace(old, evidence=tuple(dict.fromkeys(old.evidence + f.evidence)), explanation=text)
    return sorted(merged.values(), key=lambda f: (-f.rank, SEVERITIES.index(f.severity), f.id, f.connection or ""))


def _sources(ends) -> tuple:
    from ..model import SourceSummary

    out = []
    for end in ends:
        files = list(dict.fromkeys([end.doc.path] + [i.where.source for i in end.doc.includes]
                                   + [s.where.source for s in end.doc.sections]))
        for path in files:
            out.append(SourceSummary(name=path, kind="ipsec.conf"))
        if end.secrets is not None:
            out.append(SourceSummary(name=end.secrets.path, kind="ipsec.secrets",
                                     notes=[f"{len(end.secrets.entries)} entries; secrets never shown"]))
    return tuple(out)


def _report(findings: list[Finding], probes: list[Any], sources: tuple = ()) -> Report:
    import datetime as _dt

    from .. import __version__

    findings = _merge(findings)
    verdict = "problems" if any(f.severity != "info" for f in findings) else "healthy"
    return Report(tool_version=__version__, command="check",
                  generated=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                  verdict=verdict, findings=tuple(findings), sources=sources, extras=(("probes", tuple(probes)),))
