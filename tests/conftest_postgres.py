"""Fixtures for tests against a real PostgreSQL server (the ``PostgresJournal``).

* ``postgres_admin_dsn`` (session): ``$FLOWAPI_TEST_POSTGRES`` if set (an admin DSN, e.g.
  ``postgresql://postgres@127.0.0.1:5432/postgres``); else a throwaway server started with
  ``scripts/postgres-test-server`` for the session when the server binaries are installed;
  else the test is skipped, or fails when ``$CI`` or ``$FLOWAPI_REQUIRE_POSTGRES`` is set.
* ``postgres_dsn``: a fresh, empty database for one test, dropped afterwards.
* ``postgres_database``: a factory for more such databases (all dropped after the test).

Every test that uses them is marked ``postgres`` (``pytest -m "not postgres"`` leaves them out).
"""

from __future__ import annotations

import getpass
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "postgres-test-server"
ENV_DSN = "FLOWAPI_TEST_POSTGRES"
ENV_REQUIRE = "FLOWAPI_REQUIRE_POSTGRES"
FIXTURES = ("postgres_admin_dsn", "postgres_dsn", "postgres_database")

HOW_TO_GET_ONE = (
    f"set {ENV_DSN} to an admin DSN (e.g. postgresql://postgres@127.0.0.1:5432/postgres), "
    f'or start one: export {ENV_DSN}="$(scripts/postgres-test-server start "$(mktemp -d)")", '
    "or install the server binaries (apt-get install postgresql) so the tests start their own"
)


def no_postgres(reason: str) -> None:
    """Skip the test for want of a server, or fail it when a server is required (``$CI``,
    ``$FLOWAPI_REQUIRE_POSTGRES``): CI must never pass by skipping the Postgres tests."""
    message = f"no PostgreSQL: {reason}; {HOW_TO_GET_ONE}"
    if os.environ.get("CI") or os.environ.get(ENV_REQUIRE):
        pytest.fail(f"{message} (required here: $CI or ${ENV_REQUIRE} is set)", pytrace=False)
    pytest.skip(message)


def server_binaries() -> str | None:
    """The directory of initdb/pg_ctl as ``scripts/postgres-test-server`` finds it, or None."""
    if os.environ.get("PG_BINDIR"):
        bindir = os.environ["PG_BINDIR"]
        return bindir if os.access(os.path.join(bindir, "initdb"), os.X_OK) else None
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: [int(x) for x in Path(p).parts[4].split(".") if x.isdigit()])
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


def why_we_cannot_start_one() -> str | None:
    """None when ``scripts/postgres-test-server`` can start a server here, else why not."""
    if server_binaries() is None:
        return "$FLOWAPI_TEST_POSTGRES is unset and no server binaries (initdb) were found"
    if os.geteuid() == 0:
        os_user = os.environ.get("PG_OS_USER", "postgres")
        try:
            pwd.getpwnam(os_user)
        except KeyError:
            return f"running as root and there is no OS user '{os_user}' to run the server as"
        if shutil.which("runuser") is None:
            return "running as root and there is no runuser to run the server as another user"
    return None


def database_dsn(admin_dsn: str, dbname: str) -> str:
    """``admin_dsn`` pointed at database ``dbname`` (URL or ``key=value`` form)."""
    if admin_dsn.startswith(("postgresql://", "postgres://")):
        return urlsplit(admin_dsn)._replace(path=f"/{dbname}").geturl()
    from psycopg.conninfo import make_conninfo

    return make_conninfo(admin_dsn, dbname=dbname)


def create_database(admin_dsn: str) -> tuple[str, str]:
    """Create an empty database with a unique name: ``(name, dsn)``."""
    import psycopg
    from psycopg import sql

    name = f"flowapi_test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name, database_dsn(admin_dsn, name)


def drop_database(admin_dsn: str, name: str) -> None:
    """Drop database ``name``, ending any sessions still connected to it."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                     .format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def postgres_admin_dsn() -> Iterator[str]:
    """A DSN with the right to create databases: ``$FLOWAPI_TEST_POSTGRES`` or a throwaway
    server for this session (see the module docstring)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        no_postgres("psycopg is not installed (pip install -e '.[dev]')")
    configured = os.environ.get(ENV_DSN)
    if configured:
        yield configured
        return
    reason = why_we_cannot_start_one()
    if reason is not None:
        no_postgres(reason)
    # short and in the system temp dir: a unix socket path has ~100 characters at most
    folder = tempfile.mkdtemp(prefix="flowapi-pg-")
    try:
        started = subprocess.run([str(SCRIPT), "start", folder], capture_output=True, text=True,
                                 timeout=180, check=False)
        if started.returncode != 0:
            pytest.fail(f"scripts/postgres-test-server start failed (as {getpass.getuser()}):\n"
                        f"{started.stderr}", pytrace=False)
        yield started.stdout.strip()
    finally:
        subprocess.run([str(SCRIPT), "stop", folder], capture_output=True, timeout=120,
                       check=False)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres_database(postgres_admin_dsn: str) -> Iterator[Callable[[], str]]:
    """``postgres_database()`` creates another fresh, empty database and returns its DSN;
    every database made this way is dropped when the test ends."""
    made: list[str] = []

    def make() -> str:
        name, dsn = create_database(postgres_admin_dsn)
        made.append(name)
        return dsn

    yield make
    for name in made:
        drop_database(postgres_admin_dsn, name)


@pytest.fixture
def postgres_dsn(postgres_database: Callable[[], str]) -> str:
    """The DSN of a fresh, empty database of its own for this test (dropped afterwards, even
    with connections still open), e.g. ``postgresql://postgres@127.0.0.1:PORT/flowapi_test_…``."""
    return postgres_database()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses a Postgres fixture ``postgres``."""
    for item in items:
        if any(name in FIXTURES for name in getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgres)
