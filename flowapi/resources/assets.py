"""``flow.assets``: upload images and videos used as references (POST /assets[/{email}])."""

from __future__ import annotations

import os
from pathlib import Path

import anyio

from flowapi._errors import InvalidParamsError
from flowapi._transport import encode_email
from flowapi.resources._base import Resource
from flowapi.types.assets import AssetUpload

__all__ = ["IMAGE_MAX_BYTES", "VIDEO_MAX_BYTES", "Assets", "sniff_content_type"]

IMAGE_MAX_BYTES = 20 * 1024 * 1024
"""Largest image upload: 20 MB = 20,971,520 bytes (POST /assets › 400 example)."""
VIDEO_MAX_BYTES = 100 * 1024 * 1024
"""Largest video upload (video/mp4): 100 MB (supplement §11)."""

_BY_SUFFIX = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
              ".webp": "image/webp", ".mp4": "video/mp4"}


def sniff_content_type(data: bytes) -> str | None:
    """The upload Content-Type from the file's magic bytes: PNG, JPEG, WebP or MP4."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if len(data) >= 12 and data[4:8] == b"ftyp":
        return "video/mp4"
    return None


class Assets(Resource):
    """Uploads for ``startImage``, ``endImage``, ``referenceImage_N``, ``referenceVideo_1``,
    ``reference_N`` and characters."""

    async def upload(self, source: bytes | str | os.PathLike[str], *, email: str | None = None,
                     content_type: str | None = None) -> AssetUpload:
        """POST /assets[/{email}]: upload raw bytes and return the reference id.

        Args:
            source: the file's bytes or a path to a ``.png``, ``.jpg``/``.jpeg``, ``.webp``
                or ``.mp4`` file.
            email: the account to upload to; omitted → the only account, or load balancing.
            content_type: override the detected type (``image/png``, ``image/jpeg``,
                ``image/webp``, ``video/mp4``).

        Returns:
            :class:`~flowapi.types.AssetUpload`; pass ``upload.media_generation_id`` as
            ``startImage`` etc. ``upload.email`` is the account it landed on.

        Raises:
            InvalidParamsError: missing file, empty, unknown type, or over the limit
                (images 20 MB, videos 100 MB) — checked before sending.
            BadRequestError: rejected by the server (e.g. content policy).
        """
        name = "bytes"
        if isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
        else:
            path = Path(source)
            name = str(path)
            try:
                data = await anyio.Path(path).read_bytes()
            except FileNotFoundError:
                raise InvalidParamsError(f"image file not found: {name}") from None
            except OSError as exc:
                raise InvalidParamsError(f"cannot read {name}: {exc.strerror}") from exc
            if content_type is None:
                content_type = sniff_content_type(data) or _BY_SUFFIX.get(path.suffix.lower())
        if not data:
            raise InvalidParamsError(f"{name} is empty",
                                     doc_section="POST /assets/email › Request Body")
        content_type = content_type or sniff_content_type(data)
        if content_type not in ("image/png", "image/jpeg", "image/webp", "video/mp4"):
            raise InvalidParamsError(
                f"{name}: unsupported type {content_type or 'unknown'}; upload PNG, JPEG, "
                "WebP or MP4", doc_section="POST /assets/email")
        limit = VIDEO_MAX_BYTES if content_type == "video/mp4" else IMAGE_MAX_BYTES
        if len(data) > limit:
            raise InvalidParamsError(f"{name}: {len(data)} bytes is over the {limit}-byte "
                                     f"limit for {content_type}",
                                     doc_section="POST /assets/email")
        segments = ("assets",) if email is None else ("assets", encode_email(email))
        return await self._t.request("POST", segments, AssetUpload, data=data,
                                     content_type=content_type, email=email)
