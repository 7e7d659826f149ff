"""Issue 9 (many workers, one PostgreSQL journal): defects found by an adversarial review,
reproduced through the public API against a real PostgreSQL server (the ``postgres_dsn``
fixture) and the fake. Each failed before its fix.

Each test is one defect; its docstring says the scenario and what the user loses. Every
test is bounded (``anyio.fail_after``) and fails — rather than hangs — while the defect is
there.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import psycopg
import pytest

from flowapi import FlowSession, JobSucceeded, Outcome, RetryBudget, VideoParams
from flowapi.journal import (
    Attempt,
    PostgresJournal,
    SubmissionState,
    canonical_params,
    join_reply_ref,
    new_marker,
)
from flowapi.testing import FakeFlowServer

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

TIME_SCALE = 0.002


@asynccontextmanager
async def stack(**fake_args: object) -> AsyncIterator[tuple[FakeFlowServer, FlowSession]]:
    async with FakeFlowServer(time_scale=TIME_SCALE, seed=9, **fake_args) as fake, \
            FlowSession(fake.token, base_url=fake.base_url, clock=fake.clock,
                        retry_budget=RetryBudget(capacity=1000)) as flow:
        yield fake, flow


async def test_in_doubt_keys_claimed_at_watcher_entry_stay_leased_forever(
        postgres_dsn: str) -> None:
    """A worker (D) sent a POST for key ``k`` and stopped before its answer was journaled
    (the row is ``submitting`` with its marker; the job exists and runs on the server).

    Web-app workers B and A share the journal, each with a long-lived watcher. B's watcher
    enters first: its in-doubt sweep claims ``k`` (``claim_lapsed``), finds the job by its
    marker and journals the jobid — and keeps the lease: B never works on ``k`` (no request
    for ``k`` reached B), but B's heartbeat renews every lease B's journal holds. The
    request for ``k`` lands on A: ``submit(k)`` finds it held by a live worker and follows
    it — forever, while B lives. The job was paid and succeeded; A's user never gets its
    outcome (the request hangs), and nobody watches the job.
    """
    ns = uuid.uuid4().hex
    params = VideoParams(prompt="a paid job left in doubt", model="veo-3.1-lite")
    async with stack() as (fake, flow):
        # leases on the fake's clock as given: 200 simulated seconds are 0.4 real seconds
        dead = PostgresJournal(postgres_dsn, namespace=ns, lease=200.0, clock=fake.clock)
        a = PostgresJournal(postgres_dsn, namespace=ns, lease=200.0, resync_interval=20.0,
                            clock=fake.clock)
        b = PostgresJournal(postgres_dsn, namespace=ns, lease=200.0, resync_interval=20.0,
                            clock=fake.clock)
        got: dict[str, Outcome] = {}
        try:
            # D: the attempt is journaled, the POST reaches the server, D stops (its lease
            # is given back, as when its block is left or its lease lapses)
            await dead.add("k", kind="VideoParams", params=canonical_params(params.to_wire()),
                           tag=None)
            assert await dead.claim("k") is not None
            marker = new_marker()
            await dead.update("k", Attempt(marker=marker))
            await flow.jobs.submit(VideoParams(prompt=params.prompt, model=params.model,
                                               reply_ref=join_reply_ref(marker, None)))
            await dead.close()
            assert len(fake.jobs) == 1

            b_done = anyio.Event()

            async def worker_b() -> None:
                async with flow.watch(journal=b, max_in_flight=4):
                    await b_done.wait()  # a web app's watcher lives as long as the app

            async with anyio.create_task_group() as tg:
                tg.start_soon(worker_b)
                with anyio.fail_after(30):
                    while (await b.get("k")).state is not SubmissionState.ACCEPTED:  # type: ignore[union-attr]
                        await anyio.sleep(0.01)
                try:
                    with anyio.fail_after(15):
                        async with flow.watch(journal=a, max_in_flight=4) as watcher:
                            await watcher.submit(params, key="k")
                            watcher.close()
                            async for outcome in watcher:
                                got[outcome.key] = outcome
                except TimeoutError:
                    holders = await b.holders()
                    assert holders == {"k": b.worker}, holders  # B holds k, renewed
                finally:
                    b_done.set()
        finally:
            for j in (a, b, dead):
                await j.close()
        assert len(fake.jobs) == 1, "the key was submitted twice"
        assert "k" in got, (
            "worker A never got an outcome for k: worker B claimed the in-doubt key at its "
            "watcher's entry, adopted its job and kept the lease alive without watching it")
        assert isinstance(got["k"], JobSucceeded)


async def test_callback_committed_out_of_sequence_order_is_never_delivered(
        postgres_dsn: str, postgres_admin_dsn: str) -> None:
    """Two webhook workers record callbacks at the same moment. ``flowapi_callbacks.seq``
    comes from a sequence taken when the INSERT starts, but rows become visible when they
    commit: callback X could take seq n and commit *after* callback Y (seq n+1) committed
    (fixed: writers of a namespace take a transaction-scoped advisory lock first).

    A follower that read in between (``callbacks_since`` → cursor n+1, as every watcher's
    ``Follower`` does on each ``NOTIFY`` and resync) never sees X: its later
    ``callbacks_since(n+1)`` skips seq n, the periodic resync reads from the same cursor,
    so the job's owner is never woken by X (it waits for the slow listing resync or the
    backstop; an in-doubt submit is not adopted from it). The interleaving is forced here
    with an uncommitted conflicting insert from a third connection (a slow transaction).
    """
    ns = uuid.uuid4().hex
    r1 = PostgresJournal(postgres_dsn, namespace=ns)
    r2 = PostgresJournal(postgres_dsn, namespace=ns)
    follower = PostgresJournal(postgres_dsn, namespace=ns)
    for j in (r1, r2, follower):
        await j.open()
    blocker = await psycopg.AsyncConnection.connect(postgres_dsn)
    try:
        cursor = await follower.callback_cursor()
        # a transaction inserting X is in progress (not committed)
        await blocker.execute("INSERT INTO flowapi_callbacks (namespace, jobid, body) "
                              "VALUES (%s, 'job-x', 'x')", (ns,))
        async with anyio.create_task_group() as tg:
            tg.start_soon(r1.record_callback, "job-x", b'{"jobid":"job-x"}')
            with anyio.fail_after(10):  # r1's INSERT took its seq and waits on the blocker
                while True:  # (the statistics views are a per-transaction snapshot)
                    await blocker.execute("SELECT pg_stat_clear_snapshot()")
                    cur = await blocker.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = "
                        "'Lock' AND query LIKE '%%flowapi_callbacks%%'")
                    row = await cur.fetchone()
                    if row and row[0]:
                        break
                    await anyio.sleep(0.01)
            # a second writer comes now: it must not commit ahead of X (it waits for the
            # namespace's callback lock r1 holds), so no reader can pass X's seq
            tg.start_soon(r2.record_callback, "job-y", b'{"jobid":"job-y"}')
            await anyio.sleep(0.2)
            cursor, seen = await follower.callbacks_since(cursor)
            assert seen == []
            await blocker.rollback()  # the slow transaction ends: X, then Y commit
        with anyio.fail_after(10):
            for _ in range(3):  # hints and resyncs read from the cursor again
                cursor, more = await follower.callbacks_since(cursor)
                seen += more
        assert "job-x" in (await follower.callbacks())  # X is in the journal…
        assert "job-x" in [j for j, _ in seen], (
            "callback job-x was committed after the cursor passed its seq: no follower ever "
            "reads it")
    finally:
        await blocker.close()
        for j in (r1, r2, follower):
            await j.close()


async def test_one_dropped_database_connection_kills_the_watcher(
        postgres_dsn: str, postgres_admin_dsn: str) -> None:
    """The database drops the journal's connections once (a restart or failover, an idle
    timeout of a proxy or firewall, ``pg_terminate_backend``) and is reachable again at
    once. The journal's pool hands the dead pooled connection to the next write without
    checking it: that write fails and ends the watcher with a fatal ``JournalError``
    ("run again once the database is reachable") although the database is there. Every
    web-app worker's watcher dies on one blip; a batch stops mid-way.
    """
    ns = uuid.uuid4().hex
    params = [VideoParams(prompt=f"blip {i}", model="veo-3.1-lite") for i in range(4)]
    dbname = postgres_dsn.rsplit("/", 1)[1].split("?")[0]
    got: dict[str, Outcome] = {}
    async with stack() as (_, flow):
        journal = PostgresJournal(postgres_dsn, namespace=ns)
        admin = await psycopg.AsyncConnection.connect(postgres_admin_dsn, autocommit=True)
        try:
            with anyio.fail_after(60):
                async with flow.watch(journal=journal, max_in_flight=4) as watcher:
                    await watcher.submit(params[0], key="k0")
                    outcome = await watcher.__anext__()
                    got[outcome.key] = outcome
                    # the server drops every connection to the journal's database once
                    await admin.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                        "datname = %s AND pid <> pg_backend_pid()", (dbname,))
                    for i, p in enumerate(params[1:], start=1):
                        await watcher.submit(p, key=f"k{i}")
                    watcher.close()
                    async for outcome in watcher:
                        got[outcome.key] = outcome
        finally:
            await admin.close()
            await journal.close()
    assert sorted(got) == ["k0", "k1", "k2", "k3"]
    assert all(isinstance(o, JobSucceeded) for o in got.values())
