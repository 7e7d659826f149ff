"""One conformance suite for every :class:`~flowapi.journal.Journal` adapter (issue 8 item 1
and item 7's stateful test): the memory journal (the reference) and the sqlite journal must
behave the same — idempotent ``add``, every allowed transition and the refusal of every
other one (nothing written), duplicate jobids, row order, downloads, callbacks and meta — and
a hypothesis state machine drives random events against each journal and a small model of
the lifecycle written independently of :func:`flowapi.journal.apply`.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar, TypeVar

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

from flowapi.journal import (
    Accepted,
    Attempt,
    DuplicateJobidError,
    Event,
    FailureCategory,
    Finished,
    IllegalTransition,
    InDoubt,
    Journal,
    JournalError,
    MemoryJournal,
    PostgresJournal,
    Refused,
    Retry,
    SqliteJournal,
    Submission,
    SubmissionState,
)

S, C = SubmissionState, FailureCategory
_T = TypeVar("_T")

pytestmark = pytest.mark.anyio


class ClaimingPostgresJournal(PostgresJournal):
    """The PostgreSQL journal as a watcher uses it: a key is claimed before each
    ``Attempt`` and ``Retry`` (only the lease holder writes them; a finished row's lease is
    given back; tests/test_postgres_journal.py covers leases)."""

    async def update(self, key: str, event: Event) -> Submission:
        if isinstance(event, Attempt | Retry):
            await self.claim(key)
        return await super().update(key, event)


def _make(kind: str, directory: Path, dsn: str | None = None) -> Journal:
    if kind == "postgres":
        assert dsn is not None
        return ClaimingPostgresJournal(dsn, namespace=f"conformance-{uuid.uuid4().hex}")
    return MemoryJournal() if kind == "memory" else SqliteJournal(directory / "j.sqlite")


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def journal(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Journal]:
    dsn = request.getfixturevalue("postgres_dsn") if request.param == "postgres" else None
    j = _make(request.param, tmp_path, dsn)
    await j.open()
    try:
        yield j
    finally:
        await j.close()


async def _new(j: Journal, key: str) -> Submission:
    return await j.add(key, kind="VideoParams", params=f'{{"prompt":"{key}"}}', tag='"t"')


# The events that bring a fresh row to each state.
_PATHS: dict[SubmissionState, list[Event]] = {
    S.PENDING: [],
    S.SUBMITTING: [Attempt(marker="m-a")],
    S.UNKNOWN: [Attempt(marker="m-a"), InDoubt(reason="read timeout")],
    S.ACCEPTED: [Attempt(marker="m-a"), Accepted(jobid="J")],
    S.SUCCEEDED: [Attempt(marker="m-a"), Accepted(jobid="J"), Finished(succeeded=True)],
    S.FAILED: [Attempt(marker="m-a"), Finished(category=C.REJECTED, error="400")],
}

# Which events each state allows (written from the design's table, not from apply()).
_PROBES: dict[str, tuple[Event, frozenset[SubmissionState], SubmissionState]] = {
    "attempt": (Attempt(marker="m-b"), frozenset({S.PENDING, S.ACCEPTED}), S.SUBMITTING),
    "refused": (Refused(), frozenset({S.SUBMITTING}), S.PENDING),
    "in_doubt": (InDoubt(), frozenset({S.SUBMITTING}), S.UNKNOWN),
    "accepted": (Accepted(jobid="K"), frozenset({S.SUBMITTING, S.UNKNOWN}), S.ACCEPTED),
    "succeeded": (Finished(succeeded=True), frozenset({S.ACCEPTED}), S.SUCCEEDED),
    "failed": (Finished(category=C.JOB_FAILED, error="x"),
               frozenset({S.PENDING, S.SUBMITTING, S.UNKNOWN, S.ACCEPTED}), S.FAILED),
    "retry": (Retry(), frozenset({S.FAILED}), S.PENDING),
}


async def _at(j: Journal, key: str, state: SubmissionState) -> Submission:
    row = await _new(j, key)
    for event in _PATHS[state]:
        if isinstance(event, Accepted):
            event = replace(event, jobid=f"{event.jobid}-{key}")
        row = await j.update(key, event)
    assert row.state is state
    return row


# -- add / get ---------------------------------------------------------------------------


async def test_add_is_idempotent_and_get_returns_the_stored_row(journal: Journal) -> None:
    assert isinstance(journal, Journal)
    assert await journal.get("k") is None
    row = await _new(journal, "k")
    assert (row.key, row.kind, row.params, row.tag, row.state, row.attempts, row.markers) == (
        "k", "VideoParams", '{"prompt":"k"}', '"t"', S.PENDING, 0, ())
    assert row.created > 0 and row.updated == row.created
    again = await journal.add("k", kind="ImageParams", params="{}", tag=None)
    assert again == row  # unchanged
    assert await journal.get("k") == row


async def test_the_whole_happy_path_records_every_field(journal: Journal) -> None:
    await _new(journal, "k")
    row = await journal.update("k", Attempt(marker="m1"))
    assert (row.state, row.attempts, row.marker, row.markers) == (S.SUBMITTING, 1, "m1",
                                                                   ("m1",))
    row = await journal.update("k", Accepted(jobid="job-1", job='{"status":"created"}'))
    assert (row.state, row.jobid, row.job) == (S.ACCEPTED, "job-1", '{"status":"created"}')
    row = await journal.update("k", Finished(succeeded=True, job='{"status":"completed"}'))
    assert (row.state, row.jobid, row.job, row.category) == (
        S.SUCCEEDED, "job-1", '{"status":"completed"}', None)
    assert await journal.get("k") == row
    assert row.updated >= row.created


# -- transitions -------------------------------------------------------------------------


async def test_every_event_in_every_state_is_applied_or_refused(journal: Journal) -> None:
    for state in S:
        for name, (event, allowed, target) in _PROBES.items():
            key = f"{state.value}-{name}"
            before = await _at(journal, key, state)
            if isinstance(event, Accepted):
                event = replace(event, jobid=f"K-{key}")
            if state in allowed:
                after = await journal.update(key, event)
                assert after.state is target, (state, name)
                assert await journal.get(key) == after
            else:
                with pytest.raises(IllegalTransition):
                    await journal.update(key, event)
                assert await journal.get(key) == before, (state, name)  # nothing written


@pytest.mark.parametrize(("setup", "event", "state"), [
    # a resubmission (e.g. after moderation) from accepted starts a new attempt
    ([Attempt(marker="m1"), Accepted(jobid="J1")], Attempt(marker="m2"), S.SUBMITTING),
    # in doubt, then found by marker
    ([Attempt(marker="m1"), InDoubt()], Accepted(jobid="J1"), S.ACCEPTED),
    # in doubt and not found
    ([Attempt(marker="m1"), InDoubt()], Finished(category=C.IN_DOUBT), S.FAILED),
    # a failure where a job may exist can be adopted by a later run
    ([Attempt(marker="m1"), InDoubt(), Finished(category=C.IN_DOUBT)], Accepted(jobid="J1"),
     S.ACCEPTED),
    ([Attempt(marker="m1"), Accepted(jobid="J1"), Finished(category=C.TIMEOUT)],
     Accepted(jobid="J1"), S.ACCEPTED),
    # retrying such a failure needs force
    ([Attempt(marker="m1"), InDoubt(), Finished(category=C.IN_DOUBT)], Retry(force=True),
     S.PENDING),
    ([Attempt(marker="m1"), Accepted(jobid="J1"), Finished(category=C.MODERATED)], Retry(),
     S.PENDING),
    # resubmit_in_doubt: an in-doubt submit the lookup did not find, in one step (forced)
    ([Attempt(marker="m1"), InDoubt()], Retry(force=True), S.PENDING),
    ([Attempt(marker="m1")], Retry(force=True), S.PENDING),
    # a definite refusal at submit, or locally before any attempt
    ([Attempt(marker="m1")], Finished(category=C.REJECTED, jobid=None), S.FAILED),
    ([], Finished(category=C.REJECTED), S.FAILED),
    # an in-doubt failure looked up again by a later run and still not found
    ([Attempt(marker="m1"), InDoubt(), Finished(category=C.IN_DOUBT)],
     Finished(category=C.IN_DOUBT), S.FAILED),
])
async def test_allowed_transitions(journal: Journal, setup: list[Event], event: Event,
                                   state: SubmissionState) -> None:
    await _new(journal, "k")
    for e in setup:
        await journal.update("k", e)
    row = await journal.update("k", event)
    assert row.state is state
    assert await journal.get("k") == row


@pytest.mark.parametrize(("setup", "event"), [
    ([], Attempt(marker="")),  # a marker is required
    ([Attempt(marker="m1"), Refused()], Attempt(marker="m1")),  # and new for each attempt
    ([Attempt(marker="m1")], Accepted(jobid="")),
    ([Attempt(marker="m1")], Finished(succeeded=True)),  # success needs a job
    ([Attempt(marker="m1")], Finished(category=None)),  # a failure needs a category
    ([Attempt(marker="m1"), InDoubt(), Finished(category=C.IN_DOUBT)], Retry()),  # force
    ([Attempt(marker="m1"), InDoubt()], Retry()),  # in doubt: force needed
    ([Attempt(marker="m1")], Retry()),
    ([Attempt(marker="m1"), Accepted(jobid="J1"), Finished(category=C.UNREADABLE)], Retry()),
    ([Attempt(marker="m1"), Finished(category=C.REJECTED)], Accepted(jobid="J1")),
    # a definite failure is final: it is not recorded again
    ([Attempt(marker="m1"), Finished(category=C.REJECTED)], Finished(category=C.REJECTED)),
    ([Attempt(marker="m1"), Accepted(jobid="J1"), Finished(succeeded=True)], Retry(force=True)),
])
async def test_malformed_or_illegal_events_write_nothing(journal: Journal, setup: list[Event],
                                                         event: Event) -> None:
    await _new(journal, "k")
    for e in setup:
        await journal.update("k", e)
    before = await journal.get("k")
    with pytest.raises(IllegalTransition):
        await journal.update("k", event)
    assert await journal.get("k") == before


async def test_updating_a_missing_row_is_a_journal_error(journal: Journal) -> None:
    with pytest.raises(JournalError, match="no journal row"):
        await journal.update("missing", Attempt(marker="m1"))
    assert await journal.rows() == []


async def test_a_jobid_belongs_to_one_key(journal: Journal) -> None:
    await _at(journal, "a", S.SUBMITTING)
    await journal.update("a", Accepted(jobid="J"))
    await _at(journal, "b", S.SUBMITTING)
    before = await journal.get("b")
    with pytest.raises(DuplicateJobidError) as info:
        await journal.update("b", Accepted(jobid="J"))
    assert (info.value.jobid, info.value.owner) == ("J", "a")
    assert await journal.get("b") == before
    # the owner may be told again (e.g. adopted after a timeout)
    await journal.update("a", Finished(category=C.TIMEOUT))
    assert (await journal.update("a", Accepted(jobid="J"))).jobid == "J"
    # once the owner moved on to a new attempt, the jobid is free
    await journal.update("a", Attempt(marker="a-2"))
    assert (await journal.update("b", Accepted(jobid="J"))).jobid == "J"


async def test_failed_rows_keep_their_jobid_and_retry_clears_it(journal: Journal) -> None:
    await _at(journal, "k", S.ACCEPTED)
    row = await journal.update("k", Finished(category=C.MODERATED, error="unsafe"))
    assert (row.jobid, row.category, row.error) == ("J-k", C.MODERATED, "unsafe")
    row = await journal.update("k", Retry())
    assert (row.state, row.jobid, row.category, row.error, row.attempts) == (
        S.PENDING, None, None, None, 1)
    row = await journal.update("k", Attempt(marker="m-2"))
    assert (row.attempts, row.markers) == (2, ("m-a", "m-2"))


# -- rows, downloads, callbacks, meta -------------------------------------------------------


async def test_rows_come_in_insertion_order(journal: Journal) -> None:
    for key in ("c", "a", "b"):
        await _new(journal, key)
    await journal.update("a", Attempt(marker="m1"))
    await _new(journal, "c")
    rows = await journal.rows()
    assert [r.key for r in rows] == ["c", "a", "b"]
    assert rows[1] == await journal.get("a")


async def test_downloads(journal: Journal) -> None:
    await _new(journal, "k")
    assert await journal.downloads("k") == {}
    await journal.record_download("k", "video-1", "/out/k.mp4", 1024)
    await journal.record_download("k", "thumbnail-1", "/out/k.jpg", 10)
    await journal.record_download("k", "video-1", "/out/k-2.mp4", 2048)
    assert await journal.downloads("k") == {"video-1": ("/out/k-2.mp4", 2048),
                                            "thumbnail-1": ("/out/k.jpg", 10)}
    assert await journal.downloads("other") == {}


async def test_callbacks_keep_the_latest_body_per_jobid(journal: Journal) -> None:
    assert await journal.callbacks() == {}
    await journal.record_callback("J1", b'{"status":"started"}')
    await journal.record_callback("J2", b"\x00\xff binary")
    await journal.record_callback("J1", b'{"status":"completed"}')
    assert await journal.callbacks() == {"J1": b'{"status":"completed"}',
                                         "J2": b"\x00\xff binary"}


async def test_meta(journal: Journal) -> None:
    assert await journal.get_meta("lanes") is None
    await journal.set_meta("lanes", "[]")
    await journal.set_meta("lanes", '["a@example.com"]')
    await journal.set_meta("other", "")
    assert await journal.get_meta("lanes") == '["a@example.com"]'
    assert await journal.get_meta("other") == ""


# -- the stateful test -------------------------------------------------------------------

KEYS = ("k1", "k2")
JOBIDS = ("J1", "J2")
_MAY_HAVE_PAID = frozenset({C.IN_DOUBT, C.TIMEOUT, C.UNREADABLE})


@dataclass
class ModelRow:
    """What the model expects of one row."""

    state: SubmissionState = S.PENDING
    attempts: int = 0
    markers: list[str] = field(default_factory=list)
    jobid: str | None = None
    category: FailureCategory | None = None


def _expect(model: dict[str, ModelRow], key: str,
            event: Event) -> ModelRow | type[Exception]:
    """The model's lifecycle: the new row, or the error the journal must raise."""
    m = model.get(key)
    if m is None:
        return JournalError
    if isinstance(event, Accepted) and any(
            k != key and r.jobid == event.jobid for k, r in model.items()):
        return DuplicateJobidError
    new = ModelRow(m.state, m.attempts, list(m.markers), m.jobid, m.category)
    if isinstance(event, Attempt):
        if m.state not in (S.PENDING, S.ACCEPTED) or not event.marker \
                or event.marker in m.markers:
            return IllegalTransition
        new.state, new.jobid = S.SUBMITTING, None
        new.attempts += 1
        new.markers.append(event.marker)
    elif isinstance(event, Refused | InDoubt):
        if m.state is not S.SUBMITTING:
            return IllegalTransition
        new.state = S.PENDING if isinstance(event, Refused) else S.UNKNOWN
    elif isinstance(event, Accepted):
        if not (m.state in (S.SUBMITTING, S.UNKNOWN)
                or (m.state is S.FAILED and m.category in _MAY_HAVE_PAID)):
            return IllegalTransition
        new.state, new.jobid = S.ACCEPTED, event.jobid
    elif isinstance(event, Finished) and event.succeeded:
        if m.state is not S.ACCEPTED:
            return IllegalTransition
        new.state, new.category = S.SUCCEEDED, None
    elif isinstance(event, Finished):
        # refused locally (pending), at submit, in doubt, or a job's failure; an in-doubt
        # failure is recorded again after another lookup
        if event.category is None or not (
                m.state in (S.PENDING, S.SUBMITTING, S.UNKNOWN, S.ACCEPTED)
                or (m.state is S.FAILED and m.category is C.IN_DOUBT)):
            return IllegalTransition
        new.state, new.category = S.FAILED, event.category
    else:
        assert isinstance(event, Retry)
        in_doubt = m.state in (S.SUBMITTING, S.UNKNOWN)
        if not (m.state is S.FAILED or in_doubt) or (
                (in_doubt or m.category in _MAY_HAVE_PAID) and not event.force):
            return IllegalTransition
        new.state, new.category, new.jobid = S.PENDING, None, None
    return new


class JournalMachine(RuleBasedStateMachine):
    """Random events against one journal and the model; invariants after every step."""

    kind: ClassVar[str]
    dsn: ClassVar[str | None] = None

    def __init__(self) -> None:
        super().__init__()
        self._stack = ExitStack()
        self._portal = self._stack.enter_context(start_blocking_portal("asyncio"))
        self._dir = Path(self._stack.enter_context(tempfile.TemporaryDirectory()))
        self.journal = _make(self.kind, self._dir, self.dsn)
        self.model: dict[str, ModelRow] = {}
        self.order: list[str] = []
        self.seen_attempts: dict[str, int] = {}
        self.markers = 0

    def _call(self, fn: Callable[..., Awaitable[_T]], *args: Any) -> _T:
        return self._portal.call(fn, *args)

    def teardown(self) -> None:
        try:
            self._call(self.journal.close)
        finally:
            self._stack.close()

    @initialize()
    def open_journal(self) -> None:
        self._call(self.journal.open)

    def _apply(self, key: str, event: Event) -> None:
        expected = _expect(self.model, key, event)
        if isinstance(expected, type):
            before = self._call(self.journal.get, key)
            with pytest.raises(expected) as info:
                self._call(self.journal.update, key, event)
            assert type(info.value) is expected
            assert self._call(self.journal.get, key) == before
            return
        row = self._call(self.journal.update, key, event)
        self.model[key] = expected
        got = ModelRow(row.state, row.attempts, list(row.markers), row.jobid, row.category)
        assert got == expected
        assert row.marker == (row.markers[-1] if row.markers else None)

    @rule(key=st.sampled_from(KEYS))
    def add(self, key: str) -> None:
        row = self._call(lambda: self.journal.add(key, kind="VideoParams", params="{}",
                                                  tag=None))
        if key not in self.model:
            self.model[key] = ModelRow()
            self.order.append(key)
        assert row.state is self.model[key].state

    @rule(key=st.sampled_from(KEYS), fresh=st.sampled_from([True, True, True, False]))
    def attempt(self, key: str, fresh: bool) -> None:
        if fresh:
            self.markers += 1
            marker = f"flowapi:{self.markers:024x}"
        else:  # an empty or reused marker must be refused
            used = self.model[key].markers if key in self.model else []
            marker = used[-1] if used else ""
        self._apply(key, Attempt(marker=marker))

    @rule(key=st.sampled_from(KEYS))
    def refused(self, key: str) -> None:
        self._apply(key, Refused())

    @rule(key=st.sampled_from(KEYS))
    def in_doubt(self, key: str) -> None:
        self._apply(key, InDoubt(reason="read timeout"))

    @rule(key=st.sampled_from(KEYS), jobid=st.sampled_from(JOBIDS))
    def accepted(self, key: str, jobid: str) -> None:
        self._apply(key, Accepted(jobid=jobid))

    @rule(key=st.sampled_from(KEYS), succeeded=st.booleans(),
          category=st.none() | st.sampled_from(list(C)))
    def finished(self, key: str, succeeded: bool, category: FailureCategory | None) -> None:
        self._apply(key, Finished(succeeded=succeeded, category=category, error="e"))

    @rule(key=st.sampled_from(KEYS), force=st.booleans())
    def retry(self, key: str, force: bool) -> None:
        self._apply(key, Retry(force=force))

    @rule()
    def reopen(self) -> None:
        """Close and open again: everything committed is still there."""
        self._call(self.journal.close)
        self._call(self.journal.open)

    @invariant()
    def rows_match_the_model(self) -> None:
        rows = self._call(self.journal.rows)
        assert [r.key for r in rows] == self.order
        jobids = [r.jobid for r in rows if r.jobid is not None]
        assert len(jobids) == len(set(jobids)), "a jobid belongs to two keys"
        markers = [m for r in rows for m in r.markers]
        assert len(markers) == len(set(markers)), "a marker was used twice"
        for row in rows:
            assert row.state is self.model[row.key].state
            assert row.attempts >= self.seen_attempts.get(row.key, 0), "attempts went down"
            self.seen_attempts[row.key] = row.attempts
            assert len(set(row.markers)) == len(row.markers) == row.attempts


_STATEFUL = settings(max_examples=60, stateful_step_count=30, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow])


@_STATEFUL
class MemoryJournalMachine(JournalMachine):
    kind = "memory"


@settings(_STATEFUL, max_examples=40)
class SqliteJournalMachine(JournalMachine):
    kind = "sqlite"


TestMemoryJournalStateMachine = MemoryJournalMachine.TestCase
TestSqliteJournalStateMachine = SqliteJournalMachine.TestCase


class PostgresJournalMachine(JournalMachine):
    kind = "postgres"


def test_postgres_journal_state_machine(postgres_dsn: str) -> None:
    """The same random event sequences against the PostgreSQL journal (each example in its
    own namespace of one fresh database)."""
    PostgresJournalMachine.dsn = postgres_dsn
    run_state_machine_as_test(PostgresJournalMachine,
                              settings=settings(_STATEFUL, max_examples=25))
