"""The sqlite journal's own promises (issue 8 item 1; defects 8, 13, 16): file mode 0600,
one writer per file within and across processes, sqlite off the event loop, a corrupt /
foreign / locked / unreadable file refused with a :class:`JournalError` that says what to
do, a 0.1 journal migrated in place, and rows that survive ``kill -9``.

The behaviour every journal shares is in ``test_journal_conformance.py``.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import anyio
import pytest

from flowapi.journal import (
    Accepted,
    Attempt,
    FailureCategory,
    Finished,
    JournalError,
    JournalLockedError,
    Refused,
    SqliteJournal,
    SubmissionState,
)

pytestmark = pytest.mark.anyio

posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes and signals are POSIX")


def _child(path: Path, body: str) -> subprocess.Popen[str]:
    """A child Python process running ``body`` (async, ``j`` = the journal at ``path``) that
    prints ``ready`` and then waits for stdin to close (or to be killed)."""
    code = textwrap.dedent("""
        import sys, anyio
        from flowapi.journal import *

        async def main():
            j = SqliteJournal(sys.argv[1])
        {body}
            print("ready", flush=True)
            sys.stdin.read()
            await j.close()

        try:
            anyio.run(main)
        except JournalLockedError as exc:
            print("locked:", exc, flush=True)
    """).format(body=textwrap.indent(textwrap.dedent(body), " " * 4))
    return subprocess.Popen([sys.executable, "-c", code, str(path)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


def _first_line(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line:
        assert proc.stderr is not None
        proc.wait()
        raise AssertionError(f"child ended without output: {proc.stderr.read()}")
    return line


async def _add_and_attempt(j: SqliteJournal, key: str = "k1", marker: str = "m1") -> None:
    await j.add(key, kind="VideoParams", params='{"prompt":"x"}', tag=None)
    await j.update(key, Attempt(marker=marker))


# -- file mode ---------------------------------------------------------------------------


@posix_only
async def test_database_lock_and_wal_files_are_private(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "dir" / "journal.sqlite"
    j = SqliteJournal(path)
    await j.open()
    try:
        await _add_and_attempt(j)
        for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + ".lock")):
            assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
    finally:
        await j.close()


# -- one writer per file (defect 8) ------------------------------------------------------


async def test_second_journal_on_the_same_file_in_one_process_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    first = SqliteJournal(path)
    await first.open()
    try:
        (tmp_path / "link").symlink_to(tmp_path, target_is_directory=True)
        second = SqliteJournal(tmp_path / "link" / "j.sqlite")  # another spelling of the path
        with pytest.raises(JournalLockedError, match="in use"):
            await second.open()
        await second.close()
        await first.add("k", kind="VideoParams", params="{}", tag=None)  # first still works
    finally:
        await first.close()
    third = SqliteJournal(path)  # released by close()
    await third.open()
    await third.close()


@posix_only
async def test_closing_a_refused_handle_does_not_unlock_the_file(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    holder = SqliteJournal(path)
    await holder.open()
    try:
        refused = SqliteJournal(path)
        with pytest.raises(JournalLockedError):
            await refused.open()
        await refused.close()  # must not release the holder's lock
        with pytest.raises(JournalLockedError):
            await SqliteJournal(path).open()
        proc = _child(path, "await j.open()")
        try:
            assert _first_line(proc).startswith("locked:")
        finally:
            _kill(proc)
    finally:
        await holder.close()


@posix_only
async def test_another_process_is_refused_until_the_holder_is_killed(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    proc = _child(path, "await j.open()")
    try:
        assert _first_line(proc) == "ready"
        j = SqliteJournal(path)
        with pytest.raises(JournalLockedError, match="another"):
            await j.open()
    finally:
        _kill(proc)  # kill -9: the OS releases the lock
    await j.open()
    await j.close()


@posix_only
async def test_a_running_flowapi_0_1_is_refused(tmp_path: Path) -> None:
    """flowapi 0.1 locked ``<journal>.lock`` with ``fcntl.lockf``; such a process still
    running keeps this version out too."""
    path = tmp_path / "j.sqlite"
    code = ("import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600); "
            "fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB); print('ready', flush=True); "
            "sys.stdin.read()")
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "j.sqlite.lock")],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert _first_line(proc) == "ready"
        with pytest.raises(JournalLockedError, match=r"flowapi 0\.1"):
            await SqliteJournal(path).open()
    finally:
        _kill(proc)
    j = SqliteJournal(path)
    await j.open()
    await j.close()


async def test_a_journal_dropped_without_close_releases_its_lock(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    j = SqliteJournal(path)
    await j.open()
    del j
    gc.collect()
    again = SqliteJournal(path)
    await again.open()
    await again.close()


# -- refusing bad files with advice (defect 16) ------------------------------------------


async def test_a_file_that_is_not_a_database_is_refused_with_advice(tmp_path: Path) -> None:
    path = tmp_path / "prompts.txt"
    path.write_text("a cat surfing a wave\n" * 50)
    j = SqliteJournal(path)
    with pytest.raises(JournalError) as info:
        await j.open()
    message = str(info.value)
    assert str(path) in message and "not a flowapi journal" in message
    assert "--journal" in message  # what to do
    assert path.read_text() == "a cat surfing a wave\n" * 50  # untouched
    await j.close()


async def test_a_corrupt_journal_is_refused_with_advice(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    j = SqliteJournal(path)
    for i in range(200):
        await j.add(f"key-{i}", kind="VideoParams", params=f'{{"prompt":"{"x" * 200}"}}',
                    tag=None)
    await j.close()
    data = bytearray(path.read_bytes())
    assert len(data) > 4 * 4096
    data[2 * 4096:3 * 4096] = b"\xa5" * 4096  # a page of garbage
    path.write_bytes(bytes(data))
    with pytest.raises(JournalError) as info:
        await SqliteJournal(path).open()
    assert not isinstance(info.value, JournalLockedError)
    assert "corrupt" in str(info.value) and str(path) in str(info.value)


async def test_a_foreign_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
        db.execute("INSERT INTO users (name) VALUES ('ada')")
    db.close()
    with pytest.raises(JournalError, match="not a flowapi journal") as info:
        await SqliteJournal(path).open()
    assert "--journal" in str(info.value)
    with sqlite3.connect(path) as db:  # untouched
        assert db.execute("SELECT name FROM users").fetchall() == [("ada",)]
        assert db.execute("SELECT count(*) FROM sqlite_master").fetchone() == (1,)
    db.close()


async def test_a_database_of_another_application_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    db = sqlite3.connect(path)
    db.execute("PRAGMA application_id=1234")
    db.execute("CREATE TABLE submissions (x)")
    db.commit()
    db.close()
    with pytest.raises(JournalError, match="not a flowapi journal"):
        await SqliteJournal(path).open()


async def test_a_journal_from_a_newer_flowapi_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    j = SqliteJournal(path)
    await j.open()
    await j.close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version=999")
    db.commit()
    db.close()
    with pytest.raises(JournalError, match="newer"):
        await SqliteJournal(path).open()


async def test_a_directory_is_refused_with_advice(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="cannot open") as info:
        await SqliteJournal(tmp_path).open()
    assert str(tmp_path) in str(info.value) and "--journal" in str(info.value)


async def test_a_path_under_a_file_is_refused_with_advice(tmp_path: Path) -> None:
    (tmp_path / "out").write_text("not a directory")
    with pytest.raises(JournalError, match="cannot open") as info:
        await SqliteJournal(tmp_path / "out" / "j.sqlite").open()
    assert "--journal" in str(info.value)


@posix_only
@pytest.mark.skipif(os.name == "posix" and os.geteuid() == 0, reason="root reads any file")
async def test_an_unreadable_file_is_refused_with_advice(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    j = SqliteJournal(path)
    await j.open()
    await j.close()
    path.chmod(0)
    with pytest.raises(JournalError, match="cannot open") as info:
        await SqliteJournal(path).open()
    assert "permission" in str(info.value).lower()


async def test_a_write_lock_held_by_another_program_gives_journal_locked_error(
        tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    j = SqliteJournal(path, busy_timeout=0.01)
    await j.add("k", kind="VideoParams", params="{}", tag=None)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(JournalLockedError, match="locked") as info:
            await j.update("k", Attempt(marker="m1"))
        assert isinstance(info.value.__cause__, sqlite3.OperationalError)
    finally:
        other.execute("ROLLBACK")
        other.close()
    row = await j.update("k", Attempt(marker="m1"))  # nothing was written by the failure
    assert row.attempts == 1
    await j.close()


# -- off the event loop (defect 13) -------------------------------------------------------


async def test_the_event_loop_runs_while_another_program_holds_the_write_lock(
        tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    j = SqliteJournal(path, busy_timeout=600.0)
    await j.add("k", kind="VideoParams", params="{}", tag=None)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    ticks = 0
    written = anyio.Event()

    async def write() -> None:
        await j.update("k", Attempt(marker="m1"))
        written.set()

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(write)
            while ticks < 200:  # a concurrent task makes progress while the write waits
                await anyio.sleep(0)
                ticks += 1
            assert not written.is_set()
            other.execute("COMMIT")
    finally:
        if other.in_transaction:
            other.execute("ROLLBACK")
        other.close()
    assert written.is_set()
    row = await j.get("k")
    assert row is not None and row.state is SubmissionState.SUBMITTING
    await j.close()


# -- durability --------------------------------------------------------------------------


@posix_only
async def test_a_row_written_by_a_killed_process_is_there_when_reopened(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    proc = _child(path, """
        await j.add("k", kind="VideoParams", params="{}", tag=None)
        await j.update("k", Attempt(marker="m1"))
        await j.update("k", Accepted(jobid="job-1"))
    """)
    try:
        assert _first_line(proc) == "ready"
    finally:
        _kill(proc)
    j = SqliteJournal(path)
    row = await j.get("k")
    assert row is not None
    assert (row.state, row.jobid, row.markers) == (SubmissionState.ACCEPTED, "job-1", ("m1",))
    await j.close()


async def test_money_events_are_committed_with_synchronous_full(tmp_path: Path) -> None:
    for durable, expected in ((True, ["FULL", "NORMAL"]), (False, ["NORMAL", "NORMAL"])):
        j = SqliteJournal(tmp_path / f"j{durable}.sqlite", durable=durable)
        await j.add("k", kind="VideoParams", params="{}", tag=None)
        modes = []
        for event in (Attempt(marker="m1"), Refused()):  # money, then not
            statements: list[str] = []
            assert j._db is not None
            j._db.set_trace_callback(statements.append)
            await j.update("k", event)
            j._db.set_trace_callback(None)
            commit = next(i for i, s in enumerate(statements) if s.upper() == "COMMIT")
            pragma = [s for s in statements[:commit] if "synchronous" in s.lower()]
            modes.append(pragma[-1].rsplit("=", 1)[-1].strip().upper())
        assert modes == expected, durable
        await j.close()


# -- migration of a flowapi 0.1 journal --------------------------------------------------

_V01_SCHEMA = """
CREATE TABLE submissions (
    key TEXT PRIMARY KEY, params_type TEXT NOT NULL, params TEXT NOT NULL, tag TEXT,
    state TEXT NOT NULL, jobid TEXT, reply_ref TEXT, attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT, job TEXT, created REAL NOT NULL, updated REAL NOT NULL);
CREATE INDEX submissions_state ON submissions(state);
CREATE TABLE downloads (key TEXT NOT NULL, name TEXT NOT NULL, path TEXT NOT NULL,
    bytes INTEGER NOT NULL, PRIMARY KEY (key, name));
CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
"""

_V01_ROWS = [
    # key, state, jobid, reply_ref, attempts, error, job
    ("q", "queued", None, None, 0, None, None),
    ("s", "submitting", None, "flowapi-s", 1, None, None),
    ("own", "submitting", None, "mine", 1, None, None),
    ("a", "accepted", "job-a", "flowapi-a", 1, None, None),
    ("ok", "succeeded", "job-ok", "flowapi-ok", 1, None, '{"jobid":"job-ok"}'),
    ("t", "failed", "job-t", None, 1, "JobTimeoutError: job-t ran past 7200 s", None),
    ("amb", "failed", None, "flowapi-amb", 1, "AmbiguousSubmitError: not found", None),
    ("mod", "failed", "job-mod", None, 1, "JobFailedError: PUBLIC_ERROR_UNSAFE_GENERATION",
     None),
    ("mod2", "failed", "job-m2", None, 1, "JobFailedError: blocked by moderation", None),
    ("cap", "failed", None, None, 1, "CaptchaRejectedError: captcha_quality: low", None),
    ("bad", "failed", None, None, 1, "BadRequestError: 400 aspectRatio", None),
    ("inv", "failed", None, None, 0, "InvalidParamsError: prompt is empty", None),
    ("other", "failed", "job-o", None, 1, "JobFailedError: internal error", None),
]


def _v01_wire(key: str, reply_ref: str | None) -> str:
    """The params 0.1 stored: the wire body as sent, with its replyRef, unsorted."""
    body: dict[str, str] = {"prompt": key, "model": "veo-3.1-fast"}
    if reply_ref is not None:
        body["replyRef"] = reply_ref
    return json.dumps(body)


def _write_v01(path: Path, rows: list[tuple[str, str, str | None, str | None, int, str | None,
                                           str | None]]) -> None:
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(_V01_SCHEMA)
    for n, (key, state, jobid, ref, attempts, error, job) in enumerate(rows):
        db.execute("INSERT INTO submissions VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                   (key, "VideoParams", _v01_wire(key, ref), '"t"', state, jobid, ref,
                    attempts, error, job, 1000.0 + n, 2000.0 + n))
    db.execute("INSERT INTO downloads VALUES ('ok', 'video-1', '/out/ok.mp4', 1234)")
    db.execute("INSERT INTO meta VALUES ('prompts_sha', 'abc')")
    db.commit()
    db.close()


async def test_a_flowapi_0_1_journal_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    _write_v01(path, _V01_ROWS)
    j = SqliteJournal(path)
    await j.open()
    rows = {r.key: r for r in await j.rows()}
    assert [r.key for r in await j.rows()] == [r[0] for r in _V01_ROWS]  # order kept
    S, C = SubmissionState, FailureCategory
    assert rows["q"].state is S.PENDING and rows["q"].markers == ()
    assert (rows["s"].state, rows["s"].marker, rows["s"].markers, rows["s"].attempts) == (
        S.SUBMITTING, "flowapi-s", ("flowapi-s",), 1)
    assert (rows["a"].state, rows["a"].jobid) == (S.ACCEPTED, "job-a")
    assert (rows["ok"].state, rows["ok"].jobid, rows["ok"].job) == (
        S.SUCCEEDED, "job-ok", '{"jobid":"job-ok"}')
    categories = {k: rows[k].category for k in ("t", "amb", "mod", "mod2", "cap", "bad", "inv",
                                                 "other")}
    assert categories == {"t": C.TIMEOUT, "amb": C.IN_DOUBT, "mod": C.MODERATED,
                          "mod2": C.MODERATED, "cap": C.CAPTCHA, "bad": C.REJECTED,
                          "inv": C.REJECTED, "other": C.JOB_FAILED}
    assert all(rows[k].state is S.FAILED for k in categories)
    assert (rows["t"].jobid, rows["t"].error) == ("job-t",
                                                  "JobTimeoutError: job-t ran past 7200 s")
    assert (rows["q"].kind, rows["q"].params, rows["q"].tag) == (
        "VideoParams", '{"model":"veo-3.1-fast","prompt":"q"}', '"t"')  # canonical
    assert rows["s"].params == '{"model":"veo-3.1-fast","prompt":"s"}'  # 0.1's marker dropped
    assert rows["own"].params == '{"model":"veo-3.1-fast","prompt":"own","replyRef":"mine"}'
    assert rows["own"].markers == ("mine",)
    assert (rows["q"].created, rows["q"].updated) == (1000.0, 2000.0)
    assert await j.downloads("ok") == {"video-1": ("/out/ok.mp4", 1234)}
    assert await j.get_meta("prompts_sha") == "abc"
    # the migrated rows move on like any other
    assert (await j.update("s", Accepted(jobid="job-s"))).state is S.ACCEPTED
    assert (await j.update("a", Finished(succeeded=True))).state is S.SUCCEEDED
    await j.close()
    j2 = SqliteJournal(path)  # a second open does not migrate again
    row = await j2.get("s")
    assert row is not None and row.jobid == "job-s"
    await j2.close()


async def test_a_0_1_journal_that_cannot_be_migrated_is_refused_untouched(
        tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    _write_v01(path, [("q", "queued", None, None, 0, None, None),
                      ("x", "exploded", None, None, 0, None, None)])
    with pytest.raises(JournalError, match=r"0\.1") as info:
        await SqliteJournal(path).open()
    assert "exploded" in str(info.value)
    db = sqlite3.connect(path)
    assert db.execute("SELECT key, state FROM submissions ORDER BY rowid").fetchall() == [
        ("q", "queued"), ("x", "exploded")]
    db.close()


# -- lifecycle ---------------------------------------------------------------------------


async def test_methods_open_implicitly_and_open_close_are_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    j = SqliteJournal(path)
    assert "j.sqlite" in repr(j) and j.path == path
    assert await j.get("missing") is None  # opened implicitly
    await j.open()
    await j.open()
    with pytest.raises(JournalLockedError):
        await SqliteJournal(path).open()
    await j.close()
    await j.close()
    await j.add("k", kind="VideoParams", params="{}", tag=None)  # reopened implicitly
    assert [r.key for r in await j.rows()] == ["k"]
    await j.close()
    other = SqliteJournal(path)
    await other.open()
    await other.close()


async def test_an_update_of_a_missing_row_is_a_journal_error(tmp_path: Path) -> None:
    j = SqliteJournal(tmp_path / "j.sqlite")
    with pytest.raises(JournalError, match="no journal row"):
        await j.update("nope", Refused())
    await j.close()
