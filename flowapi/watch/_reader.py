"""Reading one job: ``GET /jobs/{jobid}``, single-flight per job, on its own worker pool.

:class:`Reader` is the only part that reads a job record for the watcher. A read asked
for while one is queued or on the wire for the same job is merged into it (one more read
follows if the first finds the job still running, since the trigger may be newer than
it). A result for a jobid that is no longer the entry's, or for an entry that already has
its outcome, is dropped. Permanent errors (400, 403, 404, 410, a body that never decodes)
end the job with ``JobFailed`` carrying the jobid; 401/402 end the watcher.

:class:`Backstop` gives every job in flight a read when nothing else read it for a while,
so no listing anomaly (a finished job the listing keeps showing as executing) can hold it
forever.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

from flowapi._errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    FlowError,
    JobExpiredError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    ResponseValidationError,
)
from flowapi.watch._entry import Entry, Phase
from flowapi.watch._scheduler import Timers, WorkerPool

if TYPE_CHECKING:
    from flowapi._clock import Clock
    from flowapi._session import FlowSession
    from flowapi.types.jobs import Job
    from flowapi.watch._tracker import Tracker

__all__ = ["Backstop", "ReadListener", "Reader"]

log = logging.getLogger("flowapi")

#: Undecodable job records tolerated (each retried) before the job is given up.
MAX_UNDECODABLE = 3
#: Reads in a row that may fail transiently (5xx, timeouts; ~1 h at the longest retry
#: interval) before the job is given up as ``unreadable`` — it may exist: never resubmitted.
MAX_READ_ERRORS = 60
_PERMANENT = (JobExpiredError, NotFoundError, BadRequestError, PermissionDeniedError)
_FATAL = (AuthenticationError, PaymentRequiredError)


class ReadListener(Protocol):
    """What the status source hears from the reader."""

    def running(self, entry: Entry) -> None:
        """A read found the job still running: plan its next check."""

    def read_failed(self, entry: Entry) -> None:
        """A read failed transiently: plan another try."""


class Reader:
    """Single-flight job reads on a pool of ``size`` workers (see the module docstring).

    Args:
        session: the open session.
        tracker: the watcher's book (outcomes, counters).
        clock: the session clock.
        size: most reads on the wire at once.
        on_finished: ``async on_finished(entry, job, jobid)`` for a completed or failed
            record of ``jobid``.
        on_fatal: called with a 401/402 (ends the watcher).
    """

    def __init__(self, session: FlowSession, tracker: Tracker, clock: Clock, size: int,
                 on_finished: Callable[[Entry, Job, str], Awaitable[None]],
                 on_fatal: Callable[[BaseException], None]) -> None:
        self._session = session
        self._tracker = tracker
        self._clock = clock
        self._on_finished = on_finished
        self._on_fatal = on_fatal
        self.listener: ReadListener | None = None
        self.pool: WorkerPool[tuple[Entry, str]] = WorkerPool(size, self._handle, on_fatal)

    def read(self, entry: Entry) -> None:
        """Read ``entry``'s job soon (merged with a read already queued or on the wire)."""
        if entry.phase is not Phase.RUNNING or entry.jobid is None:
            return
        if entry.reading:
            entry.reread = True
            return
        entry.reading = True
        entry.reread = False
        self.pool.put((entry, entry.jobid))

    async def _handle(self, item: tuple[Entry, str]) -> None:
        entry, jobid = item
        tracker = self._tracker
        try:
            if not tracker.current(entry, jobid):
                entry.reading = False
                self._reread_if_asked(entry)
                return
            tracker.stats.polls += 1
            try:
                job = await self._session.jobs.get(jobid)
            except _FATAL as exc:
                self._on_fatal(exc)
                return
            except _PERMANENT as exc:
                if tracker.current(entry, jobid):
                    await tracker.fail(entry, _with_advice(exc, jobid), reading=True)
                return
            except ResponseValidationError as exc:
                entry.read_errors += 1
                if entry.read_errors >= MAX_UNDECODABLE and tracker.current(entry, jobid):
                    await tracker.fail(entry, _with_advice(exc, jobid), reading=True)
                    return
                await self._retry(entry, jobid, exc)
                return
            except APIError as exc:
                entry.read_errors += 1
                await self._retry(entry, jobid, exc)
                return
        finally:
            entry.reading = False
        if not tracker.current(entry, jobid):
            self._reread_if_asked(entry)  # an answer about a job that is no longer the entry's
            return
        entry.reads += 1
        entry.read_errors = 0
        entry.job = job
        entry.last_read = self._clock.now()
        if job.is_finished:
            await self._on_finished(entry, job, jobid)
        elif entry.reread:
            self.read(entry)
        elif self.listener is not None:
            self.listener.running(entry)

    def _reread_if_asked(self, entry: Entry) -> None:
        """A read asked for while a stale one was on the wire concerns the entry's new job."""
        if entry.reread and entry.phase is Phase.RUNNING:
            self.read(entry)

    async def _retry(self, entry: Entry, jobid: str, exc: FlowError) -> None:
        log.debug("read of %s failed (%s)", jobid, exc)
        if not self._tracker.current(entry, jobid):
            return
        if entry.read_errors >= MAX_READ_ERRORS:
            exc.add_note(f"{entry.read_errors} reads in a row failed")
            await self._tracker.fail(entry, _with_advice(exc, jobid), reading=True)
            return
        if self.listener is not None:
            self.listener.read_failed(entry)


def _with_advice(exc: FlowError, jobid: str) -> FlowError:
    """The error as the outcome's error: it names the jobid and what to do."""
    exc.add_note(f"The job {jobid} may exist; it is not resubmitted. Check it with "
                 f"`flowapi jobs get {jobid}` (job records are kept 7 days).")
    return exc


class Backstop:
    """A read for every running job that nothing read for ``interval(entry)`` seconds
    (first due at ``first(entry)`` after acceptance).

    Args:
        timers: the watcher's timers.
        clock: the session clock.
        reader: where reads go.
        first: seconds after acceptance of the first backstop check.
        interval: seconds without a read after which a backstop read is made.
    """

    def __init__(self, timers: Timers, clock: Clock, reader: Reader, tracker: Tracker,
                 first: Callable[[Entry], float], interval: Callable[[Entry], float]) -> None:
        self._timers = timers
        self._clock = clock
        self._reader = reader
        self._tracker = tracker
        self._first = first
        self._interval = interval

    def track(self, entry: Entry) -> None:
        """Start the backstop of a job just accepted or adopted."""
        jobid = entry.jobid
        assert jobid is not None
        self._timers.call_at(entry.accepted_at + self._first(entry),
                             lambda: self._due(entry, jobid))

    def _due(self, entry: Entry, jobid: str) -> None:
        if not self._tracker.current(entry, jobid) or entry.phase is not Phase.RUNNING:
            return
        now = self._clock.now()
        interval = self._interval(entry)
        last = max(entry.last_read, entry.accepted_at)
        if now - last >= interval:
            if not entry.reading:  # a read on the wire is as good as a backstop read
                self._tracker.stats.backstops += 1
                log.debug("backstop read of %s (unread for %.0fs)", jobid, now - last)
                self._reader.read(entry)
            due = now + interval  # always in the future: the timer never spins
        else:
            due = last + interval
        self._timers.call_at(due, lambda: self._due(entry, jobid))
