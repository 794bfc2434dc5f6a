"""ipsec.secrets read with pluto's grammar: each rule of the lexer, one test; IDs survive, values go."""
from __future__ import annotations

import pytest

from swandoc.bundle import known
from swandoc.bundle.redact import Redactor, redact_nm_connection, redact_secrets
from swandoc.bundle.secrets_grammar import ids_of, parse_secrets, secret_values


def values(text: str) -> list[str]:
    return [t.value for t in secret_values(text)]


def test_quotes_have_no_escapes_and_are_learnt_without_quotes():
    # pluto's lexer runs a quoted token to the next same quote: 'a\' is the value, b" is junk
    assert values("@a : PSK 'two words'\n") == ["two words"]
    assert values("@a : PSK `back quoted`\n") == ["back quoted"]
    assert values('@a : PSK "has # hash"\n') == ["has # hash"]
    text, _ = redact_secrets('@a : PSK "unterminated value\n')
    assert "unterminated" not in text and "@a : PSK" in text


def test_0t_runs_to_the_end_of_the_line_and_hash_inside_a_token_is_not_a_comment():
    assert values("@a : PSK 0tword and more # still text\n") == ["0tword and more # still text"]
    assert values("@a : PSK 0sAbC#dEf\n") == ["0sAbC#dEf"]


def test_comment_lines_inside_an_entry_and_continuations():
    text = "@a @b :\n# a comment between\n   # an indented comment\n\tPSK \"kept-apart-1\"\n"
    records, _ = parse_secrets(text)
    assert [t.value for t in records[0].ids] == ["@a", "@b"] and records[0].kind == "PSK"
    assert values(text) == ["kept-apart-1"]


def test_commented_out_entries_are_censored_prose_is_kept():
    text = ("# This file holds shared secrets or RSA private keys for authentication.\n"
            "#@old @gw: PSK \"old-secret-1\"\n#  @x : XAUTH bareoldpass\n# 0t text form (prose)\n")
    out, counts = redact_secrets(text)
    assert "old-secret-1" not in out and "bareoldpass" not in out
    assert "RSA private keys for authentication" in out and "0t text form" in out
    assert "#@old @gw: PSK" in out and counts["commented-secret"] == 2


def test_glued_colon_bom_smartcard_and_key_references():
    text = ("\ufeff# a BOM comment line\n@a @b:PSK \"glued-1\"\n: PIN %smartcard:45 \"1234\"\n"
            ": RSA \"nickname\"\n: RSA /etc/ipsec.d/private/k.pem \"passphrase-1\"\n: RSA %prompt\n")
    out, counts = redact_secrets(text)
    assert "a BOM comment line" in out and "glued-1" not in out and "1234" not in out
    assert "%smartcard:45" in out and '"nickname"' in out and "/etc/ipsec.d/private/k.pem" in out
    assert "passphrase-1" not in out and ": RSA %prompt" in out
    assert counts == {"psk": 1, "pin": 1, "rsa-private": 1}


def test_ppk_ids_are_kept_values_go():
    out, _ = redact_secrets('@a : PPKS "PPK_ID_1" "ppk-value-1"\n@a : PPKS \'id2\' 0x00112233445566778899\n')
    assert '"PPK_ID_1"' in out and "'id2'" in out and "ppk-value-1" not in out and "0011223344" not in out


def test_unparsed_entries_keep_their_ids_with_a_note():
    text = '@a 192.0.2.7 : FROB "x-secret-1"\n@b gw.example.pt garbage-secret-2\n: PSK "v": PSK "w"\n'
    out, counts = redact_secrets(text)
    assert "x-secret-1" not in out and "garbage-secret-2" not in out and '"v"' not in out
    assert "@a 192.0.2.7 :" in out and "@b gw.example.pt" in out
    assert out.count("[unparsed secrets entry removed") == 3 and counts["unparsed-secret-line"] == 3


def test_rsa_block_removed_whole_and_idempotent():
    text = "@me : RSA {\n\t#ckaid: 0x316e65\n\tModulus: 0x00aa\n\tPrivateExponent: 0s" + "A" * 40 + "\n\t}\n@x : PSK \"p-1\"\n"
    out, counts = redact_secrets(text)
    assert "AAAA" not in out and "[RSA key block removed" in out and counts["rsa-private"] == 1
    again, counts2 = redact_secrets(out)
    assert again == out and counts2 == {}


def test_ids_of_lists_every_id():
    assert ids_of('@a user@b.pt 192.0.2.1 "C=PT, O=X" @#0xab : PSK "v"\n') == \
        ["@a", "user@b.pt", "192.0.2.1", "C=PT, O=X", "@#0xab"]


@pytest.mark.parametrize("backend", ["ahocorasick", "regex"])
def test_learnt_values_found_in_every_encoding_and_never_cut_from_ids(monkeypatch, backend):
    if backend == "regex":
        monkeypatch.setattr(known, "ahocorasick", None)
    elif known.ahocorasick is None:
        pytest.fail("python3-ahocorasick is not installed (scripts/setup-debian installs it)", pytrace=False)
    redactor = Redactor()
    secrets = '@branch-office-gw @hq : PSK "office-gw"\n@u : XAUTH \'Pässwörd"1\'\n@v : XAUTH "C-style\\"esc"\n'
    redactor.learn(secrets, "secrets")
    censored, _ = redactor.redact(secrets, "secrets")
    assert "C-style" not in censored and "esc" not in censored  # pluto reads '"C-style\' then 'esc"': both go
    value = 'Pässwörd"1'.encode()
    import base64
    import json
    echo = "\n".join([json.dumps(f"x {value.decode()} y"), 'typed C-style"esc', value.hex().upper(), " ".join(f"{b:02x}" for b in value),
                      base64.b64encode(value).decode(), "peer @branch-office-gw said office-gw"])
    out, counts = redactor.redact(echo, "generic")
    assert "Pässwörd" not in out and "P\\u00e4ssw" not in out and value.hex() not in out.lower()
    assert base64.b64encode(value).decode() not in out
    assert "@branch-office-gw" in out and "said [known secret removed]" in out
    assert "C-style" not in out
    assert counts["known-secret"] == 6


def test_networkmanager_secrets_removed_flags_and_ids_kept():
    text = ("[vpn]\nservice-type=org.freedesktop.NetworkManager.libreswan\nleftid=@road\npskvalue=nm-psk-1\n"
            "pskvalue-flags=0\nxauthpassword=nm-x-1\npskinputmodes=save\n[vpn-secrets]\npskvalue=nm-psk-1\nother=v-2\n")
    out, counts = redact_nm_connection(text)
    assert "nm-psk-1" not in out and "nm-x-1" not in out and "v-2" not in out
    assert "pskvalue-flags=0" in out and "leftid=@road" in out and "pskinputmodes=save" in out
    assert counts == {"nm-secret": 4}


def test_prose_in_the_stock_file_is_not_taken_for_an_entry():
    # one line of Debian 12's stock /etc/ipsec.secrets (libreswan 4.10-2): ":RSA" glued, then prose
    line = "# information such as private key :RSA statements as these now reside\n"
    assert redact_secrets(line) == (line, {})
    assert values(line) == []


def test_xauth_passwords_in_plutos_debug_lines_and_on_command_lines():
    from swandoc.bundle.dumps import redact_log
    from swandoc.bundle.redact import redact_command_lines

    log = ("| XAUTH: found user(alice/alice) pass(pw one!) connid(c/c) addresspool(p)\n"
           "| XAUTH: xauth user(alice:c) pass pw2 vs $6$abc\n")
    out, counts = redact_log(log)
    assert "pw one" not in out and "pw2" not in out and "$6$abc" not in out and counts == {"log-xauth-password": 2}
    out, counts = redact_command_lines('{"_CMDLINE":"ipsec whack --xauthpass a,b}c --initiate"} --psk=\'x y\'')
    assert "a,b" not in out and "x y" not in out and counts == {"command-line-secret": 2}


def test_key_ids_on_debug_lines_are_ids_not_key_material():
    from swandoc.bundle.dumps import redact_log

    out, _ = redact_log("t: | CKAID 0a1b2c3d4e5f60718293a4b5c6d7e8f901234567 for @#0x0a1b2c3d4e5f6071\n"
                        "t: | raw_key: 0x0a1b2c3d4e5f60718293a4b5\n")
    assert "CKAID 0a1b2c3d4e5f60718293a4b5c6d7e8f901234567" in out and "@#0x0a1b2c3d4e5f6071" in out
    assert "raw_key: [hex removed]" in out
