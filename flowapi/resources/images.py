"""``flow.images``: image generation and upscaling (POST /images, /images/upscale; sync)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Unpack

from flowapi._capabilities import validate
from flowapi._options import request_options
from flowapi.resources._base import Resource, build_params
from flowapi.types._fields import ImageFields, ImageUpscaleFields
from flowapi.types.images import ImageParams, ImageResult, ImageUpscaleParams, ImageUpscaleResult

__all__ = ["Images"]

_BIG_BODY = 256 * 1024 * 1024


class Images(Resource):
    """Imagen 4 / Nano Banana images (10–20 s typical, up to four per call)."""

    async def create(self, params: ImageParams | None = None, *,
                     extra_body: Mapping[str, Any] | None = None,
                     extra_query: Mapping[str, str] | None = None,
                     extra_headers: Mapping[str, str] | None = None,
                     **fields: Unpack[ImageFields]) -> ImageResult:
        """POST /images: generate up to four images; returns ``media[]`` with ``fifeUrl``
        or inline ``encodedImage`` (``result.media[i].url`` / ``.encoded``).

        ``extra_body`` / ``extra_query`` / ``extra_headers`` are sent as-is after
        validation (:class:`~flowapi.RequestOptions`).

        Raises:
            InvalidParamsError: a documented rule is broken (nothing sent).
            APIStatusError: 400 (validation, content policy), 403 captcha, 429, 500
                moderated (the documented JSON body), 503, 596.
            AmbiguousSubmitError: any other 5xx (e.g. a proxy's 500 page, Cloudflare's
                520/522/524) or a broken connection after sending: the images may have been
                generated and charged.
        """
        p = build_params(ImageParams, params, fields)
        if self._session.validate:
            validate(p)
        body = p.to_wire()
        email = body.get("email")
        model = body.get("model")
        return await self._t.request("POST", ("images",), ImageResult, json=body, submit=True,
                                     read_timeout=self._t.timeouts.generation_read,
                                     max_bytes=_BIG_BODY, moderated_500=True,
                                     email=email if isinstance(email, str) else None,
                                     model=model if isinstance(model, str) else None,
                                     **request_options(extra_body, extra_query,
                                                       extra_headers))

    async def upscale(self, params: ImageUpscaleParams | None = None, *,
                      extra_body: Mapping[str, Any] | None = None,
                      extra_query: Mapping[str, str] | None = None,
                      extra_headers: Mapping[str, str] | None = None,
                      **fields: Unpack[ImageUpscaleFields]) -> ImageUpscaleResult:
        """POST /images/upscale: 2k (default) or 4k (paid plan); base64 ``encodedImage``.
        ``extra_*`` as in :meth:`create`."""
        p = build_params(ImageUpscaleParams, params, fields)
        if self._session.validate:
            validate(p)
        return await self._t.request("POST", ("images", "upscale"), ImageUpscaleResult,
                                     json=p.to_wire(), submit=True, max_bytes=_BIG_BODY,
                                     read_timeout=self._t.timeouts.generation_read,
                                     **request_options(extra_body, extra_query,
                                                       extra_headers))
