"""The useapi.net error envelope and the helpers that read it.

* :class:`ErrorBody` — the body of every non-2xx response; ``error`` may be a string *or* a
  :class:`~flowapi.types.google_error.GoogleError`;
* :class:`SkipReason` — one ``skipReasons[]`` entry of the ``no_eligible_account`` 429;
* :func:`find_reason` and :func:`describe_error` — the reason and the human one-liner of an
  error body or job record (:class:`~flowapi.types.jobs.Job` uses them too).

Doc references name the spec sections: "POST /videos › Responses › 200" is the current
(June 2026) page in ``spec/seeds/post-videos.txt``; "supplement §5" is
``spec/api-reference-supplement.md``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ._base import ResponseStruct, parse_iso8601
from .captcha import CaptchaInfo
from .common import JobIdFields
from .enums import RateLimitReason
from .google_error import GoogleError
from .media import JobResponse

if TYPE_CHECKING:
    from datetime import datetime

    from .jobs import Job

__all__ = ["ErrorBody", "SkipReason", "describe_error", "find_reason"]

_PUBLIC_ERROR = re.compile(r"\bPUBLIC_ERROR_[A-Z0-9_]+")


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
