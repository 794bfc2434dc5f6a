"""Origin is kept from input to report: several bundles are several hosts (issue 8).

The logs are the real lab logs of both ends of the ``healthy`` run on a kernel without ESP
(``fixtures/lab/healthy/``: east cannot install its SA and answers TS_UNACCEPTABLE), packed into
bundles with the real bundle writer, both claiming the same host name (two namespaces of one
machine). ``tests/analyze/test_two_bundles.py`` does the same with bundles made by ``swandoc bundle``
in a live lab run.
"""
from __future__ import annotations

from pathlib import Path

from swandoc.analysis import analyze_paths
from swandoc.bundle.archive import write_bundle
from swandoc.bundle.redact import Redactor
from swandoc.evidence import Evidence

LAB = Path(__file__).resolve().parents[2] / "fixtures" / "lab" / "healthy"


def _bundle(tmp_path: Path, side: str) -> str:
    out = str(tmp_path / f"{side}.tar.xz")
    items = [Evidence("pluto_log", (LAB / f"{side}.log").read_bytes(), f"{side}.log"),
             Evidence("ipsec_conf", (LAB / f"{side}.conf").read_bytes(), f"{side}.conf")]
    write_bundle(items, out, redactor=Redactor(), host="gw", libreswan_version="Libreswan 4.10",
                 options={"conn": "lab"})
    return out


def _log_findings(report, suffix: str) -> dict[str, str]:
    return {f.id: f.severity for f in report.findings if any(e.source.endswith(suffix) for e in f.evidence)}


def test_two_bundles_of_one_host_name_stay_two_hosts_and_correlate(tmp_path):
    west, east = _bundle(tmp_path, "west"), _bundle(tmp_path, "east")
    by_bundles = analyze_paths([west, east])
    by_logs = analyze_paths([str(LAB / "west.log"), str(LAB / "east.log")])
    assert _log_findings(by_bundles, ":pluto_log") == _log_findings(by_logs, ".log")
    assert _log_findings(by_bundles, ":pluto_log")["ts-unacceptable"] == "warning"  # a symptom of east's failure
    hosts = {s.name: s.host for s in by_bundles.sources if s.kind == "bundle"}
    assert hosts == {west: "gw", east: "gw (east.tar.xz)"}
    for f in by_bundles.findings:
        for e in f.evidence:
            if e.source.endswith(":pluto_log"):
                assert e.host == hosts[e.source[: -len(":pluto_log")]]


def test_bundles_and_a_plain_log_together(tmp_path):
    west = _bundle(tmp_path, "west")
    report = analyze_paths([west, str(LAB / "east.log")])
    kinds = {s.name: (s.kind, s.host) for s in report.sources}
    assert kinds[west] == ("bundle", "gw") and kinds[str(LAB / "east.log")][1] is None
    ts = next(f for f in report.findings if f.id == "ts-unacceptable")
    assert ts.severity == "warning"
    assert {e.host for e in ts.evidence} == {"gw"}
    kernel = next(f for f in report.findings if f.id == "kernel-sa-install-failed")
    assert {(e.source, e.host) for e in kernel.evidence} == {(str(LAB / "east.log"), None)}


def test_reports_name_the_host_of_each_side(tmp_path):
    from swandoc.report import render

    west, east = _bundle(tmp_path, "west"), _bundle(tmp_path, "east")
    report = analyze_paths([west, east])
    text = render(report, "text")
    kernel = text[text.index("kernel-sa-install-failed"):]
    assert kernel.splitlines()[4].split() == ["host:", "gw", "(east.tar.xz)"]
    assert f"[gw (east.tar.xz)] {east}:pluto_log:" in text
    html = render(report, "html")
    assert '<span class="host">[gw (east.tar.xz)]</span>' in html
