"""The real PostgreSQL server the ``PostgresJournal`` tests run against
(``tests/conftest_postgres.py``): every test gets a fresh, empty database of its own that is
dropped afterwards, and LISTEN/NOTIFY works on it with psycopg's async connections."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import psycopg
import pytest

from tests.conftest_postgres import create_database, drop_database, no_postgres

# tests using the Postgres fixtures are marked `postgres` by tests/conftest_postgres.py
pytestmark = pytest.mark.anyio

USER_RELATIONS = """
    SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
"""


async def test_each_test_gets_a_fresh_empty_database(postgres_dsn: str) -> None:
    assert postgres_dsn.startswith("postgresql://")
    name = urlsplit(postgres_dsn).path.lstrip("/")
    assert name.startswith("flowapi_test_")
    async with await psycopg.AsyncConnection.connect(postgres_dsn) as conn:
        cur = await conn.execute("SELECT current_database(), current_user")
        assert await cur.fetchone() == (name, "postgres")
        cur = await conn.execute(USER_RELATIONS)
        assert await cur.fetchone() == (0,)
        cur = await conn.execute("SELECT count(*) FROM pg_stat_activity "
                                 "WHERE datname = current_database()")
        assert await cur.fetchone() == (1,)  # nobody else is connected to it
        await conn.execute("CREATE TABLE marks (n int)")  # and we may create tables


async def test_two_databases_are_distinct(postgres_dsn: str,
                                          postgres_database: Callable[[], str]) -> None:
    other = postgres_database()
    assert urlsplit(other).path != urlsplit(postgres_dsn).path
    async with await psycopg.AsyncConnection.connect(postgres_dsn, autocommit=True) as a, \
            await psycopg.AsyncConnection.connect(other, autocommit=True) as b:
        await a.execute("CREATE TABLE only_in_a (n int)")
        cur = await b.execute("SELECT to_regclass('only_in_a') IS NULL")
        assert await cur.fetchone() == (True,)
        cur = await b.execute(USER_RELATIONS)
        assert await cur.fetchone() == (0,)


async def test_listen_notify_across_two_connections(postgres_dsn: str) -> None:
    async with await psycopg.AsyncConnection.connect(postgres_dsn, autocommit=True) as listener, \
            await psycopg.AsyncConnection.connect(postgres_dsn) as sender:
        await listener.execute("LISTEN flowapi_jobs")
        # two notifications in one transaction arrive together, in order, at commit
        await sender.execute("SELECT pg_notify('flowapi_jobs', 'j1'), pg_notify('other', 'x')")
        await sender.execute("NOTIFY flowapi_jobs, 'j2'")
        await sender.commit()
        got = [n async for n in listener.notifies(timeout=30.0, stop_after=2)]
        assert [(n.channel, n.payload, n.pid) for n in got] == [
            ("flowapi_jobs", "j1", sender.info.backend_pid),
            ("flowapi_jobs", "j2", sender.info.backend_pid),
        ]


async def test_notifications_stay_in_their_database(
        postgres_dsn: str, postgres_database: Callable[[], str]) -> None:
    other = postgres_database()
    async with await psycopg.AsyncConnection.connect(postgres_dsn, autocommit=True) as listener, \
            await psycopg.AsyncConnection.connect(postgres_dsn, autocommit=True) as same, \
            await psycopg.AsyncConnection.connect(other, autocommit=True) as elsewhere:
        await listener.execute("LISTEN flowapi_jobs")
        await elsewhere.execute("NOTIFY flowapi_jobs, 'from the other database'")
        await same.execute("NOTIFY flowapi_jobs, 'from this database'")
        # the other database's notification was committed first: had it leaked, it came first
        got = [n async for n in listener.notifies(timeout=30.0, stop_after=1)]
        assert [n.payload for n in got] == ["from this database"]


def test_a_database_is_dropped_even_while_in_use(postgres_admin_dsn: str) -> None:
    name, dsn = create_database(postgres_admin_dsn)
    with psycopg.connect(dsn) as left_open:
        drop_database(postgres_admin_dsn, name)
        with psycopg.connect(postgres_admin_dsn) as admin:
            gone = admin.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (name,))
            assert gone.fetchone() == (0,)
        with pytest.raises(psycopg.OperationalError):
            left_open.execute("SELECT 1")


@pytest.mark.parametrize("variable", ["CI", "FLOWAPI_REQUIRE_POSTGRES"])
def test_no_server_fails_when_one_is_required(monkeypatch: pytest.MonkeyPatch,
                                              variable: str) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("FLOWAPI_REQUIRE_POSTGRES", raising=False)
    with pytest.raises(pytest.skip.Exception, match="FLOWAPI_TEST_POSTGRES"):
        no_postgres("none here")
    monkeypatch.setenv(variable, "1")
    with pytest.raises(pytest.fail.Exception, match="no PostgreSQL: none here"):
        no_postgres("none here")
