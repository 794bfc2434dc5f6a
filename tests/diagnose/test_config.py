"""ipsec.conf reading and connection resolution."""
from __future__ import annotations

import pytest

from swandoc.errors import SwandocError
from swandoc.probes.config import Connection, load_config, parse_ipsec_conf, resolve_conn


@pytest.fixture
def etc(tmp_path):
    (tmp_path / "ipsec.d").mkdir()
    (tmp_path / "ipsec.conf").write_text(
        "# main file\n"
        "config setup\n"
        "\tlogfile=/var/log/pluto.log\n"
        "\tlisten-tcp=yes\n"
        "\tikev1-policy=drop\n"
        "\n"
        "conn %default\n"
        "\tike=aes256-sha2_256;modp2048\n"
        "\tesp=aes_gcm256\n"
        "\n"
        "include ipsec.d/*.conf\n")
    (tmp_path / "ipsec.d" / "a-common.conf").write_text(
        "conn common\n"
        "\tauthby=secret\n"
        "\tleftsubnet=10.0.1.0/24\n"
        "\tesp=aes256-sha2_512   # overridden below\n")
    (tmp_path / "ipsec.d" / "b-vpn.conf").write_text(
        "conn vpn\n"
        "\talso=common\n"
        "\tleft=192.0.2.1\n"
        "\tright=198.51.100.2\n"
        '\trightid="@peer with space"\n'
        "\trightsubnets={10.0.2.0/24 10.0.3.0/24}\n"
        "\tesp=aes_gcm128\n"
        "\tikev2=no\n"
        "\tencapsulation=yes\n"
        "\tenable-tcp=fallback\n"
        "\ttcp-remoteport=4500\n"
        "\tmtu=1400\n"
        "\tauto=start\n"
        "conn other\n"
        "\tleft=%defaultroute\n"
        "\tright=203.0.113.9\n")
    return tmp_path


def test_includes_also_default_and_quotes(etc):
    text = load_config(str(etc / "ipsec.conf"))
    assert "# swandoc: from " + str(etc / "ipsec.d" / "b-vpn.conf") in text
    cfg = parse_ipsec_conf(text)
    assert cfg.conn_names() == ["common", "vpn", "other"]
    conn = resolve_conn(cfg, "vpn")
    assert conn.left == "192.0.2.1" and conn.right == "198.51.100.2"
    assert conn.leftsubnets == ("10.0.1.0/24",) and conn.rightsubnets == ("10.0.2.0/24", "10.0.3.0/24")
    assert conn.rightid == "@peer with space"
    assert conn.esp == "aes_gcm128"  # own value beats also= and %default
    assert conn.ike == "aes256-sha2_256;modp2048"  # from %default
    assert conn.authby == "secret" and conn.ike_version == 1 and conn.encapsulation == "yes"
    assert conn.enable_tcp == "fallback" and conn.tcp_remoteport == 4500 and conn.listen_tcp and conn.uses_tcp
    assert conn.mtu == 1400 and conn.logfile == "/var/log/pluto.log" and conn.ikev1_policy == "drop"
    assert conn.is_subnet_tunnel


def test_local_side_from_addresses(etc):
    cfg = parse_ipsec_conf(load_config(str(etc / "ipsec.conf")))
    conn = resolve_conn(cfg, "vpn", frozenset({"198.51.100.2"}))
    assert conn.local_side == "right" and conn.remote_address() == "192.0.2.1"
    assert conn.local_subnets == ("10.0.2.0/24", "10.0.3.0/24")
    assert resolve_conn(cfg, "other").local_side == "left"


def test_connection_json_round_trip(etc):
    conn = resolve_conn(parse_ipsec_conf(load_config(str(etc / "ipsec.conf"))), "vpn")
    assert Connection.from_json(conn.to_json()) == conn


def test_unknown_conn_lists_the_names(etc):
    cfg = parse_ipsec_conf(load_config(str(etc / "ipsec.conf")))
    with pytest.raises(SwandocError) as err:
        resolve_conn(cfg, "nope")
    assert "common, vpn, other" in str(err.value)


def test_missing_config_is_a_usage_error(tmp_path):
    with pytest.raises(SwandocError, match="no such file"):
        load_config(str(tmp_path / "absent.conf"))


def test_include_loops_stop(tmp_path):
    (tmp_path / "loop.conf").write_text(f"include {tmp_path}/loop.conf\nconn x\n\tleft=1.2.3.4\n")
    cfg = parse_ipsec_conf(load_config(str(tmp_path / "loop.conf")))
    assert "x" in cfg.conn_names()


def test_a_glob_that_matches_its_own_file_includes_each_file_once(tmp_path):
    """ipsec.d/*.conf files that themselves say include ipsec.d/*.conf: N files, not N**10."""
    import time

    d = tmp_path / "ipsec.d"
    d.mkdir()
    for n in range(6):
        (d / f"c{n}.conf").write_text(f"include {d}/*.conf\nconn c{n}\n\tleft=192.0.2.{n + 1}\n")
    (tmp_path / "ipsec.conf").write_text("config setup\ninclude ipsec.d/*.conf\n")
    began = time.monotonic()
    text = load_config(str(tmp_path / "ipsec.conf"))
    assert time.monotonic() - began < 2
    for n in range(6):
        assert text.count(f"# swandoc: from {d}/c{n}.conf\n") == 1
        assert text.count(f"conn c{n}\n") == 1
    assert sorted(parse_ipsec_conf(text).conn_names()) == [f"c{n}" for n in range(6)]


def test_a_symlink_loop_is_one_line_not_a_traceback(tmp_path):
    (tmp_path / "a.conf").symlink_to(tmp_path / "b.conf")
    (tmp_path / "b.conf").symlink_to(tmp_path / "a.conf")
    with pytest.raises(SwandocError, match=r"^cannot read .*a\.conf: Too many levels of symbolic links$"):
        load_config(str(tmp_path / "a.conf"))


def test_an_include_pattern_that_pulls_in_too_much_stops(tmp_path):
    from swandoc.probes import config

    (tmp_path / "big.conf").write_text("# filler\n" * (config.MAX_CONFIG_BYTES // 9 + 1))
    (tmp_path / "ipsec.conf").write_text("include *.conf\n")
    with pytest.raises(SwandocError, match="over 16 MiB"):
        load_config(str(tmp_path / "ipsec.conf"))
