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

import heapq
import itertools
import logging
import math
import re
import uuid
from collections import deque
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self

import anyio
import anyio.lowlevel
import msgspec
from anyio.abc import TaskGroup

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
    ResponseValidationError,
    SessionExpiredError,
)
from flowapi._lanes import Lanes
from flowapi._outcomes import JobFailed, JobSucceeded, Outcome, OutcomeQueue
from flowapi._polling import PollPolicy, failure_of
from flowapi._reconcile import find_by_marker
from flowapi.resources.jobs import normalize_listing_id

if TYPE_CHECKING:
    from flowapi._journal import Journal
    from flowapi._session import FlowSession
    from flowapi.types.accounts import Account
    from flowapi.types.jobs import Job

__all__ = ["JobWatcher", "WatchMode", "WatcherStats"]

log = logging.getLogger("flowapi")

WatchMode = Literal["listing", "poll", "webhook"]
_FATAL = (AuthenticationError, PaymentRequiredError)

# heap event kinds
_POLL = 0
_SUBMIT = 1
_LIST = 2
_DEADLINE = 3

#: Listing ticks stretch while few jobs are ripe: interval × min(_MAX_STRETCH,
#: max(1, sqrt(_FULL_RATE_RIPE / ripe))). Trade-off of one request per tick against the
#: detection lag of the ripe jobs (the optimum interval of "1/I requests per second +
#: d·h·I/2 lag per second" is ∝ 1/sqrt(d)).
_FULL_RATE_RIPE = 32
_MAX_STRETCH = 4.0
#: Consecutive listing failures after which the ripe jobs are polled individually.
_LISTING_FAILURES_BEFORE_FALLBACK = 3
#: The API's default video model (POST /videos › model), for server generation-time hints.
_DEFAULT_VIDEO_MODEL = "veo-3.1-fast"
_JOBID_EMAIL = re.compile(r"-email:(.+?)-bot:")


class _ListingGroup(msgspec.Struct):
    """``<group>`` of ``GET /jobs?options=executing``, decoded only as far as the watcher
    needs: the job ids (values are skipped, not parsed)."""

    executing: dict[str, msgspec.Raw] | None = None


class _Listing(msgspec.Struct):
    """The lean view of ``GET /jobs?options=executing`` used by listing ticks."""

    videos: _ListingGroup | None = None
    images: _ListingGroup | None = None
    combined: _ListingGroup | None = None


_LISTING_DECODER = msgspec.json.Decoder(_Listing)


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
    account: str | None = None
    expected: float = 0.0
    submitted_wall: float = 0.0
    accepted_at: float = 0.0
    ripe_at: float = 0.0
    deadline: float | None = None
    polls: int = 0
    poll_errors: int = 0
    attempts: int = 0
    fallback: bool = False
    probing: bool = False
    seq: int = 0
    ripe_seq: int = -1
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
        self._tg = None
        tg.cancel_scope.cancel()
        cancelled = exc is not None and isinstance(exc, anyio.get_cancelled_exc_class())
        suppressed = await tg.__aexit__(exc_type if cancelled else None,
                                        exc if cancelled else None, tb if cancelled else None)
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
        if self._tg is None:
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

    async def _submit_inner(self, entry: _Entry) -> None:
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
            for waiter in self._lane_waiters.pop(entry.email, []):
                self._enqueue(_SUBMIT, waiter)

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
            # its own task: a reconcile reads the listing a few times over several seconds
            # and must not hold a worker that polls other jobs
            assert self._tg is not None
            self._tg.start_soon(self._guarded, self._reconcile(entry, exc))
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
        jobid = normalize_listing_id(job if isinstance(job, str) else job.jobid)
        key = self._by_jobid.get(jobid)
        entry = self._entries.get(key) if key is not None else None
        if entry is None:
            return jobid in self._known_jobids
        if entry.done or (not isinstance(job, str) and not job.is_finished):
            return True
        self.stats.notified += 1
        self._ripe.pop(jobid, None)
        entry.probing = False
        self._enqueue(_POLL, entry)
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
        entry.probing = False
        entry.account = entry.email or _account_in_jobid(jobid)
        self._set_state(entry, "running")
        if self.journal is not None:
            self.journal.record_jobid(entry.key, jobid)
        if entry.deadline is not None:
            heapq.heappush(self._heap, (entry.deadline, next(self._seq), _DEADLINE, entry.key))
            self._poke(entry.deadline)
        self._plan_first_check(entry, now=now if check_now else None)
        if (self.learn_generation_times and self.mode != "webhook"
                and entry.account is not None and entry.account not in self._accounts):
            waiting = self._learning.get(entry.account)
            if waiting is None:
                self._learning[entry.account] = [entry]
                assert self._tg is not None
                self._tg.start_soon(self._learn_account, entry.account)
            else:
                waiting.append(entry)

    def _plan_first_check(self, entry: _Entry, *, now: float | None = None) -> None:
        """Schedule the job's first look: a poll (poll mode) or ripening (listing and
        webhook modes); ``now`` forces it to that time (adopted jobs may be done)."""
        policy = self.poll_policy
        hint = self._hint(entry)
        entry.expected = policy.expected_seconds(entry.model, entry.kind, hint)
        if now is not None:
            entry.ripe_at = now
        elif self.mode == "webhook":  # callbacks come first; resync only overdue jobs
            entry.ripe_at = entry.accepted_at + max(
                self.listing_interval, policy.late_after * entry.expected)
        elif entry.fallback:
            entry.ripe_at = entry.accepted_at + policy.first_delay(entry.model, entry.kind,
                                                                   hint=hint)
        else:  # ripening is not jittered: a shared listing tick spreads the load anyway
            entry.ripe_at = entry.accepted_at + policy.earliest_first_delay(
                entry.model, entry.kind, hint=hint)
        if entry.fallback:
            self._schedule(_POLL, entry, entry.ripe_at)
        else:
            # not an event of its own: the next listing tick moves it to the ripe set
            entry.ripe_seq = seq = next(self._seq)
            heapq.heappush(self._unripe, (entry.ripe_at, seq, entry.key))
            self._want_tick()

    # -- expected generation times (server hints) ---------------------------------------

    def _hint(self, entry: _Entry) -> float | None:
        """The account's ``videoGenerationTimeSeconds`` for the entry's model, if known."""
        if entry.account is None or entry.kind != "video":
            return None
        model = entry.model or _DEFAULT_VIDEO_MODEL
        key = (entry.account, model)
        try:
            return self._hints[key]
        except KeyError:
            pass
        account = self._accounts.get(entry.account)
        if account is None:
            return None  # not learned (yet): do not cache
        seconds = account.generation_time_seconds(model)
        hint = float(seconds) if seconds else None
        self._hints[key] = hint
        return hint

    async def _learn_account(self, email: str) -> None:
        """Read ``GET /accounts/{email}`` once; re-time first checks not yet due."""
        account: Account | None = None
        try:
            self.stats.accounts_read += 1
            account = await self._session.accounts.get(email)
        except FlowError as exc:  # documented times then; never fatal here
            log.debug("could not read account %s for generation times: %s", email, exc)
        except Exception as exc:
            self._set_fatal(exc)
            return
        self._accounts[email] = account
        waiting = self._learning.pop(email, [])
        if account is None:
            return
        now = self._clock.now()
        for entry in waiting:
            if (entry.done or entry.jobid is None or entry.polls or entry.probing
                    or entry.ripe_at <= now or entry.jobid in self._ripe):
                continue
            self._plan_first_check(entry)

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

    def _enqueue(self, kind: int, entry: _Entry) -> None:
        """Queue a request for a worker (a submit or a poll of one job)."""
        entry.seq = seq = next(self._seq)
        self._work.append((kind, entry, seq))
        if self._idle:
            self._idle.pop().set()
        elif self._workers < self._max_workers and self._tg is not None:
            self._workers += 1
            self._tg.start_soon(self._worker)

    async def _worker(self) -> None:
        work = self._work
        try:
            while True:
                if not work:
                    idle = anyio.Event()
                    self._idle.append(idle)
                    await idle.wait()
                    continue
                kind, entry, seq = work.popleft()
                if entry.done or entry.seq != seq:
                    continue
                if kind == _SUBMIT:
                    await self._submit_inner(entry)
                else:
                    await self._poll_inner(entry)
        except Exception as exc:
            self._set_fatal(exc)

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
                self._tick_running = True
                self._tg.start_soon(self._list_tick)
            return
        entry = self._entries.get(key)
        if entry is None or entry.done:
            return
        if kind == _DEADLINE:
            if entry.deadline == due:
                self._timed_out(entry)
        elif entry.seq == seq:
            self._enqueue(kind, entry)

    # -- watching -----------------------------------------------------------------------

    async def _poll_inner(self, entry: _Entry) -> None:
        assert entry.jobid is not None
        now = self._clock.now()
        if entry.deadline is not None and now >= entry.deadline:
            self._timed_out(entry)
            return
        probing, entry.probing = entry.probing, False
        try:
            self.stats.polls += 1
            job = await self._session.jobs.get(entry.jobid)
        except (JobExpiredError, NotFoundError) as exc:
            self._fail(entry, exc)
            return
        except _FATAL as exc:
            self._set_fatal(exc)
            return
        except APIError as exc:
            if entry.done:
                return
            if probing:  # the listing keeps watching it
                self._return_to_ripe(entry)
                return
            entry.poll_errors += 1
            delay = min(60.0, self.poll_policy.next_delay(entry.poll_errors + 1) * 2)
            log.debug("poll of %s failed (%s); again in %.1fs", entry.jobid, exc, delay)
            self._schedule(_POLL, entry, self._clock.now() + delay)
            return
        if entry.done:
            return
        entry.polls += 1
        entry.poll_errors = 0
        entry.job = job
        if job.is_finished:
            self._finished(entry, job)
        elif probing:
            self._return_to_ripe(entry)
        else:
            if not entry.fallback:
                entry.fallback = True  # the listing could not account for it
                self.stats.fallbacks += 1
            now = self._clock.now()
            self._schedule(_POLL, entry, now + self.poll_policy.next_delay(
                entry.polls, elapsed=now - entry.accepted_at, expected=entry.expected))

    def _return_to_ripe(self, entry: _Entry) -> None:
        assert entry.jobid is not None
        self._ripe[entry.jobid] = entry
        self._want_tick()

    def _tick_interval(self, ripe: int) -> float:
        if self.mode == "webhook":
            return self.listing_interval
        stretch = math.sqrt(_FULL_RATE_RIPE / max(1, ripe))
        return self.listing_interval * min(_MAX_STRETCH, max(1.0, stretch))

    def _want_tick(self) -> None:
        """Make sure a tick is coming while jobs are ripe, or when the next one ripens
        (one tick at a time)."""
        if self._tick_running:
            return
        if self._ripe:
            interval = self._tick_interval(len(self._ripe))
            self._schedule_tick(max(self._clock.now(), self._last_tick + interval,
                                    self._tick_hold))
        elif self._unripe:
            self._schedule_tick(max(self._unripe[0][0], self._tick_hold))

    def _ripen(self, now: float) -> None:
        """Move the jobs whose ripe time has come from the unripe heap to the ripe set
        (work proportional to the jobs that ripened; stale heap items are dropped)."""
        unripe, ripe, entries = self._unripe, self._ripe, self._entries
        while unripe and unripe[0][0] <= now:
            _, seq, key = heapq.heappop(unripe)
            entry = entries.get(key)
            if (entry is not None and entry.ripe_seq == seq and not entry.done
                    and not entry.fallback and entry.jobid is not None):
                ripe[entry.jobid] = entry

    async def _list_tick(self) -> None:
        start = self._clock.now()
        try:
            await self._list_inner()
        except Exception as exc:
            self._set_fatal(exc)
        finally:
            self._tick_running = False
            self._last_tick = start
            self._want_tick()

    async def _list_inner(self) -> None:
        self._ripen(self._clock.now())
        ripe = self._ripe
        if not ripe:
            return
        if len(ripe) == 1:  # a listing would cost as much as reading the job itself
            jobid, entry = ripe.popitem()
            entry.probing = True
            self._enqueue(_POLL, entry)
            return
        try:
            self.stats.listings += 1
            listing, suffixed = await self._read_listing()
        except _FATAL as exc:
            self._set_fatal(exc)
            return
        except APIError as exc:
            self.stats.listing_failures += 1
            self._listing_failures += 1
            if self._listing_failures < _LISTING_FAILURES_BEFORE_FALLBACK:
                hold = self.listing_interval * 2 ** self._listing_failures
                log.debug("listing failed (%s); trying again in %.1fs", exc, hold)
                self._tick_hold = self._clock.now() + hold
                return
            log.debug("listing failed %d times (%s); polling the %d ripe jobs individually",
                      self._listing_failures, exc, len(ripe))
            gone: set[str] | list[str] = list(ripe)
        else:
            self._listing_failures = 0
            gone = _gone(listing, ripe, suffixed=suffixed)
        for jobid in gone:
            entry = ripe.pop(jobid)
            if not entry.done:
                self._enqueue(_POLL, entry)

    async def _read_listing(self) -> tuple[_Listing, bool]:
        """One ``GET /jobs?options=executing``: the lean listing, and whether any key carries
        a ``-http:NNN`` suffix (a byte search, not a scan of the keys)."""
        raw = await self._session.transport.request(
            "GET", ("jobs",), msgspec.Raw, params={"options": "executing"})
        body = bytes(raw)
        try:
            return _LISTING_DECODER.decode(body), b"-http:" in body
        except msgspec.MsgspecError as exc:
            raise ResponseValidationError(
                f"GET jobs?options=executing: the response does not match the documented "
                f"shape: {exc}", method="GET", url="jobs?options=executing",
                text=body[:4000].decode("utf-8", "replace")) from exc

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


def _gone(listing: _Listing, ripe: dict[str, _Entry], *, suffixed: bool) -> set[str]:
    """The ripe job ids the listing does not show as executing (set operations in C: the
    Python-level work is proportional to the result, not to the jobs in flight).

    Keys carrying the ``-http:NNN`` suffix of the docs' example (``suffixed``: the body
    contains one) are normalised, only when some ripe job is unaccounted for.
    """
    groups = [g.executing for g in (listing.videos, listing.images, listing.combined)
              if g is not None and g.executing]
    gone = set(ripe)
    for executing in groups:
        gone.difference_update(executing.keys())
    if gone and suffixed:
        for executing in groups:
            gone.difference_update(normalize_listing_id(k) for k in executing if "-http:" in k)
    return gone


def _account_in_jobid(jobid: str) -> str | None:
    """The account email a job id names (``…-email:{email}-bot:…``), unless masked."""
    m = _JOBID_EMAIL.search(jobid)
    if m is None or "*" in m.group(1) or "@" not in m.group(1):
        return None
    return m.group(1)


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
