"""The fleet analysis on real bundles the playbook fetched from the lab fleet (fixtures/fleet)."""
from __future__ import annotations

import json
import lzma
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from swandoc.fleet.network import analyze_fleet, read_failures
from swandoc.fleet.render import fleet_dict, render_fleet_html
from swandoc.lab.fleet import EXPECTED_MESH, EXPECTED_ONE_SIDED, EXPECTED_TUNNELS, NODES, UNREACHABLE
from swandoc.lab.scenarios import LAB_PSK

FLEET = Path(__file__).resolve().parents[2] / "fixtures" / "fleet"
BUNDLES = sorted(str(p) for p in FLEET.glob("*.tar.xz"))


def check_fleet_report(doc: dict) -> None:
    """What the lab fleet's report must say; shared with the lab test that runs the playbook."""
    names = [h["name"] for h in doc["hosts"]]
    assert sorted(names) == sorted([n.name for n in NODES] + [UNREACHABLE[0]])
    missing = [h for h in doc["hosts"] if h["status"] == "no-bundle"]
    assert [h["name"] for h in missing] == [UNREACHABLE[0]] and "unreachable" in missing[0]["reason"]
    paired = {frozenset(t["hosts"]): t for t in doc["tunnels"] if t["paired"]}
    assert set(paired) == set(EXPECTED_TUNNELS), doc["tunnels"]
    one_sided = {frozenset(t["hosts"]): t for t in doc["tunnels"] if not t["paired"]}
    assert set(one_sided) == set(EXPECTED_ONE_SIDED), doc["tunnels"]
    for pair, (cause, seen_at, fix_at) in {**EXPECTED_TUNNELS, **EXPECTED_ONE_SIDED}.items():
        t = paired.get(pair) or one_sided[pair]
        assert t["status"] == "failing"
        assert (t["root_cause"]["id"], t["root_cause"]["host"], t["fix_end"]) == (cause, seen_at, fix_at), t
    for pair, t in paired.items():
        # evidence from both ends: the tunnel's findings come from both hosts
        hosts_seen = {doc["findings"][i]["details"]["host"] for i in t["findings"]}
        assert hosts_seen == set(pair), (t, hosts_seen)
        assert {e["host"] for e in t["evidence"]} == set(pair), t["evidence"]
    assert {frozenset(m["hosts"]): m["outcome"] for m in doc["mesh"]} == EXPECTED_MESH
    for m in doc["mesh"]:
        f = doc["findings"][m["finding"]]
        assert f["id"] == "mesh-policy-conflict"
        assert {e["host"] for e in f["evidence"]} == set(m["hosts"]), f["evidence"]  # a policy line from each node
        assert all("/policies/" in e["source"] and e["line"] for e in f["evidence"])
    differs = [f for f in doc["findings"] if f["id"] == "mesh-group-conn-differs"]
    assert [(f["details"]["host"], f["connection"]) for f in differs] == [("gw-d", "private-or-clear")]
    assert "negotiationshunt=drop here" in differs[0]["evidence"][0]["text"]


def _report():
    return analyze_fleet(BUNDLES, name_from_file=True, failures=read_failures(str(FLEET / "failures.json")))


def test_fixtures_are_the_playbooks_output():
    assert [Path(b).name for b in BUNDLES] == [f"{n.name}.tar.xz" for n in NODES]


def test_one_network_one_report():
    check_fleet_report(fleet_dict(_report()))


def test_no_secret_left_any_host():
    for bundle in BUNDLES:
        with tarfile.open(bundle, "r:xz") as tar:
            for member in tar.getmembers():
                if member.isfile():
                    assert LAB_PSK.encode() not in tar.extractfile(member).read(), (bundle, member.name)


def test_without_inventory_names_hosts_are_named_from_their_bundles(tmp_path):
    # The four lab nodes share one machine, so their bundles record the same host name.
    doc = fleet_dict(analyze_fleet(BUNDLES))
    names = [h["name"] for h in doc["hosts"]]
    assert len(set(names)) == 4 and names[0] == doc["hosts"][0]["bundle_host"]
    assert names[1] == f"{names[0]} (gw-b.tar.xz)"  # as Facts.host_name keeps two hosts of one name apart
    assert len([t for t in doc["tunnels"] if t["paired"]]) == 2
    assert [t["hosts"][1] for t in doc["tunnels"] if not t["paired"]] == [None]  # no inventory: no name for it


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "swandoc", "analyze", *args], capture_output=True, text=True,
                          timeout=300)


def test_cli_writes_json_and_html_and_exits_1(tmp_path):
    out, html = tmp_path / "fleet.json", tmp_path / "fleet.html"
    hostile = "<script>alert(1)</script>"
    run = _cli("--name-from-file", "--failures", str(FLEET / "failures.json"), "--unreachable", f"{hostile}=<b>down</b>",
               "--format", "json", "-o", str(out), "--html", str(html), *BUNDLES)
    assert run.returncode == 1, run.stderr
    doc = json.loads(out.read_text())
    assert hostile in [h["name"] for h in doc["hosts"]]
    page = html.read_text()
    assert hostile not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<b>down</b>" not in page
    # the matrix comes before the findings and its cells lead to the tunnels and mesh findings
    assert page.index('class="matrix"') < page.index("Findings, most likely cause first")
    for t in doc["tunnels"]:
        assert f'href="#tunnel-{t["id"]}"' in page and f'id="tunnel-{t["id"]}"' in page
        for i in t["findings"]:
            assert f'href="#finding-{i + 1}"' in page
    cd = next(t["id"] for t in doc["tunnels"] if set(t["hosts"]) == {"gw-c", "gw-d"})
    assert re.search(rf'class="cell-failing"><a href="#tunnel-{cd}"[^>]*>failing</a><a href="#finding-\d+"[^>]*>blocked</a>',
                     page)  # the gw-c/gw-d cell: the failing tunnel and the mesh block, each a link


def test_bad_fleet_input_is_one_line_exit_2(tmp_path):
    bad = tmp_path / "failures.json"
    bad.write_text("[1, 2]")
    run = _cli("--failures", str(bad), BUNDLES[0])
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and "Traceback" not in run.stderr
    log = tmp_path / "x.log"
    log.write_text("hello\n")
    run = _cli("--name-from-file", BUNDLES[0], str(log))
    assert run.returncode == 2 and "not a swandoc bundle" in run.stderr
    run = _cli("--unreachable", "gw-z=down")  # every host failed: still a report, naming it
    assert run.returncode == 1 and "gw-z" in run.stdout


def test_two_bundles_without_options_are_a_fleet_too():
    run = _cli("--format", "json", BUNDLES[0], BUNDLES[1])
    assert run.returncode == 1, run.stderr
    doc = json.loads(run.stdout)
    assert len(doc["hosts"]) == 2 and all(h["bundle_host"] for h in doc["hosts"])
    paired = [t for t in doc["tunnels"] if t["paired"]]
    assert len(paired) == 1 and paired[0]["root_cause"]["id"] == "local-firewall-blocks-ike"
    one = _cli("--format", "json", BUNDLES[0])  # one bundle: the ordinary report
    assert "hosts" not in json.loads(one.stdout)
