"""JobWatcher: submit many async jobs, watch them all with few requests, yield each outcome
exactly once (DESIGN §6).

One scheduler task owns a heap of due events (a poll of one job, a delayed submission, a job
becoming *ripe*, a listing tick, a deadline). Requests run on a small pool of worker tasks
(at most ``max_concurrent_requests``) fed by a queue; no task exists per job, so 10,000 jobs
in flight cost a heap, a few dicts and one small record each.

Modes:

* ``"listing"`` (default): a job is *ripe* once it is ``first_fraction`` of its expected
  time old (:class:`~flowapi.PollPolicy`; the expected time is the account's
  ``videoGenerationTimeSeconds``, read once per account, else the documented typical time).
  While any job is ripe, one ``GET /jobs?options=executing`` per tick serves all of them:
  the ripe jobs missing from the executing list (a C-level set difference, so a tick costs
  Python work only for jobs that changed) get one ``GET /jobs/{jobid}`` each. A job the
  listing cannot account for (still running although not listed) falls back to per-job
  polling, so correctness never depends on the listing. No job ripe → no tick at all.
  The tick interval adapts to the number ``d`` of ripe jobs:
  ``listing_interval × min(4, max(1, sqrt(32 / d)))`` — 1 s for 32 or more ripe jobs, up to
  4 s for one or two — since a listing shared by few jobs buys little; a tick with a single
  ripe job polls that job directly (same cost, and no follow-up GET when it is done).
* ``"poll"``: per-job schedule from :class:`~flowapi.PollPolicy` (first poll near the
  expected time, then short jittered intervals).
* ``"webhook"``: each submit carries ``replyUrl`` (a :mod:`flowapi.webhooks` receiver);
  callbacks call :meth:`JobWatcher.notify`, which reads the job once. A listing resync runs
  every ``listing_interval`` (slow, default 30 s) over jobs older than that, so a lost
  callback costs lag, not a job.

After an ambiguous submit (timeout or reset after sending) the job is looked up by its
``replyRef`` marker (:mod:`flowapi._reconcile`) and adopted if the server took it;
otherwise the outcome is ``JobFailed(AmbiguousSubmitError)``. Never a silent second submit.
"""

from __future___ import annotations

import heapq
import itertools
import logging
import math
import uuid
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self

import anyio
import msgspec
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from flowapi._capabilities import validate
from flowapi._errors import (
    AmbiguousSubmitError,
    APIError,
    AuthenticationError,
    FlowError,
    InvalidParamsError,
    JobExpiredError,
    JobTimeoutError,
    NotFoundError,
    PaymentRequiredError,
    RateLimitError,
    SessionExpiredError,
)
from flowapi._lanes import Lanes
from flowapi._outcomes import JobFailed, JobSucceeded, Outcome
from flowapi._polling import PollPolicy, failure_of
from flowapi._reconcile import find_by_marker

if TYPE_CHECKING:
    from flowapi._journal import Journal
    from flowapi._session import FlowSession
    from flowapi.types.jobs import Job

__all__ = ["JobWatcher", "WatchMode"]

log = logging.getLogger("flowapi")

WatchMode = Literal["listing", "poll", "webhook"]
_FATAL = (AuthenticationError, PaymentRequiredError)
_POLL = 0
_SUBMIT = 1
_LIST = 2


@dataclass(slots=True)
class _Entry:
    key: str
    params: Any
    tag: Any
    email: str | None
    model: str | None
    kind: str
    jobid: str | None = None
    job: Job | None = None
    submitted_wall: float = 0.0
    accepted_at: float = 0.0
    ripe_at: float = 0.0
    deadline: float | None = None
    polls: int = 0
    poll_errors: int = 0
    attempts: int = 0
    fallback: bool = False
    seq: int = 0
    state: str = ""
    done: bool = False


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
        parked_waits: submissions delayed by a parked lane.
        ambiguous: submits whose fate was unknown (timeout/reset after sending).
        adopted: ambiguous submits found on the server by their marker and adopted.
        notified: webhook callbacks that woke a job.
    """

    submitted: int = 0
    accepted: int = 0
    succeeded: int = 0
    failed: int = 0
    polls: int = 0
    listings: int = 0
    parked_waits: int = 0
    ambiguous: int = 0
    adopted: int = 0
    notified: int = 0
    states: dict[str, int] = field(default_factory=dict)


class JobWatcher:
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
        listing_interval: seconds between listing ticks while jobs are due, default 1
            (in webhook mode: the resync interval, default 30).
        webhook_url: the ``replyUrl`` sent with each submit in webhook mode (a
            :mod:`flowapi.webhooks` receiver URL including its secret path token).
        job_timeout: seconds from acceptance (201) until a job counts as timed out
            (:class:`~flowapi.JobTimeoutError`, which keeps the jobid), default ``None``.
        max_concurrent_requests: most requests in flight at once, default 32.
        resubmit_moderated: times a moderated job is submitted again (each spends
            credits), default 0.
        journal: a :class:`~flowapi.Journal` recording params, job ids and outcomes.

    Fatal errors (401, 402, bugs) end the watcher: ``async for`` and the ``async with``
    exit raise them as plain exceptions. Every other failure is a :class:`JobFailed` value.
    Leaving the block early cancels local polling; remote jobs keep running (their ids are
    in the journal, if any).
    """

    def __init__(self, session: FlowSession, *, max_in_flight: int = 16,
                 mode: WatchMode = "listing", poll: PollPolicy | None = None,
                 listing_interval: float | None = None, job_timeout: float | None = None,
                 max_concurrent_requests: int = 32, resubmit_moderated: int = 0,
                 journal: Journal | None = None, webhook_url: str | None = None) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be >= 1")
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
        self.lanes = Lanes()
        self.stats = WatcherStats()
        self._slots = anyio.Semaphore(max_in_flight)
        self._limiter = anyio.CapacityLimiter(max_concurrent_requests)
        self._entries: dict[str, _Entry] = {}
        self._by_jobid: dict[str, str] = {}
        self._lane_waiters: dict[str | None, list[_Entry]] = {}
        self._known_jobids: set[str] = set()
        self._heap: list[tuple[float, int, int, str]] = []
        self._seq = itertools.count()
        self._tick_due: float | None = None
        self._wake: anyio.CancelScope | None = None
        self._tg: TaskGroup | None = None
        self._send: MemoryObjectSendStream[Outcome]
        self._recv: MemoryObjectReceiveStream[Outcome]
        self._send, self._recv = anyio.create_memory_object_stream[Outcome](math.inf)
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
        self._tg = None
        tg.cancel_scope.cancel()
        cancelled = exc is not None and isinstance(exc, anyio.get_cancelled_exc_class())
        suppressed = await tg.__aexit__(exc_type if cancelled else None,
                                        exc if cancelled else None, tb if cancelled else None)
        self._send.close()
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
            return await self._recv.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
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
        if self._tg is None:
            raise RuntimeError("JobWatcher.submit() outside 'async with flow.watch()'")
        if self._closed:
            raise RuntimeError("JobWatcher.submit() after close()")
        key = key or uuid.uuid4().hex
        if key in self._entries:
            raise ValueError(f"duplicate submission key {key!r}")
        await self._slots.acquire()
        entry = _Entry(key=key, params=params, tag=tag, email=_unset_to_none(params, "email"),
                       model=_unset_to_none(params, "model"), kind=_kind_of(params))
        self._entries[key] = entry
        self._pending += 1
        self._set_state(entry, "queued")
        if self.journal is not None:
            self.journal.record_params(key, params, tag)
        self._tg.start_soon(self._submit, entry)
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
        if self._tg is None:
            raise RuntimeError("JobWatcher.adopt() outside 'async with flow.watch()'")
        await self._slots.acquire()
        entry = _Entry(key=key, params=params, tag=tag, email=_unset_to_none(params, "email"),
                       model=_unset_to_none(params, "model"), kind=_kind_of(params),
                       attempts=1)
        self._entries[key] = entry
        self._pending += 1
        self._accepted(entry, jobid, None, accepted_at, check_now=True)

    def _with_marker(self, entry: _Entry) -> Any:
        params = entry.params
        if getattr(params, "reply_ref", None) is msgspec.UNSET:
            suffix = "" if entry.attempts <= 1 else f"-{entry.attempts}"
            params = msgspec.structs.replace(params, reply_ref=f"flowapi-{entry.key}{suffix}")
        if self.webhook_url and getattr(params, "reply_url", None) is msgspec.UNSET:
            params = msgspec.structs.replace(params, reply_url=self.webhook_url)
        return params

    async def _submit(self, entry: _Entry) -> None:
        try:
            await self._submit_inner(entry)
        except Exception as exc:
            self._set_fatal(exc)

    async def _submit_inner(self, entry: _Entry) -> None:
        if self._session.validate and entry.attempts == 0:
            try:
                validate(entry.params)
            except InvalidParamsError as exc:
                self._fail(entry, exc)
                return
        now_wall = self._clock.time()
        until = self.lanes.blocked_until(entry.email, entry.model, now_wall)
        if until > now_wall:
            self.stats.parked_waits += 1
            self._set_state(entry, "parked")
            self._schedule(_SUBMIT, entry, self._clock.now() + (until - now_wall))
            return
        dead = self.lanes.dead_reason(entry.email)
        if dead is not None:
            self._fail(entry, SessionExpiredError(dead, status_code=596))
            return
        if not self.lanes.try_enter(entry.email):
            self._set_state(entry, "parked")
            self._lane_waiters.setdefault(entry.email, []).append(entry)
            return
        healthy: bool | None = None
        try:
            healthy = await self._send_submit(entry)
        finally:
            self.lanes.leave(entry.email, healthy=healthy)
            assert self._tg is not None
            for waiter in self._lane_waiters.pop(entry.email, []):
                self._tg.start_soon(self._submit, waiter)

    async def _send_submit(self, entry: _Entry) -> bool | None:
        """Send one submit; returns whether the lane proved healthy (see Lanes.leave)."""
        entry.attempts += 1
        params = self._with_marker(entry)
        self._set_state(entry, "submitting")
        if self.journal is not None:
            self.journal.record_submitting(entry.key, _unset_to_none(params, "reply_ref"),
                                           params)
        entry.submitted_wall = self._clock.time()
        try:
            async with self._limiter:
                self.stats.submitted += 1
                job = await self._session.jobs.submit(params)
        except RateLimitError as exc:
            entry.attempts -= 1
            if self.journal is not None:
                self.journal.record_submit_refused(entry.key)
            retry_at = self.lanes.park(exc, entry.email, entry.model, self._clock.time())
            log.debug("submission %s parked until %.0f (%s)", entry.key, retry_at, exc.reason)
            self.stats.parked_waits += 1
            self._set_state(entry, "parked")
            self._schedule(_SUBMIT, entry,
                           self._clock.now() + max(0.0, retry_at - self._clock.time()))
            return False
        except SessionExpiredError as exc:
            if entry.email:
                self.lanes.kill(entry.email, exc)
            self._fail(entry, exc)
            return None
        except _FATAL as exc:
            self._set_fatal(exc)
            return None
        except AmbiguousSubmitError as exc:
            entry.params = params
            await self._reconcile(entry, exc)
            return None
        except APIError as exc:
            self._fail(entry, exc)
            return True
        except FlowError as exc:
            self._fail(entry, exc)
            return None
        entry.params = params
        self.stats.accepted += 1
        self._accepted(entry, job.jobid, job, None)
        return True

    async def _reconcile(self, entry: _Entry, error: AmbiguousSubmitError) -> None:
        """Find an ambiguously submitted job by its marker; adopt it or fail the entry."""
        self.stats.ambiguous += 1
        marker = error.reply_ref or _unset_to_none(entry.params, "reply_ref")
        self._set_state(entry, "reconciling")
        job = None
        if marker is not None:
            job = await find_by_marker(self._session, marker, known=self._known_jobids,
                                       since=entry.submitted_wall or self._clock.time())
        if job is None:
            self._fail(entry, AmbiguousSubmitError(
                f"{error.message} Looked for replyRef {marker!r} among executing and recent "
                "jobs and did not find it; the job was most likely not created. It is not "
                "resubmitted automatically.", method=error.method, url=error.url,
                reply_ref=marker, cause=error.cause))
            return
        self.stats.adopted += 1
        self.stats.accepted += 1
        self._accepted(entry, job.jobid, job, None)

    async def reconcile(self, *, key: str, reply_ref: str, params: Any = None, tag: Any = None,
                        submitted_wall: float | None = None) -> None:
        """Resolve a submission whose fate is unknown (e.g. a journal row left in
        ``submitting`` by a crash): adopt the job carrying ``reply_ref`` if the server has
        it, else yield ``JobFailed(AmbiguousSubmitError)``. Never resubmits.
        """
        if self._tg is None:
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

    async def _guarded(self, coro: Any) -> None:
        try:
            await coro
        except Exception as exc:
            self._set_fatal(exc)

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
        from flowapi.resources.jobs import normalize_listing_id

        jobid = normalize_listing_id(job if isinstance(job, str) else job.jobid)
        key = self._by_jobid.get(jobid)
        entry = self._entries.get(key) if key is not None else None
        if entry is None:
            return jobid in self._known_jobids
        if entry.done or (not isinstance(job, str) and not job.is_finished):
            return True
        self.stats.notified += 1
        self._schedule(_POLL, entry, self._clock.now())
        return True

    def _accepted(self, entry: _Entry, jobid: str, job: Job | None,
                  accepted_at: float | None, *, check_now: bool = False) -> None:
        now = self._clock.now()
        self._by_jobid[jobid] = entry.key
        self._known_jobids.add(jobid)
        entry.jobid = jobid
        entry.job = job
        entry.accepted_at = now if accepted_at is None else accepted_at
        entry.deadline = None if self.job_timeout is None else entry.accepted_at + self.job_timeout
        entry.polls = 0
        entry.fallback = self.mode == "poll"
        if self.mode == "webhook":
            entry.ripe_at = entry.accepted_at + self.listing_interval
        else:
            entry.ripe_at = entry.accepted_at + self.poll_policy.first_delay(entry.model,
                                                                             entry.kind)
        if check_now:  # adopted after a restart: it may have finished meanwhile
            entry.ripe_at = now
        self._set_state(entry, "running")
        if self.journal is not None:
            self.journal.record_jobid(entry.key, jobid)
        if entry.fallback:
            self._schedule(_POLL, entry, entry.ripe_at)
        else:
            self._schedule_tick(entry.ripe_at)
            if entry.deadline is not None:
                self._schedule(_POLL, entry, entry.deadline)

    # -- scheduling ---------------------------------------------------------------------

    def _schedule(self, kind: int, entry: _Entry, due: float) -> None:
        entry.seq = next(self._seq)
        if entry.deadline is not None and kind == _POLL:
            due = min(due, entry.deadline)
        heapq.heappush(self._heap, (due, entry.seq, kind, entry.key))
        self._poke(due)

    def _schedule_tick(self, due: float) -> None:
        if self._tick_due is not None and self._tick_due <= due:
            return
        self._tick_due = due
        heapq.heappush(self._heap, (due, next(self._seq), _LIST, ""))
        self._poke(due)

    def _poke(self, due: float) -> None:
        if self._wake is not None and (not self._heap or due <= self._heap[0][0]):
            self._wake.cancel()

    async def _scheduler(self) -> None:
        try:
            while True:
                now = self._clock.now()
                while self._heap and self._heap[0][0] <= now:
                    due, seq, kind, key = heapq.heappop(self._heap)
                    self._dispatch(kind, key, seq, due)
                delay = self._heap[0][0] - now if self._heap else math.inf
                with anyio.CancelScope() as scope:
                    self._wake = scope
                    if math.isinf(delay):
                        await anyio.sleep_forever()
                    else:
                        await self._clock.sleep(delay)
                self._wake = None
        except Exception as exc:
            self._set_fatal(exc)

    def _dispatch(self, kind: int, key: str, seq: int, due: float) -> None:
        assert self._tg is not None
        if kind == _LIST:
            if self._tick_due is not None and due >= self._tick_due:
                self._tick_due = None
                self._tg.start_soon(self._list_tick)
            return
        entry = self._entries.get(key)
        if entry is None or entry.done or entry.seq != seq:
            return
        if kind == _SUBMIT:
            self._tg.start_soon(self._submit, entry)
        else:
            self._tg.start_soon(self._poll, entry)

    # -- watching -----------------------------------------------------------------------

    async def _poll(self, entry: _Entry) -> None:
        try:
            await self._poll_inner(entry)
        except Exception as exc:
            self._set_fatal(exc)

    async def _poll_inner(self, entry: _Entry) -> None:
        assert entry.jobid is not None
        now = self._clock.now()
        if entry.deadline is not None and now >= entry.deadline:
            self._fail(entry, JobTimeoutError(
                f"job {entry.jobid} still {entry.job.status if entry.job else 'running'} "
                f"after job_timeout={self.job_timeout}s; it may still finish: "
                f"flow.jobs.wait({entry.jobid!r})", jobid=entry.jobid,
                last_status=entry.job.status if entry.job else None))
            return
        try:
            async with self._limiter:
                self.stats.polls += 1
                job = await self._session.jobs.get(entry.jobid)
        except (JobExpiredError, NotFoundError) as exc:
            self._fail(entry, exc)
            return
        except _FATAL as exc:
            self._set_fatal(exc)
            return
        except APIError as exc:
            entry.poll_errors += 1
            delay = min(60.0, self.poll_policy.next_delay(entry.poll_errors + 1) * 2)
            log.debug("poll of %s failed (%s); again in %.1fs", entry.jobid, exc, delay)
            self._reschedule_poll(entry, delay)
            return
        if entry.done:
            return
        entry.polls += 1
        entry.poll_errors = 0
        entry.job = job
        if job.is_finished:
            self._finished(entry, job)
        else:
            entry.fallback = True
            self._reschedule_poll(entry, self.poll_policy.next_delay(entry.polls))

    def _reschedule_poll(self, entry: _Entry, delay: float) -> None:
        self._schedule(_POLL, entry, self._clock.now() + delay)

    async def _list_tick(self) -> None:
        try:
            await self._list_inner()
        except Exception as exc:
            self._set_fatal(exc)

    async def _list_inner(self) -> None:
        now = self._clock.now()
        ripe = [e for e in self._entries.values()
                if not e.done and e.jobid is not None and not e.fallback and e.ripe_at <= now]
        waiting = [e.ripe_at for e in self._entries.values()
                   if not e.done and e.jobid is not None and not e.fallback and e.ripe_at > now]
        if ripe:
            try:
                async with self._limiter:
                    self.stats.listings += 1
                    executing = await self._session.jobs.executing_ids()
            except _FATAL as exc:
                self._set_fatal(exc)
                return
            except APIError as exc:
                log.debug("listing failed (%s); polling due jobs individually", exc)
                executing = None
            for entry in ripe:
                if entry.done:
                    continue
                if executing is None or entry.jobid not in executing:
                    entry.fallback = True
                    self._schedule(_POLL, entry, now)
                elif entry.deadline is not None and now >= entry.deadline:
                    self._schedule(_POLL, entry, now)
            if any(not e.fallback and not e.done for e in ripe):
                self._schedule_tick(now + self.listing_interval)
        if waiting:
            self._schedule_tick(min(waiting))

    # -- outcomes -----------------------------------------------------------------------

    def _finished(self, entry: _Entry, job: Job) -> None:
        if job.status == "completed":
            self._emit(entry, JobSucceeded(job=job, key=entry.key, tag=entry.tag,
                                           params=entry.params, attempts=entry.attempts))
            return
        error = failure_of(job)
        if error.moderated and entry.attempts <= self.resubmit_moderated:
            log.debug("job %s moderated; resubmitting (attempt %d)", job.jobid,
                      entry.attempts + 1)
            entry.jobid = None
            entry.job = None
            self._set_state(entry, "queued")
            assert self._tg is not None
            self._tg.start_soon(self._submit, entry)
            return
        self._fail(entry, error)

    def _fail(self, entry: _Entry, error: FlowError) -> None:
        self._emit(entry, JobFailed(error=error, key=entry.key, tag=entry.tag,
                                    params=entry.params, jobid=entry.jobid, job=entry.job,
                                    attempts=entry.attempts))

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
        if entry.jobid is not None:
            self._by_jobid.pop(entry.jobid, None)
        self._pending -= 1
        self._slots.release()
        self._send.send_nowait(outcome)
        self._maybe_finish()

    def _maybe_finish(self) -> None:
        if self._closed and self._pending == 0:
            self._send.close()

    def _set_fatal(self, exc: BaseException) -> None:
        if self._fatal is None:
            self._fatal = exc
            log.error("watcher stopped by a fatal error: %s", exc)
        if self._tg is not None:
            self._tg.cancel_scope.cancel()
        self._send.close()

    def _set_state(self, entry: _Entry, state: str) -> None:
        states = self.stats.states
        if entry.state:
            states[entry.state] -= 1
        entry.state = state
        if state != "done":
            states[state] = states.get(state, 0) + 1


def _unset_to_none(params: Any, name: str) -> str | None:
    value = getattr(params, name, None)
    if value is None or value is msgspec.UNSET:
        return None
    return str(value)


def _kind_of(params: Any) -> str:
    name = type(params).__name__
    if "Upscale" in name:
        return "upscale"
    if "Image" in name:
        return "image"
    return "video"
