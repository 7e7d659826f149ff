"""``flowapi batch``: the main job (DESIGN §9).

prompts.json → upload local frames once each → submit through a :class:`~flowapi.JobWatcher`
→ download videos and thumbnails into ``--out`` → summary. A journal beside the outputs makes
a second run resume: finished downloads are skipped, running jobs are watched again, nothing
is submitted twice.

Resume, per journal state of a prompt (after a crash or ``kill -9`` at any moment):

* none / ``queued`` — never sent (or certainly refused): submitted;
* ``submitting`` — the request may have reached the server: looked up by its ``replyRef``
  marker and adopted if the server has it, else reported as
  :class:`~flowapi.AmbiguousSubmitError` — never sent again (``--retry-failed`` forces it);
* ``accepted`` — the job exists: watched again (adopted by its id);
* ``succeeded`` — downloads that are recorded and still on disk are skipped, the rest are
  fetched again (from the job's fresh record);
* ``failed`` — reported again (``--retry-failed`` submits it anew).

Downloads go to a temp file renamed into place, so a killed run never leaves a partial file
under a final name (its ``.part`` leftovers are removed by the next run); a download that is
cut short, reset or whose signed URL expired is retried (the job is read again for fresh
URLs) before the prompt is reported failed. One run at a time per journal (a lock).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import anyio
from anyio.abc import TaskGroup

from flowapi._errors import AmbiguousSubmitError, APIConnectionError, FlowError, InvalidParamsError
from flowapi._files import safe_filename
from flowapi._journal import Journal, JournalEntry
from flowapi._outcomes import JobFailed, JobSucceeded
from flowapi._session import FlowSession
from flowapi._watcher import JobWatcher, WatchMode
from flowapi.cli._prompts import PromptSpec
from flowapi.resources.media import DownloadError
from flowapi.types.jobs import Job
from flowapi.types.videos import VideoParams

__all__ = ["BatchOptions", "BatchResult", "BatchRunner", "Reporter", "plain_error"]

log = logging.getLogger("flowapi")

JOURNAL_NAME = "flowapi-journal.sqlite"
#: Tries per media file (a cut-short, reset or expired download is tried again).
DOWNLOAD_ATTEMPTS = 3
#: Per-job deadline when none is given: generations take minutes (the API's own sync
#: polling gives up after 10); a job still running after 2 h is reported, not waited for.
DEFAULT_JOB_TIMEOUT = 7200.0


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
            :data:`DEFAULT_JOB_TIMEOUT` (2 h), so a stalled server cannot keep a batch
            running forever. A job past it is reported with its jobid and watched again by
            the next run (it may still finish), never resubmitted.
        thumbnails: also download thumbnails, default ``True``.
        resubmit_moderated: resubmits of moderated jobs (spends credits), default 0.
        retry_failed: submit again prompts the journal recorded as failed.
    """

    out_dir: Path
    journal_path: Path | None = None
    max_in_flight: int = 16
    mode: WatchMode = "listing"
    email: str | None = None
    job_timeout: float | None = None
    thumbnails: bool = True
    resubmit_moderated: int = 0
    retry_failed: bool = False


@dataclass(slots=True)
class BatchResult:
    """What happened to one prompt.

    Attributes:
        spec: the prompt entry.
        status: ``"succeeded"`` or ``"failed"``.
        jobid: the job id, if a job was created.
        files: downloaded files.
        error: the failure message.
        resumed: the result came (partly) from the journal of an earlier run.
    """

    spec: PromptSpec
    status: str = "pending"
    jobid: str | None = None
    files: list[Path] = field(default_factory=list)
    error: str | None = None
    resumed: bool = False


class Reporter(Protocol):
    """Receives progress events (the rich display implements it)."""

    def uploaded(self, path: Path, ok: bool) -> None:
        """A local file was uploaded (or failed)."""

    def finished(self, result: BatchResult) -> None:
        """A prompt reached its final state."""

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
        self.results: dict[str, BatchResult] = {s.key: BatchResult(spec=s) for s in specs}
        self.journal = Journal(options.journal_path or options.out_dir / JOURNAL_NAME)
        self._download_limiter = anyio.CapacityLimiter(4)

    async def run(self) -> list[BatchResult]:
        """Run the batch; returns one result per prompt, in file order."""
        try:
            await self._run()
        except BaseExceptionGroup as group:
            # A fatal error (401, 402) ends the watcher; the task groups of this runner
            # wrap it. Raise it plain (DESIGN §6) so callers (the CLI: exit code 3) see it.
            fatal = plain_error(group)
            if fatal is None:
                raise
            raise fatal from None
        finally:
            self.flow.transport.lanes.on_change = None
            self.journal.close()
        return [self.results[s.key] for s in self.specs]

    def _remove_partial_downloads(self) -> None:
        """Delete ``.part`` temp files a killed run left in the output directory."""
        out = self.options.out_dir
        if not out.is_dir():
            return
        for leftover in out.glob(".*.part"):  # atomic_write_stream: .{name}.{random}.part
            if leftover.is_file() and (".mp4." in leftover.name or ".jpg." in leftover.name):
                try:
                    leftover.unlink()
                except OSError as exc:  # pragma: no cover - best effort
                    log.debug("cannot remove %s: %s", leftover, exc)

    def _keep_lanes(self) -> None:
        """Honour the cooldowns an earlier run received (parked lanes are saved in the
        journal as they change), and save this run's."""
        lanes = self.flow.transport.lanes
        saved = self.journal.get_meta("lanes")
        if saved:
            try:
                restored = lanes.restore(json.loads(saved), self.flow.clock.time())
            except ValueError:
                restored = 0
            if restored:
                log.debug("restored %d parked lanes from the journal", restored)

        def save() -> None:
            self.journal.set_meta("lanes", json.dumps(lanes.snapshot(self.flow.clock.time())))

        lanes.on_change = save

    async def _run(self) -> None:
        self._remove_partial_downloads()
        self._keep_lanes()
        journaled = {e.key: e for e in self.journal.entries()}
        to_submit: list[PromptSpec] = []
        to_adopt: list[tuple[PromptSpec, JournalEntry]] = []
        to_reconcile: list[tuple[PromptSpec, JournalEntry]] = []
        to_fetch: list[tuple[PromptSpec, JournalEntry]] = []
        for spec in self.specs:
            entry = journaled.get(spec.key)
            if spec.error is not None:
                self._done(spec, "failed", error=spec.error)
            elif entry is None or entry.state == "queued":
                to_submit.append(spec)
            elif entry.state == "succeeded":
                to_fetch.append((spec, entry))
            elif (entry.state == "accepted" and entry.jobid) or _timed_out(entry):
                to_adopt.append((spec, entry))  # the job exists: watch it (again)
            elif entry.state == "failed" and self.options.retry_failed:
                self.journal.forget(spec.key)
                to_submit.append(spec)
            elif entry.state == "failed":
                self._done(spec, "failed", jobid=entry.jobid, resumed=True,
                           error=f"{entry.error} (recorded by an earlier run; pass "
                                 "--retry-failed to submit it again)")
            elif entry.state == "submitting" and entry.reply_ref:
                to_reconcile.append((spec, entry))
            else:
                self._done(spec, "failed", resumed=True, error=str(AmbiguousSubmitError(
                    "an earlier run was interrupted while submitting this prompt without a "
                    "replyRef marker to find it by: it may or may not have been created, so "
                    "it is not resubmitted (that could spend credits twice). Check `flowapi "
                    "jobs stats --options history`; pass --retry-failed to submit it anyway.")))
        params = await self._prepare(to_submit)
        async with anyio.create_task_group() as downloads:
            for spec, entry in to_fetch:
                downloads.start_soon(self._refetch, spec, entry)
            if params or to_adopt or to_reconcile:
                await self._watch(params, to_adopt, to_reconcile, downloads)

    async def _prepare(self, specs: list[PromptSpec]) -> dict[str, tuple[PromptSpec, VideoParams]]:
        """Upload local files once each and build validated params.

        Every upload of the batch goes to one account: ``--email``, or the account the
        first upload was load-balanced to. A prompt's references must all live on one
        account (mixing accounts is a 400), and with several accounts the server could
        otherwise put a start and an end frame on different ones.
        """
        paths = sorted({p for s in specs for p in s.files.values()})
        ids: dict[Path, str] = {}
        errors: dict[Path, str] = {}
        limiter = anyio.CapacityLimiter(4)
        email = self.options.email

        async def upload(path: Path) -> None:
            nonlocal email
            async with limiter:
                try:
                    result = await self.flow.assets.upload(path, email=email)
                except FlowError as exc:
                    errors[path] = f"upload of {path.name} failed: {exc}"
                    self.reporter.uploaded(path, False)
                    return
                ids[path] = result.media_generation_id
                email = email or result.email or None
                self.reporter.uploaded(path, True)

        pending = list(paths)
        while pending and email is None:  # the first success picks the account
            await upload(pending.pop(0))
        async with anyio.create_task_group() as tg:
            for path in pending:
                tg.start_soon(upload, path)
        out: dict[str, tuple[PromptSpec, VideoParams]] = {}
        for spec in specs:
            failed = [errors[p] for p in spec.files.values() if p in errors]
            if failed:
                self._done(spec, "failed", error="; ".join(failed))
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
                self._done(spec, "failed", error=f"entry #{spec.index}: {exc}")
                continue
            out[spec.key] = (spec, params)
        return out

    async def _watch(self, params: dict[str, tuple[PromptSpec, VideoParams]],
                     adopt: list[tuple[PromptSpec, JournalEntry]],
                     reconcile: list[tuple[PromptSpec, JournalEntry]],
                     downloads: TaskGroup) -> None:
        opts = self.options
        by_key = {s.key: s for s in self.specs}
        async with self.flow.watch(max_in_flight=opts.max_in_flight, mode=opts.mode,
                                   job_timeout=(DEFAULT_JOB_TIMEOUT if opts.job_timeout is None
                                                else opts.job_timeout),
                                   journal=self.journal,
                                   resubmit_moderated=opts.resubmit_moderated) as watcher:
            self.reporter.watching(watcher)

            async def feed() -> None:
                for spec, entry in adopt:
                    assert entry.jobid is not None
                    await watcher.adopt(entry.jobid, key=spec.key, tag=spec.index,
                                        params=_params_from_journal(entry))
                for spec, entry in reconcile:
                    assert entry.reply_ref is not None
                    await watcher.reconcile(key=spec.key, reply_ref=entry.reply_ref,
                                            params=_params_from_journal(entry), tag=spec.index,
                                            submitted_wall=entry.updated)
                for key, (spec, p) in params.items():
                    await watcher.submit(p, key=key, tag=spec.index)
                watcher.close()

            async with anyio.create_task_group() as tg:
                tg.start_soon(feed)
                async for outcome in watcher:
                    spec = by_key[outcome.key]
                    if isinstance(outcome, JobSucceeded):
                        downloads.start_soon(self._download, spec, outcome.job, False)
                    else:
                        assert isinstance(outcome, JobFailed)
                        self._done(spec, "failed", jobid=outcome.jobid, error=str(outcome.error))
            self.reporter.watching(None)

    async def _refetch(self, spec: PromptSpec, entry: JournalEntry) -> None:
        """A job finished in an earlier run: download what is missing."""
        assert entry.jobid is not None
        have = self.journal.downloads(spec.key)
        expected = self._expected_files(spec, entry.jobid, None)
        if expected and all(n in have and Path(have[n][0]).is_file()
                            and Path(have[n][0]).stat().st_size == have[n][1] for n in expected):
            self._done(spec, "succeeded", jobid=entry.jobid, resumed=True,
                       files=[Path(have[n][0]) for n in expected])
            return
        try:
            job = await self.flow.jobs.get(entry.jobid)
        except FlowError as exc:
            self._done(spec, "failed", jobid=entry.jobid, resumed=True,
                       error=f"cannot re-read finished job for its media: {exc} (run the "
                             "same command again to retry)")
            return
        await self._download(spec, job, True)

    def _expected_files(self, spec: PromptSpec, jobid: str, job: Job | None) -> dict[str, Path]:
        """name → path of the files this job should produce (``{}`` if unknown)."""
        if job is None:
            count = (spec.raw or {}).get("count", 1)
            n = count if isinstance(count, int) and 1 <= count <= 4 else 1
        else:
            n = len(job.media)
        stem = safe_filename(f"{spec.index:03d}-{_job_tag(jobid)}")
        files = {}
        for i in range(1, n + 1):
            files[f"video-{i}"] = self.options.out_dir / f"{stem}-{i}.mp4"
            if self.options.thumbnails:
                files[f"thumbnail-{i}"] = self.options.out_dir / f"{stem}-{i}.jpg"
        return files

    async def _download(self, spec: PromptSpec, job: Job, resumed: bool) -> None:
        media = job.media
        if not media:
            self._done(spec, "failed", jobid=job.jobid, resumed=resumed,
                       error="the job completed but returned no media")
            return
        have = self.journal.downloads(spec.key)
        files: list[Path] = []
        errors: list[str] = []
        targets = self._expected_files(spec, job.jobid, job)
        current = [job]
        for i, item in enumerate(media, start=1):
            jobs_for_item = [(f"video-{i}", False)]
            if self.options.thumbnails and item.thumbnail_url:
                jobs_for_item.append((f"thumbnail-{i}", True))
            for name, thumb in jobs_for_item:
                path = targets[name]
                done = have.get(name)
                if done and path.is_file() and path.stat().st_size == done[1]:
                    files.append(path)
                    continue
                error = await self._fetch(spec, current, i - 1, thumb, path, name)
                if error is not None:
                    errors.append(f"{name}: {error}")
                    continue
                files.append(path)
        if errors:
            self._done(spec, "failed", jobid=job.jobid, files=files, resumed=resumed,
                       error="download failed: " + "; ".join(errors) + " (run the same command "
                       "again to retry the downloads)")
        else:
            self._done(spec, "succeeded", jobid=job.jobid, files=files, resumed=resumed)

    async def _fetch(self, spec: PromptSpec, current: list[Job], index: int, thumb: bool,
                     path: Path, name: str) -> str | None:
        """Download one file with retries; record it; return the error text or ``None``.

        ``current[0]`` is the job record whose URLs are used; it is replaced by a fresh one
        when a signed URL answers 4xx (expired).
        """
        last = ""
        for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
            job = current[0]
            if index >= len(job.media):
                return f"the job record no longer lists media #{index + 1}"
            try:
                async with self._download_limiter:
                    await self.flow.media.download(job.media[index], path, thumbnail=thumb)
                self.journal.record_download(spec.key, name, path, path.stat().st_size)
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
                await self.flow.clock.sleep(2.0 ** attempt)
        return last

    def _done(self, spec: PromptSpec, status: str, *, jobid: str | None = None,
              error: str | None = None, files: list[Path] | None = None,
              resumed: bool = False) -> None:
        result = self.results[spec.key]
        result.status = status
        result.jobid = jobid or result.jobid
        result.error = error
        result.files = files or []
        result.resumed = resumed
        self.reporter.finished(result)


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


def _timed_out(entry: JournalEntry) -> bool:
    """A job that passed its deadline in an earlier run: it may have finished since."""
    return (entry.state == "failed" and bool(entry.jobid)
            and (entry.error or "").startswith("JobTimeoutError"))


def _params_from_journal(entry: JournalEntry) -> Any:
    try:
        return VideoParams.from_wire(entry.params)
    except ValueError:
        return None


def _job_tag(jobid: str) -> str:
    """The unique head of a job id (``j1121080922819316089v``), without the account email
    the rest of the id carries — file names should not leak it."""
    head = jobid.split("-", 1)[0]
    return head if len(head) > 8 else jobid
