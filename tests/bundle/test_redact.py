"""Redaction functions, one form at a time, on the made-up corpus in fixtures/secrets."""
from __future__ import annotations

from swandoc.bundle import redact
from swandoc.bundle.redact import Redactor
from swandoc.probes.secrets import collect_secrets

from bundle_helpers import SECRETS, leaks


def censored_corpus() -> str:
    return collect_secrets(str(SECRETS / "ipsec.secrets")).text()


def test_secrets_probe_returns_censored_text_with_structure():
    item = collect_secrets(str(SECRETS / "ipsec.secrets"))
    text = item.text()
    assert item.name == "ipsec_secrets" and item.available
    assert leaks({"ipsec.secrets": item.content}) == []
    # structure kept: IDs, kinds, PPK ids, length classes, includes
    assert "@west.example @east.example : PSK [PSK, quoted, 16-31 chars]" in text
    assert "192.0.2.1 192.0.2.2 : PSK [PSK, hex, 16-31 bytes]" in text
    assert "198.51.100.7 %any : PSK [PSK, base64, 16-31 bytes]" in text
    assert "@road : PSK [PSK, text, 16-31 chars]" in text
    assert "2001:db8::1 2001:db8::2 : PSK [PSK, quoted, 16-31 chars]" in text
    assert '@alice : XAUTH [XAUTH password, quoted, 16-31 chars]' in text
    assert ': PPKS "PPK_ID_1" [PPK, hex, 16-31 bytes]' in text
    assert ': PPKS "PPK_ID_3" [PPK, base64, 16-31 bytes]' in text
    assert "@branch.example @hq.example : PSK" in text  # from the included file
    assert ": RSA %prompt" in text and ': RSA "west"' in text
    assert "[RSA key block removed" in text and "Modulus" not in text
    assert "[unparsed secrets entry removed: no ':' before the secret]" in text
    counts = dict(item.redactions)
    assert counts["psk"] == 7 and counts["commented-secret"] == 1 and counts["ppk"] == 3 and counts["xauth"] == 1 and counts["eap"] == 1


def test_unquoted_hex_and_base64_psk_and_ppk_value_are_removed():
    # The forms Libreswan's _secretcensor passes through in clear.
    text, counts = redact.redact_secrets('a b : PSK 0xdeadbeefcafebabe\nc d : PSK 0sZm9vYmFyYmF6cXV4\n'
                                         '@x @y : PPKS "id-1" 0x00112233445566778899\n')
    assert "deadbeef" not in text and "Zm9vYmFy" not in text and "00112233" not in text
    assert '"id-1"' in text
    assert counts == {"psk": 2, "ppk": 1}


def test_length_class_never_reveals_more_than_a_bucket():
    assert redact.placeholder("PSK", '"abc"') == "[PSK, quoted, 1-7 chars]"
    assert redact.placeholder("PSK", '""') == "[PSK, quoted, empty chars]"
    assert redact.placeholder("PSK", "0x" + "ab" * 70) == "[PSK, hex, 64+ bytes]"


def test_redaction_is_idempotent():
    once = censored_corpus()
    twice, counts = Redactor().redact(once, "secrets")
    assert twice == once and counts == {}


def test_private_key_blocks_removed_even_unterminated():
    pem = (SECRETS / "private-key.pem").read_text() + (SECRETS / "encrypted-key.pem").read_text()
    text, counts = redact.redact_private_keys("before\n" + pem + "after\n")
    assert counts == {"private-key-block": 2}
    assert "before" in text and "after" in text
    encrypted = (SECRETS / "encrypted-key.pem").read_text()
    cut = encrypted[: len(encrypted) // 2]  # BEGIN without END
    text, counts = redact.redact_private_keys(cut)
    assert counts == {"private-key-block": 1} and leaks({"cut": text.encode()}) == []


def test_xfrm_state_keys_removed_algorithms_kept():
    raw = (SECRETS / "xfrm_state.txt").read_text()
    text, counts = redact.redact_xfrm_state(raw)
    assert counts == {"xfrm-key": 5}
    assert "auth-trunc hmac(sha256) [key removed, 32 bytes] 128" in text
    assert "enc cbc(aes) [key removed, 16 bytes]" in text
    assert "aead rfc4106(gcm(aes)) [key removed, 20 bytes] 128" in text
    assert "spi 0xc2f2a3b1" in text  # SPIs are not keys; diagnosis needs them
    assert leaks({"xfrm": text.encode()}) == []


def test_plutodebug_private_dumps_removed_from_real_410_log():
    raw = (SECRETS / "pluto-debug-private.log").read_text()
    assert "53 77 61 6e" in raw  # the fixture really holds the PSK dump (guards the test)
    text, counts = redact.redact_log(raw)
    assert "SwandocTestPSK" not in text and "53 77 61 6e" not in text
    assert counts["log-key-material"] >= 3
    assert "| PreShared Key" in text and "| Generated nonce:" in text  # labels kept
    # Lines that are not dumps are untouched
    assert "concluding with best_match" in text
    assert sum(1 for line in text.splitlines() if "[hex dump removed]" in line) >= 3


def test_config_secrets_removed_public_keys_kept():
    raw = (SECRETS / "ipsec.conf").read_text()
    text, counts = redact.redact_config(raw)
    assert "leftrsasigkey=0sAwEAAbV2jN4Y9PublicKeyIsNotSecretKeepMe" in text
    assert "ppk=insist" in text
    assert "SwandocConfXauthPass" not in text and "SwandocConfQuotedPass" not in text
    assert counts == {"config-secret": 2}


def test_nsspassword_contents_removed_token_kept():
    text, counts = redact.redact_nsspassword((SECRETS / "nsspassword").read_text())
    assert "NSS Certificate DB:[NSS password removed" in text
    assert "Swandoc" not in text and counts == {"nss-password": 2}


def test_generic_scrubber_catches_secrets_in_any_item():
    pem = (SECRETS / "private-key.pem").read_text()
    stray = f'some log line\n@a @b : PSK "SwandocQuotedPSK-1a2b3c4d"\n{pem}\tenc cbc(aes) 0x6a1b2c3d4e5f60718293a4b5c6d7e8f9\n'
    text, counts = Redactor().redact(stray, "generic")
    assert leaks({"stray": text.encode()}) == []
    assert counts["psk"] == 1 and counts["private-key-block"] == 1 and counts["xfrm-key"] == 1


def test_known_values_scrubbed_wherever_they_turn_up():
    redactor = Redactor()
    collect_secrets(str(SECRETS / "ipsec.secrets"), redactor)
    # echoed in prose, hex-encoded, base64-encoded: none of the structured rules would see these
    echo = ("user typed SwandocQuotedPSK-1a2b3c4d by mistake\n"
            "dump 5e1f0c2ab7d3994e61a8f4c03d27b6e5\n"
            "b64 " + "U3dhbmRvY0Jhc2U2NFBTSy1xOXc4ZTc=" + "\n"
            "ppk " + "SwandocQuotedPPK-4242".encode().hex() + "\n")
    text, counts = redactor.redact(echo, "generic")
    assert leaks({"echo": text.encode()}) == []
    assert counts["known-secret"] == 4


def test_plutodebug_dumps_removed_from_journal_json_lines_which_stay_json():
    import json
    raw_lines = (SECRETS / "pluto-debug-private.log").read_text().splitlines()
    # journalctl -o json wraps each message (no timestamp prefix) in a record
    records = [json.dumps({"MESSAGE": line.split(": ", 1)[1] if ": " in line else line, "SYSLOG_IDENTIFIER": "pluto"})
               for line in raw_lines]
    text, counts = redact.redact_log("\n".join(records) + "\n")
    assert counts["log-key-material"] >= 3
    assert leaks({"journal.json": text.encode()}) == []
    for line in text.splitlines():
        json.loads(line)


def test_nsspassword_holding_a_colon_is_removed_whole_and_learned_whole():
    raw = (SECRETS / "nsspassword-colon").read_text()
    text, counts = redact.redact_nsspassword(raw)
    assert text.startswith("NSS Certificate DB:[NSS password removed, 16-31 chars]")
    assert "Swan" not in text and counts == {"nss-password": 1}
    redactor = Redactor()
    redactor.learn_nsspassword(raw)
    secret = b"Swan:doc-NssColonPass-8080"
    echoed, counts = redactor.redact(f"user typed {secret.decode()} and {secret.hex()}\n", "generic")
    assert leaks({"echo": echoed.encode()}) == [] and "Swan:" not in echoed
    assert counts["known-secret"] == 2


def test_helper_thread_hex_dumps_removed_4x_and_5x_markers():
    raw = (SECRETS / "pluto-helper-thread-debug.log").read_text()
    assert leaks({"raw": raw.encode()})  # the fixture really holds the made-up secrets (guards the test)
    text, counts = redact.redact_log(raw)
    assert leaks({"log": text.encode()}) == []
    assert "Nov 26 21:42:20.564710: |]   [hex dump removed]" in text
    assert "Nov 26 21:42:21.101210: ]   [hex dump removed]" in text
    assert "] raw_key: [hex removed]" in text
    assert counts == {"log-key-material": 3}
    assert "|] PreShared Key (made-up test value)" in text and "] helper thread 2 done" in text


def test_secret_lines_of_every_type_scrubbed_including_pin():
    for kind in redact._TYPES:
        if kind in ("RSA", "ECDSA", "P12", "PKCS12", "BLISS"):  # a quoted word after them names a key
            continue
        line = f'echo @a @b : {kind} "SwandocScrubbed{kind}-4321"\n'
        text, counts = redact.scrub_secret_lines(line)
        assert f"SwandocScrubbed{kind}" not in text and sum(counts.values()) == 1, kind
    text, counts = redact.scrub_secret_lines('log: %smartcard : PIN "SwandocPin-1234"\n')
    assert "SwandocPin" not in text and counts == {"pin": 1}


def test_one_xfrm_key_stripper_for_probes_and_bundles():
    from swandoc.probes import hostinfo

    raw = (SECRETS / "xfrm_state.txt").read_text()
    text, removed = hostinfo.strip_xfrm_keys(raw)
    assert (text, {"xfrm-key": removed}) == redact.redact_xfrm_state(raw) and removed == 5
    # iproute2 prints a key it cannot show as hex in quotes; 'comp' carries a CPI, not a key
    quoted = "\tenc cbc(aes) \"SwandocQuotedXfrmKey\"\n\tcomp deflate 0x4a2b\n"
    text, removed = hostinfo.strip_xfrm_keys(quoted)
    assert removed == 1 and "SwandocQuotedXfrmKey" not in text and "comp deflate 0x4a2b" in text
