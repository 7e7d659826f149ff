"""Read real dimensions (and MP4 duration) from uploaded bytes, without decoding them.

``POST assets`` answers ``width``/``height`` (and ``durationSeconds`` for video), so the
fake reads them from the PNG ``IHDR`` chunk, the JPEG ``SOFn`` marker, the WebP ``VP8``/
``VP8L``/``VP8X`` header and the MP4 ``moov/mvhd`` + ``trak/tkhd`` boxes.
"""

from __future__ import annotations

import struct

__all__ = ["MediaInfo", "sniff"]

MediaInfo = tuple[int, int, float | None]
"""``(width, height, duration_seconds_or_None)``."""


def _png(data: bytes) -> MediaInfo | None:
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR" or len(data) < 24:
        return None
    w, h = struct.unpack(">II", data[16:24])
    return w, h, None


def _jpeg(data: bytes) -> MediaInfo | None:
    if data[:2] != b"\xff\xd8":
        return None
    i = 2
    n = len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            i += 1
            continue
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
            i += 1 if marker == 0xFF else 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            if i + 9 > n:
                return None
            h, w = struct.unpack(">HH", data[i + 5 : i + 9])
            return w, h, None
        i += 2 + length
    return None


def _webp(data: bytes) -> MediaInfo | None:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP" or len(data) < 30:
        return None
    chunk = data[12:16]
    if chunk == b"VP8 ":
        w, h = struct.unpack("<HH", data[26:30])
        return w & 0x3FFF, h & 0x3FFF, None
    if chunk == b"VP8L":
        b = data[21:25]
        w = 1 + (((b[1] & 0x3F) << 8) | b[0])
        h = 1 + (((b[3] & 0x0F) << 10) | (b[2] << 2) | ((b[1] & 0xC0) >> 6))
        return w, h, None
    if chunk == b"VP8X":
        w = 1 + int.from_bytes(data[24:27], "little")
        h = 1 + int.from_bytes(data[27:30], "little")
        return w, h, None
    return None


def _boxes(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    out = []
    i = start
    while i + 8 <= end:
        size, kind = struct.unpack(">I4s", data[i : i + 8])
        header = 8
        if size == 1 and i + 16 <= end:
            (size,) = struct.unpack(">Q", data[i + 8 : i + 16])
            header = 16
        elif size == 0:
            size = end - i
        if size < header or i + size > end:
            break
        out.append((kind, i + header, i + size))
        i += size
    return out


def _mp4(data: bytes) -> MediaInfo | None:
    top = _boxes(data, 0, len(data))
    if not top or top[0][0] != b"ftyp":
        return None
    moov = next(((s, e) for k, s, e in top if k == b"moov"), None)
    if moov is None:
        return None
    duration: float | None = None
    width = height = 0
    for kind, s, e in _boxes(data, *moov):
        if kind == b"mvhd":
            version = data[s]
            if version == 1:
                timescale, dur = struct.unpack(">IQ", data[s + 20 : s + 32])
            else:
                timescale, dur = struct.unpack(">II", data[s + 12 : s + 20])
            duration = dur / timescale if timescale else None
        elif kind == b"trak":
            for k2, s2, _e2 in _boxes(data, s, e):
                if k2 != b"tkhd":
                    continue
                off = s2 + (88 if data[s2] == 1 else 76)
                w, h = struct.unpack(">II", data[off : off + 8])
                if w and h and not width:
                    width, height = w >> 16, h >> 16
    if duration is None:
        return None
    return width, height, round(duration, 3)


def sniff(data: bytes, content_type: str) -> MediaInfo | None:
    """Dimensions of ``data`` declared as ``content_type``; ``None`` if it is not that format."""
    parser = {"image/png": _png, "image/jpeg": _jpeg, "image/webp": _webp, "video/mp4": _mp4}.get(
        content_type
    )
    try:
        return parser(data) if parser else None
    except (struct.error, IndexError):
        return None
