#!/usr/bin/env python3
"""Capture under load: does swandoc keep every IKE packet while a flood of ESP arrives?

Runs in the lab (needs root and Libreswan): two real pluto daemons in network namespaces. While
east sends ESP to west at --rate packets a second for --duration seconds, west's pluto brings the
connection up --exchanges times (one of them with east's answers held back, so west retransmits).
Three captures run at once on west's interface:

- the reference: tcpdump with a filter for IKE only (what was really on the wire);
- swandoc's capture probe (``swandoc.probes.capture.capture``), as ``diagnose --pcap`` runs it;
- the baseline: the capture swandoc used before (one scapy AsyncSniffer for IKE and ESP with a
  shared packet bound of 10,000), measured in the same run.

It prints, for swandoc and the baseline, the IKE packets kept against the reference's, how long
each capture really ran, the ESP counted, and what the kernel dropped.

    .venv/bin/python benchmarks/bench_capture.py                 # 20,000 ESP/s for 10 s
    .venv/bin/python benchmarks/bench_capture.py --rate 50000 --duration 5

A benchmark, not a test: the figures depend on the machine. All traffic stays inside the lab's
namespaces.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from swandoc.lab import runner, topology  # noqa: E402
from swandoc.lab.plan import from_scenario  # noqa: E402
from swandoc.lab.scenarios import get  # noqa: E402

IKE_ONLY = "udp port 500 or (udp port 4500 and (udp[4:2] <= 9 or udp[8:4] = 0)) or tcp port 4500"

SWANDOC = r'''
import json, resource, sys
from swandoc.probes.capture import capture
iface, seconds, pcap = sys.argv[1], float(sys.argv[2]), sys.argv[3]
ev = capture(iface, seconds, 10_000, pcap, False)
print(json.dumps({"error": ev.error, "meta": dict(ev.meta), "duration": ev.duration,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
'''

# The capture as it was before IKE and ESP got separate budgets (kept here only to measure against).
BASELINE = r'''
import json, resource, sys, time
from scapy.sendrecv import AsyncSniffer
from scapy.utils import wrpcap
from swandoc.probes.capture import CAPTURE_FILTER
iface, seconds, pcap = sys.argv[1], float(sys.argv[2]), sys.argv[3]
start = time.monotonic()
sniffer = AsyncSniffer(iface=iface, filter=CAPTURE_FILTER, count=10_000, store=True, promisc=False)
sniffer.start()
while sniffer.running and time.monotonic() - start < seconds:
    time.sleep(0.05)
ran = time.monotonic() - start
if sniffer.running:
    sniffer.stop()
sniffer.join(5)
wrpcap(pcap, list(sniffer.results or []))
print(json.dumps({"error": None, "meta": {"packets": str(len(sniffer.results or []))}, "duration": ran,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
'''

FLOOD = r'''
import socket, sys, time, struct
dst, rate, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, 50)
payloads = [struct.pack("!II", spi, 1) + b"\0" * 1000 for spi in (0xe5b00001, 0xe5b00002, 0xe5b00003, 0xe5b00004)]
sent, start, batch = 0, time.monotonic(), 50
while True:
    elapsed = time.monotonic() - start
    if elapsed >= seconds:
        break
    due = int(elapsed * rate) - sent
    if due <= 0:
        time.sleep(batch / rate / 2)
        continue
    for _ in range(min(due, batch)):
        try:
            sock.sendto(payloads[sent % 4], (dst, 0))
        except OSError:
            pass
        sent += 1
print(sent)
'''


def ike_payloads(pcap: Path, start: float, end: float) -> list[bytes]:
    """UDP payloads of the IKE packets (not ESP in UDP) in *pcap* between *start* and *end*."""
    from scapy.layers.inet import UDP
    from scapy.utils import PcapReader

    found = []
    if not pcap.exists() or pcap.stat().st_size <= 24:
        return found
    with PcapReader(str(pcap)) as reader:
        for packet in reader:
            if not start <= float(packet.time) <= end or UDP not in packet:
                continue
            udp = packet[UDP]
            data = bytes(udp.payload)
            if 500 in (udp.sport, udp.dport) or (4500 in (udp.sport, udp.dport)
                                                 and (len(data) <= 1 or data[:4] == b"\0\0\0\0")):
                found.append(data)
    return found


def run(rate: int, seconds: float, exchanges: int) -> dict:
    plan = from_scenario(get("healthy"))
    out = Path(tempfile.mkdtemp(prefix="swandoc-bench-capture-"))
    with runner.LabRun(plan, out) as lab:
        lab.build()
        lab.negotiate()  # both daemons up, the connection tried once
        west, east, iface = lab.topo.west_ns, lab.topo.east_ns, lab.topo.west_if
        # No ESP transform in this kernel: drop the flood quietly instead of answering it with ICMP.
        topology.netns_exec(west, "iptables", "-I", "INPUT", "-p", "esp", "-j", "DROP")
        ref_pcap, ours_pcap, base_pcap = out / "tcpdump-ike.pcap", out / "swandoc.pcap", out / "baseline.pcap"
        tcpdump = subprocess.Popen(["ip", "netns", "exec", west, "tcpdump", "-i", iface, "-n", "-U", "-Z", "root",
                                    "-s", "2048", "-w", str(ref_pcap), IKE_ONLY],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        started = time.time()
        ours = subprocess.Popen(["ip", "netns", "exec", west, sys.executable, "-c", SWANDOC, iface, str(seconds),
                                 str(ours_pcap)], stdout=subprocess.PIPE, text=True, env=env)
        # The baseline's scapy warnings ("Unable to guess type", "unknown LL type") are its own, and part of
        # what it did wrong; swandoc's stderr stays on the terminal, where any warning would show.
        base = subprocess.Popen(["ip", "netns", "exec", west, sys.executable, "-c", BASELINE, iface, str(seconds),
                                 str(base_pcap)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                env=env)
        time.sleep(1.0)  # both sockets open
        flood = subprocess.Popen(["ip", "netns", "exec", east, sys.executable, "-c", FLOOD,
                                  lab.topo.west_seen_by_east, str(rate), str(seconds)],
                                 stdout=subprocess.PIPE, text=True)
        conn = plan.conn_name
        gap = max(0.5, (seconds - 2.5) / exchanges)
        for n in range(exchanges):
            lab.west.whack("--name", conn, "--down")
            if n == exchanges // 2:  # east answers nothing for a while: west retransmits
                topology.netns_exec(east, "iptables", "-I", "OUTPUT", "-p", "udp", "--sport", "500", "-j", "DROP")
            subprocess.run(["ip", "netns", "exec", west, "ipsec", "whack", "--ctlsocket", str(lab.west.ctlsocket),
                            "--name", conn, "--initiate", "--asynchronous"], capture_output=True, timeout=30)
            time.sleep(gap)
            if n == exchanges // 2:
                topology.netns_exec(east, "iptables", "-D", "OUTPUT", "-p", "udp", "--sport", "500", "-j", "DROP")
        sent = int(flood.communicate(timeout=seconds + 60)[0].strip() or 0)
        ours_result = json.loads(ours.communicate(timeout=seconds + 60)[0].strip().splitlines()[-1])
        base_result = json.loads(base.communicate(timeout=seconds + 60)[0].strip().splitlines()[-1])
        ended = started + seconds
        time.sleep(0.5)
        subprocess.run(["ip", "netns", "exec", west, "pkill", "-INT", "-f", str(ref_pcap)], capture_output=True)
        tcpdump_stats = tcpdump.communicate(timeout=10)[1]
        # Compare within the window both captures surely covered.
        window = (started + 0.8, ended - 0.2)
        reference = ike_payloads(ref_pcap, *window)
        results = {}
        for name, result, pcap in (("swandoc", ours_result, ours_pcap), ("baseline", base_result, base_pcap)):
            kept = ike_payloads(pcap, *window)
            missing = list(reference)
            for data in kept:
                if data in missing:
                    missing.remove(data)
            results[name] = {"kept": len(reference) - len(missing), "lost": len(missing), **result}
        return {"reference_ike": len(reference), "esp_sent": sent, "rate": rate, "seconds": seconds,
                "tcpdump": " / ".join(line for line in tcpdump_stats.splitlines() if "packets" in line),
                **results}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=20_000, help="ESP packets a second (default 20000)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of capture (default 10)")
    parser.add_argument("--exchanges", type=int, default=5, help="IKE exchanges during the capture (default 5)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench_capture: needs root (network namespaces, raw sockets)", file=sys.stderr)
        return 2
    r = run(args.rate, args.duration, args.exchanges)
    ours, base = r["swandoc"], r["baseline"]
    flows = json.loads(ours["meta"].get("esp_flows", "[]"))
    print(f"ESP flood: {r['esp_sent']} packets sent in {r['seconds']:.0f} s ({r['esp_sent'] / r['seconds']:.0f}/s); "
          f"IKE packets tcpdump saw in the window: {r['reference_ike']}  [tcpdump: {r['tcpdump']}]")
    print(f"{'capture':<10} {'IKE kept':>9} {'IKE lost':>9} {'ran (s)':>8} {'packets in pcap':>16} {'max RSS MB':>11}")
    for name, x in (("swandoc", ours), ("baseline", base)):
        print(f"{name:<10} {x['kept']:>9} {x['lost']:>9} {x['duration']:>8.2f} {x['meta'].get('packets', '?'):>16} "
              f"{x['rss_mb']:>11.0f}")
    print(f"swandoc ESP: {ours['meta'].get('esp_packets')} counted in {len(flows)} flows "
          f"({', '.join(f['spi'] + ': ' + str(f['packets']) for f in flows[:6])}); kernel drops: IKE "
          f"{ours['meta'].get('kernel_drops_ike')}, ESP {ours['meta'].get('kernel_drops_esp')}")
    return 0 if ours["lost"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
