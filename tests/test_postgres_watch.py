"""Issue 9: several watchers (workers) share one PostgreSQL journal — through the public API
against the fake, on a real PostgreSQL server (the ``postgres_dsn`` fixture).

Each worker is a separate :class:`~flowapi.journal.PostgresJournal` object (its own worker
id, pool and ``LISTEN`` connection), exactly as in separate processes; the process-level
tests (three ``flowapi batch`` processes, ``kill -9``) are in tests/test_postgres_cli.py.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import pytest

from flowapi import FlowSession, JobFailed, JobSucceeded, Outcome, RetryBudget, VideoParams
from flowapi.journal import PostgresJournal, SubmissionState
from flowapi.testing import FakeFlowServer

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

TIME_SCALE = 0.002


@asynccontextmanager
async def stack(time_scale: float = TIME_SCALE, **fake_args: object
                ) -> AsyncIterator[tuple[FakeFlowServer, FlowSession]]:
    async with FakeFlowServer(time_scale=time_scale, seed=9, **fake_args) as fake, \
            FlowSession(fake.token, base_url=fake.base_url, clock=fake.clock,
                        retry_budget=RetryBudget(capacity=1000)) as flow:
        yield fake, flow


def prompts(n: int) -> list[VideoParams]:
    return [VideoParams(prompt=f"shared batch prompt {i}", model="veo-3.1-lite")
            for i in range(n)]


async def work(flow: FlowSession, journal: PostgresJournal, params: list[VideoParams],
               got: dict[str, Outcome], **watch: object) -> None:
    async with flow.watch(journal=journal, max_in_flight=4, **watch) as watcher:  # type: ignore[arg-type]
        async def feed() -> None:
            for i, p in enumerate(params):
                await watcher.submit(p, key=f"k{i:03d}", tag=i)
            watcher.close()

        async with anyio.create_task_group() as tg:
            tg.start_soon(feed)
            async for outcome in watcher:
                assert outcome.key not in got, "an outcome yielded twice by one watcher"
                got[outcome.key] = outcome


def created_per_prompt(fake: FakeFlowServer) -> Counter[str]:
    return Counter(job.request["prompt"] for job in fake.jobs.values())


@pytest.mark.parametrize("listen", [True, False], ids=["listen", "pgbouncer-no-listen"])
async def test_three_workers_split_one_batch_and_each_sees_every_outcome(
        postgres_dsn: str, listen: bool) -> None:
    """``listen=False`` is PgBouncer's transaction pooling (no LISTEN): the resync alone
    carries the other workers' outcomes."""
    ns = uuid.uuid4().hex
    params = prompts(24)
    async with stack() as (fake, flow):
        journals = [PostgresJournal(postgres_dsn, namespace=ns, resync_interval=5.0,
                                    listen=listen) for _ in range(3)]
        got: list[dict[str, Outcome]] = [{}, {}, {}]
        try:
            for j in journals:
                await j.open()
            with anyio.fail_after(60):
                async with anyio.create_task_group() as tg:
                    for j, g in zip(journals, got, strict=True):
                        tg.start_soon(work, flow, j, params, g)
        finally:
            for j in journals:
                await j.close()
        assert created_per_prompt(fake) == {p.prompt: 1 for p in params}
        for g in got:
            assert sorted(g) == [f"k{i:03d}" for i in range(24)]
            assert all(isinstance(o, JobSucceeded) for o in g.values())
        # the same job for a key, whichever worker yielded it
        for key in got[0]:
            jobs = {g[key].job.jobid for g in got if isinstance(g[key], JobSucceeded)}
            assert len(jobs) == 1
        # the work was split: no worker submitted everything
        submitted = [sum(1 for o in g.values() if not o.resumed) for g in got]
        assert sum(submitted) == 24
        assert max(submitted) < 24


async def test_a_worker_that_leaves_early_hands_its_jobs_over(postgres_dsn: str) -> None:
    """Worker A submits, then leaves its block while its jobs run (its leases are given
    back); worker B, started on the same keys, adopts A's jobs by jobid — no POST again."""
    ns = uuid.uuid4().hex
    params = prompts(6)
    async with stack() as (fake, flow):
        a = PostgresJournal(postgres_dsn, namespace=ns)
        b = PostgresJournal(postgres_dsn, namespace=ns)
        try:
            async with flow.watch(journal=a, max_in_flight=6) as watcher:
                for i, p in enumerate(params):
                    await watcher.submit(p, key=f"k{i:03d}")
                with anyio.fail_after(30):
                    while len(fake.jobs) < 6:
                        await anyio.sleep(0.01)
            rows = await a.rows()
            assert {r.state for r in rows} == {SubmissionState.ACCEPTED}
            got: dict[str, Outcome] = {}
            with anyio.fail_after(60):
                await work(flow, b, params, got)
        finally:
            await a.close()
            await b.close()
        assert len(fake.jobs) == 6
        assert created_per_prompt(fake) == {p.prompt: 1 for p in params}
        assert all(isinstance(o, JobSucceeded) for o in got.values()) and len(got) == 6


async def test_a_dead_workers_keys_are_taken_over(postgres_dsn: str) -> None:
    """Worker A claims keys and "dies" (its heartbeat and listening connection stop, it
    releases nothing, like kill -9); B follows those keys and resumes them from their rows:
    accepted jobs adopted by jobid, never submitted again."""
    ns = uuid.uuid4().hex
    params = prompts(5)
    async with stack() as (fake, flow):
        # leases on the fake's clock as given (a watcher alone would stretch them to 5 real
        # seconds): 20 simulated seconds are 40 ms here
        a = PostgresJournal(postgres_dsn, namespace=ns, lease=20.0, clock=fake.clock)
        b = PostgresJournal(postgres_dsn, namespace=ns, lease=20.0, resync_interval=2.0,
                            clock=fake.clock)
        try:
            with anyio.CancelScope() as scope:
                async with flow.watch(journal=a, max_in_flight=5) as watcher:
                    for i, p in enumerate(params[:3]):
                        await watcher.submit(p, key=f"k{i:03d}")
                    with anyio.fail_after(30):
                        while len(fake.jobs) < 3:
                            await anyio.sleep(0.01)
                    # A "dies" like kill -9: its heartbeat stops, it releases nothing
                    for task in a._tasks:
                        task.cancel()

                    async def released_nothing(keys: object) -> None:
                        return None

                    a.release = released_nothing  # type: ignore[method-assign]
                    scope.cancel()
            # A's connection (and with it its liveness lock) is gone: nobody holds its keys
            # any more, though its 20 s leases have not lapsed
            assert await b.holders() == {}
            got: dict[str, Outcome] = {}
            with anyio.fail_after(60):
                await work(flow, b, params, got)
        finally:
            await b.close()
            await a.close()
        assert created_per_prompt(fake) == {p.prompt: 1 for p in params}
        assert sorted(got) == [f"k{i:03d}" for i in range(5)]
        assert all(isinstance(o, JobSucceeded) for o in got.values())
        assert not any(isinstance(o, JobFailed) for o in got.values())


async def test_leases_on_a_fast_fake_clock_last_a_few_real_seconds(postgres_dsn: str) -> None:
    """A watcher on a fake's clock measures leases in its simulated time, but never
    shorter than 5 real seconds: a busy machine's stall is not a dead worker."""
    async with stack() as (_, flow):
        journal = PostgresJournal(postgres_dsn, namespace=uuid.uuid4().hex, lease=30.0)
        try:
            async with flow.watch(journal=journal):
                assert journal.lease == pytest.approx(5.0 / TIME_SCALE)
        finally:
            await journal.close()
        given = PostgresJournal(postgres_dsn, lease=30.0, clock=flow.clock)
        given.use_clock(flow.clock)
        assert given.lease == 30.0


async def test_workers_share_one_listing(postgres_dsn: str) -> None:
    """``GET /jobs?options=executing`` shows every worker's jobs: a worker uses a listing
    another worker of the namespace made within the interval instead of its own, so K
    workers list about as often as one."""
    ns = uuid.uuid4().hex
    params = prompts(30)
    stats = []
    # 20 ms of real time per simulated second: a journal round trip is far shorter than
    # the listing interval, as with real time
    async with stack(time_scale=0.02) as (fake, flow):
        journals = [PostgresJournal(postgres_dsn, namespace=ns) for _ in range(3)]

        async def one(journal: PostgresJournal) -> None:
            got: dict[str, Outcome] = {}
            async with flow.watch(journal=journal, max_in_flight=8) as watcher:
                for i, p in enumerate(params):
                    await watcher.submit(p, key=f"k{i:03d}")
                watcher.close()
                async for outcome in watcher:
                    got[outcome.key] = outcome
                stats.append(watcher.stats)
            assert len(got) == 30

        try:
            with anyio.fail_after(60):
                async with anyio.create_task_group() as tg:
                    for j in journals:
                        tg.start_soon(one, j)
        finally:
            for j in journals:
                await j.close()
        listings = sum(1 for r in fake.requests if r.route == "GET jobs")
        assert created_per_prompt(fake) == {p.prompt: 1 for p in params}
    assert listings == sum(s.listings for s in stats)
    assert sum(s.shared_listings for s in stats) > 0


async def test_a_lone_worker_never_reuses_its_own_listing(postgres_dsn: str) -> None:
    """A listing a worker made itself (or one it already used) tells it nothing new: it
    must not stand in for its next tick (that would only add lag)."""
    params = prompts(30)
    async with stack(time_scale=0.02) as (fake, flow):
        journal = PostgresJournal(postgres_dsn, namespace=uuid.uuid4().hex)
        try:
            with anyio.fail_after(60):
                async with flow.watch(journal=journal, max_in_flight=30) as watcher:
                    for i, p in enumerate(params):
                        await watcher.submit(p, key=f"k{i:03d}")
                    watcher.close()
                    outcomes = [o async for o in watcher]
        finally:
            await journal.close()
        assert len(outcomes) == 30
        assert watcher.stats.listings > 0
        assert watcher.stats.shared_listings == 0
        assert sum(1 for r in fake.requests if r.route == "GET jobs") == watcher.stats.listings
