"""Is a downloaded media file whole? (issue 11 §10: truncated media are never a success.)

A body sent without ``Content-Length`` (connection-delimited, or chunked and ended early by
a broken proxy) that is cut short looks like a finished download to HTTP. Before the rename
the file's own structure is checked:

* MP4 / MOV (``ftyp``/``styp``/``moov``/… first): the top-level boxes must tile the file
  exactly (``size`` fields, 64-bit ``largesize`` and "to end of file" ``0`` understood), and a
  file that starts with ``ftyp`` must hold a ``moov`` (or fragmented ``moof``) box;
* JPEG: ends with the EOI marker ``FF D9`` (trailing NUL/whitespace padding tolerated);
* PNG: ends with the ``IEND`` chunk;
* GIF: ends with the trailer byte ``3B``;
* RIFF (WebP, WAV): the RIFF size covers the file exactly (one pad byte tolerated).

Other formats cannot be checked this way; for them (and for every format) a
``Content-Length`` sent with an unencoded body is compared by the downloader.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

__all__ = ["media_problem", "sniff_kind"]

_MP4_FIRST = frozenset({b"ftyp", b"styp", b"moov", b"mdat", b"free", b"skip", b"wide",
                        b"pnot", b"uuid"})
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"


def sniff_kind(head: bytes) -> str | None:
    """The container of a file from its first 16 bytes: ``"mp4"``, ``"jpeg"``, ``"png"``,
    ``"gif"``, ``"riff"`` or ``None`` (unknown)."""
    if head.startswith(_PNG_SIGNATURE):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head.startswith(b"RIFF") and len(head) >= 12:
        return "riff"
    if len(head) >= 8 and head[4:8] in _MP4_FIRST:
        return "mp4"
    return None


def media_problem(path: Path) -> str | None:
    """Why the media file at ``path`` is not whole (e.g. ``"MP4 box 'mdat' needs 2097152
    bytes at offset 40 but the file ends at 1048616"``), or ``None`` when its structure is
    complete or its format is not one that can be checked."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(16)
        kind = sniff_kind(head)
        if kind is None:
            return None
        if kind == "mp4":
            return _mp4_problem(fh, size)
        tail_len = min(size, 64)
        fh.seek(size - tail_len)
        tail = fh.read(tail_len)
    if kind == "png":
        return None if tail.endswith(_PNG_END) else "PNG without its IEND chunk (cut short)"
    if kind == "jpeg":
        ok = tail.rstrip(b"\x00\r\n\t ").endswith(b"\xff\xd9")
        return None if ok else "JPEG without its end-of-image marker (cut short)"
    if kind == "gif":
        return None if tail.endswith(b"\x3b") else "GIF without its trailer byte (cut short)"
    riff_size = struct.unpack("<I", head[4:8])[0] + 8
    if size in (riff_size, riff_size + 1):
        return None
    return f"RIFF file declares {riff_size} bytes but has {size} (cut short)"


def _mp4_problem(fh: BinaryIO, size: int) -> str | None:
    offset = 0
    boxes: list[bytes] = []
    while offset < size:
        fh.seek(offset)
        header = fh.read(16)
        if len(header) < 8:
            return f"MP4 box header at offset {offset} is cut short (file ends at {size})"
        box_size, box_type = struct.unpack(">I4s", header[:8])
        boxes.append(box_type)
        if box_size == 1:
            if len(header) < 16:
                return f"MP4 box header at offset {offset} is cut short"
            box_size = struct.unpack(">Q", header[8:16])[0]
            if box_size < 16:
                return f"MP4 box at offset {offset} has an invalid size {box_size}"
        elif box_size == 0:
            box_size = size - offset  # "extends to the end of the file"
        elif box_size < 8:
            return f"MP4 box at offset {offset} has an invalid size {box_size}"
        if offset + box_size > size:
            name = box_type.decode("latin-1")
            return (f"MP4 box {name!r} needs {box_size} bytes at offset {offset} but the file "
                    f"ends at {size} (cut short)")
        offset += box_size
    if boxes and boxes[0] == b"ftyp" and b"moov" not in boxes and b"moof" not in boxes:
        return "MP4 without its 'moov' box (cut short)"
    return None

