"""File-system helpers: names that are safe on every OS, atomic writes of streamed bytes."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import AsyncIterator, Callable
from pathlib import Path

__all__ = ["atomic_write_stream", "safe_filename"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL"} | {f"COM{i}" for i in range(1, 10)}
    | {f"LPT{i}" for i in range(1, 10)})
_MAX_STEM = 150


def safe_filename(name: str, *, suffix: str = "") -> str:
    """Turn ``name`` (e.g. a jobid with ``:``, ``@``, ``*``) into a file name safe on Linux,
    macOS and Windows.

    Anything outside ``[A-Za-z0-9._-]`` becomes ``_``; ``..`` and leading dots cannot
    appear, so the result never escapes its directory; Windows device names get a ``_``
    prefix; the stem is cut to 150 characters. ``suffix`` (e.g. ``".mp4"``) is appended
    after sanitising it the same way.

    >>> safe_filename("j1v-u1-email:jo***@gmail.com-bot:google-flow", suffix=".mp4")
    'j1v-u1-email_jo_gmail.com-bot_google-flow.mp4'
    """
    stem = _UNSAFE.sub("_", name)
    stem = re.sub(r"\.{2,}", ".", stem).strip(". _") or "file"
    stem = stem[:_MAX_STEM].rstrip(". ")
    if stem.split(".")[0].upper() in _WINDOWS_RESERVED:
        stem = "_" + stem
    clean_suffix = _UNSAFE.sub("_", suffix)
    return stem + clean_suffix


async def atomic_write_stream(path: Path, chunks: AsyncIterator[bytes], *,
                              check: Callable[[Path], None] | None = None) -> int:
    """Write ``chunks`` to a temp file beside ``path``, fsync, then rename into place.

    ``check``, if given, is called with the temp file's path after it is complete and
    before the rename; an exception from it aborts the write (nothing at ``path``).

    A crash or error leaves no partial file at ``path`` (the temp file is removed). The file
    gets the usual mode for new files (``0o666`` minus the umask), like ``open()`` would:
    the temp file is created with mode ``0o666`` and the kernel applies the umask. The
    process umask is never read or changed (toggling it races with other threads).

    Returns:
        Bytes written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_temp(path)
    written = 0
    try:
        with os.fdopen(fd, "wb") as fh:
            async for chunk in chunks:
                fh.write(chunk)
                written += len(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        if check is not None:
            check(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return written


def _create_temp(path: Path) -> tuple[int, Path]:
    """Create ``.{name}.{random}.part`` beside ``path`` (exclusive, mode ``0o666`` minus the
    umask); returns its descriptor and path."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) \
        | getattr(os, "O_BINARY", 0)
    while True:
        tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.part"
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
