"""The whole-file check of downloaded media (issue 11 §10), as a table of containers."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from flowapi._media_check import media_problem, sniff_kind

MEDIA = Path(__file__).resolve().parents[1] / "flowapi" / "testing" / "media"


def _box(kind: bytes, payload: bytes = b"") -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _large_box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 1) + kind + struct.pack(">Q", 16 + len(payload)) + payload


FTYP = _box(b"ftyp", b"isom\x00\x00\x02\x00")
MOOV = _box(b"moov", _box(b"mvhd", b"\x00" * 100))
MDAT = _box(b"mdat", b"\x01" * 64)


@pytest.mark.parametrize(("data", "whole"), [
    (FTYP + MOOV + MDAT, True),
    (FTYP + MDAT + MOOV, True),
    (FTYP + MOOV + _large_box(b"mdat", b"\x02" * 40), True),
    (FTYP + MOOV + struct.pack(">I", 0) + b"mdat" + b"\x03" * 30, True),  # to end of file
    (FTYP + MOOV + MDAT[:-10], False),  # cut inside mdat
    (FTYP + MDAT, False),  # cut at a box boundary before the moov
    (FTYP + MOOV + MDAT + b"\x00\x00", False),  # a box header cut short
    (FTYP + struct.pack(">I", 4) + b"moov", False),  # an impossible size
    (b"\xff\xd8\xff\xe0" + b"\x00" * 50 + b"\xff\xd9", True),
    (b"\xff\xd8\xff\xe0" + b"\x00" * 50 + b"\xff\xd9\x00\x00", True),  # padding
    (b"\xff\xd8\xff\xe0" + b"\x00" * 50, False),
    (b"GIF89a" + b"\x00" * 20 + b"\x3b", True),
    (b"GIF89a" + b"\x00" * 20, False),
    (b"RIFF" + struct.pack("<I", 12) + b"WEBPVP8 " + b"\x00" * 4, True),
    (b"RIFF" + struct.pack("<I", 100) + b"WEBPVP8 " + b"\x00" * 4, False),
    (b"plain bytes of an unknown format", True),  # cannot be checked: accepted
])
def test_media_problem(data: bytes, whole: bool, tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(data)
    problem = media_problem(path)
    assert (problem is None) is whole, problem


@pytest.mark.parametrize(("name", "kind"), [("sample.mp4", "mp4"), ("thumb.jpg", "jpeg"),
                                            ("sample.png", "png"), ("sample.gif", "gif"),
                                            ("sample.wav", "riff")])
def test_the_fakes_real_files_are_whole_and_their_halves_are_not(name: str, kind: str,
                                                                 tmp_path: Path) -> None:
    data = (MEDIA / name).read_bytes()
    assert sniff_kind(data[:16]) == kind
    whole, half = tmp_path / "whole", tmp_path / "half"
    whole.write_bytes(data)
    half.write_bytes(data[: len(data) // 2])
    assert media_problem(whole) is None
    assert media_problem(half) is not None
