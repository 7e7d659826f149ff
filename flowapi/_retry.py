"""Retry decisions as pure functions (DESIGN §5): :class:`RetryPolicy`, :func:`classify`,
:func:`parse_retry_after` and the per-session :class:`RetryBudget`.

The transport loop asks :func:`classify` what to do with each failure; nothing here does I/O
or sleeps, so every rule is tested with tables.

Rules:

* GETs (and other idempotent calls) retry connection errors, timeouts, 408, 429, 500, 502,
  503, 504 and Cloudflare's 520-524.
* **Submitting a job spends credits.** A generation POST (``submit=True``) is retried only
  when the server certainly did not take it: a connect failure before the request was sent,
  an explicit 429, or a transient 503. Never ``Captcha service failed:`` (503), never 596,
  never a 403 ``captcha_quality:``.
* A generation POST whose fate is unknown is *ambiguous* (never retried; the watcher looks
  for the job by its ``replyRef``): a read timeout or a disconnect after the request was
  written; any 5xx except the documented definite ones (503 and 596): a plain 500, a
  502/504 from a gateway, Cloudflare's 520/522/524 (the origin may have taken it); and a
  success response that cannot be read (malformed, wrong shape or over the size cap: the
  job exists).
* A 429 that quarantines an account or model (or ``no_eligible_account``) is retried inline
  only when the server said when (``Retry-After``/``retryAfter``) and that wait is short —
  for every request, uploads included; a refusal made locally because the lane is already
  parked is never retried inline. How often a 429 reason may be retried inline comes from
  the one table :data:`flowapi._rate_limits.RATE_LIMIT_RULES`: daily quotas never (nothing
  succeeds before UTC midnight), a low captcha score once (each try is a paid solve).
* A transient 503 waits at least :attr:`RetryPolicy.unavailable_wait` (the docs: "wait
  5-10 seconds and retry").
* A wait longer than :attr:`RetryPolicy.max_inline_wait` is not slept inside the call:
  the error is raised with ``retry_at`` for the caller or the watcher to schedule.
"""

from __future__ import annotations

import email.utils
import enum
import logging
import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime

from flowapi._errors import (
    APIConnectionError,
    APIStatusError,
    CaptchaRejectedError,
    CaptchaServiceError,
    RateLimitError,
    ResponseValidationError,
    SessionExpiredError,
)
from flowapi._rate_limits import rate_limit_rule

__all__ = ["MAX_SERVER_WAIT", "Decision", "RetryBudget", "RetryPolicy", "backoff_delay",
           "classify", "parse_retry_after"]

log = logging.getLogger("flowapi")

MAX_SERVER_WAIT = 25 * 3600.0
"""Longest wait a server may ask for, seconds (25 h). The longest documented cooldown is a
daily quota, which ends at the next UTC midnight (< 24 h); a ``Retry-After``/``retryAfter``
further ahead (years, by mistake or malice) is clamped to this and logged."""

_RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 520, 521, 522, 523, 524})
_SUBMIT_RETRYABLE_STATUSES = frozenset({429, 503})
#: 5xx answers to a generation POST that are documented as definite refusals (the job was not
#: created): 503 "try again" / ``Captcha service failed:`` and 596. Every other 5xx — a plain
#: 500, 502/504, Cloudflare's 520/522/524 (the origin got the request and did not answer in
#: time), anything undocumented — may hide a created job: it is ambiguous.
_SUBMIT_DEFINITE_5XX = frozenset({503, 596})


class Decision(enum.Enum):
    """What the transport does with a failure."""

    RETRY = "retry"
    """Safe to send again after a backoff."""
    RAISE = "raise"
    """Not retryable: raise to the caller."""
    AMBIGUOUS = "ambiguous"
    """A generation may have been accepted: raise :class:`~flowapi.AmbiguousSubmitError`."""


_MAX_EXPONENT = 64.0


def backoff_delay(attempt: float, *, base: float, cap: float = math.inf, factor: float = 2.0,
                  jitter: float = 0.0, rng: random.Random | None = None) -> float:
    """The one backoff formula of flowapi: capped exponential growth with "equal jitter".

    ``raw = min(cap, base * factor ** (attempt - 1))``; the ``jitter`` fraction of it is
    random, so the result lies in ``[raw * (1 - jitter), raw]``. Used by
    :meth:`RetryPolicy.backoff`, the lanes' load-balanced retry delay and the growth of
    :class:`~flowapi.PollPolicy` intervals.

    Args:
        attempt: which attempt failed, counting from 1 (fractional values are allowed: the
            poll schedule grows with elapsed time); the exponent is capped at 64 so a long
            streak never overflows.
        base: the first delay, seconds (≥ 0).
        cap: the largest delay, seconds (default: no cap).
        factor: growth per attempt, default 2 (1 = constant).
        jitter: fraction randomised, 0–1, default 0 (deterministic).
        rng: random source (default: the ``random`` module).

    Returns:
        Seconds, ≥ 0.
    """
    exponent = min(max(0.0, attempt - 1), _MAX_EXPONENT)
    try:
        grown = base * math.pow(factor, exponent)
    except OverflowError:
        grown = math.inf
    raw = max(0.0, min(cap, grown))
    if not jitter:
        return raw
    r = rng.random() if rng is not None else random.random()
    return raw * (1 - jitter) + raw * jitter * r


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How a single call retries.

    Attributes:
        attempts: total attempts including the first, ≥ 1. Default 4.
        total_budget: seconds a call may spend retrying before it gives up, default 60.
        backoff_base: first backoff in seconds, default 0.5; doubles each attempt.
        backoff_cap: largest backoff in seconds, default 8.
        jitter: fraction of the backoff randomised (0–1), default 0.5 ("equal jitter").
        max_inline_wait: longest server-requested wait (``Retry-After``) slept inside the
            call, seconds, default 30. Longer cooldowns raise :class:`~flowapi.RateLimitError`
            with ``retry_at`` so the caller (or the watcher's lanes) schedules them.
        unavailable_wait: least wait before retrying a transient 503, seconds, default 5
            (POST /videos › 503: "Wait 5-10 seconds and retry").
    """

    attempts: int = 4
    total_budget: float = 60.0
    backoff_base: float = 0.5
    backoff_cap: float = 8.0
    jitter: float = 0.5
    max_inline_wait: float = 30.0
    unavailable_wait: float = 5.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("RetryPolicy.attempts must be >= 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("RetryPolicy.jitter must be in [0, 1]")

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (``attempt`` counts from 1).

        Capped exponential: ``min(cap, base * 2**(attempt-1))``, of which the ``jitter``
        fraction is random (:func:`backoff_delay`).
        """
        return backoff_delay(attempt, base=self.backoff_base, cap=self.backoff_cap,
                             jitter=self.jitter, rng=rng)

    @classmethod
    def none(cls) -> RetryPolicy:
        """A policy that never retries."""
        return cls(attempts=1)


@dataclass(slots=True)
class RetryBudget:
    """A per-session token bucket so a burst of failures degrades to slow, not a storm.

    Each retry takes one token; tokens refill at ``refill_per_second`` up to ``capacity``.
    When the bucket is empty, :meth:`wait_time` tells how long until the next token. A
    retry reserves its token (:meth:`take`) *before* it sleeps, so concurrent callers see
    each other: the bucket may go into debt, and each further caller waits one refill
    interval longer than the previous one (a queue, not a burst).

    Attributes:
        capacity: most retries that can happen back to back, default 50.
        refill_per_second: sustained retries per second, default 2.
    """

    capacity: float = 50.0
    refill_per_second: float = 2.0
    _tokens: float | None = field(default=None, repr=False)
    _last: float | None = field(default=None, repr=False)
    spent: int = 0
    """Retries taken so far (for diagnostics)."""

    def _refill(self, now: float) -> None:
        if self._tokens is None:  # first use: a full bucket (debt is kept, never reset)
            self._tokens = self.capacity
        if self._last is not None:
            self._tokens = min(self.capacity,
                               self._tokens + (now - self._last) * self.refill_per_second)
        self._last = now

    def wait_time(self, now: float) -> float:
        """Seconds until a token is available (0 if one is available now)."""
        self._refill(now)
        assert self._tokens is not None
        if self._tokens >= 1:
            return 0.0
        if self.refill_per_second <= 0:
            return math.inf
        return (1 - self._tokens) / self.refill_per_second

    def take(self, now: float) -> None:
        """Spend (reserve) one token; the balance may go negative (debt)."""
        self._refill(now)
        assert self._tokens is not None
        self._tokens -= 1
        self.spent += 1


def classify(error: BaseException, *, submit: bool, same_429_retries: int = 0,
             moderated_500: bool = False) -> Decision:
    """Decide what to do with a failed attempt.

    Args:
        error: the exception the attempt raised (already wrapped by the transport).
        submit: ``True`` for a request that spends credits (generation POSTs, uploads that
            create server state are not ``submit``).
        same_429_retries: for a 429, how many times this call already retried after a 429
            of the same reason (the reason's ``inline_retries`` in
            :data:`flowapi._rate_limits.RATE_LIMIT_RULES` caps it).
        moderated_500: the endpoint documents a 500 with the Google error envelope as a
            definite answer (POST images › 500: "generated images were moderated"); such a
            500 is raised, not ambiguous. A 500 without that JSON body (a proxy's page) stays
            ambiguous.

    Returns:
        :class:`Decision`.
    """
    if isinstance(error, APIConnectionError):
        if not error.request_sent:
            return Decision.RETRY
        return Decision.AMBIGUOUS if submit else Decision.RETRY
    if isinstance(error, ResponseValidationError):
        if submit:
            # The server answered, but we cannot read what: a 2xx means the job exists.
            return Decision.AMBIGUOUS
        return Decision.RETRY if error.malformed else Decision.RAISE
    if isinstance(error, (CaptchaServiceError, SessionExpiredError, CaptchaRejectedError)):
        return Decision.RAISE
    if isinstance(error, RateLimitError):
        if error.local:
            return Decision.RAISE
        cap = rate_limit_rule(error.reason).inline_retries
        if cap is not None and same_429_retries >= cap:
            # a daily quota cannot succeed before UTC midnight; a low captcha score is
            # retried once at most (each try is a paid captcha solve)
            return Decision.RAISE
        if error.scope in ("account", "model", "all") and error.retry_at is None:
            # A quarantine lasts minutes to hours: without the server's Retry-After an
            # inline retry (of a submit, or of an upload) would be a guess into a parked
            # lane, seconds later. The caller or the watcher parks it.
            return Decision.RAISE
    if isinstance(error, APIStatusError):
        documented = (moderated_500 and error.status_code == 500 and error.body is not None
                      and error.body.error is not None and not isinstance(error.body.error, str))
        if (submit and 500 <= error.status_code <= 599 and not documented
                and error.status_code not in _SUBMIT_DEFINITE_5XX):
            return Decision.AMBIGUOUS
        allowed = _SUBMIT_RETRYABLE_STATUSES if submit else _RETRYABLE_STATUSES
        if error.status_code not in allowed:
            return Decision.RAISE
        return Decision.RETRY
    return Decision.RAISE


def parse_retry_after(header: str | None, body_retry_after: str | None, *,
                      now: float, max_wait: float = MAX_SERVER_WAIT) -> float | None:
    """Return the Unix time before which a retry is pointless, or ``None``.

    ``Retry-After`` may be delta-seconds or an HTTP date (RFC 9110 §10.2.3); the body's
    ``retryAfter`` is an ISO-8601 timestamp (POST /videos › 429). The later of the two wins.
    Hostile values never raise: garbage, negative or non-finite values are ignored (and
    logged); the result is clamped into ``[now, now + max_wait]`` (a date in the past means
    "now"; one years ahead is cut to ``max_wait`` and logged at WARNING).

    Args:
        header: the ``Retry-After`` header value.
        body_retry_after: the body's ``retryAfter`` value.
        now: current Unix time in seconds (the clock's wall time).
        max_wait: longest wait accepted, seconds, default :data:`MAX_SERVER_WAIT` (25 h).
    """
    candidates: list[float] = []
    if header:
        value = _retry_after_header(header.strip(), now)
        if value is None:
            log.debug("ignoring an unusable Retry-After header %r", header[:80])
        else:
            candidates.append(value)
    if body_retry_after:
        ts = parse_iso8601(body_retry_after)
        if ts is None:
            log.debug("ignoring an unusable retryAfter %r", body_retry_after[:80])
        else:
            candidates.append(ts)
    if not candidates:
        return None
    latest = max(candidates)
    if latest > now + max_wait:
        log.warning("the server asks to wait until %.0f (%.3g s from now); clamped to %.0f s "
                    "(Retry-After %r, retryAfter %r)", latest, latest - now, max_wait,
                    (header or "")[:80], (body_retry_after or "")[:80])
        return now + max_wait
    return max(latest, now)


def _retry_after_header(value: str, now: float) -> float | None:
    """A ``Retry-After`` value (delta-seconds or HTTP date) as Unix time, or ``None``."""
    try:
        seconds = float(value)
    except ValueError:
        try:
            dt = email.utils.parsedate_to_datetime(value)
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=UTC)
            stamp = dt.timestamp()
        except (TypeError, ValueError, IndexError, OverflowError, OSError):
            return None
        return stamp if math.isfinite(stamp) else None
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return now + seconds


def parse_iso8601(value: str) -> float | None:
    """Parse an ISO-8601 timestamp (``Z`` or offset; naive means UTC) to Unix seconds."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(text)
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return dt.timestamp()
    except (ValueError, OverflowError, OSError):
        return None
