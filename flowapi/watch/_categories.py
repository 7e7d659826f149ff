"""Which :class:`~flowapi.journal.FailureCategory` an outcome's error belongs to — the one
place that decides it (``flowapi batch --retry-failed`` and ``flow.watch(retry_failed=)``
select by it)."""

from __future__ import annotations

from flowapi._errors import (
    AmbiguousSubmitError,
    APIStatusError,
    CaptchaRejectedError,
    CaptchaServiceError,
    ContentPolicyError,
    FlowError,
    InvalidParamsError,
    JobFailedError,
    JobTimeoutError,
    RateLimitError,
    SessionExpiredError,
)
from flowapi.journal import FailureCategory

__all__ = ["category_of"]

_CAPTCHA_WORDS = ("captcha", "recaptcha evaluation failed")


def category_of(error: FlowError, *, reading: bool = False) -> FailureCategory:
    """The failure category of ``error``; ``reading``: it came from ``GET /jobs/{jobid}``
    of an accepted job (a job exists), not from the submit."""
    if isinstance(error, AmbiguousSubmitError):
        return FailureCategory.IN_DOUBT
    if isinstance(error, JobTimeoutError):
        return FailureCategory.TIMEOUT
    if isinstance(error, JobFailedError):
        if error.moderated:
            return FailureCategory.MODERATED
        text = f"{error.reason or ''} {error}".lower()
        if any(word in text for word in _CAPTCHA_WORDS):
            return FailureCategory.CAPTCHA
        return FailureCategory.JOB_FAILED
    if reading:
        return FailureCategory.UNREADABLE
    if isinstance(error, ContentPolicyError):
        return FailureCategory.MODERATED
    if isinstance(error, CaptchaRejectedError | CaptchaServiceError):
        return FailureCategory.CAPTCHA
    if isinstance(error, SessionExpiredError | RateLimitError):
        return FailureCategory.ACCOUNT
    if isinstance(error, InvalidParamsError | APIStatusError):
        return FailureCategory.REJECTED
    return FailureCategory.REJECTED
