"""--obfuscate by construction: every address notation, any TLD, every ID type, learnt names, one map."""
from __future__ import annotations

import ipaddress
import re

from swandoc.bundle.obfuscate import Obfuscator


def obfuscated(text: str, **learn) -> tuple[str, Obfuscator]:
    ob = Obfuscator(hostnames=())
    for name, item in learn.items():
        ob.learn(item, name)
    ob.learn(text)
    return ob.text(text), ob


def test_every_ipv6_notation_of_one_address_gets_one_stand_in():
    text = ("a 2001:db8::1 b 2001:0DB8:0000:0000:0000:0000:0000:0001 c [2001:db8::1]:4500 "
            "d 2001:db8::1:500 e 2001:db8::1/128 f ::ffff:192.0.2.7 g 192.0.2.7")
    out, _ = obfuscated(text)
    words = out.split()
    v6 = words[1]
    assert words[3] == v6 and words[5] == f"[{v6}]:4500" and words[7] == f"{v6}:500" and words[9] == f"{v6}/128"
    assert words[11] == "::ffff:" + words[13]
    assert "2001:db8" not in out.lower() and "192.0.2.7" not in out


def test_status_line_left_right_and_ranges():
    text = '"c": 10.1.0.0/16===192.0.2.1[@west]...198.51.100.2[@east]===10.2.0.0/16; pool 10.9.0.10-10.9.0.20'
    out, _ = obfuscated(text)
    assert not re.search(r"192\.0\.2\.1\b|198\.51\.100\.2|@west|@east|10\.1\.0\.0|10\.9\.0\.1", out)
    left = ipaddress.ip_network(out.split("===")[0].split()[-1])
    assert left.prefixlen == 16 and left.subnet_of(ipaddress.ip_network("10.0.0.0/8"))


def test_host_names_of_any_tld_and_label_count_and_in_file_names():
    text = ("right=vpn.acme.pt also gw.example.ie x.y.z.ro a.b.museum srv.xn--p1ai "
            "# --- swandoc: file /etc/ipsec.d/branch.office.ro.conf ---\n"
            "keep ipsec.conf cert9.db net.ipv4.conf.all.rp_filter pluto.ctl Libreswan 4.10 el9.x86_64")
    out, _ = obfuscated(text)
    for name in ("acme.pt", "example.ie", "y.z.ro", "b.museum", "xn--p1ai", "branch.office.ro"):
        assert name not in out, name
    assert re.search(r"/etc/ipsec\.d/host-\d+\.example\.conf", out)
    for kept in ("ipsec.conf", "cert9.db", "net.ipv4.conf.all.rp_filter", "pluto.ctl", "Libreswan 4.10", "el9.x86_64"):
        assert kept in out, kept


def test_every_id_type_and_xauth_user_and_nicknames_and_dn_parts():
    conf = ("conn a\n\tleftid=@vpn-gw\n\trightid=\"C=PT, ST=Porto, O=Acme Lda, OU=Net, CN=vpn.acme.pt, E=ops@acme.pt\"\n"
            "\tleftcert=Acme Gateway\n\tleftxauthusername=jdoe\n\trightid=@#0x0a1b2c3d4e5f\n\tright=hub7\n")
    certs = "Certificate Nickname    Trust Attributes\n\nAcme Gateway                   u,u,u\nAcme Root CA 2             CT,,\n"
    log = ("pluto[1]: \"a\" #1: XAUTH: User jdoe: Authentication Successful ID_FQDN '@vpn-gw' "
           "ID_USER_FQDN 'alice@corp.acme.pt' ID_DER_ASN1_DN 'CN=vpn.acme.pt, O=Acme Lda' @#0x0a1b2c3d4e5f hub7\n"
           "Nov 30 10:00:00 edge-fw7 pluto[2]: End certificate \"Acme Root CA 2\"\n")
    hosts = "192.0.2.9 intranet-box other.acme.pt\n"
    out, ob = obfuscated(conf + certs + log + hosts, nss_certs=certs, hosts_file=hosts)
    for name in ("vpn-gw", "Acme Lda", "Porto", "Net,", "acme.pt", "ops@", "Acme Gateway", "jdoe", "0a1b2c3d4e5f",
                 "alice", "Acme Root CA 2", "hub7", "edge-fw7", "intranet-box"):
        assert name not in out, name
    # consistent: the same value, the same stand-in everywhere
    assert out.count(ob.map["Acme Gateway"]) == 2 and out.count(ob.map["jdoe"]) == 2
    assert "ID_FQDN '@" in out and "XAUTH: User " in out  # pluto's wording still reads


def test_map_is_consistent_across_members_and_never_in_the_text():
    ob = Obfuscator(hostnames=())
    a, b = ob.text("peer vpn.acme.pt 203.0.113.5"), ob.text("again 203.0.113.5 and VPN.acme.pt")
    assert a.split()[1] == b.split()[3] and a.split()[2] == b.split()[1]
    assert all(real not in a + b for real in ob.map)
