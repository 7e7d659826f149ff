"""Status sources: when to read which job (DESIGN §6). One class per mode behind the
:class:`StatusSource` protocol; the mode is the object, never a string tested in branches.

* :class:`PollSource` — each job on its own :class:`~flowapi.PollPolicy` schedule.
* :class:`ListingSource` — a job becomes *ripe* at a fraction of its expected time; while
  jobs are ripe, one ``GET /jobs?options=executing`` per tick serves all of them and the
  ripe jobs missing from it get one read each (a C-level set difference: a tick costs
  Python work only for the jobs that changed). The tick stretches while few jobs are ripe:
  ``interval × min(4, max(1, sqrt(32 / ripe)))``; a tick with one ripe job reads it
  directly (same cost, no follow-up). A job the listing does not show although it is still
  running falls back to per-job polling, so correctness never depends on the listing.
* :class:`ListingSource` with :class:`ResyncTiming` is the webhook mode's source:
  callbacks wake jobs; a slow resync (default every 30 s) covers only overdue jobs, so a
  lost callback costs lag, not a job.

Each source keeps its own per-job state (:class:`Watch`) — the entry itself knows
nothing of the mode.
"""

from __future__ import annotations

import enum
import heapq
import itertools
import logging
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import msgspec

from flowapi._errors import (
    APIError,
    AuthenticationError,
    PaymentRequiredError,
    ResponseValidationError,
)
from flowapi._retry import backoff_delay
from flowapi.resources.jobs import normalize_listing_id
from flowapi.watch._entry import Entry, Phase
from flowapi.watch._shared_listing import SharedListing

if TYPE_CHECKING:
    from anyio.abc import TaskGroup

    from flowapi._clock import Clock
    from flowapi._polling import PollPolicy
    from flowapi._session import FlowSession
    from flowapi.watch._reader import Reader
    from flowapi.watch._scheduler import Timers
    from flowapi.watch._tracker import Tracker

__all__ = ["ListingSource", "ListingTiming", "PollSource", "ResyncTiming", "StatusSource",
           "gone_from_listing"]

log = logging.getLogger("flowapi")

_FATAL = (AuthenticationError, PaymentRequiredError)
#: Listing ticks stretch while few jobs are ripe (see the module docstring).
_FULL_RATE_RIPE = 32
_MAX_STRETCH = 4.0
#: Consecutive listing failures after which the ripe jobs are polled individually.
_LISTING_FAILURES_BEFORE_FALLBACK = 3
#: Longest pause between retries of a job whose reads keep failing (seconds).
_MAX_READ_RETRY = 60.0


class StatusSource(Protocol):
    """What the watcher asks of a mode."""

    def track(self, entry: Entry, *, check_now: bool = False) -> None:
        """A job was accepted or adopted (``check_now``: it may be done already)."""

    def running(self, entry: Entry) -> None:
        """A read found the job still running."""

    def read_failed(self, entry: Entry) -> None:
        """A read failed transiently."""

    def replan(self, entry: Entry) -> None:
        """The job's expected time changed (an account's times were learned)."""

    def callback(self, entry: Entry) -> None:
        """A callback said the job finished (its read is being made)."""

    def bind(self, task_group: TaskGroup | None) -> None:
        """Start background work (listing ticks) in ``task_group`` from now on."""

    def forget(self, entry: Entry) -> None:
        """The entry has its outcome: drop what the source keeps about it."""


class _Base:
    """Shared plumbing: a per-job timer that reads the job when due."""

    def __init__(self, clock: Clock, timers: Timers, reader: Reader, tracker: Tracker,
                 policy: PollPolicy) -> None:
        self._clock = clock
        self._timers = timers
        self._reader = reader
        self._tracker = tracker
        self._policy = policy
        self._tg: TaskGroup | None = None

    def bind(self, task_group: TaskGroup | None) -> None:
        self._tg = task_group

    def forget(self, entry: Entry) -> None:
        """Nothing kept per job beyond its timers (stale once the entry is done)."""

    def _read_at(self, entry: Entry, due: float) -> None:
        entry.seq += 1
        seq, jobid = entry.seq, entry.jobid
        if entry.deadline is not None:
            due = min(due, entry.deadline)
        self._timers.call_at(due, lambda: self._due(entry, seq, jobid))

    def _due(self, entry: Entry, seq: int, jobid: str | None) -> None:
        if entry.seq == seq and jobid is not None and self._tracker.current(entry, jobid):
            self._reader.read(entry)

    def _next_poll(self, entry: Entry) -> None:
        now = self._clock.now()
        self._read_at(entry, now + self._policy.next_delay(
            max(1, entry.reads), elapsed=now - entry.accepted_at, expected=entry.expected))

    def _retry_read(self, entry: Entry) -> None:
        delay = min(_MAX_READ_RETRY, self._policy.next_delay(entry.read_errors + 1) * 2)
        self._read_at(entry, self._clock.now() + delay)


class PollSource(_Base):
    """Per-job polling from :class:`~flowapi.PollPolicy` (``mode="poll"``)."""

    def track(self, entry: Entry, *, check_now: bool = False) -> None:
        if check_now:
            self._read_at(entry, self._clock.now())
            return
        delay = self._policy.first_delay(entry.model, entry.kind,
                                         hint=None if not entry.expected else entry.expected)
        self._read_at(entry, entry.accepted_at + delay)

    def replan(self, entry: Entry) -> None:
        if entry.reads == 0 and not entry.reading:
            self.track(entry)

    def running(self, entry: Entry) -> None:
        self._next_poll(entry)

    def read_failed(self, entry: Entry) -> None:
        self._retry_read(entry)

    def callback(self, entry: Entry) -> None:
        """Nothing to change: the read the callback asked for is the next poll."""


class Watch(enum.Enum):
    """A job's state inside a :class:`ListingSource`."""

    UNRIPE = "unripe"
    """Too young to be worth a look; waits in the unripe heap."""
    RIPE = "ripe"
    """Served by each listing tick."""
    PROBE = "probe"
    """Read directly (a tick with one ripe job, or a callback); back to ripe if running."""
    GONE = "gone"
    """Read because the listing no longer shows it; still running → polled."""
    POLLED = "polled"
    """The listing could not account for it: polled on its own schedule."""


class ListingTiming:
    """Listing mode timing: ripe at ``first_fraction`` of the expected time; ticks every
    ``interval`` seconds, stretched up to 4× while few jobs are ripe."""

    def __init__(self, policy: PollPolicy, interval: float) -> None:
        self.policy = policy
        self.interval = interval

    def ripe_after(self, entry: Entry) -> float:
        """Seconds after acceptance at which the listing starts watching the job."""
        return self.policy.earliest_first_delay(entry.model, entry.kind,
                                                hint=entry.expected or None)

    def tick_interval(self, ripe: int) -> float:
        """Seconds between ticks while ``ripe`` jobs are ripe."""
        stretch = math.sqrt(_FULL_RATE_RIPE / max(1, ripe))
        return self.interval * min(_MAX_STRETCH, max(1.0, stretch))


class ResyncTiming(ListingTiming):
    """Webhook mode timing: only overdue jobs (older than ``late_after × expected`` and
    ``interval``) are resynced, every ``interval`` seconds (not stretched)."""

    def ripe_after(self, entry: Entry) -> float:
        return max(self.interval, self.policy.late_after * entry.expected)

    def tick_interval(self, ripe: int) -> float:
        return self.interval


class _ListingGroup(msgspec.Struct):
    """``<group>`` of ``GET /jobs?options=executing``, decoded only as far as the watcher
    needs: the job ids (values are skipped, not parsed)."""

    executing: dict[str, msgspec.Raw] | None = None


class Listing(msgspec.Struct):
    """The lean view of ``GET /jobs?options=executing`` used by listing ticks."""

    videos: _ListingGroup | None = None
    images: _ListingGroup | None = None
    combined: _ListingGroup | None = None


_LISTING_DECODER = msgspec.json.Decoder(Listing)


def gone_from_listing(listing: Listing, ripe: dict[str, Entry], *,
                      suffixed: bool) -> set[str]:
    """The ripe job ids the listing does not show as executing (set operations in C).

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


class ListingSource(_Base):
    """Shared listing ticks over the ripe jobs (``mode="listing"``, and with
    :class:`ResyncTiming` the webhook mode's resync). See the module docstring."""

    def __init__(self, session: FlowSession, clock: Clock, timers: Timers, reader: Reader,
                 tracker: Tracker, policy: PollPolicy, timing: ListingTiming,
                 on_fatal: Callable[[BaseException], None],
                 shared: SharedListing | None = None) -> None:
        super().__init__(clock, timers, reader, tracker, policy)
        self._session = session
        self._shared = shared
        self._timing = timing
        self._on_fatal = on_fatal
        self._watch: dict[Entry, Watch] = {}
        self._unripe: list[tuple[float, int, Entry]] = []
        self._order = itertools.count()
        self._ripe: dict[str, Entry] = {}
        self._tick_due: float | None = None
        self._tick_running = False
        self._last_tick = -math.inf
        self._hold = -math.inf
        self._failures = 0

    # -- StatusSource ------------------------------------------------------------------

    def forget(self, entry: Entry) -> None:
        self._watch.pop(entry, None)
        if entry.jobid is not None and self._ripe.get(entry.jobid) is entry:
            del self._ripe[entry.jobid]

    def track(self, entry: Entry, *, check_now: bool = False) -> None:
        self._watch[entry] = Watch.UNRIPE
        ripe_at = (self._clock.now() if check_now
                   else entry.accepted_at + self._timing.ripe_after(entry))
        heapq.heappush(self._unripe, (ripe_at, next(self._order), entry))
        self._want_tick()

    def replan(self, entry: Entry) -> None:
        if self._watch.get(entry) is Watch.UNRIPE:
            self.track(entry)  # the older heap item is skipped as stale when it surfaces

    def running(self, entry: Entry) -> None:
        state = self._watch.get(entry)
        if state is Watch.PROBE:
            self._make_ripe(entry)
        elif state is Watch.GONE:
            self._tracker.stats.fallbacks += 1
            self._watch[entry] = Watch.POLLED
            self._next_poll(entry)
        elif state is Watch.POLLED:
            self._next_poll(entry)
        # UNRIPE / RIPE: a backstop or callback read; the listing keeps watching it

    def read_failed(self, entry: Entry) -> None:
        state = self._watch.get(entry)
        if state is Watch.PROBE:
            self._make_ripe(entry)
        elif state in (Watch.GONE, Watch.POLLED):
            self._watch[entry] = Watch.POLLED
            self._retry_read(entry)

    def callback(self, entry: Entry) -> None:
        if entry.jobid is not None:
            self._ripe.pop(entry.jobid, None)
        if self._watch.get(entry) is not Watch.POLLED:
            self._watch[entry] = Watch.PROBE

    # -- ticks -------------------------------------------------------------------------

    def _make_ripe(self, entry: Entry) -> None:
        if entry.jobid is None or not self._tracker.current(entry, entry.jobid):
            self._watch.pop(entry, None)
            return
        self._watch[entry] = Watch.RIPE
        self._ripe[entry.jobid] = entry
        self._want_tick()

    def _want_tick(self) -> None:
        """Make sure a tick is coming while jobs are ripe, or when the next one ripens."""
        if self._tick_running:
            return
        if self._ripe:
            interval = self._timing.tick_interval(len(self._ripe))
            self._schedule_tick(max(self._clock.now(), self._last_tick + interval, self._hold))
        elif self._unripe:
            self._schedule_tick(max(self._unripe[0][0], self._hold))

    def _schedule_tick(self, due: float) -> None:
        if self._tick_due is not None and self._tick_due <= due:
            return
        self._tick_due = due
        self._timers.call_at(due, lambda: self._tick_fires(due))

    def _tick_fires(self, due: float) -> None:
        if self._tick_due != due or self._tick_running or self._tg is None:
            return
        self._tick_due = None
        self._tick_running = True
        self._tg.start_soon(self._tick)

    def _ripen(self, now: float) -> None:
        unripe, watch = self._unripe, self._watch
        while unripe and unripe[0][0] <= now:
            _, _, entry = heapq.heappop(unripe)
            if (watch.get(entry) is Watch.UNRIPE and entry.jobid is not None
                    and self._tracker.current(entry, entry.jobid)):
                self._make_ripe_quiet(entry)
            elif entry.phase is Phase.DONE:
                watch.pop(entry, None)

    def _make_ripe_quiet(self, entry: Entry) -> None:
        assert entry.jobid is not None
        self._watch[entry] = Watch.RIPE
        self._ripe[entry.jobid] = entry

    async def _tick(self) -> None:
        start = self._clock.now()
        try:
            await self._tick_inner()
        except Exception as exc:
            self._on_fatal(exc)
        finally:
            self._tick_running = False
            self._last_tick = start
            self._want_tick()

    async def _tick_inner(self) -> None:
        self._ripen(self._clock.now())  # done entries left the ripe set through forget()
        ripe = self._ripe
        if not ripe:
            return
        if len(ripe) == 1:  # a listing would cost as much as reading the job itself
            _, entry = ripe.popitem()
            self._watch[entry] = Watch.PROBE
            self._reader.read(entry)
            return
        recent = (await self._shared.recent(self._timing.tick_interval(len(ripe)))
                  if self._shared is not None else None)
        if recent is not None:  # another worker's listing, made within one interval
            age, executing = recent
            self._tracker.stats.shared_listings += 1
            made = self._clock.now() - age  # jobs accepted later are not judged by it
            gone: set[str] | list[str] = {
                jobid for jobid, entry in ripe.items()
                if jobid not in executing and entry.accepted_at <= made}
            self._read_gone(gone, ripe)
            return
        try:
            self._tracker.stats.listings += 1
            started = self._shared.started() if self._shared is not None else 0.0
            listing, suffixed = await self._read_listing()
        except _FATAL as exc:
            self._on_fatal(exc)
            return
        except APIError as exc:
            self._tracker.stats.listing_failures += 1
            self._failures += 1
            if self._failures < _LISTING_FAILURES_BEFORE_FALLBACK:
                hold = backoff_delay(self._failures + 1, base=self._timing.interval)
                log.debug("listing failed (%s); trying again in %.1fs", exc, hold)
                self._hold = self._clock.now() + hold
                return
            log.debug("listing failed %d times (%s); polling the %d ripe jobs individually",
                      self._failures, exc, len(ripe))
            gone = list(ripe)
        else:
            self._failures = 0
            gone = gone_from_listing(listing, ripe, suffixed=suffixed)
            self._read_gone(gone, ripe)
            if self._shared is not None:
                await self._shared.publish(listing, started, suffixed=suffixed)
            return
        self._read_gone(gone, ripe)

    def _read_gone(self, gone: set[str] | list[str], ripe: dict[str, Entry]) -> None:
        """Read each ripe job the listing no longer shows executing."""
        for jobid in gone:
            entry = ripe.pop(jobid)
            if self._tracker.current(entry, jobid):
                self._watch[entry] = Watch.GONE
                self._reader.read(entry)
            else:
                self._watch.pop(entry, None)

    async def _read_listing(self) -> tuple[Listing, bool]:
        """One ``GET /jobs?options=executing``: the lean listing, and whether any key
        carries a ``-http:NNN`` suffix (a byte search, not a scan of the keys)."""
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
