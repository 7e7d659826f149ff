"""A durable journal of submissions, job ids, outcomes and downloads (DESIGN §7).

sqlite3 in WAL mode with ``synchronous=NORMAL``: every write is committed before the call
returns, so a ``kill -9`` of the process loses nothing that was recorded (power loss may
lose the last transactions; use ``durable=True`` for ``synchronous=FULL``).

One process at a time: opening a journal takes an advisory lock on ``<journal>.lock``
(released by the OS when the process ends, even by ``kill -9``); a second process gets
:class:`JournalLockedError` instead of submitting the same prompts again.

Lifecycle of one submission (``key``)::

    queued ─► submitting ─► accepted(jobid) ─► succeeded | failed
                 │
                 └─ a crash here leaves an *ambiguous* row: the request may have reached the
                    server. On resume it is reconciled by its replyRef marker, never resent
                    blindly.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from flowapi._errors import FlowError

if TYPE_CHECKING:
    from flowapi._outcomes import Outcome

__all__ = ["Journal", "JournalEntry", "JournalLockedError"]


class JournalLockedError(FlowError):
    """Another process has the journal open (e.g. the same ``flowapi batch`` still running).

    Two runs on one journal would submit the same prompts twice; wait for the other one to
    finish (or stop it), then run again.
    """


def _lock(path: Path) -> int | None:
    """Take the advisory lock beside ``path``; returns its file descriptor."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no lock
        return None
    lock_path = path.with_name(path.name + ".lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise JournalLockedError(
            f"the journal {path} is in use by another process (another `flowapi batch` on "
            "the same --out?). Running both would submit the same prompts twice: wait for "
            "it to finish or stop it, then run again.") from None
    return fd

_SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    key        TEXT PRIMARY KEY,
    params_type TEXT NOT NULL,
    params     TEXT NOT NULL,
    tag        TEXT,
    state      TEXT NOT NULL,
    jobid      TEXT,
    reply_ref  TEXT,
    attempts   INTEGER NOT NULL DEFAULT 0,
    error      TEXT,
    job        TEXT,
    created    REAL NOT NULL,
    updated    REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS submissions_state ON submissions(state);
CREATE TABLE IF NOT EXISTS downloads (
    key   TEXT NOT NULL,
    name  TEXT NOT NULL,
    path  TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    PRIMARY KEY (key, name)
);
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
"""

TERMINAL_STATES = frozenset({"succeeded", "failed"})


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One journaled submission.

    Attributes:
        key: the submission key.
        params_type: the params class name (``"VideoParams"``…).
        params: the wire body that was (or will be) sent, API field names.
        tag: the JSON-decoded tag, or its ``repr`` string if it was not JSON-able.
        state: ``queued``, ``submitting``, ``accepted``, ``succeeded`` or ``failed``.
        jobid: the job id once accepted.
        reply_ref: the ``replyRef`` marker of the last submit attempt.
        attempts: submit attempts made.
        error: the failure message for ``failed``.
        job: the final job record as JSON text, for ``succeeded``/``failed``.
        updated: Unix time of the last change (for ``submitting``: when it was sent).
    """

    key: str
    params_type: str
    params: dict[str, Any]
    tag: Any
    state: str
    jobid: str | None
    reply_ref: str | None
    attempts: int
    error: str | None
    job: str | None
    updated: float = 0.0

    @property
    def finished(self) -> bool:
        """Whether an outcome was recorded."""
        return self.state in TERMINAL_STATES


class Journal:
    """The sqlite journal used by :class:`~flowapi.JobWatcher` and ``flowapi batch``.

    Args:
        path: the database file (created if missing; parent directories too).
        durable: ``synchronous=FULL`` instead of ``NORMAL`` (survives power loss, slower).
    """

    def __init__(self, path: str | os.PathLike[str], *, durable: bool = False) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_fd = _lock(self.path)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
        self._db.executescript(_SCHEMA)

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r})"

    def close(self) -> None:
        """Close the database and release the lock."""
        self._db.close()
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            os.close(fd)

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writes (each commits immediately) ------------------------------------------------

    def record_params(self, key: str, params: Any, tag: Any) -> None:
        """Record a submission before anything is sent (state ``queued``)."""
        now = time.time()
        self._db.execute(
            "INSERT INTO submissions (key, params_type, params, tag, state, created, updated) "
            "VALUES (?, ?, ?, ?, 'queued', ?, ?) ON CONFLICT(key) DO NOTHING",
            (key, type(params).__name__, _wire_json(params), _tag_json(tag), now, now))

    def record_submitting(self, key: str, reply_ref: str | None, params: Any) -> None:
        """Record that a submit request is about to be sent (state ``submitting``)."""
        self._db.execute(
            "UPDATE submissions SET state='submitting', reply_ref=?, params=?, "
            "attempts=attempts+1, updated=? WHERE key=?",
            (reply_ref, _wire_json(params), time.time(), key))

    def record_submit_refused(self, key: str) -> None:
        """The server certainly refused the submit (e.g. 429): back to ``queued``."""
        self._db.execute("UPDATE submissions SET state='queued', updated=? WHERE key=? AND "
                         "state='submitting'", (time.time(), key))

    def record_jobid(self, key: str, jobid: str) -> None:
        """Record the job id the moment the 201 arrives (state ``accepted``)."""
        self._db.execute("UPDATE submissions SET state='accepted', jobid=?, updated=? "
                         "WHERE key=?", (jobid, time.time(), key))

    def record_outcome(self, key: str, outcome: Outcome) -> None:
        """Record the final outcome (state ``succeeded`` or ``failed``)."""
        from flowapi._outcomes import JobSucceeded

        job = outcome.job
        job_json = msgspec.json.encode(job).decode() if job is not None else None
        if isinstance(outcome, JobSucceeded):
            state, error = "succeeded", None
        else:
            state, error = "failed", f"{type(outcome.error).__name__}: {outcome.error}"
        self._db.execute("UPDATE submissions SET state=?, error=?, job=?, "
                         "jobid=COALESCE(jobid, ?), updated=? WHERE key=?",
                         (state, error, job_json, getattr(outcome, "jobid", None), time.time(),
                          key))

    def record_download(self, key: str, name: str, path: str | os.PathLike[str],
                        size: int) -> None:
        """Record a finished download (``name`` e.g. ``"video-1"``, ``"thumbnail-1"``)."""
        self._db.execute("INSERT OR REPLACE INTO downloads (key, name, path, bytes) VALUES "
                         "(?, ?, ?, ?)", (key, name, str(path), size))

    def forget(self, key: str) -> None:
        """Delete a submission and its downloads (to submit it again on purpose)."""
        self._db.execute("DELETE FROM submissions WHERE key=?", (key,))
        self._db.execute("DELETE FROM downloads WHERE key=?", (key,))

    def set_meta(self, name: str, value: str) -> None:
        """Store a free-form value (e.g. the prompts file's hash)."""
        self._db.execute("INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)", (name, value))

    # -- reads --------------------------------------------------------------------------

    def get_meta(self, name: str) -> str | None:
        """A value stored with :meth:`set_meta`, or ``None``."""
        row = self._db.execute("SELECT v FROM meta WHERE k=?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def entries(self) -> Iterator[JournalEntry]:
        """Every submission, in insertion order."""
        rows = self._db.execute(
            "SELECT key, params_type, params, tag, state, jobid, reply_ref, attempts, error, "
            "job, updated FROM submissions ORDER BY rowid")
        for row in rows.fetchall():
            yield JournalEntry(key=row[0], params_type=row[1], params=json.loads(row[2]),
                               tag=_tag_load(row[3]), state=row[4], jobid=row[5],
                               reply_ref=row[6], attempts=row[7], error=row[8], job=row[9],
                               updated=row[10])

    def entry(self, key: str) -> JournalEntry | None:
        """One submission by key, or ``None``."""
        return next((e for e in self.entries() if e.key == key), None)

    def downloads(self, key: str) -> dict[str, tuple[str, int]]:
        """Recorded downloads of a submission: ``name → (path, bytes)``."""
        rows = self._db.execute("SELECT name, path, bytes FROM downloads WHERE key=?", (key,))
        return {r[0]: (r[1], r[2]) for r in rows.fetchall()}

    def counts(self) -> dict[str, int]:
        """Number of submissions per state."""
        rows = self._db.execute("SELECT state, COUNT(*) FROM submissions GROUP BY state")
        return {r[0]: r[1] for r in rows.fetchall()}


def _wire_json(params: Any) -> str:
    to_wire = getattr(params, "to_wire", None)
    wire = to_wire() if callable(to_wire) else msgspec.to_builtins(params)
    return msgspec.json.encode(wire).decode()


def _tag_json(tag: Any) -> str | None:
    if tag is None:
        return None
    try:
        return msgspec.json.encode(tag).decode()
    except (TypeError, msgspec.EncodeError):
        return json.dumps({"__repr__": repr(tag)})


def _tag_load(text: str | None) -> Any:
    return None if text is None else json.loads(text)
