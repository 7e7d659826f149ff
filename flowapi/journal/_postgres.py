"""The PostgreSQL journal: many workers and hosts share one journal (DESIGN §11, issue 9).

``journal="postgresql://user@host/db"`` (or ``FLOWAPI_JOURNAL``), ``flowapi batch
--journal postgresql://…`` or ``flow.watch(journal=PostgresJournal(url, namespace=…))``.
Needs the ``postgres`` extra (``pip install 'useapi-google-flow[postgres]'``: psycopg 3 and
psycopg-pool).

* **One truth for every worker**: the same rows, events and :func:`~flowapi.journal.apply`
  as the memory and sqlite journals; :meth:`PostgresJournal.update` reads the row ``FOR
  UPDATE``, applies the event and commits in one transaction (PostgreSQL commits are
  durable: ``money`` events need nothing more).
* **Leases**: :meth:`~PostgresJournal.claim` takes a key with ``FOR UPDATE SKIP LOCKED``
  and a lease of :attr:`~PostgresJournal.lease` seconds (default 30) that a heartbeat
  renews every third of it. A worker that dies (``kill -9``, a lost host) stops renewing:
  its keys become claimable at most ``lease`` seconds after its last heartbeat, and the
  watcher that claims one resumes it from its row — adopts its jobid, or looks an in-doubt
  submit up by its marker — never submits it again. An ``Attempt`` is only written by the
  lease holder (:class:`~flowapi.journal.LeaseLostError` otherwise), so a worker that
  stalled past its lease cannot send a POST for a key another worker took over.
* **Hints**: a finished row, a released lease and a recorded callback are ``NOTIFY``-ed on
  one channel per namespace; each journal ``LISTEN``-s on a dedicated connection and passes
  :class:`~flowapi.journal.Change` hints to its subscribers. Hints can be lost (a dropped
  connection, PgBouncer in transaction pooling — pass ``listen=False`` there): watchers
  re-read what they wait for every :attr:`~PostgresJournal.resync_interval` seconds.
* **Namespaces**: every row carries the journal's ``namespace`` (one per batch or app);
  unrelated batches share a database safely.
* **Schema**: created and migrated at :meth:`~PostgresJournal.open`
  (:mod:`flowapi.journal._postgres_schema`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import os
import socket
import time
import uuid
from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING, Any, LiteralString

import anyio

from flowapi._retry import backoff_delay
from flowapi.journal._protocol import (
    Change,
    DuplicateJobidError,
    JournalError,
    LeaseLostError,
)
from flowapi.journal._states import (
    Accepted,
    Attempt,
    Event,
    FailureCategory,
    Finished,
    InDoubt,
    Refused,
    Retry,
    Submission,
    SubmissionState,
    apply,
)

if TYPE_CHECKING:
    from psycopg import AsyncConnection
    from psycopg_pool import AsyncConnectionPool

    from flowapi._clock import Clock

__all__ = ["PostgresJournal", "redact_url"]

log = logging.getLogger("flowapi")

_COLS: LiteralString = ("key, kind, params, tag, state, attempts, marker, markers, jobid, "
                        "category, error, job, created, updated")
#: The lease clock: the caller's (``%(now)s``) or else the server's.
_NOW: LiteralString = "coalesce(%(now)s::float8, extract(epoch from clock_timestamp()))"
_SCOLS: LiteralString = ("s.key, s.kind, s.params, s.tag, s.state, s.attempts, s.marker, "
                         "s.markers, s.jobid, s.category, s.error, s.job, s.created, s.updated")
#: The advisory locks live sessions hold in this database (a worker holds one while its
#: listening connection lives): ``WITH live AS MATERIALIZED (…)`` for the checks below.
_LIVE: LiteralString = (
    "live AS MATERIALIZED (SELECT ((l.classid::bigint << 32) | l.objid::bigint) AS k "
    "FROM pg_locks l WHERE l.locktype = 'advisory' AND l.objsubid = 1 AND l.granted AND "
    "l.database = (SELECT oid FROM pg_database WHERE datname = current_database()))")
#: A row this worker may claim: free, ours, its lease lapsed, or its holder's session gone.
_FREE: LiteralString = (
    f"(owner IS NULL OR owner = %(me)s OR lease_until < {_NOW} OR (owner_lock IS NOT NULL "
    "AND owner_lock NOT IN (SELECT k FROM live)))")
#: A row another live worker holds.
_HELD: LiteralString = (
    f"(owner IS NOT NULL AND owner <> %(me)s AND lease_until >= {_NOW} AND (owner_lock IS "
    "NULL OR owner_lock IN (SELECT k FROM live)))")


#: Real seconds a lease lasts at least when leases follow a faster-than-real clock.
MIN_REAL_LEASE = 5.0


def redact_url(url: str) -> str:
    """``url`` without its password (for messages and reprs): ``postgresql://user@host/db``."""
    try:
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        parts = conninfo_to_dict(url)
    except Exception:  # not parseable: show nothing of it
        return "postgresql://…"
    parts.pop("password", None)
    host, port = str(parts.get("host") or "localhost"), parts.get("port")
    user, db = parts.get("user"), parts.get("dbname") or ""
    if "/" in host:  # a unix socket directory
        return make_conninfo("", **parts)
    return (f"postgresql://{str(user) + '@' if user else ''}{host}"
            f"{':' + str(port) if port else ''}/{db}")


def split_namespace(url: str) -> tuple[str, str | None]:
    """``(url, namespace)``: a ``namespace=`` query parameter (not a libpq one) is taken
    out of a ``postgresql://`` URL."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    names = [v for k, v in query if k == "namespace"]
    if not names:
        return url, None
    rest = urlencode([(k, v) for k, v in query if k != "namespace"])
    return urlunsplit(parts._replace(query=rest)), names[-1]


def _row(values: Sequence[Any]) -> Submission:
    (key, kind, params, tag, state, attempts, marker, markers, jobid, category, error, job,
     created, updated) = values
    return Submission(key=key, kind=kind, params=params, tag=tag,
                      state=SubmissionState(state), attempts=int(attempts), marker=marker,
                      markers=tuple(markers or ()), jobid=jobid,
                      category=FailureCategory(category) if category else None, error=error,
                      job=job, created=float(created), updated=float(updated))


def _values(row: Submission) -> dict[str, Any]:
    return {"kind": row.kind, "params": row.params, "tag": row.tag, "state": row.state.value,
            "attempts": row.attempts, "marker": row.marker, "markers": list(row.markers),
            "jobid": row.jobid, "category": row.category.value if row.category else None,
            "error": row.error, "job": row.job, "created": row.created,
            "updated": row.updated}


class PostgresJournal:
    """A :class:`~flowapi.journal.SharedJournal` in PostgreSQL (see the module docstring).

    Args:
        url: a libpq connection string or ``postgresql://`` URL; a ``namespace=`` query
            parameter sets ``namespace``. The password never appears in messages or reprs.
        namespace: the batch or app these rows belong to (default ``"default"``); workers
            cooperate on one batch by using the same namespace.
        lease: seconds a key's lease lasts without a heartbeat (default 30, ≥ 0.05): a dead
            worker's keys are taken over at most ``lease`` seconds after its last heartbeat
            (plus a watcher's resync interval). The heartbeat runs every ``lease / 3``.
        resync_interval: seconds between a watcher's re-reads of the keys and callbacks it
            waits for (default 10, > 0) — the net under lost ``NOTIFY`` hints.
        listen: ``LISTEN`` for hints on a dedicated connection (default ``True``); pass
            ``False`` behind PgBouncer in transaction pooling mode (resyncs only).
        max_connections: most pooled connections (default 4, ≥ 1), plus one for ``LISTEN``.
        connect_timeout: seconds to wait for the server at :meth:`open` (default 10).
        clock: measure leases with this clock's ``time()`` (every worker must share it:
            a fake's simulated time); default the PostgreSQL server's clock. See
            :meth:`use_clock`.

    Raises:
        ValueError: an argument is out of range.
        JournalError: (at :meth:`open`) psycopg is not installed, the server cannot be
            reached, or the schema is foreign or newer.
    """

    def __init__(self, url: str, *, namespace: str | None = None, lease: float = 30.0,
                 resync_interval: float = 10.0, listen: bool = True,
                 max_connections: int = 4, connect_timeout: float = 10.0,
                 clock: Clock | None = None) -> None:
        url, in_url = split_namespace(url)
        namespace = namespace or in_url or "default"
        if lease < 0.05:
            raise ValueError("lease must be >= 0.05 seconds")
        if resync_interval <= 0:
            raise ValueError("resync_interval must be > 0 seconds")
        if max_connections < 1:
            raise ValueError("max_connections must be >= 1")
        self._url = url
        self.namespace = namespace
        self._lease = float(lease)
        self._resync = float(resync_interval)
        self._listen = listen
        self._max_connections = max_connections
        self._connect_timeout = connect_timeout
        self._clock = clock
        self._explicit_clock = clock is not None
        self._worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        digest = hashlib.sha256(namespace.encode()).digest()
        self._channel = "flowapi_" + digest.hex()[:24]
        #: The session advisory lock this worker holds on its listening connection while it
        #: lives (a positive bigint): its keys are free the moment that connection is gone.
        self._lock_key = int.from_bytes(
            hashlib.sha256(self._worker.encode()).digest()[:8], "big") & (2**63 - 1)
        self._lock_held = False
        #: ``pg_advisory_xact_lock`` key serialising this namespace's callback writes.
        self._callback_lock = int.from_bytes(digest[:8], "big", signed=True)
        self._pool: AsyncConnectionPool[AsyncConnection[tuple[Any, ...]]] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._beat = asyncio.Event()
        self._closing = False
        self._listeners: list[Callable[[Change], None]] = []
        self._opening = anyio.Lock()

    def __repr__(self) -> str:
        return (f"PostgresJournal({redact_url(self._url)!r}, namespace={self.namespace!r}, "
                f"worker={self._worker!r})")

    # -- SharedJournal properties --------------------------------------------------------

    @property
    def worker(self) -> str:
        """This journal object's worker id (``host:pid:random``)."""
        return self._worker

    @property
    def lease(self) -> float:
        """Seconds a lease lasts without a heartbeat."""
        return self._lease

    @property
    def resync_interval(self) -> float:
        """Seconds between a watcher's re-reads of what it waits for."""
        return self._resync

    @property
    def url(self) -> str:
        """The server, without its password."""
        return redact_url(self._url)

    def use_clock(self, clock: Clock) -> None:
        """Measure leases (and pace the heartbeat) with ``clock`` from now on.

        A clock that runs faster than real time (a fake's ``ScaledClock``, whose
        ``time_scale`` is real seconds per simulated second) never makes a lease shorter
        than :data:`MIN_REAL_LEASE` real seconds: a busy machine's stalls must not look
        like a dead worker. A clock given to the constructor wins (this does nothing then,
        and that clock's leases are used as given)."""
        if self._explicit_clock:
            return
        self._clock = clock
        scale = getattr(clock, "time_scale", None)
        if isinstance(scale, int | float) and 0 < scale < 1:
            self._lease = max(self._lease, MIN_REAL_LEASE / scale)
        self._heartbeat_now()  # its sleep was timed on the old clock and lease

    def _heartbeat_now(self) -> None:
        """Renew the leases at once (the clock, the lease or the liveness lock changed)."""
        self._beat.set()

    async def _beat_wait(self, seconds: float) -> None:
        """Sleep ``seconds`` on the lease clock, or less when :meth:`_heartbeat_now` is
        called (plain asyncio tasks: ``close()`` cancels the heartbeat task natively)."""
        self._beat.clear()
        sleeper = asyncio.ensure_future(self._sleep(seconds))
        waker = asyncio.ensure_future(self._beat.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, waker):
                task.cancel()

    def _params(self, **values: Any) -> dict[str, Any]:
        return {"ns": self.namespace, "me": self._worker,
                "now": self._clock.time() if self._clock is not None else None,
                "lease": self._lease,
                "lock": self._lock_key if self._lock_held else None, **values}

    def _wall(self) -> float:
        return self._clock.time() if self._clock is not None else time.time()

    # -- lifecycle -------------------------------------------------------------------------

    async def open(self) -> None:
        """Connect, create or migrate the schema, start the heartbeat and the listener;
        idempotent.

        Raises:
            JournalError: psycopg missing, server unreachable, schema foreign or newer.
        """
        async with self._opening:
            if self._pool is not None:
                return
            try:
                from psycopg_pool import AsyncConnectionPool
            except ImportError as exc:
                raise JournalError(
                    "the PostgreSQL journal needs psycopg 3 and psycopg-pool: pip install "
                    "'useapi-google-flow[postgres]'") from exc
            from psycopg import AsyncConnection as Connection

            from flowapi.journal._postgres_schema import migrate

            try:  # one plain connection first: its error says what is wrong, at once
                first = await Connection.connect(
                    self._url, connect_timeout=max(1, math.ceil(self._connect_timeout)))
            except Exception as exc:
                raise self._unreachable(exc) from None
            try:
                async with first:
                    await migrate(first)
            except JournalError:
                raise
            except Exception as exc:
                raise self._unreachable(exc) from None
            pool: AsyncConnectionPool[AsyncConnection[tuple[Any, ...]]] = AsyncConnectionPool(
                self._url, min_size=1, max_size=self._max_connections, open=False,
                timeout=self._connect_timeout, name="flowapi-journal")
            try:
                await pool.open(wait=True, timeout=self._connect_timeout)
            except BaseException as exc:
                with anyio.CancelScope(shield=True):
                    await pool.close()
                if isinstance(exc, JournalError):
                    raise
                if isinstance(exc, Exception):
                    raise self._unreachable(exc) from None
                raise
            self._pool = pool
            self._tasks = [asyncio.create_task(self._heartbeat(), name="flowapi-lease")]
            if self._listen:
                self._tasks.append(asyncio.create_task(self._listen_loop(),
                                                       name="flowapi-listen"))

    def _unreachable(self, exc: BaseException) -> JournalError:
        text = str(exc).replace(self._url, redact_url(self._url)).strip().splitlines()
        return JournalError(
            f"cannot use the PostgreSQL journal at {redact_url(self._url)}: "
            f"{type(exc).__name__}: {text[0] if text else 'no detail'} — check that the "
            "server runs, the URL (user, database) and that the role may create tables")

    async def close(self) -> None:
        """Give back this worker's leases (other workers take its unfinished keys over at
        once), stop the heartbeat and the listener, close the connections; idempotent."""
        async with self._opening:
            pool, self._pool = self._pool, None
            if pool is None:
                return
            tasks, self._tasks = self._tasks, []
            self._closing = True  # the loops end at their next step, even if a driver
            self._beat.set()      # call swallowed the cancellation (psycopg may)
            for task in tasks:
                task.cancel()
            with anyio.CancelScope(shield=True):
                with anyio.move_on_after(self._connect_timeout):
                    for task in tasks:
                        with contextlib.suppress(BaseException):
                            await task
                self._closing = False
                try:
                    async with pool.connection() as conn:
                        await conn.execute(
                            "WITH r AS (UPDATE flowapi_submissions SET owner = NULL, "
                            "lease_until = NULL WHERE namespace = %(ns)s AND owner = %(me)s "
                            "RETURNING key) SELECT pg_notify(%(ch)s, 'r:' || key) FROM r",
                            {**self._params(), "ch": self._channel})
                except Exception as exc:  # the leases lapse on their own
                    log.debug("journal: releasing leases at close failed: %s", exc)
                await pool.close()

    # -- plumbing --------------------------------------------------------------------------

    async def _pool_or_open(self) -> AsyncConnectionPool[AsyncConnection[tuple[Any, ...]]]:
        if self._pool is None:
            await self.open()
        assert self._pool is not None
        return self._pool

    async def _fetch(self, sql: LiteralString, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        """Run one statement (every one passed here is idempotent: a read, an upsert, an
        insert-if-absent, a claim or a release) and return its rows. A broken connection
        (the server restarted, a proxy dropped an idle connection) is replaced and the
        statement run again — as many times as the pool has connections, plus one."""
        from psycopg import OperationalError

        pool = await self._pool_or_open()
        for attempt in range(1, self._max_connections + 2):
            try:
                async with pool.connection() as conn:
                    cur = await conn.execute(sql, params)
                    return await cur.fetchall() if cur.description is not None else []
            except OperationalError as exc:
                if attempt > self._max_connections:
                    raise self._failed(exc) from None
                log.debug("journal: connection lost (%s); retrying on a fresh one", exc)
            except JournalError:
                raise
            except Exception as exc:
                raise self._failed(exc) from None
        raise AssertionError("not reached")  # pragma: no cover

    def _failed(self, exc: Exception) -> JournalError:
        from psycopg import errors

        if isinstance(exc, errors.UndefinedTable):
            return JournalError(f"the journal tables at {redact_url(self._url)} were dropped "
                                "while in use; open the journal again to recreate them")
        text = str(exc).replace(self._url, redact_url(self._url)).strip().splitlines()
        return JournalError(f"PostgreSQL journal at {redact_url(self._url)}: "
                            f"{type(exc).__name__}: {text[0] if text else 'no detail'} "
                            "(run again once the database is reachable: the journal "
                            "resumes, and a submit whose answer was not recorded is looked "
                            "up by its marker, never sent again)")

    def _hint(self, change: Change) -> None:
        for listener in list(self._listeners):
            try:
                listener(change)
            except Exception:  # a subscriber's bug must not stop the others
                log.exception("journal: a change listener failed")

    # -- Journal ---------------------------------------------------------------------------

    async def get(self, key: str) -> Submission | None:
        """The row for ``key``, or ``None``."""
        rows = await self._fetch(f"SELECT {_COLS} FROM flowapi_submissions "
                                 "WHERE namespace = %(ns)s AND key = %(key)s",
                                 self._params(key=key))
        return _row(rows[0]) if rows else None

    async def add(self, key: str, *, kind: str, params: str, tag: str | None) -> Submission:
        """Insert ``key`` as ``pending`` unless it exists; return the stored row."""
        now = self._wall()
        values = self._params(key=key, kind=kind, params=params, tag=tag, t=now)
        rows = await self._fetch(
            "INSERT INTO flowapi_submissions (namespace, key, kind, params, tag, state, "
            "created, updated) VALUES (%(ns)s, %(key)s, %(kind)s, %(params)s, %(tag)s, "
            "'pending', %(t)s, %(t)s) ON CONFLICT (namespace, key) DO NOTHING "
            f"RETURNING {_COLS}", values)
        if not rows:  # it exists (maybe inserted by another worker a moment ago): a new
            # statement sees every committed row
            rows = await self._fetch(f"SELECT {_COLS} FROM flowapi_submissions WHERE "
                                     "namespace = %(ns)s AND key = %(key)s", values)
        if not rows:
            raise JournalError(f"journal row {key!r} was deleted while it was added")
        return _row(rows[0])

    async def update(self, key: str, event: Event) -> Submission:
        """Apply ``event`` atomically (row locked ``FOR UPDATE``).

        Raises:
            IllegalTransition: not allowed in the row's state (nothing written).
            LeaseLostError: an ``Attempt`` by a worker that does not hold the key's lease.
            DuplicateJobidError: an ``Accepted`` jobid belongs to another key.
            JournalError: no row for ``key``, or the write failed.
        """
        from psycopg import OperationalError

        for attempt in range(1, self._max_connections + 2):
            try:
                return await self._update_once(key, event)
            except OperationalError as exc:
                # the connection broke: before the commit nothing was written; at the
                # commit it may have been — the row tells which
                row = await self.get(key)
                if row is not None and _applied(row, event):
                    return row
                if attempt > self._max_connections:
                    raise self._failed(exc) from None
                log.debug("journal: connection lost during %s (%s); retrying",
                          type(event).__name__, exc)
        raise AssertionError("not reached")  # pragma: no cover

    async def _update_once(self, key: str, event: Event) -> Submission:
        from psycopg import OperationalError, errors

        pool = await self._pool_or_open()
        values = self._params(key=key)
        try:
            async with pool.connection() as conn, conn.transaction():
                cur = await conn.execute(
                    f"SELECT {_COLS}, owner, lease_until, {_NOW} FROM flowapi_submissions "
                    "WHERE namespace = %(ns)s AND key = %(key)s FOR UPDATE", values)
                found = await cur.fetchone()
                if found is None:
                    raise JournalError(f"no journal row for key {key!r}")
                row, (owner, lease_until, now) = _row(found[:14]), found[14:]
                if isinstance(event, Accepted):
                    cur = await conn.execute(
                        "SELECT key FROM flowapi_submissions WHERE namespace = %(ns)s AND "
                        "jobid = %(jobid)s AND key <> %(key)s", {**values, "jobid": event.jobid})
                    other = await cur.fetchone()
                    if other is not None:
                        raise DuplicateJobidError(
                            f"the server returned jobid {event.jobid} for {key!r}, but the "
                            f"journal already records it for {other[0]!r}",
                            jobid=event.jobid, owner=str(other[0]))
                new = apply(row, event, now=self._wall())  # IllegalTransition first
                if isinstance(event, Attempt | Retry) and (
                        owner != self._worker or lease_until is None or lease_until < now):
                    # the two decisions to spend: only the key's lease holder makes them
                    raise LeaseLostError(
                        f"journal row {key!r}: this worker no longer holds its lease "
                        f"({'held by ' + owner if owner else 'released'}); nothing was sent")
                finished = new.state.finished
                await conn.execute(
                    "UPDATE flowapi_submissions SET kind=%(kind)s, params=%(params)s, "
                    "tag=%(tag)s, state=%(state)s, attempts=%(attempts)s, marker=%(marker)s, "
                    "markers=%(markers)s, jobid=%(jobid)s, category=%(category)s, "
                    "error=%(error)s, job=%(job)s, created=%(created)s, updated=%(updated)s"
                    + (", owner = NULL, lease_until = NULL" if finished else "")
                    + " WHERE namespace = %(ns)s AND key = %(key)s",
                    {**values, **_values(new)})
                if finished:
                    await conn.execute("SELECT pg_notify(%(ch)s, %(payload)s)",
                                       {"ch": self._channel, "payload": _payload("r", key)})
        except OperationalError:
            raise  # update() decides
        except (JournalError, errors.Error) as exc:
            if isinstance(exc, errors.UniqueViolation) and isinstance(event, Accepted):
                raise DuplicateJobidError(
                    f"the server returned jobid {event.jobid} for {key!r}, but another key "
                    "of the journal recorded it at the same moment", jobid=event.jobid,
                    owner="?") from None
            if isinstance(exc, JournalError):
                raise
            raise self._failed(exc) from None
        return new

    async def rows(self) -> list[Submission]:
        """Every row of this namespace, in insertion order."""
        found = await self._fetch(f"SELECT {_COLS} FROM flowapi_submissions WHERE "
                                  "namespace = %(ns)s ORDER BY seq", self._params())
        return [_row(r) for r in found]

    async def record_download(self, key: str, name: str, path: str, size: int) -> None:
        """Record a finished download of ``key`` (``size`` in bytes)."""
        await self._fetch(
            "INSERT INTO flowapi_downloads (namespace, key, name, path, bytes) VALUES "
            "(%(ns)s, %(key)s, %(name)s, %(path)s, %(size)s) ON CONFLICT (namespace, key, "
            "name) DO UPDATE SET path = excluded.path, bytes = excluded.bytes",
            self._params(key=key, name=name, path=path, size=size))

    async def downloads(self, key: str) -> dict[str, tuple[str, int]]:
        """Recorded downloads of ``key``: ``name → (path, bytes)``."""
        found = await self._fetch("SELECT name, path, bytes FROM flowapi_downloads WHERE "
                                  "namespace = %(ns)s AND key = %(key)s",
                                  self._params(key=key))
        return {str(n): (str(p), int(b)) for n, p, b in found}

    async def record_callback(self, jobid: str, body: bytes) -> None:
        """Keep the latest callback body of ``jobid`` and hint every worker (only when the
        body changed: a repeated callback wakes nobody twice)."""
        # one writer at a time per namespace (a transaction-scoped advisory lock taken
        # before the sequence): cursors advance in commit order, so a reader that moved
        # past a sequence number never misses a callback committed later with a lower one
        await self._fetch(
            "WITH lock AS (SELECT pg_advisory_xact_lock(%(lock)s)), "
            "up AS (INSERT INTO flowapi_callbacks (namespace, jobid, body) SELECT %(ns)s, "
            "%(jobid)s, %(body)s FROM lock ON CONFLICT (namespace, jobid) DO UPDATE SET "
            "body = excluded.body, seq = nextval('flowapi_callback_seq') WHERE "
            "flowapi_callbacks.body IS DISTINCT FROM excluded.body RETURNING jobid) "
            "SELECT pg_notify(%(ch)s, 'c:' || jobid) FROM up",
            self._params(jobid=jobid, body=body, ch=self._channel, lock=self._callback_lock))

    async def callbacks(self) -> dict[str, bytes]:
        """The kept callback bodies of this namespace: ``jobid → body``."""
        found = await self._fetch("SELECT jobid, body FROM flowapi_callbacks WHERE "
                                  "namespace = %(ns)s", self._params())
        return {str(j): bytes(b) for j, b in found}

    async def get_meta(self, name: str) -> str | None:
        """A value stored with :meth:`set_meta`, or ``None``."""
        found = await self._fetch("SELECT value FROM flowapi_meta WHERE namespace = %(ns)s "
                                  "AND name = %(name)s", self._params(name=name))
        return str(found[0][0]) if found else None

    async def set_meta(self, name: str, value: str) -> None:
        """Store a value (shared by the namespace's workers)."""
        await self._fetch("INSERT INTO flowapi_meta (namespace, name, value) VALUES (%(ns)s, "
                          "%(name)s, %(value)s) ON CONFLICT (namespace, name) DO UPDATE SET "
                          "value = excluded.value", self._params(name=name, value=value))

    # -- SharedJournal ---------------------------------------------------------------------

    async def claim(self, key: str) -> Submission | None:
        """Take ``key``'s lease if free, lapsed or ours (``FOR UPDATE SKIP LOCKED``); the
        row, or ``None`` when another live worker holds it or the row does not exist."""
        found = await self._fetch(
            f"WITH {_LIVE}, c AS (SELECT key FROM flowapi_submissions WHERE namespace = "
            f"%(ns)s AND key = %(key)s AND {_FREE} FOR UPDATE SKIP LOCKED) "
            "UPDATE flowapi_submissions s SET owner = %(me)s, owner_lock = %(lock)s, "
            f"lease_until = {_NOW} + "
            f"%(lease)s FROM c WHERE s.namespace = %(ns)s AND s.key = c.key RETURNING {_SCOLS}",
            self._params(key=key))
        return _row(found[0]) if found else None

    async def claim_lapsed(self, keys: Sequence[str]) -> list[Submission]:
        """Claim the unfinished rows among ``keys`` whose lease is free or lapsed."""
        if not keys:
            return []
        found = await self._fetch(
            f"WITH {_LIVE}, c AS (SELECT key FROM flowapi_submissions WHERE namespace = "
            "%(ns)s AND key = ANY(%(keys)s) AND state NOT IN ('succeeded', 'failed') AND "
            f"{_FREE} FOR UPDATE SKIP LOCKED) UPDATE flowapi_submissions s SET owner = "
            f"%(me)s, owner_lock = %(lock)s, lease_until = {_NOW} + %(lease)s FROM c WHERE "
            "s.namespace = %(ns)s AND "
            f"s.key = c.key RETURNING {_SCOLS}",
            self._params(keys=list(keys)))
        return [_row(r) for r in found]

    async def release(self, keys: Collection[str]) -> None:
        """Give back this worker's leases of ``keys`` and hint the other workers."""
        if not keys:
            return
        await self._fetch(
            "WITH r AS (UPDATE flowapi_submissions SET owner = NULL, lease_until = NULL "
            "WHERE namespace = %(ns)s AND owner = %(me)s AND key = ANY(%(keys)s) RETURNING "
            "key) SELECT pg_notify(%(ch)s, 'r:' || key) FROM r",
            self._params(keys=list(keys), ch=self._channel))

    async def peek_held(self, keys: Sequence[str]) -> list[tuple[Submission, bool]]:
        """The existing rows of ``keys`` (no lease taken), each with whether another live
        worker holds its lease."""
        if not keys:
            return []
        found = await self._fetch(
            f"WITH {_LIVE} SELECT {_COLS}, {_HELD} FROM flowapi_submissions WHERE "
            "namespace = %(ns)s AND key = ANY(%(keys)s)", self._params(keys=list(keys)))
        return [(_row(r[:14]), bool(r[14])) for r in found]

    async def share_listing(self, fetched: float, jobids: Collection[str]) -> None:
        """Publish a listing's executing job ids (kept only if newer than the last one)."""
        await self._fetch(
            "INSERT INTO flowapi_listing (namespace, fetched, jobids) VALUES (%(ns)s, "
            "%(fetched)s, %(jobids)s) ON CONFLICT (namespace) DO UPDATE SET fetched = "
            "excluded.fetched, jobids = excluded.jobids WHERE flowapi_listing.fetched < "
            "excluded.fetched", self._params(fetched=fetched, jobids=list(jobids)))

    async def shared_listing(self, since: float) -> tuple[float, frozenset[str]] | None:
        """The latest published listing fetched at ``since`` or later, else ``None``."""
        found = await self._fetch("SELECT fetched, jobids FROM flowapi_listing WHERE "
                                  "namespace = %(ns)s AND fetched >= %(since)s",
                                  self._params(since=since))
        if not found:
            return None
        return float(found[0][0]), frozenset(found[0][1] or ())

    async def callback_cursor(self) -> int:
        """The cursor of the latest recorded callback of this namespace (0: none)."""
        found = await self._fetch("SELECT coalesce(max(seq), 0) FROM flowapi_callbacks "
                                  "WHERE namespace = %(ns)s", self._params())
        return int(found[0][0]) if found else 0

    async def holders(self) -> dict[str, str]:
        """``key → worker`` of the live leases of this namespace (for operators and tests)."""
        found = await self._fetch(
            f"WITH {_LIVE} SELECT key, owner FROM flowapi_submissions WHERE namespace = "
            f"%(ns)s AND (owner = %(me)s AND lease_until >= {_NOW} OR {_HELD})",
            self._params())
        return {str(k): str(o) for k, o in found}

    def subscribe(self, listener: Callable[[Change], None]) -> Callable[[], None]:
        """Call ``listener`` with each hint; returns the unsubscribe function."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return unsubscribe

    async def callbacks_since(self, cursor: int) -> tuple[int, list[tuple[str, bytes]]]:
        """Callbacks recorded or changed after ``cursor``: the new cursor and
        ``(jobid, body)`` pairs, oldest first."""
        found = await self._fetch(
            "SELECT seq, jobid, body FROM flowapi_callbacks WHERE namespace = %(ns)s AND "
            "seq > %(cursor)s ORDER BY seq", self._params(cursor=cursor))
        if not found:
            return cursor, []
        return int(found[-1][0]), [(str(j), bytes(b)) for _, j, b in found]

    # -- background: heartbeat and LISTEN ---------------------------------------------------

    async def _sleep(self, seconds: float) -> None:
        if self._clock is not None:
            await self._clock.sleep(seconds)
        else:
            await anyio.sleep(seconds)

    async def _heartbeat(self) -> None:
        """Renew this worker's leases every ``lease / 3`` seconds (a failed renewal is
        retried at the next beat; leases that lapse meanwhile are fenced at ``Attempt``)."""
        while not self._closing:
            await self._beat_wait(self._lease / 3)
            if self._closing:
                return
            try:
                # the liveness lock is stamped only while the database sees it held (a
                # listening connection dropped silently must not make this worker look
                # dead while it lives: its leases alone protect its keys then)
                await self._fetch(
                    f"WITH {_LIVE} UPDATE flowapi_submissions SET lease_until = {_NOW} + "
                    "%(lease)s, owner_lock = (SELECT k FROM live WHERE k = %(lock)s) "
                    "WHERE namespace = %(ns)s AND owner = %(me)s", self._params())
            except JournalError as exc:
                log.warning("journal: lease heartbeat failed (%s); retrying", exc)

    async def _listen_loop(self) -> None:
        """``LISTEN`` on a dedicated connection; reconnects with backoff, and hints
        ``resync`` after every (re)connection (hints sent meanwhile were lost)."""
        from psycopg import AsyncConnection, sql

        failures = 0
        while not self._closing:
            try:
                conn = await AsyncConnection.connect(self._url, autocommit=True,
                                                     connect_timeout=max(1, int(
                                                         self._connect_timeout)))
                try:
                    await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(
                        self._channel)))
                    await conn.execute("SELECT pg_advisory_lock(%s)", (self._lock_key,))
                    self._lock_held = True
                    self._heartbeat_now()  # mark this worker's leases with the lock
                    failures = 0
                    self._hint(Change("resync"))
                    while not self._closing:  # wakes every second to see whether to end
                        async for note in conn.notifies(timeout=1.0):
                            kind, _, ident = note.payload.partition(":")
                            if kind == "r":
                                self._hint(Change("row", ident))
                            elif kind == "c":
                                self._hint(Change("callback", ident))
                            else:
                                self._hint(Change("resync"))
                finally:
                    self._lock_held = False
                    self._heartbeat_now()  # un-stamp the lock from this worker's rows
                    with anyio.CancelScope(shield=True):
                        await conn.close()
            except Exception as exc:
                failures += 1
                log.debug("journal: LISTEN connection lost (%s); reconnecting", exc)
            await self._sleep(backoff_delay(max(failures, 1), base=0.5, cap=30.0))


def _applied(row: Submission, event: Event) -> bool:
    """Whether ``row`` already shows ``event`` (its commit went through before the
    connection broke): the marker of an attempt, the jobid of an acceptance, the state of
    the others."""
    if isinstance(event, Attempt):
        return row.marker == event.marker
    if isinstance(event, Accepted):
        return row.state is SubmissionState.ACCEPTED and row.jobid == event.jobid
    if isinstance(event, Finished):
        return row.state is (SubmissionState.SUCCEEDED if event.succeeded
                             else SubmissionState.FAILED)
    if isinstance(event, InDoubt):
        return row.state is SubmissionState.UNKNOWN
    if isinstance(event, Refused | Retry):
        return row.state is SubmissionState.PENDING
    return False


def _payload(kind: str, ident: str) -> str:
    """A NOTIFY payload; an identifier too long for one (8000 bytes) becomes a resync."""
    text = f"{kind}:{ident}"
    return text if len(text.encode()) < 7900 else "s:"
