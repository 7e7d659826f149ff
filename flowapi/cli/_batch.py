"""``flowapi batch``: the main job (DESIGN §9).

prompts.json → upload local frames once each → submit through a :class:`~flowapi.JobWatcher`
→ download videos and thumbnails into ``--out`` → summary. The sqlite journal beside the
outputs is the single source of truth; a second run resumes through the watcher's own
resume (:meth:`~flowapi.JobWatcher.submit` consults the journal), nothing more:

* each prompt is keyed by its content (see :class:`~flowapi.cli._prompts.PromptSpec`):
  reordering, inserting, deleting or changing entries re-pays only for entries whose
  content is new;
* a finished prompt's outcome comes back from the journal without a request (missing
  downloads are fetched again, from a fresh job record when the signed URLs expired);
* a running job is watched again; a submit in doubt (the run died while it was on the
  wire) is looked up by its markers and never resent blindly;
* ``--retry-failed [CATEGORIES]`` resubmits failures of those categories;
  ``--resubmit-in-doubt`` resubmits in-doubt prompts (**may pay twice**).

The run opens with one line saying what it resumes, and reports journal rows that match
no prompt any more (their jobs are not abandoned silently: jobid, state, what to do).
Downloads go to a temp file renamed into place; ``.part`` leftovers of a killed run are
removed. One run at a time per sqlite journal (a lock).

With ``--journal postgresql://…`` (a :class:`~flowapi.journal.PostgresJournal`, DESIGN §11)
several processes — on one host or many — cooperate on one batch: each prompt's key is
claimed by one of them (the others follow it through the journal), each file is downloaded
under its key's lease by one of them, and every process ends with the same summary. A
process that dies is taken over once its leases lapse.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import anyio
from anyio.abc import TaskGroup

from flowapi._credits import estimate_credits
from flowapi._errors import APIConnectionError, CreditBudgetError, FlowError, InvalidParamsError
from flowapi._files import safe_filename
from flowapi._outcomes import JobFailed, JobSucceeded
from flowapi._retry import backoff_delay
from flowapi._session import FlowSession
from flowapi.cli._prompts import PromptSpec
from flowapi.cli._uploads import upload_files
from flowapi.journal import (
    FailureCategory,
    Journal,
    PostgresJournal,
    SharedJournal,
    SqliteJournal,
    Submission,
    SubmissionState,
)
from flowapi.journal._postgres import split_namespace
from flowapi.resources.media import DownloadError
from flowapi.types.accounts import Account
from flowapi.types.jobs import Job
from flowapi.types.videos import VideoParams
from flowapi.watch import JobWatcher, WatchMode

__all__ = ["DEFAULT_RETRY_CATEGORIES", "BatchOptions", "BatchResult", "BatchRunner",
           "Reporter", "plain_error"]

log = logging.getLogger("flowapi")

JOURNAL_NAME = "flowapi-journal.sqlite"
#: Tries per media file (a cut-short, reset or expired download is tried again).
DOWNLOAD_ATTEMPTS = 3
#: Per-job deadline when none is given: generations take minutes (the API's own sync
#: polling gives up after 10); a job still running after 2 h is reported, not waited for.
DEFAULT_JOB_TIMEOUT = 7200.0
#: What ``--retry-failed`` without a list resubmits: failures where no job exists.
DEFAULT_RETRY_CATEGORIES = frozenset({
    FailureCategory.MODERATED, FailureCategory.CAPTCHA, FailureCategory.REJECTED,
    FailureCategory.JOB_FAILED, FailureCategory.ACCOUNT})


@dataclass(slots=True)
class BatchOptions:
    """Options of one batch run (the ``flowapi batch`` flags).

    Attributes:
        out_dir: where media files go.
        journal_path: the journal file, default ``out_dir / "flowapi-journal.sqlite"``.
        max_in_flight: jobs queued or running at once, default 16.
        mode: watcher mode, default ``"listing"``.
        email: account for uploads and prompts without ``email``; default load balancing.
        job_timeout: seconds per job after acceptance; default ``None`` →
            :data:`DEFAULT_JOB_TIMEOUT` (2 h). A job past it is reported with its jobid and
            watched again by the next run (it may still finish), never resubmitted.
        thumbnails: also download thumbnails, default ``True``.
        resubmit_moderated: resubmits of moderated jobs (spends credits), default 0.
        retry_failed: failure categories whose journaled failures are submitted again
            (spends credits); empty (default) reports them again. ``in_doubt`` is refused:
            see ``resubmit_in_doubt``.
        resubmit_in_doubt: submit again prompts whose earlier submit is in doubt and was
            not found by its markers — **a job may exist: this may pay twice**.
        max_credits: a budget in Flow credits for what this run submits: the run refuses to
            start (:class:`~flowapi.CreditBudgetError`, nothing uploaded or sent) when the
            prompts it would submit could cost more, and stops submitting once reached
            (resubmissions count). Prompts finished or running from an earlier run cost
            nothing. Default ``None``.
        journal_url: a ``postgresql://`` URL: the batch's journal is in PostgreSQL and
            shared by every process started on it (``journal_path`` is ignored then).
        namespace: the PostgreSQL journal's namespace (processes cooperate on one batch
            by sharing it); default the URL's ``namespace=`` parameter, else
            ``batch:<absolute out_dir>``.
        lease: the PostgreSQL journal's lease in seconds (default 30): how long a killed
            process's prompts wait before another process takes them over.
    """

    out_dir: Path
    journal_path: Path | None = None
    max_in_flight: int = 16
    mode: WatchMode = "listing"
    email: str | None = None
    job_timeout: float | None = None
    thumbnails: bool = True
    resubmit_moderated: int = 0
    retry_failed: Collection[FailureCategory] = ()
    resubmit_in_doubt: bool = False
    max_credits: float | None = None
    journal_url: str | None = None
    namespace: str | None = None
    lease: float = 30.0

    def make_journal(self) -> Journal:
        """The journal these options name (not opened)."""
        if self.journal_url:
            url, in_url = split_namespace(self.journal_url)
            namespace = self.namespace or in_url or f"batch:{self.out_dir.resolve()}"
            return PostgresJournal(url, namespace=namespace, lease=self.lease)
        return SqliteJournal(self.journal_path or self.out_dir / JOURNAL_NAME)

    @property
    def journal_label(self) -> str:
        """Where the journal is, for messages (never a password)."""
        if self.journal_url:
            journal = self.make_journal()
            assert isinstance(journal, PostgresJournal)
            return f"{journal.url} (namespace {journal.namespace!r})"
        return str(self.journal_path or self.out_dir / JOURNAL_NAME)


@dataclass(slots=True)
class BatchResult:
    """What happened to one prompt.

    Attributes:
        spec: the prompt entry.
        status: ``"succeeded"`` or ``"failed"`` (``"pending"`` until then).
        jobid: the job id, if a job was created.
        files: downloaded files.
        error: the failure message.
        category: the failure category (``moderated``, ``in_doubt``, …), if failed.
        resumed: the result came (partly) from the journal of an earlier run (always
            ``False`` with a shared journal: every process prints the same summary).
        remaining_credits: the account's credits after this job (``remainingCredits`` of
            its record), when the record has them.
    """

    spec: PromptSpec
    status: str = "pending"
    jobid: str | None = None
    files: list[Path] = field(default_factory=list)
    error: str | None = None
    category: str | None = None
    resumed: bool = False
    remaining_credits: float | None = None


class Reporter(Protocol):
    """Receives progress events (the rich display implements it)."""

    def uploaded(self, path: Path, ok: bool) -> None:
        """A local file was uploaded (or failed)."""

    def finished(self, result: BatchResult) -> None:
        """A prompt reached its final state."""

    def notice(self, text: str) -> None:
        """A line for the user (what the run resumes, orphaned journal rows)."""

    def watching(self, watcher: JobWatcher | None) -> None:
        """The watcher started (or stopped: ``None``)."""


class BatchRunner:
    """Runs one batch on an open session.

    Args:
        flow: an open :class:`~flowapi.FlowSession`.
        specs: the parsed prompts file.
        options: see :class:`BatchOptions`.
        reporter: progress sink.
    """

    def __init__(self, flow: FlowSession, specs: list[PromptSpec], options: BatchOptions,
                 reporter: Reporter) -> None:
        self.flow = flow
        self.specs = specs
        self.options = options
        self.reporter = reporter
        self.results: dict[int, BatchResult] = {s.index: BatchResult(spec=s) for s in specs}
        self.journal = options.make_journal()
        #: Another process may work on this batch (a PostgreSQL journal).
        self.shared: SharedJournal | None = (self.journal if isinstance(
            self.journal, SharedJournal) else None)
        self._download_limiter = anyio.CapacityLimiter(4)
        self._credit_account: Account | None = None
        self._rows: dict[str, Submission] | None = None
        self._held_elsewhere: set[str] = set()
        #: Credits the attempts of this run committed (estimated; 0 for resumed prompts).
        self.credits_committed = 0.0

    @property
    def credits_priced_for_account(self) -> bool:
        """Whether :attr:`credits_committed` used the account's own tier and prices (else
        the highest plan price of each request)."""
        return self._credit_account is not None

    async def run(self) -> list[BatchResult]:
        """Run the batch; returns one result per prompt, in file order.

        Raises:
            JournalError: the journal is locked by another run, corrupt or foreign (the
                message says what to do); nothing was submitted.
            AuthenticationError, PaymentRequiredError: fatal; the journal is up to date.
        """
        rows = await self.preflight()
        try:
            await self._run(rows)
        except BaseExceptionGroup as group:
            # A fatal error (401, 402) ends the watcher; the task groups of this runner
            # wrap it. Raise it plain (DESIGN §6) so callers (the CLI: exit code 3) see it.
            fatal = plain_error(group)
            if fatal is None:
                raise
            raise fatal from None
        finally:
            self.flow.transport.lanes.on_change = None
            with anyio.CancelScope(shield=True):
                await self.journal.close()
        return [self.results[s.index] for s in self.specs]

    async def preflight(self) -> dict[str, Submission]:
        """Open the journal, read it and hold the prompts to submit to ``max_credits`` —
        before any upload, request or progress display. Idempotent; :meth:`run` calls it.

        Returns:
            The journal's rows by key.

        Raises:
            JournalError: the journal cannot be used (locked, corrupt, foreign).
            CreditBudgetError: the prompts to submit could cost more than ``max_credits``
                (the journal is closed again; nothing was sent).
        """
        if self._rows is not None:
            return self._rows
        await self.journal.open()
        try:
            rows = {r.key: r for r in await self.journal.rows()}
            if self.shared is not None:  # keys other live processes are working on now
                self._held_elsewhere = {
                    row.key for row, held in await self.shared.peek_held(list(rows)) if held}
            self._adopt_legacy_keys(rows)
            fresh = [s for s in self.specs
                     if s.error is None and self._needs_params(rows.get(s.key))]
            self._credit_account = await self._check_budget(fresh)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self.journal.close()
            raise
        self._rows = rows
        return rows

    def _remove_partial_downloads(self) -> None:
        """Delete ``.part`` temp files a killed run left in the output directory (with a
        shared journal another process may be writing them: each file's leftovers are
        removed under its key's lease instead, see :meth:`_download`)."""
        out = self.options.out_dir
        if not out.is_dir() or self.shared is not None:
            return
        for leftover in out.glob(".*.part"):  # atomic_write_stream: .{name}.{random}.part
            if leftover.is_file() and (".mp4." in leftover.name or ".jpg." in leftover.name):
                try:
                    leftover.unlink()
                except OSError as exc:  # pragma: no cover - best effort
                    log.debug("cannot remove %s: %s", leftover, exc)

    async def _keep_lanes(self, tg: TaskGroup) -> None:
        """Honour the cooldowns an earlier run received (parked lanes are saved in the
        journal as they change), and save this run's."""
        lanes = self.flow.transport.lanes
        saved = await self.journal.get_meta("lanes")
        if saved:
            try:
                restored = lanes.restore(json.loads(saved), self.flow.clock.time())
            except ValueError:
                restored = 0
            if restored:
                log.debug("restored %d parked lanes from the journal", restored)

        def save() -> None:
            snapshot = json.dumps(lanes.snapshot(self.flow.clock.time()))
            tg.start_soon(self.journal.set_meta, "lanes", snapshot)

        lanes.on_change = save

    async def _run(self, rows: dict[str, Submission]) -> None:
        self._remove_partial_downloads()
        runnable = [s for s in self.specs if s.error is None]
        for spec in self.specs:
            if spec.error is not None:
                self._done(spec, "failed", error=spec.error, category="rejected")
        self._announce(runnable, rows)
        fresh = [s for s in runnable if self._needs_params(rows.get(s.key))]
        params = await self._prepare(fresh)
        for spec in runnable:
            row = rows.get(spec.key)
            if spec.key not in params and row is not None and spec.index in self.results \
                    and self.results[spec.index].status == "pending":
                recorded = _params_from_row(row)
                if recorded is not None:
                    params[spec.key] = (spec, recorded)
                else:
                    self._done(spec, "failed", jobid=row.jobid, resumed=True,
                               error="the journal's params of this prompt are unreadable; "
                                     "move the journal away to start over")
        async with anyio.create_task_group() as downloads:
            await self._keep_lanes(downloads)
            if params:
                await self._watch(params, downloads)
            self.flow.transport.lanes.on_change = None

    def _adopt_legacy_keys(self, rows: dict[str, Submission]) -> None:
        """Entries of a migrated flowapi 0.1 journal were keyed ``index:hash``: use those
        keys for the prompts they belong to (never for two prompts)."""
        claimed: set[str] = set()
        for spec in self.specs:
            if spec.error is None and spec.key not in rows and spec.legacy_key in rows \
                    and spec.legacy_key not in claimed:
                spec.key = spec.legacy_key
                claimed.add(spec.legacy_key)

    def _announce(self, runnable: list[PromptSpec], rows: dict[str, Submission]) -> None:
        """One line on what this run resumes, and the rows no prompt matches any more."""
        if rows:
            counts: Counter[str] = Counter()
            for spec in runnable:
                label = ("with another process" if spec.key in self._held_elsewhere
                         else _resume_label(rows.get(spec.key), self.options))
                counts[label] += 1
            order = ("done", "running", "in doubt", "to retry", "with another process", "new")
            parts = [f"{counts[k]} {k}" for k in order if counts.get(k)]
            self.reporter.notice(f"resuming from {self.options.journal_label}: "
                                 + ", ".join(parts))
        keys = {s.key for s in runnable}
        orphans = [r for k, r in rows.items() if k not in keys]
        if orphans:
            self.reporter.notice(
                f"{len(orphans)} journal entr{'y' if len(orphans) == 1 else 'ies'} match no "
                "prompt of this file any more (edited or deleted); their jobs are not watched "
                "by this run:")
            for row in orphans[:50]:
                self.reporter.notice("  " + _orphan_line(row))
            if len(orphans) > 50:
                self.reporter.notice(f"  … and {len(orphans) - 50} more")

    async def _check_budget(self, fresh: list[PromptSpec]) -> Account | None:
        """Refuse to start when the prompts to submit could pass ``max_credits``; returns
        the account whose prices the budget uses (``None``: per tier, the highest)."""
        if self.options.max_credits is None:
            return None
        from flowapi.cli._dry_run import account_for_estimate, over_budget_message, price_prompts

        _, account = await account_for_estimate(self.flow, self.options.email)
        refusal = over_budget_message(price_prompts(fresh, account), self.options.max_credits)
        if refusal is not None:
            raise CreditBudgetError(refusal, max_credits=self.options.max_credits, needed=None)
        return account

    def _needs_params(self, row: Submission | None) -> bool:
        """Whether the prompt will be POSTed (so its files must be uploaded)."""
        if row is None or row.state is SubmissionState.PENDING:
            return True
        if row.state is SubmissionState.FAILED and row.category is not None:
            return row.category in self.options.retry_failed or (
                row.category is FailureCategory.IN_DOUBT and self.options.resubmit_in_doubt)
        return False

    async def _prepare(self, specs: list[PromptSpec]
                       ) -> dict[str, tuple[PromptSpec, VideoParams]]:
        """Upload local files once each and build validated params.

        Every upload of the batch goes to one account: ``--email``, or the account the
        first upload was load-balanced to. A prompt's references must all live on one
        account (mixing accounts is a 400), and with several accounts the server could
        otherwise put a start and an end frame on different ones.
        """
        uploads = await upload_files(self.flow, sorted({p for s in specs
                                                        for p in s.files.values()}),
                                     email=self.options.email, on_upload=self.reporter.uploaded)
        ids, errors = uploads.ids, uploads.errors
        out: dict[str, tuple[PromptSpec, VideoParams]] = {}
        for spec in specs:
            failed = [errors[p] for p in spec.files.values() if p in errors]
            if failed:
                self._done(spec, "failed", error="; ".join(failed), category="rejected")
                continue
            wire = dict(spec.raw or {})
            for name, path in spec.files.items():
                wire[name] = ids[path]
            if self.options.email and "email" not in wire:
                wire["email"] = self.options.email
            try:
                params = VideoParams.from_wire(wire)
                if self.flow.validate:
                    from flowapi._capabilities import validate

                    validate(params)
            except (ValueError, InvalidParamsError) as exc:
                self._done(spec, "failed", error=f"entry #{spec.index}: {exc}",
                           category="rejected")
                continue
            out[spec.key] = (spec, params)
        return out

    async def _watch(self, params: dict[str, tuple[PromptSpec, VideoParams]],
                     downloads: TaskGroup) -> None:
        opts = self.options
        by_key = {key: spec for key, (spec, _) in params.items()}
        async with self.flow.watch(max_in_flight=opts.max_in_flight, mode=opts.mode,
                                   job_timeout=(DEFAULT_JOB_TIMEOUT if opts.job_timeout is None
                                                else opts.job_timeout),
                                   journal=self.journal,
                                   resubmit_moderated=opts.resubmit_moderated,
                                   retry_failed=opts.retry_failed,
                                   resubmit_in_doubt=opts.resubmit_in_doubt,
                                   max_credits=opts.max_credits,
                                   credit_account=self._credit_account) as watcher:
            self.reporter.watching(watcher)

            async def feed() -> None:
                for key, (spec, p) in params.items():
                    await watcher.submit(p, key=key, tag=spec.index)
                watcher.close()

            async with anyio.create_task_group() as tg:
                tg.start_soon(feed)
                async for outcome in watcher:
                    spec = by_key[outcome.key]
                    if isinstance(outcome, JobSucceeded):
                        downloads.start_soon(self._download, spec, outcome.job,
                                             outcome.resumed)
                    else:
                        assert isinstance(outcome, JobFailed)
                        self._done(spec, "failed", jobid=outcome.jobid,
                                   error=str(outcome.error), resumed=outcome.resumed,
                                   category=outcome.category.value if outcome.category
                                   else None)
            self.credits_committed = watcher.budget.committed
            self.reporter.watching(None)
        if self.shared is not None:
            self.credits_committed = await self._batch_credits()

    async def _batch_credits(self) -> float:
        """Credits committed by every attempt of this batch's prompts, whichever process
        (or earlier run) sent it — the same figure in every cooperating process."""
        keys = {s.key for s in self.specs}
        total = 0.0
        for row in await self.journal.rows():
            params = _params_from_row(row) if row.key in keys and row.attempts else None
            if params is not None:
                price = estimate_credits(params, account=self._credit_account).most
                total += (price or 0.0) * row.attempts
        return total

    def _expected_files(self, spec: PromptSpec, jobid: str, count: int) -> dict[str, Path]:
        """name → path of the files of a job with ``count`` media items."""
        stem = safe_filename(f"{spec.index:03d}-{_job_tag(jobid)}")
        files = {}
        for i in range(1, count + 1):
            files[f"video-{i}"] = self.options.out_dir / f"{stem}-{i}.mp4"
            if self.options.thumbnails:
                files[f"thumbnail-{i}"] = self.options.out_dir / f"{stem}-{i}.jpg"
        return files

    async def _download(self, spec: PromptSpec, job: Job, resumed: bool) -> None:
        media = job.media
        if not media:
            self._done(spec, "failed", jobid=job.jobid, resumed=resumed,
                       error="the job completed but returned no media", category="job_failed")
            return
        if self.shared is None:
            await self._download_files(spec, job, resumed)
            return
        await self._hold(self.shared, spec.key)  # one process downloads each file
        try:
            await self._download_files(spec, job, resumed)
        finally:
            with anyio.CancelScope(shield=True):
                await self.shared.release([spec.key])

    async def _hold(self, shared: SharedJournal, key: str) -> None:
        """Wait for ``key``'s lease (another process may be downloading its files)."""
        attempt = 0
        while await shared.claim(key) is None:
            attempt += 1
            await self.flow.clock.sleep(backoff_delay(attempt, base=0.5,
                                                      cap=shared.lease / 3))

    async def _download_files(self, spec: PromptSpec, job: Job, resumed: bool) -> None:
        media = job.media
        have = await self.journal.downloads(spec.key)
        files: list[Path] = []
        errors: list[str] = []
        targets = self._expected_files(spec, job.jobid, len(media))
        current = [job]
        for i, item in enumerate(media, start=1):
            wanted = [(f"video-{i}", False)]
            if self.options.thumbnails and item.thumbnail_url:
                wanted.append((f"thumbnail-{i}", True))
            for name, thumb in wanted:
                path = targets[name]
                done = have.get(name)
                if done is not None and await self._keep_recorded(spec, name, done, path):
                    files.append(path)
                    continue
                _remove_partials_of(path)  # a killed run's leftovers of this very file
                error = await self._fetch(spec, current, i - 1, thumb, path, name)
                if error is not None and thumb:
                    # no route re-signs a thumbnail (GET assets/{id} re-signs the media):
                    # an expired one is skipped, it does not fail the prompt
                    self.reporter.notice(f"#{spec.index}: thumbnail {i} skipped ({error})")
                    continue
                if error is not None:
                    errors.append(f"{name}: {error}")
                    continue
                files.append(path)
        if errors:
            self._done(spec, "failed", jobid=job.jobid, files=files, resumed=resumed,
                       error="download failed: " + "; ".join(errors) + " (run the same command "
                       "again to retry the downloads; the job is not submitted again)",
                       category="download")
        else:
            self._done(spec, "succeeded", jobid=job.jobid, files=files, resumed=resumed,
                       remaining_credits=job.remaining_credits)

    async def _keep_recorded(self, spec: PromptSpec, name: str, done: tuple[str, int],
                             path: Path) -> bool:
        """Whether the file a run recorded for ``name`` is whole and now at ``path``: a
        file named after the prompt's old position (the prompts file was reordered) is
        renamed, not downloaded again."""
        recorded = Path(done[0])
        try:
            if not recorded.is_file() or recorded.stat().st_size != done[1]:
                return False
            if recorded != path:
                if path.exists():
                    return False
                recorded.replace(path)
                await self.journal.record_download(spec.key, name, str(path), done[1])
        except OSError as exc:
            log.debug("cannot reuse %s: %s", recorded, exc)
            return False
        return True

    async def _fetch(self, spec: PromptSpec, current: list[Job], index: int, thumb: bool,
                     path: Path, name: str) -> str | None:
        """Download one file with retries; record it; return the error text or ``None``.

        ``current[0]`` is the job record whose URLs are used; it is replaced by a fresh one
        when a signed URL answers 4xx (expired) — also for records an earlier run journaled.
        """
        last = ""
        for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
            job = current[0]
            if index >= len(job.media):
                return f"the job record no longer lists media #{index + 1}"
            try:
                async with self._download_limiter:
                    await self.flow.media.download(job.media[index], path, thumbnail=thumb)
                await self.journal.record_download(spec.key, name, str(path),
                                                   path.stat().st_size)
                return None
            except DownloadError as exc:
                last = str(exc)
                if not exc.retryable:
                    return last
                if exc.status is not None and 400 <= exc.status < 500:
                    try:  # expired signed URL: the job record has fresh ones
                        current[0] = await self.flow.jobs.get(job.jobid)
                    except FlowError as get_exc:
                        return f"{last}; re-reading the job failed: {get_exc}"
            except APIConnectionError as exc:
                last = str(exc)
            except (FlowError, OSError) as exc:
                return f"{type(exc).__name__}: {exc}"
            if attempt < DOWNLOAD_ATTEMPTS:
                log.debug("download %s of %s failed (%s); retrying", name, job.jobid, last)
                await self.flow.clock.sleep(backoff_delay(attempt, base=2.0))
        return last

    def _done(self, spec: PromptSpec, status: str, *, jobid: str | None = None,
              error: str | None = None, files: list[Path] | None = None,
              resumed: bool = False, category: str | None = None,
              remaining_credits: float | None = None) -> None:
        result = self.results[spec.index]
        resumed = resumed and self.shared is None
        result.remaining_credits = remaining_credits
        result.status = status
        result.jobid = jobid or result.jobid
        result.error = error
        result.category = category if status == "failed" else None
        result.files = files or []
        result.resumed = resumed
        self.reporter.finished(result)


def parse_categories(text: str | None) -> frozenset[FailureCategory]:
    """``--retry-failed`` value → categories (``None``/empty → the default set).

    Raises:
        ValueError: an unknown name, or ``in_doubt`` (which has its own flag).
    """
    if not text:
        return DEFAULT_RETRY_CATEGORIES
    out: set[FailureCategory] = set()
    for name in (p.strip() for p in text.split(",") if p.strip()):
        if name == "all":
            out |= DEFAULT_RETRY_CATEGORIES
            continue
        try:
            category = FailureCategory(name.replace("-", "_"))
        except ValueError:
            names = ", ".join(sorted(c.value for c in DEFAULT_RETRY_CATEGORIES))
            raise ValueError(f"--retry-failed: unknown category {name!r}; use a comma list of "
                             f"{names} (or all)") from None
        if category.may_have_paid:
            raise ValueError(f"--retry-failed cannot take {name!r}: a job may exist for it and "
                             "resubmitting may pay twice. In-doubt prompts are looked up again "
                             "on every run; --resubmit-in-doubt submits them anyway")
        out.add(category)
    return frozenset(out)


def plain_error(group: BaseExceptionGroup[BaseException]) -> FlowError | None:
    """The one FlowError inside ``group`` when everything else in it is cancellation."""
    errors: list[FlowError] = []
    cancelled = anyio.get_cancelled_exc_class()

    def walk(exc: BaseException) -> bool:
        if isinstance(exc, BaseExceptionGroup):
            return all(walk(e) for e in exc.exceptions)
        if isinstance(exc, FlowError):
            errors.append(exc)
            return True
        return isinstance(exc, cancelled)

    if walk(group) and errors:
        return errors[0]
    return None


def _resume_label(row: Submission | None, options: BatchOptions) -> str:
    if row is None or row.state is SubmissionState.PENDING:
        return "new"
    if row.state is SubmissionState.ACCEPTED:
        return "running"
    if row.state.in_doubt:
        return "in doubt"
    if row.state is SubmissionState.FAILED and row.category is not None:
        if row.category in options.retry_failed or (
                row.category is FailureCategory.IN_DOUBT and options.resubmit_in_doubt):
            return "to retry"
        if row.category is FailureCategory.IN_DOUBT:
            return "in doubt"
        if row.category.may_have_paid and row.jobid:
            return "running"
    return "done"


def _orphan_line(row: Submission) -> str:
    prompt = ""
    with contextlib.suppress(ValueError, AttributeError):
        prompt = str(json.loads(row.params).get("prompt", ""))[:40]
    state = row.state.value + (f" ({row.category.value})" if row.category else "")
    if row.jobid:
        advice = f"job {row.jobid}: `flowapi jobs get {row.jobid}` shows it"
        if row.state is SubmissionState.ACCEPTED:
            advice += "; restore the entry to watch and download it here"
    elif row.state.in_doubt or row.category is FailureCategory.IN_DOUBT:
        advice = (f"in doubt (may have been created and paid), marker {row.marker}: restore "
                  "the entry to look it up again")
    else:
        advice = "no job was created"
    return f"{state}: {prompt!r} — {advice}"


def _params_from_row(row: Submission) -> VideoParams | None:
    try:
        return VideoParams.from_wire(json.loads(row.params))
    except ValueError:
        return None


def _remove_partials_of(path: Path) -> None:
    """Delete the ``.part`` temp files of ``path`` (``.{name}.{random}.part``) that a killed
    run left: the caller holds the file's key, so nobody else is writing them."""
    with contextlib.suppress(OSError):
        for leftover in path.parent.glob(f".{path.name}.*.part"):
            with contextlib.suppress(OSError):
                leftover.unlink()


def _job_tag(jobid: str) -> str:
    """The unique head of a job id (``j1121080922819316089v``), without the account email
    the rest of the id carries — file names should not leak it."""
    head = jobid.split("-", 1)[0]
    return head if len(head) > 8 else jobid
