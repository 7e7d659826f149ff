"""JobWatcher internals: watching accepted jobs, by per-job polls and by shared listing
ticks (``GET /jobs?options=executing``) over the ripe jobs.

:class:`_WatchListing` is a base class of :class:`~flowapi.JobWatcher`; see
:mod:`flowapi._watcher` for the design.
"""

from __future__ import annotations

import heapq
import logging
import math

import msgspec

from flowapi._errors import (
    APIError,
    JobExpiredError,
    NotFoundError,
    ResponseValidationError,
)
from flowapi._watch_schedule import _FATAL, _POLL, _Entry, _WatchScheduler
from flowapi.resources.jobs import normalize_listing_id

log = logging.getLogger("flowapi")

#: Listing ticks stretch while few jobs are ripe: interval × min(_MAX_STRETCH,
#: max(1, sqrt(_FULL_RATE_RIPE / ripe))). Trade-off of one request per tick against the
#: detection lag of the ripe jobs (the optimum interval of "1/I requests per second +
#: d·h·I/2 lag per second" is ∝ 1/sqrt(d)).
_FULL_RATE_RIPE = 32
_MAX_STRETCH = 4.0
#: Consecutive listing failures after which the ripe jobs are polled individually.
_LISTING_FAILURES_BEFORE_FALLBACK = 3


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



class _WatchListing(_WatchScheduler):
    """Watching half of :class:`~flowapi.JobWatcher`: per-job polls and listing ticks."""

    # -- watching -----------------------------------------------------------------------

    async def _poll_inner(self, entry: _Entry) -> None:
        assert entry.jobid is not None
        now = self._clock.now()
        if entry.deadline is not None and now >= entry.deadline:
            self._timed_out(entry)
            return
        probing, entry.probing = entry.probing, False
        entry.polling, entry.renotified = True, False
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
        finally:
            entry.polling = False
        if entry.done:
            return
        entry.polls += 1
        entry.poll_errors = 0
        entry.job = job
        if job.is_finished:
            self._finished(entry, job)
        elif entry.renotified:  # a callback said "finished" while this read was on the wire
            entry.renotified = False
            self._enqueue(_POLL, entry)
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
