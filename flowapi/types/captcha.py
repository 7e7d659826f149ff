"""Captcha providers (GET/POST /accounts/captcha-providers) and GET /accounts/captcha-stats.

The per-response ``captcha`` block of generation responses is :class:`CaptchaInfo` (with its
:class:`CaptchaAttempt` entries), defined at the end of this module.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ._base import UNSET, OpenStruct, ResponseStruct, UnsetType, WireParams
from .enums import CaptchaProvider

__all__ = [
    "CaptchaAttempt",
    "CaptchaInfo",
    "CaptchaProviders",
    "CaptchaProvidersParams",
    "CaptchaStats",
    "CaptchaStatsRow",
    "CaptchaStatsSummary",
]


class CaptchaProviders(OpenStruct, kw_only=True, frozen=True):
    """GET/POST /accounts/captcha-providers 200: masked keys and/or free credits.

    Each provider field holds the masked key (``"abc12…"``); ``None`` (or ``""``) when not
    configured. ``freeCaptchaCredits`` appears when no provider is configured and free
    credits remain (300 since 2026, api-update-2026-h2 §5.4). Providers this SDK does not
    know yet are kept in ``extra`` and listed by :attr:`configured` — never dropped.
    """

    ez_captcha: str | None = msgspec.field(name="EzCaptcha", default=None)
    """Masked EzCaptcha key."""
    cap_solver: str | None = msgspec.field(name="CapSolver", default=None)
    """Masked CapSolver key."""
    yes_captcha: str | None = msgspec.field(name="YesCaptcha", default=None)
    """Masked YesCaptcha key."""
    anti_captcha: str | None = msgspec.field(name="AntiCaptcha", default=None)
    """Masked AntiCaptcha key."""
    cap_monster: str | None = msgspec.field(name="CapMonster", default=None)
    """Masked CapMonster key."""
    solve_captcha: str | None = msgspec.field(name="SolveCaptcha", default=None)
    """Masked SolveCaptcha key."""
    two_captcha: str | None = msgspec.field(name="2Captcha", default=None)
    """Masked 2Captcha key."""
    free_captcha_credits: int | None = msgspec.field(name="freeCaptchaCredits", default=None)
    """Remaining free (CapSolver-powered) solves; only shown with no providers configured."""

    @property
    def configured(self) -> dict[str, str]:
        """Provider name (API spelling) → masked key, for every configured provider —
        known ones and any new provider the server lists (from ``extra``)."""
        found = {
            info.encode_name: value
            for info in msgspec.structs.fields(self)
            if isinstance(value := getattr(self, info.name), str) and value
        }
        found.update({k: v for k, v in self.extra.items() if isinstance(v, str) and v})
        return found


class CaptchaProvidersParams(WireParams, kw_only=True):
    """Body of POST /accounts/captcha-providers: provider name → API key (only those set)."""

    ez_captcha: str | UnsetType = msgspec.field(name="EzCaptcha", default=UNSET)
    """EzCaptcha API key (~$2.50 / 1,000 solves)."""
    cap_solver: str | UnsetType = msgspec.field(name="CapSolver", default=UNSET)
    """CapSolver API key (~$3.00 / 1,000 solves)."""
    yes_captcha: str | UnsetType = msgspec.field(name="YesCaptcha", default=UNSET)
    """YesCaptcha API key."""
    anti_captcha: str | UnsetType = msgspec.field(name="AntiCaptcha", default=UNSET)
    """AntiCaptcha API key."""
    cap_monster: str | UnsetType = msgspec.field(name="CapMonster", default=UNSET)
    """CapMonster API key."""
    solve_captcha: str | UnsetType = msgspec.field(name="SolveCaptcha", default=UNSET)
    """SolveCaptcha API key."""
    two_captcha: str | UnsetType = msgspec.field(name="2Captcha", default=UNSET)
    """2Captcha API key."""


class CaptchaStatsSummary(OpenStruct, kw_only=True, frozen=True):
    """``summary`` of GET /accounts/captcha-stats (supplement §8); omitted when nothing matched.

    Wire keys are already snake_case here. Every count and rate is a number that may carry
    decimals (rates are percentages such as ``97.35``); keys added later stay in ``extra``.
    """

    from_: str | None = msgspec.field(name="from", default=None)
    """ISO-8601 start of the sampled window."""
    to: str | None = None
    """ISO-8601 end of the sampled window."""
    time_span: str | float | None = None
    """Span of the window (text such as ``"10h 30m"``, or a number)."""
    sample_size_by_provider: dict[str, float] = msgspec.field(default_factory=dict)
    """Provider → number of records."""
    success_rate_by_provider: dict[str, float] = msgspec.field(default_factory=dict)
    """Provider → success rate, percent (503s excluded)."""
    sample_size_by_tier: dict[str, float] = msgspec.field(default_factory=dict)
    """Plan tier (e.g. ``PAYGATE_TIER_TWO``) → records."""
    success_rate_by_tier: dict[str, float] = msgspec.field(default_factory=dict)
    """Plan tier → success rate, percent."""
    sample_size_by_sku: dict[str, float] = msgspec.field(default_factory=dict)
    """SKU (e.g. ``WS_ULTRA``) → records."""
    success_rate_by_sku: dict[str, float] = msgspec.field(default_factory=dict)
    """SKU → success rate, percent."""
    by_status_code_images: dict[str, float] = msgspec.field(default_factory=dict)
    """``"200"``, ``"403"``, ``"429:PUBLIC_ERROR_…"``, ``"503"`` → count or share, image
    routes."""
    by_status_code_videos: dict[str, float] = msgspec.field(default_factory=dict)
    """Same for video routes."""
    avg_captcha_ms: float | None = None
    """Average captcha solve time, milliseconds."""
    avg_api_ms: float | None = None
    """Average upstream API time, milliseconds."""
    avg_attempt: float | None = None
    """Average attempt number."""
    lookup: dict[str, Any] = msgspec.field(default_factory=dict)
    """``{tiers: {...}, skus: {...}}`` code → label tables."""


class CaptchaStatsRow(OpenStruct, kw_only=True, frozen=True, rename="camel"):
    """One ``data[]`` row of GET /accounts/captcha-stats (supplement §8). Absent optional
    strings are ``None``."""

    timestamp: str | None = None
    """ISO-8601 time of the attempt."""
    job_id: str | None = None
    """``jobId``, e.g. ``"20260203103000123-user:123-bot:google-flow"``."""
    provider: str | None = None
    """Provider name; see :class:`~flowapi.types.CaptchaProvider`."""
    task_id: str | None = None
    """Provider task id."""
    route: str | None = None
    """``post-images | post-videos | post-videos-upscale | post-videos-extend | ...``."""
    status_text: str | None = None
    """HTTP status text."""
    page_action: str | None = None
    """``IMAGE_GENERATION | VIDEO_GENERATION``."""
    error: str | None = None
    """Error text, if any."""
    reason: str | None = None
    """Google reason, if any."""
    tier: str | None = None
    """Plan tier."""
    sku: str | None = None
    """Plan SKU."""
    status_code: int = 0
    """HTTP status (0 = network error)."""
    captcha_duration_ms: float = 0.0
    """Captcha solve time, milliseconds."""
    api_duration_ms: float = 0.0
    """Upstream API time, milliseconds."""
    attempt_number: int = 0
    """1-based attempt number."""


class CaptchaStats(OpenStruct, kw_only=True, frozen=True):
    """GET /accounts/captcha-stats 200 (supplement §8). ``anonymized=true`` → no ``data``.

    Decoded leniently (numbers with decimals, numbers sent as strings); unknown keys stay in
    ``extra``.
    """

    date: str | None = None
    """Queried date (``YYYY-MM-DD``)."""
    limit: int | None = None
    """Queried record limit (max 50000)."""
    provider: str | None = None
    """Queried provider filter."""
    total: int = 0
    """Records matched."""
    summary: CaptchaStatsSummary | None = None
    """Aggregates; absent when no records match."""
    data: list[CaptchaStatsRow] = msgspec.field(default_factory=list)
    """Individual attempts (absent with ``anonymized=true``)."""


# ---------------------------------------------------------------------------------------------
# Captcha block
# ---------------------------------------------------------------------------------------------


class CaptchaAttempt(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """One entry of ``captcha.attempts[]`` (POST /videos › Model › captcha)."""

    service: str | None = None
    """Provider name, see :class:`CaptchaProvider`; ``None`` if absent."""
    task_id: str | None = None
    """``taskId`` at the provider (``None`` when absent, e.g. ``UserProvided``)."""
    duration_ms: int | float = 0
    """``durationMs`` — solve time of this attempt, milliseconds."""
    success: bool = False
    """Whether the provider returned a token (Google may still reject it)."""
    error: Any = None
    """Provider error for a failed attempt (string in the docs; shape not guaranteed)."""


class CaptchaInfo(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """``captcha`` — captcha metadata of a generation response (supplement §1.6)."""

    service: str | None = None
    """Provider that produced the final token, or ``UserProvided``; ``None`` if absent."""
    task_id: str | None = None
    """``taskId`` at the provider (``None`` when absent, e.g. ``UserProvided``)."""
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
