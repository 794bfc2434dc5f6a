"""The live capture probe, run for real inside network namespaces this test creates.

Traffic is sent by scapy from the peer namespace over a veth pair; the probe runs inside
the other namespace under `ip netns exec` (as `swandoc diagnose` would there). Nothing
touches the host's interfaces.
"""
from __future__ import annotations

import json
import os
import pty
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ptyread import read_until_closed
from unprivileged import python_as_nobody

from swandoc.logparse.capture import decode_pcap_bytes

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable

# Runs inside namespace "a": capture, calling the sender in namespace "b" once listening.
CAPTURE = r'''
import json, subprocess, sys
from swandoc.probes.capture import capture
args = json.loads(sys.argv[1])
def started():
    if args["sender"]:
        subprocess.run(["ip", "netns", "exec", args["peer_ns"], sys.executable, "-c", args["sender"]], check=True,
                       timeout=60)
ev = capture(args["iface"], args["duration"], args["max_packets"], args["pcap"], True, on_started=started,
             esp=args.get("esp", True))
print(json.dumps({"error": ev.error, "meta": dict(ev.meta), "duration": ev.duration, "size": len(ev.content or b"")}))
'''

SEND = r'''
from scapy.layers.inet import IP, UDP
from scapy.layers.ipsec import ESP
from scapy.contrib.ikev2 import IKEv2
from scapy.sendrecv import send
ike = IKEv2(init_SPI=bytes.fromhex("0102030405060708"), exch_type=34, flags="Initiator")
send([IP(dst="192.0.2.1") / UDP(sport=500, dport=500) / ike] * 3, inter=0.05, verbose=0)
send([IP(dst="192.0.2.1") / UDP(sport=5353, dport=53) / b"not ipsec"] * 3, inter=0.05, verbose=0)
send([IP(dst="192.0.2.1") / ESP(spi=0x42, seq=n) / (b"e" * 32) for n in (1, 2)], inter=0.05, verbose=0)
'''

FLOOD = r'''
from scapy.layers.inet import IP, UDP
from scapy.sendrecv import send
send([IP(dst="192.0.2.1") / UDP(sport=4500, dport=4500) / b"\xff"] * 10, inter=0.02, verbose=0)
'''


def require_root() -> None:
    if os.geteuid() != 0:
        pytest.fail("the capture tests need root (network namespaces, raw sockets); run them as root", pytrace=False)
    if shutil.which("tshark") is None:
        pytest.fail("the capture tests need tshark (apt-get install tshark) to check the pcap opens", pytrace=False)


@pytest.fixture
def pair():
    """Two namespaces joined by a veth pair: a=192.0.2.1, b=192.0.2.2."""
    require_root()
    tag = f"{os.getpid()}-{secrets.token_hex(2)}"
    a, b = f"sdcap-{tag}-a", f"sdcap-{tag}-b"
    made = []
    try:
        for ns in (a, b):
            subprocess.run(["ip", "netns", "add", ns], check=True)
            made.append(ns)
        ip = lambda *args: subprocess.run(["ip", *args], check=True, capture_output=True)  # noqa: E731
        ip("-n", a, "link", "add", "veth0", "type", "veth", "peer", "name", "veth0", "netns", b)
        for ns, addr in ((a, "192.0.2.1/24"), (b, "192.0.2.2/24")):
            ip("-n", ns, "addr", "add", addr, "dev", "veth0")
            ip("-n", ns, "link", "set", "veth0", "up")
        yield a, b
    finally:
        for ns in made:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def run_capture(a: str, b: str, tmp_path: Path, *, sender: str = "", duration: float = 4, max_packets: int = 100,
                iface: str | None = "veth0", user: tuple[str, ...] = (), stderr=subprocess.PIPE, esp: bool = True):
    pcap = tmp_path / "live.pcap"
    args = {"iface": iface, "duration": duration, "max_packets": max_packets, "pcap": None if user else str(pcap),
            "sender": sender, "peer_ns": b, "esp": esp}
    python = list(user) if user else [PY]  # user: a whole argv prefix that ends in a python
    proc = subprocess.run(["ip", "netns", "exec", a, *python, "-c", CAPTURE, json.dumps(args)], cwd=ROOT,
                          stdout=subprocess.PIPE, stderr=stderr, text=True, timeout=90,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1]), pcap


def tshark_lines(pcap: Path) -> list[str]:
    proc = subprocess.run(["tshark", "-r", str(pcap)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return [line for line in proc.stdout.splitlines() if line.strip()]


def test_capture_keeps_ipsec_traffic_only_and_tshark_opens_it(pair, tmp_path):
    a, b = pair
    result, pcap = run_capture(a, b, tmp_path, sender=SEND, duration=4)
    assert result["error"] is None
    assert result["meta"]["interface"] == "veth0" and result["meta"]["stopped_by"] == "time limit"
    packets, summary = decode_pcap_bytes(pcap.read_bytes(), "ike_capture")
    kinds = [p.kind for p in packets]
    assert kinds.count("ike") == 3 and kinds.count("esp") == 2
    # a's kernel answers with ICMP: port unreachable about UDP 500 (kept) and about UDP 53
    # (filtered out in the kernel), protocol unreachable about ESP (kept)
    icmp = [p for p in packets if p.kind == "icmp"]
    assert {p.quoted_proto for p in icmp} <= {"udp", "esp"}
    assert all(p.quoted_dport in (500, None) for p in icmp) and any(p.quoted_dport == 500 for p in icmp)
    assert not any(53 in (p.sport, p.dport, p.quoted_dport) for p in packets)
    assert summary.unparsed == 0 and summary.lines == len(packets)
    lines = tshark_lines(pcap)
    assert len(lines) == len(packets)
    assert sum("IKE_SA_INIT" in line for line in lines) == 3


def test_capture_is_bounded_by_time_even_when_nothing_arrives(pair, tmp_path):
    a, b = pair
    result, pcap = run_capture(a, b, tmp_path, duration=1.5)
    assert result["error"] is None and result["meta"]["packets"] == "0"
    assert 1.4 <= result["duration"] < 5
    assert tshark_lines(pcap) == []  # an empty but valid pcap


def test_the_packet_bound_stops_keeping_ike_but_never_ends_the_capture(pair, tmp_path):
    """The capture runs for the time asked: a full IKE budget stops keeping packets, not the clock."""
    a, b = pair
    result, pcap = run_capture(a, b, tmp_path, sender=FLOOD, duration=3, max_packets=3)
    assert result["error"] is None
    assert result["meta"]["stopped_by"] == "time limit" and result["meta"]["packets"] == "3"
    assert 2.9 <= result["duration"] < 10
    # ten keepalives and a's kernel answering each "port unreachable" (nothing listens on 4500)
    assert int(result["meta"]["ike_packets"]) >= 10
    assert int(result["meta"]["ike_not_kept"]) == int(result["meta"]["ike_packets"]) - 3
    packets, _ = decode_pcap_bytes(pcap.read_bytes(), "x")
    assert len(packets) == 3 and packets[0].kind == "keepalive"
    assert {p.kind for p in packets} <= {"keepalive", "icmp"}
    assert len(tshark_lines(pcap)) == 3


# 300 ESP packets of one flow, 5 of another, and 3 IKE packets in the middle of them.
ESP_FLOOD = r'''
from scapy.layers.inet import IP, UDP
from scapy.layers.ipsec import ESP
from scapy.contrib.ikev2 import IKEv2
from scapy.sendrecv import send
big = [IP(dst="192.0.2.1") / ESP(spi=0x1001, seq=n) / (b"e" * 1200) for n in range(1, 301)]
ike = IKEv2(init_SPI=bytes.fromhex("0102030405060708"), exch_type=34, flags="Initiator")
send(big[:150] + [IP(dst="192.0.2.1") / UDP(sport=500, dport=500) / ike] * 3 + big[150:], verbose=0)
send([IP(dst="192.0.2.1") / UDP(sport=4500, dport=4500) / ESP(spi=0x2002, seq=n) / (b"u" * 100) for n in range(1, 6)],
     verbose=0)
'''


def test_esp_is_counted_per_flow_and_sampled_never_crowding_out_ike(pair, tmp_path):
    a, b = pair
    result, pcap = run_capture(a, b, tmp_path, sender=ESP_FLOOD, duration=4, max_packets=50)
    assert result["error"] is None
    meta = result["meta"]
    flows = {f["spi"]: f for f in json.loads(meta["esp_flows"])}
    assert flows["0x00001001"]["packets"] == 300 and flows["0x00001001"]["src"] == "192.0.2.2"
    assert flows["0x00001001"]["bytes"] == 300 * (20 + 8 + 1200)  # from the IP header, not the cut frame
    assert flows["0x00002002"]["packets"] == 5  # ESP in UDP 4500 is ESP, not IKE
    assert meta["esp_packets"] == "305" and meta["kernel_drops_ike"] == "0"
    packets, _ = decode_pcap_bytes(pcap.read_bytes(), "x")
    kinds = [p.kind for p in packets]
    assert kinds.count("ike") == 3  # all of them, although ESP came first and far more often
    from swandoc.probes.capture import ESP_SAMPLES_PER_FLOW
    assert kinds.count("esp") == 2 * ESP_SAMPLES_PER_FLOW - (ESP_SAMPLES_PER_FLOW - 5)
    assert len(tshark_lines(pcap)) == len(packets)


def test_without_cap_net_raw_the_probe_says_so(pair, tmp_path):
    a, b = pair
    result, _ = run_capture(a, b, tmp_path, duration=1, user=tuple(python_as_nobody()))
    assert result["error"] == "capture needs root (CAP_NET_RAW)"
    assert result["size"] == 0


def test_unknown_interface_is_evidence_not_a_crash(pair, tmp_path):
    a, b = pair
    result, _ = run_capture(a, b, tmp_path, duration=1, iface="nosuch0")
    assert result["error"] == "no interface named 'nosuch0' here"


def test_countdown_only_on_a_terminal(pair, tmp_path):
    a, b = pair
    master, slave = pty.openpty()
    args = {"iface": "veth0", "duration": 2, "max_packets": 10, "pcap": None, "sender": "", "peer_ns": b}
    proc = subprocess.Popen(["ip", "netns", "exec", a, PY, "-c", CAPTURE, json.dumps(args)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=slave, env={**os.environ, "PYTHONPATH": str(ROOT)})
    os.close(slave)
    seen = read_until_closed(master)
    os.close(master)
    proc.wait(timeout=30)
    assert b"s left" in seen and b"capturing IKE/ESP on veth0" in seen
    _, _ = run_capture(a, b, tmp_path, duration=1)  # stderr is a pipe here
    piped = subprocess.run(["ip", "netns", "exec", a, PY, "-c", CAPTURE, json.dumps(args | {"duration": 1})],
                           cwd=ROOT, capture_output=True, text=True, timeout=60,
                           env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert "s left" not in piped.stderr


def test_a_filter_that_cannot_be_built_is_an_error_not_an_unfiltered_capture(pair, tmp_path):
    """scapy 2.5 would log "Cannot set filter" and sniff everything; the probe must refuse instead."""
    a, b = pair
    script = ("import swandoc.probes.capture as c; c.IKE_FILTER = 'udp port (((';\n"
              + CAPTURE.replace("from swandoc.probes.capture import capture", "capture = c.capture"))
    args = {"iface": "veth0", "duration": 2, "max_packets": 100, "pcap": None, "sender": FLOOD, "peer_ns": b}
    proc = subprocess.run(["ip", "netns", "exec", a, PY, "-c", script, json.dumps(args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=90, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["error"].startswith("capture failed: cannot build the capture filter:")
    assert result["size"] == 0 and "Traceback" not in proc.stderr


# Runs inside namespace "a": the interface's flags and promiscuity while the capture is on.
WATCH_PROMISC = r'''
import json, subprocess, sys
from swandoc.probes.capture import capture
seen = {}
def started():
    with open("/sys/class/net/veth0/flags") as fh:
        seen["flags"] = int(fh.read(), 16)
    link = json.loads(subprocess.run(["ip", "-d", "-j", "link", "show", "veth0"], capture_output=True,
                                     text=True, check=True).stdout)[0]
    seen["promiscuity"] = link["promiscuity"]
ev = capture("veth0", 1, 10, None, False, on_started=started)
print(json.dumps({"error": ev.error, **seen}))
'''


def test_capture_leaves_the_interface_out_of_promiscuous_mode(pair):
    """scapy 2.5 sniffs promiscuously by default; a probe must not change the interface."""
    a, _ = pair
    proc = subprocess.run(["ip", "netns", "exec", a, PY, "-c", WATCH_PROMISC], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["error"] is None and "flags" in result, result
    assert result["flags"] & 0x100 == 0, f"IFF_PROMISC set during the capture: {result['flags']:#x}"
    assert result["promiscuity"] == 0


BIG = r'''
from scapy.layers.inet import IP, UDP
from scapy.contrib.ikev2 import IKEv2
from scapy.sendrecv import send
ike = IKEv2(init_SPI=bytes.fromhex("0102030405060708"), exch_type=34, flags="Initiator")
send(IP(dst="192.0.2.1") / UDP(sport=500, dport=500) / ike / (b"x" * 5000), verbose=0)
'''


def test_capture_keeps_at_most_snaplen_bytes_per_packet_and_stays_valid(pair, tmp_path):
    from swandoc.probes.capture import SNAPLEN
    from scapy.utils import RawPcapReader

    a, b = pair
    for ns in (a, b):  # jumbo frames, so the 5 KiB IKE message arrives as one packet
        subprocess.run(["ip", "-n", ns, "link", "set", "veth0", "mtu", "9000"], check=True)
    result, pcap = run_capture(a, b, tmp_path, sender=BIG, duration=2)
    assert result["error"] is None and result["meta"]["snaplen"] == str(SNAPLEN)
    assert result["meta"]["truncated_packets"] == "1"
    reader = RawPcapReader(str(pcap))
    records = list(reader)
    assert reader.snaplen == SNAPLEN
    big = [(data, info) for data, info in records if info.wirelen > SNAPLEN]
    assert len(big) == 1
    data, info = big[0]
    assert len(data) == info.caplen == SNAPLEN and info.wirelen == 14 + 20 + 8 + 28 + 5000
    lines = tshark_lines(pcap)
    assert any("IKE_SA_INIT" in line for line in lines), lines
    packets, summary = decode_pcap_bytes(pcap.read_bytes(), "ike_capture")
    assert [p.kind for p in packets].count("ike") == 1


# IKE between b and a (nothing answers it), ESP one way from b to a, and an ESP flood to a from an
# address that never spoke IKE (another tunnel's traffic on a busy gateway).
IKE_AND_ESP = r'''
from scapy.layers.inet import IP, UDP
from scapy.layers.ipsec import ESP
from scapy.contrib.ikev2 import IKEv2
from scapy.sendrecv import send
ike = IKEv2(init_SPI=bytes.fromhex("0102030405060708"), exch_type=34, flags="Initiator")
send([IP(dst="192.0.2.1") / UDP(sport=500, dport=500) / ike] * 2, verbose=0)
send([IP(src="192.0.2.2", dst="192.0.2.1") / ESP(spi=0x3003, seq=n) / (b"t" * 64) for n in range(1, 41)], verbose=0)
send([IP(src="192.0.2.9", dst="192.0.2.1") / ESP(spi=0x9009, seq=n) / (b"x" * 64) for n in range(1, 201)], verbose=0)
'''


def test_one_way_esp_between_ike_peers_is_found_with_its_real_count_and_unrelated_esp_is_not(pair, tmp_path):
    from swandoc.evidence import LIVE, Evidence, Origin
    from swandoc.facts import Facts
    from swandoc.logparse.capture import feed_capture
    from swandoc.rules import run_rules

    a, b = pair
    subprocess.run(["ip", "-n", b, "addr", "add", "192.0.2.9/24", "dev", "veth0"], check=True)
    result, pcap = run_capture(a, b, tmp_path, sender=IKE_AND_ESP, duration=4)
    assert result["error"] is None
    facts = Facts()
    feed_capture(Evidence("ike_capture", pcap.read_bytes(), "capture", meta=tuple(result["meta"].items()),
                          where=Origin(LIVE, "capture")), facts)
    one_way = [f for f in run_rules(facts) if f.id == "esp-one-way"]
    assert len(one_way) == 1, [f.id for f in run_rules(facts)]
    details = dict(one_way[0].details)
    assert details["from"] == "192.0.2.2" and details["packets"] == "40"  # counted, not the 8 samples
    assert "0x00009009" not in details["spis"]


def test_without_esp_the_kernel_keeps_esp_out_and_ike_is_all_there(pair, tmp_path):
    a, b = pair
    result, pcap = run_capture(a, b, tmp_path, sender=ESP_FLOOD, duration=4, esp=False)
    assert result["error"] is None
    assert result["meta"]["esp"] == "not captured" and result["meta"]["esp_packets"] == "0"
    packets, _ = decode_pcap_bytes(pcap.read_bytes(), "x")
    kinds = [p.kind for p in packets]
    assert kinds.count("ike") == 3 and kinds.count("esp") == 0
