"""Ground-truth records of the fake: every request received and every job created.

These are what tests and benchmarks assert on (``fake.requests``, ``fake.jobs``,
``GET /_fake/state``). They describe what *really* happened inside the fake, independent
of what any client believed. All times are simulated Unix seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from ._util import SEVEN_DAYS

__all__ = ["FakeJob", "OutputMedia", "RecordedRequest"]


class _Clock(Protocol):
    def time(self) -> float: ...


@dataclass(slots=True)
class RecordedRequest:
    """One HTTP request received by the fake (API origin or media origin), in arrival order."""

    index: int
    """Position in :attr:`FakeFlowServer.requests` (0-based, arrival order)."""
    t: float
    """Simulated Unix time at arrival, seconds."""
    method: str
    """HTTP method, e.g. ``"POST"``."""
    path: str
    """Raw request path as sent (percent-encoding preserved), without the query string."""
    route: str
    """Route template, e.g. ``"POST videos"``, ``"GET jobs/{jobid}"``, ``"GET media"``,
    ``"ADMIN"`` for ``/_fake/*`` and ``"UNKNOWN"`` for unrouted paths."""
    query: dict[str, str]
    """Query parameters (last value wins)."""
    auth_ok: bool
    """Whether the request carried ``Authorization: Bearer <token>`` with the right token."""
    authorization_sent: bool
    """Whether any ``Authorization`` header arrived (on the media origin it never should)."""
    user_agent: str | None = None
    """The ``User-Agent`` header, if any."""
    status: int | None = None
    """HTTP status sent back; ``None`` when the connection was dropped without a response."""
    fault: str | None = None
    """Kind of the injected fault that shaped the response (see :mod:`._faults`), or ``None``."""
    email: str | None = None
    """Account the request was routed to (explicit, by reference, or by load balancing)."""
    model: str | None = None
    """Model of a generation request, if any."""
    into_quarantine: bool = False
    """A generation request sent (pinned with ``email`` or to the only account) to an
    account/model that was quarantined at that moment."""
    job_id: str | None = None
    """Job created by this request, if any."""
    finished_t: float | None = None
    """Simulated time at which the response (or the drop) happened."""

    def to_json(self) -> dict[str, Any]:
        """JSON-able dict of all fields."""
        return {
            "index": self.index,
            "t": self.t,
            "method": self.method,
            "path": self.path,
            "route": self.route,
            "query": self.query,
            "auth_ok": self.auth_ok,
            "authorization_sent": self.authorization_sent,
            "user_agent": self.user_agent,
            "status": self.status,
            "fault": self.fault,
            "email": self.email,
            "model": self.model,
            "into_quarantine": self.into_quarantine,
            "job_id": self.job_id,
            "finished_t": self.finished_t,
        }


@dataclass(slots=True)
class OutputMedia:
    """One generated output of a job (a video or an image)."""

    name: str
    """Raw media UUID (``media[].name``), also the file id on the media origin."""
    media_generation_id: str
    """Reference id ``user:{uid}-email:{hex}-video:{name}`` (or ``-image:``)."""
    seed: int
    """Seed of this variation (``seed + i`` for ``count > 1``)."""
    workflow_id: str
    """``media[].workflowId``."""


@dataclass(slots=True)
class FakeJob:
    """Ground truth of one job created by the fake.

    The job's status is a pure function of simulated time: ``created`` until
    :attr:`started_at`, ``started`` until :attr:`finished_at`, then :attr:`outcome`.
    """

    jobid: str
    """Job id ``j{digits}{v|i}-u{uid}-email:{email}-bot:google-flow`` (wire name ``jobid``)."""
    type: str
    """``"video"`` or ``"image"``."""
    model: str
    """Public model name (``veo-3.1-fast``, ``nano-banana-2-lite``, ...) or the upscaler."""
    email: str
    """Account the job runs on."""
    route: str
    """Route template that created it, e.g. ``"POST videos"``."""
    request: dict[str, Any]
    """The request body exactly as received (parsed)."""
    reply_url: str | None
    """``replyUrl`` webhook target, if any."""
    reply_ref: str | None
    """``replyRef``, if any."""
    created_at: float
    """Simulated creation time, seconds."""
    started_at: float
    """Simulated time it becomes ``started`` (1–5 s after creation)."""
    finished_at: float
    """Simulated time it becomes ``completed`` or ``failed``."""
    outcome: str
    """Final status: ``"completed"`` or ``"failed"``."""
    failure_reason: str | None
    """Reason of a failure, e.g. ``"PUBLIC_ERROR_UNSAFE_GENERATION"``; ``None`` if completed."""
    failure_code: int | None
    """HTTP-style code of a failure (400 moderation, 500 internal); ``None`` if completed."""
    media_ids: list[str]
    """``mediaGenerationId`` of every output (one per ``count``)."""
    submit_request_index: int
    """:attr:`RecordedRequest.index` of the request that created it."""
    async_: bool
    """``True`` when submitted with ``"async": true`` (201), ``False`` for sync calls."""
    connection_reset_after_create: bool = False
    """The fake dropped the connection right after creating it (``reset_after_create`` fault)."""
    count: int = 1
    """Number of outputs."""
    credits_spent: int = 0
    """Flow credits deducted from the account."""
    remaining_credits: int = 0
    """Account credits right after the deduction (``remainingCredits``)."""
    outputs: list[OutputMedia] = field(default_factory=list)
    """Generated outputs (names, seeds, ids)."""
    meta: dict[str, Any] = field(default_factory=dict)
    """Details the payload builders need (aspect ratio, duration, internal model, captcha...)."""
    clock: _Clock | None = field(default=None, repr=False, compare=False)
    """Clock used by :attr:`status` (set by the fake)."""

    @property
    def expires_at(self) -> float:
        """Simulated time after which ``GET jobs/{jobid}`` answers 410 (created + 7 days)."""
        return self.created_at + SEVEN_DAYS

    def status_at(self, t: float) -> str:
        """Status at simulated time ``t``: ``created``, ``started``, ``completed`` or ``failed``."""
        if t < self.started_at:
            return "created"
        if t < self.finished_at:
            return "started"
        return self.outcome

    @property
    def status(self) -> str:
        """Status now (per the fake's clock)."""
        if self.clock is None:
            return self.outcome
        return self.status_at(self.clock.time())

    def to_json(self) -> dict[str, Any]:
        """JSON-able ground-truth dict (not the API's job record)."""
        return {
            "jobid": self.jobid,
            "type": self.type,
            "model": self.model,
            "email": self.email,
            "route": self.route,
            "request": self.request,
            "reply_url": self.reply_url,
            "reply_ref": self.reply_ref,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "status": self.status,
            "outcome": self.outcome,
            "failure_reason": self.failure_reason,
            "failure_code": self.failure_code,
            "media_ids": list(self.media_ids),
            "submit_request_index": self.submit_request_index,
            "async": self.async_,
            "connection_reset_after_create": self.connection_reset_after_create,
            "count": self.count,
            "credits_spent": self.credits_spent,
        }
