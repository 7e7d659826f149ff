"""``flow.videos``: synchronous video endpoints (POST /videos, /extend, /upscale, /gif,
/concatenate). For async mode use :meth:`flow.jobs.submit <flowapi.resources.jobs.Jobs.submit>`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Unpack

from flowapi._capabilities import validate
from flowapi._errors import InvalidParamsError
from flowapi._options import RequestOptions, request_options
from flowapi.resources._base import Resource, build_params
from flowapi.types._fields import ExtendFields, VideoFields, VideoUpscaleFields
from flowapi.types.videos import (
    ConcatClip,
    ConcatenateParams,
    ConcatenateResult,
    ExtendParams,
    GifParams,
    GifResult,
    VideoParams,
    VideoResult,
    VideoUpscaleParams,
)

__all__ = ["Videos"]

#: base64 MP4 bodies are ~7 MB per input clip (POST /videos/concatenate).
_BIG_BODY = 512 * 1024 * 1024


class Videos(Resource):
    """Video generation and post-processing, waiting for the result (60–180 s typical)."""

    async def _generate(self, endpoint: tuple[str, ...], params: Any,
                        options: RequestOptions) -> VideoResult:
        if self._session.validate:
            validate(params)
        body = params.to_wire()
        email = body.get("email")
        model = body.get("model")
        return await self._t.request(
            "POST", endpoint, VideoResult, json=body, submit=True,
            read_timeout=self._t.timeouts.generation_read, max_bytes=_BIG_BODY,
            email=email if isinstance(email, str) else None,
            model=model if isinstance(model, str) else None, **options)

    async def create(self, params: VideoParams | None = None, *,
                     extra_body: Mapping[str, Any] | None = None,
                     extra_query: Mapping[str, str] | None = None,
                     extra_headers: Mapping[str, str] | None = None,
                     **fields: Unpack[VideoFields]) -> VideoResult:
        """POST /videos (sync): generate and wait; returns the 200 body with ``media[]``.

        Pass a :class:`~flowapi.VideoParams` or its fields as keywords
        (``prompt=…, model=…, reference_images=[…]``). ``extra_body`` / ``extra_query`` /
        ``extra_headers`` are sent as-is after validation (:class:`~flowapi.RequestOptions`;
        the same on every method here).

        Raises:
            InvalidParamsError: a documented rule is broken (nothing sent).
            RequestTimeoutError: 408 after the server's 10-minute polling.
            APIStatusError: see :meth:`Jobs.submit`.
        """
        return await self._generate(("videos",), build_params(VideoParams, params, fields),
                                    request_options(extra_body, extra_query, extra_headers))

    async def extend(self, params: ExtendParams | None = None, *,
                     extra_body: Mapping[str, Any] | None = None,
                     extra_query: Mapping[str, str] | None = None,
                     extra_headers: Mapping[str, str] | None = None,
                     **fields: Unpack[ExtendFields]) -> VideoResult:
        """POST /videos/extend (sync): add an ~8 s segment to a Veo video (~1 s overlap)."""
        return await self._generate(("videos", "extend"),
                                    build_params(ExtendParams, params, fields),
                                    request_options(extra_body, extra_query, extra_headers))

    async def upscale(self, params: VideoUpscaleParams | None = None, *,
                      extra_body: Mapping[str, Any] | None = None,
                      extra_query: Mapping[str, str] | None = None,
                      extra_headers: Mapping[str, str] | None = None,
                      **fields: Unpack[VideoUpscaleFields]) -> VideoResult:
        """POST /videos/upscale (sync): 1080p (free) or 4K (Ultra, 50 credits); a repeat
        returns the cached result (sometimes as base64 ``rawBytes``)."""
        return await self._generate(("videos", "upscale"),
                                    build_params(VideoUpscaleParams, params, fields),
                                    request_options(extra_body, extra_query, extra_headers))

    async def gif(self, media_generation_id: str,
                  **options: Unpack[RequestOptions]) -> GifResult:
        """POST /videos/gif: an animated GIF preview (base64 ``encodedGif``; up to 90 s).

        Save it with ``flow.media.save_base64(result.encoded_gif, "preview.gif")``.
        """
        params = GifParams(media_generation_id=media_generation_id)
        if self._session.validate:
            validate(params)
        return await self._t.request("POST", ("videos", "gif"), GifResult,
                                     json=params.to_wire(), max_bytes=_BIG_BODY,
                                     read_timeout=self._t.timeouts.generation_read, **options)

    async def concatenate(self, clips: list[ConcatClip | str],
                          **options: Unpack[RequestOptions]) -> ConcatenateResult:
        """POST /videos/concatenate: join 2–10 clips of one account and aspect ratio.

        Args:
            clips: :class:`~flowapi.types.ConcatClip` (with ``trim_start``/``trim_end``
                seconds) or plain ``mediaGenerationId`` strings, in order.

        Returns:
            Base64 MP4 in ``encoded_video`` (~7 MB per input); save with
            ``flow.media.save_base64``.
        """
        items = [c if isinstance(c, ConcatClip) else ConcatClip(media_generation_id=c)
                 for c in clips]
        if not 2 <= len(items) <= 10:
            raise InvalidParamsError(f"concatenate takes 2-10 clips, got {len(items)}",
                                     field="media",
                                     doc_section="POST /videos/concatenate › Request Body")
        params = ConcatenateParams(media=items)
        if self._session.validate:
            validate(params)
        return await self._t.request("POST", ("videos", "concatenate"), ConcatenateResult,
                                     json=params.to_wire(), max_bytes=_BIG_BODY,
                                     read_timeout=self._t.timeouts.generation_read, **options)
