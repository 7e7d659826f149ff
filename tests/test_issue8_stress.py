"""Stress: callbacks, listing ticks, moderated resubmissions and an early exit, interleaved
(issue 8, "What must exist" §7).

Over several seeds, one ``flow.watch`` block (listing or poll mode, ``resubmit_moderated``,
a fake with a ``moderation`` fault) is fed submissions while a second task delivers
``watcher.notify`` callbacks built from the fake's own job records — fresh ones, bare job
ids, duplicates and stale records of earlier (moderated) attempts whose resubmission may
be in flight — and the block is left at a seeded pseudo-random point (``break``, an
exception, a cancellation, or not at all). Then a second block on the same journal runs
every key to the end. Checked:

* exactly one outcome per key was yielded before the exit, and again in the resumed run
  (the same one for keys finished before);
* no exception escaped but the expected ones (the test's own, or the cancellation);
* the journal is consistent: a jobid belongs to one row; accepted/finished rows name jobs
  that exist; every job the fake created carries a marker of exactly one row;
* nothing was paid twice: a key has at most ``1 + resubmit_moderated`` jobs, all but its
  last ended moderated, and its row names its last job.

Each seed runs on a :class:`~flowapi.MemoryJournal` and on a :class:`~flowapi.SqliteJournal`
(whose off-loop writes opened a race, fixed since). With ``reset_after_create`` faults
added (submits in doubt, reconciled while callbacks arrive) the stress found more bugs,
fixed since; their deterministic reproductions follow the stress test.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest

import flowapi
from flowapi import FlowSession, JobFailed, JobSucceeded, Outcome, VideoParams
from flowapi.testing import FakeFlowServer, FakeJob

pytestmark = pytest.mark.anyio

TIME_SCALE = 0.001
KEYS = 20
RESUBMITS = 2
HANG = 60.0  # real seconds: a bound against hangs, never reached when all is well
EXITS = ("end", "break", "raise", "cancel")


class Leave(Exception):
    """The caller's own exception, raised inside the watch block."""


@asynccontextmanager
async def stack(seed: int) -> AsyncIterator[tuple[FakeFlowServer, FlowSession]]:
    async with FakeFlowServer(time_scale=TIME_SCALE, seed=seed,
                              faults=f"seed={seed}, moderation:0.3@POST videos") as fake, \
            FlowSession(fake.token, base_url=fake.base_url, clock=fake.clock,
                        retry=flowapi.RetryPolicy(attempts=4, max_inline_wait=30.0),
                        retry_budget=flowapi.RetryBudget(capacity=10_000)) as flow:
        yield fake, flow


def params(seed: int, i: int) -> VideoParams:
    return VideoParams(prompt=f"stress {seed} scene {i}")


def marker_of(job: FakeJob) -> str:
    return (job.reply_ref or "").split(";", 1)[0]


async def one_block(fake: FakeFlowServer, flow: FlowSession, journal: flowapi.Journal,
                    rng: random.Random, seed: int, outcomes: list[Outcome], *, mode: str,
                    max_in_flight: int, exit_style: str, exit_after: int) -> None:
    """One watch block with interleaved submits and callbacks, left per ``exit_style``
    after ``exit_after`` outcomes; appends the outcomes yielded to ``outcomes``."""
    stale: list[flowapi.Job] = []

    async def feed(watcher: flowapi.JobWatcher) -> None:
        for i in range(KEYS):
            await watcher.submit(params(seed, i), key=f"k{i}", tag=i)
        watcher.close()

    async def callbacks(watcher: flowapi.JobWatcher) -> None:
        while True:
            await fake.clock.sleep(rng.uniform(0.5, 6.0))
            jobs = list(fake.jobs.values())
            if not jobs:
                continue
            pick = rng.choice(jobs)
            roll = rng.random()
            if roll < 0.45:  # the fake's own record, as a callback would carry it
                job = await flow.jobs.get(pick.jobid)
                stale.append(job)
                watcher.notify(job)
                if rng.random() < 0.3:
                    watcher.notify(job)  # a duplicate delivery
            elif roll < 0.65:
                watcher.notify(pick.jobid)  # an id-only hint
            elif stale:
                watcher.notify(rng.choice(stale))  # old: maybe an earlier attempt's

    outer = anyio.CancelScope()
    with outer:
        async with flow.watch(mode=mode,  # type: ignore[arg-type]
                              max_in_flight=max_in_flight, journal=journal,
                              resubmit_moderated=RESUBMITS) as watcher:
            async with anyio.create_task_group() as tg:
                tg.start_soon(feed, watcher)
                tg.start_soon(callbacks, watcher)
                async for outcome in watcher:
                    outcomes.append(outcome)
                    if exit_style != "end" and len(outcomes) >= exit_after:
                        if exit_style == "cancel":
                            outer.cancel()  # like Ctrl-C or a timeout around the block
                            await anyio.sleep(0)
                        break
                tg.cancel_scope.cancel()
            if exit_style == "raise":
                raise Leave


def check_once(outcomes: list[Outcome], keys: set[str] | None = None) -> dict[str, Outcome]:
    counts = Counter(o.key for o in outcomes)
    assert set(counts.values()) <= {1}, counts
    if keys is not None:
        assert set(counts) == keys, sorted(set(counts) ^ keys)
    return {o.key: o for o in outcomes}


async def check_journal(fake: FakeFlowServer, journal: flowapi.Journal) -> None:
    rows = await journal.rows()
    by_jobid = Counter(r.jobid for r in rows if r.jobid)
    assert set(by_jobid.values()) <= {1}, by_jobid  # a jobid belongs to one key
    for row in rows:
        if row.state in (flowapi.SubmissionState.ACCEPTED, flowapi.SubmissionState.SUCCEEDED):
            assert row.jobid in fake.jobs, row
        if row.state is flowapi.SubmissionState.SUCCEEDED:
            assert row.jobid is not None and fake.jobs[row.jobid].outcome == "completed"
    owners: dict[str, str] = {}
    for row in rows:
        for marker in row.markers:
            assert marker not in owners, (marker, owners[marker], row.key)
            owners[marker] = row.key
    for jobid, job in fake.jobs.items():
        assert marker_of(job) in owners, f"job {jobid} carries no row's marker"


@pytest.mark.parametrize("journal_kind", ["memory", "sqlite"])
@pytest.mark.parametrize("seed", range(8))
async def test_callbacks_ticks_resubmits_and_early_exit(seed: int, journal_kind: str,
                                                        tmp_path: Path) -> None:
    rng = random.Random(seed)
    mode = "poll" if seed % 4 == 3 else "listing"
    exit_style = EXITS[seed % len(EXITS)]
    exit_after = rng.randint(1, KEYS - 1)
    max_in_flight = rng.choice([3, 6, 12, KEYS])
    journal: flowapi.Journal = (flowapi.SqliteJournal(tmp_path / "j.sqlite")
                                if journal_kind == "sqlite" else flowapi.MemoryJournal())
    all_keys = {f"k{i}" for i in range(KEYS)}
    async with stack(seed) as (fake, flow):
        first: list[Outcome] = []
        second: list[Outcome] = []
        try:
            with anyio.fail_after(HANG):
                try:
                    await one_block(fake, flow, journal, rng, seed, first, mode=mode,
                                    max_in_flight=max_in_flight, exit_style=exit_style,
                                    exit_after=exit_after)
                except Leave:  # the caller's exception comes out as it is
                    assert exit_style == "raise"
                else:
                    assert exit_style != "raise"
            # outcomes yielded before the exit: exactly once each
            before = check_once(first, all_keys if exit_style == "end" else None)
            if exit_style != "end":
                assert len(before) == exit_after
            await check_journal(fake, journal)
            # the resumed run: every key to the end, on the same journal
            with anyio.fail_after(HANG):
                await one_block(fake, flow, journal, rng, seed, second, mode=mode,
                                max_in_flight=max_in_flight, exit_style="end",
                                exit_after=KEYS)
            after = check_once(second, all_keys)
            await check_journal(fake, journal)
        finally:
            await journal.close()
        for key, earlier in before.items():  # a finished key comes back as it was
            again = after[key]
            assert type(again) is type(earlier) and again.jobid == earlier.jobid, key
            assert again.resumed
        # nothing paid twice: all but a key's last job ended moderated
        per_key: dict[str, list[FakeJob]] = defaultdict(list)
        prompts = {params(seed, i).prompt: f"k{i}" for i in range(KEYS)}
        for job in fake.jobs.values():
            per_key[prompts[job.request["prompt"]]].append(job)
        for key, jobs in per_key.items():
            jobs.sort(key=lambda j: j.created_at)
            assert len(jobs) <= 1 + RESUBMITS, (key, [j.jobid for j in jobs])
            assert all(j.failure_reason == "PUBLIC_ERROR_UNSAFE_GENERATION"
                       for j in jobs[:-1]), (key, [j.failure_reason for j in jobs])
            final = after[key]
            assert final.jobid == jobs[-1].jobid, (key, final)
            if isinstance(final, JobSucceeded):
                assert jobs[-1].outcome == "completed"
            else:
                assert isinstance(final, JobFailed) and jobs[-1].outcome == "failed"
        assert set(per_key) == all_keys  # every key got a job in the end


# -- deterministic reproductions of what the stress found with reset_after_create faults --


async def test_duplicate_callback_for_a_submit_in_doubt_is_adopted_once(
        tmp_path: Path) -> None:
    """A submit whose connection broke after the job was created (in doubt) is being
    reconciled (its listing read is slow) when the job's callback arrives twice (the API
    may deliver a callback more than once): the job is adopted once, the key gets one
    outcome, and nothing escapes."""
    fake = FakeFlowServer(time_scale=TIME_SCALE, seed=3,
                          faults="reset_after_create{count=1}@POST videos, "
                                 "slow{delay=500}@GET jobs")
    async with fake, FlowSession(fake.token, base_url=fake.base_url,
                                 clock=fake.clock) as flow:
        with anyio.fail_after(HANG):
            async with flow.watch(mode="poll", journal=str(tmp_path / "j.sqlite")) as watcher:
                await watcher.submit(VideoParams(prompt="twice"), key="k")
                while watcher.stats.states.get("reconciling", 0) == 0:
                    await anyio.sleep(0)
                (jobid,) = fake.jobs
                record = await flow.jobs.get(jobid)  # what the callback carries
                assert watcher.notify(record) and watcher.notify(record)
                watcher.close()
                outcomes = [o async for o in watcher]
        (outcome,) = outcomes
        assert isinstance(outcome, JobSucceeded) and outcome.jobid == jobid


async def test_in_doubt_resubmission_is_not_resolved_by_an_earlier_attempts_job() -> None:
    """Attempt 1 is moderated; its resubmission (``resubmit_moderated=1``) is in doubt (the
    connection broke after job B was created) and the run cannot find it (the listing
    fails). The next run on the same journal receives a late callback for attempt 1's job
    A, then resumes the key: it must find B (B carries attempt 2's marker) and yield B's
    outcome — never adopt A again, which leaves B, a paid job, abandoned."""
    journal = flowapi.MemoryJournal()
    fake = FakeFlowServer(time_scale=TIME_SCALE, seed=3, faults=(
        "moderation{count=1}@POST videos, reset_after_create{after=1;count=1}@POST videos, "
        "poll_500@GET jobs"))
    async with fake, FlowSession(fake.token, base_url=fake.base_url,
                                 clock=fake.clock) as flow:
        with anyio.fail_after(HANG):
            async with flow.watch(mode="poll", journal=journal,
                                  resubmit_moderated=1) as watcher:
                await watcher.submit(VideoParams(prompt="late"), key="k")
                watcher.close()
                (first,) = [o async for o in watcher]
        assert isinstance(first, JobFailed)
        assert first.category is flowapi.FailureCategory.IN_DOUBT
        a, b = (fake.jobs[j] for j in fake.jobs)
        assert a.outcome == "failed" and b.connection_reset_after_create
        fake.set_faults(None)
        late = await flow.jobs.get(a.jobid)  # attempt 1's callback, delivered late
        with anyio.fail_after(HANG):
            async with flow.watch(mode="poll", journal=journal,
                                  resubmit_moderated=1) as watcher:
                watcher.notify(late)
                await watcher.submit(VideoParams(prompt="late"), key="k")
                watcher.close()
                (second,) = [o async for o in watcher]
        assert second.jobid == b.jobid, (second, a.jobid, b.jobid)
        assert isinstance(second, JobSucceeded) and b.outcome == "completed"
        assert len(fake.jobs) == 2


async def test_callback_arriving_while_the_jobid_is_being_journaled() -> None:
    """The journal's write of a new jobid is slow (an fsync, a file another program keeps
    locked); the job is fast and its complete callback arrives before that write returns.
    The key still gets exactly one outcome and the watcher goes on."""

    class SlowAccepted(flowapi.MemoryJournal):
        def __init__(self) -> None:
            super().__init__()
            self.writing = anyio.Event()
            self.disk = anyio.Event()

        async def update(self, key: str, event: flowapi.journal.Event) -> flowapi.Submission:
            if isinstance(event, flowapi.journal.Accepted):
                self.writing.set()
                await self.disk.wait()
            return await super().update(key, event)

    journal = SlowAccepted()
    async with FakeFlowServer(time_scale=TIME_SCALE, seed=3) as fake, \
            FlowSession(fake.token, base_url=fake.base_url, clock=fake.clock) as flow:

        watchers: list[flowapi.JobWatcher] = []

        async def callback_then_disk() -> None:
            try:
                await journal.writing.wait()
                (jobid,) = fake.jobs
                await fake.clock.sleep(fake.jobs[jobid].finished_at - fake.clock.time() + 1)
                record = await flow.jobs.get(jobid)  # complete: what the callback carries
                assert record.status == "completed"
                watchers[0].notify(record)
                for _ in range(50):
                    await anyio.sleep(0)
            finally:
                journal.disk.set()  # the slow write returns

        failure: Exception | None = None
        outcomes: list[Outcome] = []
        with anyio.fail_after(HANG):
            async with anyio.create_task_group() as tg:
                tg.start_soon(callback_then_disk)
                try:
                    async with flow.watch(mode="poll", journal=journal) as watcher:
                        watchers.append(watcher)
                        await watcher.submit(VideoParams(prompt="fast"), key="k")
                        watcher.close()
                        outcomes = [o async for o in watcher]
                except Exception as exc:  # the watcher's fatal error, raised plain
                    failure = exc
        if failure is not None:
            raise failure
        (outcome,) = outcomes
        assert isinstance(outcome, JobSucceeded) and outcome.jobid in fake.jobs
