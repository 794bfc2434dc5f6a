"""What a bundle collects beyond diagnose's items, and the syslog fallback that keeps only pluto's lines."""
from __future__ import annotations

from swandoc.evidence import REGISTRY
from swandoc.probes import collect as probes_collect
from swandoc.probes.run import failed


def test_without_a_journal_only_plutos_lines_of_a_shared_syslog_file_are_taken(tmp_path, monkeypatch):
    secure = tmp_path / "secure"
    secure.write_text("Nov 30 10:00:00 gw sshd[12]: Accepted password for root from 192.0.2.50\n"
                      "Nov 30 10:00:01 gw pluto[34]: \"c\" #1: initiating IKEv2 connection\n"
                      "Nov 30 10:00:02 gw sudo[56]: admin : TTY=pts/0 ; COMMAND=/bin/cat /etc/ipsec.secrets\n"
                      "Nov 30 10:00:03 gw ipsec[78]: Starting pluto IKE daemon\n")
    import swandoc.probes.journal as journal

    monkeypatch.setattr(journal, "read_journal", lambda since=None: failed("pluto_log", "journal", "no journal"))
    monkeypatch.setattr(probes_collect, "LOG_FILES", (str(secure),))
    item = probes_collect._pluto_log(probes_collect.CollectOptions(), None)
    text = item.text()
    assert "pluto[34]" in text and "ipsec[78]" in text
    assert "sshd" not in text and "sudo" not in text
    assert dict(item.meta)["filtered"].startswith("pluto's lines only (2 kept)")


def test_support_items_are_registered_with_their_policies():
    assert REGISTRY["nm_connections"].redaction == "nm_connection"
    assert REGISTRY["xfrm_state_stats"].redaction == "xfrm_state"
    for name in ("nss_keys", "ipsec_policies", "kernel_version", "os_release", "ipsec_service_status", "hosts_file"):
        assert name in REGISTRY, name


def test_ip_s_xfrm_state_keys_removed_counters_kept(monkeypatch):
    from swandoc.evidence import Evidence

    out = ("src 192.0.2.1 dst 192.0.2.2\n\tproto esp spi 0xc0ffee01 reqid 1 mode tunnel\n"
           "\tenc cbc(aes) 0x00112233445566778899aabbccddeeff\n\tlifetime current:\n"
           "\t  1024(bytes), 8(packets)\n")
    monkeypatch.setattr(probes_collect, "run_command",
                        lambda name, argv, timeout=0: Evidence(name, out.encode(), " ".join(argv), status=0))
    item = probes_collect._xfrm_state(1.0, "xfrm_state_stats", ["ip", "-s", "xfrm", "state"])
    assert item.name == "xfrm_state_stats" and "00112233" not in item.text()
    assert "1024(bytes), 8(packets)" in item.text() and dict(item.redactions) == {"xfrm-key": 1}
