"""The sqlite journal's file format: schema, recognition, migration from flowapi 0.1 and the
row codec (used by :mod:`flowapi.journal._sqlite`, which runs all of it on its worker
thread).

A journal file is recognised by ``PRAGMA application_id`` = :data:`APPLICATION_ID` and
versioned by ``PRAGMA user_version`` = :data:`SCHEMA_VERSION`. A flowapi 0.1 journal
(application_id 0, tables ``submissions``/``downloads``/``meta`` with the 0.1 columns) is
migrated in place in one transaction; any other database is refused untouched.

Tables (format 2)::

    submissions(key PK, kind, params, tag, state, attempts, marker, markers JSON,
                jobid, category, error, job, created, updated)   -- rows in rowid order
    downloads(key, name, path, bytes)  PK (key, name)
    callbacks(jobid PK, body BLOB)     -- the latest replyUrl callback body per jobid
    meta(k PK, v)
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import msgspec

from flowapi.journal._identity import canonical_params
from flowapi.journal._protocol import JournalError
from flowapi.journal._states import FailureCategory, Submission, SubmissionState

__all__ = [
    "APPLICATION_ID",
    "COLUMNS",
    "INSERT_ROW",
    "SCHEMA_VERSION",
    "SELECT_ROWS",
    "UPDATE_ROW",
    "category_of_v01_error",
    "prepare",
    "row_from_sql",
    "row_to_sql",
]

#: ``PRAGMA application_id`` of a flowapi journal (ASCII ``"fljn"``).
APPLICATION_ID = 0x666C6A6E
#: ``PRAGMA user_version`` of the current format (flowapi 0.1's journal was format 1,
#: written with ``user_version`` 0).
SCHEMA_VERSION = 2

#: The ``submissions`` columns in :class:`Submission` field order.
COLUMNS = ("key", "kind", "params", "tag", "state", "attempts", "marker", "markers", "jobid",
           "category", "error", "job", "created", "updated")
#: Rows of ``submissions`` (append ``WHERE``/``ORDER BY``), :data:`COLUMNS` order.
SELECT_ROWS = ("SELECT key, kind, params, tag, state, attempts, marker, markers, jobid, "
               "category, error, job, created, updated FROM submissions")
#: Insert one row: the 14 values of :func:`row_to_sql`.
INSERT_ROW = ("INSERT INTO submissions (key, kind, params, tag, state, attempts, marker, "
              "markers, jobid, category, error, job, created, updated) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
#: Rewrite one row: :func:`row_to_sql` without its key, then the key.
UPDATE_ROW = ("UPDATE submissions SET kind=?, params=?, tag=?, state=?, attempts=?, marker=?, "
              "markers=?, jobid=?, category=?, error=?, job=?, created=?, updated=? "
              "WHERE key=?")

_SUBMISSIONS = """
CREATE TABLE submissions (
    key      TEXT PRIMARY KEY,
    kind     TEXT NOT NULL,
    params   TEXT NOT NULL,
    tag      TEXT,
    state    TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    marker   TEXT,
    markers  TEXT NOT NULL DEFAULT '[]',
    jobid    TEXT,
    category TEXT,
    error    TEXT,
    job      TEXT,
    created  REAL NOT NULL,
    updated  REAL NOT NULL
)"""
_INDEXES = ("CREATE INDEX submissions_jobid ON submissions(jobid) WHERE jobid IS NOT NULL",
            "CREATE INDEX submissions_state ON submissions(state)")
_DOWNLOADS = """CREATE TABLE downloads (
    key TEXT NOT NULL, name TEXT NOT NULL, path TEXT NOT NULL, bytes INTEGER NOT NULL,
    PRIMARY KEY (key, name))"""
_CALLBACKS = "CREATE TABLE callbacks (jobid TEXT PRIMARY KEY, body BLOB NOT NULL)"
_META = "CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)"

_OURS = frozenset({"submissions", "downloads", "callbacks", "meta"})
_V01_TABLES = frozenset({"submissions", "downloads", "meta"})
_V01_COLUMNS = frozenset({"key", "params_type", "params", "tag", "state", "jobid", "reply_ref",
                          "attempts", "error", "job", "created", "updated"})
_V01_STATES = {"queued": SubmissionState.PENDING, "submitting": SubmissionState.SUBMITTING,
               "accepted": SubmissionState.ACCEPTED, "succeeded": SubmissionState.SUCCEEDED,
               "failed": SubmissionState.FAILED}

_Value = str | int | float | bytes | None


def _foreign(path: Path, what: str) -> JournalError:
    return JournalError(
        f"{path} is not a flowapi journal ({what}); nothing was changed in it. Pass another "
        "--journal path (journal=...), or move that file away if it is a leftover.")


def _tables(db: sqlite3.Connection) -> set[str]:
    rows = db.execute("SELECT name FROM sqlite_master WHERE type='table' "
                      "AND name NOT LIKE 'sqlite_%'").fetchall()
    return {str(r[0]) for r in rows}


def _columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {str(r[1]) for r in db.execute(f"PRAGMA table_info({table})").fetchall()}


def prepare(db: sqlite3.Connection, path: Path) -> None:
    """Check, create or migrate the journal behind ``db`` (autocommit connection; the
    caller holds the writer lock) and switch it to WAL.

    Raises:
        JournalError: corrupt (``quick_check`` fails), foreign, newer format, or a 0.1
            journal that cannot be migrated (nothing was changed).
        sqlite3.Error: anything else (the caller translates it).
    """
    check = [str(r[0]) for r in db.execute("PRAGMA quick_check").fetchall()]
    if check != ["ok"]:
        raise JournalError(
            f"the journal {path} is corrupt (sqlite's quick_check: {'; '.join(check[:3])}). "
            "Move it away and run again; keep the copy: it holds the jobids of jobs already "
            "paid for (`sqlite3 FILE .recover` may save them).")
    app_id = int(db.execute("PRAGMA application_id").fetchone()[0])
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    tables = _tables(db)
    if app_id == APPLICATION_ID:
        if version > SCHEMA_VERSION:
            raise JournalError(
                f"the journal {path} was written by a newer flowapi (format {version}; this "
                f"version reads format {SCHEMA_VERSION}): upgrade flowapi, or pass another "
                "--journal path")
        if version != SCHEMA_VERSION or not tables.issuperset(_OURS):
            raise _foreign(path, f"a flowapi id but format {version} with tables "
                                 f"{sorted(tables)}")
    elif app_id != 0:
        raise _foreign(path, f"sqlite application_id {app_id:#x}")
    elif not tables:
        _create(db)
    elif tables <= _V01_TABLES and "submissions" in tables \
            and _columns(db, "submissions") == _V01_COLUMNS:
        _migrate_v01(db, path, tables)
    else:
        raise _foreign(path, f"a sqlite database with tables {sorted(tables)[:5]}")
    mode = str(db.execute("PRAGMA journal_mode=WAL").fetchone()[0]).lower()
    if mode != "wal":
        raise JournalError(
            f"the journal {path} cannot use write-ahead logging (journal_mode is {mode!r}, "
            "e.g. on a network file system): put the journal on a local disk")


def _create_all(db: sqlite3.Connection) -> None:
    db.execute(_SUBMISSIONS)
    for stmt in (*_INDEXES, _DOWNLOADS, _CALLBACKS, _META):
        db.execute(stmt)
    db.execute(f"PRAGMA application_id={APPLICATION_ID}")
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")


def _create(db: sqlite3.Connection) -> None:
    db.execute("BEGIN IMMEDIATE")
    try:
        if _tables(db):  # pragma: no cover - another program created tables meanwhile
            raise JournalError("the journal file changed while it was being created; "
                               "run again")
        _create_all(db)
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


def category_of_v01_error(error: str | None) -> FailureCategory:
    """The :class:`FailureCategory` of a flowapi 0.1 ``failed`` row, inferred from its
    ``error`` text (``"<ErrorClass>: <message>"``)."""
    text = error or ""
    if text.startswith("JobTimeoutError"):
        return FailureCategory.TIMEOUT
    if text.startswith("AmbiguousSubmitError"):
        return FailureCategory.IN_DOUBT
    if "moderat" in text.lower() or "PUBLIC_ERROR_UNSAFE" in text \
            or text.startswith("ContentPolicyError"):
        return FailureCategory.MODERATED
    if "captcha" in text.lower():
        return FailureCategory.CAPTCHA
    if text.startswith(("InvalidParamsError", "BadRequestError")):
        return FailureCategory.REJECTED
    return FailureCategory.JOB_FAILED


def _v01_params(text: str, reply_ref: str | None) -> str:
    """A 0.1 ``params`` column as canonical params text: sorted, without ``replyUrl``/
    ``async`` and without the 0.1 watcher's own ``flowapi-<key>`` marker in ``replyRef``
    (a caller's ``replyRef`` is theirs and stays). Text that is not a JSON object is kept
    as it is."""
    try:
        wire = msgspec.json.decode(text)
    except msgspec.DecodeError:
        return text
    if not isinstance(wire, dict):
        return text
    ref = wire.get("replyRef")
    if isinstance(ref, str) and ref == reply_ref and ref.startswith("flowapi-"):
        del wire["replyRef"]
    return canonical_params(wire)


def _migrate_v01(db: sqlite3.Connection, path: Path, tables: set[str]) -> None:
    """Rewrite a 0.1 journal as format 2 in one transaction (all or nothing)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        old = db.execute("SELECT key, params_type, params, tag, state, jobid, reply_ref, "
                         "attempts, error, job, created, updated FROM submissions "
                         "ORDER BY rowid").fetchall()
        unknown = sorted({str(r[4]) for r in old} - set(_V01_STATES))
        if unknown:
            raise JournalError(
                f"the flowapi 0.1 journal {path} cannot be migrated: rows in unknown "
                f"state(s) {', '.join(map(repr, unknown))}; it was left unchanged. Run it to "
                "completion with flowapi 0.1, or move it away and start a new journal.")
        db.execute("DROP INDEX IF EXISTS submissions_state")
        db.execute("ALTER TABLE submissions RENAME TO submissions_v01")
        db.execute(_SUBMISSIONS)
        for (key, kind, params, tag, state, jobid, reply_ref, attempts, error, job,
             created, updated) in old:
            new_state = _V01_STATES[state]
            failed = new_state is SubmissionState.FAILED
            row = Submission(
                key=key, kind=kind, params=_v01_params(params, reply_ref), tag=tag,
                state=new_state,
                attempts=int(attempts or 0), marker=reply_ref,
                markers=(reply_ref,) if reply_ref else (),
                jobid=None if new_state is SubmissionState.PENDING else jobid,
                category=category_of_v01_error(error) if failed else None,
                error=error if failed else None, job=job, created=float(created),
                updated=float(updated))
            db.execute(INSERT_ROW, row_to_sql(row))
        db.execute("DROP TABLE submissions_v01")
        for stmt in _INDEXES:
            db.execute(stmt)
        if "downloads" not in tables:
            db.execute(_DOWNLOADS)
        if "meta" not in tables:
            db.execute(_META)
        db.execute(_CALLBACKS)
        db.execute(f"PRAGMA application_id={APPLICATION_ID}")
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


def row_to_sql(row: Submission) -> tuple[_Value, ...]:
    """The ``submissions`` values of ``row`` in :data:`COLUMNS` order."""
    return (row.key, row.kind, row.params, row.tag, row.state.value, row.attempts, row.marker,
            msgspec.json.encode(row.markers).decode(), row.jobid,
            None if row.category is None else row.category.value, row.error, row.job,
            row.created, row.updated)


def row_from_sql(values: tuple[_Value, ...], path: Path) -> Submission:
    """The :class:`Submission` of a ``SELECT`` of :data:`COLUMNS`.

    Raises:
        JournalError: a value no flowapi writes (the file was edited or damaged).
    """
    (key, kind, params, tag, state, attempts, marker, markers, jobid, category, error, job,
     created, updated) = values
    try:
        return Submission(
            key=str(key), kind=str(kind), params=str(params),
            tag=None if tag is None else str(tag), state=SubmissionState(str(state)),
            attempts=int(attempts or 0), marker=None if marker is None else str(marker),
            markers=msgspec.json.decode(str(markers), type=tuple[str, ...]),
            jobid=None if jobid is None else str(jobid),
            category=None if category is None else FailureCategory(str(category)),
            error=None if error is None else str(error), job=None if job is None else str(job),
            created=float(created or 0.0), updated=float(updated or 0.0))
    except (ValueError, TypeError, msgspec.DecodeError) as exc:
        raise JournalError(
            f"the journal {path} has a damaged row {key!r} ({exc}); was it edited by hand? "
            "Move the file away (keep a copy: it holds jobids) and run again.") from exc
