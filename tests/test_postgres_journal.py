"""The PostgreSQL journal's own contract (issue 9 items 1–3) on a real server: leases and
their fencing, namespaces, the versioned schema, hints, errors without secrets. The
transition table itself is shared with the other journals (tests/test_journal_conformance.py)."""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import ExitStack
from typing import Any, ClassVar

import anyio
import psycopg
import pytest
from anyio.from_thread import start_blocking_portal
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from flowapi import ScaledClock
from flowapi.journal import (
    Accepted,
    Attempt,
    Change,
    FailureCategory,
    Finished,
    JournalError,
    LeaseLostError,
    PostgresJournal,
    SharedJournal,
    SubmissionState,
    open_journal,
)
from flowapi.journal._postgres_schema import SCHEMA_VERSION, migrate

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]


@pytest.fixture
def clock() -> ScaledClock:
    """A clock the tests move by hand (``advance``): leases lapse without waiting."""
    return ScaledClock(1.0)


@pytest.fixture
async def pair(postgres_dsn: str, clock: ScaledClock
               ) -> AsyncIterator[tuple[PostgresJournal, PostgresJournal]]:
    ns = uuid.uuid4().hex
    a = PostgresJournal(postgres_dsn, namespace=ns, lease=30.0, clock=clock)
    b = PostgresJournal(postgres_dsn, namespace=ns, lease=30.0, clock=clock)
    await a.open()
    await b.open()
    try:
        yield a, b
    finally:
        await a.close()
        await b.close()


async def add(j: PostgresJournal, key: str) -> None:
    await j.add(key, kind="VideoParams", params="{}", tag=None)


async def test_is_a_shared_journal(pair: tuple[PostgresJournal, PostgresJournal]) -> None:
    a, b = pair
    assert isinstance(a, SharedJournal)
    assert a.worker != b.worker


async def test_one_worker_holds_a_key_at_a_time(
        pair: tuple[PostgresJournal, PostgresJournal]) -> None:
    a, b = pair
    await add(a, "k")
    assert await a.claim("k") is not None
    assert await b.claim("k") is None
    assert await a.claim("k") is not None  # claiming again is renewing
    assert await a.holders() == {"k": a.worker}
    assert await b.claim("missing") is None


async def test_only_the_lease_holder_writes_an_attempt(
        pair: tuple[PostgresJournal, PostgresJournal]) -> None:
    a, b = pair
    await add(a, "k")
    with pytest.raises(LeaseLostError):  # nobody claimed it
        await a.update("k", Attempt(marker="m1"))
    await a.claim("k")
    with pytest.raises(LeaseLostError):
        await b.update("k", Attempt(marker="m1"))
    row = await b.get("k")
    assert row is not None and row.state is SubmissionState.PENDING and row.attempts == 0
    assert (await a.update("k", Attempt(marker="m1"))).state is SubmissionState.SUBMITTING


async def test_a_lapsed_lease_is_taken_over_and_the_old_holder_is_fenced(
        pair: tuple[PostgresJournal, PostgresJournal], clock: ScaledClock) -> None:
    a, b = pair
    for task in a._tasks:  # a stalls: no heartbeat
        task.cancel()
    await add(a, "k")
    await a.claim("k")
    await a.update("k", Attempt(marker="m1"))
    await a.update("k", Accepted(jobid="J"))
    clock.advance(29.0)
    assert await b.claim_lapsed(["k"]) == []
    clock.advance(2.0)  # past the 30 s lease
    [taken] = await b.claim_lapsed(["k"])
    assert taken.state is SubmissionState.ACCEPTED and taken.jobid == "J"
    # the stalled worker comes back: it cannot send a resubmission for the key
    with pytest.raises(LeaseLostError):
        await a.update("k", Attempt(marker="m2"))
    # but what the server told it is still recorded (a jobid is never dropped)
    assert (await a.update("k", Finished(succeeded=True))).state is SubmissionState.SUCCEEDED


async def test_the_heartbeat_keeps_a_live_workers_lease(postgres_dsn: str) -> None:
    fast = ScaledClock(0.001)  # 1000x: a 100 s lease is 0.1 s of real time
    ns = uuid.uuid4().hex
    a = PostgresJournal(postgres_dsn, namespace=ns, lease=100.0, clock=fast)
    b = PostgresJournal(postgres_dsn, namespace=ns, lease=100.0, clock=fast)
    await a.open()
    await b.open()
    try:
        await add(a, "k")
        await a.claim("k")
        start = fast.time()
        while fast.time() - start < 1000.0:  # ten leases long
            assert await b.claim("k") is None
            await anyio.sleep(0.005)
        for task in a._tasks:  # a dies: no more heartbeats
            task.cancel()
        with anyio.fail_after(5):
            while await b.claim("k") is None:
                await anyio.sleep(0.005)
    finally:
        await a.close()
        await b.close()


async def test_claim_lapsed_skips_finished_rows_and_live_leases(
        pair: tuple[PostgresJournal, PostgresJournal]) -> None:
    a, b = pair
    for key in ("free", "held", "done"):
        await add(a, key)
    await a.claim("held")
    await a.claim("done")
    await a.update("done", Finished(category=FailureCategory.REJECTED, error="x"))
    claimed = {r.key for r in await b.claim_lapsed(["free", "held", "done", "missing"])}
    assert claimed == {"free"}


async def test_finishing_or_releasing_hints_the_other_workers(
        pair: tuple[PostgresJournal, PostgresJournal]) -> None:
    a, b = pair
    seen: list[Change] = []
    b.subscribe(seen.append)
    await add(a, "k1")
    await add(a, "k2")
    await a.claim("k1")
    await a.claim("k2")
    await a.update("k1", Attempt(marker="m1"))
    await a.update("k1", Accepted(jobid="J1"))
    await a.update("k1", Finished(succeeded=True))
    await a.release(["k2"])
    await a.record_callback("J1", b'{"jobid": "J1"}')
    await a.record_callback("J1", b'{"jobid": "J1"}')  # the same body: no second hint
    with anyio.fail_after(10):
        while Change("callback", "J1") not in seen or Change("row", "k2") not in seen:
            await anyio.sleep(0.01)
    await anyio.sleep(0.1)
    assert seen.count(Change("row", "k1")) == 1
    assert seen.count(Change("callback", "J1")) == 1
    cursor, found = await b.callbacks_since(0)
    assert found == [("J1", b'{"jobid": "J1"}')]
    assert await b.callbacks_since(cursor) == (cursor, [])
    assert await b.callback_cursor() == cursor


async def test_close_gives_back_every_lease(pair: tuple[PostgresJournal, PostgresJournal],
                                            postgres_dsn: str) -> None:
    a, b = pair
    await add(a, "k")
    await a.claim("k")
    await a.close()
    assert await b.claim("k") is not None


async def test_namespaces_do_not_see_each_other(postgres_dsn: str) -> None:
    one = PostgresJournal(postgres_dsn, namespace="one")
    two = PostgresJournal(postgres_dsn + "?namespace=two")
    try:
        await add(one, "k")
        await two.add("k", kind="ImageParams", params='{"x":1}', tag=None)
        await one.set_meta("lanes", "1")
        await one.record_download("k", "video-1", "/tmp/a.mp4", 10)
        assert [r.kind for r in await one.rows()] == ["VideoParams"]
        assert [r.kind for r in await two.rows()] == ["ImageParams"]
        assert await two.get_meta("lanes") is None
        assert await two.downloads("k") == {}
        assert two.namespace == "two"
        assert await one.claim("k") is not None and await two.claim("k") is not None
    finally:
        await one.close()
        await two.close()


async def test_the_schema_is_created_once_by_concurrent_workers(postgres_dsn: str) -> None:
    journals = [PostgresJournal(postgres_dsn, namespace="x") for _ in range(5)]
    try:
        async with anyio.create_task_group() as tg:
            for j in journals:
                tg.start_soon(j.open)
    finally:
        for j in journals:
            await j.close()
    with psycopg.connect(postgres_dsn) as conn:
        version = conn.execute("SELECT version FROM flowapi_schema").fetchall()
    assert version == [(SCHEMA_VERSION,)]


async def test_a_version_1_journal_is_migrated_with_its_rows(postgres_dsn: str) -> None:
    async with await psycopg.AsyncConnection.connect(postgres_dsn) as conn:
        assert await migrate(conn, target=1) == 0
        await conn.execute(
            "INSERT INTO flowapi_submissions (namespace, key, kind, params, state, jobid, "
            "created, updated) VALUES ('n', 'old', 'VideoParams', '{}', 'accepted', 'J', 1, 1)")
        await conn.commit()
    j = PostgresJournal(postgres_dsn, namespace="n")
    try:
        [row] = await j.rows()
        assert (row.key, row.state, row.jobid) == ("old", SubmissionState.ACCEPTED, "J")
        assert await j.claim("old") is not None  # the lease columns exist now
    finally:
        await j.close()
    with psycopg.connect(postgres_dsn) as conn:
        assert conn.execute("SELECT version FROM flowapi_schema").fetchone() == (
            SCHEMA_VERSION,)


async def test_newer_or_foreign_schemas_are_refused_untouched(postgres_dsn: str) -> None:
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE flowapi_submissions (id int)")
    with pytest.raises(JournalError, match="not created by flowapi"):
        await PostgresJournal(postgres_dsn).open()
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE flowapi_submissions")
    j = PostgresJournal(postgres_dsn)
    await j.open()
    await j.close()
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute("UPDATE flowapi_schema SET version = 99")
    with pytest.raises(JournalError, match="newer than this flowapi"):
        await PostgresJournal(postgres_dsn).open()


async def test_an_unreachable_server_is_one_line_without_the_password() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    url = f"postgresql://flow:hunter2-secret@127.0.0.1:{port}/db"
    j = PostgresJournal(url, connect_timeout=0.3)
    assert "hunter2" not in repr(j) and "hunter2" not in j.url
    with pytest.raises(JournalError) as info:
        await j.open()
    text = str(info.value)
    assert "hunter2" not in text and "cannot use the PostgreSQL journal" in text
    assert info.value.__cause__ is None and info.value.__suppress_context__


async def test_urls_and_the_environment_select_it(postgres_dsn: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    journal, owned = open_journal(postgres_dsn + "?namespace=env")
    assert isinstance(journal, PostgresJournal) and owned and journal.namespace == "env"
    monkeypatch.setenv("FLOWAPI_JOURNAL", postgres_dsn)
    journal, owned = open_journal(None)
    assert isinstance(journal, PostgresJournal) and journal.namespace == "default"
    monkeypatch.setenv("FLOWAPI_JOURNAL", "")
    journal, _ = open_journal(None)
    assert not isinstance(journal, PostgresJournal)


# -- leases as a state machine ------------------------------------------------------------

class LeaseMachine(RuleBasedStateMachine):
    """Two workers claim, release, attempt and finish two keys while time moves on; the
    model says who holds what until when. After every step the database agrees, and an
    ``Attempt`` is written only by the key's live holder."""

    dsn: ClassVar[str] = ""
    LEASE = 30.0

    def __init__(self) -> None:
        super().__init__()
        self._stack = ExitStack()
        self._portal = self._stack.enter_context(start_blocking_portal("asyncio"))
        self.clock = ScaledClock(1.0)
        ns = uuid.uuid4().hex
        self.workers = [PostgresJournal(self.dsn, namespace=ns, lease=self.LEASE,
                                        clock=self.clock, listen=False) for _ in range(2)]
        self.holder: dict[str, tuple[int, float] | None] = {}  # key -> (worker, until)
        self.finished: set[str] = set()
        self.markers = 0

    def _call(self, fn: Any, *args: Any) -> Any:
        return self._portal.call(fn, *args)

    def _live_holder(self, key: str) -> int | None:
        held = self.holder.get(key)
        if held is None or held[1] < self.clock.time():
            return None
        return held[0]

    @initialize()
    def open_all(self) -> None:
        for w in self.workers:
            self._call(w.open)
            for task in w._tasks:  # leases move only by the rules below (no heartbeat)
                task.cancel()
        for key in ("a", "b"):
            self._call(lambda k=key: self.workers[0].add(k, kind="VideoParams",
                                                         params="{}", tag=None))
            self.holder[key] = None

    def teardown(self) -> None:
        try:
            for w in self.workers:
                self._call(w.close)
        finally:
            self._stack.close()

    @rule(w=st.integers(0, 1), key=st.sampled_from(["a", "b"]))
    def claim(self, w: int, key: str) -> None:
        row = self._call(self.workers[w].claim, key)
        live = self._live_holder(key)
        if live is None or live == w:
            assert row is not None
            self.holder[key] = (w, self.clock.time() + self.LEASE)
        else:
            assert row is None

    @rule(w=st.integers(0, 1), key=st.sampled_from(["a", "b"]))
    def claim_lapsed(self, w: int, key: str) -> None:
        rows = self._call(self.workers[w].claim_lapsed, [key])
        live = self._live_holder(key)
        if key not in self.finished and (live is None or live == w):
            assert [r.key for r in rows] == [key]
            self.holder[key] = (w, self.clock.time() + self.LEASE)
        else:
            assert rows == []

    @rule(w=st.integers(0, 1), key=st.sampled_from(["a", "b"]))
    def release(self, w: int, key: str) -> None:
        self._call(self.workers[w].release, [key])
        held = self.holder.get(key)
        if held is not None and held[0] == w:
            self.holder[key] = None

    @rule(w=st.integers(0, 1), key=st.sampled_from(["a", "b"]))
    def attempt(self, w: int, key: str) -> None:
        self.markers += 1
        row = self._call(self.workers[w].get, key)
        if row.state not in (SubmissionState.PENDING, SubmissionState.ACCEPTED):
            return  # the transition table decides those (tests/test_journal_conformance.py)
        event = Attempt(marker=f"m{self.markers}")
        if self._live_holder(key) == w:
            assert self._call(self.workers[w].update, key, event).state is \
                SubmissionState.SUBMITTING
        else:
            with pytest.raises(LeaseLostError):
                self._call(self.workers[w].update, key, event)

    @rule(w=st.integers(0, 1), key=st.sampled_from(["a", "b"]))
    def accept_and_finish(self, w: int, key: str) -> None:
        row = self._call(self.workers[w].get, key)
        if row.state is not SubmissionState.SUBMITTING:
            return
        self._call(self.workers[w].update, key, Accepted(jobid=f"J{self.markers}-{key}"))
        self._call(self.workers[w].update, key, Finished(succeeded=True))
        self.finished.add(key)
        self.holder[key] = None  # a finished row gives its lease back

    @rule(seconds=st.sampled_from([1.0, 10.0, 29.0, 31.0]))
    def time_passes(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @invariant()
    def the_database_agrees(self) -> None:
        if not self.holder:
            return
        holders = self._call(self.workers[0].holders)
        expected = {k: self.workers[h].worker for k in self.holder
                    if (h := self._live_holder(k)) is not None}
        assert holders == expected


def test_leases_state_machine(postgres_dsn: str) -> None:
    LeaseMachine.dsn = postgres_dsn
    run_state_machine_as_test(LeaseMachine, settings=settings(
        max_examples=30, stateful_step_count=25, deadline=None,
        suppress_health_check=[HealthCheck.too_slow]))


async def test_switching_to_a_fake_clock_renews_the_leases_at_once(postgres_dsn: str) -> None:
    """``flowapi batch`` opens its journal on the server's clock, then its watcher switches
    it to the fake's (faster) clock, which lengthens the lease to 5 real seconds: the
    heartbeat must renew on the new clock at once — not after the old clock's 10 s, by
    which time other workers would have taken this worker's keys (found by running three
    batch processes: keys "in doubt" that a live process was submitting)."""
    j = PostgresJournal(postgres_dsn, namespace=uuid.uuid4().hex, lease=30.0)
    await j.open()
    try:
        await add(j, "k")
        await j.claim("k")
        fast = ScaledClock(0.01)
        j.use_clock(fast)
        assert j.lease == pytest.approx(500.0)
        with anyio.fail_after(2):
            while True:
                with psycopg.connect(postgres_dsn) as conn:
                    row = conn.execute("SELECT lease_until FROM flowapi_submissions").fetchone()
                assert row is not None
                if row[0] > fast.time() + 400:
                    break
                await anyio.sleep(0.02)
    finally:
        await j.close()


async def test_a_dead_workers_keys_are_free_as_soon_as_its_connection_closes(
        postgres_dsn: str) -> None:
    """A worker holds an advisory lock on its listening connection while it lives: when
    the process dies (its connections close), its keys are claimable at once — long before
    its leases lapse — so a takeover finds its in-flight jobs while the API still lists
    them. Without the lock (``listen=False``, PgBouncer) the lease alone decides."""
    clock = ScaledClock(1.0)  # stands still unless advanced: leases never lapse here
    ns = uuid.uuid4().hex
    a = PostgresJournal(postgres_dsn, namespace=ns, clock=clock)
    quiet = PostgresJournal(postgres_dsn, namespace=ns, clock=clock, listen=False)
    b = PostgresJournal(postgres_dsn, namespace=ns, clock=clock)
    for j in (a, quiet, b):
        await j.open()
    try:
        with anyio.fail_after(10):
            while not a._lock_held:
                await anyio.sleep(0.01)
        for key in ("a-key", "quiet-key"):
            await add(a, key)
        await a.claim("a-key")
        await quiet.claim("quiet-key")
        assert await b.claim_lapsed(["a-key", "quiet-key"]) == []
        assert [h for _, h in await b.peek_held(["a-key"])] == [True]
        for j in (a, quiet):  # both die: their connections close, nothing is released
            for task in j._tasks:
                task.cancel()
            assert j._pool is not None
            await j._pool.close()
        with anyio.fail_after(10):
            while True:
                taken = [r.key for r in await b.claim_lapsed(["a-key", "quiet-key"])]
                if taken:
                    break
                await anyio.sleep(0.01)
        assert taken == ["a-key"]  # the lease-only worker's key waits for its lease
        clock.advance(31.0)
        assert [r.key for r in await b.claim_lapsed(["quiet-key"])] == ["quiet-key"]
    finally:
        await b.close()
