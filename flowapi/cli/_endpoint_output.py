"""Output of the per-endpoint commands: JSON on stdout, files for ``--out``/``--download``.

The response is printed as ``msgspec`` encodes the Struct (wire names), pretty-printed with
a two-space indent. Base64 payloads (``encodedImage``, ``encodedGif``, ``encodedVideo``,
``rawBytes``) are replaced by ``"<N bytes base64, use --out>"`` unless the user asked for
``--raw`` and gave no ``--out``.
"""

from __future__ import annotations

import base64
import binascii
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import msgspec

from flowapi._files import safe_filename
from flowapi._session import FlowSession
from flowapi.types._base import wire_builtins
from flowapi.types.media import MediaItem

__all__ = [
    "BASE64_FIELDS",
    "Output",
    "download_media",
    "elide_base64",
    "info",
    "redact",
]

BASE64_FIELDS: frozenset[str] = frozenset(
    {"encodedImage", "encodedGif", "encodedVideo", "rawBytes"})
"""Wire keys whose values are base64 media bytes."""


def _decoded_size(text: str) -> int:
    """Bytes a base64 string decodes to (without decoding it)."""
    stripped = "".join(text.split())
    return max(0, len(stripped) * 3 // 4 - stripped[-2:].count("="))


def elide_base64(value: Any, hint: str) -> Any:
    """Return ``value`` (JSON builtins) with every base64 media field replaced by a
    ``"<N bytes base64, use HINT>"`` placeholder."""
    if isinstance(value, dict):
        return {k: (f"<{_decoded_size(v)} bytes base64, use {hint}>"
                    if k in BASE64_FIELDS and isinstance(v, str) and v
                    else elide_base64(v, hint))
                for k, v in value.items()}
    if isinstance(value, list):
        return [elide_base64(v, hint) for v in value]
    return value


def redact(text: str, token: str | None) -> str:
    """``text`` with the API token (if any) replaced by ``***`` — belt and braces: the SDK
    already keeps it out of messages."""
    if token and len(token) >= 4:
        return text.replace(token, "***")
    return text


def info(message: str, token: str | None = None) -> None:
    """A progress line on stderr (stdout carries only the JSON result)."""
    print(f"flowapi: {redact(message, token)}", file=sys.stderr)


def _drop_empty_jobid_alias(data: Any) -> Any:
    """Models carry both spellings of the job id (``jobid`` on async bodies, ``jobId`` on
    sync ones); print only the one the server sent."""
    if isinstance(data, dict) and "jobid" in data and "jobId" in data:
        for key, other in (("jobid", "jobId"), ("jobId", "jobid")):
            if data[key] == "" and data[other]:
                return {k: v for k, v in data.items() if k != key}
    return data


@dataclass(frozen=True, slots=True)
class Output:
    """How a command prints its response.

    Attributes:
        raw: ``--raw`` was given (print base64 payloads inline).
        saved: the payload goes to a file (``--out`` given): never print it.
        hint: the option named in placeholders (``--out``, ``--download``, ``--raw``).
        token: the API token, scrubbed from anything printed.
    """

    raw: bool = False
    saved: bool = False
    hint: str = "--out"
    token: str | None = None

    def render(self, obj: Any) -> str:
        """The response as pretty-printed JSON text (wire names)."""
        data = _drop_empty_jobid_alias(wire_builtins(obj))
        if self.saved or not self.raw:
            data = elide_base64(data, self.hint)
        text = msgspec.json.format(msgspec.json.encode(data), indent=2).decode()
        return redact(text, self.token)

    def emit(self, obj: Any) -> None:
        """Print the response on stdout."""
        sys.stdout.write(self.render(obj) + "\n")
        sys.stdout.flush()


def _sniff_suffix(head: bytes, default: str) -> str:
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return ".png"
    if head.startswith(b"\xff\xd8\xff"):
        return ".jpg"
    if head.startswith(b"GIF8"):
        return ".gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ".webp"
    if head[4:8] == b"ftyp":
        return ".mp4"
    return default


def _encoded_head(encoded: str) -> bytes:
    try:
        return base64.b64decode("".join(encoded[:64].split())[:24] + "==", validate=False)
    except (binascii.Error, ValueError):
        return b""


async def download_media(flow: FlowSession, items: Sequence[MediaItem], out_dir: Path, *,
                         name: str, token: str | None = None) -> list[Path]:
    """Save every media item (and each video's thumbnail) into ``out_dir``.

    Files are named ``{safe(name)}-{i}.{ext}`` and thumbnails ``{safe(name)}-{i}.jpg``
    (the same scheme as ``flowapi batch``); ``name`` is usually the job id. URLs are
    streamed, inline base64 is decoded. An image's extension follows its bytes.

    Returns:
        The paths written, in order.
    """
    stem = safe_filename(name or "media")
    paths: list[Path] = []
    for i, item in enumerate(items, start=1):
        is_video = item.kind == "video"
        default = ".mp4" if is_video else ".jpg"
        suffix = default
        if item.url is None and item.encoded:
            suffix = _sniff_suffix(_encoded_head(item.encoded), default)
        path = out_dir / f"{stem}-{i}{suffix}"
        await flow.media.download(item, path)
        if not is_video:
            async with await anyio.open_file(path, "rb") as fh:
                actual = _sniff_suffix(await fh.read(16), suffix)
            if actual != suffix:
                path = Path(await anyio.Path(path).rename(path.with_suffix(actual)))
        paths.append(path)
        info(f"saved {path}", token)
        if is_video and item.thumbnail_url:
            thumb = out_dir / f"{stem}-{i}.jpg"
            await flow.media.download(item, thumb, thumbnail=True)
            paths.append(thumb)
            info(f"saved {thumb}", token)
    return paths
