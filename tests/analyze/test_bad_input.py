"""Bad input: one clear line and exit 2, or lines counted as unparsed — never a traceback, never 'healthy'."""
import gzip
import json

import pytest

from .conftest import fixture


def one_line_error(result, *words):
    err = result.stderr.decode()
    assert result.returncode == 2, (result.returncode, err)
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("swandoc: error: ")
    for w in words:
        assert w in err


def test_missing_file(swandoc):
    one_line_error(swandoc("analyze", "/nonexistent/pluto.log"), "no such file")


def test_directory(swandoc, tmp_path):
    one_line_error(swandoc("analyze", str(tmp_path)), "is a directory")


def test_binary_garbage(swandoc, tmp_path):
    path = tmp_path / "garbage.bin"
    path.write_bytes(bytes(range(256)) * 64)
    one_line_error(swandoc("analyze", str(path)), "binary data")


def test_no_arguments_is_a_usage_error(swandoc):
    result = swandoc("analyze")
    assert result.returncode == 2 and b"Traceback" not in result.stderr


def test_unknown_format(swandoc):
    result = swandoc("analyze", "--format", "pdf", fixture("reference", "ikev2-psk.txt"))
    assert result.returncode == 2 and b"Traceback" not in result.stderr


def test_unwritable_output(swandoc):
    one_line_error(swandoc("analyze", fixture("reference", "ikev2-psk.txt"), "-o", "/nonexistent/dir/r.html"),
                   "cannot write")


def report_of(swandoc, path):
    result = swandoc("analyze", str(path), "--format", "json")
    assert b"Traceback" not in result.stderr
    return result.returncode, json.loads(result.stdout)


def test_empty_file(swandoc, tmp_path):
    path = tmp_path / "empty.log"
    path.write_bytes(b"")
    code, report = report_of(swandoc, path)
    assert code == 4 and report["verdict"] == "inconclusive"
    assert "empty input" in report["inputs"][0]["notes"]


def test_no_pluto_lines_at_all(swandoc, tmp_path):
    path = tmp_path / "nginx.log"
    path.write_text("".join(f'10.0.0.{i} - - [26/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 612\n'
                            for i in range(50)))
    code, report = report_of(swandoc, path)
    # Nothing to diagnose: inconclusive with its own status, and the report says why.
    assert code == 4 and report["verdict"] == "inconclusive"
    assert report["findings"][0]["id"] == "input-not-understood"
    assert report["inputs"][0]["unparsed"] == 50 and report["inputs"][0]["pluto_lines"] == 0


def test_non_utf8_bytes_are_read_not_fatal(swandoc, tmp_path):
    raw = open(fixture("lab", "ikev2-psk-mismatch", "east.log"), "rb").read()
    raw = raw.replace(b"'@west'\n", b"'@west' \xff\xfe\xe9\n", 1)  # bytes that are not UTF-8
    path = tmp_path / "latin.log"
    path.write_bytes(raw)
    code, report = report_of(swandoc, path)
    assert report["findings"][0]["id"] == "authentication-failed"
    assert any("\ufffd" in e["text"] for e in report["findings"][0]["evidence"])


def test_truncated_gzip(swandoc, tmp_path):
    data = gzip.compress(open(fixture("lab", "ikev2-psk-mismatch", "east.log"), "rb").read())
    path = tmp_path / "pluto.log.2.gz"
    path.write_bytes(data[: len(data) * 2 // 3])
    code, report = report_of(swandoc, path)
    source = report["inputs"][0]
    assert source["truncated"] is True and source["lines"] > 0
    assert "input-truncated" in [f["id"] for f in report["findings"]]
    assert code == 1


def test_one_megabyte_line(swandoc, tmp_path):
    raw = open(fixture("lab", "ikev2-psk-mismatch", "east.log"), "rb").read()
    path = tmp_path / "long.log"
    path.write_bytes(b"Nov 26 21:32:36.000000: " + b"A" * (1 << 20) + b"\n" + raw)
    code, report = report_of(swandoc, path)
    source = report["inputs"][0]
    assert source["unparsed"] == 1
    assert "longer than 64 KiB" in source["unparsed_samples"][0]["text"]
    assert report["findings"][0]["id"] == "authentication-failed"


def test_unparsed_lines_are_reported_even_when_healthy(tmp_path):
    from swandoc.analysis import analyze_paths
    lines = ['Nov 26 21:32:36.712546: "lab" #1: initiator established IKE SA; authenticated peer using authby=secret',
             'Nov 26 21:32:36.712600: "lab" #2: initiator established Child SA using #1; IPsec tunnel [192.0.2.0/24]',
             "this line is not from pluto"]
    path = tmp_path / "up.log"
    path.write_text("\n".join(lines) + "\n")
    report = analyze_paths([str(path)])
    ids = [f.id for f in report.findings]
    assert "tunnel-up" in ids and "unparsed-lines" in ids
    assert report.sources[0].unparsed == 1


@pytest.mark.parametrize("payload", [b"\x1f\x8b\x08\x00garbage", b"\xfd7zXZ\x00\x00garbage"])
def test_corrupt_compressed_header(swandoc, tmp_path, payload):
    path = tmp_path / "bad.log.gz"
    path.write_bytes(payload)
    result = swandoc("analyze", str(path))
    assert b"Traceback" not in result.stderr
    assert result.returncode in (1, 2)


def test_hostile_journal_json_values(swandoc, tmp_path):
    """Timestamps of the wrong type or out of any calendar's range: read, never a traceback."""
    records = [{"__REALTIME_TIMESTAMP": 5, "SYSLOG_IDENTIFIER": "pluto", "MESSAGE": '"x" #1: initiating IKEv2 connection'},
               {"__REALTIME_TIMESTAMP": "99999999999999999999", "SYSLOG_IDENTIFIER": ["pluto"], "MESSAGE": "y"},
               {"__REALTIME_TIMESTAMP": "1", "SYSLOG_IDENTIFIER": "pluto", "MESSAGE": [0xff, 0x41]}]
    path = tmp_path / "j.json"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    code, report = report_of(swandoc, path)
    assert report["inputs"][0]["kind"] == "journal-json" and report["inputs"][0]["lines"] == 3


def test_journal_export_record_that_never_ends(swandoc, tmp_path):
    path = tmp_path / "j.export"
    path.write_bytes(b"__CURSOR=x\n" + b"".join(b"F%d=v\n" % i for i in range(5000)))
    code, report = report_of(swandoc, path)
    assert report["inputs"][0]["unparsed"] == 1


def test_invented_qualifiers_do_not_grow_memory():
    from swandoc.facts import MAX_SIGNALS, OTHER, Facts
    from swandoc.model import LogEvent
    facts = Facts()
    for i in range(5000):
        facts.add_event(LogEvent(kind="icmp_error", source="x", line=i, text="t", conn="c", detail=f"error {i}"))
    conn = facts.conns["c"]
    assert len(conn.signals) == MAX_SIGNALS + 1
    assert conn.get("icmp_error", OTHER).count == 5000 - MAX_SIGNALS
