"""Safe file names and atomic writes."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowapi._files import atomic_write_stream, safe_filename


@pytest.mark.parametrize(
    ("name", "suffix", "expected"),
    [
        ("j1731859234567v-u12345-email:jo***@gmail.com-bot:google-flow", ".mp4",
         "j1731859234567v-u12345-email_jo_gmail.com-bot_google-flow.mp4"),
        ("../../etc/passwd", "", "etc_passwd"),
        ("..", ".mp4", "file.mp4"),
        ("CON", ".mp4", "_CON.mp4"),
        ("nul.txt", "", "_nul.txt"),
        ("a/b\\c", ".jpg", "a_b_c.jpg"),
        ("name. ", "", "name"),
    ],
)
def test_safe_filename(name: str, suffix: str, expected: str) -> None:
    assert safe_filename(name, suffix=suffix) == expected


@given(st.text(max_size=400))
def test_safe_filename_never_escapes(name: str) -> None:
    out = safe_filename(name, suffix=".mp4")
    assert "/" not in out
    assert "\\" not in out
    assert ".." not in out
    assert not out.startswith(".")
    assert 0 < len(out) <= 160
    assert Path(out).name == out


@pytest.mark.anyio
async def test_atomic_write_leaves_nothing_on_error(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out.bin"

    async def good() -> AsyncIterator[bytes]:
        yield b"abc"
        yield b"def"

    assert await atomic_write_stream(target, good()) == 6
    assert target.read_bytes() == b"abcdef"
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask  # not mkstemp's private 0600

    async def bad() -> AsyncIterator[bytes]:
        yield b"partial"
        raise OSError("disk went away")

    other = tmp_path / "sub" / "other.bin"
    with pytest.raises(OSError, match="disk went away"):
        await atomic_write_stream(other, bad())
    assert not other.exists()
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.bin"]


@pytest.mark.anyio
async def test_atomic_write_never_touches_the_process_umask(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Toggling the umask races with other threads creating files (issue 11 §7)."""
    reference = tmp_path / "reference"
    reference.write_bytes(b"")  # open() applies the umask: the mode a new file should get

    def no_umask(mask: int) -> int:
        raise AssertionError("os.umask called: it changes the mode of other threads' files")

    monkeypatch.setattr(os, "umask", no_umask)

    async def data() -> AsyncIterator[bytes]:
        yield b"x"

    target = tmp_path / "out.bin"
    await atomic_write_stream(target, data())
    assert target.stat().st_mode & 0o777 == reference.stat().st_mode & 0o777
