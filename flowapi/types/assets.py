"""POST /assets/{email} (upload) and GET /assets/{mediaGenerationId} (signed URL)."""

from __future__ import annotations

from typing import Any

import msgspec

from ._base import ResponseStruct

__all__ = ["AssetUpload", "AssetUrl", "MediaGenerationIdRef"]


class MediaGenerationIdRef(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """The nested ``{"mediaGenerationId": "..."}`` object of an upload response."""

    media_generation_id: str = ""
    """``user:{userid}-email:{hex_encoded_email}-image:{id}`` (or ``-video:``)."""


class AssetUpload(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """200 body of POST /assets/{email} (POST assets/email › Model; supplement §11 for video).

    The id is nested (``mediaGenerationId.mediaGenerationId``); read
    :attr:`media_generation_id`, which also accepts a flat string.
    """

    raw_media_generation_id: str | MediaGenerationIdRef | None = msgspec.field(
        name="mediaGenerationId", default=None
    )
    """``mediaGenerationId`` exactly as sent (an object holding the id, or a string)."""
    width: int | None = None
    """Width in pixels."""
    height: int | None = None
    """Height in pixels."""
    email: str = ""
    """Account the asset was uploaded to (useful when load balancing picked it)."""
    duration_seconds: float | None = None
    """``durationSeconds`` of an uploaded video; ``endFrameIndex_1`` defaults to
    ``min(round(durationSeconds × 24), 240)``."""
    media: dict[str, Any] | list[Any] | None = None
    """Optional ``media`` block of video uploads (shape undocumented; free-form)."""

    @property
    def media_generation_id(self) -> str:
        """The reference id to pass as ``startImage``, ``referenceImage_N``, ... (``""`` if
        absent)."""
        ref = self.raw_media_generation_id
        if isinstance(ref, MediaGenerationIdRef):
            return ref.media_generation_id
        return ref or ""

    @property
    def is_video(self) -> bool:
        """``True`` when the id is a video reference (``-video:``)."""
        return "-video:" in self.media_generation_id or self.duration_seconds is not None


class AssetUrl(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """200 body of GET /assets/{mediaGenerationId} (June 2026, supplement §12)."""

    url: str = ""
    """Signed GCS URL of the asset (~6 h)."""
    media_generation_id: str = ""
    """Echo of the requested id."""
