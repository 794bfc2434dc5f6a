"""Reading damaged or hostile bundles: one-line InputError (exit 2), never a hang or a host file.

Folder bundles are built in tmp dirs; the "outside" file a symlink points to is a tmp file
outside the folder, never a real system file.
"""
from __future__ import annotations

import json
import os
import subprocess

import pytest

from swandoc.bundle import reader
from swandoc.bundle.collect import Options, _nss_password
from swandoc.bundle.reader import read_bundle
from swandoc.bundle.redact import Redactor
from swandoc.errors import InputError
from swandoc.evidence import Evidence

from bundle_helpers import PYTHON, ROOT

LOG_LINE = b"Nov 26 21:30:22 vm pluto[1]: \"west\" #1: initiating IKEv2 connection\n"


def folder_bundle(root, items=None, **top) -> str:
    """A minimal unpacked bundle: manifest.json + logs/pluto.log."""
    folder = root / "bundle"
    (folder / "logs").mkdir(parents=True)
    (folder / "logs" / "pluto.log").write_bytes(LOG_LINE)
    manifest = {"host": "west", "created": "2026-11-26T21:30:22Z", "options": {"conn": None},
                "items": items if items is not None else [entry()], "missing": [], **top}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return str(folder)


def entry(**fields):
    base = {"name": "pluto_log", "path": "logs/pluto.log", "origin": "/var/log/pluto.log", "status": None,
            "duration": 0.1, "redactions": {}, "meta": {}}
    base.update(fields)
    return base


def test_good_folder_bundle_reads(tmp_path):
    manifest, items = read_bundle(folder_bundle(tmp_path))
    assert [(i.name, i.content) for i in items] == [("pluto_log", LOG_LINE)]


@pytest.mark.parametrize("bad, field", [
    ({"duration": "x"}, "duration"),
    ({"redactions": [1]}, "redactions"),
    ({"redactions": {"psk": "many"}}, "redaction count"),
    ({"status": "0"}, "status"),
    ({"name": 7}, "name"),
    ({"meta": "x"}, "meta"),
])
def test_bad_item_field_types_are_one_line_input_errors(tmp_path, bad, field):
    path = folder_bundle(tmp_path, items=[entry(**bad)])
    with pytest.raises(InputError) as caught:
        read_bundle(path)
    assert field in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("top", [{"options": [1]}, {"options": {"conn": 5}}, {"missing": "x"}, {"created": 5}])
def test_bad_top_level_field_types_exit_2_with_one_line(tmp_path, top):
    path = folder_bundle(tmp_path, **top)
    done = subprocess.run([PYTHON, "-m", "swandoc", "analyze", path], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "manifest.json has a bad" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_member_symlinked_outside_the_folder_is_refused(tmp_path):
    outside = tmp_path / "outside-secret.txt"
    outside.write_text("root:SwandocOutsideFile-0101:19000:0:99999:7:::\n")
    path = folder_bundle(tmp_path)
    member = os.path.join(path, "logs", "pluto.log")
    os.unlink(member)
    os.symlink(outside, member)
    with pytest.raises(InputError, match="symbolic link"):
        read_bundle(path)


def test_member_symlinked_to_dev_zero_is_refused_not_read_forever(tmp_path):
    path = folder_bundle(tmp_path)
    member = os.path.join(path, "logs", "pluto.log")
    os.unlink(member)
    os.symlink("/dev/zero", member)
    with pytest.raises(InputError, match="symbolic link"):
        read_bundle(path)


def test_member_in_a_symlinked_directory_is_refused(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "pluto.log").write_bytes(LOG_LINE)
    path = folder_bundle(tmp_path)
    os.unlink(os.path.join(path, "logs", "pluto.log"))
    os.rmdir(os.path.join(path, "logs"))
    os.symlink(elsewhere, os.path.join(path, "logs"))
    with pytest.raises(InputError, match="outside the bundle"):
        read_bundle(path)


def test_fifo_member_is_refused_without_blocking(tmp_path):
    path = folder_bundle(tmp_path)
    member = os.path.join(path, "logs", "pluto.log")
    os.unlink(member)
    os.mkfifo(member)
    with pytest.raises(InputError, match="not a regular file"):
        read_bundle(path)


def test_member_larger_than_the_bound_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(reader, "MAX_MEMBER", len(LOG_LINE) - 1)
    with pytest.raises(InputError, match="too large"):
        read_bundle(folder_bundle(tmp_path))


def test_members_together_hit_the_total_cap(tmp_path, monkeypatch):
    monkeypatch.setattr(reader, "MAX_TOTAL", len(LOG_LINE) * 10)
    path = folder_bundle(tmp_path, items=[entry(name=f"pluto_log_{i}", path=f"logs/{i}.log") for i in range(11)])
    for i in range(11):
        (tmp_path / "bundle" / "logs" / f"{i}.log").write_bytes(LOG_LINE)
    with pytest.raises(InputError, match="add up to more than"):
        read_bundle(path)
    monkeypatch.setattr(reader, "MAX_TOTAL", len(LOG_LINE) * 11 + 4096)
    assert len(read_bundle(path)[1]) == 11  # the manifest plus 11 members fit under a larger cap


def test_same_member_listed_many_times_is_read_once(tmp_path):
    path = folder_bundle(tmp_path, items=[entry(name=f"pluto_log_{i}") for i in range(1500)])
    items = read_bundle(path)[1]
    assert [i.name for i in items] == ["pluto_log_0", "repeated_manifest_entries"]
    assert items[0].content == LOG_LINE and "1499 entries" in items[1].error


def test_nss_password_follows_the_nss_dir_pluto_reports(tmp_path):
    nss = tmp_path / "pluto-nss"
    nss.mkdir()
    (nss / "nsspassword").write_text("NSS Certificate DB:SwandocPlutoNssDir-3344\n")
    status = Evidence("whack_status", f"000 nssdir={nss}, dumpdir=/run/pluto, statsbin=unset\n".encode(),
                      "ipsec whack --status", status=0)
    redactor = Redactor()
    item = _nss_password(Options(), redactor, status)
    assert item is not None and item.origin == str(nss / "nsspassword")
    text, counts = redactor.redact("echo SwandocPlutoNssDir-3344\n")
    assert "SwandocPlutoNssDir" not in text and counts == {"known-secret": 1}


def test_the_reader_takes_the_largest_item_the_writer_collects():
    """A bundle swandoc wrote must always read back: the per-member limit is above the writer's own."""
    from swandoc.probes.collect import LOG_LIMIT
    assert reader.MAX_MEMBER > LOG_LIMIT and reader.MAX_TOTAL > reader.MAX_MEMBER
