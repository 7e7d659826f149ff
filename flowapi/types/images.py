"""POST /images and POST /images/upscale (both synchronous only)."""

from __future__ import annotations

from typing import ClassVar

import msgspec

from ._base import UNSET, ResponseStruct, UnsetType
from .captcha import CaptchaInfo
from .common import CallbackParams, CaptchaParams, JobIdFields
from .media import MediaEntry, MediaItem

__all__ = ["ImageParams", "ImageResult", "ImageUpscaleParams", "ImageUpscaleResult"]


class ImageParams(CallbackParams, kw_only=True):
    """Body of POST /images (supplement §9.2; POST images › Request Body, Jan 2026).

    Sync only: one call returns up to four images in 10–20 s. ``reply_url`` is still accepted.
    """

    _numbered_slots: ClassVar[dict[str, str]] = {
        "references": "reference_",
        "characters": "character_",
    }

    prompt: str
    """Required. Text description; inline markers ``@reference_N`` (1..10) and
    ``@character_N`` (1..7), each needing its slot."""
    model: str | UnsetType = UNSET
    """Default ``nano-banana-2-lite`` (with or without references); also ``nano-banana-2``,
    ``nano-banana-pro``; the deprecated aliases ``imagen-4`` (→ ``nano-banana-2-lite``) and
    ``nano-banana`` (→ ``nano-banana-2``) are still accepted (api-update-2026-h2 §5.3); see
    :class:`~flowapi.types.ImageModel`."""
    aspect_ratio: str | UnsetType = UNSET
    """``aspectRatio``: ``16:9`` (default), ``4:3``, ``1:1``, ``3:4``, ``9:16``, ``auto``
    (needs a reference; the default of ``nano-banana-2``/``-pro`` when references are given,
    while Lite stays 16:9); legacy ``landscape``/``portrait``."""
    count: int | UnsetType = UNSET
    """Images to generate, 1–4, default 4 (api-update-2026-h2 §5.3)."""
    seed: int | UnsetType = UNSET
    """Random seed, integer ≥ 0."""
    email: str | UnsetType = UNSET
    """Account to use; omit for load balancing (references pin their account)."""
    references: list[str] | UnsetType = UNSET
    """``reference_1..10`` — image ``mediaGenerationId`` references, in slot order."""
    characters: list[str] | UnsetType = UNSET
    """``character_1..7`` — character refs; they share the image-reference budget."""


class ImageUpscaleParams(CaptchaParams, kw_only=True):
    """Body of POST /images/upscale (POST images/upscale › Request Body; supplement §9.4)."""

    media_generation_id: str
    """Required. ``mediaGenerationId`` of a generated image (any Nano Banana model, Lite
    included since Nov 2026 — api-update-2026-h2 §5.3)."""
    resolution: str | UnsetType = UNSET
    """``2k`` (default) or ``4k`` (paid plan); see
    :class:`~flowapi.types.ImageUpscaleResolution`."""


class ImageResult(JobIdFields, kw_only=True, frozen=True, rename="camel"):
    """200 body of POST /images (POST images › Model; supplement §9.3)."""

    raw_media: tuple[MediaEntry, ...] = msgspec.field(name="media", default=())
    """``media[]`` exactly as sent (``image.generatedImage`` entries); prefer :attr:`media`."""
    captcha: CaptchaInfo | None = None
    """Captcha metadata."""

    @property
    def media(self) -> tuple[MediaItem, ...]:
        """Unified images: ``url`` from ``fifeUrl`` or ``encoded`` from ``encodedImage``."""
        return tuple(entry.to_item() for entry in self.raw_media)


class ImageUpscaleResult(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """200 body of POST /images/upscale (POST images/upscale › Model)."""

    encoded_image: str = ""
    """``encodedImage`` — base64 upscaled image (JPEG)."""
    captcha: CaptchaInfo | None = None
    """Captcha metadata."""
