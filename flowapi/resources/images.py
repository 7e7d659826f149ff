"""``flow.images``: image generation and upscaling (POST /images, /images/upscale; sync)."""

from __future__ import annotations

from typing import Unpack

from flowapi._capabilities import validate
from flowapi.resources._base import Resource, build_params
from flowapi.types._fields import ImageFields, ImageUpscaleFields
from flowapi.types.images import ImageParams, ImageResult, ImageUpscaleParams, ImageUpscaleResult

__all__ = ["Images"]

_BIG_BODY = 256 * 1024 * 1024


class Images(Resource):
    """Imagen 4 / Nano Banana images (10–20 s typical, up to four per call)."""

    async def create(self, params: ImageParams | None = None,
                     **fields: Unpack[ImageFields]) -> ImageResult:
        """POST /images: generate up to four images; returns ``media[]`` with ``fifeUrl``
        or inline ``encodedImage`` (``result.media[i].url`` / ``.encoded``).

        Raises:
            InvalidParamsError: a documented rule is broken (nothing sent).
            APIStatusError: 400 (validation, content policy), 403 captcha, 429, 500
                moderated, 503, 596.
        """
        p = build_params(ImageParams, params, fields)
        if self._session.validate:
            validate(p)
        body = p.to_wire()
        email = body.get("email")
        model = body.get("model")
        return await self._t.request("POST", ("images",), ImageResult, json=body, submit=True,
                                     read_timeout=self._t.timeouts.generation_read,
                                     max_bytes=_BIG_BODY,
                                     email=email if isinstance(email, str) else None,
                                     model=model if isinstance(model, str) else None)

    async def upscale(self, params: ImageUpscaleParams | None = None,
                      **fields: Unpack[ImageUpscaleFields]) -> ImageUpscaleResult:
        """POST /images/upscale: 2k (default) or 4k (paid plan); base64 ``encodedImage``."""
        p = build_params(ImageUpscaleParams, params, fields)
        if self._session.validate:
            validate(p)
        return await self._t.request("POST", ("images", "upscale"), ImageUpscaleResult,
                                     json=p.to_wire(), submit=True, max_bytes=_BIG_BODY,
                                     read_timeout=self._t.timeouts.generation_read)
