"""The JSON report against its documented schema (docs/json-schema.md).

SCHEMA below is the doc's tables as data; a small validator checks real reports against it, and
a doc test checks that the doc and SCHEMA name the same keys, so neither can drift silently.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from swandoc.report import render
from swandoc.report.json import report_dict
from swandoc.report.sample import sample_report

DOC = Path(__file__).resolve().parent.parent / "docs" / "json-schema.md"

STR = {"type": "string"}
INT = {"type": "integer", "minimum": 0}
STR_OR_NULL = {"type": ["string", "null"]}
EVIDENCE_LINE = {
    "type": "object",
    "properties": {"source": STR, "line": {"type": ["integer", "null"], "minimum": 1}, "text": STR,
                   "host": STR_OR_NULL},
}
FINDING = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "pattern": r"^[a-z0-9]+(-[a-z0-9]+)*$"},
        "severity": {"enum": ["critical", "error", "warning", "info"]},
        "title": {"type": "string", "minLength": 1},
        "connection": STR_OR_NULL,
        "side": {"enum": ["local", "peer", "path", "both", "unknown"]},
        "side_text": {"type": "string", "minLength": 1},
        "evidence": {"type": "array", "items": EVIDENCE_LINE},
        "explanation": STR,
        "fix": {"type": "array", "items": STR},
        "fix_versions": {"type": "array", "items": {"type": "array", "items": {"enum": ["3", "4", "5"]}}},
        "reference": STR,
        "rank": {"type": "integer"},
        "details": {"type": "object", "values": STR},
        "predicted": {"type": "boolean"},
    },
}
INPUT = {
    "type": "object",
    "properties": {
        "name": STR, "kind": {"type": "string", "minLength": 1}, "host": STR_OR_NULL,
        "lines": INT, "pluto_lines": INT, "debug_lines": INT, "other_lines": INT, "unparsed": INT,
        "events": INT, "packets": INT,
        "version": STR_OR_NULL, "first_time": STR_OR_NULL, "last_time": STR_OR_NULL,
        "truncated": {"type": "boolean"},
        "notes": {"type": "array", "items": STR},
        "unparsed_samples": {"type": "array", "items": EVIDENCE_LINE},
    },
}
PROBE = {"type": "object", "properties": {"name": STR, "status": STR, "result": STR}}
SCHEMA = {
    "type": "object",
    "properties": {
        "schema_version": {"enum": [1]},
        "tool": {"type": "object", "properties": {"name": {"enum": ["swandoc"]}, "version": STR}},
        "command": STR,
        "generated": {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)$"},
        "verdict": {"enum": ["problems", "healthy", "inconclusive"]},
        "summary": {"type": "string", "minLength": 1},
        "exit_code": {"enum": [0, 1, 4]},
        "findings": {"type": "array", "items": FINDING},
        "inputs": {"type": "array", "items": INPUT},
        "probes": {"type": "array", "items": PROBE},
        "packet_count": INT,
    },
}

# A fleet report (several bundles, one per host) is the report above plus these keys.
HOST = {"type": "object", "properties": {
    "name": {"type": "string", "minLength": 1}, "status": {"enum": ["analyzed", "no-bundle"]},
    "reason": STR_OR_NULL, "bundle": STR_OR_NULL, "bundle_host": STR_OR_NULL, "version": STR_OR_NULL,
    "addresses": {"type": "array", "items": STR}, "problems": INT, "tunnels": {"type": "array", "items": STR},
    "mesh_node": {"type": "boolean"}}}
TUNNEL = {"type": "object", "properties": {
    "id": STR, "hosts": {"type": "array", "items": STR_OR_NULL},
    "connections": {"type": "array", "items": STR_OR_NULL},
    "status": {"enum": ["up", "failing", "inconclusive"]}, "paired": {"type": "boolean"},
    "pairing": {"type": "array", "items": STR}, "finding_ids": {"type": "array", "items": STR},
    "findings": {"type": "array", "items": INT},
    "root_cause": {"type": ["object", "null"], "properties": {"id": STR, "host": STR_OR_NULL, "title": STR}},
    "fix_end": STR_OR_NULL, "evidence": {"type": "array", "items": EVIDENCE_LINE}}}
MESH_PAIR = {"type": "object", "properties": {
    "hosts": {"type": "array", "items": STR}, "outcome": {"enum": ["no-traffic", "blocked", "clear-fallback"]},
    "finding": {"type": ["integer", "null"], "minimum": 0}}}
FLEET_SCHEMA = {"type": "object", "properties": {
    **SCHEMA["properties"], "hosts": {"type": "array", "items": HOST},
    "tunnels": {"type": "array", "items": TUNNEL}, "mesh": {"type": "array", "items": MESH_PAIR}}}

_TYPES = {"string": str, "integer": int, "array": list, "object": dict, "null": type(None), "boolean": bool}


def validate(value, schema, path="$") -> list[str]:
    """Errors (empty when valid). Every listed property is required; unlisted ones are errors."""
    errors: list[str] = []
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} not one of {schema['enum']}")
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        # bool is an int in Python; JSON keeps them apart.
        if not any(isinstance(value, _TYPES[t]) and not (t == "integer" and isinstance(value, bool)) for t in types):
            return errors + [f"{path}: expected {'/'.join(types)}, got {type(value).__name__}"]
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            errors.append(f"{path}: empty string")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{path}: {value!r} does not match {schema['pattern']}")
    if isinstance(value, int) and not isinstance(value, bool) and value < schema.get("minimum", value):
        errors.append(f"{path}: {value} below minimum {schema['minimum']}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            errors += validate(item, schema["items"], f"{path}[{i}]")
    if isinstance(value, dict):
        props = schema.get("properties")
        if props is not None:
            for key in props.keys() - value.keys():
                errors.append(f"{path}: missing key {key!r}")
            for key in value.keys() - props.keys():
                errors.append(f"{path}: undocumented key {key!r}")
            for key in props.keys() & value.keys():
                errors += validate(value[key], props[key], f"{path}.{key}")
        if "values" in schema:
            for key, item in value.items():
                errors += validate(item, schema["values"], f"{path}.{key}")
    return errors


def _schema_keys(schema, out=None) -> set[str]:
    out = set() if out is None else out
    for key, sub in schema.get("properties", {}).items():
        out.add(key)
        _schema_keys(sub, out)
    if "items" in schema:
        _schema_keys(schema["items"], out)
    return out


def _doc_keys() -> set[str]:
    """Keys named in the first column of the doc's key tables."""
    keys = set()
    for line in DOC.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\|\s*(`[a-z_]+`(?:,\s*`[a-z_]+`)*)\s*\|", line)
        if m:
            keys.update(re.findall(r"`([a-z_]+)`", m.group(1)))
    return keys


def _dicts():
    return [report_dict(sample_report()), report_dict(sample_report(hostile=True, probes=True, command="diagnose"))]


@pytest.mark.parametrize("doc", _dicts(), ids=["analyze", "diagnose-hostile"])
def test_sample_reports_match_schema(doc):
    assert validate(doc, SCHEMA) == []


def test_rendered_json_round_trips_and_keeps_order():
    text = render(sample_report(hostile=True), "json")
    doc = json.loads(text)
    assert validate(doc, SCHEMA) == []
    assert [f["id"] for f in doc["findings"]] == ["ike-proposal-mismatch", "ike-no-response", "tunnel-up"]
    assert doc["exit_code"] == 1 and doc["verdict"] == "problems"
    assert "<script>alert(1)</script>" in doc["inputs"][0]["name"]  # JSON keeps text as is; escaping is the viewer's job
    assert doc["probes"] == [] and doc["packet_count"] == 0


def test_probes_are_objects():
    doc = report_dict(sample_report(probes=True, command="diagnose"))
    assert doc["probes"][2] == {"name": "nft_ruleset", "status": "failed",
                                "result": "could not parse: Expecting value: line 1 column 1 (char 0) "
                                          "[nft -j list ruleset] "}


def test_validator_catches_drift():
    doc = report_dict(sample_report())
    doc["findings"][0]["severity"] = "fatal"
    doc["inputs"][0]["lines"] = "many"
    del doc["findings"][1]["fix"]
    doc["extra_key"] = 1
    errors = validate(doc, SCHEMA)
    assert any("severity" in e for e in errors)
    assert any("lines" in e and "expected integer" in e for e in errors)
    assert any("missing key 'fix'" in e for e in errors)
    assert any("undocumented key 'extra_key'" in e for e in errors)


def test_doc_and_schema_name_the_same_keys():
    assert _doc_keys() == _schema_keys(SCHEMA) | _schema_keys(FLEET_SCHEMA)


FLEET = Path(__file__).resolve().parent.parent / "fixtures" / "fleet"


def test_fleet_report_matches_schema():
    """Real bundles fetched by the playbook from the lab fleet (fixtures/fleet)."""
    from swandoc.fleet.network import analyze_fleet, read_failures
    from swandoc.fleet.render import fleet_dict

    report = analyze_fleet(sorted(str(p) for p in FLEET.glob("*.tar.xz")), name_from_file=True,
                           failures=read_failures(str(FLEET / "failures.json")))
    doc = fleet_dict(report)
    assert validate(doc, FLEET_SCHEMA) == []
    assert len(doc["hosts"]) == 5 and doc["tunnels"] and doc["mesh"]
    assert all(doc["findings"][i]["id"] in t["finding_ids"] for t in doc["tunnels"] for i in t["findings"])


def test_doc_states_exit_codes():
    text = DOC.read_text(encoding="utf-8")
    for code in ("`0`", "`1`", "`2`", "`3`"):
        assert re.search(rf"^\| {code} \|", text, re.M), code
    assert "SWANDOC_DEBUG=1" in text


def _doc_probe_row(key: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## *probe*"):]
    return re.search(rf"^\| `{key}` \|.*$", section, re.M).group(0)


def test_doc_probe_names_and_statuses_are_the_ones_diagnose_writes():
    """The probe table must describe what ``probe_summary`` really emits, not an older design."""
    from swandoc.evidence import REGISTRY, Evidence, EvidenceSet
    from swandoc.probes.command import probe_summary

    documented_names = re.findall(r"`([a-z_]+)`", _doc_probe_row("name").split("|")[3])
    assert documented_names and all(name in REGISTRY for name in documented_names), documented_names
    documented_statuses = set(re.findall(r"`([a-z]+)`", _doc_probe_row("status").split("|")[3]))
    ev = EvidenceSet()
    ev.add(Evidence("whack_status", b"000 using kernel interface: xfrm\n", "ipsec whack --status"))
    ev.add(Evidence("ike_capture", None, "capture on eth0", error="capture needs root (CAP_NET_RAW)"))
    ev.add(Evidence("route_to_peer", b"[{", "ip -j route get 192.0.2.2"))
    rows = probe_summary(ev, [("route_to_peer", "Expecting value")])
    assert {status for _, status, _ in rows} == documented_statuses == {"ok", "failed"}
    assert all(name in REGISTRY for name, _, _ in rows)
    assert rows[2] == ("route_to_peer", "failed", "could not parse: Expecting value [ip -j route get 192.0.2.2]")


# --- real reports: every lab scenario, analysed from its recorded logs and capture -------------

import subprocess  # noqa: E402
import sys  # noqa: E402

from swandoc.analysis import analyze_paths  # noqa: E402

LAB = Path(__file__).resolve().parent.parent / "fixtures" / "lab"
SCENARIOS = sorted(p for p in LAB.glob("*") if (p / "west.log").exists())


def _inputs(scenario: Path) -> list[str]:
    return [str(p) for p in (scenario / "west.log", scenario / "east.log", scenario / "west.pcap") if p.exists()]


def test_lab_fixtures_are_present():
    assert len(SCENARIOS) >= 10, f"expected the lab's recorded scenarios under {LAB}"


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[p.name for p in SCENARIOS])
def test_real_reports_match_schema(scenario):
    doc = report_dict(analyze_paths(_inputs(scenario)))
    assert validate(doc, SCHEMA) == []
    assert [i["name"] for i in doc["inputs"]] == _inputs(scenario)
    assert doc["exit_code"] == {"problems": 1, "healthy": 0, "inconclusive": 4}[doc["verdict"]]


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "swandoc", "analyze", *args], capture_output=True, text=True,
                          timeout=120)


def test_exit_status_and_json_agree_on_real_logs(tmp_path):
    # The first lines of a real log (startup only): nothing wrong, nothing established -> inconclusive, exit 4
    # (never 0: a script must not read "nothing to judge" as "healthy").
    startup = tmp_path / "startup.log"
    startup.write_text("".join((LAB / "healthy" / "west.log").read_text().splitlines(True)[:20]))
    quiet = _cli(str(startup), "--format", "json")
    assert quiet.returncode == 4, quiet.stderr
    doc = json.loads(quiet.stdout)
    assert validate(doc, SCHEMA) == [] and doc["verdict"] == "inconclusive" and doc["exit_code"] == 4
    broken = _cli(*_inputs(LAB / "ike-proposal-mismatch-v2"), "--format", "json")
    assert broken.returncode == 1, broken.stderr
    doc = json.loads(broken.stdout)
    assert validate(doc, SCHEMA) == []
    assert doc["exit_code"] == 1 and doc["findings"][0]["id"] == "ike-proposal-mismatch"


def test_unreadable_input_exits_2_without_json(tmp_path):
    missing = _cli(str(tmp_path / "no-such.log"), "--format", "json")
    assert missing.returncode == 2
    assert missing.stdout == ""
    assert missing.stderr.startswith("swandoc: error:") and "Traceback" not in missing.stderr


@pytest.mark.parametrize("scenario", ["ike-proposal-mismatch-v2", "secret-missing", "tcp-encap"])
def test_streamed_json_equals_plain_dumps(scenario):
    report = analyze_paths(_inputs(LAB / scenario))
    expected = json.dumps(report_dict(report), indent=2, ensure_ascii=False) + "\n"
    assert render(report, "json") == expected
    hostile = sample_report(hostile=True, probes=True)
    assert render(hostile, "json") == json.dumps(report_dict(hostile), indent=2, ensure_ascii=False) + "\n"


def test_check_reports_match_schema():
    """swandoc check's reports (predicted findings, its probe rows) keep the same schema."""
    from swandoc.check import run_check

    lab = LAB / "ike-proposal-mismatch-v2"
    report = run_check(str(lab / "west.conf"), str(lab / "west.secrets"), peer_config=str(lab / "east.conf"),
                       peer_secrets=str(lab / "east.secrets"), host=False)
    doc = json.loads(render(report, "json"))
    assert validate(doc, SCHEMA) == []
    assert doc["command"] == "check" and doc["findings"][0]["predicted"] is True
    assert all(f["predicted"] is False for f in json.loads(render(sample_report(), "json"))["findings"])


def test_json_text_is_exactly_the_standard_librarys():
    # report/json.py writes the indented JSON itself (the stdlib's indenting encoder is pure Python and
    # slow): its text must be byte for byte json.dumps(indent=2, ensure_ascii=False) of the same dict,
    # on real reports, on hostile non-ASCII/control text, and on a report without findings.
    import dataclasses

    from swandoc.report.json import render_json

    root = Path(__file__).resolve().parent.parent / "fixtures"
    logs = sorted(root.glob("lab/*/west.log"))[:12] + sorted(root.glob("realworld/*.log"))[:12]
    reports = [analyze_paths([str(p)]) for p in logs]
    base = reports[0]
    odd = dataclasses.replace(base.findings[0], title='é "q" \\ \x1b[31m \u2028 </script> \U0001F600',
                              details={"n": "1", "": "", "\t": "x"})
    from swandoc.model import EvidenceLine
    from swandoc.rules.knowledge import FixStep

    # Findings are written by an unrolled writer that remembers fix steps: equal step texts with other
    # versions must not be taken for the same steps; empty evidence, no connection, odd evidence text.
    same_text = [dataclasses.replace(base.findings[0], fix=(FixStep("keyexchange=ikev2", versions),),
                                     connection=None, evidence=evidence)
                 for versions, evidence in ((("5",), ()), (("4", "5"), (EvidenceLine("a", None, "\x00 é \"", "h"),)))]
    reports += [dataclasses.replace(base, findings=(odd,) + base.findings[1:]),
                dataclasses.replace(base, findings=tuple(same_text) * 2),
                dataclasses.replace(base, findings=()), sample_report()]
    for report in reports:
        assert render_json(report) == json.dumps(report_dict(report), indent=2, ensure_ascii=False) + "\n"
    assert sum(1 for r in reports if r.findings) >= 20
