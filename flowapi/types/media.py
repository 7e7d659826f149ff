"""Media: the unified :class:`MediaItem` and the raw wire shapes it is built from.

* the raw ``media[]`` entries (:class:`MediaEntry`, current shape since May 2026) and legacy
  ``operations[]`` (:class:`Operation`), plus :class:`MediaItem`, the one unified view that
  ``Job.media``, ``VideoResult.media`` and ``ImageResult.media`` return for every shape
  (:func:`unify_media`);
* :class:`JobResponse` — the ``response`` of a job record or error body that carries them.

Doc references name the spec sections: "POST /videos › Responses › 200" is the current
(June 2026) page in ``spec/seeds/post-videos.txt``; "supplement §5" is
``spec/api-reference-supplement.md``.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ._base import ResponseStruct
from .captcha import CaptchaInfo
from .enums import MediaGenerationStatus
from .google_error import GoogleError

__all__ = [
    "GeneratedImage",
    "GeneratedVideo",
    "ImagePayload",
    "JobResponse",
    "LegacyVideo",
    "MediaEntry",
    "MediaItem",
    "MediaMetadata",
    "MediaStatus",
    "Operation",
    "OperationInfo",
    "OperationMetadata",
    "OperationName",
    "VideoDimensions",
    "VideoPayload",
    "unify_media",
]


class MediaItem(msgspec.Struct, kw_only=True, frozen=True):
    """One generated video or image, whatever shape the server sent it in.

    Built by the ``.media`` accessors from ``media[]`` (videos: ``videoUrl``/``thumbnailUrl``;
    images: ``image.generatedImage.fifeUrl`` or ``encodedImage``) or from legacy
    ``operations[]`` (``operation.metadata.video.fifeUrl``/``servingBaseUri``,
    ``operations[].video``, ``rawBytes``). Exactly one of :attr:`url` / :attr:`encoded` is
    normally set; signed URLs expire (~6–24 h), so download promptly.
    """

    kind: str
    """``"video"`` or ``"image"``."""
    media_generation_id: str = ""
    """Reference id for follow-up calls (extend, upscale, gif, concatenate, references)."""
    url: str | None = None
    """Signed download URL (MP4 for videos, JPEG/PNG for images), or ``None``."""
    thumbnail_url: str | None = None
    """Signed thumbnail URL (JPEG) of a video, or ``None``."""
    encoded: str | None = None
    """Base64 media bytes when sent inline (``encodedImage``, ``rawBytes``), else ``None``."""
    seed: int | None = None
    """Seed used for this item."""
    prompt: str = ""
    """Prompt the item was generated from (or the media title)."""
    model: str = ""
    """Google's internal model name: ``veo_3_1_t2v``, ``veo_3_1_upsampler_1080p``,
    ``GEM_PIX_2``, ``NARWHAL``, ..."""
    aspect_ratio: str = ""
    """Google's aspect ratio constant, e.g. ``VIDEO_ASPECT_RATIO_LANDSCAPE``."""
    status: str = ""
    """``mediaGenerationStatus`` or the operation ``status``; see :class:`MediaGenerationStatus`."""

    @property
    def state(self) -> MediaGenerationStatus:
        """:attr:`status` as a :class:`MediaGenerationStatus` (``UNKNOWN`` when absent/new)."""
        return MediaGenerationStatus.parse(self.status)


class MediaStatus(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """``mediaMetadata.mediaStatus`` (POST /videos › Model)."""

    media_generation_status: str = ""
    """``MEDIA_GENERATION_STATUS_SUCCESSFUL | FAILED | PENDING``; see
    :class:`MediaGenerationStatus`."""
    error: GoogleError | None = None
    """``{code, message}`` when this item failed."""


class MediaMetadata(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """``media[].mediaMetadata`` (POST /videos › Model)."""

    create_time: str = ""
    """``createTime`` — ISO-8601 creation time."""
    media_title: str = ""
    """``mediaTitle`` — usually the prompt."""
    request_data: dict[str, Any] = msgspec.field(default_factory=dict)
    """``requestData`` — Google's full request payload (model, mode, refs); free-form."""
    media_status: MediaStatus | None = None
    """``mediaStatus`` — generation status and error."""
    visibility: str = ""
    """``"PRIVATE"``."""


class GeneratedVideo(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """``media[].video.generatedVideo`` (POST /videos › Model)."""

    seed: int | None = None
    """Seed used."""
    prompt: str = ""
    """Prompt used."""
    model: str = ""
    """Internal model: ``veo_3_1_t2v | veo_3_1_i2v | veo_3_1_i2v_fl | veo_3_1_r2v |
    omni_flash_*``."""
    base_image_media_generation_id: str = ""
    """Source media id for I2V/R2V/extend (empty string for T2V)."""
    is_looped: bool = False
    """``isLooped``."""
    aspect_ratio: str = ""
    """``VIDEO_ASPECT_RATIO_LANDSCAPE | PORTRAIT | ...``."""
    upsample_metadata: dict[str, Any] | None = None
    """``upsampleMetadata`` of upscaled videos (free-form)."""


class VideoDimensions(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """``media[].video.dimensions``."""

    length: str = ""
    """Duration string, e.g. ``"8s"``."""


class OperationName(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """``{name}`` — an operation reference (``media[].video.operation``)."""

    name: str = ""
    """Operation identifier."""


class VideoPayload(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """``media[].video`` (POST /videos › Model)."""

    generated_video: GeneratedVideo | None = None
    """``generatedVideo`` — seed, prompt, model, aspect ratio."""
    dimensions: VideoDimensions | None = None
    """``dimensions`` — ``{length: "8s"}``."""
    operation: OperationName | None = None
    """``operation`` — ``{name}``."""


class GeneratedImage(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """``media[].image.generatedImage`` (POST images › Model; supplement §9.3)."""

    seed: int | None = None
    """Seed used."""
    media_generation_id: str = ""
    """``user:{userid}-email:{hex}-image:{id}`` — reference id for follow-up calls."""
    media_visibility: str = ""
    """``"PRIVATE"`` or ``"PUBLIC"``."""
    prompt: str = ""
    """Prompt used."""
    model_name_type: str = ""
    """``modelNameType``: ``HARBOR_SEAL | GEM_PIX_2 | NARWHAL`` (older: ``IMAGEN_3_5``, ``R2I``,
    ``GEM_PIX``)."""
    workflow_id: str = ""
    """Workflow identifier."""
    fife_url: str | None = None
    """``fifeUrl`` — signed image URL (either this or :attr:`encoded_image`, never both)."""
    encoded_image: str | None = None
    """``encodedImage`` — base64 image bytes when no URL is given."""
    aspect_ratio: str = ""
    """``IMAGE_ASPECT_RATIO_LANDSCAPE | PORTRAIT | ...``."""
    request_data: dict[str, Any] = msgspec.field(default_factory=dict)
    """``requestData`` — prompt inputs and reference images; free-form."""


class ImagePayload(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """``media[].image``."""

    generated_image: GeneratedImage | None = None
    """``generatedImage``."""


class MediaEntry(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """One raw ``media[]`` entry: a video (``video``, ``videoUrl``) or an image (``image``).

    Current shape since May 2026 (POST /videos › Model; GET /jobs/{jobid} supplement §5).
    Prefer the unified :class:`MediaItem` from ``.media``.
    """

    name: str = ""
    """Media identifier (raw UUID)."""
    project_id: str = ""
    """Flow project id."""
    workflow_id: str = ""
    """Workflow id."""
    workflow_step_id: str = ""
    """Workflow step, e.g. ``"CAE"``."""
    media_metadata: MediaMetadata | None = None
    """``mediaMetadata`` — status, title, Google request data."""
    video: VideoPayload | None = None
    """``video`` — present on video entries."""
    image: ImagePayload | None = None
    """``image`` — present on image entries."""
    media_generation_id: str = ""
    """Reference id of a video entry (images carry it in ``image.generatedImage``)."""
    video_url: str | None = None
    """``videoUrl`` — signed MP4 URL."""
    thumbnail_url: str | None = None
    """``thumbnailUrl`` — signed JPEG thumbnail URL."""

    def to_item(self) -> MediaItem:
        """The unified :class:`MediaItem` for this entry.

        ``kind`` is ``"image"`` when the entry has an ``image`` object (or, with neither
        ``image`` nor ``video``, when its id says ``-image:``), else ``"video"``.
        """
        status_obj = self.media_metadata.media_status if self.media_metadata else None
        status = status_obj.media_generation_status if status_obj else ""
        title = self.media_metadata.media_title if self.media_metadata else ""
        if self.image is not None:
            img = self.image.generated_image or GeneratedImage()
            return MediaItem(
                kind="image",
                media_generation_id=img.media_generation_id or self.media_generation_id,
                url=img.fife_url or None,
                encoded=img.encoded_image or None,
                seed=img.seed,
                prompt=img.prompt or title,
                model=img.model_name_type,
                aspect_ratio=img.aspect_ratio,
                status=status,
            )
        looks_like_image = (
            self.video is None and not self.video_url and "-image:" in self.media_generation_id
        )
        gen = (self.video.generated_video if self.video else None) or GeneratedVideo()
        return MediaItem(
            kind="image" if looks_like_image else "video",
            media_generation_id=self.media_generation_id,
            url=self.video_url or None,
            thumbnail_url=self.thumbnail_url or None,
            seed=gen.seed,
            prompt=gen.prompt or title,
            model=gen.model,
            aspect_ratio=gen.aspect_ratio,
            status=status,
        )


class LegacyVideo(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """Legacy video object: ``operations[].operation.metadata.video`` or ``operations[].video``.

    Deprecated shape (GET /jobs/{jobid} Nov 2025; POST /videos/upscale and /extend Jan 2026).
    """

    seed: int | None = None
    """Seed used."""
    media_generation_id: str = ""
    """Reference id of the video."""
    prompt: str = ""
    """Prompt used."""
    fife_url: str | None = None
    """``fifeUrl`` — signed MP4 URL."""
    uri: str | None = None
    """``uri`` — storage URL (Nov 2025 job records); used when ``fifeUrl`` is absent."""
    media_visibility: str = ""
    """``"PRIVATE"``."""
    serving_base_uri: str | None = None
    """``servingBaseUri`` — signed JPEG thumbnail URL."""
    model: str = ""
    """Internal model: ``veo_3_1_t2v``, ``veo_3_1_upsampler_1080p``, ..."""
    is_looped: bool = False
    """``isLooped``."""
    aspect_ratio: str = ""
    """``VIDEO_ASPECT_RATIO_LANDSCAPE | PORTRAIT``."""


class OperationMetadata(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """``operations[].operation.metadata`` (legacy, present when completed)."""

    type: str = msgspec.field(name="@type", default="")
    """``@type`` — ``type.googleapis.com/google.internal.labs.aisandbox.v1.Media``."""
    name: str = ""
    """Media name."""
    video: LegacyVideo | None = None
    """The generated video."""


class OperationInfo(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """``operations[].operation``."""

    name: str = ""
    """Operation identifier."""
    error: GoogleError | None = None
    """``{code, message}`` when this operation failed (message may be a reason token)."""
    metadata: OperationMetadata | None = None
    """Present when completed."""


class Operation(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """One legacy ``operations[]`` entry (201 bodies, older jobs, /videos/upscale 200).

    Deprecated in favour of ``media[]``; read through ``.media`` which handles both.
    """

    operation: OperationInfo | None = None
    """``operation`` — name, error, metadata."""
    scene_id: str = ""
    """``sceneId``."""
    media_generation_id: str = ""
    """Reference id (present when completed)."""
    status: str = ""
    """``MEDIA_GENERATION_STATUS_*`` (or Nov 2025 ``VIDEO_GENERATION_STATUS_SUCCEEDED``)."""
    video: LegacyVideo | None = None
    """Nov 2025 job records put the video here instead of ``operation.metadata.video``."""
    raw_bytes: str | None = None
    """``rawBytes`` — base64 video, sent instead of URLs when re-upscaling the same video."""

    @property
    def state(self) -> MediaGenerationStatus:
        """:attr:`status` as a :class:`MediaGenerationStatus`."""
        return MediaGenerationStatus.parse(self.status)

    def to_item(self) -> MediaItem | None:
        """The unified :class:`MediaItem`, or ``None`` for a pending operation that carries no
        media yet (no video, no id, no bytes)."""
        video = (
            self.operation.metadata.video if self.operation and self.operation.metadata else None
        )
        video = video or self.video
        if video is None and not self.media_generation_id and not self.raw_bytes:
            return None
        v = video or LegacyVideo()
        return MediaItem(
            kind="video",
            media_generation_id=self.media_generation_id or v.media_generation_id,
            url=v.fife_url or v.uri or None,
            thumbnail_url=v.serving_base_uri or None,
            encoded=self.raw_bytes or None,
            seed=v.seed,
            prompt=v.prompt,
            model=v.model,
            aspect_ratio=v.aspect_ratio,
            status=self.status,
        )


def unify_media(
    raw_media: tuple[MediaEntry, ...], operations: tuple[Operation, ...]
) -> tuple[MediaItem, ...]:
    """Unified items: ``media[]`` when present (preferred), else legacy ``operations[]``.

    ``/videos/upscale`` 200 carries both; ``media[]`` wins (supplement §10.3). Pending
    operations without media are skipped.
    """
    if raw_media:
        return tuple(entry.to_item() for entry in raw_media)
    items = (op.to_item() for op in operations)
    return tuple(item for item in items if item is not None)


class JobResponse(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """``response`` of a job record or error body (GET /jobs/{jobid} › Model; supplement §5).

    Holds the media (``media[]`` now, ``operations[]`` before May 2026), credits, captcha
    metadata and, on failure, Google's error.
    """

    raw_media: tuple[MediaEntry, ...] = msgspec.field(name="media", default=())
    """``media[]`` exactly as sent (videos and/or images); prefer :attr:`media`."""
    operations: tuple[Operation, ...] = ()
    """Legacy ``operations[]`` (201 bodies, older jobs, upscale, failed ops)."""
    remaining_credits: int | float | None = None
    """``remainingCredits`` — Flow credits left on the account after a video job."""
    captcha: CaptchaInfo | None = None
    """Captcha metadata (present when captcha was used)."""
    error: str | GoogleError | None = None
    """Google's error on failure (an object; a string is accepted too)."""

    @property
    def media(self) -> tuple[MediaItem, ...]:
        """Unified media items (see :func:`unify_media`)."""
        return unify_media(self.raw_media, self.operations)
