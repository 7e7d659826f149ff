"""Server-owned strings shared by several resources (never used as wire types).

Each is a :class:`~flowapi.types._base.LenientStrEnum` helper: the wire type stays ``str``;
``.parse()`` falls back to ``UNKNOWN``. Job and media statuses, video and image models, aspect
ratios and resolutions, captcha providers, Google error reasons and the 429 rate-limit reasons
(with their cooldown :attr:`~RateLimitReason.scope`).

Doc references name the spec sections: "POST /videos › Responses › 200" is the current
(June 2026) page in ``spec/seeds/post-videos.txt``; "supplement §5" is
``spec/api-reference-supplement.md``.
"""

from __future__ import annotations

from ._base import LenientStrEnum

__all__ = [
    "AspectRatio",
    "CaptchaProvider",
    "ErrorReason",
    "ImageModel",
    "ImageUpscaleResolution",
    "JobStatus",
    "JobType",
    "MediaGenerationStatus",
    "RateLimitReason",
    "VideoModel",
    "VideoResolution",
    "VideoUpscaleResolution",
]


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
        """``"account"``, ``"model"``, ``"request"`` or ``"all"`` — what the cooldown applies
        to, from flowapi's one table of 429 reasons (``flowapi._rate_limits``).

        ``no_eligible_account`` covers every account for the model: ``"all"``. Unknown
        reasons are treated as ``"request"`` (the narrowest scope).
        """
        from flowapi._rate_limits import rate_limit_rule

        return rate_limit_rule(self.value).scope
