"""Many bundles -> one network: hosts, tunnels paired end to end, mesh conflicts, one Report.

``analyze_fleet`` reads the bundles one after another (:func:`swandoc.fleet.hosts.analyze_bundle`
keeps a small summary per host and drops the rest), pairs every tunnel's two ends
(:mod:`swandoc.fleet.pairing`), decides per tunnel its status, its most likely root cause over
*both* ends' findings and which end to fix, and runs the mesh rules over all nodes. The result is
an ordinary :class:`~swandoc.model.Report` whose extras ``fleet_hosts`` and ``fleet_tunnels`` the
renderers add as ``hosts`` and ``tunnels``.
"""
from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

from .. import __version__
from ..errors import InputError
from ..model import SEVERITIES, Finding, Report
from .hosts import HostResult, analyze_bundle, host_of, missing_host, name_from_path
from .pairing import Pairing, pair_ends


@dataclass(frozen=True)
class Tunnel:
    id: str
    hosts: tuple[str, str | None]
    connections: tuple[str, str | None]
    status: str  # up, failing, inconclusive
    paired: bool
    pairing: tuple[str, ...]  # what matched the two ends
    findings: tuple[Finding, ...]  # both ends', root cause first
    root_cause: Finding | None
    fix_end: str | None  # a host name, "both", "path", or None

    def as_dict(self, index: dict[int, int]) -> dict:
        rc = self.root_cause
        return {
            "id": self.id,
            "hosts": list(self.hosts),
            "connections": list(self.connections),
            "status": self.status,
            "paired": self.paired,
            "pairing": list(self.pairing),
            "finding_ids": list(dict.fromkeys(f.id for f in self.findings)),
            "findings": [index[id(f)] for f in self.findings if id(f) in index],
            "root_cause": None if rc is None else {"id": rc.id, "host": host_of(rc), "title": rc.title},
            "fix_end": self.fix_end,
            "evidence": [e.as_dict() for e in self.evidence()],
        }

    def evidence(self, per_end: int = 4) -> tuple:
        """The root cause's lines, then what the other end saw (its most telling finding's lines)."""
        if self.root_cause is None:
            return ()
        here = host_of(self.root_cause)
        lines = list(self.root_cause.evidence[:per_end])
        other = next((f for f in self.findings if host_of(f) not in (here, None)), None)
        if other is not None:
            lines += [e for e in other.evidence[:per_end] if e not in lines]
        return tuple(lines)


def _matches(f: Finding, conn: str) -> bool:
    """A finding about *conn* (also an instance of it, ``conn[3]``)."""
    return f.connection is not None and (f.connection == conn or f.connection.startswith(conn + "["))


def _fix_end(f: Finding | None, here: str, there: str | None) -> str | None:
    if f is None:
        return None
    if f.side == "local":
        return here
    if f.side == "peer":
        return there
    return {"both": "both", "path": "path"}.get(f.side)


def _order(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (-f.rank, SEVERITIES.index(f.severity), f.id))


def build_tunnel(n: int, p: Pairing, by_host: dict[str, HostResult], changed: dict[int, Finding],
                 silent: dict[str, str] | None = None) -> Tunnel:
    """The tunnel of pairing *p*; findings that its other end explains are put in *changed*
    (old finding's id -> the corrected one) for the report's list."""
    from ..rules import correlate

    ends = [(p.a.host, p.a.conn)] + ([(p.b.host, p.b.conn)] if p.b else [])
    peer = p.b.host if p.b else (silent or {}).get(p.a.remote or "")  # a host with no bundle, by address
    mine: list[Finding] = []
    for host, conn in ends:
        for f in by_host[host].findings:
            # the tunnel's own findings, and host-wide problems (pluto down) that break it too
            if _matches(f, conn) or (f.connection is None and f.severity != "info"):
                mine.append(f)
    corrected = correlate(mine)  # same order as *mine*: one end's failure explains the other's symptom
    changed.update((id(old), new) for old, new in zip(mine, corrected) if new is not old)
    findings = _order(corrected)
    problems = [f for f in findings if f.severity != "info"]
    if problems:
        status = "failing"
    elif any(f.id == "tunnel-up" for f in findings):
        status = "up"
    else:
        status = "inconclusive"
    root = problems[0] if problems else None
    fix = None
    if root is not None:
        here = host_of(root)
        there = next((h for h, _ in ends if h != here), peer if peer != here else None)
        fix = _fix_end(root, here, there)
    pairing = p.reasons if p.b or not peer else (f"the peer's address is {peer}'s, which gave no bundle",)
    return Tunnel(id=f"t{n}", hosts=(p.a.host, peer),
                  connections=(p.a.conn, p.b.conn if p.b else None), status=status, paired=p.b is not None,
                  pairing=pairing, findings=tuple(findings), root_cause=root, fix_end=fix)


@dataclass(frozen=True)
class Failure:
    """A host that gave no bundle: why, and its address where the inventory knows it."""

    reason: str
    address: str | None = None


def read_failures(path: str) -> dict[str, Failure]:
    """The playbook's failures.json: ``{"host": {"reason": "...", "address": "..."}}`` (or just the reason)."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except OSError as exc:
        raise InputError(f"{path}: cannot read the failures file ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise InputError(f"{path}: not a JSON object of host -> reason ({exc})") from None
    out: dict[str, Failure] = {}
    if isinstance(data, dict):
        for name, value in data.items():
            if isinstance(value, str):
                out[name] = Failure(value)
            elif isinstance(value, dict) and isinstance(value.get("reason"), str) and \
                    isinstance(value.get("address"), (str, type(None))):
                out[name] = Failure(value["reason"], value.get("address") or None)
            else:
                break
        else:
            return out
    raise InputError(f"{path}: not a JSON object of host -> reason (or {{reason, address}})")


def analyze_fleet(paths: Sequence[str], *, name_from_file: bool = False, failures: dict[str, Failure] | None = None,
                  progress: Callable[[str], None] = lambda m: None) -> Report:
    hosts: list[HostResult] = []
    for path in paths:
        progress(f"reading {path}")
        hosts.append(analyze_bundle(path, name_from_path(path) if name_from_file else None,
                                    taken={h.name for h in hosts}))
    seen = {h.name for h in hosts}
    for name, failure in (failures or {}).items():
        if name not in seen:
            hosts.append(missing_host(name, failure.reason, failure.address))
    return fleet_report(hosts)


def fleet_report(hosts: Sequence[HostResult]) -> Report:
    from ..rules.mesh import mesh_findings

    by_host = {h.name: h for h in hosts}
    pairs = pair_ends([e for h in hosts for e in h.ends])
    # An end whose peer is a host that gave no bundle still names that host (its inventory address).
    silent = {a: h.name for h in hosts if h.status != "analyzed" for a in h.addresses}
    changed: dict[int, Finding] = {}
    tunnels = [build_tunnel(n, p, by_host, changed, silent) for n, p in enumerate(pairs, 1)]
    mesh = list(mesh_findings([h.mesh for h in hosts if h.mesh is not None]))
    findings = _order([changed.get(id(f), f) for h in hosts for f in h.findings] + mesh)
    findings += [_no_bundle(h) for h in hosts if h.status != "analyzed"]
    problems = [f for f in findings if f.severity != "info"]
    verdict = "problems" if problems else ("healthy" if tunnels and all(t.status == "up" for t in tunnels)
                                           else "inconclusive")
    return Report(tool_version=__version__, command="analyze",
                  generated=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                  verdict=verdict, findings=tuple(findings),
                  sources=tuple(s for h in hosts for s in h.sources),
                  extras=(("fleet_hosts", tuple(hosts)), ("fleet_tunnels", tuple(tunnels)),
                          ("fleet_mesh", tuple(mesh))))


def _no_bundle(h: HostResult) -> Finding:
    from ..model import EvidenceLine
    from ..rules.knowledge import finding
    return finding("host-without-bundle", None, [EvidenceLine("failures", None, h.reason or "no bundle", h.name)],
                   title=f"No bundle from {h.name}", details={"host": h.name})
