"""Seeded hostile inputs for ``swandoc analyze``, and a runner that judges what it does with them.

Shared by the fuzz test (``tests/analyze/test_fuzz.py``, small and bounded in time) and the big run
(``benchmarks/fuzz_analyze.py``: 1M log lines, hundreds of captures and bundles). Every input starts
from real material of this repository — the lab's pluto logs and captures, the public logs of
``fixtures/realworld``, the recorded journal exports, bundles made by the real bundle writer — and is
then mutated: what someone else's machine, a damaged disk or a hostile sender can hand us.

``fuzzrun.py`` runs ``swandoc analyze`` on each input and judges what it did.
"""
from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import os
import random
import shutil
import struct
import sys
import tarfile
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"


# --- seed material ------------------------------------------------------------------------------

def seed_lines() -> list[bytes]:
    """Every line of the real logs in fixtures/lab, fixtures/realworld and fixtures/journal."""
    lines: list[bytes] = []
    paths = sorted(FIXTURES.glob("lab/*/*.log")) + sorted(FIXTURES.glob("lab/*/*whack*.txt"))
    paths += sorted(FIXTURES.glob("realworld/*.log")) + sorted(FIXTURES.glob("versions/*.txt"))
    paths += [FIXTURES / "journal" / n for n in ("pluto.short", "pluto.short-iso", "whack.txt")]
    for path in paths:
        lines.extend(l for l in path.read_bytes().split(b"\n") if l.strip())
    return lines


def seed_journal_json() -> list[bytes]:
    return [l for l in (FIXTURES / "journal" / "pluto.json").read_bytes().split(b"\n") if l.strip()]


def seed_captures() -> list[bytes]:
    paths = sorted(FIXTURES.glob("pcap/*.pcap")) + sorted(FIXTURES.glob("pcap/*.pcapng"))
    paths += sorted(FIXTURES.glob("lab/*/*.pcap"))
    return [p.read_bytes() for p in paths]


# --- log lines ------------------------------------------------------------------------------------

_HUGE_SERIAL = b"#" + b"9" * 5000


def mutate_line(rng: random.Random, line: bytes, lines: list[bytes]) -> bytes:
    """One line, damaged in one of the ways real and hostile logs are."""
    pick = rng.randrange(16)
    if pick == 0 and b"#" in line:  # a '#N' serial thousands of digits long
        head, _, tail = line.partition(b"#")
        digits = len(tail) - len(tail.lstrip(b"0123456789"))
        return head + _HUGE_SERIAL + tail[digits:]
    if pick == 1:
        at = rng.randrange(len(line) + 1)
        return line[:at] + b"\x00" * rng.randint(1, 4) + line[at:]
    if pick == 2:  # a byte flipped
        if not line:
            return line
        at = rng.randrange(len(line))
        return line[:at] + bytes([rng.randrange(256)]) + line[at + 1:]
    if pick == 3:  # random bytes spliced in
        at = rng.randrange(len(line) + 1)
        return line[:at] + rng.randbytes(rng.randint(1, 40)) + line[at:]
    if pick == 4:  # cut short
        return line[: rng.randrange(len(line) + 1)]
    if pick == 5:  # another encoding
        text = line.decode("utf-8", "replace")
        return text.encode(rng.choice(["latin-1", "utf-16", "utf-16-le", "cp1252", "utf-32"]), "replace")
    if pick == 6:  # two lines glued, or one line's head on another's tail
        other = rng.choice(lines)
        return line[: rng.randrange(len(line) + 1)] + other[rng.randrange(len(other) + 1):]
    if pick == 7:  # a field repeated: long conn names, instance markers, quoted text
        at = rng.randrange(len(line) + 1)
        piece = rng.choice([b'"', b"[1]", b"#", b": ", b"ERROR: ", b"STATE_", b"\\", b"%", b"{", b"\r"])
        return line[:at] + piece * rng.choice([1, 3, 100, 3000]) + line[at:]
    if pick == 8:  # invalid UTF-8 / odd characters
        return line + rng.choice([b"\xff\xfe", b"\xc3", b"\xed\xa0\x80", "\u202e\u00fc\U0001f4a9".encode(), b"\x1b[31m"])
    if pick == 9:  # whack's numeric code in front, or a syslog envelope
        return rng.choice([b"010 ", b"002 ", b"1v2 ", b"Jun  2 20:35:40 vpn1 pluto[1683]: "]) + line
    return line


def huge_line(rng: random.Random) -> bytes:
    return rng.choice([b"A", b"| ", b'"conn', b"#1"]) * rng.choice([70_000, 200_000, 1_000_000])


def deep_json(depth: int) -> bytes:
    return b'{"MESSAGE":' + b"[" * depth + b"]" * depth + b',"SYSLOG_IDENTIFIER":"pluto"}'


def log_bytes(rng: random.Random, n_lines: int, lines: list[bytes], journal: list[bytes]) -> bytes:
    """A log of about *n_lines* lines in one of the formats swandoc reads, mutated, maybe compressed."""
    fmt = rng.choice(["logfile", "mixed", "mixed", "journal-json", "journal-export"])
    out: list[bytes] = []
    start = rng.randrange(len(lines))
    for i in range(n_lines):
        if fmt == "journal-json":
            line = journal[(start + i) % len(journal)]
        else:
            line = lines[(start + i) % len(lines)] if rng.random() < 0.7 else rng.choice(lines)
        roll = rng.random()
        if roll < 0.15:
            line = mutate_line(rng, line, lines)
        elif roll < 0.152:
            line = huge_line(rng)
        elif roll < 0.154 and fmt == "journal-json":
            line = deep_json(rng.choice([200, 1200, 100_000]))
        if fmt == "journal-export":
            out.append(b"__REALTIME_TIMESTAMP=" + str(rng.choice([0, 10**15, 10**40, -1])).encode()
                       + b"\nSYSLOG_IDENTIFIER=pluto\nMESSAGE=" + line.replace(b"\n", b" ") + b"\n")
            if rng.random() < 0.01:  # a binary field that claims any length
                out.append(b"MESSAGE\n" + struct.pack("<Q", rng.choice([0, 5, 1 << 40])) + b"xx\n")
        else:
            out.append(line)
    data = b"\n".join(out) + (b"\n" if rng.random() < 0.8 else b"")
    return compress(rng, data)


def compress(rng: random.Random, data: bytes) -> bytes:
    """Maybe compressed (gzip, xz, bzip2), maybe then damaged: truncated or bytes flipped."""
    how = rng.choice([None, None, "gz", "xz", "bz2"])
    if how is None:
        return data
    packed = {"gz": lambda d: gzip.compress(d, 1), "xz": lambda d: lzma.compress(d, preset=0),
              "bz2": lambda d: bz2.compress(d, 1)}[how](data)
    damage = rng.choice([None, "flip", "cut"])
    if damage == "cut":
        return packed[: rng.randrange(2, len(packed) + 1)]
    if damage == "flip":
        buf = bytearray(packed)
        for _ in range(rng.randint(1, 8)):
            at = rng.randrange(min(len(buf), 10), len(buf))
            buf[at] = rng.randrange(256)
        return bytes(buf)
    return packed


# --- captures -------------------------------------------------------------------------------------

_PCAP_MAGICS = {b"\xa1\xb2\xc3\xd4": ">", b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\x3c\x4d": ">", b"\x4d\x3c\xb2\xa1": "<"}


def _records(data: bytes) -> tuple[str, list[tuple[int, int]]]:
    """('pcap'|'pcapng', [(offset, length)]) of the records/blocks of a capture."""
    if data[:4] in _PCAP_MAGICS:
        order, pos, out = _PCAP_MAGICS[data[:4]], 24, []
        while pos + 16 <= len(data):
            caplen = struct.unpack(order + "I", data[pos + 8:pos + 12])[0]
            out.append((pos, 16 + caplen))
            pos += 16 + caplen
        return "pcap:" + order, out
    order = "<" if data[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
    pos, out = 0, []
    while pos + 12 <= len(data):
        length = struct.unpack(order + "I", data[pos + 4:pos + 8])[0]
        if length < 12:
            break
        out.append((pos, length))
        pos += length
    return "pcapng:" + order, out


def mutate_capture(rng: random.Random, data: bytes) -> bytes:
    kind, records = _records(data)
    order = kind.split(":")[1]
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        pick = rng.randrange(9)
        if pick == 0 and records:  # a record that claims a huge length
            off, _ = rng.choice(records)
            at = off + 8 if kind.startswith("pcap:") else off + 4
            buf[at:at + 4] = struct.pack(order + "I", rng.choice([0xFFFFFFFF, 0x7FFFFFFF, 1 << 24, 0, 13]))
        elif pick == 1 and records:  # timestamps out of any calendar's range
            off, length = rng.choice(records)
            if kind.startswith("pcapng:"):
                if struct.unpack(order + "I", bytes(buf[off:off + 4]))[0] == 6 and length >= 28:
                    buf[off + 12:off + 20] = struct.pack(order + "II", rng.choice([0xFFFFFFFF, 0x80000000]),
                                                         rng.randrange(1 << 32))
            else:
                buf[off:off + 8] = struct.pack(order + "II", rng.choice([0xFFFFFFFF, 0x7FFFFFFF]),
                                               rng.choice([0, 0xFFFFFFFF, 999_999_999]))
        elif pick == 2:  # truncated anywhere
            del buf[rng.randrange(len(buf) + 1):]
        elif pick == 3 and len(buf) > 24:  # bytes flipped in the packets
            for _ in range(rng.randint(1, 30)):
                at = rng.randrange(24, len(buf))
                buf[at] = rng.randrange(256)
        elif pick == 4 and len(buf) >= 24 and kind.startswith("pcap:"):  # header: snaplen, link type
            buf[16:24] = struct.pack(order + "II", rng.choice([0, 0xFFFFFFFF, 65535]),
                                     rng.choice([0, 1, 101, 113, 276, 0xFFFF, rng.randrange(1 << 32)]))
        elif pick == 5 and records:  # a record repeated many times
            off, length = rng.choice(records)
            buf.extend(bytes(buf[off:off + length]) * rng.choice([10, 1000]))
        elif pick == 6 and records:  # a record removed
            off, length = rng.choice(records)
            del buf[off:off + length]
        elif pick == 7:  # garbage appended
            buf.extend(rng.randbytes(rng.randint(1, 300)))
        elif pick == 8 and kind.startswith("pcapng:") and len(buf) > 40:  # block type changed
            off, _ = rng.choice(records)
            buf[off:off + 4] = struct.pack(order + "I", rng.choice([1, 2, 3, 5, 6, 0x0A0D0D0A, 0xFFFFFFFF]))
        kind, records = _records(bytes(buf)) if len(buf) >= 24 else (kind, [])
    return bytes(buf)


def _ipv4(src: bytes, dst: bytes, proto: int, payload: bytes) -> bytes:
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0, 64, proto, 0, src, dst) + payload


def _udp(sport: int, dport: int, body: bytes) -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(body), 0) + body


def _ike_header(rng: random.Random, msgid: int, response: bool) -> bytes:
    spi = rng.randbytes(8)
    return spi + bytes(8) + struct.pack("!BBBBII", 33, 0x20, 34, 0x20 if response else 0x08, msgid, 28)


def many_packets_capture(rng: random.Random, count: int) -> bytes:
    """*count* tiny packets: IKE requests to a few peers, answers, and ICMP errors quoting them
    (the shape that made pairing compare every ICMP error with every exchange)."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101)]  # raw IPv4
    me = bytes([192, 0, 2, 1])
    for i in range(count):
        peer = bytes([198, 51, 100, rng.randrange(1, 5)])
        kind = rng.random()
        if kind < 0.5:
            pkt = _ipv4(me, peer, 17, _udp(500, 500, _ike_header(rng, i % 7, False)))
        elif kind < 0.6:
            pkt = _ipv4(peer, me, 17, _udp(500, 500, _ike_header(rng, i % 7, True)))
        else:
            quoted = _ipv4(me, peer, 17, _udp(500, 500, _ike_header(rng, i % 7, False)))[:56]
            pkt = _ipv4(peer, me, 1, struct.pack("!BBHI", 3, 3, 0, 0) + quoted)
        out.append(struct.pack("<IIII", 1_700_000_000 + i // 1000, i % 1000, len(pkt), len(pkt)) + pkt)
    return b"".join(out)


def capture_bytes(rng: random.Random, captures: list[bytes]) -> bytes:
    base = rng.choice(captures)
    return mutate_capture(rng, base) if rng.random() < 0.9 else base


# --- bundles --------------------------------------------------------------------------------------

def base_bundle(workdir: Path) -> tuple[dict, dict[str, bytes]]:
    """A bundle written by the real bundle writer from a lab run: (manifest, members by path)."""
    sys.path.insert(0, str(ROOT))
    from swandoc.bundle.archive import write_bundle
    from swandoc.bundle.redact import Redactor
    from swandoc.evidence import Evidence

    lab = FIXTURES / "lab" / "healthy"
    probes = FIXTURES / "probes"
    items = [Evidence("pluto_log", (lab / "west.log").read_bytes(), "/var/log/pluto.log"),
             Evidence("ipsec_conf", (lab / "west.conf").read_bytes(), "/etc/ipsec.conf"),
             Evidence("ike_capture", (lab / "west.pcap").read_bytes(), "tcpdump"),
             Evidence("whack_status", (probes / "whack_status.txt").read_bytes(), "ipsec whack --status"),
             Evidence("nft_ruleset", (probes / "nft_masq_exempt.json").read_bytes(), "nft -j list ruleset"),
             Evidence("iptables_save", (probes / "iptables_save_drop_masq.txt").read_bytes(), "iptables-save"),
             Evidence("xfrm_stat", (probes / "xfrm_stat.txt").read_bytes(), "/proc/net/xfrm_stat"),
             Evidence("sysctls", (probes / "sysctls.txt").read_bytes(), "sysctl")]
    out = workdir / "base.tar.xz"
    write_bundle(items, str(out), redactor=Redactor(), host="west", libreswan_version="Libreswan 4.10",
                 options={"conn": "lab"})
    with tarfile.open(out) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    manifest = json.loads(members["swandoc-bundle/manifest.json"])
    return manifest, members


def _tar(members: list[tuple[tarfile.TarInfo, bytes | None]], how: str) -> bytes:
    raw = io.BytesIO()
    mode = {"xz": "w:xz", "gz": "w:gz", "bz2": "w:bz2", "": "w"}[how]
    with tarfile.open(fileobj=raw, mode=mode, format=tarfile.GNU_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return raw.getvalue()


def _file(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _special(name: str, kind: bytes, target: str = "") -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info, None


def _raw_header(name: bytes, size: int, kind: bytes) -> bytes:
    """A tar header block claiming *size* bytes (for the headers tarfile will not write)."""
    head = bytearray(512)
    head[0:len(name)] = name[:100]
    head[100:108] = b"0000644\x00"
    head[108:116] = head[116:124] = b"0000000\x00"
    head[124:136] = (b"\x80" + size.to_bytes(11, "big")) if size >= 8 ** 11 else b"%011o\x00" % size
    head[136:148] = b"00000000000\x00"
    head[156:157] = kind
    head[257:265] = b"ustar  \x00"
    head[148:156] = b" " * 8
    head[148:156] = b"%06o\x00 " % sum(head)
    return bytes(head)


def bundle_bytes(rng: random.Random, manifest: dict, members: dict[str, bytes], lines: list[bytes],
                 journal: list[bytes], captures: list[bytes], *, big: bool = False) -> tuple[str, bytes]:
    """A hostile variant of a real bundle (some kinds only with *big*: they cost real megabytes)."""
    manifest = json.loads(json.dumps(manifest))
    files = dict(members)
    top = "swandoc-bundle/"
    extra: list[tuple[tarfile.TarInfo, bytes | None]] = []
    prefix = b""
    kinds = ["deep", "wide", "dups", "longname", "special", "paths", "content", "types", "corrupt",
             "claims", "tardup", "claimlong"] + (["huge_member", "huge_manifest"] if big else [])
    kind = rng.choice(kinds)
    items = manifest["items"]
    if kind == "deep":  # nested far beyond any real manifest: in the items, a meta value, or the top
        depth = rng.choice([30, 500, 900, 1200, 50_000, 400_000])
        nest = "[" * depth + "]" * depth
        where = rng.randrange(4)
        marker = "@@nest@@"  # placed in the structure, then swapped for the nesting in the text
        if where == 0:
            manifest["items"].insert(0, marker)
        elif where == 1:
            manifest["items"][0]["meta"] = dict(manifest["items"][0].get("meta") or {}, x=marker)
        elif where == 2:
            manifest["missing"] = [{"name": "x", "origin": marker}]
        else:
            manifest["deep"] = marker
        text = json.dumps(manifest).replace(json.dumps(marker), nest)
        files[top + "manifest.json"] = text.encode()
        manifest = None
    elif kind == "wide":  # one member listed over and over
        manifest["items"] = [dict(items[0]) for _ in range(rng.choice([2_000, 8_000, 200_000 if big else 20_000]))]
    elif kind == "dups":
        for it in rng.sample(items, k=min(3, len(items))):
            manifest["items"].extend(dict(it, name=f"{it['name']}") for _ in range(rng.choice([2, 50, 1500])))
    elif kind == "longname":  # real GNU long names (tarfile writes them) for members and manifest paths
        name = "logs/" + "x" * rng.choice([200, 5_000, 100_000]) + ".log"
        files[top + name] = rng.choice(lines)
        manifest["items"].append(dict(items[0], name="pluto_log", path=name))
    elif kind == "special":  # links, devices, FIFOs where members should be
        victim = top + rng.choice(items)["path"]
        files.pop(victim, None)
        extra.append(rng.choice([_special(victim, tarfile.SYMTYPE, "/etc/passwd"),
                                 _special(victim, tarfile.LNKTYPE, "/etc/passwd"),
                                 _special(victim, tarfile.CHRTYPE), _special(victim, tarfile.BLKTYPE),
                                 _special(victim, tarfile.FIFOTYPE), _special(victim, tarfile.DIRTYPE)]))
    elif kind == "paths":  # absolute and '..' paths, in the manifest and as member names
        bad = rng.choice(["/etc/passwd", "../../../../etc/passwd", "logs/../../x", "./logs/pluto.log", "", ".",
                          "logs/", "\x00", "logs/pluto.log\x00.txt"])
        manifest["items"].append(dict(items[0], path=bad))
        extra.append(_file(rng.choice(["/tmp/swandoc-fuzz-abs", "../swandoc-fuzz-up", top + "../up"]), b"x"))
    elif kind == "content":  # members whose content is hostile
        for it in items:
            path = top + it["path"]
            if it["name"] == "pluto_log":
                files[path] = log_bytes(rng, rng.choice([10, 300, 3000]), lines, journal)
            elif it["name"] == "ike_capture":
                files[path] = capture_bytes(rng, captures)
            elif rng.random() < 0.5:
                files[path] = rng.choice([deep_json(5000), rng.randbytes(300), b"", b"\xff" * 100,
                                          mutate_line(rng, files.get(path, b"x"), lines)])
    elif kind == "types":  # fields of the wrong type
        field_name = rng.choice(["name", "path", "status", "duration", "redactions", "meta", "origin", "error"])
        target = rng.choice(manifest["items"])
        target[field_name] = rng.choice([None, 1, -1, 10**400, 1.5e308, True, [], {}, "x" * 10_000, {"a": [1]}])
        if rng.random() < 0.3:
            manifest[rng.choice(["host", "created", "options", "missing", "libreswan_version"])] = rng.choice(
                [1, [], {"conn": [1]}, None, "y" * 100_000, [{"name": 1}], [{"name": "a", "origin": [[]]}]])
    elif kind == "claims":  # a member header that claims far more data than there is
        name = top + rng.choice(items)["path"]
        files.pop(name, None)
        prefix = _raw_header(name.encode(), rng.choice([1 << 31, 1 << 40, 600 << 20]), b"0")
    elif kind == "claimlong":  # a GNU long name / pax header that claims gigabytes
        prefix = _raw_header(b"././@LongLink", rng.choice([800 << 20, 1 << 34]), rng.choice([b"L", b"K", b"x", b"g"]))
    elif kind == "tardup":  # the same member stored many times in the archive
        name = top + rng.choice(items)["path"]
        extra.extend(_file(name, files[name]) for _ in range(rng.choice([10, 3000])) if name in files)
    elif kind == "huge_member":  # a member larger than any log should be
        name = top + next(it["path"] for it in items if it["name"] == "pluto_log")
        files[name] = b"Nov 26 21:30:22.000000: | debug\n" * ((rng.choice([60, 80, 300]) << 20) // 32)
    elif kind == "huge_manifest":
        manifest["host"] = "h" * (rng.choice([20, 200]) << 20)
    if manifest is not None:
        files[top + "manifest.json"] = json.dumps(manifest).encode()
    entries = [_file(name, data) for name, data in files.items()] + extra
    how = "gz" if kind in ("huge_member", "huge_manifest") else rng.choice(["xz", "xz", "gz", "bz2", ""])
    if kind == "corrupt":
        how = rng.choice(["xz", "gz", "bz2"])
    data = _tar(entries, how) if not prefix else prefix + _tar(entries, "")[: rng.choice([0, 512, 10_000])]
    if prefix and rng.random() < 0.5:
        data = gzip.compress(data, 1)
    if kind == "corrupt":
        buf = bytearray(data)
        if rng.random() < 0.5:
            del buf[rng.randrange(10, len(buf)):]
        else:
            for _ in range(rng.randint(1, 10)):
                at = rng.randrange(10, len(buf))
                buf[at] = rng.randrange(256)
        data = bytes(buf)
    return kind, data


def folder_bundle(rng: random.Random, root: Path, manifest: dict, members: dict[str, bytes]) -> Path:
    """The bundle unpacked into a folder, one member swapped for a link, FIFO or device."""
    folder = root
    for name, data in members.items():
        path = folder / name.split("/", 1)[1]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    victim = folder / rng.choice(manifest["items"])["path"]
    victim.unlink()
    pick = rng.randrange(4)
    if pick == 0:
        victim.symlink_to("/etc/hostname")
    elif pick == 1:
        os.mkfifo(victim)
    elif pick == 2:
        try:
            os.mknod(victim, 0o600 | 0o020000, os.makedev(1, 5))  # /dev/zero
        except PermissionError:
            victim.symlink_to("/dev/zero")
    else:
        victim.symlink_to("../../../../../../../../etc/passwd")
    return folder


def cases(rng: random.Random, out: Path, *, logs: int, lines_per_log: int, captures: int, bundles: int,
          folders: int, many_packets: int, big: bool = False) -> Iterator[tuple[str, Path]]:
    """Write the inputs, one at a time, each in its own folder under *out*; yield (case name, path)."""
    lines, journal, pcaps = seed_lines(), seed_journal_json(), seed_captures()
    out.mkdir(parents=True, exist_ok=True)

    def place(name: str, data: bytes) -> Path:
        (out / name).mkdir()
        path = out / name / "input"
        path.write_bytes(data)
        return path

    for i in range(logs):
        yield f"log-{i}", place(f"log-{i}", log_bytes(rng, lines_per_log, lines, journal))
    if big:  # lines just under the length limit that never recur: what a message says must not be remembered
        for name, stamp in (("log-long-unique-lines", b"Nov 26 21:41:54.694169: "),
                            ("log-long-unique-syslog-lines", b"Nov 26 21:41:54 gw pluto[7]: ")):
            head = b"".join(stamp + b'"c" #1: sent IKE_SA_INIT request to 192.0.2.2:500\n' for _ in range(200))
            yield name, place(name, head + b"".join(stamp + b'"c" #1: failed %d ' % i + b"x" * 60_000 + b"\n"
                                                    for i in range(6_000)))
    for i in range(captures):
        yield f"capture-{i}", place(f"capture-{i}", capture_bytes(rng, pcaps))
    if many_packets:
        name = f"capture-{many_packets}-tiny-packets"
        yield name, place(name, many_packets_capture(rng, many_packets))
    if bundles or folders:
        (out / "base").mkdir()
        manifest, members = base_bundle(out / "base")
        cleanup(out / "base")
    for i in range(bundles):
        kind, data = bundle_bytes(rng, manifest, members, lines, journal, pcaps, big=big)
        yield f"bundle-{i}-{kind}", place(f"bundle-{i}", data)
    for i in range(folders):
        (out / f"folder-{i}").mkdir()
        yield f"folder-{i}", folder_bundle(rng, out / f"folder-{i}" / "bundle", manifest, members)


def cleanup(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink()
        except OSError:
            pass
