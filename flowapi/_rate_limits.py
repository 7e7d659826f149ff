"""The ONE table of 429 reasons (POST /videos › 429; supplement §3 Quarantine pre-filter).

Every part of flowapi that needs to know what a 429 means — the error's ``scope``, the
hint in its message, whether the transport may retry it inside the call, what the lanes
park, :attr:`flowapi.types.RateLimitReason.scope` — reads :data:`RATE_LIMIT_RULES`.

* ``PUBLIC_ERROR_USER_REQUESTS_THROTTLED``: account, ~30 min; inline per policy.
* ``PUBLIC_ERROR_USER_QUOTA_REACHED``: account, ~30 min to the next UTC midnight; never.
* ``PUBLIC_ERROR_PER_MODEL_DAILY_QUOTA_REACHED``: model, next UTC midnight; never.
* ``PUBLIC_ERROR_PER_MODEL_DAILY_QUOTA_REACHED_UPGRADEABLE``: model, next UTC midnight;
  never.
* ``PUBLIC_ERROR_UNUSUAL_ACTIVITY_TOO_MUCH_TRAFFIC``: request, 30-60 s; at most once.
* ``no_eligible_account``: all accounts for the model, ``Retry-After``; inline per policy.
* any other reason, or none: request; inline per policy.

"inline" is how often the transport may send the same request again inside one call after
that 429: ``policy`` = per :class:`~flowapi.RetryPolicy` (and only when the server's
``Retry-After`` is short: see :func:`flowapi._retry.classify`); ``never`` for daily quotas
(retrying within the day "will not succeed"; the watcher parks the lane instead); ``once``
for a low captcha score: the server already retried with fresh captcha tokens
(``captchaRetry``, default 3) and **every further try costs paid captcha solves**.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

__all__ = ["RATE_LIMIT_RULES", "RateLimitRule", "RateLimitScope", "next_utc_midnight",
           "rate_limit_rule"]

RateLimitScope = Literal["account", "model", "request", "all"]
"""What a 429 parks: the whole ``account``, one ``model`` on one account, just this
``request``, or ``all`` accounts for the model (``no_eligible_account``)."""


@dataclass(frozen=True, slots=True)
class RateLimitRule:
    """What one 429 reason means.

    Attributes:
        scope: what the cooldown applies to (see :data:`RateLimitScope`).
        inline_retries: most times the same request is sent again inside one call after
            this 429 (``None``: as the :class:`~flowapi.RetryPolicy` allows; ``0``: never).
        daily: the quota resets at the next UTC midnight: nothing succeeds before (a 429
            without ``Retry-After`` parks its lane until then). ``USER_QUOTA_REACHED`` is
            not marked daily: the docs' two versions say "next UTC midnight" and "~30 min",
            so its lane is parked for the server's ``Retry-After`` or the default cooldown,
            but it is never retried inline either.
        hint: what to do next (the docs' guidance), for error messages.
    """

    scope: RateLimitScope
    inline_retries: int | None
    daily: bool
    hint: str


RATE_LIMIT_RULES: Mapping[str, RateLimitRule] = {
    "PUBLIC_ERROR_USER_REQUESTS_THROTTLED": RateLimitRule(
        "account", None, False,
        "Google throttles this account's concurrency: run fewer parallel generations per "
        "account; it is parked for ~30 min"),
    "PUBLIC_ERROR_USER_QUOTA_REACHED": RateLimitRule(
        "account", 0, False,
        "this account hit its overall Flow quota: add accounts with POST /accounts or omit "
        "`email` to load-balance; it is parked until the quota resets (~30 min to the next "
        "UTC midnight)"),
    "PUBLIC_ERROR_PER_MODEL_DAILY_QUOTA_REACHED": RateLimitRule(
        "model", 0, True,
        "this account hit the model's daily quota: retrying within the day will not "
        "succeed; switch model or wait for the reset at UTC midnight"),
    "PUBLIC_ERROR_PER_MODEL_DAILY_QUOTA_REACHED_UPGRADEABLE": RateLimitRule(
        "model", 0, True,
        "this account hit the model's daily quota (a higher Google AI plan raises it): "
        "retrying within the day will not succeed; switch model, upgrade the plan or wait "
        "for the reset at UTC midnight"),
    "PUBLIC_ERROR_UNUSUAL_ACTIVITY_TOO_MUCH_TRAFFIC": RateLimitRule(
        "request", 1, False,
        "the captcha token scored low (a captcha-provider issue; the server already retried "
        "with fresh tokens, and each try is a paid captcha solve): configure more providers "
        "via POST /accounts/captcha-providers and use captchaOrder, or raise captchaRetry; "
        "retry in 30-60 s"),
    "no_eligible_account": RateLimitRule(
        "all", None, False,
        "every account is quarantined for this model: wait for Retry-After, add accounts "
        "(POST /accounts) or switch model"),
}

_DEFAULT = RateLimitRule("request", None, False, "wait until the cooldown ends")


def rate_limit_rule(reason: str | None) -> RateLimitRule:
    """The rule for a 429 ``reason`` (unknown or ``None``: scope ``request``, policy retries)."""
    if reason is None:
        return _DEFAULT
    return RATE_LIMIT_RULES.get(reason, _DEFAULT)


def next_utc_midnight(now: float) -> float:
    """The Unix time of the next UTC midnight after ``now`` (Unix seconds), when daily
    quotas reset."""
    day = datetime.fromtimestamp(now, tz=UTC).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
