"""The fleet report's own parts: ``hosts``/``tunnels``/``mesh`` in JSON, the host × host matrix in
HTML (above the findings), a tunnel table in text. Everything else is the ordinary report.

HTML: jinja2 with autoescape, like the main report; host names, conn names and policy lines
come from other machines and are hostile.
"""
from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import jinja2

from ..model import Report

# Worst first: what a matrix cell shows when a pair has several relations.
CELL_ORDER = ("failing", "no-traffic", "blocked", "clear-fallback", "inconclusive", "up", "encrypted")


def _loopback_or_link(address: str) -> bool:
    import ipaddress
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_link_local


def _index(report: Report) -> dict[int, int]:
    return {id(f): n for n, f in enumerate(report.findings)}


def hosts_list(report: Report) -> list[dict[str, Any]]:
    tunnels = report.extra("fleet_tunnels", ())
    out = []
    for h in report.extra("fleet_hosts", ()):
        problems = [f for f in h.findings if f.severity != "info"]
        out.append({
            "name": h.name, "status": h.status, "reason": h.reason, "bundle": h.bundle,
            "bundle_host": h.bundle_host, "version": h.version, "addresses": [a for a in h.addresses if not _loopback_or_link(a)],
            "problems": len(problems),
            "tunnels": [t.id for t in tunnels if h.name in t.hosts],
            "mesh_node": h.mesh is not None,
        })
    return out


def tunnels_list(report: Report) -> list[dict[str, Any]]:
    index = _index(report)
    return [t.as_dict(index) for t in report.extra("fleet_tunnels", ())]


def mesh_list(report: Report) -> list[dict[str, Any]]:
    index = _index(report)
    out = []
    for f in report.extra("fleet_mesh", ()):
        d = dict(f.details)
        if f.id != "mesh-policy-conflict":
            continue
        out.append({"hosts": d["hosts"].split(",", 1), "outcome": d["outcome"], "finding": index.get(id(f))})
    return out


def fleet_dict(report: Report) -> dict[str, Any]:
    from ..report.json import report_dict
    data = report_dict(report)
    data["hosts"] = hosts_list(report)
    data["tunnels"] = tunnels_list(report)
    data["mesh"] = mesh_list(report)
    return data


def render_fleet_json(report: Report) -> str:
    return json.dumps(fleet_dict(report), indent=2, ensure_ascii=False) + "\n"


def render_fleet_text(report: Report) -> str:
    from ..report.text import render_text
    lines = ["", "Fleet:"]
    for h in hosts_list(report):
        state = "no bundle: " + (h["reason"] or "?") if h["status"] != "analyzed" else f"{h['problems']} problem(s)"
        lines.append(f"  host {h['name']}: {state}")
    for t in tunnels_list(report):
        b = t["hosts"][1] or "(outside the fleet)"
        if t["hosts"][1] and not t["paired"]:
            b += " (no bundle)"
        rc = t["root_cause"]
        cause = f"{rc['id']} at {rc['host']}, fix: {t['fix_end'] or '?'}" if rc else "no problem seen"
        lines.append(f"  tunnel {t['hosts'][0]} <-> {b} ({t['connections'][0]} / {t['connections'][1] or '-'}): "
                     f"{t['status']}; {cause}")
    for m in mesh_list(report):
        lines.append(f"  mesh {m['hosts'][0]} <-> {m['hosts'][1]}: {m['outcome']}")
    return render_text(report).rstrip("\n") + "\n" + "\n".join(lines) + "\n"


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.PackageLoader("swandoc.fleet", "templates"), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def matrix(report: Report) -> tuple[list[str], dict[tuple[str, str], dict[str, Any]]]:
    """Host names (rows = columns) and, per unordered pair, the worst status and where to click."""
    names = [h["name"] for h in hosts_list(report)]
    cells: dict[tuple[str, str], dict[str, Any]] = {}

    def put(a: str, b: str, status: str, target: str, label: str) -> None:
        for key in ((a, b), (b, a)):
            cell = cells.setdefault(key, {"status": status, "links": []})
            cell["links"].append({"status": status, "target": target, "label": label})
            if CELL_ORDER.index(status) < CELL_ORDER.index(cell["status"]):
                cell["status"] = status

    for t in tunnels_list(report):
        a, b = t["hosts"]
        if b is not None:
            put(a, b, t["status"], f"tunnel-{t['id']}", f"tunnel {t['connections'][0]}/{t['connections'][1]}: {t['status']}")
    for m in mesh_list(report):
        a, b = m["hosts"]
        put(a, b, m["outcome"], f"finding-{m['finding'] + 1}" if m["finding"] is not None else "",
            f"mesh: {m['outcome']}")
    return names, cells


def fleet_section(report: Report) -> str:
    names, cells = matrix(report)
    findings_at = {id(f): n + 1 for n, f in enumerate(report.findings)}
    tunnels = []
    for t in report.extra("fleet_tunnels", ()):
        tunnels.append({"t": t, "links": [(findings_at[id(f)], f) for f in t.findings if id(f) in findings_at]})
    return _env().get_template("fleet.html.j2").render(
        names=names, cells=cells, hosts=hosts_list(report), tunnels=tunnels, mesh=mesh_list(report))


def render_fleet_html(report: Report) -> str:
    from ..report.html import render_html
    page = render_html(report)
    # Our own template's first </header> (peer text is escaped, so it cannot fake one).
    head, sep, rest = page.partition("</header>\n")
    return head + sep + fleet_section(report) + rest


def render_fleet(report: Report, fmt: str) -> str:
    if fmt == "json":
        return render_fleet_json(report)
    if fmt == "html":
        return render_fleet_html(report)
    return render_fleet_text(report)
