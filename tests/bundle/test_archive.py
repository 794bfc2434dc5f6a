"""Whole bundles: no secret anywhere in the archive, manifest complete, analyze reads it back."""
from __future__ import annotations

import json
import os
import subprocess
import tarfile
import time

import pytest

from swandoc.bundle.archive import TOP
from swandoc.bundle.collect import Options, build_bundle
from swandoc.probes.config import load_config
from swandoc.probes.run import read_file, run_command
from swandoc.bundle.reader import is_bundle, read_bundle
from swandoc.evidence import Evidence

from bundle_helpers import LAB, PYTHON, ROOT, SECRETS, archive_members, leaks

LAB_LOG = LAB / "ikev2-psk-mismatch" / "west.log"


def corpus_log(tmp_path) -> str:
    """A log holding a real psk-mismatch run, a real plutodebug=private dump, and strays."""
    path = tmp_path / "pluto.log"
    path.write_bytes(LAB_LOG.read_bytes() + (SECRETS / "pluto-debug-private.log").read_bytes()
                     + (SECRETS / "pluto-helper-thread-debug.log").read_bytes()
                     + b'\nNov 26 21:30:22 vm pluto[1]: echo @a @b : PSK "SwandocQuotedPSK-1a2b3c4d"\n')
    return str(path)


def make_corpus_bundle(tmp_path, **kwargs):
    options = Options(config=str(SECRETS / "ipsec.conf"), secrets=str(SECRETS / "ipsec.secrets"),
                      log=corpus_log(tmp_path), nss_dir=str(SECRETS), timeout=5)
    extra = [
        Evidence("xfrm_state", (SECRETS / "xfrm_state.txt").read_bytes(), "ip xfrm state", status=0),
        # a private key where nobody expects one: the generic scrubber must still catch it
        Evidence("whack_listall", (SECRETS / "private-key.pem").read_bytes() + (SECRETS / "encrypted-key.pem").read_bytes(),
                 "ipsec whack --listall", status=0),
        Evidence("crypto_policy", b"DEFAULT\n", "update-crypto-policies --show", status=1,
                 error='exit status 1: failed near "SwandocEapPass-9009"'),
    ]
    out = str(tmp_path / "bundle.tar.xz")
    result = build_bundle(options, output=out, extra_items=extra, **kwargs)
    return result


@pytest.fixture(scope="module")
def corpus_bundle(tmp_path_factory):
    return make_corpus_bundle(tmp_path_factory.mktemp("bundle"))


def test_no_secret_in_any_member_including_manifest(corpus_bundle):
    members = archive_members(corpus_bundle.path)
    assert f"{TOP}/manifest.json" in members and f"{TOP}/README.md" in members
    assert f"{TOP}/config/ipsec.secrets" in members and f"{TOP}/logs/pluto.log" in members
    assert f"{TOP}/config/nsspassword.censored" in members
    assert leaks(members) == []


def test_leak_detector_would_see_a_leak(tmp_path):
    # Guard: the detector finds each form (raw, hex of 0x, base64, decoded bytes) when present.
    assert leaks({"x": b"..SwandocQuotedPSK-1a2b3c4d.."})
    assert leaks({"x": bytes.fromhex("5e1f0c2ab7d3994e61a8f4c03d27b6e5")})
    assert leaks({"x": b"U3dhbmRvY0Jhc2U2NFBTSy1xOXc4ZTc"})
    assert leaks({"x": b"SwandocBase64PSK-q9w8e7"})  # decoded 0s value
    dump = (SECRETS / "pluto-debug-private.log").read_bytes()
    assert leaks({"x": dump})  # a real pluto hex dump (grouped, over two lines, ASCII column)
    stream_only = b"|   53 77 61 6e  64 6f 63 54  65 73 74 50  53 4b 2d 44\n|   6f 4e 6f 74  55 73 65 2d  34 66 32 61  39 63\n"
    assert leaks({"x": stream_only})


def test_manifest_lists_every_item_with_hash_size_and_redactions(corpus_bundle):
    members = archive_members(corpus_bundle.path)
    manifest = json.loads(members[f"{TOP}/manifest.json"])
    assert manifest["libreswan_version"] and manifest["swandoc_version"] and manifest["host"]
    by_name = {i["name"]: i for i in manifest["items"]}
    for entry in manifest["items"]:
        data = members[f"{TOP}/{entry['path']}"]
        assert entry["size"] == len(data)
        import hashlib
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert {"origin", "status", "duration", "redactions"} <= set(entry)
    assert by_name["ipsec_secrets"]["redactions"]["psk"] == 7  # the commented-out one counts as commented-secret
    assert by_name["xfrm_state"]["redactions"] == {"xfrm-key": 5}
    assert by_name["whack_listall"]["redactions"]["private-key-block"] == 2
    assert by_name["pluto_log"]["redactions"]["log-key-material"] >= 3
    assert by_name["nss_password"]["redactions"]["nss-password"] == 2
    assert by_name["ipsec_conf"]["redactions"]["config-secret"] == 2
    assert "[known secret removed]" in by_name["crypto_policy"]["error"]
    assert manifest["redaction_totals"]["psk"] >= 8
    # items that could not be had are listed with the reason
    for miss in manifest["missing"]:
        assert miss["reason"]
    readme = members[f"{TOP}/README.md"].decode()
    assert "swandoc analyze" in readme and "Secrets" in readme


def test_analyze_on_bundle_gives_the_log_findings(corpus_bundle):
    out = subprocess.run([PYTHON, "-m", "swandoc", "analyze", "--format", "json", corpus_bundle.path],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 1, out.stderr
    report = json.loads(out.stdout)
    ids = {f["id"] for f in report["findings"]}
    direct = subprocess.run([PYTHON, "-m", "swandoc", "analyze", "--format", "json", str(LAB_LOG)],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert {f["id"] for f in json.loads(direct.stdout)["findings"]} <= ids
    assert "authentication-failed" in ids
    assert any(s["kind"] == "bundle" for s in report["inputs"])


def test_unpacked_folder_reads_the_same(corpus_bundle, tmp_path):
    with tarfile.open(corpus_bundle.path) as tar:
        tar.extractall(tmp_path)  # our own archive, made just above
    folder = tmp_path / TOP
    assert is_bundle(str(folder)) and is_bundle(corpus_bundle.path)
    assert not is_bundle(str(LAB_LOG))
    m1, items1 = read_bundle(corpus_bundle.path)
    m2, items2 = read_bundle(str(folder))
    assert [(i.name, i.content) for i in items1] == [(i.name, i.content) for i in items2]
    out = subprocess.run([PYTHON, "-m", "swandoc", "analyze", str(folder)], capture_output=True, text=True,
                         timeout=120, cwd=ROOT)
    assert out.returncode == 1 and "authentication" in out.stdout.lower()


@pytest.mark.parametrize("damage", ["truncate", "flip", "no-manifest", "bad-json"])
def test_corrupt_or_truncated_bundle_exits_2_with_one_line(corpus_bundle, tmp_path, damage):
    data = open(corpus_bundle.path, "rb").read()
    bad = tmp_path / f"{damage}.tar.xz"
    if damage == "truncate":
        bad.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        middle = len(data) // 2
        bad.write_bytes(data[:middle] + bytes(b ^ 0xFF for b in data[middle:middle + 64]) + data[middle + 64:])
    else:
        with tarfile.open(bad, "w:xz") as tar:
            src = tmp_path / "m.json"
            src.write_text("{not json" if damage == "bad-json" else "{}")
            tar.add(src, arcname=f"{TOP}/{'manifest.json' if damage == 'bad-json' else 'other.json'}")
    out = subprocess.run([PYTHON, "-m", "swandoc", "analyze", str(bad)], capture_output=True, text=True,
                         timeout=60, cwd=ROOT)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and out.stderr.startswith("swandoc: error:"), out.stderr
    assert "Traceback" not in out.stderr


def test_obfuscated_bundle_keeps_diagnosis_and_hides_addresses(tmp_path):
    result = make_corpus_bundle(tmp_path, obfuscate=True)
    members = archive_members(result.path)
    blob = b"\n".join(members.values())
    mapping = json.loads(open(result.map_path).read())
    assert not any(f"{TOP}/" in p and "map" in p for p in members)  # the map stays outside
    hidden = [real for real in mapping if len(real) >= 3 and real.encode() in blob]  # "@a" maps "a": too short to search for
    assert hidden == []
    assert mapping and any(v.startswith("host-") for v in mapping.values())
    assert leaks(members) == []
    manifest = json.loads(members[f"{TOP}/manifest.json"])
    assert manifest["obfuscated"] is True
    out = subprocess.run([PYTHON, "-m", "swandoc", "analyze", "--format", "json", result.path],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert "authentication-failed" in {f["id"] for f in json.loads(out.stdout)["findings"]}


def test_obfuscation_is_consistent_and_subnet_preserving():
    import ipaddress
    from swandoc.bundle.obfuscate import Obfuscator
    ob = Obfuscator(hostnames=())
    text = ob.text("leftsubnet=10.20.30.0/24 host 10.20.30.77 peer 8.8.4.4 again 8.8.4.4 v6 2a00:1450::/32 2a00:1450::5")
    parts = text.split()
    subnet = ipaddress.ip_network(parts[0].split("=")[1])
    assert ipaddress.ip_address(parts[2]) in subnet and subnet.prefixlen == 24
    assert subnet.subnet_of(ipaddress.ip_network("10.0.0.0/8"))  # private stays private
    assert parts[4] == parts[6] and parts[4] != "8.8.4.4"
    assert ipaddress.ip_address(parts[9]) in ipaddress.ip_network(parts[8])
    assert ob.text("127.0.0.1 255.255.255.0 0.0.0.0/0") == "127.0.0.1 255.255.255.0 0.0.0.0/0"
    assert "192.0.2.1" not in ob.text("192.0.2.1")  # documentation ranges are what test hosts use: mapped too


def test_hung_command_is_cut_off():
    start = time.monotonic()
    # the grandchild keeps the pipe open: killing only the shell would still hang
    item = run_command("whack_status", ["sh", "-c", "sleep 60 & sleep 60"], timeout=1)
    assert time.monotonic() - start < 10
    assert item.error and "cut off after 1s" in item.error


def test_hung_item_does_not_hang_the_bundle(tmp_path, monkeypatch):
    from swandoc.probes import collect
    monkeypatch.setattr(collect, "_whack_argv", lambda ctl, *args: ["sh", "-c", "sleep 60 & sleep 60"])
    options = Options(config=str(SECRETS / "ipsec.conf"), secrets=str(SECRETS / "ipsec.secrets"),
                      log=str(LAB_LOG), timeout=1)
    start = time.monotonic()
    result = build_bundle(options, output=str(tmp_path / "b.tar.xz"))
    assert time.monotonic() - start < 30
    missing = {m["name"]: m["reason"] for m in result.manifest["missing"]}
    assert "cut off" in missing.get("whack_status", "")


def test_missing_or_vanished_files_are_recorded_not_fatal(tmp_path):
    gone = tmp_path / "gone.log"
    gone.write_text("x")
    gone.unlink()  # vanished between planning and reading
    assert "does not exist" in read_file("pluto_log", str(gone)).error
    conf = tmp_path / "ipsec.conf"
    conf.write_text(f"include {tmp_path}/nothere/*.conf\ninclude {tmp_path}/vanished.conf\nconn a\n\tleft=192.0.2.1\n")
    assert "left=192.0.2.1" in load_config(str(conf))
    options = Options(config=str(tmp_path / "no-such.conf"), secrets=str(tmp_path / "no-such.secrets"),
                      log=str(gone), timeout=5)
    result = build_bundle(options, output=str(tmp_path / "b.tar.xz"))
    missing = {m["name"] for m in result.manifest["missing"]}
    assert {"ipsec_conf", "ipsec_secrets", "pluto_log"} <= missing
    assert os.path.exists(result.path)


def test_cli_bundle_writes_default_name(tmp_path):
    out = subprocess.run([PYTHON, "-m", "swandoc", "bundle", "--config", str(SECRETS / "ipsec.conf"),
                          "--secrets", str(SECRETS / "ipsec.secrets"), "--log", str(LAB_LOG), "--timeout", "5"],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    made = [p for p in os.listdir(tmp_path) if p.startswith("swandoc-") and p.endswith(".tar.xz")]
    assert len(made) == 1 and "wrote" in out.stdout
    assert leaks(archive_members(str(tmp_path / made[0]))) == []
