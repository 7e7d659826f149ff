"""POST/GET/DELETE /accounts (Google Flow account configuration).

Sensitive values (cookie values, access tokens) come back redacted and emails partially
masked (GET accounts/email › Responses › 200).
"""

from __future__ import annotations

from typing import Any

import msgspec

from ._base import ResponseStruct, WireParams

__all__ = [
    "Account",
    "AccountCreated",
    "AccountCredits",
    "AccountDeleted",
    "AccountModels",
    "AccountParams",
    "AccountSummary",
    "AccountsMap",
    "Cookie",
    "NextRefresh",
    "Project",
    "SessionData",
    "SessionUser",
    "VideoModelInfo",
]


class Cookie(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """One of ``accountCookies[]`` / ``sessionCookies[]`` (GET accounts/email › Model)."""

    name: str = ""
    """Cookie name, e.g. ``HSID``."""
    value: str = ""
    """Cookie value (redacted)."""
    domain: str = ""
    """Cookie domain, e.g. ``.google.com``."""
    path: str = ""
    """Cookie path."""
    expires: str | int | float | None = None
    """Expiry: an ISO-8601 string or a number (the docs say ``string | number``)."""
    http_only: bool = False
    """``httpOnly``."""
    secure: bool = False
    """``secure``."""
    same_site: str = ""
    """``sameSite``: ``Lax``, ``Strict`` or ``None``."""


class SessionUser(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """``sessionData.user``."""

    name: str = ""
    """Display name."""
    email: str = ""
    """Email (partially masked)."""
    image: str = ""
    """Avatar URL."""


class SessionData(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """``sessionData`` — the Flow session."""

    user: SessionUser | None = None
    """Signed-in user."""
    expires: str = ""
    """ISO-8601 session expiry."""
    access_token: str = msgspec.field(name="access_token", default="")
    """Access token (redacted)."""


class Project(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """``project`` — the Flow project auto-created for the session."""

    project_id: str = ""
    """Project UUID."""
    project_title: str = ""
    """Project title, e.g. ``"Nov 11 - 02:56"``."""


class NextRefresh(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """``nextRefresh`` — scheduled session refresh (1 h before expiry)."""

    message_id: str = ""
    """Scheduler message id."""
    scheduled_for: str = ""
    """ISO-8601 time of the next refresh."""


class AccountCredits(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """``credits`` (only when ``health`` is ``"OK"``)."""

    credits: int | float | None = None
    """Remaining Flow credits."""
    user_paygate_tier: str = ""
    """``userPaygateTier``, e.g. ``PAYGATE_TIER_TWO`` (Ultra)."""


class VideoModelInfo(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """One of ``models.videoModels[]`` (GET accounts/email › Responses › 200)."""

    key: str = ""
    """Google's model key, e.g. ``veo_3_1_t2v_fast_ultra``, ``veo_3_1_t2v``."""
    display_name: str = ""
    """E.g. ``"Veo 3.1 - Fast"``."""
    supported_aspect_ratios: tuple[str, ...] = ()
    """``VIDEO_ASPECT_RATIO_*`` values."""
    capabilities: tuple[str, ...] = ()
    """``VIDEO_MODEL_CAPABILITY_*`` values."""
    video_length_seconds: float | None = None
    """Output length, seconds."""
    video_generation_time_seconds: float | None = None
    """Typical generation time, seconds — the poller's first-poll hint."""
    credit_cost: int | float | None = None
    """Credits per generation; absent for ``_ultra`` keys (unlimited on Ultra)."""
    frames_per_second: int | float | None = None
    """Frame rate, e.g. 24."""
    paygate_tier: str = ""
    """Required plan tier."""
    access_type: str = ""
    """E.g. ``MODEL_ACCESS_TYPE_GENERAL``."""
    model_access_info: dict[str, Any] = msgspec.field(default_factory=dict)
    """Free-form access info."""
    model_metadata: dict[str, Any] = msgspec.field(default_factory=dict)
    """Free-form, e.g. ``{"veoModelName": "Beta Audio"}``."""


class AccountModels(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """``models`` (only when ``health`` is ``"OK"``)."""

    video_models: tuple[VideoModelInfo, ...] = ()
    """``videoModels[]``."""


class AccountSummary(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """A value of the GET /accounts map (email → summary; GET accounts › Responses › 200)."""

    created: str = ""
    """ISO-8601 time the account was configured."""
    health: str = ""
    """``"OK"`` or error information."""
    error: str = ""
    """Error message, if any."""
    next_refresh: NextRefresh | None = None
    """Next scheduled session refresh."""
    project: Project | None = None
    """The session's Flow project."""
    session_data: SessionData | None = None
    """Session data (here only ``expires``)."""

    @property
    def is_healthy(self) -> bool:
        """``health == "OK"``."""
        return self.health == "OK"


AccountsMap = dict[str, AccountSummary]
"""The GET /accounts body: account email → :class:`AccountSummary` (``{}`` when none)."""


class AccountCreated(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """200/201 body of POST /accounts (201 created, 200 updated; POST accounts › Model).

    Tell the two apart with :attr:`is_new` / :attr:`is_update` (from the HTTP status, which
    the body itself does not carry).
    """

    created: str | None = None
    """ISO-8601 time the account was first configured."""
    account_cookies: tuple[Cookie, ...] = ()
    """Google account cookies (values redacted)."""
    session_cookies: tuple[Cookie, ...] = ()
    """Flow session cookies (values redacted)."""
    session_data: SessionData | None = None
    """Session information."""
    project: Project | None = None
    """Auto-created Flow project."""
    next_refresh: NextRefresh | None = None
    """Scheduled refresh."""
    health: str | None = None
    """``"OK"`` or error information (optional here)."""
    error: str | None = None
    """Error message, if any."""

    @property
    def is_new(self) -> bool:
        """``True`` when the account was created (HTTP 201)."""
        return self.http_status == 201

    @property
    def is_update(self) -> bool:
        """``True`` when an existing account was updated (HTTP 200)."""
        return self.http_status == 200


class Account(AccountCreated, kw_only=True, frozen=True, rename="camel"):
    """200 body of GET /accounts/{email}: configuration, health, credits and video models.

    ``credits`` and ``models`` are present only when ``health`` is ``"OK"``.
    """

    credits: AccountCredits | None = None
    """Remaining credits and plan tier."""
    models: AccountModels | None = None
    """Available video models with ``videoGenerationTimeSeconds``."""

    @property
    def is_healthy(self) -> bool:
        """``health == "OK"``."""
        return self.health == "OK"

    @property
    def video_models(self) -> tuple[VideoModelInfo, ...]:
        """``models.videoModels`` (empty when absent)."""
        return self.models.video_models if self.models is not None else ()

    def video_model(self, model: str) -> VideoModelInfo | None:
        """Find a video model by Google key or key prefix, or by the API's model name.

        An exact ``key`` wins; else the shortest key starting with ``model`` (so
        ``"veo_3_1_t2v"`` is Quality, ``"veo_3_1_t2v_fast"`` matches
        ``veo_3_1_t2v_fast_ultra``). API names (``veo-3.1-fast``) are matched on the display
        name (``"Veo 3.1 - Fast"``) [inferred mapping].
        """
        candidates = self.video_models
        for info in candidates:
            if info.key == model:
                return info
        prefixed = [info for info in candidates if info.key.startswith(model)]
        if prefixed:
            return min(prefixed, key=lambda info: len(info.key))
        display = _DISPLAY_NAMES.get(model)
        if display is not None:
            for info in candidates:
                if info.display_name.casefold() == display.casefold():
                    return info
        return None

    def generation_time_seconds(self, model_key_prefix: str) -> float | None:
        """``videoGenerationTimeSeconds`` of :meth:`video_model` (seconds), or ``None``."""
        info = self.video_model(model_key_prefix)
        return info.video_generation_time_seconds if info is not None else None


_DISPLAY_NAMES: dict[str, str] = {
    "veo-3.1-fast": "Veo 3.1 - Fast",
    "veo-3.1-quality": "Veo 3.1 - Quality",
    "veo-3.1-lite": "Veo 3.1 - Lite",
    "veo-3.1-lite-low-priority": "Veo 3.1 - Lite Lower Priority",
    "omni-flash": "Gemini Omni Flash",
}


class AccountDeleted(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """200 body of DELETE /accounts/{email}."""

    message: str = ""
    """E.g. ``"Google Flow account john@gmail.com deleted"``."""


class AccountParams(WireParams, kw_only=True):
    """Body of POST /accounts (POST accounts › Request Body)."""

    cookies: str
    """Required. The ``accounts.google.com`` cookie table copied from DevTools
    (tab-separated: ``Name\\tValue\\tDomain\\tPath\\tExpires...``, one cookie per line)."""
