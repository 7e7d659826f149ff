"""Retry rules as tables (DESIGN §5): parse_retry_after, classify, backoff, budget."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from flowapi import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    CaptchaRejectedError,
    CaptchaServiceError,
    RateLimitError,
    RequestTimeoutError,
    RetryBudget,
    RetryPolicy,
    ServerError,
    ServiceUnavailableError,
    SessionExpiredError,
)
from flowapi._errors import RateLimitScope
from flowapi._retry import MAX_SERVER_WAIT, Decision, backoff_delay, classify, parse_retry_after

NOW = datetime(2026, 5, 19, 12, 0, 0, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("header", "body", "expected"),
    [
        (None, None, None),
        ("30", None, NOW + 30),
        ("0", None, NOW),
        ("1.5", None, NOW + 1.5),
        ("Tue, 19 May 2026 12:01:00 GMT", None, NOW + 60),
        (None, "2026-05-19T12:10:00.000Z", NOW + 600),
        (None, "2026-05-19T12:10:00+00:00", NOW + 600),
        (None, "2026-05-19T14:10:00+02:00", NOW + 600),
        ("30", "2026-05-19T12:10:00.000Z", NOW + 600),  # the later wins
        ("3600", "2026-05-19T12:10:00.000Z", NOW + 3600),  # the later wins
        ("garbage", None, None),
        ("-5", None, None),
        ("nan", None, None),
        ("inf", None, None),
        (None, "not a date", None),
        ("garbage", "2026-05-19T12:00:10Z", NOW + 10),
        # hostile values: clamped into [now, now + MAX_SERVER_WAIT], never raising
        ("99999999999999999999", None, NOW + MAX_SERVER_WAIT),
        ("1e300", None, NOW + MAX_SERVER_WAIT),
        ("Fri, 31 Dec 9999 23:59:59 GMT", None, NOW + MAX_SERVER_WAIT),
        (None, "9999-12-31T23:59:59Z", NOW + MAX_SERVER_WAIT),
        (None, "0001-01-01T00:00:00+14:00", NOW),
        (None, "1970-01-01T00:00:00Z", NOW),
        ("Mon, 01 Jan 1900 00:00:00 GMT", None, NOW),
        ("Tue, 19 May 99999 12:01:00 GMT", None, None),
        (None, "+275760-09-13T00:00:00Z", None),
        ("\x00\xff", "\ud800", None),
    ],
)
def test_parse_retry_after(header: str | None, body: str | None, expected: float | None) -> None:
    got = parse_retry_after(header, body, now=NOW)
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected)


def _status(cls: type, code: int, **kw: object) -> object:
    return cls("x", status_code=code, **kw)


@pytest.mark.parametrize(
    ("error", "submit", "decision"),
    [
        # connection failures
        (APIConnectionError("x", request_sent=False), True, Decision.RETRY),
        (APIConnectionError("x", request_sent=False), False, Decision.RETRY),
        (APIConnectionError("x", request_sent=True), False, Decision.RETRY),
        (APIConnectionError("x", request_sent=True), True, Decision.AMBIGUOUS),
        (APITimeoutError("x", request_sent=True), True, Decision.AMBIGUOUS),
        (APITimeoutError("x", request_sent=True), False, Decision.RETRY),
        (APITimeoutError("x", request_sent=False), True, Decision.RETRY),
        # statuses on GETs
        (_status(RequestTimeoutError, 408), False, Decision.RETRY),
        (_status(RateLimitError, 429), False, Decision.RETRY),
        (_status(ServerError, 500), False, Decision.RETRY),
        (_status(ServerError, 502), False, Decision.RETRY),
        (_status(ServiceUnavailableError, 503), False, Decision.RETRY),
        (_status(ServerError, 504), False, Decision.RETRY),
        (_status(BadRequestError, 400), False, Decision.RAISE),
        (_status(AuthenticationError, 401), False, Decision.RAISE),
        (_status(ServerError, 501), False, Decision.RAISE),
        # statuses on submits: only 429 and a transient 503
        (_status(RateLimitError, 429), True, Decision.RETRY),
        (_status(ServiceUnavailableError, 503), True, Decision.RETRY),
        (_status(RequestTimeoutError, 408), True, Decision.RAISE),
        # any other 5xx may hide a created job (Cloudflare 520/522/524, a plain 500, a
        # gateway's 502/504): ambiguous, never resent
        (_status(ServerError, 500), True, Decision.AMBIGUOUS),
        (_status(ServerError, 501), True, Decision.AMBIGUOUS),
        (_status(ServerError, 502), True, Decision.AMBIGUOUS),
        (_status(ServerError, 504), True, Decision.AMBIGUOUS),
        (_status(ServerError, 520), True, Decision.AMBIGUOUS),
        (_status(ServerError, 522), True, Decision.AMBIGUOUS),
        (_status(ServerError, 524), True, Decision.AMBIGUOUS),
        (_status(ServerError, 599), True, Decision.AMBIGUOUS),
        # never retried
        (_status(CaptchaServiceError, 503), True, Decision.RAISE),
        (_status(CaptchaServiceError, 503), False, Decision.RAISE),
        (_status(SessionExpiredError, 596), False, Decision.RAISE),
        (_status(SessionExpiredError, 596), True, Decision.RAISE),
        (_status(CaptchaRejectedError, 403), True, Decision.RAISE),
        (ValueError("bug"), False, Decision.RAISE),
    ],
)
def test_classify(error: BaseException, submit: bool, decision: Decision) -> None:
    assert classify(error, submit=submit) is decision


def test_backoff_is_capped_exponential_with_jitter() -> None:
    policy = RetryPolicy(backoff_base=0.5, backoff_cap=8.0, jitter=0.0)
    assert [policy.backoff(a) for a in range(1, 8)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    jittered = RetryPolicy(backoff_base=1.0, backoff_cap=8.0, jitter=0.5)
    rng = random.Random(7)
    values = [jittered.backoff(3, rng) for _ in range(200)]
    assert all(2.0 <= v <= 4.0 for v in values)
    assert max(values) - min(values) > 1.0


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="attempts"):
        RetryPolicy(attempts=0)
    with pytest.raises(ValueError, match="jitter"):
        RetryPolicy(jitter=2)
    assert RetryPolicy.none().attempts == 1


def test_budget_degrades_to_slow_not_storm() -> None:
    budget = RetryBudget(capacity=3, refill_per_second=2.0)
    now = 100.0
    for _ in range(3):
        assert budget.wait_time(now) == 0
        budget.take(now)
    assert budget.wait_time(now) == pytest.approx(0.5)
    assert budget.wait_time(now + 0.5) == pytest.approx(0.0)
    budget.take(now + 0.5)
    assert budget.spent == 4
    assert budget.wait_time(now + 0.5) == pytest.approx(0.5)
    # refills up to capacity only
    assert budget.wait_time(now + 1000) == 0
    for _ in range(3):
        budget.take(now + 1000)
    assert budget.wait_time(now + 1000) > 0


@pytest.mark.parametrize(("attempt", "kwargs", "expected"), [
    (1, {"base": 0.5}, 0.5),
    (3, {"base": 0.5}, 2.0),
    (4, {"base": 0.5, "cap": 3.0}, 3.0),
    (3, {"base": 2.0, "factor": 1.5}, 4.5),
    (2.5, {"base": 1.0}, 2.0 ** 1.5),  # fractional steps (the poll schedule)
    (10_000, {"base": 1.0}, 2.0 ** 64),  # a long streak never overflows
    (0, {"base": 1.0}, 1.0),
])
def test_one_backoff_formula(attempt: float, kwargs: dict[str, float], expected: float) -> None:
    assert backoff_delay(attempt, **kwargs) == pytest.approx(expected)


def test_every_backoff_goes_through_the_one_formula(monkeypatch: pytest.MonkeyPatch) -> None:
    """RetryPolicy, the lanes' load-balanced retry delay and PollPolicy growth (issue 11)."""
    import flowapi._lanes
    import flowapi._polling
    import flowapi._retry
    from flowapi import PollPolicy
    from flowapi._lanes import Lanes

    calls: list[str] = []

    def spy(attempt: float, **kwargs: float) -> float:
        calls.append("x")
        return 1.0

    for module in (flowapi._retry, flowapi._lanes, flowapi._polling):
        monkeypatch.setattr(module, "backoff_delay", spy)
    RetryPolicy().backoff(2)
    PollPolicy().next_delay(3)
    lb = RateLimitError("x", status_code=429, scope="account", retry_at=NOW + 3600)
    assert Lanes().park(lb, None, None, NOW) == NOW + 1.0
    assert len(calls) == 3


def _rl(reason: str | None, scope: RateLimitScope,
        retry_at: float | None = NOW + 5) -> RateLimitError:
    return RateLimitError("x", reason=reason, scope=scope, retry_at=retry_at)


@pytest.mark.parametrize(("error", "submit", "done", "decision"), [
    # daily quotas: never inline, even with a short Retry-After
    (_rl("PUBLIC_ERROR_PER_MODEL_DAILY_QUOTA_REACHED", "model"), True, 0, Decision.RAISE),
    (_rl("PUBLIC_ERROR_PER_MODEL_DAILY_QUOTA_REACHED_UPGRADEABLE", "model"), True, 0,
     Decision.RAISE),
    (_rl("PUBLIC_ERROR_USER_QUOTA_REACHED", "account"), False, 0, Decision.RAISE),
    # a low captcha score: once (each try is a paid captcha solve)
    (_rl("PUBLIC_ERROR_UNUSUAL_ACTIVITY_TOO_MUCH_TRAFFIC", "request"), True, 0, Decision.RETRY),
    (_rl("PUBLIC_ERROR_UNUSUAL_ACTIVITY_TOO_MUCH_TRAFFIC", "request"), True, 1, Decision.RAISE),
    # throttled: inline only with the server's Retry-After, uploads included
    (_rl("PUBLIC_ERROR_USER_REQUESTS_THROTTLED", "account"), True, 3, Decision.RETRY),
    (_rl("PUBLIC_ERROR_USER_REQUESTS_THROTTLED", "account", None), False, 0, Decision.RAISE),
    (_rl(None, "request", None), False, 0, Decision.RETRY),
])
def test_classify_429_reasons(error: RateLimitError, submit: bool, done: int,
                              decision: Decision) -> None:
    assert classify(error, submit=submit, same_429_retries=done) is decision


def test_the_documented_images_500_is_definite_a_proxy_500_is_not() -> None:
    from flowapi.types._base import decode
    from flowapi.types.errors import ErrorBody

    envelope = decode(ErrorBody, b'{"error": {"code": 500, "message": "Internal error '
                                 b'encountered.", "status": "INTERNAL"}}')
    documented = ServerError("x", status_code=500, body=envelope)
    proxy_page = ServerError("x", status_code=500, text="<html>500</html>")
    assert classify(documented, submit=True, moderated_500=True) is Decision.RAISE
    assert classify(proxy_page, submit=True, moderated_500=True) is Decision.AMBIGUOUS
    assert classify(documented, submit=True) is Decision.AMBIGUOUS  # POST videos
