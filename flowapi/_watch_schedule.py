"""JobWatcher internals: the per-submission record, the event heap and its scheduler task,
the worker pool, submission and acceptance of jobs, and expected generation times.

:class:`_WatchScheduler` is a base class of :class:`~flowapi.JobWatcher` (which sets up
all the state declared here in its ``__init__``); see :mod:`flowapi._watcher` for the
design.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
import re
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
import anyio.lowlevel
import msgspec
from anyio.abc import TaskGroup

from flowapi._errors import (
    AmbiguousSubmitError,
    APIError,
    AuthenticationError,
    FlowError,
    PaymentRequiredError,
    RateLimitError,
    SessionExpiredError,
)
from flowapi._lanes import Lanes
from flowapi._polling import PollPolicy
from flowapi._reconcile import find_by_marker

if TYPE_CHECKING:
    from flowapi._clock import Clock
    from flowapi._journal import Journal
    from flowapi._session import FlowSession
    from flowapi._watcher import WatcherStats, WatchMode
    from flowapi.types.accounts import Account
    from flowapi.types.jobs import Job

log = logging.getLogger("flowapi")

_FATAL = (AuthenticationError, PaymentRequiredError)

# heap event kinds
_POLL = 0
_SUBMIT = 1
_LIST = 2
_DEADLINE = 3

#: The API's default video model (POST /videos › model), for server generation-time hints.
_DEFAULT_VIDEO_MODEL = "veo-3.1-fast"
_JOBID_EMAIL = re.compile(r"-email:(.+?)-bot:")


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
    polling: bool = False
    renotified: bool = False
    seq: int = 0
    ripe_seq: int = -1
    state: str = ""
    done: bool = False



class _WatchScheduler:
    """Scheduling and submission half of :class:`~flowapi.JobWatcher` (state set up by
    ``JobWatcher.__init__``)."""

    _session: FlowSession
    _clock: Clock
    mode: WatchMode
    poll_policy: PollPolicy
    listing_interval: float
    webhook_url: str | None
    job_timeout: float | None
    journal: Journal | None
    learn_generation_times: bool
    lanes: Lanes
    stats: WatcherStats
    _max_workers: int
    _entries: dict[str, _Entry]
    _by_jobid: dict[str, str]
    _lane_waiters: dict[str | None, list[_Entry]]
    _known_jobids: set[str]
    _heap: list[tuple[float, int, int, str]]
    _seq: itertools.count[int]
    _work: deque[tuple[int, _Entry, int]]
    _idle: list[anyio.Event]
    _workers: int
    _unripe: list[tuple[float, int, str]]
    _ripe: dict[str, _Entry]
    _tick_due: float | None
    _tick_running: bool
    _last_tick: float
    _tick_hold: float
    _listing_failures: int
    _accounts: dict[str, Account | None]
    _hints: dict[tuple[str, str], float | None]
    _learning: dict[str, list[_Entry]]
    _wake: anyio.CancelScope | None
    _tg: TaskGroup | None

    if TYPE_CHECKING:  # defined by _WatchListing and JobWatcher
        async def _poll_inner(self, entry: _Entry) -> None: ...
        def _want_tick(self) -> None: ...
        async def _list_tick(self) -> None: ...
        def _timed_out(self, entry: _Entry) -> None: ...
        def _finished(self, entry: _Entry, job: Job) -> None: ...
        def _fail(self, entry: _Entry, error: FlowError) -> None: ...
        def _set_fatal(self, exc: BaseException) -> None: ...
        def _set_state(self, entry: _Entry, state: str) -> None: ...

    # -- submitting --------------------------------------------------------------------

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

    async def _guarded(self, coro: Any) -> None:
        try:
            await coro
        except Exception as exc:
            self._set_fatal(exc)

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
