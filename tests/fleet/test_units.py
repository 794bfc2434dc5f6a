"""The fleet's pure parts: policy evaluation and tunnel pairing (plus their docstring samples)."""
from __future__ import annotations

import doctest

import pytest

from swandoc.fleet import hosts, pairing, policies
from swandoc.fleet.pairing import TunnelEnd, pair_ends
from swandoc.fleet.policies import MeshNode, PolicyLine, outcome, pair_conflicts


@pytest.mark.parametrize("module", [policies, pairing, hosts])
def test_docstring_samples(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


PRIVATE = {"right": "%opportunisticgroup", "failureshunt": "drop", "auto": "ondemand"}
OR_CLEAR = {"right": "%opportunisticgroup", "failureshunt": "passthrough", "auto": "ondemand"}
CLEAR = {"type": "passthrough", "right": "%group"}
BLOCK = {"type": "reject", "right": "%group"}


def line(group, prefix, n=1):
    return PolicyLine(group, prefix, f"/etc/ipsec.d/policies/{group}", n, prefix)


def test_most_specific_prefix_wins_whatever_the_file_order():
    node = MeshNode("a", ("10.0.0.1",), (line("clear", "10.0.0.0/8"), line("private", "10.1.0.0/16"),
                                          line("block", "10.1.2.3/32")),
                    {"clear": CLEAR, "private": PRIVATE, "block": BLOCK})
    assert node.decide("10.9.9.9").mode == "clear"
    assert node.decide("10.1.9.9").mode == "private"
    assert node.decide("10.1.2.3").mode == "block"
    assert node.decide("10.1.2.3").line.source.endswith("/block")


def test_group_file_without_its_conn_is_ignored_as_pluto_does():
    node = MeshNode("a", (), (line("private", "10.0.0.0/8"),), {"clear": CLEAR})
    assert node.decide("10.0.0.2").mode is None


def test_ipv6_prefixes_and_addresses():
    node = MeshNode("a", (), (line("private", "2001:db8::/32"),), {"private": PRIVATE})
    assert node.decide("2001:db8::5").mode == "private"
    assert node.decide("10.0.0.5").mode is None


def test_mode_comes_from_the_conn_not_the_name():
    # an admin's "private-or-clear" that drops on failure behaves as private
    node = MeshNode("a", (), (line("private-or-clear", "10.0.0.0/8"),),
                    {"private-or-clear": {**OR_CLEAR, "failureshunt": "drop"}})
    assert node.decide("10.0.0.2").mode == "private"


@pytest.mark.parametrize("a,b,expected", [
    ("private", "clear", "no-traffic"), ("private", None, "no-traffic"), ("block", "clear", "blocked"),
    ("private-or-clear", "clear", "clear-fallback"), ("private-or-clear", "clear-or-private", "encrypted"),
    ("private", "private-or-clear", "encrypted"), ("clear", None, "clear"),
    ("clear-or-private", "clear-or-private", "clear"),
])
def test_outcomes_are_symmetric(a, b, expected):
    assert outcome(a, b) == expected == outcome(b, a)


def test_pairs_outside_everyones_mesh_are_not_conflicts():
    a = MeshNode("a", ("10.0.0.1",), (line("private", "10.0.0.0/24"),), {"private": PRIVATE})
    b = MeshNode("b", ("192.0.2.1",), (), {"private": PRIVATE})
    # a has no group for b's address, b none for a's: neither meshes with the other
    assert pair_conflicts([a, b]) == []


def test_two_tunnels_between_the_same_gateways_pair_by_subnets_not_names():
    ends = [TunnelEnd("a", "one", ("192.0.2.1",), "192.0.2.2", "@a", "@b", ("10.1.0.0/24",), ("10.2.0.0/24",)),
            TunnelEnd("a", "two", ("192.0.2.1",), "192.0.2.2", "@a", "@b", ("10.1.1.0/24",), ("10.2.1.0/24",)),
            TunnelEnd("b", "x", ("192.0.2.2",), "192.0.2.1", "@b", "@a", ("10.2.1.0/24",), ("10.1.1.0/24",)),
            TunnelEnd("b", "y", ("192.0.2.2",), "192.0.2.1", "@b", "@a", ("10.2.0.0/24",), ("10.1.0.0/24",))]
    pairs = {(p.a.conn, p.b.conn) for p in pair_ends(ends)}
    assert pairs == {("one", "y"), ("two", "x")}


def test_responder_with_any_pairs_with_an_initiator_behind_nat():
    ends = [TunnelEnd("west", "w", ("10.99.0.1",), "198.51.100.2", "@west", "@east"),
            TunnelEnd("east", "e", ("198.51.100.2",), None, "@east", "@west"),
            TunnelEnd("other", "o", ("203.0.113.5",), None, "@other", "@nobody")]
    result = [(p.a.host, p.b.host if p.b else None) for p in pair_ends(ends)]
    assert result == [("west", "east"), ("other", None)]


def test_ends_on_one_host_never_pair():
    ends = [TunnelEnd("a", "x", ("192.0.2.1",), "192.0.2.1"), TunnelEnd("a", "y", ("192.0.2.1",), "192.0.2.1")]
    assert all(p.b is None for p in pair_ends(ends))


def test_ten_thousand_ends_pair_by_lookup_not_by_scoring_every_pair():
    ends = []
    for n in range(5000):
        a, b = f"10.{n // 250}.{n % 250}.1", f"10.{n // 250}.{n % 250}.2"
        ends += [TunnelEnd(f"h{n}a", "x", (a,), b, f"@a{n}", f"@b{n}"),
                 TunnelEnd(f"h{n}b", "y", (b,), a, f"@b{n}", f"@a{n}")]
    pairs = pair_ends(ends)
    assert len(pairs) == 5000
    assert all(p.b is not None and p.a.host[:-1] == p.b.host[:-1] for p in pairs)


def test_policies_are_read_per_file_with_their_origin(tmp_path):
    from swandoc.fleet.policies import parse_policy_files
    from swandoc.probes.policies import policies_dir_for, read_policies

    conf = tmp_path / "ipsec.conf"
    groups = tmp_path / "ipsec.d" / "policies"
    groups.mkdir(parents=True)
    (groups / "private").write_text("# all nodes\n10.15.0.0/16\n")
    (groups / "clear").write_text("10.15.1.2/32")  # no final newline
    (groups / "elsewhere").symlink_to("/etc/passwd")  # never followed
    assert policies_dir_for(str(conf)) == str(groups)
    item = read_policies(str(groups))
    assert item.available and b"root:" not in item.content
    lines, bad = parse_policy_files(item.text())
    assert [(p.group, p.prefix, p.line, p.source) for p in lines] == [
        ("clear", "10.15.1.2/32", 1, str(groups / "clear")), ("private", "10.15.0.0/16", 2, str(groups / "private"))]
    assert bad == []
    missing = read_policies(str(tmp_path / "none"))
    assert not missing.available and "does not exist" in missing.error
