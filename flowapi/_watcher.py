"""JobWatcher: submit many async jobs, watch them all with few requests, yield each outcome
exactly once (DESIGN §6).

One scheduler task owns a heap of due events (a poll of one job, a delayed submission, a
listing tick, a deadline); jobs waiting to ripen sit in a second heap that each listing tick
drains. Requests run on a small pool of worker tasks
(at most ``max_concurrent_requests``) fed by a queue; no task exists per job, so 10,000 jobs
in flight cost a heap, a few dicts and one small record each.

Modes:

* ``"listing"`` (default): a job is *ripe* once it is ``first_fraction`` of its expected
  time old (:class:`~flowapi.PollPolicy`; the expected time is the account's
  ``videoGenerationTimeSeconds``, read once per account, else the documented typical time).
  While any job is ripe, one ``GET /jobs?options=executing`` per tick serves all of them:
  the ripe jobs missing from the executing list (a C-level set difference, so a tick costs
  Python work only for the jobs that changed) get one ``GET /jobs/{jobid}`` each. A job the
  listing cannot account for (still running although not listed) falls back to per-job
  polling, so correctness never depends on the listing. No job ripe → no tick at all.
  The tick interval adapts to the number ``d`` of ripe jobs,
  ``listing_interval × min(4, max(1, sqrt(32 / d)))``: 1 s for 32 or more ripe jobs, up to
  4 s for one or two, since a listing shared by few jobs buys little. A tick with a single
  ripe job polls that job directly (same cost, and no follow-up GET when it is done).
* ``"poll"``: per-job schedule from :class:`~flowapi.PollPolicy` (first poll near the
  expected time, then short jittered intervals).
* ``"webhook"``: each submit carries ``replyUrl`` (a :mod:`flowapi.webhooks` receiver);
  callbacks call :meth:`JobWatcher.notify`, which reads the job once. A listing resync runs
  every ``listing_interval`` (slow, default 30 s) over the jobs that are overdue (older than
  ``late_after × expected`` and ``listing_interval``) without a callback, so a lost
  callback costs lag, not a job, and no request while callbacks arrive.

After an ambiguous submit (timeout or reset after sending) the job is looked up by its
``replyRef`` marker (:mod:`flowapi._reconcile`) and adopted if the server took it;
otherwise the outcome is ``JobFailed(AmbiguousSubmitError)``. Never a silent second submit.
"""

from __future__ import annotations

import itertools
import logging
import math
import uuid
from collections import deque
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self

import anyio
import anyio.lowlevel
from anyio.abc import TaskGroup

from flowapi._capabilities import validate
from flowapi._errors import (
    AmbiguousSubmitError,
    FlowError,
    InvalidParamsError,
    JobTimeoutError,
)
from flowapi._lanes import Lanes
from flowapi._outcomes import JobFailed, JobSucceeded, Outcome, OutcomeQueue
from flowapi._polling import PollPolicy, failure_of
from flowapi._watch_listing import _gone as _gone
from flowapi._watch_listing import _Listing as _Listing
from flowapi._watch_listing import _WatchListing
from flowapi._watch_schedule import _POLL, _SUBMIT, _kind_of, _unset_to_none
from flowapi._watch_schedule import _Entry as _Entry
from flowapi.resources.jobs import normalize_listing_id

if TYPE_CHECKING:
    from flowapi._journal import Journal
    from flowapi._session import FlowSession
    from flowapi.types.accounts import Account
    from flowapi.types.jobs import Job

__all__ = ["JobWatcher", "WatchMode", "WatcherStats"]

log = logging.getLogger("flowapi")

WatchMode = Literal["listing", "poll", "webhook"]


@dataclass(slots=True)
class WatcherStats:
    """Counters of one watcher (for progress displays and benchmarks).

    Attributes:
        submitted: submit requests sent (including resubmits).
        accepted: jobs the server created (201).
        succeeded: :class:`JobSucceeded` outcomes.
        failed: :class:`JobFailed` outcomes.
        polls: ``GET /jobs/{jobid}`` requests.
        listings: ``GET /jobs?options=executing`` requests.
        listing_failures: listings that failed.
        fallbacks: jobs the listing could not account for, polled individually since.
        accounts_read: ``GET /accounts/{email}`` requests (expected generation times).
        parked_waits: submissions delayed by a parked lane.
        ambiguous: submits whose fate was unknown (timeout/reset after sending).
        adopted: ambiguous submits found on the server by their marker and adopted.
        notified: webhook callbacks that woke a job.
        states: jobs by state (``queued``, ``parked``, ``submitting``, ``running``, ...).
    """

    submitted: int = 0
    accepted: int = 0
    succeeded: int = 0
    failed: int = 0
    polls: int = 0
    listings: int = 0
    listing_failures: int = 0
    fallbacks: int = 0
    accounts_read: int = 0
    parked_waits: int = 0
    ambiguous: int = 0
    adopted: int = 0
    notified: int = 0
    states: dict[str, int] = field(default_factory=dict)


class JobWatcher(_WatchListing):
    """Submit ``async: true`` jobs and iterate their outcomes in completion order.

    Use it through :meth:`FlowSession.watch`::

        async with flow.watch(max_in_flight=16) as watcher:
            for prompt in prompts:
                await watcher.submit(flowapi.VideoParams(prompt=prompt), tag=prompt)
            watcher.close()
            async for outcome in watcher:
                ...

    Args:
        session: an open :class:`~flowapi.FlowSession`.
        max_in_flight: most submissions that are queued, submitting or running at once;
            :meth:`submit` waits for a free slot (back-pressure). Default 16, ≥ 1.
        mode: ``"listing"`` (default), ``"poll"`` or ``"webhook"``; see the module
            docstring.
        poll: the :class:`~flowapi.PollPolicy` (first-poll timing in every mode).
        listing_interval: seconds between listing ticks while many jobs are due, default 1
            (stretched up to 4× while few are; in webhook mode: the resync interval,
            default 30, not stretched).
        webhook_url: the ``replyUrl`` sent with each submit in webhook mode (a
            :mod:`flowapi.webhooks` receiver URL including its secret path token).
        job_timeout: seconds from acceptance (201) until a job counts as timed out
            (:class:`~flowapi.JobTimeoutError`, which keeps the jobid), default ``None``.
        max_concurrent_requests: most submits and polls in flight at once (the size of the
            worker pool; a listing tick may add one), default 32.
        resubmit_moderated: times a moderated job is submitted again (each spends
            credits), default 0.
        journal: a :class:`~flowapi.Journal` recording params, job ids and outcomes.
        learn_generation_times: read ``GET /accounts/{email}`` once per account to time the
            first poll by its ``videoGenerationTimeSeconds`` (default ``True``; one request
            per account; jobs whose account is unknown or masked use the documented times).

    Fatal errors (401, 402, bugs) end the watcher: ``async for`` and the ``async with``
    exit raise them as plain exceptions. Every other failure is a :class:`JobFailed` value.
    Leaving the block early cancels local polling; remote jobs keep running (their ids are
    in the journal, if any).
    """

    def __init__(self, session: FlowSession, *, max_in_flight: int = 16,
                 mode: WatchMode = "listing", poll: PollPolicy | None = None,
                 listing_interval: float | None = None, job_timeout: float | None = None,
                 max_concurrent_requests: int = 32, resubmit_moderated: int = 0,
                 journal: Journal | None = None, webhook_url: str | None = None,
                 learn_generation_times: bool = True) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be >= 1")
        if max_concurrent_requests < 1:
            raise ValueError("max_concurrent_requests must be >= 1")
        if mode not in ("listing", "poll", "webhook"):
            raise ValueError(f"mode must be 'listing', 'poll' or 'webhook', got {mode!r}")
        if mode == "webhook" and not webhook_url:
            raise ValueError("mode='webhook' needs webhook_url (see flowapi.webhooks)")
        self._session = session
        self._clock = session.clock
        self.max_in_flight = max_in_flight
        self.mode: WatchMode = mode
        self.poll_policy = poll or PollPolicy()
        self.listing_interval = listing_interval or (30.0 if mode == "webhook" else 1.0)
        self.webhook_url = webhook_url
        self.job_timeout = job_timeout
        self.resubmit_moderated = resubmit_moderated
        self.journal = journal
        self.learn_generation_times = learn_generation_times
        self.lanes = Lanes()
        self.stats = WatcherStats()
        self._slots = anyio.Semaphore(max_in_flight)
        self._max_workers = max_concurrent_requests
        self._entries: dict[str, _Entry] = {}
        self._by_jobid: dict[str, str] = {}
        self._lane_waiters: dict[str | None, list[_Entry]] = {}
        self._known_jobids: set[str] = set()
        self._heap: list[tuple[float, int, int, str]] = []
        self._seq = itertools.count()
        # work queue served by a pool of at most max_concurrent_requests workers, started
        # on demand; an idle worker waits on its own event (one wake-up per item)
        self._work: deque[tuple[int, _Entry, int]] = deque()
        self._idle: list[anyio.Event] = []
        self._workers = 0
        # listing mode: jobs not ripe yet (heap of ripe time, ripe_seq, key), ripe jobs by
        # jobid, and the tick state
        self._unripe: list[tuple[float, int, str]] = []
        self._ripe: dict[str, _Entry] = {}
        self._tick_due: float | None = None
        self._tick_running = False
        self._last_tick = -math.inf
        self._tick_hold = -math.inf
        self._listing_failures = 0
        # expected generation times learned per account (None: unknown / unreadable)
        self._accounts: dict[str, Account | None] = {}
        self._hints: dict[tuple[str, str], float | None] = {}
        self._learning: dict[str, list[_Entry]] = {}
        self._wake: anyio.CancelScope | None = None
        self._tg: TaskGroup | None = None
        self._exiting = False
        self._outcomes = OutcomeQueue()
        self._pending = 0
        self._closed = False
        self._fatal: BaseException | None = None

    # -- lifecycle ---------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        self._tg.start_soon(self._scheduler)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> bool | None:
        tg = self._tg
        assert tg is not None
        # Public entry points refuse from here on; internal tasks still running until the
        # cancellation reaches them keep a task group to (harmlessly) start into.
        self._exiting = True
        tg.cancel_scope.cancel()
        cancelled = exc is not None and isinstance(exc, anyio.get_cancelled_exc_class())
        try:
            suppressed = await tg.__aexit__(exc_type if cancelled else None,
                                            exc if cancelled else None,
                                            tb if cancelled else None)
        finally:
            self._tg = None
        self._outcomes.close()
        if self._fatal is not None and (exc is None or cancelled):
            raise self._fatal
        return suppressed if cancelled else None

    def close(self) -> None:
        """No more submissions: iteration ends once every pending outcome was yielded."""
        self._closed = True
        self._maybe_finish()

    @property
    def pending(self) -> int:
        """Submissions without an outcome yet."""
        return self._pending

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Outcome:
        try:
            return await self._outcomes.get()
        except anyio.EndOfStream:
            if self._fatal is not None:
                raise self._fatal from None
            raise StopAsyncIteration from None

    # -- submitting --------------------------------------------------------------------

    async def submit(self, params: Any, *, tag: Any = None, key: str | None = None) -> str:
        """Queue ``params`` for submission; wait while ``max_in_flight`` are pending.

        Args:
            params: :class:`~flowapi.VideoParams`, :class:`~flowapi.ExtendParams` or
                :class:`~flowapi.VideoUpscaleParams`. Unless ``reply_ref`` is set, a marker
                ``flowapi-<key>`` is sent as ``replyRef`` to find the job after an
                ambiguous failure.
            tag: any value, returned on the outcome.
            key: a stable id for this submission (journal key); default a random UUID.

        Returns:
            The submission's key.

        Raises:
            RuntimeError: the watcher is not entered or :meth:`close` was called.
            FlowError: a fatal error already ended the watcher.
        """
        if self._fatal is not None:
            raise self._fatal
        if self._tg is None or self._exiting:
            raise RuntimeError("JobWatcher.submit() outside 'async with flow.watch()'")
        if self._closed:
            raise RuntimeError("JobWatcher.submit() after close()")
        key = key or uuid.uuid4().hex
        if key in self._entries:
            raise ValueError(f"duplicate submission key {key!r}")
        await anyio.lowlevel.checkpoint_if_cancelled()
        try:  # no extra trip through the event loop while slots are free
            self._slots.acquire_nowait()
        except anyio.WouldBlock:
            await self._slots.acquire()
        entry = _Entry(key=key, params=params, tag=tag, email=_unset_to_none(params, "email"),
                       model=_unset_to_none(params, "model"), kind=_kind_of(params))
        self._entries[key] = entry
        self._pending += 1
        self._set_state(entry, "queued")
        if self.journal is not None:
            self.journal.record_params(key, params, tag)
        if self._session.validate:
            try:
                validate(params)
            except InvalidParamsError as exc:
                self._fail(entry, exc)  # an outcome, not an exception; nothing is sent
                return key
        self._enqueue(_SUBMIT, entry)
        return key

    async def adopt(self, jobid: str, *, key: str, params: Any = None, tag: Any = None,
                    accepted_at: float | None = None) -> None:
        """Watch a job that was already submitted (e.g. found in a journal after a crash).

        Args:
            jobid: the job id.
            key: the submission key.
            params: the params it was submitted with (for the outcome and resubmits).
            tag: returned on the outcome.
            accepted_at: clock ``now()`` when it was accepted; default now.
        """
        if self._tg is None or self._exiting:
            raise RuntimeError("JobWatcher.adopt() outside 'async with flow.watch()'")
        await self._slots.acquire()
        entry = _Entry(key=key, params=params, tag=tag, email=_unset_to_none(params, "email"),
                       model=_unset_to_none(params, "model"), kind=_kind_of(params),
                       attempts=1)
        self._entries[key] = entry
        self._pending += 1
        self._accepted(entry, jobid, None, accepted_at, check_now=True)

    async def reconcile(self, *, key: str, reply_ref: str, params: Any = None, tag: Any = None,
                        submitted_wall: float | None = None) -> None:
        """Resolve a submission whose fate is unknown (e.g. a journal row left in
        ``submitting`` by a crash): adopt the job carrying ``reply_ref`` if the server has
        it, else yield ``JobFailed(AmbiguousSubmitError)``. Never resubmits.
        """
        if self._tg is None or self._exiting:
            raise RuntimeError("JobWatcher.reconcile() outside 'async with flow.watch()'")
        await self._slots.acquire()
        entry = _Entry(key=key, params=params, tag=tag, email=_unset_to_none(params, "email"),
                       model=_unset_to_none(params, "model"), kind=_kind_of(params),
                       attempts=1, submitted_wall=submitted_wall or 0.0)
        self._entries[key] = entry
        self._pending += 1
        error = AmbiguousSubmitError("an earlier run was interrupted after sending this "
                                     "submit.", reply_ref=reply_ref)
        self._tg.start_soon(self._guarded, self._reconcile(entry, error))

    def notify(self, job: Job | str) -> bool:
        """A ``replyUrl`` callback arrived (webhook mode, or any mode as a hint).

        Callbacks are untrusted triggers: a payload saying the job finished makes the
        watcher read ``GET /jobs/{jobid}`` now; ``created``/``started`` payloads,
        duplicates and callbacks after the outcome are ignored.

        Args:
            job: the decoded callback payload, or just a job id.

        Returns:
            ``True`` if the job belongs to this watcher, ``False`` for a job it never
            submitted (the caller may log it; nothing else happens).
        """
        jobid = normalize_listing_id(job if isinstance(job, str) else job.jobid)
        key = self._by_jobid.get(jobid)
        entry = self._entries.get(key) if key is not None else None
        if entry is None:
            return jobid in self._known_jobids
        if entry.done or (not isinstance(job, str) and not job.is_finished):
            return True
        if entry.polling:  # a read is on the wire: re-read once after it if still running
            entry.renotified = True
            return True
        self.stats.notified += 1
        self._ripe.pop(jobid, None)
        # if the read finds it still running, hand it back to the listing/resync path
        # rather than to per-job polling (a callback is a hint, not a schedule)
        entry.probing = self.mode != "poll" and not entry.fallback
        self._enqueue(_POLL, entry)
        return True

    # -- outcomes -----------------------------------------------------------------------

    def _timed_out(self, entry: _Entry) -> None:
        self._fail(entry, JobTimeoutError(
            f"job {entry.jobid} still {entry.job.status if entry.job else 'running'} "
            f"after job_timeout={self.job_timeout}s; it may still finish: "
            f"flow.jobs.wait({entry.jobid!r})", jobid=entry.jobid or "",
            last_status=entry.job.status if entry.job else None))

    def _finished(self, entry: _Entry, job: Job) -> None:
        if job.status == "completed":
            self._emit(entry, JobSucceeded(job=job, key=entry.key, tag=entry.tag,
                                           params=entry.params, attempts=entry.attempts))
            return
        error = failure_of(job)
        if error.moderated and entry.attempts <= self.resubmit_moderated:
            log.debug("job %s moderated; resubmitting (attempt %d)", job.jobid,
                      entry.attempts + 1)
            self._forget_jobid(entry)
            entry.jobid = None
            entry.job = None
            entry.deadline = None
            self._set_state(entry, "queued")
            self._enqueue(_SUBMIT, entry)
            return
        self._fail(entry, error)

    def _fail(self, entry: _Entry, error: FlowError) -> None:
        self._emit(entry, JobFailed(error=error, key=entry.key, tag=entry.tag,
                                    params=entry.params, jobid=entry.jobid, job=entry.job,
                                    attempts=entry.attempts))

    def _forget_jobid(self, entry: _Entry) -> None:
        if entry.jobid is not None:
            self._by_jobid.pop(entry.jobid, None)
            self._ripe.pop(entry.jobid, None)

    def _emit(self, entry: _Entry, outcome: Outcome) -> None:
        if entry.done:
            log.warning("second outcome for %s suppressed (exactly-once)", entry.key)
            return
        entry.done = True
        self._set_state(entry, "done")
        if isinstance(outcome, JobSucceeded):
            self.stats.succeeded += 1
        else:
            self.stats.failed += 1
        if self.journal is not None:
            self.journal.record_outcome(entry.key, outcome)
        del self._entries[entry.key]
        self._forget_jobid(entry)
        self._pending -= 1
        self._slots.release()
        self._outcomes.put(outcome)
        self._maybe_finish()

    def _maybe_finish(self) -> None:
        if self._closed and self._pending == 0:
            self._outcomes.close()

    def _set_fatal(self, exc: BaseException) -> None:
        if self._fatal is None:
            self._fatal = exc
            log.error("watcher stopped by a fatal error: %s", exc)
        if self._tg is not None:
            self._tg.cancel_scope.cancel()
        self._outcomes.close()

    def _set_state(self, entry: _Entry, state: str) -> None:
        states = self.stats.states
        if entry.state:
            states[entry.state] -= 1
        entry.state = state
        if state != "done":
            states[state] = states.get(state, 0) + 1
