"""One listing for every worker of a shared journal (DESIGN §11).

``GET /jobs?options=executing`` lists every executing job of the API token, whichever
worker submitted it. On a :class:`~flowapi.journal.SharedJournal` a listing tick first
asks the journal for a listing another worker of the namespace made within its own tick
interval and uses it instead of making its own; a tick that does make one
publishes its executing job ids. K cooperating workers then make about as many listing
requests as one worker would (their ticks interleave), at the price of up to one interval
of extra detection lag — see ``benchmarks/RESULTS.md``.

A shared listing only says which jobs are still executing; a ripe job it does not show
is read with ``GET /jobs/{jobid}`` as with a listing of one's own, and a job accepted
after the shared listing was made is not judged by it. So a stale, foreign (another
token's) or missing listing costs requests, never an outcome.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING

from flowapi.journal import JournalError, SharedJournal
from flowapi.resources.jobs import normalize_listing_id

if TYPE_CHECKING:
    from flowapi._clock import Clock
    from flowapi.watch._sources import Listing

__all__ = ["SharedListing"]

log = logging.getLogger("flowapi")


class SharedListing:
    """A watcher's access to the namespace's latest listing.

    Args:
        journal: the shared journal.
        clock: the watcher's clock (``time()`` stamps the listings; every worker of a
            namespace runs on the same clock, see :meth:`SharedJournal.use_clock`).
    """

    def __init__(self, journal: SharedJournal, clock: Clock) -> None:
        self._journal = journal
        self._clock = clock
        #: The stamp of the newest listing this worker has acted on (its own or another's):
        #: an older or the same one tells it nothing new.
        self._seen = -math.inf

    async def recent(self, max_age: float) -> tuple[float, frozenset[str]] | None:
        """``(age in seconds, executing job ids)`` of a listing another worker made within
        ``max_age`` seconds (the asking worker's own tick interval: its own listing would
        be as old by its next tick) and newer than any this worker has acted on; or
        ``None`` (none, its own, one already used, or the journal could not be read: make
        one's own)."""
        now = self._clock.time()
        try:
            found = await self._journal.shared_listing(now - max_age)
        except JournalError as exc:
            log.debug("shared listing unavailable (%s); listing ourselves", exc)
            return None
        if found is None or found[0] <= self._seen:
            return None  # none, or this worker's own (or one it already used)
        fetched, jobids = found
        self._seen = fetched
        return max(0.0, now - fetched), jobids

    def started(self) -> float:
        """The stamp of a listing request starting now (it shows the jobs executing at
        some moment after this)."""
        return self._clock.time()

    async def publish(self, listing: Listing, fetched: float, *, suffixed: bool) -> None:
        """Publish the executing job ids of ``listing`` (made at ``fetched``); a failure
        only costs the other workers their own listing."""
        jobids: set[str] = set()
        for group in (listing.videos, listing.images, listing.combined):
            if group is not None and group.executing:
                jobids.update(group.executing)
        if suffixed:
            jobids = {normalize_listing_id(j) if "-http:" in j else j for j in jobids}
        self._seen = max(self._seen, fetched)
        try:
            await self._journal.share_listing(fetched, jobids)
        except JournalError as exc:
            log.debug("could not share the listing (%s)", exc)
