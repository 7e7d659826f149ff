"""Finding a job after an ambiguous submit by its ``replyRef`` marker (DESIGN §7).

A submit that timed out or lost its connection after sending may have created a job. Each
watcher submit carries a unique ``replyRef`` marker; this module looks for it among the
jobs the listing shows (``GET /jobs?options=history`` lists executing jobs and the recent
history) that this client does not already know, reading candidates with
``GET /jobs/{jobid}`` — those created closest to the submit first, so the job looked for is
normally the first one read. Found → the job is adopted; not found → the caller reports
:class:`~flowapi.AmbiguousSubmitError`. Never a silent second submit.

The ``replyRef`` of every job read is remembered per session (it never changes), so many
ambiguous submits at once (a flaky network) do not read the same candidates again and again.

Limits: the history part of the listing holds only the 10 most recent finished jobs of
the last 15 minutes, so a job that was created, ran and finished long before the lookup
(e.g. a crash, then a resume hours later) cannot be found; the error then names the marker
for a manual check.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Set
from typing import TYPE_CHECKING

from flowapi._errors import APIError, NotFoundError

if TYPE_CHECKING:
    from flowapi._session import FlowSession
    from flowapi.types.jobs import Job

__all__ = ["find_by_marker"]

log = logging.getLogger("flowapi")

#: Per session: job id → its ``replyRef`` (``None``: none), for jobs already read.
_SEEN: weakref.WeakKeyDictionary[FlowSession, dict[str, str | None]] = (
    weakref.WeakKeyDictionary())
_SEEN_MAX = 50_000


async def find_by_marker(session: FlowSession, marker: str, *, known: Set[str],
                         since: float, rounds: int = 3, delay: float = 5.0,
                         max_reads: int = 50) -> Job | None:
    """Look for the job whose ``request.replyRef`` equals ``marker``.

    Args:
        session: an open session.
        marker: the ``replyRef`` sent with the ambiguous submit.
        known: job ids this client already tracks (never candidates).
        since: wall time (Unix seconds) of the submit; older listing entries are skipped
            (60 s of clock skew allowed).
        rounds: listing rounds; a job created a moment ago may take a few seconds to show.
        delay: seconds between rounds.
        max_reads: most ``GET /jobs/{jobid}`` reads per call.

    Returns:
        The job record, or ``None`` when no listed job carries the marker.
    """
    from flowapi.resources.jobs import normalize_listing_id

    seen = _SEEN.setdefault(session, {})
    if len(seen) > _SEEN_MAX:
        seen.clear()
    checked: set[str] = set()
    reads = 0
    for round_no in range(rounds):
        if round_no:
            await session.clock.sleep(delay)
        try:
            stats = await session.jobs.stats("history")
        except APIError as exc:
            log.debug("reconcile %s: listing failed (%s)", marker, exc)
            continue
        candidates: list[tuple[float, str]] = []
        for group in stats.groups():
            for listing in (group.executing or {}, group.history or {}):
                for raw_id, info in listing.items():
                    jobid = normalize_listing_id(raw_id)
                    stamp = (info.timestamp or 0) / 1000.0
                    if jobid in known or jobid in checked or stamp < since - 60:
                        continue
                    if jobid in seen and seen[jobid] != marker:
                        continue  # read before: it carries another marker
                    candidates.append((abs(stamp - since), jobid))
        for _, jobid in sorted(candidates):
            if reads >= max_reads:
                return None
            checked.add(jobid)
            reads += 1
            try:
                job = await session.jobs.get(jobid)
            except NotFoundError:
                continue
            except APIError as exc:
                log.debug("reconcile %s: reading %s failed (%s)", marker, jobid, exc)
                checked.discard(jobid)
                continue
            seen[jobid] = job.reply_ref
            if job.reply_ref == marker:
                log.debug("reconcile %s: adopted %s", marker, jobid)
                return job
    return None
