"""POST /videos, /videos/extend, /videos/upscale, /videos/gif, /videos/concatenate.

Request params (:class:`VideoParams`, :class:`ExtendParams`, :class:`VideoUpscaleParams`,
:class:`GifParams`, :class:`ConcatenateParams`) and the synchronous 200 bodies
(:class:`VideoResult`, :class:`GifResult`, :class:`ConcatenateResult`). The async 201 body is a
:class:`~flowapi.types.jobs.Job`.
"""

from __future__ import annotations

from typing import ClassVar

import msgspec

from ._base import UNSET, ResponseStruct, UnsetType, WireParams
from .captcha import CaptchaInfo
from .common import CallbackParams, JobIdFields
from .enums import MediaGenerationStatus
from .media import MediaEntry, MediaItem, Operation, unify_media

__all__ = [
    "AsyncParams",
    "ConcatClip",
    "ConcatenateParams",
    "ConcatenateResult",
    "ExtendParams",
    "GifParams",
    "GifResult",
    "VideoParams",
    "VideoResult",
    "VideoUpscaleParams",
]


class VideoParams(CallbackParams, kw_only=True):
    """Body of POST /videos (POST /videos › Request Body, June 2026; supplement §10.2).

    Modes: T2V (prompt only), I2V (``start_image``), I2V-FL (+ ``end_image``), R2V
    (``reference_images``/``characters``, optional ``reference_audio``), V2V edit
    (``reference_video``, omni-flash). Per-model limits are checked by
    ``flowapi._capabilities.validate``, not here. Send it synchronously with
    ``flow.videos.create`` or asynchronously with ``flow.jobs.submit``.
    """

    _numbered_slots: ClassVar[dict[str, str]] = {
        "reference_images": "referenceImage_",
        "characters": "character_",
        "reference_audio": "referenceAudio_",
    }

    prompt: str
    """Required. Text description (› Core); may name slots inline: ``@referenceImage_N``,
    ``@character_N``, ``@referenceAudio_N`` (each marker needs its slot, else 400)."""
    model: str | UnsetType = UNSET
    """Model (› Core), default ``veo-3.1-fast``; see :class:`~flowapi.types.VideoModel`."""
    aspect_ratio: str | UnsetType = UNSET
    """``aspectRatio`` (› Core): ``landscape`` (default) or ``portrait``; Veo also ``1:1``,
    ``4:3``, ``3:4``."""
    duration: int | UnsetType = UNSET
    """Output length in seconds (› Core): 4, 6, 8 (default), 10 (omni-flash only); Veo 4/6
    need Ultra; Veo R2V 8 only; omni-flash-1.2 3–15. Not allowed with ``reference_video``."""
    resolution: str | UnsetType = UNSET
    """``720p`` (default) or ``360p`` (omni-flash, ~half credits) — supplement §10.2."""
    count: int | UnsetType = UNSET
    """Number of variations, 1–4, default 1 (› Core)."""
    seed: int | UnsetType = UNSET
    """Random seed, integer ≥ 0 (› Core)."""
    email: str | UnsetType = UNSET
    """Account to use (› Account selection). Omit for load balancing; references pin the
    account they were uploaded to."""
    start_image: str | UnsetType = UNSET
    """``startImage`` — image ``mediaGenerationId`` of the first frame (I2V; › Image refs)."""
    end_image: str | UnsetType = UNSET
    """``endImage`` — image ``mediaGenerationId`` of the last frame (I2V-FL; needs
    ``start_image``)."""
    reference_images: list[str] | UnsetType = UNSET
    """``referenceImage_1..7`` — image ids for R2V (Veo ≤3, not quality; omni-flash ≤7, ≤5 in
    V2V). Not with start/end image. Sent as numbered slots in list order."""
    characters: list[str] | UnsetType = UNSET
    """``character_1..7`` — character refs from POST /characters (› Characters); their images
    count toward the image-ref budget."""
    reference_audio: list[str] | UnsetType = UNSET
    """``referenceAudio_1..5`` — system voice names or user voice refs (› Voice narration);
    Veo R2V 1, omni-flash ≤5 (≤3 in V2V)."""
    reference_video: str | UnsetType = msgspec.field(name="referenceVideo_1", default=UNSET)
    """``referenceVideo_1`` — video ``mediaGenerationId`` to edit (omni-flash V2V; › Video
    reference)."""
    start_frame_index: int | UnsetType = msgspec.field(name="startFrameIndex_1", default=UNSET)
    """``startFrameIndex_1`` — V2V trim start, frames at 24 fps, 0–239, default 0."""
    end_frame_index: int | UnsetType = msgspec.field(name="endFrameIndex_1", default=UNSET)
    """``endFrameIndex_1`` — V2V trim end, frames at 24 fps, 1–240 (240 = 10 s), greater than
    the start; default ``min(round(durationSeconds × 24), 240)`` of the uploaded clip."""


class ExtendParams(CallbackParams, kw_only=True):
    """Body of POST /videos/extend (POST videos/extend › Request Body, June 2026).

    Adds ~8 s continuing from the last ~1 s of a Veo-generated source (omni-flash videos
    cannot be extended); inherits the source's aspect ratio.
    """

    media_generation_id: str
    """Required. ``mediaGenerationId`` of a video from POST /videos or /videos/extend."""
    prompt: str
    """Required. What happens next."""
    model: str | UnsetType = UNSET
    """``veo-3.1-fast`` (default), ``veo-3.1-quality``, ``veo-3.1-lite``,
    ``veo-3.1-lite-low-priority``."""
    count: int | UnsetType = UNSET
    """Variations, 1–4, default 1; seeds increment (seed, seed+1, ...)."""
    seed: int | UnsetType = UNSET
    """Random seed; random when unset."""


class VideoUpscaleParams(CallbackParams, kw_only=True):
    """Body of POST /videos/upscale (POST videos/upscale › Request Body; supplement §10.4)."""

    media_generation_id: str
    """Required. ``mediaGenerationId`` of a generated video."""
    resolution: str | UnsetType = UNSET
    """``1080p`` (default, free), ``4K`` (Ultra, 50 credits), ``720p`` (promotes 360p clips);
    see :class:`~flowapi.types.VideoUpscaleResolution`."""


class GifParams(WireParams, kw_only=True):
    """Body of POST /videos/gif (POST videos/gif › Request Body). No captcha; up to 90 s."""

    media_generation_id: str
    """Required. ``mediaGenerationId`` of a generated video (an image id gives 400)."""


class ConcatClip(WireParams, kw_only=True):
    """One item of POST /videos/concatenate ``media[]``."""

    media_generation_id: str
    """Required. ``mediaGenerationId`` of a generated or extended video."""
    trim_start: float | UnsetType = UNSET
    """``trimStart`` — seconds cut from the start, 0–8 (Oct 2026: 0–10), default 0; use 1 on
    extended clips to drop the ~1 s overlap."""
    trim_end: float | UnsetType = UNSET
    """``trimEnd`` — seconds cut from the end, 0–8 (Oct 2026: 0–10), default 0."""


class ConcatenateParams(WireParams, kw_only=True):
    """Body of POST /videos/concatenate (POST videos/concatenate › Request Body). No captcha."""

    media: list[ConcatClip]
    """Required. 2–10 clips, same account and aspect ratio, joined in order."""


AsyncParams = VideoParams | ExtendParams | VideoUpscaleParams
"""The params ``jobs.submit`` accepts (the endpoints with an ``async: true`` mode)."""


class VideoResult(JobIdFields, kw_only=True, frozen=True, rename="camel"):
    """200 body of POST /videos, /videos/extend, /videos/upscale (synchronous mode).

    Current bodies carry ``media[]``; older ones (and upscale) legacy ``operations[]``, with
    ``rawBytes`` when re-upscaling. Read :attr:`media` and :attr:`jobid`.
    """

    raw_media: tuple[MediaEntry, ...] = msgspec.field(name="media", default=())
    """``media[]`` exactly as sent; prefer :attr:`media`."""
    operations: tuple[Operation, ...] = ()
    """Legacy ``operations[]`` (Jan 2026 docs; /videos/upscale still sends both)."""
    remaining_credits: int | float | None = None
    """``remainingCredits`` — Flow credits left on the account."""
    captcha: CaptchaInfo | None = None
    """Captcha metadata."""

    @property
    def media(self) -> tuple[MediaItem, ...]:
        """Unified videos (``media[]`` preferred, else ``operations[]``)."""
        return unify_media(self.raw_media, self.operations)


class GifResult(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """200 body of POST /videos/gif (POST videos/gif › Model)."""

    encoded_gif: str = ""
    """``encodedGif`` — base64 GIF bytes."""


class ConcatenateResult(JobIdFields, kw_only=True, frozen=True, rename="camel"):
    """200 body of POST /videos/concatenate (POST videos/concatenate › Model)."""

    status: str = ""
    """``MEDIA_GENERATION_STATUS_SUCCESSFUL | FAILED``; see :attr:`state`."""
    inputs_count: int = 0
    """``inputsCount`` — number of input clips."""
    encoded_video: str = ""
    """``encodedVideo`` — base64 MP4 (~7 MB per input clip)."""

    @property
    def state(self) -> MediaGenerationStatus:
        """:attr:`status` as a :class:`~flowapi.types.MediaGenerationStatus`."""
        return MediaGenerationStatus.parse(self.status)
