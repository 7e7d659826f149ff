"""The watcher's book of keys in flight and the only place an outcome is emitted.

:class:`Tracker` holds the :class:`~flowapi.watch._entry.Entry` of every key this watcher
works on (by key, by jobid, by marker), the back-pressure slots, the outcome queue and
the counters. An outcome is recorded in the journal *before* it is yielded, and a key
yields exactly one outcome: :meth:`Tracker.succeed` and :meth:`Tracker.fail` move the
entry to ``DONE`` synchronously first, so a second, racing result is dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio
import msgspec

from flowapi._errors import FlowError
from flowapi._outcomes import JobFailed, JobSucceeded, Outcome, OutcomeQueue
from flowapi.journal import FailureCategory, Finished, IllegalTransition, Journal
from flowapi.watch._categories import category_of
from flowapi.watch._entry import Entry, Phase

if TYPE_CHECKING:
    from flowapi.types.jobs import Job

__all__ = ["Tracker", "WatcherStats"]

log = logging.getLogger("flowapi")

_STOPPED = ("JobWatcher.submit(): the watcher stopped (its block was left, or a fatal error) "
            "while this submit waited; nothing was sent for it — a later run with the same "
            "journal submits it")


@dataclass(slots=True)
class WatcherStats:
    """Counters of one watcher (for progress displays and benchmarks).

    Attributes:
        submitted: submit requests sent (including resubmits).
        accepted: jobs the server created (201, or found by marker).
        succeeded: :class:`~flowapi.JobSucceeded` outcomes.
        failed: :class:`~flowapi.JobFailed` outcomes.
        resumed: outcomes recorded by an earlier run and yielded again without a request.
        adopted_running: keys whose job an earlier run had accepted, watched again.
        polls: ``GET /jobs/{jobid}`` requests.
        listings: ``GET /jobs?options=executing`` requests.
        shared_listings: listing ticks served by a listing another worker of a shared
            journal made (no request).
        listing_failures: listings that failed.
        fallbacks: jobs the listing could not account for, polled individually since.
        backstops: reads made because a job went unread for too long (listing anomaly).
        accounts_read: ``GET /accounts/{email}`` requests (expected generation times).
        parked_waits: submissions delayed by a parked lane.
        ambiguous: submits whose fate was unknown (in doubt) and were looked up.
        adopted: in-doubt submits found on the server by their marker and adopted.
        notified: webhook callbacks that woke a job.
        callback_outcomes: outcomes taken from a callback's job record without a read.
        followed: outcomes another worker recorded for keys it held (a shared journal),
            yielded without a request.
        taken_over: keys taken over from a worker that died (its lease lapsed).
        states: keys by watcher phase (``queued``, ``parked``, ``submitting``,
            ``reconciling``, ``running``, ``following``).
    """

    submitted: int = 0
    accepted: int = 0
    succeeded: int = 0
    failed: int = 0
    resumed: int = 0
    adopted_running: int = 0
    polls: int = 0
    listings: int = 0
    shared_listings: int = 0
    listing_failures: int = 0
    fallbacks: int = 0
    backstops: int = 0
    accounts_read: int = 0
    parked_waits: int = 0
    ambiguous: int = 0
    adopted: int = 0
    notified: int = 0
    callback_outcomes: int = 0
    followed: int = 0
    taken_over: int = 0
    states: dict[str, int] = field(default_factory=dict)


class Tracker:
    """Entries in flight, slots, outcomes (see the module docstring).

    Args:
        journal: where outcomes are recorded before they are yielded.
        max_in_flight: back-pressure: keys not yet done at once (≥ 1).
        on_fatal: called with an error that must end the watcher (e.g. a journal write
            that failed).
    """

    def __init__(self, journal: Journal, max_in_flight: int,
                 on_fatal: Callable[[BaseException], None]) -> None:
        self.journal = journal
        self.stats = WatcherStats()
        self.entries: dict[str, Entry] = {}
        self.by_jobid: dict[str, Entry] = {}
        self.by_marker: dict[str, Entry] = {}
        self.outcomes = OutcomeQueue()
        self._slots = anyio.Semaphore(max_in_flight)
        self._on_fatal = on_fatal
        self._closed = False
        self._in_submit = 0  # submit() calls under way: iteration does not end before them
        self._stopped = False
        self._slot_waits: set[anyio.CancelScope] = set()
        #: Called with each entry whose outcome was delivered (sources drop their state).
        self.on_done: list[Callable[[Entry], None]] = []

    # -- slots and membership -------------------------------------------------------------

    async def acquire_slot(self) -> None:
        """Wait for a free slot (back-pressure).

        Raises:
            RuntimeError: the watcher stopped (its block was left, or a fatal error) before
                a slot came free; nothing was sent for this submit.
        """
        if self._stopped:
            raise RuntimeError(_STOPPED)
        try:  # no extra trip through the event loop while slots are free
            self._slots.acquire_nowait()
            return
        except anyio.WouldBlock:
            pass
        with anyio.CancelScope() as wait:
            self._slot_waits.add(wait)
            try:
                await self._slots.acquire()
                return
            finally:
                self._slot_waits.discard(wait)
        raise RuntimeError(_STOPPED)

    def stop(self) -> None:
        """The watcher stops: submits waiting for a slot raise instead of waiting forever."""
        self._stopped = True
        for wait in list(self._slot_waits):
            wait.cancel()

    def release_slot(self) -> None:
        """Give a slot back (a key that took one ended without an entry)."""
        self._slots.release()

    def try_acquire_slot(self) -> bool:
        """Take a slot if one is free, without waiting (a key taken over from a dead
        worker is resumed at once; it holds a slot only when one was free)."""
        try:
            self._slots.acquire_nowait()
        except anyio.WouldBlock:
            return False
        return True

    def give_back(self, entry: Entry) -> None:
        """``entry`` no longer needs its slot (it is followed now); idempotent."""
        if entry.holds_slot:
            entry.holds_slot = False
            self._slots.release()

    def add(self, entry: Entry) -> None:
        """Start tracking ``entry`` (its slot is taken), with the markers its earlier
        attempts carried (a callback may bring one). Tracking an entry again (a followed
        key resumed after a takeover) only registers its markers."""
        for marker in entry.markers:
            self.by_marker[marker] = entry
        if self.entries.get(entry.key) is entry:
            return
        self.entries[entry.key] = entry
        self._count(None, entry.phase)

    @property
    def pending(self) -> int:
        """Keys without an outcome yet."""
        return len(self.entries)

    def move(self, entry: Entry, phase: Phase) -> None:
        """Move ``entry`` to ``phase`` (checked) and keep the counters."""
        old = entry.move(phase)
        if old is not phase:
            self._count(old, phase)

    def _count(self, old: Phase | None, new: Phase) -> None:
        states = self.stats.states
        if old is not None and old is not Phase.DONE:
            states[old.value] -= 1
        if new is not Phase.DONE:
            states[new.value] = states.get(new.value, 0) + 1

    def bind_jobid(self, entry: Entry, jobid: str) -> Entry | None:
        """Map ``jobid`` to ``entry``; returns the *other* entry already holding it, if
        any (a jobid the server returned twice), and maps nothing then."""
        other = self.by_jobid.get(jobid)
        if other is not None and other is not entry:
            return other
        if entry.jobid is not None and entry.jobid != jobid:
            self.by_jobid.pop(entry.jobid, None)
        entry.jobid = jobid
        self.by_jobid[jobid] = entry
        return None

    def unbind_jobid(self, entry: Entry) -> None:
        """Forget the entry's jobid (before a resubmission)."""
        if entry.jobid is not None and self.by_jobid.get(entry.jobid) is entry:
            del self.by_jobid[entry.jobid]
        entry.jobid = None
        entry.job = None

    def bind_marker(self, entry: Entry, marker: str) -> None:
        """Remember that ``marker`` names ``entry`` (callbacks may carry it)."""
        entry.marker = marker
        entry.markers = (*entry.markers, marker) if marker not in entry.markers else \
            entry.markers
        self.by_marker[marker] = entry

    def current(self, entry: Entry, jobid: str) -> bool:
        """Whether a result about ``jobid`` still concerns ``entry`` (not done, same job)."""
        return entry.phase is not Phase.DONE and entry.jobid == jobid

    # -- outcomes -------------------------------------------------------------------------

    async def succeed(self, entry: Entry, job: Job) -> None:
        """Record and yield ``JobSucceeded`` (once per key)."""
        if not self._claim(entry):
            return
        await self._record(entry, Finished(succeeded=True, job=_job_json(job)))
        self.stats.succeeded += 1
        self._deliver(entry, JobSucceeded(job=job, key=entry.key, tag=entry.tag,
                                          params=entry.params, attempts=entry.attempts))

    async def fail(self, entry: Entry, error: FlowError, *,
                   category: FailureCategory | None = None, reading: bool = False) -> None:
        """Record and yield ``JobFailed`` (once per key); ``category`` defaults to
        :func:`~flowapi.watch._categories.category_of` ``(error, reading=reading)``."""
        if not self._claim(entry):
            return
        cat = category or category_of(error, reading=reading)
        job = entry.job
        await self._record(entry, Finished(category=cat, error=_error_text(error),
                                           job=_job_json(job) if job else None,
                                           jobid=entry.jobid))
        self.stats.failed += 1
        self._deliver(entry, JobFailed(error=error, key=entry.key, tag=entry.tag,
                                       params=entry.params, jobid=entry.jobid, job=job,
                                       attempts=entry.attempts, category=cat))

    def settle(self, entry: Entry, outcome: Outcome[Any]) -> None:
        """Yield the outcome another worker recorded for a tracked (followed) key."""
        if not self._claim(entry):
            return
        self.stats.followed += 1
        if isinstance(outcome, JobSucceeded):
            self.stats.succeeded += 1
        else:
            self.stats.failed += 1
        self._deliver(entry, outcome)

    def replay(self, outcome: Outcome[Any]) -> None:
        """Yield an outcome an earlier run recorded (no slot, no journal write)."""
        self.stats.resumed += 1
        if isinstance(outcome, JobSucceeded):
            self.stats.succeeded += 1
        else:
            self.stats.failed += 1
        self.outcomes.put(outcome)

    def _claim(self, entry: Entry) -> bool:
        if entry.phase is Phase.DONE:
            log.debug("second outcome for %s dropped (exactly once)", entry.key)
            return False
        self.move(entry, Phase.DONE)
        return True

    async def _record(self, entry: Entry, event: Finished) -> None:
        # shielded: an outcome the journal does not know would be lost to a resume
        with anyio.CancelScope(shield=True):
            try:
                await self.journal.update(entry.key, event)
            except IllegalTransition as exc:
                row = await self.journal.get(entry.key)
                if row is None or not row.state.finished:
                    self._on_fatal(exc)
                    return
                # a shared journal: another worker took the key over after this one's
                # lease lapsed and recorded the same job's outcome first
                log.info("%s: its outcome was already recorded by another worker (%s)",
                         entry.key, row.state.value)
            except Exception as exc:
                self._on_fatal(exc)

    def _deliver(self, entry: Entry, outcome: Outcome[Any]) -> None:
        self.entries.pop(entry.key, None)
        if entry.jobid is not None and self.by_jobid.get(entry.jobid) is entry:
            del self.by_jobid[entry.jobid]
        for marker in entry.markers:
            if self.by_marker.get(marker) is entry:
                del self.by_marker[marker]
        if entry.holds_slot:
            self._slots.release()
        for forget in self.on_done:
            forget(entry)
        self.outcomes.put(outcome)
        self.maybe_finish()

    # -- end of iteration -----------------------------------------------------------------

    def close(self) -> None:
        """No more submissions: iteration ends once every pending outcome was yielded."""
        self._closed = True
        self.maybe_finish()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def submit_started(self) -> None:
        """A ``submit()`` call began (it may wait for a slot or the journal)."""
        self._in_submit += 1

    def submit_ended(self) -> None:
        """A ``submit()`` call returned or raised (its key is tracked, replayed or gone)."""
        self._in_submit -= 1
        self.maybe_finish()

    def maybe_finish(self) -> None:
        """End iteration once closed, nothing is pending and no ``submit()`` is under way."""
        if self._closed and not self.entries and not self._in_submit:
            self.outcomes.close()


def _job_json(job: Job | None) -> str | None:
    return None if job is None else msgspec.json.encode(job).decode()


def _error_text(error: FlowError) -> str:
    return f"{type(error).__name__}: {error}"


def tag_json(tag: Any) -> str | None:
    """The tag as JSON text for the journal (``None`` if absent or not JSON-able)."""
    if tag is None:
        return None
    try:
        return msgspec.json.encode(tag).decode()
    except (TypeError, msgspec.EncodeError):
        return None
