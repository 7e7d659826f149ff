"""Job records (GET /jobs/{jobid}, async 201 bodies, webhooks) and the GET /jobs listing.

:class:`Job` is the one model for every job-shaped body:

* ``GET /jobs/{jobid}`` 200 — current (``response.media[]``) and Nov 2025
  (``response.operations[]``) shapes;
* the ``201 Created`` body of ``async: true`` submits (POST /videos, /videos/extend,
  /videos/upscale);
* ``replyUrl`` webhook payloads ("the JSON payload shape matches GET /jobs/jobId");
* the 403 "Request rejected by Google" error body, which is a failed job record.

:class:`JobsStats` is ``GET /jobs?options=summary|executing|history`` — the watcher's listing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from ._base import ResponseStruct, parse_iso8601
from .captcha import CaptchaInfo
from .common import JobIdFields
from .enums import JobStatus, JobType
from .errors import describe_error, find_reason
from .google_error import GoogleError
from .media import JobResponse, MediaItem

if TYPE_CHECKING:
    from datetime import datetime

__all__ = ["AccountLoad", "ExecutingJob", "HistoryJob", "Job", "JobsGroup", "JobsStats"]


class Job(JobIdFields, kw_only=True, frozen=True, rename="camel"):
    """A job record (GET /jobs/{jobid} › Model; supplement §5 "current shapes").

    Accessors that work for every shape: :attr:`jobid` (``jobid`` or ``jobId``),
    :attr:`state`, :attr:`is_finished`, :attr:`media` (``media[]`` or legacy
    ``operations[]``), :attr:`reason`, :attr:`reply_ref`, :attr:`remaining_credits`.
    Records are kept 7 days, then GET answers 410.
    """

    type: str = ""
    """``"video"`` or ``"image"``; see :attr:`kind`."""
    status: str = ""
    """``created | started | completed | failed``; see :attr:`state`."""
    created: str = ""
    """ISO-8601 creation time."""
    updated: str = ""
    """ISO-8601 time of the last update (absent on 201 bodies)."""
    request: dict[str, Any] = msgspec.field(default_factory=dict)
    """Echo of the submitted fields (email masked), incl. ``async``, ``replyUrl``, ``replyRef``;
    free-form (references may be echoed as objects)."""
    response: JobResponse | None = None
    """Media, credits, captcha metadata and Google's error (absent on some 201 bodies)."""
    error: str | GoogleError | None = None
    """Failure summary: a string (``"API error: 500"``) or, rarely, an object."""
    error_details: str = ""
    """``errorDetails`` — additional failure detail."""
    code: int | None = None
    """HTTP status of the failure (500, 403, ...)."""

    @property
    def state(self) -> JobStatus:
        """:attr:`status` as a :class:`JobStatus` (``UNKNOWN`` for a status not known yet)."""
        return JobStatus.parse(self.status)

    @property
    def kind(self) -> JobType:
        """:attr:`type` as a :class:`JobType`; falls back to the jobid's ``v``/``i`` marker."""
        kind = JobType.parse(self.type)
        if kind is JobType.UNKNOWN:
            head = self.jobid.split("-u", 1)[0]
            if head.endswith("v"):
                return JobType.VIDEO
            if head.endswith("i"):
                return JobType.IMAGE
        return kind

    @property
    def is_finished(self) -> bool:
        """``True`` once the job is ``completed`` or ``failed``; unknown statuses are not."""
        return self.state.is_finished

    @property
    def media(self) -> tuple[MediaItem, ...]:
        """Unified media items from ``response.media[]`` or legacy ``response.operations[]``
        (pending operations skipped); empty until the job has media."""
        return self.response.media if self.response is not None else ()

    @property
    def reason(self) -> str | None:
        """The Google ErrorInfo reason, if any (``response.error.details[].reason``, the error
        object, an operation error such as ``PUBLIC_ERROR_MINOR``)."""
        return find_reason(self.error, self.response)

    @property
    def message_text(self) -> str:
        """A human one-liner describing the failure (empty string when not failed)."""
        if self.error is None and self.state is not JobStatus.FAILED:
            return ""
        return describe_error(self.error, self.response, details=self.error_details, code=self.code)

    @property
    def is_captcha_failure(self) -> bool:
        """``True`` for a failed job whose captcha token Google rejected: ``captcha_quality:``
        or a 403 ``PERMISSION_DENIED`` "reCAPTCHA evaluation failed" (sync body or job
        record). A resubmit with a higher ``captchaRetry`` may pass."""
        from flowapi._errors import is_captcha_rejection

        if self.state is not JobStatus.FAILED:
            return False
        google = self.response.error if self.response is not None else None
        texts = [self.message_text]
        if isinstance(self.error, GoogleError):
            google = self.error
        if isinstance(google, GoogleError):
            texts.append(google.text)
        return any(is_captcha_rejection(t) for t in texts)

    @property
    def reply_ref(self) -> str | None:
        """``request.replyRef`` — the caller's reference (the watcher's submit marker)."""
        value = self.request.get("replyRef")
        return value if isinstance(value, str) else None

    @property
    def remaining_credits(self) -> int | float | None:
        """``response.remainingCredits`` — Flow credits left after a video job."""
        return self.response.remaining_credits if self.response is not None else None

    @property
    def captcha(self) -> CaptchaInfo | None:
        """``response.captcha`` — captcha metadata, if any."""
        return self.response.captcha if self.response is not None else None

    @property
    def created_at(self) -> datetime | None:
        """:attr:`created` parsed (aware UTC ``datetime``), or ``None``."""
        return parse_iso8601(self.created)

    @property
    def updated_at(self) -> datetime | None:
        """:attr:`updated` parsed (aware UTC ``datetime``), or ``None``."""
        return parse_iso8601(self.updated)


# ---------------------------------------------------------------------------------------------
# GET /jobs (load balancing statistics)
# ---------------------------------------------------------------------------------------------


class AccountLoad(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """Per-account load of ``GET /jobs`` › ``<group>.summary[email]`` (last 15 minutes)."""

    executing: int = 0
    """Jobs currently running on the account."""
    completed: int = 0
    """Completed (2xx) in the last 15 min."""
    failed: int = 0
    """Failed (4xx/5xx except 429) in the last 15 min."""
    rate_limited: int = 0
    """``rateLimited`` — 429s in the last 15 min."""
    avg_response_time: float = 0.0
    """``avgResponseTime`` — milliseconds."""
    score: float = 0.0
    """``executing + failed×10 + rateLimited×20``; lower is better."""


class ExecutingJob(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """``<group>.executing[jobId]`` (``options=executing`` or ``history``)."""

    email: str = ""
    """Account running the job."""
    timestamp: int | float = 0
    """Start time, Unix epoch milliseconds."""
    elapsed: str = ""
    """Elapsed time as ``M:SS`` (e.g. ``"1:23"``); see :attr:`elapsed_seconds`."""

    @property
    def elapsed_seconds(self) -> float | None:
        """:attr:`elapsed` in seconds (``"1:23"`` → 83.0; ``"1:02:03"`` → 3723.0)."""
        if not self.elapsed:
            return None
        total = 0.0
        try:
            for part in self.elapsed.split(":"):
                total = total * 60 + float(part)
        except ValueError:
            return None
        return total


class HistoryJob(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """``<group>.history[jobId]`` (``options=history``: 10 most recent in the last 15 min)."""

    email: str = ""
    """Account that ran the job."""
    timestamp: int | float = 0
    """Unix epoch milliseconds."""
    http_status: int = 0
    """``httpStatus`` — HTTP status of the job (200, 429, 500, ...)."""
    response_time: float = 0.0
    """``responseTime`` — milliseconds."""


class JobsGroup(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """One group (``videos``, ``images``, ``combined``) of ``GET /jobs``."""

    summary: dict[str, AccountLoad] = msgspec.field(default_factory=dict)
    """Account email → load."""
    executing: dict[str, ExecutingJob] | None = None
    """jobId → executing job (``options=executing`` or ``history``; ``None`` otherwise).

    Keys are the job ids as the listing prints them; the docs' example also shows a key with
    a ``-http:200`` suffix, which does not equal any job id — treat such keys as "not known to
    be executing" (the watcher then asks GET /jobs/{jobid})."""
    history: dict[str, HistoryJob] | None = None
    """jobId → recent job (``options=history``; ``None`` otherwise)."""


class JobsStats(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """``GET /jobs`` 200 — load balancing statistics (GET jobs › Model)."""

    emails: tuple[str, ...] = ()
    """Configured healthy account emails."""
    videos: JobsGroup | None = None
    """Video jobs."""
    images: JobsGroup | None = None
    """Image jobs."""
    combined: JobsGroup | None = None
    """Both (summary only)."""

    def groups(self) -> tuple[JobsGroup, ...]:
        """The groups present, in order ``videos``, ``images``, ``combined``."""
        return tuple(g for g in (self.videos, self.images, self.combined) if g is not None)

    def executing_jobids(self) -> frozenset[str]:
        """Every job id listed as executing in any group (raw keys, see :class:`JobsGroup`)."""
        return frozenset(key for g in self.groups() for key in (g.executing or {}))

    def history_jobids(self) -> frozenset[str]:
        """Every job id in any group's ``history`` (recently finished jobs)."""
        return frozenset(key for g in self.groups() for key in (g.history or {}))
