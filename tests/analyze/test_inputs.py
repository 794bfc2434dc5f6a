"""Every input format is recognised by its content and gives the same diagnosis."""
import gzip
import lzma
import shutil

import pytest

from swandoc.analysis import analyze_paths

from .conftest import fixture

JOURNAL = ["pluto.json", "pluto.export", "pluto.short", "pluto.short-iso"]
KINDS = {"pluto.json": "journal-json", "pluto.export": "journal-export", "pluto.short": "syslog",
         "pluto.short-iso": "syslog"}


@pytest.mark.parametrize("name", JOURNAL)
def test_journal_formats_agree(name):
    report = analyze_paths([fixture("journal", name)])
    source = report.sources[0]
    assert source.kind == KINDS[name]
    assert source.unparsed == 0 and source.pluto_lines == source.lines > 100
    assert source.version == "4.10"
    # The recorder initiated journal-demo (nobody answers) and then a connection that does not exist.
    assert {(f.id, f.connection) for f in report.findings} == {
        ("connection-not-loaded", "no-such-conn"), ("peer-unreachable", "journal-demo"),
        ("ike-no-response", "journal-demo")}


def test_whack_console_output():
    report = analyze_paths([fixture("journal", "whack.txt")])
    assert report.sources[0].kind == "whack"
    assert report.findings[0].id == "peer-unreachable"


def test_logfile_with_plutodebug_all():
    report = analyze_paths([fixture("lab", "healthy-debug", "east.log")])
    source = report.sources[0]
    assert source.kind == "pluto-log"
    assert source.debug_lines > source.lines // 2  # most lines of a plutodebug=all log are debug lines
    assert source.unparsed == 0
    assert report.findings[0].id == "kernel-sa-install-failed"


@pytest.mark.parametrize("compress,suffix", [(gzip.compress, ".gz"), (lzma.compress, ".xz")])
def test_rotated_compressed_logs(tmp_path, compress, suffix):
    plain = open(fixture("lab", "ikev2-psk-mismatch", "east.log"), "rb").read()
    path = tmp_path / f"pluto.log.1{suffix}"
    path.write_bytes(compress(plain))
    report = analyze_paths([str(path)])
    assert report.findings[0].id == "authentication-failed"
    assert report.sources[0].lines == plain.count(b"\n")
    assert any(suffix.strip(".").replace("gz", "gzip") in n for n in report.sources[0].notes)


def test_several_files_rotated_and_plain_together(tmp_path):
    west = tmp_path / "west.log.gz"
    west.write_bytes(gzip.compress(open(fixture("lab", "healthy", "west.log"), "rb").read()))
    east = tmp_path / "east.log"
    shutil.copy(fixture("lab", "healthy", "east.log"), east)
    report = analyze_paths([str(west), str(east)])
    assert [s.name for s in report.sources] == [str(west), str(east)]
    assert report.findings[0].id == "kernel-sa-install-failed"


def test_stdin(swandoc):
    data = open(fixture("journal", "pluto.json"), "rb").read()
    result = swandoc("analyze", "-", "--format", "json", stdin=data)
    assert result.returncode == 1
    assert b'"journal-json"' in result.stdout and b'"<stdin>"' in result.stdout


def test_conn_filter(tmp_path):
    both = [fixture("journal", "whack-unknown.txt"), fixture("reference", "ikev2-psk.txt")]
    report = analyze_paths(both, conn="vpn.example.com")
    assert {f.connection for f in report.findings} == {"vpn.example.com"}


def test_syslog_lines_of_other_programs_are_counted_not_unparsed(tmp_path):
    lines = open(fixture("journal", "pluto.short")).read().splitlines()
    host = lines[0].split()[3]
    mixed = [lines[0], f"Nov 26 21:34:30 {host} sshd[4242]: Accepted publickey for root", *lines[1:]]
    path = tmp_path / "secure"
    path.write_text("\n".join(mixed) + "\n")
    source = analyze_paths([str(path)]).sources[0]
    assert (source.other_lines, source.unparsed) == (1, 0)


def test_conn_that_is_not_in_the_input_is_said_and_named():
    report = analyze_paths([fixture("lab", "healthy", "west.log")], conn="nosuch")
    assert [f.id for f in report.findings] == ["conn-not-in-input"]
    assert '"lab"' in report.findings[0].explanation
    assert report.verdict == "problems"
