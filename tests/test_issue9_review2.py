"""Issue 9 (many workers, one PostgreSQL journal), second adversarial review: defects of
the liveness lock, the journal's connection-loss retries and the shared listing,
reproduced through the public API against a real PostgreSQL server (the ``postgres_dsn``
fixture) and the fake. Each failed before its fix.

Each test is one defect; its docstring says the scenario and what the user loses. Every
test is bounded (``anyio.fail_after``) and fails — rather than hangs — while the defect is
there.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio
import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from flowapi import FlowSession, JobSucceeded, Outcome, RetryBudget, VideoParams
from flowapi.journal import PostgresJournal, SubmissionState
from flowapi.testing import FakeFlowServer

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

TIME_SCALE = 0.002


@asynccontextmanager
async def session(fake: FakeFlowServer) -> AsyncIterator[FlowSession]:
    """One worker's session on the shared fake (each worker has its own, as processes do)."""
    async with FlowSession(fake.token, base_url=fake.base_url, clock=fake.clock,
                           retry_budget=RetryBudget(capacity=1000)) as flow:
        yield flow


async def until(check: Callable[[], Awaitable[bool]], seconds: float = 20.0) -> None:
    """Wait (real time, bounded) until ``await check()`` is true."""
    with anyio.fail_after(seconds):
        while not await check():
            await anyio.sleep(0.005)


# -- defect 1: a live worker whose LISTEN connection drops is treated as dead ---------------


async def test_a_live_worker_whose_listen_connection_drops_is_taken_over_mid_submit(
        postgres_dsn: str) -> None:
    """Worker A's ``POST videos`` is on the wire (the server created the job; its answer is
    slow). A's *listening* connection — the one holding its liveness advisory lock — drops
    (an idle timeout of a firewall or proxy: that connection is idle for minutes; a
    ``pg_terminate_backend``) and cannot come back at once (the role's connection limit is
    reached), while A's pooled connections, its heartbeat and its POST are all fine.

    Another worker B starts (a new process of the batch, a web-app worker restarting). Its
    entry sweep treats A's submitting row as abandoned (``owner_lock`` not live), claims
    it, finds A's job by its marker and journals it (``Accepted``), watches it and records
    its outcome. Then A's 201 arrives: ``Accepted`` on a row that is already accepted (or
    succeeded) is an ``IllegalTransition``, which ends A's whole watcher as a fatal error
    — every other key A was working on stops with it, and A never yields this key's
    outcome. (With ``resubmit_in_doubt`` and a POST whose job is created later than B's
    10-second lookup — captcha solving — B sends a second, paid POST for the same key.)

    A live worker must not lose the keys it is working on because one idle connection
    dropped (e.g. treat a lost lock as dead only once the holder has also missed a
    heartbeat, and let the heartbeat clear ``owner_lock`` the moment the lock is lost);
    and a 201 for a row that already records the same jobid must not be fatal.
    """
    ns = uuid.uuid4().hex
    suffix = uuid.uuid4().hex[:8]
    role_a, role_b = f"flowapi_wa_{suffix}", f"flowapi_wb_{suffix}"
    params = VideoParams(prompt="in flight while the LISTEN connection drops",
                         model="veo-3.1-lite")
    admin = await psycopg.AsyncConnection.connect(postgres_dsn, autocommit=True)
    setup = PostgresJournal(postgres_dsn, namespace=ns, listen=False)
    await setup.open()  # the schema, owned by the admin; the workers are plain roles
    await setup.close()
    for role in (role_a, role_b):
        ident = sql.Identifier(role)
        await admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(ident))
        await admin.execute(sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN "
                                    "SCHEMA public TO {}").format(ident))
        await admin.execute(sql.SQL("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA "
                                    "public TO {}").format(ident))
    a = PostgresJournal(make_conninfo(postgres_dsn, user=role_a), namespace=ns)
    b = PostgresJournal(make_conninfo(postgres_dsn, user=role_b), namespace=ns)
    a_got: dict[str, Outcome] = {}
    b_got: dict[str, Outcome] = {}
    a_error: list[BaseException] = []

    async def a_lock_stamped() -> bool:
        cur = await admin.execute(
            "SELECT owner_lock IS NOT NULL AND state = 'submitting' FROM flowapi_submissions "
            "WHERE namespace = %s AND key = 'k0'", (ns,))
        row = await cur.fetchone()
        return bool(row and row[0])

    async def a_lock_count() -> int:
        cur = await admin.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity s USING (pid) WHERE "
            "l.locktype = 'advisory' AND l.granted AND s.usename = %s", (role_a,))
        row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def a_lock_gone() -> bool:
        return await a_lock_count() == 0

    try:
        async with FakeFlowServer(time_scale=TIME_SCALE, seed=9,
                                  faults="slow{delay=1000;count=1}@POST videos") as fake, \
                session(fake) as flow_a, session(fake) as flow_b:

            async def a_job_created() -> bool:
                return bool(fake.jobs)

            async def worker_a() -> None:
                try:
                    async with flow_a.watch(journal=a, max_in_flight=4) as watcher:
                        await watcher.submit(params, key="k0")
                        watcher.close()
                        async for outcome in watcher:
                            a_got[outcome.key] = outcome
                except Exception as exc:
                    a_error.append(exc)

            with anyio.fail_after(60):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(worker_a)
                    # A's POST is on the wire: the job exists, its 201 takes 2 s to arrive;
                    # A's row is submitting and stamped with A's live lock
                    await until(a_job_created)
                    await until(a_lock_stamped)
                    assert await a_lock_count() == 1
                    # A's LISTEN connection drops and cannot reconnect for now
                    await admin.execute(sql.SQL("ALTER ROLE {} CONNECTION LIMIT 0").format(
                        sql.Identifier(role_a)))
                    await admin.execute(
                        "SELECT pg_terminate_backend(l.pid) FROM pg_locks l JOIN "
                        "pg_stat_activity s USING (pid) WHERE l.locktype = 'advisory' AND "
                        "s.usename = %s", (role_a,))
                    await until(a_lock_gone)
                    # worker B starts on the same batch (it submits the same key, as every
                    # process of a shared batch does)
                    async with flow_b.watch(journal=b, max_in_flight=4) as watcher:
                        await watcher.submit(params, key="k0")
                        watcher.close()
                        async for outcome in watcher:
                            b_got[outcome.key] = outcome
                    await admin.execute(sql.SQL("ALTER ROLE {} CONNECTION LIMIT -1").format(
                        sql.Identifier(role_a)))
            assert len(fake.jobs) == 1, "the key was POSTed twice"
    finally:
        await admin.execute(sql.SQL("ALTER ROLE {} CONNECTION LIMIT -1").format(
            sql.Identifier(role_a)))
        for j in (a, b):
            await j.close()
        for role in (role_a, role_b):
            await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE usename = %s", (role,))
            await admin.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            await admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
        await admin.close()
    b_outcome = b_got.get("k0")
    assert isinstance(b_outcome, JobSucceeded)
    assert not a_error, f"worker A's watcher died: {a_error[0]!r}"
    a_outcome = a_got.get("k0")
    assert isinstance(a_outcome, JobSucceeded), f"worker A yielded {a_outcome!r}"
    assert a_outcome.job.jobid == b_outcome.job.jobid


# -- defect 2: a commit that went through is retried, and the retry is fatal ---------------


_COMMIT = b"Q\x00\x00\x00\x0bCOMMIT\x00"
_ROLLBACK = b"Q\x00\x00\x00\x0dROLLBACK\x00"
_COMMITTED = b"C\x00\x00\x00\x0bCOMMIT\x00"


class CommitCutter:
    """A TCP proxy to PostgreSQL that cuts a client connection right after the server
    committed a transaction matching ``trigger`` (its client bytes since the last
    COMMIT/ROLLBACK), before the client hears the answer: the commit happened, the client
    sees a broken connection (a proxy or network failure at the worst moment)."""

    def __init__(self, host: str, port: int, trigger: Callable[[bytes], bool],
                 times: int = 1) -> None:
        self._target = (host, port)
        self._trigger = trigger
        self._times = times
        self.fired = 0
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def __aenter__(self) -> CommitCutter:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:  # every pump ends on EOF
            writer.close()
        with anyio.move_on_after(5):
            await self._server.wait_closed()

    async def _handle(self, creader: asyncio.StreamReader,
                      cwriter: asyncio.StreamWriter) -> None:
        sreader, swriter = await asyncio.open_connection(*self._target)
        self._writers.update((cwriter, swriter))
        cut = False
        tx = bytearray()

        async def up() -> None:
            nonlocal cut
            try:
                while data := await creader.read(65536):
                    tx.extend(data)
                    if _COMMIT in tx:
                        if self.fired < self._times and self._trigger(bytes(tx)):
                            self.fired += 1
                            cut = True
                        tx.clear()
                    elif _ROLLBACK in tx:
                        tx.clear()
                    swriter.write(data)
                    await swriter.drain()
            except OSError:
                pass
            finally:
                swriter.close()

        async def down() -> None:
            try:
                while data := await sreader.read(65536):
                    if cut and _COMMITTED in data:
                        break  # committed on the server; the client never hears it
                    cwriter.write(data)
                    await cwriter.drain()
            except OSError:
                pass
            finally:
                cwriter.close()
                swriter.close()

        try:
            await asyncio.gather(up(), down())
        except asyncio.CancelledError:
            pass
        finally:
            self._writers.difference_update((cwriter, swriter))


async def test_a_refused_submit_whose_commit_answer_is_lost_kills_the_watcher(
        postgres_dsn: str) -> None:
    """A submit is refused transiently (503 "try again": certainly not created), and the
    journal's connection breaks just after PostgreSQL committed the ``Refused`` (a proxy
    restart, a failover, a network cut at that moment). ``update()`` is built for this
    ("at the commit it may have been — the row tells which"), but ``_applied`` never
    recognises a ``Refused`` (nor a ``Retry``): it runs the event again on the committed
    ``pending`` row, gets ``IllegalTransition`` and raises it — a fatal error that ends
    the watcher (every key of the batch stops) instead of parking the key and sending it
    again. The same happens to ``Retry(force=True)`` of ``resubmit_in_doubt``.

    Fix: ``_applied`` should recognise them (``Refused``: the row is ``pending`` with the
    attempt's marker; ``Retry``: ``pending``), or ``_update_once`` should re-check
    ``_applied`` on the row it locked before applying again.
    """
    ns = uuid.uuid4().hex
    info = conninfo_to_dict(postgres_dsn)
    params = VideoParams(prompt="refused once, commit answer lost", model="veo-3.1-lite")

    def refused_tx(tx: bytes) -> bool:  # the FOR UPDATE transaction writing 'pending'
        return b"FOR UPDATE" in tx and b"\x00\x00\x00\x07pending" in tx

    got: dict[str, Outcome] = {}
    async with CommitCutter(str(info.get("host") or "127.0.0.1"),
                            int(info.get("port") or 5432), refused_tx) as proxy:
        dsn = make_conninfo(postgres_dsn, host="127.0.0.1", port=str(proxy.port),
                            sslmode="disable")
        journal = PostgresJournal(dsn, namespace=ns)
        try:
            async with FakeFlowServer(time_scale=TIME_SCALE, seed=9,
                                      faults="unavailable{count=1}@POST videos") as fake, \
                    session(fake) as flow:
                with anyio.fail_after(60):
                    async with flow.watch(journal=journal, max_in_flight=4) as watcher:
                        await watcher.submit(params, key="k0")
                        watcher.close()
                        async for outcome in watcher:
                            got[outcome.key] = outcome
                assert len(fake.jobs) == 1
        finally:
            await journal.close()
    assert proxy.fired == 1, "the Refused commit was not cut (the scenario did not happen)"
    assert isinstance(got.get("k0"), JobSucceeded)
    row = await _row_state(postgres_dsn, ns, "k0")
    assert row is SubmissionState.SUCCEEDED


async def _row_state(dsn: str, ns: str, key: str) -> SubmissionState | None:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cur = await conn.execute("SELECT state FROM flowapi_submissions WHERE namespace = %s "
                                 "AND key = %s", (ns, key))
        row = await cur.fetchone()
    return SubmissionState(row[0]) if row else None


# -- defect 3: Retry(force) is not fenced: a stale lookup resets another worker's attempt ---


class TwoLookups:
    """What :func:`two_lookups` observed."""

    def __init__(self) -> None:
        self.got: dict[str, dict[str, Outcome]] = {"a": {}, "b": {}}
        self.errors: dict[str, BaseException] = {}
        self.created = 0
        self.jobid: str | None = None
        self.state: SubmissionState | None = None


async def two_lookups(postgres_dsn: str) -> TwoLookups:
    """The scenario of defects 3 and 4 (see the test docstrings)."""
    ns = uuid.uuid4().hex
    suffix = uuid.uuid4().hex[:8]
    role_a, role_b = f"flowapi_ra_{suffix}", f"flowapi_rb_{suffix}"
    params = VideoParams(prompt="in doubt, looked up by two workers", model="veo-3.1-lite")
    admin = await psycopg.AsyncConnection.connect(postgres_dsn, autocommit=True)
    setup = PostgresJournal(postgres_dsn, namespace=ns, listen=False)
    await setup.open()
    await setup.close()
    for role in (role_a, role_b):
        ident = sql.Identifier(role)
        await admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(ident))
        await admin.execute(sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN "
                                    "SCHEMA public TO {}").format(ident))
        await admin.execute(sql.SQL("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA "
                                    "public TO {}").format(ident))
    a = PostgresJournal(make_conninfo(postgres_dsn, user=role_a), namespace=ns)
    b = PostgresJournal(make_conninfo(postgres_dsn, user=role_b), namespace=ns)
    seen = TwoLookups()
    got, errors = seen.got, seen.errors

    async def in_doubt_and_stamped() -> bool:
        cur = await admin.execute(
            "SELECT owner_lock IS NOT NULL AND state = 'unknown' FROM flowapi_submissions "
            "WHERE namespace = %s AND key = 'k0'", (ns,))
        row = await cur.fetchone()
        return bool(row and row[0])

    async def a_lock_gone() -> bool:
        cur = await admin.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity s USING (pid) WHERE "
            "l.locktype = 'advisory' AND s.usename = %s", (role_a,))
        row = await cur.fetchone()
        return bool(row and row[0] == 0)

    faults = ("reset_before{count=1}@POST videos, slow{delay=3000;after=1;count=1}@POST "
              "videos, slow{delay=1000;count=1}@GET jobs")
    try:
        async with FakeFlowServer(time_scale=TIME_SCALE, seed=9, faults=faults) as fake, \
                session(fake) as flow_a, session(fake) as flow_b:

            async def worker(name: str, flow: FlowSession, journal: PostgresJournal) -> None:
                try:
                    async with flow.watch(journal=journal, max_in_flight=4,
                                          resubmit_in_doubt=True) as watcher:
                        await watcher.submit(params, key="k0")
                        watcher.close()
                        async for outcome in watcher:
                            got[name][outcome.key] = outcome
                except Exception as exc:
                    errors[name] = exc

            with anyio.fail_after(60):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(worker, "a", flow_a, a)
                    await until(in_doubt_and_stamped)  # A's lookup is under way (slow)
                    await admin.execute(sql.SQL("ALTER ROLE {} CONNECTION LIMIT 0").format(
                        sql.Identifier(role_a)))
                    await admin.execute(
                        "SELECT pg_terminate_backend(l.pid) FROM pg_locks l JOIN "
                        "pg_stat_activity s USING (pid) WHERE l.locktype = 'advisory' AND "
                        "s.usename = %s", (role_a,))
                    await until(a_lock_gone)
                    await worker("b", flow_b, b)
                    await admin.execute(sql.SQL("ALTER ROLE {} CONNECTION LIMIT -1").format(
                        sql.Identifier(role_a)))
            seen.created = len(fake.jobs)
        cur = await admin.execute("SELECT state, jobid FROM flowapi_submissions WHERE "
                                  "namespace = %s AND key = 'k0'", (ns,))
        found = await cur.fetchone()
        if found is not None:
            seen.state, seen.jobid = SubmissionState(found[0]), found[1]
    finally:
        await admin.execute(sql.SQL("ALTER ROLE {} CONNECTION LIMIT -1").format(
            sql.Identifier(role_a)))
        for j in (a, b):
            await j.close()
        for role in (role_a, role_b):
            await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE usename = %s", (role,))
            await admin.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            await admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
        await admin.close()
    return seen


async def test_a_stale_resubmit_decision_erases_another_workers_paid_attempt(
        postgres_dsn: str) -> None:
    """Two workers with ``resubmit_in_doubt=True`` (the user accepted paying twice for a
    submit whose job cannot be found). Worker A's POST for key ``k0`` is cut (in doubt,
    no job was created) and A looks it up; its listing is slow. Meanwhile A's liveness lock
    is lost (its LISTEN connection drops, see defect 1) and worker B takes the key over:
    B looks it up, does not find it, resends it (``Retry(force)``, a new ``Attempt``
    under B's lease) — B's POST is on the wire; the server created B's job.

    A's stale lookup then ends ("not found") and writes ``Retry(force=True)`` although
    it no longer holds the key: ``Retry`` is not fenced like ``Attempt``, and is allowed
    from ``submitting``, so it turns B's live attempt back into ``pending`` (erasing its
    marker). B's 201 arrives: ``Accepted`` on a ``pending`` row is an
    ``IllegalTransition`` — B's watcher dies, and B's job (created and paid) is never
    journaled: the row stays ``pending`` without a jobid, so the next worker or run POSTs
    the prompt again (paid twice, although B's submit was never in doubt).

    Fix: fence ``Retry`` by the lease like ``Attempt`` (write it only while holding the
    key's lease, checked in the same transaction), and refuse it on a row whose
    ``marker`` is not the one the lookup searched for.
    """
    seen = await two_lookups(postgres_dsn)
    assert "b" not in seen.errors, f"worker B's watcher died: {seen.errors['b']!r}"
    assert seen.created == 1
    assert seen.jobid is not None, (
        f"the job B created (and paid) is not in the journal (row {seen.state})")


async def test_a_lookup_whose_resubmit_claim_fails_crashes_its_watcher(
        postgres_dsn: str) -> None:
    """The same scenario seen from worker A: its lookup found nothing, it wrote
    ``Retry(force)`` and then failed to claim the key (another live worker holds it), the
    case ``Submitter._reconcile`` handles with ``on_lease_lost`` → ``JobWatcher._follow``.
    But the entry is still in ``Phase.RECONCILING`` there, and the tracker forbids
    ``reconciling → following``: an ``AssertionError`` ("illegal watcher move") ends A's
    whole watcher (every key it was working on stops) instead of following the key.

    Fix: move the entry out of ``RECONCILING`` (or allow that move) before following it.
    """
    seen = await two_lookups(postgres_dsn)
    assert "a" not in seen.errors, f"worker A's watcher died: {seen.errors['a']!r}"
