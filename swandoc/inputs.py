"""The file provider: what the user points at on the command line, as Evidence.

Each input is recognised by its content, not its name: a pcap/pcapng capture, a support
bundle (tar in any compression, or its unpacked folder), or else a log (any compression,
``journalctl -o json``/``-o export``, pluto's logfile, syslog/journal text, whack output, in any
mix). Nothing is parsed here: a capture becomes an ``ike_capture`` item and a log a
``pluto_log`` item, both backed by the file so a big log is streamed, never read whole; a bundle
is handed to :mod:`swandoc.bundle.reader`. ``swandoc/parse.py`` turns the items into facts.

Anything that cannot be opened raises :class:`~swandoc.errors.InputError` (one line, exit 2).
"""
from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
from .errors import InputError
from .evidence import FILE, Evidence, Origin
from .logparse.feed import BZ2, DECOMPRESS_ERRORS, GZIP, SNIFF, XZ

_PCAP = (b"\xa1\xb2\xc3\xd4", b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\x3c\x4d", b"\x4d\x3c\xb2\xa1")
_PCAPNG = b"\x0a\x0d\x0d\x0a"


def evidence_for_path(path: str) -> list[Evidence]:
    """The Evidence one command-line input ('-' = stdin) holds."""
    origin = Origin(FILE, path)
    if path == "-":
        return [Evidence("pluto_log", None, "<stdin>", where=Origin(FILE, "<stdin>"), path="-")]
    if os.path.isdir(path):
        if os.path.exists(os.path.join(path, "manifest.json")):
            from .bundle.reader import bundle_evidence  # tarfile & co: only for a bundle
            return bundle_evidence(path)
        raise InputError(f"{path}: is a directory (give log files, pcaps or a swandoc bundle)")
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot open: {exc.strerror}") from None
    with fh:
        head = fh.read(SNIFF)
    if head.startswith(_PCAP) or head.startswith(_PCAPNG):
        return [Evidence("ike_capture", None, path, where=origin, path=path)]
    if _is_tar(head, path):
        from .bundle.reader import bundle_evidence
        return bundle_evidence(path)
    return [Evidence("pluto_log", None, path, where=origin, path=path)]


def _is_tar(head: bytes, path: str) -> bool:
    """A tar archive, plain or compressed ('ustar' at offset 257 once decompressed).

    bzip2 yields nothing before a whole block (up to ~900 kB) is in: that one is read from the file.
    """
    inner = head
    try:
        if head.startswith(XZ):
            inner = lzma.LZMADecompressor().decompress(head, 512)
        elif head.startswith(GZIP):
            inner = gzip.GzipFile(fileobj=io.BytesIO(head)).read(512)
        elif head.startswith(BZ2):
            with bz2.open(path, "rb") as fh:
                inner = fh.read(512)
    except (*DECOMPRESS_ERRORS, ValueError):  # damaged: not a tar; the log reader says what it is
        return False
    return inner[257:262] == b"ustar"
