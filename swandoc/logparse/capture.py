"""Capture files: pcap/pcapng read with scapy, each packet through :mod:`swandoc.logparse.decode`.

A capture is someone else's file: it is read as a stream, at most :data:`MAX_DECODED` decoded
packets are kept, a damaged or truncated file is an :class:`~swandoc.errors.InputError` (one
line) or a note, and a packet that cannot be decoded is counted as unparsed, never dropped.
"""
from __future__ import annotations

import json
import logging
import struct
from typing import Any

from ..errors import InputError
from ..evidence import Evidence
from ..facts import Facts
from ..model import SourceSummary
from .decode import _layers, decode_all
from .packet import IKE_PORT, NATT_PORT, IkePacket

# --- reading captures -------------------------------------------------------------------------


class _ReaderWatch(logging.Handler):
    """Scapy only logs warnings about a damaged capture (a record cut short, an unknown link
    type); collect them instead of letting them reach the terminal."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())

    def saw(self, text: str) -> bool:
        return any(text in m for m in self.messages)


def read_packets(path: str, name: str, host: str | None = None) -> tuple[list[IkePacket], SourceSummary]:
    """Decode a pcap or pcapng file; raise InputError (one line) when it cannot be read."""
    _layers()
    from scapy.error import Scapy_Exception
    from scapy.utils import PcapReader

    summary = SourceSummary(name=name, kind="pcap", host=host)
    decoded: list[IkePacket] = []
    ignored = number = dropped = 0
    watch = _ReaderWatch()
    runtime_log = logging.getLogger("scapy.runtime")
    runtime_log.addHandler(watch)
    propagate, runtime_log.propagate = runtime_log.propagate, False
    try:
        with PcapReader(_ClampedFile(path)) as reader:
            for pkt in reader:
                number += 1
                found = _safe_decode(pkt, number, name, host)
                if found is None:
                    summary.unparsed += 1
                elif not found:
                    ignored += 1
                elif len(decoded) < MAX_DECODED:
                    decoded.extend(found)
                else:
                    dropped += len(found)
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except (Scapy_Exception, EOFError, struct.error, ValueError, OSError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{name}: not a readable pcap/pcapng capture ({reason})") from None
    finally:
        runtime_log.removeHandler(watch)
        runtime_log.propagate = propagate
    if watch.saw("unknown LL type"):
        raise InputError(f"{name}: not a readable pcap/pcapng capture (unknown link-layer type; damaged header?)")
    layout = _record_layout(path)
    if layout is not None:
        complete, truncated = layout
    else:  # not a layout we walk: rely on scapy's warning (2.6+ logs one for a record cut short)
        truncated = watch.saw("truncated")
        complete = number - 1 if truncated else number
    if truncated and complete <= 0:
        raise InputError(f"{name}: not a readable pcap/pcapng capture (truncated: no complete packet)")
    summary.lines = number
    summary.packets = len(decoded)
    if decoded:
        summary.first_time = _iso(decoded[0].time)
        summary.last_time = _iso(decoded[-1].time)
    if ignored:
        summary.notes.append(f"{ignored} packets were not IKE, ESP or ICMP errors about them (ignored)")
    if truncated:
        summary.notes.append("the capture ends in a truncated packet (was the capture cut short?)")
    if dropped:
        summary.notes.append(f"only the first {MAX_DECODED} IKE/ESP/ICMP packets were kept; {dropped} later ones "
                             "were counted, not analysed (memory stays bounded)")
    return decoded, summary


MAX_DECODED = 50_000  # decoded packets kept from one capture: far beyond any IKE negotiation
MAX_READ = 4 * 1024 * 1024  # one record or block: far beyond any snap length (256 KiB)


class _ClampedFile:
    """The capture file as scapy reads it, with every read bounded by what is left of the file and
    by :data:`MAX_READ`: scapy reads a record by the length its header claims, and a damaged header
    claiming 4 GiB would make it allocate that much before finding the file shorter."""

    def __init__(self, path: str) -> None:
        import os

        self._fh = open(path, "rb")
        self._size = os.fstat(self._fh.fileno()).st_size
        self.name = path

    def read(self, n: int = -1) -> bytes:
        left = max(0, self._size - self._fh.tell())
        return self._fh.read(left if n is None or n < 0 else min(n, left, MAX_READ))

    def tell(self) -> int:
        return self._fh.tell()

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._fh.seek(offset, whence)

    def close(self) -> None:
        self._fh.close()

PCAP_MAGICS = {  # classic pcap, microsecond and nanosecond variants: byte order of the headers
    b"\xa1\xb2\xc3\xd4": ">", b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\x3c\x4d": ">", b"\x4d\x3c\xb2\xa1": "<"}
PCAP_HEADER_LEN, PCAP_RECORD_HEADER_LEN = 24, 16
PCAPNG_SHB = b"\x0a\x0d\x0d\x0a"
PCAPNG_BYTE_ORDER = {b"\x1a\x2b\x3c\x4d": ">", b"\x4d\x3c\x2b\x1a": "<"}
PCAPNG_PACKET_BLOCKS = frozenset({2, 3, 6})  # obsolete Packet, Simple Packet, Enhanced Packet


def _record_layout(path: str) -> tuple[int, bool] | None:
    """(complete packet records, whether the file ends inside a record) of a pcap/pcapng file.

    Why by hand: scapy 2.5's PcapReader hands back a record cut short (a capture killed
    mid-write, or a bare file header plus half a record header) as an ordinary packet without
    a word, where 2.6+ logs "truncated". Only the record headers are read (16 bytes per pcap
    record, 8 per pcapng block; the data is skipped with seek), so this stays cheap on big
    captures. None when the file is neither layout (scapy has already said what it thinks).
    """
    import os

    size = os.path.getsize(path)
    complete = 0
    with open(path, "rb") as fh:
        head = fh.read(12)
        if head[:4] in PCAP_MAGICS:
            if len(head) < 12 or size < PCAP_HEADER_LEN:
                return 0, True
            order, pos = PCAP_MAGICS[head[:4]], PCAP_HEADER_LEN
            while pos < size:
                fh.seek(pos)
                hdr = fh.read(PCAP_RECORD_HEADER_LEN)
                if len(hdr) < PCAP_RECORD_HEADER_LEN:
                    return complete, True
                pos += PCAP_RECORD_HEADER_LEN + struct.unpack(order + "I", hdr[8:12])[0]
                if pos > size:
                    return complete, True
                complete += 1
            return complete, False
        if head[:4] == PCAPNG_SHB and head[8:12] in PCAPNG_BYTE_ORDER:
            order, pos = PCAPNG_BYTE_ORDER[head[8:12]], 0
            while pos < size:
                fh.seek(pos)
                hdr = fh.read(8)
                if len(hdr) < 8:
                    return complete, True
                kind, length = struct.unpack(order + "II", hdr)
                if hdr[:4] == PCAPNG_SHB:  # a new section may switch byte order
                    order = PCAPNG_BYTE_ORDER.get(fh.read(4), order)
                    length = struct.unpack(order + "I", hdr[4:8])[0]
                if length < 12:  # damaged block header: scapy judges the rest
                    return None
                pos += length
                if pos > size:
                    return complete, True
                complete += kind in PCAPNG_PACKET_BLOCKS
            return complete, False
    return None


def _safe_decode(pkt: Any, number: int, name: str, host: str | None) -> list[IkePacket] | None:
    """Decoded messages ([] if not ours); None when a packet on an IKE port could not be decoded."""
    try:
        found = decode_all(pkt, number=number, source=name, host=host)
    except Exception:  # a hostile or mangled packet must not end the analysis
        return None
    if not found and _looks_like_ike(pkt):
        return None
    return found


def _looks_like_ike(pkt: Any) -> bool:
    L = _layers()
    for cls in (L["UDP"], L["TCP"]):
        layer = pkt.getlayer(cls)
        if layer is not None and {IKE_PORT, NATT_PORT} & {layer.sport, layer.dport}:
            return True
    return False


def _iso(ts: float) -> str | None:
    """A packet's time in ISO form; None when a damaged header puts it outside any calendar.

    >>> _iso(0.0), _iso(1e300)
    ('1970-01-01T00:00:00.000+00:00', None)
    """
    import datetime as _dt

    try:
        return _dt.datetime.fromtimestamp(ts, _dt.timezone.utc).isoformat(timespec="milliseconds")
    except (OverflowError, ValueError, OSError):
        return None


def decode_pcap_bytes(data: bytes, name: str, host: str | None = None) -> tuple[list[IkePacket], SourceSummary]:
    """Decode a capture held in memory (the ``ike_capture`` evidence of a probe or bundle)."""
    import os
    import tempfile

    fd, tmp = tempfile.mkstemp(suffix=".pcap")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return read_packets(tmp, name, host)
    finally:
        os.unlink(tmp)


def feed_capture(item: Evidence, facts: Facts, host: str | None = None) -> None:
    """Add an ``ike_capture`` item (a file, a probe's or a bundle's capture) to facts, if it holds one."""
    if not item.available:
        return
    if item.content is None:
        decoded, summary = read_packets(item.path, item.label, host)
    elif item.content:
        decoded, summary = decode_pcap_bytes(item.content, item.label, host)
    else:
        return
    facts.add_packets(decoded, summary)
    facts.add_esp_counts(esp_counts(item))


def esp_counts(item: Evidence) -> list[tuple[str, str, int, int]]:
    """The per-flow ESP counts a live capture recorded in its meta (``esp_flows``), if any.

    >>> from swandoc.evidence import Evidence
    >>> item = Evidence("ike_capture", b"", "capture", meta=(("esp_flows",
    ...     '[{"src": "192.0.2.2", "dst": "192.0.2.1", "spi": "0x00001001", "packets": 300}]'),))
    >>> esp_counts(item)
    [('192.0.2.2', '192.0.2.1', 4097, 300)]
    """
    raw = dict(item.meta).get("esp_flows")
    if not raw:
        return []
    try:
        flows = json.loads(raw)
    except (ValueError, RecursionError):
        return []
    out = []
    for f in flows if isinstance(flows, list) else []:
        try:
            if isinstance(f, dict) and f.get("spi", "*") != "*":
                out.append((str(f["src"]), str(f["dst"]), int(str(f["spi"])[:10], 16), int(f["packets"])))
        except (KeyError, ValueError, TypeError):
            continue
    return out[:4096]
