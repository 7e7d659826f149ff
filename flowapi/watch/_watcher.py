"""JobWatcher: submit many async jobs, watch them with few requests, yield each outcome
exactly once, resume from the journal (DESIGN §6–7).

A small facade over parts with one concern each, wired by composition:

* the **journal** (:mod:`flowapi.journal`): the durable truth of every submission;
* the :class:`~flowapi.watch._tracker.Tracker`: keys in flight, slots, outcomes;
* :class:`~flowapi.watch._scheduler.Timers` and two worker pools (reads, submits);
* the :class:`~flowapi.watch._submitter.Submitter`: lanes, POST, acceptance,
  reconciliation by marker;
* the :class:`~flowapi.watch._reader.Reader` (single-flight ``GET /jobs/{jobid}``) and its
  :class:`~flowapi.watch._reader.Backstop`;
* one **status source** per mode (:mod:`flowapi.watch._sources`).

``submit(params, key=k)`` consults the journal first: a finished key's recorded outcome
is yielded again with no request; an accepted key's job is watched again; an in-doubt key
is reconciled by its markers; a new key is POSTed.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Literal, Self

import anyio
import anyio.lowlevel
import msgspec

from flowapi._capabilities import validate
from flowapi._clock import RealClock
from flowapi._errors import (
    AmbiguousSubmitError,
    InvalidParamsError,
    JobTimeoutError,
    RecordedFailureError,
)
from flowapi._outcomes import JobFailed, JobSucceeded, Outcome, TagT
from flowapi._polling import PollPolicy, failure_of
from flowapi._webhook_core import is_complete_record
from flowapi.journal import (
    Accepted,
    DuplicateJobidError,
    FailureCategory,
    IllegalTransition,
    Journal,
    Retry,
    SharedJournal,
    Submission,
    SubmissionState,
    canonical_params,
    content_key,
    open_journal,
)
from flowapi.resources.jobs import normalize_listing_id
from flowapi.types.jobs import Job
from flowapi.watch._budget import CreditBudget
from flowapi.watch._entry import Entry, Phase
from flowapi.watch._follower import Follower
from flowapi.watch._reader import Backstop, Reader
from flowapi.watch._reconcile import find_all, marker_of
from flowapi.watch._scheduler import Timers
from flowapi.watch._shared_listing import SharedListing
from flowapi.watch._sources import (
    ListingSource,
    ListingTiming,
    PollSource,
    ResyncTiming,
    StatusSource,
)
from flowapi.watch._submitter import Submitter
from flowapi.watch._timing import GenerationTimes, account_in_jobid
from flowapi.watch._tracker import Tracker, WatcherStats, tag_json

if TYPE_CHECKING:
    import os

    from anyio.abc import TaskGroup

    from flowapi._session import FlowSession
    from flowapi.resources.jobs import SubmitParams
    from flowapi.types.accounts import Account

__all__ = ["JobWatcher", "WatchMode", "WatcherStats"]

log = logging.getLogger("flowapi")

WatchMode = Literal["listing", "poll", "webhook"]
#: Journal objects a watcher of this process is using (one watcher per journal at a time;
#: another process is kept out by the sqlite journal's file lock).
_JOURNALS_IN_USE: set[int] = set()
_JOB_DECODER = msgspec.json.Decoder(Job)


class JobWatcher(Generic[TagT]):
    """Submit ``async: true`` jobs and iterate their outcomes in completion order.

    Generic in the type of its tags: ``watcher: JobWatcher[str] = flow.watch()`` makes
    ``submit(…, tag=…)`` take ``str`` and the outcomes ``JobSucceeded[str]`` /
    ``JobFailed[str]``, so ``mypy --strict`` checks them.

    Use it through :meth:`FlowSession.watch`::

        async with flow.watch(max_in_flight=16, journal="batch.sqlite") as watcher:
            for prompt in prompts:
                await watcher.submit(flowapi.VideoParams(prompt=prompt), tag=prompt)
            watcher.close()
            async for outcome in watcher:
                ...

    Args:
        session: an open :class:`~flowapi.FlowSession`.
        max_in_flight: most keys queued, submitting or running at once; :meth:`submit`
            waits for a free slot (back-pressure). Default 16, ≥ 1.
        mode: ``"listing"`` (default: shared ``GET /jobs?options=executing`` ticks),
            ``"poll"`` (per-job schedule) or ``"webhook"`` (``replyUrl`` callbacks and a
            slow resync); see :mod:`flowapi.watch._sources`.
        poll: the :class:`~flowapi.PollPolicy` (first-check timing in every mode).
        listing_interval: seconds between listing ticks while many jobs are ripe, default 1
            (stretched up to 4× while few are); in webhook mode the resync interval,
            default 30, not stretched.
        job_timeout: seconds from acceptance until a job counts as timed out
            (:class:`~flowapi.JobTimeoutError`, keeping the jobid; a later run watches it
            again), default ``None``.
        max_concurrent_requests: most submits on the wire at once, and separately most job
            reads (reads never wait behind slow submits), default 32.
        resubmit_moderated: times a moderated job is submitted again (each spends
            credits), default 0.
        journal: a :class:`~flowapi.journal.Journal` (you open and close it), a path to an
            sqlite file or a ``postgresql://`` URL (opened and closed by the watcher), or
            ``None``: ``FLOWAPI_JOURNAL`` when set, else an in-memory journal. On a
            :class:`~flowapi.journal.SharedJournal` (PostgreSQL, DESIGN §11) several
            watchers — one per worker process, each with its own journal object — share
            the keys: each key is submitted and watched by the worker holding its lease;
            the others follow it through the journal (no request, no slot) and yield its
            recorded outcome when it finishes, and take it over if its worker dies.
        webhook_url: the ``replyUrl`` sent with each submit in webhook mode (a
            :mod:`flowapi.webhooks` receiver URL including its secret path token).
        learn_generation_times: read ``GET /accounts/{email}`` once per account to time
            first checks by its ``videoGenerationTimeSeconds`` (default ``True``; not in
            webhook mode).
        retry_failed: failure categories (:class:`~flowapi.journal.FailureCategory` or
            their names, e.g. ``{"moderated", "captcha"}``) whose journaled failures are
            submitted again (spends credits) instead of being yielded again. ``in_doubt``
            is not accepted here: see ``resubmit_in_doubt``.
        resubmit_in_doubt: submit again keys whose earlier submit is in doubt and was not
            found by its markers. **A job may exist for them: this may pay twice.**
            Default ``False``.
        verify_callbacks: read ``GET /jobs/{jobid}`` after a callback even when it carries
            a complete job record (default ``False``: a complete record is used as is —
            one request per job in webhook mode).
        backstop_after: multiple of a job's expected time after which a job nothing read
            gets a backstop read (default 3; then every ``max(60 s, expected)`` without a
            read; in webhook mode never before twice the resync interval).
        max_credits: a budget in Flow credits: each attempt (resubmissions included) is
            priced with :func:`~flowapi.estimate_credits` before it is sent, and a submit
            that would pass the budget is not sent — its outcome is ``JobFailed`` with
            :class:`~flowapi.CreditBudgetError` (category ``rejected``). Default ``None``:
            no budget. Keys resumed from the journal cost nothing here.
        credit_account: the ``GET /accounts/{email}`` body whose tier (and ``creditCost``)
            prices the budget; default the highest tier that can run each request.

    Raises:
        ValueError: an argument is out of range (messages say which).

    Fatal errors (401, 402, journal failures, bugs) end the watcher: ``async for`` and the
    ``async with`` exit raise them as plain exceptions, after the journal is up to date.
    Every other failure is a :class:`~flowapi.JobFailed` value. Leaving the block early
    cancels local work; submits already on the wire finish (bounded by the session's
    connect + read timeouts) so their jobids reach the journal; remote jobs keep running
    and a later run with the same journal adopts them.
    """

    def __init__(self, session: FlowSession, *, max_in_flight: int = 16,
                 mode: WatchMode = "listing", poll: PollPolicy | None = None,
                 listing_interval: float | None = None, job_timeout: float | None = None,
                 max_concurrent_requests: int = 32, resubmit_moderated: int = 0,
                 journal: Journal | str | os.PathLike[str] | None = None,
                 webhook_url: str | None = None, learn_generation_times: bool = True,
                 retry_failed: Collection[FailureCategory | str] = (),
                 resubmit_in_doubt: bool = False, verify_callbacks: bool = False,
                 backstop_after: float = 3.0, max_credits: float | None = None,
                 credit_account: Account | None = None) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be >= 1")
        if max_concurrent_requests < 1:
            raise ValueError("max_concurrent_requests must be >= 1")
        if resubmit_moderated < 0:
            raise ValueError("resubmit_moderated must be >= 0")
        if job_timeout is not None and job_timeout <= 0:
            raise ValueError("job_timeout must be > 0 seconds (or None)")
        if listing_interval is not None and listing_interval <= 0:
            raise ValueError("listing_interval must be > 0 seconds")
        if mode not in ("listing", "poll", "webhook"):
            raise ValueError(f"mode must be 'listing', 'poll' or 'webhook', got {mode!r}")
        if mode == "webhook" and not webhook_url:
            raise ValueError("mode='webhook' needs webhook_url (see flowapi.webhooks)")
        retry = {FailureCategory(c) for c in retry_failed}
        paid = sorted(c.value for c in retry if c.may_have_paid)
        if paid:
            raise ValueError(f"retry_failed cannot include {', '.join(paid)}: a job may exist "
                             "for those and resubmitting may pay twice (timed-out and "
                             "unreadable jobs are watched again by every run; in-doubt "
                             "submits are looked up again, and resubmit_in_doubt=True sends "
                             "those not found)")
        self._session = session
        self._clock = session.clock
        self.mode: WatchMode = mode
        self.poll_policy = poll or PollPolicy()
        self.listing_interval = listing_interval or (30.0 if mode == "webhook" else 1.0)
        self.job_timeout = job_timeout
        self.resubmit_moderated = resubmit_moderated
        self.retry_failed = frozenset(retry)
        self.resubmit_in_doubt = resubmit_in_doubt
        self.verify_callbacks = verify_callbacks
        self.journal, self._owns_journal = open_journal(journal)
        self.budget = CreditBudget(max_credits, credit_account)
        self._tracker = Tracker(self.journal, max_in_flight, self._set_fatal)
        self.stats = self._tracker.stats
        self._timers = Timers(self._clock)
        self._reader = Reader(session, self._tracker, self._clock, max_concurrent_requests,
                              self._job_finished, self._set_fatal)
        self._submitter = Submitter(session, self.journal, self._tracker, self._timers,
                                    self._clock, max_concurrent_requests,
                                    webhook_url if mode == "webhook" else None,
                                    self._accepted, self._set_fatal, self._stopping,
                                    self.budget, resubmit_in_doubt=resubmit_in_doubt,
                                    known=self._is_known_jobid,
                                    on_lease_lost=self._lease_lost)
        shared = self._shared
        self._follower = None if shared is None else Follower(
            shared, self._timers, finished=self._settle_followed,
            claimed=self._took_over, callback=self._shared_callback,
            on_fatal=self._set_fatal)
        self._times = GenerationTimes(session, self.poll_policy, self.stats,
                                      learn=learn_generation_times and mode != "webhook",
                                      on_learned=self._replan)
        self._source = self._make_source(mode)
        self._reader.listener = self._source
        self._tracker.on_done.append(self._source.forget)
        expected_floor = 60.0
        # webhook mode: callbacks, then the resync, come first; the backstop is the last net
        resync_floor = 2 * self.listing_interval if mode == "webhook" else 0.0
        self._backstop = Backstop(
            self._timers, self._clock, self._reader, self._tracker,
            first=lambda e: max(expected_floor, resync_floor, backstop_after * e.expected),
            interval=lambda e: max(expected_floor, resync_floor, e.expected))
        self._occurrences: dict[str, int] = {}
        self._keys: set[str] = set()
        self._known_jobids: set[str] = set()  # accepted in this watcher or journaled
        self._tg: TaskGroup | None = None
        self._state: Literal["new", "open", "exiting", "ended"] = "new"
        self._fatal: BaseException | None = None

    def _make_source(self, mode: WatchMode) -> StatusSource:
        args = (self._clock, self._timers, self._reader, self._tracker, self.poll_policy)
        if mode == "poll":
            return PollSource(*args)
        timing = (ResyncTiming if mode == "webhook" else ListingTiming)(
            self.poll_policy, self.listing_interval)
        shared = None if self._shared is None else SharedListing(self._shared, self._clock)
        return ListingSource(self._session, *args, timing=timing, on_fatal=self._set_fatal,
                             shared=shared)

    # -- lifecycle ---------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._state != "new":
            raise RuntimeError("a JobWatcher can be entered once; use flow.watch() again")
        if id(self.journal) in _JOURNALS_IN_USE:
            raise RuntimeError(
                "this journal object is in use by another JobWatcher: two watchers on one "
                "journal would submit the same keys twice; finish the other block first")
        _JOURNALS_IN_USE.add(id(self.journal))
        try:
            await self._enter()
        except BaseException:
            _JOURNALS_IN_USE.discard(id(self.journal))
            raise
        return self

    async def _enter(self) -> None:
        shared = self._shared
        if shared is not None and not isinstance(self._clock, RealClock):
            shared.use_clock(self._clock)  # a fake's simulated time: leases follow it
        await self.journal.open()
        try:
            rows = await self.journal.rows()
            self._known_jobids.update(r.jobid for r in rows if r.jobid)
            if shared is None:
                await self._find_in_doubt(rows)
            else:  # only the in-doubt submits no live worker is handling, held meanwhile
                claimed = [r.key for r in await shared.claim_lapsed(
                    [r.key for r in rows if r.marker and r.state.in_doubt])]
                try:
                    await self._find_in_doubt([r for r in rows if r.key in claimed])
                finally:  # whoever submits those keys claims them again
                    with anyio.CancelScope(shield=True):
                        await shared.release(claimed)
        except BaseException:  # e.g. a 401 during the lookup: the journal is not kept open
            if self._owns_journal:
                with anyio.CancelScope(shield=True):
                    await self.journal.close()
            raise
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._tg = tg
        for part in (self._submitter, self._reader.pool, self._source):
            part.bind(tg)
        self._times.task_group = tg
        self._state = "open"
        tg.start_soon(self._run_timers)
        if self._follower is not None:
            await self._follower.start(tg)

    async def _find_in_doubt(self, rows: list[Submission]) -> None:
        """A resume looks for the submits an earlier run left in doubt first — in one sweep,
        before their jobs can drop out of the API's 10-entry history — and journals the
        jobs it finds (their keys are then watched like any accepted one)."""
        wanted = {r.marker: r.key for r in rows if r.marker and (
            r.state.in_doubt or r.category is FailureCategory.IN_DOUBT)}
        if not wanted:
            return
        found = await find_all(self._session, self.journal, wanted,
                               known=self._is_known_jobid)
        for key, job in found.items():
            try:
                await self.journal.update(key, Accepted(jobid=job.jobid))
            except (IllegalTransition, DuplicateJobidError) as exc:
                log.warning("resume: job %s found for %s but not adopted: %s", job.jobid, key,
                            exc)
                continue
            self._known_jobids.add(job.jobid)
            self.stats.adopted += 1
        log.info("resume: %d of %d submits in doubt found by their markers", len(found),
                 len(set(wanted.values())))

    async def _run_timers(self) -> None:
        try:
            await self._timers.run()
        except Exception as exc:
            self._set_fatal(exc)

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> bool | None:
        tg = self._tg
        assert tg is not None
        self._state = "exiting"  # nothing more is sent; POSTs on the wire finish (shielded)
        self._tracker.stop()
        self._submitter.end_wires()
        if self._follower is not None:
            self._follower.stop()
        tg.cancel_scope.cancel()
        cancelled = exc is not None and isinstance(exc, anyio.get_cancelled_exc_class())
        try:
            suppressed = await tg.__aexit__(exc_type if cancelled else None,
                                            exc if cancelled else None,
                                            tb if cancelled else None)
        finally:
            self._tg = None
            for part in (self._submitter, self._reader.pool, self._source):
                part.bind(None)
            self._times.task_group = None
            self._state = "ended"
            self._tracker.outcomes.close()
            try:
                await self._release_unfinished()
                if self._owns_journal:
                    with anyio.CancelScope(shield=True):
                        await self.journal.close()
            finally:
                _JOURNALS_IN_USE.discard(id(self.journal))
        if self._fatal is not None and (exc is None or cancelled):
            raise self._fatal
        return suppressed if cancelled else None

    @property
    def _shared(self) -> SharedJournal | None:
        return self.journal if isinstance(self.journal, SharedJournal) else None

    async def _release_unfinished(self) -> None:
        """Leaving the block: give back the leases of keys left unfinished, so another
        worker takes them over at once instead of after the lease."""
        shared = self._shared
        if shared is None:
            return
        # only this worker's leases are released: a followed key's holder keeps its own
        keys = list(self._tracker.entries)
        if keys:
            with anyio.CancelScope(shield=True):
                try:
                    await shared.release(keys)
                except Exception as exc:  # the leases lapse on their own
                    log.warning("journal: could not release %d leases (%s); other workers "
                                "take the keys over once they lapse", len(keys), exc)

    def _is_known_jobid(self, jobid: str) -> bool:
        """Whether a job belongs to a key of this journal (never a lookup candidate)."""
        return jobid in self._known_jobids or jobid in self._tracker.by_jobid

    def _stopping(self) -> bool:
        return self._state != "open" or self._fatal is not None

    def _set_fatal(self, exc: BaseException) -> None:
        if self._fatal is None:
            self._fatal = exc
            log.error("watcher stopped by a fatal error: %s", exc)
        self._tracker.stop()
        self._submitter.end_wires()
        if self._tg is not None:
            self._tg.cancel_scope.cancel()
        self._tracker.outcomes.close()

    def close(self) -> None:
        """No more submissions: iteration ends once every pending outcome was yielded."""
        self._tracker.close()

    @property
    def pending(self) -> int:
        """Keys submitted to this watcher without an outcome yet."""
        return self._tracker.pending

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Outcome[TagT]:
        try:
            return await self._tracker.outcomes.get()
        except anyio.EndOfStream:
            if self._fatal is not None:
                raise self._fatal from None
            raise StopAsyncIteration from None

    # -- submitting --------------------------------------------------------------------

    async def submit(self, params: SubmitParams, *, tag: TagT | None = None,
                     key: str | None = None) -> str:
        """Submit ``params`` (or resume the key's journaled submission); waits while
        ``max_in_flight`` keys are pending.

        Args:
            params: :class:`~flowapi.VideoParams`, :class:`~flowapi.ExtendParams` or
                :class:`~flowapi.VideoUpscaleParams`. Each attempt sends a unique marker
                in ``replyRef``; your own ``reply_ref`` travels behind it as
                ``flowapi:<marker>;<yours>`` (at most 1024 characters in all) and is
                returned unchanged on the outcome's ``params``.
            tag: any value, returned on the outcome (stored in the journal when it is
                JSON-able).
            key: a stable idempotency key; default the content key (a hash of the wire
                params and their occurrence number among identical params in this
                watcher), so the same params submitted again after a crash resume instead
                of paying again.

        Returns:
            The key.

        Raises:
            RuntimeError: the watcher is not entered, is being left, or :meth:`close` was
                called.
            ValueError: ``key`` was already submitted to this watcher.
            JournalError: the journal cannot be read or written.
            FlowError: a fatal error already ended the watcher.
        """
        if self._fatal is not None:
            raise self._fatal
        if self._state != "open":
            raise RuntimeError("JobWatcher.submit() outside 'async with flow.watch()'")
        if self._tracker.closed:
            raise RuntimeError("JobWatcher.submit() after close()")
        await anyio.lowlevel.checkpoint_if_cancelled()
        user_ref = _unset_to_none(params, "reply_ref")
        base = (msgspec.structs.replace(params, reply_ref=msgspec.UNSET)
                if user_ref is not None else params)
        kind = type(params).__name__
        canonical = canonical_params(base.to_wire())
        if key is not None and key in self._keys:
            raise ValueError(f"duplicate submission key {key!r} in this watcher")
        self._tracker.submit_started()  # a close() meanwhile still waits for this key
        try:
            return await self._submit(params, tag, key, user_ref, kind, canonical)
        except RuntimeError:
            if self._fatal is not None:
                raise self._fatal from None
            raise
        finally:
            self._tracker.submit_ended()

    async def _submit(self, params: SubmitParams, tag: TagT | None, key: str | None,
                      user_ref: str | None, kind: str, canonical: str) -> str:
        await self._tracker.acquire_slot()
        occurrence: int | None = None
        if key is None:  # taken only with the slot, given back if nothing came of it
            occurrence = self._occurrences.get(canonical, 0) + 1
            key = content_key(kind, canonical, occurrence)
            self._occurrences[canonical] = occurrence
        if key in self._keys:
            self._tracker.release_slot()
            raise ValueError(f"duplicate submission key {key!r} in this watcher")
        self._keys.add(key)
        replayed = claimed = False
        try:
            row = await self.journal.add(key, kind=kind, params=canonical, tag=tag_json(tag))
            if self._state != "open":  # the block was left meanwhile: nothing is sent
                raise RuntimeError("JobWatcher.submit(): the watch block was left while this "
                                   "submit was being journaled; nothing was sent for it")
            shared = self._shared
            if shared is not None and row.state is not SubmissionState.SUCCEEDED:
                claimed = True  # from here a failure gives the key back (it may be ours)
                held = await shared.claim(key)  # None: another live worker has the key
                claimed = held is not None
                if held is not None:
                    row = held
                elif self._state != "open":
                    raise RuntimeError("JobWatcher.submit(): the watch block was left while "
                                       "this submit was being journaled; nothing was sent")
            following = shared is not None and not claimed and \
                row.state is not SubmissionState.SUCCEEDED
            if (row.params != canonical and row.state is not SubmissionState.PENDING
                    and not following):
                log.warning("key %s was journaled with other params; its journaled "
                            "submission is resumed (use another key for new params)", key)
                params = _journaled_params(params, row) or params
            email = _unset_to_none(params, "email") or None
            entry = Entry(key=key, params=params, tag=tag, email=email,
                          model=_unset_to_none(params, "model"), kind=_kind_of(kind),
                          user_reply_ref=user_ref, attempts=row.attempts,
                          markers=row.markers, marker=row.marker)
            if following:
                self._follow(entry)
                return key
            replayed = await self._resume(entry, row)
            if replayed and claimed and shared is not None:
                await shared.release([key])  # nothing to do for it: free it at once
        except BaseException:
            if claimed and key not in self._tracker.entries and self._shared is not None:
                with anyio.CancelScope(shield=True):  # nothing came of it: free the key
                    try:
                        await self._shared.release([key])
                    except Exception as exc:  # it lapses on its own
                        log.debug("journal: releasing %s failed: %s", key, exc)
            if key not in self._tracker.entries and not replayed:
                self._tracker.release_slot()
                self._keys.discard(key)  # the same submit may be tried again
                if occurrence is not None and self._occurrences.get(canonical) == occurrence:
                    self._occurrences[canonical] = occurrence - 1
            raise
        return key

    async def _resume(self, entry: Entry, row: Submission) -> bool:
        """Act on the key's journal row (see the module docstring); ``True`` when its
        recorded outcome was yielded again (the slot is given back then)."""
        state, category = row.state, row.category
        if state is SubmissionState.FAILED and category is not None:
            if category in self.retry_failed:
                row = await self.journal.update(entry.key, Retry())
                state = row.state
            elif category is FailureCategory.IN_DOUBT:
                self._track(entry)  # looked up again; resubmit_in_doubt resends if not found
                self._submitter.reconcile(entry, "an earlier run could not find this "
                                                 "submit's job")
                return False
            elif row.jobid and category.may_have_paid:
                try:  # timed out or unreadable: the job exists, watch it again
                    await self.journal.update(entry.key, Accepted(jobid=row.jobid))
                except DuplicateJobidError:  # another key holds it (a migrated 0.1 journal)
                    self._replay(entry, row)
                    return True
                self._track(entry)
                self.stats.adopted_running += 1
                self._adopt_accepted(entry, row.jobid)
                return False
        if state is SubmissionState.SUCCEEDED or state is SubmissionState.FAILED:
            self._replay(entry, row)
            return True
        self._track(entry)
        if state is SubmissionState.ACCEPTED:
            assert row.jobid is not None
            self.stats.adopted_running += 1
            self._adopt_accepted(entry, row.jobid)
        elif state.in_doubt:
            self._submitter.reconcile(entry, "an earlier run was interrupted after sending "
                                             "this submit")
        else:  # pending: never sent, or certainly refused
            if self._session.validate:
                try:
                    validate(entry.params)
                except InvalidParamsError as exc:
                    await self._tracker.fail(entry, exc)
                    return False
            self._submitter.submit(entry)
        return False

    def _track(self, entry: Entry) -> None:
        self._tracker.add(entry)

    def _replay(self, entry: Entry, row: Submission) -> None:
        """Yield the key's recorded outcome again (no request)."""
        if self._tracker.entries.get(entry.key) is entry:  # a followed key taken over
            self._tracker.settle(entry, self._recorded(entry, row))
            return
        if entry.holds_slot:
            entry.holds_slot = False
            self._tracker.release_slot()
        self._tracker.replay(self._recorded(entry, row))

    # -- a shared journal: keys other workers hold ---------------------------------------

    def _follow(self, entry: Entry) -> None:
        """Another live worker holds ``entry``'s key: watch its row, not the API."""
        assert self._follower is not None
        self._tracker.add(entry)
        self._tracker.move(entry, Phase.FOLLOWING)
        self._tracker.give_back(entry)
        self._follower.follow(entry)

    def _lease_lost(self, entry: Entry) -> None:
        """The journal refused ``entry``'s ``Attempt``: its lease lapsed and another
        worker holds the key now (nothing was sent). Follow it."""
        log.warning("%s: this worker's lease lapsed and another worker took the key over; "
                    "following it (nothing was sent)", entry.key)
        self._follow(entry)

    def _settle_followed(self, entry: Entry, row: Submission) -> None:
        """A followed key finished (recorded by the worker that held it)."""
        self._tracker.settle(entry, self._recorded(entry, row))

    async def _took_over(self, entry: Entry, row: Submission) -> None:
        """A followed key's worker died (its lease lapsed) and this worker claimed it:
        resume it from its row — adopt its jobid, look an in-doubt submit up by its
        marker, submit a pending one. Never a second POST for an attempt on record."""
        self.stats.taken_over += 1
        entry.holds_slot = self._tracker.try_acquire_slot()
        entry.attempts, entry.markers, entry.marker = row.attempts, row.markers, row.marker
        if self._state != "open":
            return
        await self._resume(entry, row)

    def _shared_callback(self, job: Job) -> None:
        """A callback another worker's receiver recorded: wake this worker's job."""
        self._notify(job, record=False)

    def _adopt_accepted(self, entry: Entry, jobid: str) -> None:
        """Watch the journaled job of a tracked entry (it may be done already)."""
        other = self._tracker.bind_jobid(entry, jobid)
        if other is not None:  # two rows of a migrated 0.1 journal share a jobid
            self._spawn(self._tracker.fail(entry, AmbiguousSubmitError(
                f"in doubt (may have been created and paid): the journal records jobid "
                f"{jobid} for this key and for {other.key!r}; this key's own job, if any, is "
                "unknown. It is not resubmitted; check `flowapi jobs stats --options "
                "history`."), category=FailureCategory.IN_DOUBT))
            return
        self._accepted(entry, None, check_now=True)

    def _recorded(self, entry: Entry, row: Submission) -> Outcome[Any]:
        job = _decode_job(row.job)
        if row.state is SubmissionState.SUCCEEDED and job is not None:
            return JobSucceeded(job=job, key=entry.key, tag=entry.tag, params=entry.params,
                                attempts=row.attempts, resumed=True)
        category = row.category or FailureCategory.JOB_FAILED
        advice = ("resubmitting may pay twice" if category.may_have_paid else
                  f"pass retry_failed={{'{category.value}'}} (flowapi batch --retry-failed "
                  f"{category.value}) to submit it again")
        error = RecordedFailureError(
            f"recorded by an earlier run as {category.value}: {row.error or 'no message'} "
            f"({advice})", category=category.value, jobid=row.jobid,
            recorded=row.error or "")
        return JobFailed(error=error, key=entry.key, tag=entry.tag, params=entry.params,
                         jobid=row.jobid, job=job, attempts=row.attempts, category=category,
                         resumed=True)

    # -- parts' callbacks ----------------------------------------------------------------

    def _accepted(self, entry: Entry, job: Job | None, *, check_now: bool = False) -> None:
        """A jobid is journaled for ``entry``: start watching it (at once when the record
        that came with it is already finished, e.g. a callback found it)."""
        check_now = check_now or entry.early_callback or (job is not None and job.is_finished)
        entry.early_callback = False
        assert entry.jobid is not None
        jobid = entry.jobid
        self._known_jobids.add(jobid)
        now = self._clock.now()
        entry.job = job
        entry.accepted_at = now
        entry.last_read = now
        entry.reads = 0
        entry.read_errors = 0
        entry.account = entry.email or account_in_jobid(jobid)
        self._tracker.move(entry, Phase.RUNNING)
        entry.expected = self._times.expected(entry)
        if self.job_timeout is not None:
            deadline = entry.deadline = now + self.job_timeout
            self._timers.call_at(deadline, lambda: self._deadline(entry, jobid, deadline))
        self._source.track(entry, check_now=check_now)
        self._backstop.track(entry)

    def _replan(self, entries: list[Entry]) -> None:
        for entry in entries:
            if entry.phase is Phase.RUNNING and entry.reads == 0:
                entry.expected = self._times.expected(entry)
                self._source.replan(entry)

    def _deadline(self, entry: Entry, jobid: str, deadline: float) -> None:
        if not self._tracker.current(entry, jobid) or entry.deadline != deadline:
            return
        status = entry.job.status if entry.job else "running"
        error = JobTimeoutError(
            f"job {jobid} still {status} after job_timeout={self.job_timeout}s; it may "
            f"still finish: flow.jobs.wait({jobid!r}) (a later run with this journal watches "
            "it again)", jobid=jobid, last_status=entry.job.status if entry.job else None)
        self._spawn(self._tracker.fail(entry, error))

    async def _job_finished(self, entry: Entry, job: Job, jobid: str) -> None:
        """A read (or a trusted callback) of ``jobid`` found the job finished."""
        if entry.phase is not Phase.RUNNING or not self._tracker.current(entry, jobid):
            return
        entry.job = job
        if job.status == "completed":
            await self._tracker.succeed(entry, job)
            return
        error = failure_of(job)
        if (error.moderated and entry.attempts <= self.resubmit_moderated
                and not self._stopping()):
            log.debug("job %s moderated; resubmitting (attempt %d)", job.jobid,
                      entry.attempts + 1)
            self._source.forget(entry)  # the old job leaves the source before its jobid
            self._tracker.unbind_jobid(entry)
            entry.deadline = None
            self._submitter.submit(entry)
            return
        await self._tracker.fail(entry, error)

    def _spawn(self, coro: Any) -> None:
        if self._tg is None:
            coro.close()
            return

        async def guarded() -> None:
            try:
                await coro
            except Exception as exc:
                self._set_fatal(exc)

        self._tg.start_soon(guarded)

    # -- callbacks -----------------------------------------------------------------------

    def notify(self, job: Job | str) -> bool:
        """A ``replyUrl`` callback arrived (webhook mode, or any mode as a hint).

        A complete record of a finished job (:func:`~flowapi._webhook_core.is_complete_record`)
        whose ``replyRef`` carries the marker of this key's attempt is used as is (no
        request) unless ``verify_callbacks``; otherwise a callback saying the job finished makes the
        watcher read ``GET /jobs/{jobid}`` now. ``created``/``started`` payloads,
        duplicates and callbacks after the outcome are ignored. A callback for a job this
        watcher does not know is kept in the journal (a later reconciliation may need it);
        one carrying the marker of a submit in doubt adopts that job once its own record
        (``GET /jobs/{jobid}``) confirms the marker.

        Args:
            job: the decoded callback payload, or just a job id.

        Returns:
            ``True`` if the job belongs to this watcher, ``False`` otherwise.
        """
        return self._notify(job, record=True)

    def _notify(self, job: Job | str, *, record: bool) -> bool:
        raw_id = job if isinstance(job, str) else job.jobid
        jobid = normalize_listing_id(raw_id)
        entry = self._tracker.by_jobid.get(jobid)
        if entry is None:
            return self._unclaimed(jobid, job, record=record)
        if isinstance(job, Job) and not job.is_finished:
            return True
        if entry.phase is not Phase.RUNNING:  # its jobid is being journaled right now
            entry.early_callback = True
            return True
        self.stats.notified += 1
        if (isinstance(job, Job) and not self.verify_callbacks and is_complete_record(job)
                and entry.marker is not None and marker_of(job) == entry.marker):
            self.stats.callback_outcomes += 1
            self._spawn(self._job_finished(entry, job, jobid))
            return True
        self._source.callback(entry)
        self._reader.read(entry)
        return True

    def _unclaimed(self, jobid: str, job: Job | str, *, record: bool) -> bool:
        if jobid in self._known_jobids:
            return True
        if isinstance(job, str) or self._tg is None:
            return False
        marker = marker_of(job)
        entry = self._tracker.by_marker.get(marker) if marker else None
        if entry is not None and entry.phase is Phase.RECONCILING and marker == entry.marker:
            # callbacks are unsigned: the job's own record must carry the marker
            self._spawn(self._submitter.adopt_confirmed(entry, jobid))
            return True
        if (entry is not None and entry.phase is Phase.SUBMITTING and marker == entry.marker
                and job.is_finished):
            entry.early_callback = True  # its 201 is on the way: read the job once accepted
        if marker is not None and record:  # a shared journal hints the other workers
            self._spawn(self.journal.record_callback(jobid, msgspec.json.encode(job)))
        return entry is not None


def _journaled_params(given: SubmitParams, row: Submission) -> SubmitParams | None:
    """The params a row was journaled with, as the given params' class (``None`` if they
    do not decode): an outcome always says what was really submitted."""
    try:
        wire = msgspec.json.decode(row.params)
        return type(given).from_wire(wire) if isinstance(wire, dict) else None
    except (msgspec.MsgspecError, ValueError, TypeError):
        return None


def _decode_job(text: str | None) -> Job | None:
    if not text:
        return None
    try:
        return _JOB_DECODER.decode(text)
    except msgspec.MsgspecError:
        return None


def _unset_to_none(params: object, name: str) -> str | None:
    value = getattr(params, name, None)
    if value is None or value is msgspec.UNSET:
        return None
    return str(value)


def _kind_of(class_name: str) -> str:
    if "Upscale" in class_name:
        return "upscale"
    if "Image" in class_name:
        return "image"
    return "video"
