"""The sqlite journal: ``flow.watch(journal="x.sqlite")`` and ``flowapi batch`` (DESIGN §7,
issue 8 item 1).

* **Durable**: WAL; every method commits before it returns. Events that involve money
  (:attr:`~flowapi.journal.Event.money`: an attempt leaving, a jobid arriving, a fate
  turning unknown) commit with ``synchronous=FULL`` (they survive power loss); the rest with
  ``NORMAL`` (they survive ``kill -9``, not power loss).
* **Private**: the database, its ``-wal``/``-shm`` files and ``<name>.lock`` have mode 0600.
* **One writer per file**, within one process and across processes
  (:mod:`flowapi.journal._writer_lock`): a second journal gets
  :class:`~flowapi.journal.JournalLockedError` at :meth:`SqliteJournal.open`.
* **Off the event loop**: every sqlite call runs on a worker thread, one at a time per
  journal, so a file locked by another program (a sqlite browser, a backup) never freezes
  the loop; after ``busy_timeout`` seconds it becomes ``JournalLockedError``.
* **Refuses what it cannot use**: a corrupt, foreign, newer or unreadable file gives a
  :class:`~flowapi.journal.JournalError` that says what happened and what to do (never a
  raw ``sqlite3`` error); a flowapi 0.1 journal is migrated in place
  (:mod:`flowapi.journal._sqlite_schema`).
"""

from __future__ import annotations

import os
import sqlite3
import stat
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import anyio
import anyio.to_thread

from flowapi.journal._protocol import DuplicateJobidError, JournalError, JournalLockedError
from flowapi.journal._sqlite_schema import (
    INSERT_ROW,
    SELECT_ROWS,
    UPDATE_ROW,
    prepare,
    row_from_sql,
    row_to_sql,
)
from flowapi.journal._states import Accepted, Event, Submission, apply
from flowapi.journal._writer_lock import WriterLock, lock_path_of

__all__ = ["SqliteJournal"]

_T = TypeVar("_T")

# sqlite primary result codes (https://sqlite.org/rescode.html)
_PERM, _BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = (
    3, 5, 6, 8, 10, 11, 13, 14, 26)


class SqliteJournal:
    """A :class:`~flowapi.journal.Journal` in a sqlite file.

    Every method opens the journal first if it is not open (:meth:`open` is idempotent;
    after :meth:`close` the next call opens it again, taking the lock again). Close it
    when done: the writer lock is held until then (a journal garbage-collected unclosed
    releases it then). Calls run one at a time on a worker thread; a call cancelled while
    its statement runs finishes that statement first (a write is committed or not at all,
    never half), then the cancellation goes on.

    Args:
        path: the database file; created (mode 0600) with its parent directories if
            missing. ``<path>.lock`` is created beside it.
        durable: commit money events with ``synchronous=FULL`` (default). ``False``:
            ``NORMAL`` for everything (faster; a power loss may lose the last commits, a
            ``kill -9`` loses nothing).
        busy_timeout: seconds to wait for another program's lock on the file (during
            :meth:`open` or a write) before the call raises
            :class:`~flowapi.journal.JournalLockedError` (default 5.0; the event loop
            keeps running meanwhile).

    Attributes:
        path: the database file as given (a :class:`pathlib.Path`).
        durable: as given.

    Raises (every method):
        JournalLockedError: another writer holds the journal.
        JournalError: the file is corrupt, foreign, newer, unreadable, or a write failed;
            the message says what to do.
    """

    def __init__(self, path: str | os.PathLike[str], *, durable: bool = True,
                 busy_timeout: float = 5.0) -> None:
        self.path = Path(path)
        self.durable = durable
        self._busy_timeout = busy_timeout
        self._lock = WriterLock(self.path)
        self._db: sqlite3.Connection | None = None
        self._limiter: anyio.CapacityLimiter | None = None
        # a journal dropped without close() does not keep its file locked for good
        weakref.finalize(self, self._lock.release)

    def __repr__(self) -> str:
        state = "open" if self._db is not None else "closed"
        return f"SqliteJournal({str(self.path)!r}, durable={self.durable}, {state})"

    # -- lifecycle ------------------------------------------------------------------------

    async def open(self) -> None:
        """Create or check (or migrate) the file and take the writer lock; idempotent.

        Raises:
            JournalLockedError: another journal object or process holds the file, or
                another program keeps it locked past ``busy_timeout``.
            JournalError: corrupt, foreign, newer, unreadable (the message says what to
                do); nothing was changed in the file.
        """
        await self._call(lambda db: None)

    async def close(self) -> None:
        """Close the database and release the writer lock; idempotent. Never raises for
        a journal that is not open."""
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(self._close_sync, limiter=self._get_limiter())

    # -- rows -----------------------------------------------------------------------------

    async def get(self, key: str) -> Submission | None:
        """The row for ``key``, or ``None``."""
        return await self._call(lambda db: self._select(db, key))

    async def add(self, key: str, *, kind: str, params: str, tag: str | None) -> Submission:
        """Insert ``key`` as ``pending`` unless it exists; return the stored row (the
        existing one unchanged, if any). Committed with ``synchronous=NORMAL``."""
        def tx(db: sqlite3.Connection) -> Submission:
            row = self._select(db, key)
            if row is not None:
                return row
            now = time.time()
            row = Submission(key=key, kind=kind, params=params, tag=tag, created=now,
                             updated=now)
            db.execute(INSERT_ROW, row_to_sql(row))
            return row

        return await self._call(lambda db: self._transaction(db, tx, money=False))

    async def update(self, key: str, event: Event) -> Submission:
        """Apply ``event`` with :func:`~flowapi.journal.apply` in one ``BEGIN IMMEDIATE``
        transaction (read, duplicate-jobid check, check, write) and return the new row;
        ``event.money`` commits with ``synchronous=FULL`` when ``durable``.

        Raises:
            IllegalTransition: not allowed in the row's state (nothing written).
            DuplicateJobidError: an ``Accepted`` jobid belongs to another key (nothing
                written).
            JournalError: no row for ``key``, or the write failed.
        """
        def tx(db: sqlite3.Connection) -> Submission:
            row = self._select(db, key)
            if row is None:
                raise JournalError(f"no journal row for key {key!r} in {self.path}")
            if isinstance(event, Accepted):
                owner = db.execute("SELECT key FROM submissions WHERE jobid=? AND key<>? "
                                   "LIMIT 1", (event.jobid, key)).fetchone()
                if owner is not None:
                    raise DuplicateJobidError(
                        f"the server returned jobid {event.jobid} for {key!r}, but the "
                        f"journal already records it for {owner[0]!r}",
                        jobid=event.jobid, owner=str(owner[0]))
            new = apply(row, event, now=time.time())
            db.execute(UPDATE_ROW, (*row_to_sql(new)[1:], key))
            return new

        return await self._call(lambda db: self._transaction(db, tx, money=event.money))

    async def rows(self) -> list[Submission]:
        """Every row, in insertion order."""
        def read(db: sqlite3.Connection) -> list[Submission]:
            cursor = db.execute(SELECT_ROWS + " ORDER BY rowid")
            return [row_from_sql(tuple(r), self.path) for r in cursor.fetchall()]

        return await self._call(read)

    # -- downloads, callbacks, meta -------------------------------------------------------

    async def record_download(self, key: str, name: str, path: str, size: int) -> None:
        """Record a finished download of ``key`` (``name`` e.g. ``"video-1"``, ``size`` in
        bytes); a second record of the same name replaces the first."""
        await self._write("INSERT OR REPLACE INTO downloads (key, name, path, bytes) "
                          "VALUES (?, ?, ?, ?)", (key, name, path, size))

    async def downloads(self, key: str) -> dict[str, tuple[str, int]]:
        """Recorded downloads of ``key``: ``name → (path, bytes)``."""
        def read(db: sqlite3.Connection) -> dict[str, tuple[str, int]]:
            cursor = db.execute("SELECT name, path, bytes FROM downloads WHERE key=? "
                                "ORDER BY rowid", (key,))
            return {str(n): (str(p), int(b)) for n, p, b in cursor.fetchall()}

        return await self._call(read)

    async def record_callback(self, jobid: str, body: bytes) -> None:
        """Keep ``body``, the latest ``replyUrl`` callback of ``jobid`` (replaces the
        previous one)."""
        await self._write("INSERT OR REPLACE INTO callbacks (jobid, body) VALUES (?, ?)",
                          (jobid, bytes(body)))

    async def callbacks(self) -> dict[str, bytes]:
        """The kept callback bodies: ``jobid → body``."""
        def read(db: sqlite3.Connection) -> dict[str, bytes]:
            cursor = db.execute("SELECT jobid, body FROM callbacks ORDER BY rowid")
            return {str(j): bytes(b) for j, b in cursor.fetchall()}

        return await self._call(read)

    async def get_meta(self, name: str) -> str | None:
        """A value stored with :meth:`set_meta`, or ``None``."""
        def read(db: sqlite3.Connection) -> str | None:
            row = db.execute("SELECT v FROM meta WHERE k=?", (name,)).fetchone()
            return None if row is None else str(row[0])

        return await self._call(read)

    async def set_meta(self, name: str, value: str) -> None:
        """Store a free-form value (replaces the previous one)."""
        await self._write("INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)", (name, value))

    # -- the worker thread ----------------------------------------------------------------

    def _get_limiter(self) -> anyio.CapacityLimiter:
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(1)
        return self._limiter

    async def _call(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run ``fn(connection)`` on the worker thread, opening the journal first."""
        return await anyio.to_thread.run_sync(self._run, fn, limiter=self._get_limiter())

    async def _write(self, sql: str, args: tuple[str | int | bytes, ...]) -> None:
        def tx(db: sqlite3.Connection) -> None:
            db.execute(sql, args)

        await self._call(lambda db: self._transaction(db, tx, money=False))

    def _run(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        try:
            return fn(self._open_sync())
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc

    def _transaction(self, db: sqlite3.Connection, fn: Callable[[sqlite3.Connection], _T], *,
                     money: bool) -> _T:
        sync = "FULL" if money and self.durable else "NORMAL"
        db.execute(f"PRAGMA synchronous={sync}")
        db.execute("BEGIN IMMEDIATE")
        try:
            result = fn(db)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return result

    def _select(self, db: sqlite3.Connection, key: str) -> Submission | None:
        row = db.execute(SELECT_ROWS + " WHERE key=?", (key,)).fetchone()
        return None if row is None else row_from_sql(tuple(row), self.path)

    def _open_sync(self) -> sqlite3.Connection:
        if self._db is not None:
            return self._db
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            os.close(fd)
        except OSError as exc:
            raise JournalError(
                f"cannot open the journal {self.path} ({exc.strerror}): check that it is a "
                "file you can read and write, or pass another --journal path") from exc
        self._lock.acquire()
        db: sqlite3.Connection | None = None
        try:
            db = sqlite3.connect(self.path, timeout=self._busy_timeout, isolation_level=None,
                                 check_same_thread=False)
            prepare(db, self.path)
            _make_private(self.path)
        except BaseException as exc:
            if db is not None:
                db.close()
            self._lock.release()
            if isinstance(exc, sqlite3.Error):
                raise self._translate(exc) from exc
            raise
        self._db = db
        return db

    def _close_sync(self) -> None:
        db, self._db = self._db, None
        try:
            if db is not None:
                db.close()
        except sqlite3.Error as exc:  # pragma: no cover - close of an idle connection
            raise self._translate(exc) from exc
        finally:
            self._lock.release()

    def _translate(self, exc: sqlite3.Error) -> JournalError:
        """The :class:`JournalError` that explains ``exc`` (one place for all calls)."""
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
        path = self.path
        if code in (_BUSY, _LOCKED):
            return JournalLockedError(
                f"the journal {path} is locked by another program (a sqlite browser, a "
                f"backup, a process writing it) and stayed locked for {self._busy_timeout:g} "
                "s; close that program, then run again (this call wrote nothing)")
        if code == _NOTADB:
            return JournalError(
                f"{path} is not a flowapi journal (not a sqlite database); nothing was "
                "changed in it. Pass another --journal path (journal=...), or move that file "
                "away if it is a leftover.")
        if code == _CORRUPT:
            return JournalError(
                f"the journal {path} is corrupt ({exc}). Move it away and run again; keep "
                "the copy: it holds the jobids of jobs already paid for (`sqlite3 FILE "
                ".recover` may save them).")
        if code in (_PERM, _READONLY, _CANTOPEN):
            return JournalError(
                f"cannot open the journal {path} for writing ({exc}): check its permissions "
                "and those of its directory (sqlite also writes -wal and -shm files beside "
                "it), or pass another --journal path")
        if code in (_FULL, _IOERR):
            return JournalError(
                f"writing the journal {path} failed ({exc}): free disk space or check the "
                "disk, then run again (this call wrote nothing)")
        return JournalError(f"the journal {path} failed: {exc} (sqlite error code "
                            f"{getattr(exc, 'sqlite_errorname', code)}); run again, and "
                            "report it if it persists")


def _make_private(path: Path) -> None:
    """Tighten a journal created by flowapi 0.1 (mode 0644) to 0600; best effort."""
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"),
              lock_path_of(path)):
        try:
            mode = p.stat().st_mode
            if stat.S_IMODE(mode) & 0o077:
                p.chmod(stat.S_IMODE(mode) & 0o700)
        except OSError:
            continue
