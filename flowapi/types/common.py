"""Shared response pieces: enums, the Google error envelope, captcha metadata, media items.

Everything here is used by more than one resource:

* server-owned strings as :class:`~flowapi.types._base.LenientStrEnum` helpers (the wire type
  stays ``str``; ``.parse()`` falls back to ``UNKNOWN``);
* :class:`GoogleError` — the error object Google forwards (``{code, message, status,
  details[]}``) and :class:`ErrorBody` — the useapi.net error envelope (``error`` may be a
  string *or* a :class:`GoogleError`);
* :class:`CaptchaInfo` — the ``captcha`` block of generation responses;
* the raw ``media[]`` entries (:class:`MediaEntry`, current shape since May 2026) and legacy
  ``operations[]`` (:class:`Operation`), plus :class:`MediaItem`, the one unified view that
  ``Job.media``, ``VideoResult.media`` and ``ImageResult.media`` return for every shape.

Doc references name the spec sections: "POST /videos › Responses › 200" is the current
(June 2026) page in ``spec/seeds/post-videos.txt``; "supplement §5" is
``spec/api-reference-supplement.md``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import msgspec

from ._base import UNSET, LenientStrEnum, ResponseStruct, UnsetType, WireParams, parse_iso8601

if TYPE_CHECKING:
    from datetime import datetime

    from .jobs import Job

__all__ = [
    "AspectRatio",
    "CallbackParams",
    "CaptchaAttempt",
    "CaptchaInfo",
    "CaptchaParams",
    "CaptchaProvider",
    "ErrorBody",
    "ErrorDetail",
    "ErrorReason",
    "GeneratedImage",
    "GeneratedVideo",
    "GoogleError",
    "ImageModel",
    "ImagePayload",
    "ImageUpscaleResolution",
    "JobIdFields",
    "JobResponse",
    "JobStatus",
    "JobType",
    "LegacyVideo",
    "MediaEntry",
    "MediaGenerationStatus",
    "MediaItem",
    "MediaMetadata",
    "MediaStatus",
    "Operation",
    "OperationInfo",
    "OperationMetadata",
    "OperationName",
    "RateLimitReason",
    "SkipReason",
    "VideoDimensions",
    "VideoModel",
    "VideoPayload",
    "VideoResolution",
    "VideoUpscaleResolution",
    "describe_error",
    "find_reason",
    "unify_media",
]


# ---------------------------------------------------------------------------------------------
# Enums (server-owned strings; never used as wire types)
# ---------------------------------------------------------------------------------------------


class JobStatus(LenientStrEnum):
    """Job ``status`` (GET /jobs/{jobid} › Model): ``created → started → completed|failed``."""

    CREATED = "created"
    """Accepted; the 201 body of an ``async: true`` submit says this."""
    STARTED = "started"
    """Generation running on Google's side."""
    COMPLETED = "completed"
    """Finished; media are in ``response.media[]`` (or legacy ``response.operations[]``)."""
    FAILED = "failed"
    """Finished with an error (``error``, ``errorDetails``, ``code``, ``response.error``)."""
    UNKNOWN = "UNKNOWN"
    """A status this SDK does not know yet; treat as "not finished"."""

    @property
    def is_finished(self) -> bool:
        """``True`` for ``completed`` and ``failed`` (terminal states)."""
        return self in (JobStatus.COMPLETED, JobStatus.FAILED)


class JobType(LenientStrEnum):
    """Job record ``type`` (GET /jobs/{jobid} › Model)."""

    VIDEO = "video"
    """A POST /videos, /videos/extend or /videos/upscale job (jobid contains ``v-u``)."""
    IMAGE = "image"
    """A POST /images job (jobid contains ``i-u``)."""
    UNKNOWN = "UNKNOWN"
    """A type this SDK does not know yet."""


class MediaGenerationStatus(LenientStrEnum):
    """``mediaMetadata.mediaStatus.mediaGenerationStatus`` / ``operations[].status``."""

    PENDING = "MEDIA_GENERATION_STATUS_PENDING"
    """Queued (the 201 body's operations say this)."""
    PROCESSING = "MEDIA_GENERATION_STATUS_PROCESSING"
    """Generating (legacy GET /jobs/{jobid} Nov 2025)."""
    SUCCESSFUL = "MEDIA_GENERATION_STATUS_SUCCESSFUL"
    """Done, media available."""
    FAILED = "MEDIA_GENERATION_STATUS_FAILED"
    """This media item failed (see its ``error``)."""
    LEGACY_SUCCEEDED = "VIDEO_GENERATION_STATUS_SUCCEEDED"
    """Nov 2025 job records' spelling of success (GET /jobs/{jobid}, Nov 2025 example)."""
    UNKNOWN = "UNKNOWN"
    """A status this SDK does not know yet."""

    @property
    def is_success(self) -> bool:
        """``True`` for both success spellings."""
        return self in (MediaGenerationStatus.SUCCESSFUL, MediaGenerationStatus.LEGACY_SUCCEEDED)


class VideoModel(LenientStrEnum):
    """``model`` of POST /videos and /videos/extend (POST /videos › Model Capabilities › Models)."""

    VEO_3_1_FAST = "veo-3.1-fast"
    """Veo 3.1 Fast — the default; 4/6/8 s; 20 credits (Ultra: 10)."""
    VEO_3_1_QUALITY = "veo-3.1-quality"
    """Veo 3.1 Quality — 8 s only, no R2V/characters; 100 credits."""
    VEO_3_1_LITE = "veo-3.1-lite"
    """Veo 3.1 Lite — 4/6/8 s; 10 credits (Ultra: 5)."""
    VEO_3_1_LITE_LOW_PRIORITY = "veo-3.1-lite-low-priority"
    """Veo 3.1 Lite Lower Priority — Ultra $200 only, 0 credits, lower priority."""
    OMNI_FLASH = "omni-flash"
    """Gemini Omni Flash — audio-native, 4/6/8/10 s, R2V up to 7 refs, V2V edit."""
    OMNI_FLASH_1_2 = "omni-flash-1.2"
    """Omni Flash 1.2 (Nov 2026, supplement §10.1) — 3–15 s; also extends."""
    UNKNOWN = "UNKNOWN"
    """A model this SDK does not know yet."""


class ImageModel(LenientStrEnum):
    """``model`` of POST /images (supplement §9.1; default ``nano-banana-2-lite``, July 2026)."""

    NANO_BANANA_2_LITE = "nano-banana-2-lite"
    """Nano Banana 2 Lite (Gemini 3.1 Flash-Lite Image) — the default; up to 10 refs."""
    NANO_BANANA_2 = "nano-banana-2"
    """Nano Banana 2 (Gemini 3.1 Flash Image); up to 10 refs; upscalable."""
    NANO_BANANA_PRO = "nano-banana-pro"
    """Nano Banana Pro (Gemini 3 Pro Image); up to 10 refs; upscalable."""
    NANO_BANANA = "nano-banana"
    """Alias of ``nano-banana-2`` (older docs: Gemini 2.5 Flash Image)."""
    IMAGEN_4 = "imagen-4"
    """Alias of ``nano-banana-2-lite`` since Imagen left Flow (July 2026)."""
    UNKNOWN = "UNKNOWN"
    """A model this SDK does not know yet."""


class AspectRatio(LenientStrEnum):
    """``aspectRatio`` request values (POST /videos › Aspect ratio; supplement §9.2 for images)."""

    LANDSCAPE = "landscape"
    """16:9 landscape — the default for videos."""
    PORTRAIT = "portrait"
    """9:16 portrait."""
    SQUARE = "1:1"
    """Square (Veo videos, images)."""
    FOUR_THREE = "4:3"
    """4:3 (Veo videos, images)."""
    THREE_FOUR = "3:4"
    """3:4 (Veo videos, images)."""
    SIXTEEN_NINE = "16:9"
    """16:9 (images)."""
    NINE_SIXTEEN = "9:16"
    """9:16 (images)."""
    AUTO = "auto"
    """Images only, with at least one reference: derived from the first reference."""
    UNKNOWN = "UNKNOWN"
    """A value this SDK does not know yet."""


class VideoResolution(LenientStrEnum):
    """POST /videos ``resolution`` (supplement §10.2, ~Sep 2026)."""

    P720 = "720p"
    """720p — the default."""
    P360 = "360p"
    """360p — omni-flash only, about half the credits; promote later with /videos/upscale."""
    UNKNOWN = "UNKNOWN"
    """A value this SDK does not know yet."""


class VideoUpscaleResolution(LenientStrEnum):
    """POST /videos/upscale ``resolution`` (videos/upscale › Request Body; supplement §10.4)."""

    P1080 = "1080p"
    """1080p — the default, free."""
    K4 = "4K"
    """4K — Ultra only, 50 credits (cached on repeat)."""
    P720 = "720p"
    """720p — promotes 360p omni-flash clips."""
    UNKNOWN = "UNKNOWN"
    """A value this SDK does not know yet."""


class ImageUpscaleResolution(LenientStrEnum):
    """POST /images/upscale ``resolution`` (POST images/upscale › Request Body)."""

    K2 = "2k"
    """2K — the default."""
    K4 = "4k"
    """4K — paid Google plan only."""
    UNKNOWN = "UNKNOWN"
    """A value this SDK does not know yet."""


class CaptchaProvider(LenientStrEnum):
    """Captcha provider names (``captcha.service``, captcha-providers keys, captcha-stats)."""

    CAPSOLVER = "CapSolver"
    """CapSolver (the free captcha credits run on it)."""
    ANTICAPTCHA = "AntiCaptcha"
    """AntiCaptcha."""
    YESCAPTCHA = "YesCaptcha"
    """YesCaptcha."""
    CAPMONSTER = "CapMonster"
    """CapMonster."""
    SOLVECAPTCHA = "SolveCaptcha"
    """SolveCaptcha."""
    TWOCAPTCHA = "2Captcha"
    """2Captcha."""
    EZCAPTCHA = "EzCaptcha"
    """EzCaptcha."""
    USER_PROVIDED = "UserProvided"
    """The request carried its own ``captchaToken``."""
    UNKNOWN = "UNKNOWN"
    """A provider this SDK does not know yet."""


class ErrorReason(LenientStrEnum):
    """Google ``ErrorInfo`` reasons seen in the docs (``error.details[].reason``)."""

    UNSAFE_GENERATION = "PUBLIC_ERROR_UNSAFE_GENERATION"
    """Content policy (400); a plain resubmit often passes."""
    TRUMP_FACE_DETECTED = "PUBLIC_ERROR_TRUMP_FACE_DETECTED"
    """Content policy on an uploaded asset (POST /assets 400)."""
    MINOR = "PUBLIC_ERROR_MINOR"
    """Content policy, carried as an operation error message (POST /videos 400)."""
    SOMETHING_WENT_WRONG = "PUBLIC_ERROR_SOMETHING_WENT_WRONG"
    """reCAPTCHA evaluation failed (403)."""
    UNUSUAL_ACTIVITY = "PUBLIC_ERROR_UNUSUAL_ACTIVITY"
    """Captcha token rejected (403 ``captcha_quality:``)."""
    UNUSUAL_ACTIVITY_TOO_MUCH_TRAFFIC = "PUBLIC_ERROR_UNUSUAL_ACTIVITY_TOO_MUCH_TRAFFIC"
    """Low reCAPTCHA score (429, per request)."""
    USER_REQUESTS_THROTTLED = "PUBLIC_ERROR_USER_REQUESTS_THROTTLED"
    """Per-user concurrency (429, whole account)."""
    PER_MODEL_DAILY_QUOTA_REACHED = "PUBLIC_ERROR_PER_MODEL_DAILY_QUOTA_REACHED"
    """Per-model daily quota (429, this model on this account)."""
    PER_MODEL_DAILY_QUOTA_REACHED_UPGRADEABLE = (
        "PUBLIC_ERROR_PER_MODEL_DAILY_QUOTA_REACHED_UPGRADEABLE"
    )
    """Per-model quota, upgradeable plan (429, POST images/upscale)."""
    USER_QUOTA_REACHED = "PUBLIC_ERROR_USER_QUOTA_REACHED"
    """Account-wide quota (429, whole account)."""
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    """Transient Google outage (503)."""
    UNKNOWN = "UNKNOWN"
    """A reason this SDK does not know yet."""


class RateLimitReason(LenientStrEnum):
    """The 429 ``RESOURCE_EXHAUSTED`` reasons (POST /videos › Response Codes › 429).

    :attr:`scope` is the cooldown scope from the POST /videos/extend 429 table.
    """

    UNUSUAL_ACTIVITY_TOO_MUCH_TRAFFIC = "PUBLIC_ERROR_UNUSUAL_ACTIVITY_TOO_MUCH_TRAFFIC"
    """Captcha-provider issue (low reCAPTCHA score); per request, ~60 s."""
    USER_REQUESTS_THROTTLED = "PUBLIC_ERROR_USER_REQUESTS_THROTTLED"
    """Per-user concurrency; all models on the account, ~30 min."""
    PER_MODEL_DAILY_QUOTA_REACHED = "PUBLIC_ERROR_PER_MODEL_DAILY_QUOTA_REACHED"
    """Per-model daily quota; that model on that account, until next UTC midnight."""
    PER_MODEL_DAILY_QUOTA_REACHED_UPGRADEABLE = (
        "PUBLIC_ERROR_PER_MODEL_DAILY_QUOTA_REACHED_UPGRADEABLE"
    )
    """Per-model quota on an upgradeable plan (POST images/upscale 429); model scope."""
    USER_QUOTA_REACHED = "PUBLIC_ERROR_USER_QUOTA_REACHED"
    """Account-wide Flow quota; all models on the account, ~30 min."""
    NO_ELIGIBLE_ACCOUNT = "no_eligible_account"
    """useapi.net's own 429: every account is quarantined for the model (``skipReasons``)."""
    UNKNOWN = "UNKNOWN"
    """A reason this SDK does not know yet."""

    @property
    def scope(self) -> str:
        """``"account"``, ``"model"`` or ``"request"`` — what the cooldown applies to.

        ``no_eligible_account`` covers every account for the model: ``"model"``. Unknown
        reasons are treated as ``"request"`` (the narrowest scope).
        """
        return _RATE_LIMIT_SCOPE.get(self, "request")


_RATE_LIMIT_SCOPE: dict[RateLimitReason, str] = {
    RateLimitReason.UNUSUAL_ACTIVITY_TOO_MUCH_TRAFFIC: "request",
    RateLimitReason.USER_REQUESTS_THROTTLED: "account",
    RateLimitReason.USER_QUOTA_REACHED: "account",
    RateLimitReason.PER_MODEL_DAILY_QUOTA_REACHED: "model",
    RateLimitReason.PER_MODEL_DAILY_QUOTA_REACHED_UPGRADEABLE: "model",
    RateLimitReason.NO_ELIGIBLE_ACCOUNT: "model",
}


# ---------------------------------------------------------------------------------------------
# Google error envelope
# ---------------------------------------------------------------------------------------------

_REASON_TOKEN = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")
_PUBLIC_ERROR = re.compile(r"\bPUBLIC_ERROR_[A-Z0-9_]+")


class ErrorDetail(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """One entry of ``error.details[]`` (POST /videos › Responses › 429)."""

    type: str = msgspec.field(name="@type", default="")
    """``@type`` — e.g. ``type.googleapis.com/google.rpc.ErrorInfo``."""
    reason: str = ""
    """ErrorInfo reason, e.g. ``PUBLIC_ERROR_UNSAFE_GENERATION``; see :class:`ErrorReason`."""
    domain: str = ""
    """ErrorInfo domain when Google sends one (not in the docs' examples)."""
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)
    """Free-form metadata, e.g. ``{"canUpgradeForQuota": "true"}`` (string or bool)."""


class GoogleError(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """The error object Google forwards: ``{code, message, status, details[]}``.

    Appears as the top-level ``error`` of an error body, as ``response.error`` of a job
    record or error body, and (with only ``code``/``message``) as an operation's or media
    item's ``error`` (POST /videos › Model › Error response structure).
    """

    code: int | None = None
    """HTTP-like status (400, 403, 429, 500, 503) or, on operation errors, a gRPC code (3)."""
    message: str = ""
    """Human message, e.g. ``"reCAPTCHA evaluation failed"``; on operation errors it can be a
    bare reason token such as ``PUBLIC_ERROR_MINOR``."""
    status: str = ""
    """gRPC status name: ``INVALID_ARGUMENT``, ``PERMISSION_DENIED``, ``RESOURCE_EXHAUSTED``,
    ``INTERNAL``, ``UNAVAILABLE``."""
    details: tuple[ErrorDetail, ...] = ()
    """ErrorInfo entries; usually one, carrying the :attr:`reason`."""

    @property
    def reason(self) -> str | None:
        """The first ErrorInfo ``reason`` in :attr:`details`; else :attr:`message` when it is a
        bare reason token (operation errors: ``{"code": 3, "message": "PUBLIC_ERROR_MINOR"}``)."""
        for detail in self.details:
            if detail.reason:
                return detail.reason
        if _REASON_TOKEN.fullmatch(self.message):
            return self.message
        return None

    @property
    def text(self) -> str:
        """One human line: ``"RESOURCE_EXHAUSTED: Resource has been exhausted ... (429)"``."""
        head = f"{self.status}: {self.message}" if self.status else self.message
        head = head or "Google API error"
        return f"{head} ({self.code})" if self.code is not None else head


def find_reason(error: str | GoogleError | None, response: JobResponse | None) -> str | None:
    """The first Google ErrorInfo reason found anywhere in an error body or job record.

    Order: the top-level ``error`` object; ``response.error``; an operation error
    (``response.operations[].operation.error``, e.g. ``PUBLIC_ERROR_MINOR``); a media item's
    ``mediaStatus.error``; finally a ``PUBLIC_ERROR_*`` token inside a string ``error`` (e.g.
    ``"captcha_quality: PUBLIC_ERROR_UNUSUAL_ACTIVITY_TOO_MUCH_TRAFFIC after 3 attempts"``).
    """
    if isinstance(error, GoogleError) and (reason := error.reason):
        return reason
    if response is not None:
        if isinstance(response.error, GoogleError) and (reason := response.error.reason):
            return reason
        for op in response.operations:
            op_error = op.operation.error if op.operation is not None else None
            if op_error is not None and (reason := op_error.reason):
                return reason
        for entry in response.raw_media:
            status = entry.media_metadata.media_status if entry.media_metadata else None
            if status is not None and status.error is not None and (reason := status.error.reason):
                return reason
        if isinstance(response.error, str) and (match := _PUBLIC_ERROR.search(response.error)):
            return match.group(0)
    if isinstance(error, str) and (match := _PUBLIC_ERROR.search(error)):
        return match.group(0)
    return None


def describe_error(
    error: str | GoogleError | None,
    response: JobResponse | None,
    *,
    message: str = "",
    details: str = "",
    code: int | None = None,
) -> str:
    """A human one-liner: error string/object, message, details, ``response.error``, reason."""
    parts: list[str] = []
    if isinstance(error, str) and error:
        parts.append(error)
    elif isinstance(error, GoogleError):
        parts.append(error.text)
    if message:
        parts.append(message)
    if details:
        parts.append(details)
    if response is not None and isinstance(response.error, GoogleError):
        parts.append(response.error.text)
    elif response is not None and isinstance(response.error, str) and response.error:
        parts.append(response.error)
    reason = find_reason(error, response)
    text = " — ".join(parts)
    if reason and reason not in text:
        parts.append(f"reason {reason}")
    if not parts:
        return f"HTTP {code}" if code is not None else "unknown error"
    return " — ".join(parts)


# ---------------------------------------------------------------------------------------------
# Captcha block
# ---------------------------------------------------------------------------------------------


class CaptchaAttempt(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """One entry of ``captcha.attempts[]`` (POST /videos › Model › captcha)."""

    service: str = ""
    """Provider name, see :class:`CaptchaProvider`."""
    task_id: str = ""
    """``taskId`` at the provider (absent for ``UserProvided``)."""
    duration_ms: int | float = 0
    """``durationMs`` — solve time of this attempt, milliseconds."""
    success: bool = False
    """Whether the provider returned a token (Google may still reject it)."""
    error: Any = None
    """Provider error for a failed attempt (string in the docs; shape not guaranteed)."""


class CaptchaInfo(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """``captcha`` — captcha metadata of a generation response (supplement §1.6)."""

    service: str = ""
    """Provider that produced the final token, or ``UserProvided``."""
    task_id: str = ""
    """``taskId`` at the provider (absent for ``UserProvided``)."""
    duration_ms: int | float = 0
    """``durationMs`` — total captcha solving time over all attempts, milliseconds."""
    attempts: tuple[CaptchaAttempt, ...] = ()
    """Every attempt, failures included (may be absent on 201 bodies)."""

    @property
    def duration_seconds(self) -> float:
        """:attr:`duration_ms` in seconds."""
        return float(self.duration_ms) / 1000.0

    @property
    def provider(self) -> CaptchaProvider:
        """:attr:`service` as a :class:`CaptchaProvider` (``UNKNOWN`` if new)."""
        return CaptchaProvider.parse(self.service)


# ---------------------------------------------------------------------------------------------
# Media: unified item + the raw wire shapes
# ---------------------------------------------------------------------------------------------


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


class JobIdFields(ResponseStruct, kw_only=True, frozen=True):
    """Base for bodies that carry a job id under either spelling.

    The async 201 body and job records say ``jobid``; sync 200 bodies and error bodies say
    ``jobId`` (supplement §1.4: "Accept either"). Read :attr:`jobid`.
    """

    raw_jobid: str = msgspec.field(name="jobid", default="")
    """``jobid`` exactly as sent (lowercase spelling), or ``""``."""
    raw_job_id: str = msgspec.field(name="jobId", default="")
    """``jobId`` exactly as sent (camelCase spelling), or ``""``."""

    @property
    def jobid(self) -> str:
        """The job id, whichever spelling the server used (``""`` when absent).

        Format ``j{digits}{v|i}-u{userid}-email:{email}-bot:google-flow``; opaque, may contain
        ``:``, ``@`` and ``*``.
        """
        return self.raw_jobid or self.raw_job_id


class SkipReason(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """One ``skipReasons[]`` entry of the ``no_eligible_account`` 429 (POST /videos › 429)."""

    email: str = ""
    """Account that was filtered out."""
    reason: str = ""
    """Google 429 reason that quarantined it; see :class:`RateLimitReason`."""
    model: str = ""
    """Quarantined model, or ``"*"`` for the whole account."""

    @property
    def rate_limit_reason(self) -> RateLimitReason:
        """:attr:`reason` as a :class:`RateLimitReason`."""
        return RateLimitReason.parse(self.reason)


class ErrorBody(JobIdFields, kw_only=True, frozen=True, rename="camel"):
    """The error envelope of every non-2xx response (POST /videos › Model › Error; supplement §1.5).

    ``error`` is a string from useapi.net (``"Unauthorized"``, ``"no_eligible_account"``,
    ``"Captcha service failed: ..."``, ``"captcha_quality: ..."``) or an object forwarded from
    Google (:class:`GoogleError`). Generation errors may echo ``jobId`` and a ``response`` with
    ``error`` / failed ``operations[]``; a 403 may carry a whole job record (see :meth:`to_job`).
    Use :attr:`reason` and :attr:`message_text` rather than digging.
    """

    error: str | GoogleError | None = None
    """String (useapi.net) or object (Google) — see the class docstring."""
    code: int | None = None
    """HTTP status echo, e.g. ``{"error": "Captcha service failed: ...", "code": 503}``."""
    message: str = ""
    """Customer-facing explanation (``no_eligible_account``)."""
    retry_after: str = ""
    """``retryAfter`` — ISO-8601 time of the earliest useful retry (429)."""
    skip_reasons: tuple[SkipReason, ...] = ()
    """``skipReasons[]`` — every account the load balancer filtered out (429)."""
    response: JobResponse | None = None
    """Upstream details: ``error`` (Google object) and/or failed ``operations[]``, captcha."""
    captcha: CaptchaInfo | None = None
    """Top-level ``captcha`` block (POST images/upscale and videos/upscale 403/429)."""
    error_details: str = ""
    """``errorDetails`` — extra detail (job-shaped errors)."""
    status: str = ""
    """Job ``status`` when the body is a failed job record (403)."""
    type: str = ""
    """Job ``type`` when the body is a failed job record (403)."""
    created: str = ""
    """Job ``created`` (ISO-8601) when the body is a job record."""
    updated: str = ""
    """Job ``updated`` (ISO-8601) when the body is a job record."""
    request: dict[str, Any] | None = None
    """Job ``request`` echo when the body is a job record (403)."""

    @property
    def reason(self) -> str | None:
        """First Google ErrorInfo reason anywhere (see :func:`find_reason`), e.g.
        ``PUBLIC_ERROR_UNSAFE_GENERATION`` for both content-policy shapes."""
        return find_reason(self.error, self.response)

    @property
    def rate_limit_reason(self) -> RateLimitReason:
        """:attr:`reason` (or ``no_eligible_account``) as a :class:`RateLimitReason`."""
        if self.is_no_eligible_account:
            return RateLimitReason.NO_ELIGIBLE_ACCOUNT
        return RateLimitReason.parse(self.reason)

    @property
    def error_text(self) -> str:
        """The string ``error`` (``""`` when the error is an object or absent)."""
        return self.error if isinstance(self.error, str) else ""

    @property
    def google_error(self) -> GoogleError | None:
        """Google's error object: the top-level ``error`` if an object, else ``response.error``."""
        if isinstance(self.error, GoogleError):
            return self.error
        if self.response is not None and isinstance(self.response.error, GoogleError):
            return self.response.error
        return None

    @property
    def message_text(self) -> str:
        """A human one-liner combining the error string/object, message, details and reason."""
        return describe_error(
            self.error,
            self.response,
            message=self.message,
            details=self.error_details,
            code=self.code,
        )

    @property
    def retry_after_at(self) -> datetime | None:
        """:attr:`retry_after` parsed (aware UTC ``datetime``), or ``None``."""
        return parse_iso8601(self.retry_after)

    @property
    def is_no_eligible_account(self) -> bool:
        """``error == "no_eligible_account"`` — every account quarantined for the model (429)."""
        return self.error_text == "no_eligible_account"

    @property
    def is_captcha_quality(self) -> bool:
        """``error`` starts with ``captcha_quality:`` — the captcha token was rejected."""
        return self.error_text.startswith("captcha_quality:")

    @property
    def is_captcha_service_failure(self) -> bool:
        """``error`` starts with ``Captcha service failed:`` — provider down or out of balance
        (503; do not retry until the provider is back)."""
        return self.error_text.startswith("Captcha service failed")

    def to_job(self) -> Job | None:
        """The job record this body carries (403 "Request rejected by Google" bodies are
        full failed job records), or ``None`` when there is no job id."""
        from .jobs import Job

        if not self.jobid:
            return None
        return Job(
            raw_jobid=self.raw_jobid,
            raw_job_id=self.raw_job_id,
            type=self.type,
            status=self.status,
            created=self.created,
            updated=self.updated,
            request=dict(self.request or {}),
            response=self.response,
            error=self.error,
            error_details=self.error_details,
            code=self.code,
        )


# ---------------------------------------------------------------------------------------------
# Request-side bases shared by the generation params
# ---------------------------------------------------------------------------------------------


class CaptchaParams(WireParams, kw_only=True):
    """Base of params for endpoints that solve a reCAPTCHA (supplement §2 "Captcha Parameters").

    POST /images, /images/upscale, /videos, /videos/upscale, /videos/extend and /voices. The
    three fields are mutually exclusive; :func:`flowapi._capabilities.validate` enforces it
    before sending (not construction, so ``FlowSession(validate=False)`` can send anything).
    """

    captcha_token: str | UnsetType = UNSET
    """``captchaToken`` — your own reCAPTCHA v3 Enterprise token; single attempt, no retry
    (stats show it as ``UserProvided``)."""
    captcha_retry: int | UnsetType = UNSET
    """``captchaRetry`` — attempts with fresh tokens, cycling through configured providers;
    1–10, server default 3 (the 403 guidance suggests 5 or more)."""
    captcha_order: str | UnsetType = UNSET
    """``captchaOrder`` — explicit provider sequence, comma-separated, repeats allowed, at most
    10 entries (e.g. ``"EzCaptcha,EzCaptcha,CapSolver"``); each needs a configured key."""


class CallbackParams(CaptchaParams, kw_only=True):
    """Base of params that accept webhook callbacks (supplement §4: POST /images, /videos,
    /videos/upscale, /videos/extend)."""

    reply_url: str | UnsetType = UNSET
    """``replyUrl`` — webhook receiving a POST per status change (``created``, ``started``,
    ``completed``, ``failed``) with the GET /jobs/{jobid} shape; at most 1024 characters."""
    reply_ref: str | UnsetType = UNSET
    """``replyRef`` — your reference, echoed as ``request.replyRef`` in the job record and
    callbacks; at most 1024 characters. The watcher puts its submit marker here when unset."""
