"""A tiny MP4 structure check for tests (no ffprobe needed)."""

from __future__ import annotations

import struct
from pathlib import Path


def mp4_boxes(path: Path) -> list[str]:
    """Top-level box types of an MP4 file; raises AssertionError if the layout is broken."""
    data = path.read_bytes()
    boxes: list[str] = []
    offset = 0
    while offset < len(data):
        assert offset + 8 <= len(data), f"{path}: truncated box header at {offset}"
        size, kind = struct.unpack(">I4s", data[offset:offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8:offset + 16])[0]
        elif size == 0:
            size = len(data) - offset
        assert size >= 8, f"{path}: bad box size {size} at {offset}"
        assert offset + size <= len(data), f"{path}: box {kind!r} runs past the end"
        boxes.append(kind.decode("latin-1"))
        offset += size
    return boxes


def assert_valid_mp4(path: Path) -> None:
    """The file starts with ftyp and has moov and mdat boxes that exactly fill it."""
    boxes = mp4_boxes(path)
    assert boxes[0] == "ftyp", boxes
    assert "moov" in boxes, boxes
    assert "mdat" in boxes, boxes
