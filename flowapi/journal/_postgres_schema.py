"""The PostgreSQL journal's schema: versioned, created and migrated by the journal itself
(:class:`~flowapi.journal.PostgresJournal` runs :func:`migrate` at ``open``).

The version lives in ``flowapi_schema`` (one row). :data:`MIGRATIONS` lists the steps from
an empty database to :data:`SCHEMA_VERSION`; each step runs in one transaction under a
transaction-scoped advisory lock, so several workers opening a new database at once
create it exactly once. A database with flowapi tables but no ``flowapi_schema`` row, or
with a newer version than this flowapi knows, is refused untouched.

Tables (version 3)::

    flowapi_submissions(namespace, key, seq, kind, params, tag, state, attempts, marker,
                        markers text[], jobid, category, error, job, created, updated,
                        owner, lease_until, owner_lock)
                                                 PK (namespace, key); jobid unique per namespace
    flowapi_downloads(namespace, key, name, path, bytes)   PK (namespace, key, name)
    flowapi_callbacks(namespace, jobid, body bytea, seq)   PK (namespace, jobid)
    flowapi_meta(namespace, name, value)                   PK (namespace, name)
    flowapi_listing(namespace, fetched, jobids text[])     PK (namespace); UNLOGGED cache

Every row carries its ``namespace`` (one per batch or app), so unrelated batches share a
database without seeing each other's keys. Times are Unix seconds (``float8``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, LiteralString

from flowapi.journal._protocol import JournalError

if TYPE_CHECKING:
    from psycopg import AsyncConnection

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "migrate"]

#: The schema version this flowapi writes.
SCHEMA_VERSION = 3
#: ``pg_advisory_xact_lock`` key of schema changes (ASCII "fljn" + "mig").
_MIGRATION_LOCK = 0x666C6A6E6D6967

_V1: tuple[LiteralString, ...] = (
    """CREATE TABLE flowapi_schema (
        id integer PRIMARY KEY CHECK (id = 1),
        version integer NOT NULL)""",
    "INSERT INTO flowapi_schema (id, version) VALUES (1, 0)",
    """CREATE TABLE flowapi_submissions (
        namespace text NOT NULL,
        key text NOT NULL,
        seq bigint GENERATED ALWAYS AS IDENTITY,
        kind text NOT NULL,
        params text NOT NULL,
        tag text,
        state text NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        marker text,
        markers text[] NOT NULL DEFAULT '{}',
        jobid text,
        category text,
        error text,
        job text,
        created float8 NOT NULL,
        updated float8 NOT NULL,
        PRIMARY KEY (namespace, key))""",
    """CREATE UNIQUE INDEX flowapi_submissions_jobid
        ON flowapi_submissions (namespace, jobid) WHERE jobid IS NOT NULL""",
    """CREATE TABLE flowapi_downloads (
        namespace text NOT NULL,
        key text NOT NULL,
        name text NOT NULL,
        path text NOT NULL,
        bytes bigint NOT NULL,
        PRIMARY KEY (namespace, key, name))""",
    """CREATE TABLE flowapi_meta (
        namespace text NOT NULL,
        name text NOT NULL,
        value text NOT NULL,
        PRIMARY KEY (namespace, name))""",
)

# Version 2: leases (which worker holds a key, until when) and callbacks with a cursor
# (many workers share one journal: a callback landing on any of them reaches the owner).
_V2: tuple[LiteralString, ...] = (
    "ALTER TABLE flowapi_submissions ADD COLUMN owner text",
    "ALTER TABLE flowapi_submissions ADD COLUMN lease_until float8",
    """CREATE INDEX flowapi_submissions_owner
        ON flowapi_submissions (namespace, owner) WHERE owner IS NOT NULL""",
    "CREATE SEQUENCE flowapi_callback_seq",
    """CREATE TABLE flowapi_callbacks (
        namespace text NOT NULL,
        jobid text NOT NULL,
        body bytea NOT NULL,
        seq bigint NOT NULL DEFAULT nextval('flowapi_callback_seq'),
        PRIMARY KEY (namespace, jobid))""",
    "CREATE INDEX flowapi_callbacks_seq ON flowapi_callbacks (namespace, seq)",
)

# Version 3: the advisory lock a lease holder's session holds while it lives, so other
# workers take a dead worker's keys over as soon as its connection is gone instead of
# waiting for its leases to lapse.
# The listing cache: the latest ``GET /jobs?options=executing`` any worker of a namespace
# made (its executing job ids), so the others do not make their own (a cache: UNLOGGED).
_V3: tuple[LiteralString, ...] = (
    "ALTER TABLE flowapi_submissions ADD COLUMN owner_lock bigint",
    """CREATE UNLOGGED TABLE flowapi_listing (
        namespace text PRIMARY KEY,
        fetched float8 NOT NULL,
        jobids text[] NOT NULL)""",
)

#: ``(version, statements)`` from an empty database up to :data:`SCHEMA_VERSION`.
MIGRATIONS: tuple[tuple[int, tuple[LiteralString, ...]], ...] = (
    (1, _V1), (2, _V2), (3, _V3))


async def _version(conn: AsyncConnection[tuple[object, ...]]) -> int | None:
    """The stored version; ``None`` for a database without flowapi tables.

    Raises:
        JournalError: flowapi tables without a version row (foreign or damaged).
    """
    cur = await conn.execute(
        "SELECT to_regclass('flowapi_schema') IS NOT NULL, "
        "to_regclass('flowapi_submissions') IS NOT NULL")
    have_schema, have_rows = (bool(v) for v in (await cur.fetchone() or (False, False)))
    if not have_schema:
        if have_rows:
            raise JournalError(
                "the database has a flowapi_submissions table but no flowapi_schema: it was "
                "not created by flowapi (or was damaged); use another database or schema")
        return None
    cur = await conn.execute("SELECT version FROM flowapi_schema WHERE id = 1")
    found = await cur.fetchone()
    if found is None:
        raise JournalError("flowapi_schema has no version row: the journal tables were "
                           "damaged; restore them from a backup or use another database")
    return int(str(found[0]))


async def migrate(conn: AsyncConnection[tuple[object, ...]], *,
                  target: int = SCHEMA_VERSION) -> int:
    """Create or upgrade the schema to ``target`` (default :data:`SCHEMA_VERSION`);
    returns the version found before. Idempotent and safe to run from many workers at once.

    Raises:
        JournalError: the database holds a newer schema (upgrade flowapi) or foreign tables.
    """
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        found = await _version(conn)
        current = found or 0
        if current > SCHEMA_VERSION:
            raise JournalError(
                f"the journal's schema is version {current}, newer than this flowapi knows "
                f"({SCHEMA_VERSION}): upgrade flowapi (pip install -U 'useapi-google-flow"
                "[postgres]') on every worker")
        for version, statements in MIGRATIONS:
            if current < version <= target:
                for statement in statements:
                    await conn.execute(statement)
                await conn.execute("UPDATE flowapi_schema SET version = %s WHERE id = 1",
                                   (version,))
                current = version
    return found or 0
