"""Finding the job of an in-doubt submit by its markers (DESIGN §7).

A submit whose answer was lost may have created a job (and spent credits). Every attempt
carried a unique marker in ``replyRef``; this module looks for a job carrying one of the
key's markers, by every means the API offers, cheapest first:

1. ``replyUrl`` callbacks the journal kept for jobs nobody claimed (a callback carries the
   job record, ``request.replyRef`` included);
2. the jobs ``GET /jobs?options=history`` lists (executing jobs and the 10 most recent
   finished ones of the last 15 minutes) that this watcher does not know, each read with
   ``GET /jobs/{jobid}`` to see its marker — a few rounds, since a job created a moment ago
   may take a few seconds to show.

Markers only: no wall-clock filter (a client clock may be off), and never a job whose
marker is not one of this key's (so never another process's or another user's job).
Not found → the caller reports the key *in doubt*, never resubmits it.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING

import msgspec

from flowapi._errors import APIError, AuthenticationError, NotFoundError, PaymentRequiredError
from flowapi.journal import split_reply_ref
from flowapi.resources.jobs import normalize_listing_id
from flowapi.types.jobs import Job

if TYPE_CHECKING:
    from flowapi._session import FlowSession
    from flowapi.journal import Journal
    from flowapi.types.jobs import JobsStats

__all__ = ["find_by_markers"]

log = logging.getLogger("flowapi")

#: Per session: job id → its ``replyRef`` (``None``: none), for jobs already read — a
#: job's marker never changes, so many lookups at once (a flaky
#: network) do not read the same candidates again.
_SEEN: weakref.WeakKeyDictionary[FlowSession, dict[str, str | None]] = (
    weakref.WeakKeyDictionary())
_SEEN_MAX = 50_000
_JOB_DECODER = msgspec.json.Decoder(Job)


def marker_of(job: Job) -> str | None:
    """The watcher marker in the job's ``replyRef``, if any."""
    return split_reply_ref(job.reply_ref)[0]


def _carries(reply_ref: str | None, wanted: set[str]) -> bool:
    """Whether a ``replyRef`` carries one of the ``wanted`` markers (a flowapi 0.1 marker,
    ``flowapi-<key>``, is the whole ``replyRef``)."""
    if reply_ref is None:
        return False
    return reply_ref in wanted or split_reply_ref(reply_ref)[0] in wanted


async def confirm_marker(session: FlowSession, jobid: str, marker: str | None) -> Job | None:
    """The job ``jobid`` if its own record (``GET /jobs/{jobid}``) carries ``marker`` —
    callbacks and kept callback bodies are unsigned, so they only name a candidate.

    Raises:
        AuthenticationError, PaymentRequiredError: the account cannot be used (fatal).
    """
    if marker is None:
        return None
    try:
        job = await session.jobs.get(jobid)
    except (AuthenticationError, PaymentRequiredError):
        raise
    except APIError as exc:
        log.debug("reconcile: reading %s failed (%s)", jobid, exc)
        return None
    _SEEN.setdefault(session, {})[jobid] = job.reply_ref
    return job if _carries(job.reply_ref, {marker}) else None


def _candidates(stats: JobsStats, wanted: set[str], seen: dict[str, str | None], *,
                skip: Callable[[str], bool]) -> list[str]:
    """Job ids of the listing (executing and history) that may carry a wanted marker,
    newest first: not skipped, and not read before with another marker."""
    found: list[tuple[float, str]] = []
    for group in stats.groups():
        for listing in (group.executing or {}, group.history or {}):
            for raw_id, info in listing.items():
                jobid = normalize_listing_id(raw_id)
                if skip(jobid) or (jobid in seen and not _carries(seen[jobid], wanted)):
                    continue
                found.append((-(info.timestamp or 0), jobid))
    return [jobid for _, jobid in sorted(found)]


async def find_all(session: FlowSession, journal: Journal, wanted: Mapping[str, str], *,
                   known: Callable[[str], bool], max_reads: int = 200) -> dict[str, Job]:
    """One sweep for many submits in doubt at once (a resume does it first, before a job
    can drop out of the 10-entry history): kept callbacks, then one listing and its
    candidates' records. ``wanted`` maps marker → key; returns key → the job found.

    Raises:
        AuthenticationError, PaymentRequiredError: the account cannot be used (fatal).
    """
    markers = set(wanted)
    found: dict[str, Job] = {}

    def take(job: Job) -> None:
        for marker in markers:
            if _carries(job.reply_ref, {marker}) and wanted[marker] not in found:
                found[wanted[marker]] = job

    for body in (await journal.callbacks()).values():
        try:
            job = _JOB_DECODER.decode(body)
        except msgspec.MsgspecError:
            continue
        if not known(job.jobid) and any(_carries(job.reply_ref, {m}) for m in markers):
            confirmed = await confirm_marker(session, job.jobid, split_reply_ref(
                job.reply_ref)[0] or job.reply_ref)
            if confirmed is not None:
                take(confirmed)
    if len(found) == len(set(wanted.values())):
        return found
    try:
        stats = await session.jobs.stats("history")
    except (AuthenticationError, PaymentRequiredError):
        raise
    except APIError as exc:
        log.debug("resume lookup: listing failed (%s)", exc)
        return found
    seen = _SEEN.setdefault(session, {})
    for jobid in _candidates(stats, markers, seen, skip=known)[:max_reads]:
        try:
            job = await session.jobs.get(jobid)
        except (AuthenticationError, PaymentRequiredError):
            raise
        except APIError as exc:
            log.debug("resume lookup: reading %s failed (%s)", jobid, exc)
            continue
        seen[jobid] = job.reply_ref
        take(job)
    return found


async def find_by_markers(session: FlowSession, journal: Journal, markers: Collection[str],
                          *, known: Callable[[str], bool], still_looking: Callable[[], bool],
                          rounds: int = 3, delay: float = 5.0,
                          max_reads: int = 50) -> tuple[Job | None, bool]:
    """The job carrying one of ``markers`` in its ``replyRef``, and whether the lookup was
    complete (a listing answered and every candidate's record could be read) — only a
    complete lookup that found nothing means "not there".

    Args:
        session: an open session.
        journal: the journal whose kept callbacks are searched first.
        markers: the key's attempt markers.
        known: whether a job id is already tracked (never a candidate).
        still_looking: ``False`` ends the search early (e.g. a callback found it).
        rounds: listing rounds; ``delay`` seconds apart.
        max_reads: most ``GET /jobs/{jobid}`` reads per call.

    Raises:
        AuthenticationError, PaymentRequiredError: the account cannot be used (fatal).
    """
    wanted = set(markers)
    if not wanted:
        return None, True
    for body in (await journal.callbacks()).values():
        try:
            job = _JOB_DECODER.decode(body)
        except msgspec.MsgspecError:
            continue
        if _carries(job.reply_ref, wanted) and not known(job.jobid):
            for marker in wanted:
                confirmed = await confirm_marker(session, job.jobid, marker)
                if confirmed is not None:
                    log.debug("reconcile: found %s through a kept callback", job.jobid)
                    return confirmed, True
    seen = _SEEN.setdefault(session, {})
    if len(seen) > _SEEN_MAX:
        seen.clear()
    checked: set[str] = set()
    unread: set[str] = set()  # candidates whose record could not be read (yet)
    reads = 0
    looked = False
    for round_no in range(rounds):
        if round_no:
            await session.clock.sleep(delay)
        if not still_looking():
            return None, looked
        try:
            stats = await session.jobs.stats("history")
        except (AuthenticationError, PaymentRequiredError):
            raise
        except APIError as exc:
            log.debug("reconcile: listing failed (%s)", exc)
            continue
        looked = True
        for jobid in _candidates(stats, wanted, seen, skip=lambda j: j in checked or known(j)):
            if not still_looking():
                return None, looked
            if reads >= max_reads:
                return None, False  # candidates left unread: not a "not found"
            checked.add(jobid)
            reads += 1
            try:
                job = await session.jobs.get(jobid)
            except NotFoundError:
                continue
            except (AuthenticationError, PaymentRequiredError):
                raise
            except APIError as exc:
                log.debug("reconcile: reading %s failed (%s)", jobid, exc)
                checked.discard(jobid)
                unread.add(jobid)
                continue
            unread.discard(jobid)
            seen[jobid] = job.reply_ref
            if _carries(job.reply_ref, wanted):
                log.debug("reconcile: found %s by its marker", jobid)
                return job, True
    return None, looked and not unread
