"""A hostile corpus with fresh random secrets: zero leaks in any member, in any encoding; IDs kept
without --obfuscate; no name, address or ID left with it. Each run draws new values (the seed is
printed on failure so a leak can be reproduced)."""
from __future__ import annotations

import json
import os
import random
import time

import pytest

from swandoc.bundle.archive import TOP
from swandoc.bundle.collect import Options, build_bundle
from swandoc.bundle.redact import Redactor
from swandoc.evidence import Evidence
from swandoc.probes import collect as probes_collect

from bundle_helpers import archive_members
from hostile import Corpus, forms, leaked

SEED = int(os.environ.get("SWANDOC_TEST_SEED", random.SystemRandom().randrange(1 << 30)))


def _bundle(tmp_path, monkeypatch, obfuscate: bool):
    corpus = Corpus(tmp_path, SEED)
    paths = corpus.build()
    monkeypatch.setattr(probes_collect, "NM_CONNECTIONS", (paths["nm"] + "/*",))
    extra = [Evidence("hosts_file", (tmp_path / "hosts").read_bytes(), "/etc/hosts", status=0)]
    result = build_bundle(Options(config=paths["config"], timeout=5), output=str(tmp_path / "b.tar.xz"),
                          obfuscate=obfuscate, extra_items=extra)
    return corpus, paths, result, archive_members(result.path)


def test_hostile_corpus_leaks_nothing_in_any_member_or_encoding(tmp_path, monkeypatch):
    corpus, paths, result, members = _bundle(tmp_path, monkeypatch, obfuscate=False)
    assert len(corpus.secrets) >= 30
    assert f"{TOP}/manifest.json" in members and f"{TOP}/README.md" in members
    assert leaked(members, corpus.secrets) == [], f"seed {SEED}"
    manifest = json.loads(members[f"{TOP}/manifest.json"])
    by_name = {i["name"]: i for i in manifest["items"]}
    # the file secretsfile= names was read (and its includes), the NM connection and the rest collected
    assert "secretsfile=" in by_name["ipsec_secrets"]["meta"]["chosen"]
    for name in ("nm_connections", "ipsec_policies", "kernel_version", "os_release", "hosts_file", "pluto_log"):
        assert name in by_name, name
    secrets_text = members[f"{TOP}/config/ipsec.secrets"].decode()
    assert "[unparsed secrets entry removed" in secrets_text
    assert "%smartcard:45" in secrets_text and "stock comment with a BOM" in secrets_text
    nm = members[f"{TOP}/config/nm-connections.txt"].decode()
    assert "pskvalue-flags=0" in nm and "[vpn-secrets]" in nm


def test_ids_are_kept_without_obfuscate(tmp_path, monkeypatch):
    corpus, paths, result, members = _bundle(tmp_path, monkeypatch, obfuscate=False)
    secrets_text = members[f"{TOP}/config/ipsec.secrets"].decode()
    for ident in corpus.ids[:5]:
        assert ident in secrets_text, (ident, SEED)
    assert corpus.ids[5] in secrets_text and corpus.ids[6] in secrets_text
    log = members[f"{TOP}/logs/pluto.log"].decode()
    assert corpus.ids[0] in log and paths["host"] in log


def test_obfuscate_leaves_no_name_address_or_id(tmp_path, monkeypatch):
    corpus, paths, result, members = _bundle(tmp_path, monkeypatch, obfuscate=True)
    assert leaked(members, corpus.secrets) == [], f"seed {SEED}"
    names = [i for i in corpus.ids if len(i) >= 4] + [paths["org"], paths["host"], "Net Ops", "Lisboa"]
    names += [paths["host"].split(".", 1)[1]]
    names += corpus.names
    left = [f"{m}: {n}" for m, data in members.items() for n in names if n.lower().encode() in data.lower()]
    assert left == [], f"seed {SEED}"
    mapping = json.loads(open(result.map_path).read())
    assert all("map" not in m for m in members)
    assert paths["host"] in mapping or paths["host"].lower() in {k.lower() for k in mapping}


def test_property_random_secrets_in_random_forms_and_places_never_come_out():
    """Random values, written in a random form (quoting, 0x/0s/0t), learnt from a secrets file,
    then echoed at random places in random encodings: none survives. Seeded, bounded in time."""
    import base64

    rng = random.Random(SEED)
    deadline = time.monotonic() + 20
    rounds = 0
    while time.monotonic() < deadline and rounds < 150:
        rounds += 1
        data = bytes(rng.getrandbits(8) for _ in range(rng.randint(8, 40)))
        text = "".join(rng.choice("abcdefXYZ0123456789-_.:!%ü\"\\") for _ in range(rng.randint(8, 30)))
        form = rng.choice(["dq", "sq", "hex", "b64", "0t"])
        if form == "dq" and '"' not in text:
            token, secret = f'"{text}"', text.encode()
        elif form == "sq" and "'" not in text:
            token, secret = f"'{text}'", text.encode()
        elif form == "hex":
            token, secret = "0x" + data.hex(), data
        elif form == "b64":
            token, secret = "0s" + base64.b64encode(data).decode(), data
        else:
            token, secret = "0t" + text, text.encode()
        redactor = Redactor()
        lead = rng.choice(["", "# old\n", "#"])
        file_text = f"{lead}@a{rounds} @b : {rng.choice(['PSK', 'XAUTH', 'psk', 'EAP'])} {token}\n"
        redactor.learn(file_text, "secrets")
        censored, _ = redactor.redact(file_text, "secrets")
        echoes = [secret.decode("latin-1"), json.dumps(secret.decode("latin-1")), secret.hex(), secret.hex().upper(),
                  " ".join(f"{b:02x}" for b in secret), base64.b64encode(secret).decode()]
        place = rng.choice(["x {} y", '{{"MESSAGE": "{}"}}', "| label  {}", "{}", "pluto[1]: {} end"])
        blob = "\n".join(place.format(e) for e in rng.sample(echoes, 3))
        scrubbed, _ = redactor.redact(blob, rng.choice(["generic", "log"]))
        members = {"secrets": censored.encode("utf-8", "surrogateescape"),
                   "echo": scrubbed.encode("utf-8", "surrogateescape")}
        assert leaked(members, [secret]) == [], (SEED, rounds, file_text, blob)
    assert rounds >= 20


def test_detector_sees_every_form():
    """Guard: the leak detector finds a secret in each encoding it claims to search."""
    secret = b"Abc-\xc3\xbc\"secret1"
    for form in forms(secret):
        assert leaked({"m": b"x " + form + b" y"}, [secret]), form
    assert leaked({"m": b"| PSK  41 62 63 2d  c3 bc 22 73\n| PSK  65 63 72 65  74 31\n"}, [secret])
