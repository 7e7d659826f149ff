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
    APIConnectionError,
    APIError,
    AuthenticationError,
    CaptchaServiceError,
    CreditBudgetError,
    FlowError,
    InvalidParamsError,
    PaymentRequiredError,
    RateLimitError,
    ServiceUnavailableError,
    SessionExpiredError,
)
from flowapi._retry import RetryPolicy
from flowapi.journal import (
    Accepted,
    Attempt,
    DuplicateJobidError,
    FailureCategory,
    IllegalTransition,
    InDoubt,
    Journal,
    LeaseLostError,
    Refused,
    Retry,
    join_reply_ref,
    new_marker,
)
from flowapi.watch._budget import CreditBudget
from flowapi.watch._entry import Entry, Phase
from flowapi.watch._reconcile import confirm_marker, find_by_markers
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
_ONE_ATTEMPT = RetryPolicy.none()
#: Shortest wait before a parked submit is tried again (a cooldown dated in the past must
#: not turn into a loop of immediate resends).
MIN_PARK = 1.0


def _transient(error: FlowError | None) -> bool:
    """A refusal that certainly created nothing and may pass on a later try."""
    if isinstance(error, CaptchaServiceError):
        return False  # the provider is broken: retrying spends nothing but time (docs)
    if isinstance(error, ServiceUnavailableError):
        return True
    return isinstance(error, APIConnectionError) and not error.request_sent


def _certainly_not_created(error: FlowError | None) -> bool:
    return isinstance(error, RateLimitError | AuthenticationError | PaymentRequiredError) \
        or _transient(error)


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
        resubmit_in_doubt: a submit in doubt that its lookup did not find is sent again
            (**may pay twice**; the user asked for it).
        known: whether a jobid belongs to a key of the journal (never a lookup candidate);
            default: the keys this watcher tracks.
        on_lease_lost: called with an entry whose ``Attempt`` a shared journal refused
            (:class:`~flowapi.journal.LeaseLostError`: another worker holds its key now;
            nothing was sent). Default: treat it as fatal.
    """

    def __init__(self, session: FlowSession, journal: Journal, tracker: Tracker,
                 timers: Timers, clock: Clock, size: int, webhook_url: str | None,
                 on_accepted: Callable[[Entry, Job | None], None],
                 on_fatal: Callable[[BaseException], None],
                 stopping: Callable[[], bool], budget: CreditBudget, *,
                 resubmit_in_doubt: bool = False,
                 known: Callable[[str], bool] | None = None,
                 on_lease_lost: Callable[[Entry], None] | None = None) -> None:
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
        self._resubmit_in_doubt = resubmit_in_doubt
        self._known = known or (lambda jobid: jobid in tracker.by_jobid)
        self._on_lease_lost = on_lease_lost
        self._lanes = session.transport.lanes
        self._waiting: dict[str | None, list[Entry]] = {}
        self._tg: TaskGroup | None = None
        self.pool: WorkerPool[Entry] = WorkerPool(size, self._handle, on_fatal)
        #: Seconds a POST already on the wire may take to finish when the block is left.
        self.wire_bound = session.timeouts.connect + session.timeouts.read
        self._wires: set[anyio.CancelScope] = set()

    def bind(self, task_group: TaskGroup | None) -> None:
        """Start work (workers, reconciliations) in ``task_group`` from now on; ``None``:
        stop (and stop listening to the session's lanes)."""
        self._tg = task_group
        self.pool.bind(task_group)
        if task_group is not None:
            self._lanes.on_leave.append(self._lane_left)
        elif self._lane_left in self._lanes.on_leave:
            self._lanes.on_leave.remove(self._lane_left)

    def end_wires(self) -> None:
        """The block is being left: POSTs on the wire get ``wire_bound`` seconds to answer
        (then they count as in doubt); their journal writes still complete."""
        deadline = anyio.current_time() + self.wire_bound
        for wire in self._wires:
            wire.deadline = min(wire.deadline, deadline)

    def _lane_left(self, email: str | None) -> None:
        """A submit of this session (any watcher's) left ``email``'s lane: the submissions
        held back for it try again."""
        for waiter in self._waiting.pop(email, []):
            if waiter.phase is Phase.PARKED:
                self.submit(waiter)

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
            self._lanes.leave(entry.email, healthy=healthy)  # wakes every waiter of the lane

    def _park_until(self, entry: Entry, until_wall: float) -> None:
        self._tracker.stats.parked_waits += 1
        self._tracker.move(entry, Phase.PARKED)
        entry.seq += 1
        seq = entry.seq
        due = self._clock.now() + max(MIN_PARK, until_wall - self._clock.time())

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
            await self._tracker.fail(entry, InvalidParamsError(str(exc), field="replyRef"))
            return None
        try:
            price = self._budget.reserve(entry.params)
        except CreditBudgetError as exc:
            await self._tracker.fail(entry, exc, category=FailureCategory.REJECTED)
            return None
        with anyio.CancelScope(shield=True):
            try:
                await self._journal.update(entry.key, Attempt(marker=marker))
            except LeaseLostError:
                self._budget.release(price)
                if self._on_lease_lost is None:
                    raise
                self._on_lease_lost(entry)  # another worker took the key over: follow it
                return None
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
            # one attempt, no transport retries: a resend is decided below, unshielded, so
            # nothing new is sent once the block is left. The wire itself gets a deadline
            # only when the block is left (end_wires).
            with anyio.CancelScope() as wire:
                self._wires.add(wire)
                try:
                    job = await self._session.jobs.submit(params, retry=_ONE_ATTEMPT)
                except FlowError as exc:
                    error = exc
                finally:
                    self._wires.discard(wire)
            if wire.cancelled_caught:
                error = AmbiguousSubmitError(
                    f"the submit was still on the wire {self.wire_bound:.0f}s after the watch "
                    "block was left", reply_ref=marker)
            if job is None and _certainly_not_created(error):
                self._budget.release(price)
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
        if _transient(error):  # a 503 "try again", or a connect failure before sending
            await journal.update(entry.key, Refused())
            entry.transient += 1
            if entry.transient < self._session.retry.attempts and not self._stopping():
                delay = self._session.retry.backoff(entry.transient)
                log.debug("submission %s refused (%s); again in %.1fs", entry.key, error, delay)
                self._park_until(entry, self._clock.time() + delay)
                return None
            await tracker.fail(entry, error)
            return None
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
        except IllegalTransition:
            row = await self._journal.get(entry.key)
            if row is None or row.jobid != job.jobid or self._on_lease_lost is None:
                raise
            # a shared journal: another worker took the key over while this POST was on
            # the wire, found this very job by its marker and recorded it — it is that
            # worker's now; follow it (its outcome comes through the journal)
            tracker.unbind_jobid(entry)
            self._on_lease_lost(entry)
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
        # only the latest attempt can be in doubt: an earlier one was refused, or accepted
        # (its job is known and must never be adopted again for this attempt)
        markers = (entry.marker,) if entry.marker else ()
        try:
            job, looked = await find_by_markers(
                self._session, self._journal, markers, known=self._known,
                still_looking=lambda: entry.phase is Phase.RECONCILING)
        except Exception as exc:  # 401/402 during the lookup, a journal failure, a bug
            self._on_fatal(exc)
            return
        if entry.phase is not Phase.RECONCILING:
            return  # a callback carrying its marker adopted it meanwhile
        if job is not None:
            await self.adopt_found(entry, job)
            return
        searched = ("looked for its marker " + (markers[0] if markers else "-") +
                    " among executing jobs, the recent history (the 10 newest finished jobs "
                    "of the last 15 minutes) and kept callbacks, and did not find it"
                    if looked else "could not look it up (the job listing kept failing)")
        if self._resubmit_in_doubt and looked and not self._stopping():
            log.warning("submission %s in doubt and not found; resubmitting as asked "
                        "(resubmit_in_doubt: this may pay twice)", entry.key)
            with anyio.CancelScope(shield=True):  # in doubt (or failed so) → pending
                try:
                    row = await self._journal.update(entry.key, Retry(force=True))
                except LeaseLostError:  # another worker holds the key now: it decides
                    if self._on_lease_lost is None:
                        raise
                    self._on_lease_lost(entry)
                    return
            log.debug("%s: %s; resubmitting (attempt %d)", entry.key, searched,
                      row.attempts + 1)
            self.submit(entry)
            return
        await tracker.fail(entry, AmbiguousSubmitError(
            f"in doubt (may have been created and paid): {reason.rstrip('.')}; {searched}. "
            "It is not resubmitted; a later run looks again. Submitting it anyway may pay "
            "twice (flowapi batch --resubmit-in-doubt, or flow.watch(resubmit_in_doubt=True)).",
            reply_ref=entry.marker), category=FailureCategory.IN_DOUBT)

    async def adopt_confirmed(self, entry: Entry, jobid: str) -> None:
        """A callback named ``jobid`` for ``entry``'s attempt in doubt: read the job and
        adopt it only if its own record carries that attempt's marker."""
        if entry.phase is not Phase.RECONCILING or entry.jobid is not None:
            return
        job = await confirm_marker(self._session, jobid, entry.marker)
        if job is not None:
            await self.adopt_found(entry, job)

    async def adopt_found(self, entry: Entry, job: Job) -> None:
        """``job`` carries the marker of ``entry``'s attempt in doubt: journal and watch it.
        Called by the lookup and by callbacks, possibly at once: the first call binds the
        jobid before its first await, so a second one returns."""
        if entry.phase is not Phase.RECONCILING or entry.jobid is not None:
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
