"""hostcheck.judge is pure: host facts recorded elsewhere (FIPS hosts, broken kernels) judged here."""
from __future__ import annotations

from swandoc.check.hostcheck import HostFacts, judge
from swandoc.probes.hostinfo import parse_pluto_process

RUNNING = parse_pluto_process("pid=42 netns=same /usr/libexec/ipsec/pluto --nofork")


def _ids(facts: HostFacts) -> list[str]:
    return [f.id for f in judge(facts, [])]


def test_a_ready_host_gets_nothing():
    assert _ids(HostFacts(xfrm=True, pluto=RUNNING, nss_dir="/var/lib/ipsec/nss", nss_files=("cert9.db", "key4.db"),
                          sysctls={"net.core.xfrm_larval_drop": "1", "net.ipv4.conf.all.send_redirects": "0"})) == []


def test_no_xfrm():
    assert "xfrm-unavailable" in _ids(HostFacts(xfrm=False, pluto=RUNNING))


def test_fips_kernel_on_pluto_off():
    # §4.8: fips-mode-setup done and the kernel in FIPS mode, but pluto started before (or without) it
    facts = HostFacts(xfrm=True, pluto=RUNNING, fips_kernel=True, fips_policy=True, fips_pluto=False)
    found = [f for f in judge(facts, []) if f.id == "fips-inconsistent"]
    assert found and {e.text for e in found[0].evidence} == {
        "kernel (/proc/sys/crypto/fips_enabled): on", "crypto policy (/etc/crypto-policies/config): on",
        "pluto (ipsec whack --fipsstatus): off"}
    assert "fips-inconsistent" not in _ids(HostFacts(xfrm=True, pluto=RUNNING, fips_kernel=True, fips_pluto=True))


def test_fips_mode_needs_the_fips_token_in_nsspassword():
    # §4.9: in FIPS mode the token is "NSS FIPS 140-2 Certificate DB"
    facts = HostFacts(xfrm=True, pluto=RUNNING, fips_kernel=True, fips_pluto=True, nss_dir="/var/lib/ipsec/nss",
                      nss_files=("cert9.db",), nss_password_file="/etc/ipsec.d/nsspassword",
                      nss_password_lines=((1, "NSS Certificate DB"),))
    found = [f for f in judge(facts, []) if f.id == "nss-password-problem"]
    assert found and "FIPS" in found[0].explanation
    assert all("[password removed]" in e.text for e in found[0].evidence if e.line)
