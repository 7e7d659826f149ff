"""The lifecycle of one submission: states, events and the one function that moves a row
(DESIGN §7).

Every journal stores :class:`Submission` rows and changes them only through
:func:`apply`, a pure function of (row, event) that raises :class:`IllegalTransition` on a
move the table does not allow — the same checks for the memory, sqlite and PostgreSQL
journals. Transitions (``→`` is an event)::

    pending ──Attempt(marker)──► submitting ──Accepted(jobid)──► accepted ──Finished──► succeeded
       ▲                          │  │                          │   │                    failed
       └────────Refused───────────┘  └──InDoubt──► unknown ──Accepted──┘   └─Attempt (resubmit)
                                                    │
                                                    └──Finished(in_doubt)──► failed

    failed ──Retry──► pending          (only when the user asks: it may spend credits again)
    submitting / unknown ──Retry(force)──► pending   (resubmit_in_doubt: the lookup found
                                                      nothing and the user asked to resend)
    failed ──Accepted──► accepted      (in doubt / timed out / unreadable: the job was found
                                        or is watched again by a later run)
    pending / submitting / unknown ──Finished──► failed   (refused locally, a definite 400
                                                          at submit, or not found by marker)
    failed(in_doubt) ──Finished──► failed     (looked up again by a later run, still not found)

*Money* moves — an attempt leaving for the server, a jobid arriving, a fate turning
unknown — are marked :attr:`Event.money`: journals commit them durably before returning.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from flowapi._errors import FlowError

__all__ = [
    "Accepted",
    "Attempt",
    "Event",
    "FailureCategory",
    "Finished",
    "IllegalTransition",
    "InDoubt",
    "Refused",
    "Retry",
    "Submission",
    "SubmissionState",
    "apply",
]


class SubmissionState(enum.StrEnum):
    """Where one submission is in its lifecycle (the journal's ``state`` column)."""

    PENDING = "pending"
    """Recorded; nothing was sent, or the server certainly refused it (429, 503 retry)."""
    SUBMITTING = "submitting"
    """A POST carrying :attr:`Submission.marker` may be on the wire. A row left here by a
    crash is *in doubt*: the job may have been created (and paid)."""
    UNKNOWN = "unknown"
    """The POST's answer never arrived (timeout, reset, 5xx after sending): in doubt, to
    be reconciled by marker."""
    ACCEPTED = "accepted"
    """The server created job :attr:`Submission.jobid` (committed before ``submit``
    returns to the watcher)."""
    SUCCEEDED = "succeeded"
    """The job completed; :attr:`Submission.job` holds its final record."""
    FAILED = "failed"
    """Final failure; :attr:`Submission.category` says which kind."""

    @property
    def finished(self) -> bool:
        """``succeeded`` or ``failed``: an outcome was recorded."""
        return self in (SubmissionState.SUCCEEDED, SubmissionState.FAILED)

    @property
    def in_doubt(self) -> bool:
        """``submitting`` or ``unknown``: a job may exist that no jobid names yet."""
        return self in (SubmissionState.SUBMITTING, SubmissionState.UNKNOWN)


class FailureCategory(enum.StrEnum):
    """Why a ``failed`` row failed; ``flowapi batch --retry-failed`` takes these names."""

    MODERATED = "moderated"
    """The job (or the submit) was refused by content moderation; resubmitting spends
    credits again and may pass (moderation varies between attempts)."""
    CAPTCHA = "captcha"
    """A captcha rejection (``captcha_quality:``, reCAPTCHA evaluation failed) or captcha
    service failure; nothing was generated."""
    IN_DOUBT = "in_doubt"
    """The submit's fate is unknown and its marker was not found: the job **may have been
    created and paid**. Resubmitting risks paying twice; it needs its own explicit flag."""
    TIMEOUT = "timeout"
    """The job ran past ``job_timeout``; it exists and may still finish (a resume watches
    it again, never resubmits it)."""
    REJECTED = "rejected"
    """The submit was refused definitely (400 invalid params, 403, 404 reference, local
    validation): no job was created."""
    JOB_FAILED = "job_failed"
    """The job ended with status ``failed`` for another reason than moderation/captcha."""
    UNREADABLE = "unreadable"
    """``GET /jobs/{jobid}`` kept failing permanently (400, 403, 404, 410, undecodable);
    the job may exist: check it with ``flowapi jobs get JOBID``."""
    ACCOUNT = "account"
    """The account is unusable (596 session expired, daily quota): fix the account, then
    resubmit."""

    @property
    def may_have_paid(self) -> bool:
        """Whether a job may exist for this failure (resubmitting could pay twice)."""
        return self in (FailureCategory.IN_DOUBT, FailureCategory.TIMEOUT,
                        FailureCategory.UNREADABLE)


class IllegalTransition(FlowError):
    """A journal row was asked to make a move its lifecycle does not allow (a bug, or two
    writers racing on one row). Nothing was written."""


@dataclass(frozen=True, slots=True)
class Submission:
    """One journal row: a submission keyed by its stable idempotency key.

    Attributes:
        key: the idempotency key (the caller's ``key=``, else a content key, see
            :func:`flowapi.journal.content_key`).
        kind: the params class name (``"VideoParams"``, ``"ExtendParams"``,
            ``"VideoUpscaleParams"``, ``"ImageParams"``).
        params: the wire body (API field names) as canonical JSON text, without the
            watcher's marker.
        tag: the caller's tag as JSON text (``None`` when none or not JSON-able).
        state: see :class:`SubmissionState`.
        attempts: POSTs begun for this key (0 while pending the first time).
        marker: the ``replyRef`` marker of the latest attempt (unique per attempt).
        markers: every marker this key's attempts carried, oldest first (reconciliation
            matches any of them).
        jobid: the job id once accepted (kept on ``failed`` rows that had a job).
        category: the :class:`FailureCategory` of a ``failed`` row.
        error: a ``failed`` row's message (what happened, what to do).
        job: the last job record as JSON text (final on ``succeeded``/``failed``).
        created: Unix time (seconds) the row was added.
        updated: Unix time (seconds) of the last change (for ``submitting``: when sent).
    """

    key: str
    kind: str
    params: str
    tag: str | None = None
    state: SubmissionState = SubmissionState.PENDING
    attempts: int = 0
    marker: str | None = None
    markers: tuple[str, ...] = ()
    jobid: str | None = None
    category: FailureCategory | None = None
    error: str | None = None
    job: str | None = None
    created: float = 0.0
    updated: float = 0.0


@dataclass(frozen=True, slots=True)
class Event:
    """Base of the events that move a row. ``money``: commit durably."""

    money: bool = False


@dataclass(frozen=True, slots=True)
class Attempt(Event):
    """A POST is about to be sent with ``marker`` in ``replyRef`` (pending → submitting,
    or accepted → submitting for a resubmission after moderation)."""

    marker: str = ""
    money: bool = True


@dataclass(frozen=True, slots=True)
class Refused(Event):
    """The server certainly did not create a job (429, 503 "try again", connect error
    before sending): submitting → pending."""


@dataclass(frozen=True, slots=True)
class InDoubt(Event):
    """The POST's answer was lost (timeout, reset, 5xx after sending): submitting →
    unknown."""

    reason: str = ""
    money: bool = True


@dataclass(frozen=True, slots=True)
class Accepted(Event):
    """The server created ``jobid`` (201, or found by marker): submitting|unknown →
    accepted. ``job``: the record as JSON text, if one came with it."""

    jobid: str = ""
    job: str | None = None
    money: bool = True


@dataclass(frozen=True, slots=True)
class Finished(Event):
    """An outcome: accepted|submitting|unknown → succeeded|failed. ``failed`` needs a
    ``category``; ``job`` is the final record as JSON text when there is one."""

    succeeded: bool = False
    category: FailureCategory | None = None
    error: str | None = None
    job: str | None = None
    jobid: str | None = None


@dataclass(frozen=True, slots=True)
class Retry(Event):
    """The user asked to submit a row again: failed → pending (``force`` is needed for
    categories where a job may exist, see :attr:`FailureCategory.may_have_paid`), or — with
    ``force`` only — an in-doubt row (submitting / unknown) whose lookup found nothing →
    pending in one step (``resubmit_in_doubt``; no failure is recorded in between, so a
    shared journal never shows another worker a failure that is being resubmitted)."""

    force: bool = False


S = SubmissionState
_ALLOWED: dict[type[Event], frozenset[SubmissionState]] = {
    Attempt: frozenset({S.PENDING, S.ACCEPTED}),
    Refused: frozenset({S.SUBMITTING}),
    InDoubt: frozenset({S.SUBMITTING}),
    Accepted: frozenset({S.SUBMITTING, S.UNKNOWN, S.FAILED}),
    Finished: frozenset({S.PENDING, S.SUBMITTING, S.UNKNOWN, S.ACCEPTED, S.FAILED}),
    Retry: frozenset({S.FAILED, S.SUBMITTING, S.UNKNOWN}),
}


def apply(row: Submission, event: Event, *, now: float) -> Submission:
    """The row after ``event`` at Unix time ``now`` (seconds).

    Raises:
        IllegalTransition: the event is not allowed in the row's state (see the module
            docstring), or is malformed (an empty marker or jobid, a failure without a
            category, a forced-only retry without ``force``).
    """
    allowed = _ALLOWED.get(type(event))
    if allowed is None or row.state not in allowed:
        raise IllegalTransition(
            f"journal row {row.key!r}: {type(event).__name__} is not allowed in state "
            f"{row.state.value!r} (a second writer on this row, or a bug; nothing was written)")
    if isinstance(event, Attempt):
        if not event.marker or event.marker in row.markers:
            raise IllegalTransition(f"journal row {row.key!r}: each attempt needs a new marker")
        return replace(row, state=S.SUBMITTING, attempts=row.attempts + 1,
                       marker=event.marker, markers=(*row.markers, event.marker),
                       jobid=None, job=None, updated=now)
    if isinstance(event, Refused):
        return replace(row, state=S.PENDING, updated=now)
    if isinstance(event, InDoubt):
        return replace(row, state=S.UNKNOWN, error=event.reason or row.error, updated=now)
    if isinstance(event, Accepted):
        if not event.jobid:
            raise IllegalTransition(f"journal row {row.key!r}: Accepted without a jobid")
        if row.state is S.FAILED and (row.category is None or not row.category.may_have_paid):
            raise IllegalTransition(
                f"journal row {row.key!r} failed as {row.category}: no job to adopt")
        return replace(row, state=S.ACCEPTED, jobid=event.jobid, job=event.job,
                       error=None, updated=now)
    if isinstance(event, Finished):
        if event.succeeded:
            if row.state is not S.ACCEPTED:
                raise IllegalTransition(f"journal row {row.key!r}: success without a job")
            return replace(row, state=S.SUCCEEDED, category=None, error=None,
                           job=event.job or row.job, updated=now)
        if event.category is None:
            raise IllegalTransition(f"journal row {row.key!r}: a failure needs a category")
        if row.state is S.FAILED and row.category is not FailureCategory.IN_DOUBT:
            raise IllegalTransition(f"journal row {row.key!r} already failed as "
                                    f"{row.category}; only an in-doubt failure is recorded "
                                    "again (after another lookup)")
        return replace(row, state=S.FAILED, category=event.category, error=event.error,
                       job=event.job or row.job, jobid=event.jobid or row.jobid, updated=now)
    assert isinstance(event, Retry)
    if row.state.in_doubt and not event.force:
        raise IllegalTransition(
            f"journal row {row.key!r} is in doubt: a job may exist and resubmitting may pay "
            "twice; that needs an explicit force")
    if row.category is not None and row.category.may_have_paid and not event.force:
        raise IllegalTransition(
            f"journal row {row.key!r} failed as {row.category.value}: a job may exist "
            "and resubmitting may pay twice; that needs an explicit force")
    return replace(row, state=S.PENDING, category=None, error=None, jobid=None, job=None,
                   updated=now)
