"""Submitting: lanes, the POST, acceptance and reconciliation of in-doubt submits
(DESIGN §5–7).

Every attempt is journaled *before* its POST (``Attempt`` with a fresh marker, a durable
commit) and its answer right after it (``Accepted`` with the jobid, ``Refused``, or
``InDoubt``). The POST and those two writes run shielded from cancellation, bounded by
the session's connect + read timeouts: leaving the watch block (Ctrl-C, ``break``, an
exception) lets a submit already on the wire finish so its jobid reaches the journal.
Nothing is sent once the watcher is stopping (a 401/402, or the block is being left).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anyio
import msgspec

from flowapi._errors import (
    AmbiguousSubmitError,
    APIError,
    AuthenticationError,
    CreditBudgetError,
    FlowError,
    PaymentRequiredError,
    RateLimitError,
    SessionExpiredError,
)
from flowapi.journal import (
    Accepted,
    Attempt,
    DuplicateJobidError,
    FailureCategory,
    InDoubt,
    Journal,
    Refused,
    join_reply_ref,
    new_marker,
)
from flowapi.watch._budget import CreditBudget
from flowapi.watch._entry import Entry, Phase
from flowapi.watch._reconcile import find_by_markers
from flowapi.watch._scheduler import Timers, WorkerPool

if TYPE_CHECKING:
    from anyio.abc import TaskGroup

    from flowapi._clock import Clock
    from flowapi._session import FlowSession
    from flowapi.types.jobs import Job
    from flowapi.watch._tracker import Tracker

__all__ = ["Submitter"]

log = logging.getLogger("flowapi")

_FATAL = (AuthenticationError, PaymentRequiredError)


class Submitter:
    """Sends the watcher's submits (see the module docstring).

    Args:
        session: the open session (its lanes are the one lane guard of all submitters).
        journal: the journal.
        tracker: the watcher's book.
        timers: for parked submits.
        clock: the session clock.
        size: most POSTs on the wire at once.
        webhook_url: ``replyUrl`` sent with each submit (webhook mode), or ``None``.
        on_accepted: ``on_accepted(entry, job_or_None)`` once a jobid is journaled.
        on_fatal: ends the watcher (401/402, a journal failure).
        stopping: whether nothing more may be sent.
        budget: the watcher's credit budget (each attempt is priced before it is sent).
    """

    def __init__(self, session: FlowSession, journal: Journal, tracker: Tracker,
                 timers: Timers, clock: Clock, size: int, webhook_url: str | None,
                 on_accepted: Callable[[Entry, Job | None], None],
                 on_fatal: Callable[[BaseException], None],
                 stopping: Callable[[], bool], budget: CreditBudget) -> None:
        self._session = session
        self._journal = journal
        self._tracker = tracker
        self._timers = timers
        self._clock = clock
        self._webhook_url = webhook_url
        self._on_accepted = on_accepted
        self._on_fatal = on_fatal
        self._stopping = stopping
        self._budget = budget
        self._lanes = session.transport.lanes
        self._waiting: dict[str | None, list[Entry]] = {}
        self._tg: TaskGroup | None = None
        self.pool: WorkerPool[Entry] = WorkerPool(size, self._handle, on_fatal)
        #: Seconds a POST already on the wire may take to finish when the block is left.
        self.wire_bound = session.timeouts.connect + session.timeouts.read

    def bind(self, task_group: TaskGroup | None) -> None:
        """Start work (workers, reconciliations) in ``task_group`` from now on."""
        self._tg = task_group
        self.pool.bind(task_group)

    # -- entry points ------------------------------------------------------------------

    def submit(self, entry: Entry) -> None:
        """Queue a POST for ``entry`` (new, or resubmitted after moderation)."""
        self._tracker.move(entry, Phase.QUEUED)
        entry.seq += 1
        self.pool.put(entry)

    def reconcile(self, entry: Entry, reason: str) -> None:
        """Look for ``entry``'s job by its markers (in its own task: it reads the listing
        a few times over several seconds and must not hold a submit worker)."""
        self._tracker.move(entry, Phase.RECONCILING)
        assert self._tg is not None
        self._tg.start_soon(self._reconcile, entry, reason)

    # -- the POST ------------------------------------------------------------------------

    async def _handle(self, entry: Entry) -> None:
        if entry.phase is not Phase.QUEUED or self._stopping():
            return
        now_wall = self._clock.time()
        until = self._lanes.blocked_until(entry.email, entry.model, now_wall)
        if until > now_wall:
            self._park_until(entry, until)
            return
        dead = self._lanes.dead_reason(entry.email)
        if dead is not None:
            await self._tracker.fail(entry, SessionExpiredError(dead, status_code=596,
                                                                email=entry.email))
            return
        if not self._lanes.try_enter(entry.email):
            self._tracker.move(entry, Phase.PARKED)
            self._waiting.setdefault(entry.email, []).append(entry)
            return
        healthy: bool | None = None
        try:
            healthy = await self._send(entry)
        finally:
            self._lanes.leave(entry.email, healthy=healthy)
            for waiter in self._waiting.pop(entry.email, []):
                if waiter.phase is Phase.PARKED:
                    self.submit(waiter)

    def _park_until(self, entry: Entry, until_wall: float) -> None:
        self._tracker.stats.parked_waits += 1
        self._tracker.move(entry, Phase.PARKED)
        entry.seq += 1
        seq = entry.seq
        due = self._clock.now() + max(0.0, until_wall - self._clock.time())

        def wake() -> None:
            if entry.seq == seq and entry.phase is Phase.PARKED:
                self.submit(entry)

        self._timers.call_at(due, wake)

    def _wire_params(self, entry: Entry, marker: str) -> Any:
        changes: dict[str, Any] = {"reply_ref": join_reply_ref(marker, entry.user_reply_ref)}
        if self._webhook_url and getattr(entry.params, "reply_url", None) is msgspec.UNSET:
            changes["reply_url"] = self._webhook_url
        return msgspec.structs.replace(entry.params, **changes)

    async def _send(self, entry: Entry) -> bool | None:
        """One attempt; returns whether the lane proved healthy (see ``Lanes.leave``)."""
        marker = new_marker()
        try:
            params = self._wire_params(entry, marker)
        except ValueError as exc:  # replyRef too long with the marker
            from flowapi._errors import InvalidParamsError

            await self._tracker.fail(entry, InvalidParamsError(str(exc), field="replyRef"))
            return None
        try:
            price = self._budget.reserve(entry.params)
        except CreditBudgetError as exc:
            await self._tracker.fail(entry, exc, category=FailureCategory.REJECTED)
            return None
        with anyio.CancelScope(shield=True):
            await self._journal.update(entry.key, Attempt(marker=marker))
            self._tracker.bind_marker(entry, marker)
            if self._stopping():  # a 402 arrived meanwhile: do not send
                await self._journal.update(entry.key, Refused())
                self._budget.release(price)
                return None
            entry.attempts += 1
            self._tracker.move(entry, Phase.SUBMITTING)
            self._tracker.stats.submitted += 1
            job: Job | None = None
            error: FlowError | None = None
            with anyio.move_on_after(self.wire_bound) as scope:
                try:
                    job = await self._session.jobs.submit(params)
                except FlowError as exc:
                    error = exc
            if scope.cancelled_caught:
                error = AmbiguousSubmitError(
                    f"the submit was still on the wire {self.wire_bound:.0f}s after the watch "
                    "block was left", reply_ref=marker)
            if job is None and isinstance(error, RateLimitError | AuthenticationError |
                                          PaymentRequiredError):
                self._budget.release(price)  # certainly not created
            return await self._answered(entry, job, error)
        return None  # not reached: a shielded scope does not swallow exceptions

    async def _answered(self, entry: Entry, job: Job | None,
                        error: FlowError | None) -> bool | None:
        """Journal the POST's answer and act on it (runs shielded)."""
        tracker, journal = self._tracker, self._journal
        if job is not None:
            await self._accept(entry, job)
            return True
        assert error is not None
        if isinstance(error, RateLimitError):
            await journal.update(entry.key, Refused())
            until = error.lane_retry_at
            if until is None:
                until = self._lanes.blocked_until(entry.email, entry.model, self._clock.time())
            log.debug("submission %s parked until %.0f (%s)", entry.key, until, error.reason)
            self._park_until(entry, until)
            return False
        if isinstance(error, _FATAL):
            await journal.update(entry.key, Refused())  # certainly not created
            tracker.move(entry, Phase.QUEUED)
            self._on_fatal(error)
            return None
        if isinstance(error, AmbiguousSubmitError):
            await journal.update(entry.key, InDoubt(reason=str(error)))
            if not self._stopping():
                self.reconcile(entry, str(error))
            else:
                tracker.move(entry, Phase.RECONCILING)
            return None
        await tracker.fail(entry, error)  # definite: no job was created
        return True if isinstance(error, APIError) and not isinstance(
            error, SessionExpiredError) else None

    async def _accept(self, entry: Entry, job: Job) -> None:
        """Journal the jobid, then hand the job to the status source."""
        tracker = self._tracker
        other = tracker.bind_jobid(entry, job.jobid)
        if other is not None:
            await self._duplicate(entry, job.jobid, other.key)
            return
        try:
            await self._journal.update(entry.key, Accepted(jobid=job.jobid))
        except DuplicateJobidError as exc:
            tracker.unbind_jobid(entry)
            await self._duplicate(entry, job.jobid, exc.owner)
            return
        tracker.stats.accepted += 1
        self._on_accepted(entry, job)

    async def _duplicate(self, entry: Entry, jobid: str, owner: str) -> None:
        await self._tracker.fail(entry, AmbiguousSubmitError(
            f"in doubt (may have been created and paid): the server answered this submit with "
            f"jobid {jobid}, which already belongs to {owner!r}. This submission's own job, if "
            "any, is unknown; it is not resubmitted. Check `flowapi jobs stats --options "
            "history` and the account's media before submitting it again."),
            category=FailureCategory.IN_DOUBT)

    # -- reconciliation ------------------------------------------------------------------

    async def _reconcile(self, entry: Entry, reason: str) -> None:
        tracker = self._tracker
        tracker.stats.ambiguous += 1
        markers = entry.markers
        try:
            job = await find_by_markers(
                self._session, self._journal, markers,
                known=lambda jobid: jobid in tracker.by_jobid,
                still_looking=lambda: entry.phase is Phase.RECONCILING)
        except Exception as exc:
            self._on_fatal(exc)
            return
        if entry.phase is not Phase.RECONCILING:
            return  # a callback carrying its marker adopted it meanwhile
        if job is None:
            await tracker.fail(entry, AmbiguousSubmitError(
                f"in doubt (may have been created and paid): {reason.rstrip('.')}. Looked "
                f"for its marker{'s' if len(markers) > 1 else ''} {', '.join(markers) or '-'} "
                "among executing jobs, the recent history (the 10 newest finished jobs of the "
                "last 15 minutes) and kept callbacks, and did not find it. It is not "
                "resubmitted; a later run looks again. Submitting it anyway may pay twice "
                "(flowapi batch --resubmit-in-doubt, or flow.watch(resubmit_in_doubt=True)).",
                reply_ref=entry.marker), category=FailureCategory.IN_DOUBT)
            return
        await self.adopt_found(entry, job)

    async def adopt_found(self, entry: Entry, job: Job) -> None:
        """``job`` carries one of ``entry``'s markers: journal and watch it."""
        if entry.phase is not Phase.RECONCILING:
            return
        tracker = self._tracker
        other = tracker.bind_jobid(entry, job.jobid)
        if other is not None:
            await self._duplicate(entry, job.jobid, other.key)
            return
        with anyio.CancelScope(shield=True):
            await self._journal.update(entry.key, Accepted(jobid=job.jobid))
        tracker.stats.adopted += 1
        tracker.stats.accepted += 1
        self._on_accepted(entry, job)
