"""A PostgreSQL server for the benchmarks, and a fresh database per run.

``FLOWAPI_TEST_POSTGRES`` (an admin DSN, as for the test suite) is used when set; otherwise
``scripts/postgres-test-server start DIR`` starts a throwaway server on loopback (trust
auth, ``fsync=off``, ``synchronous_commit=off``: commits cost no disk flush — say so next
to any figure) and stops it afterwards. Each run gets its own database (``CREATE
DATABASE`` … ``DROP DATABASE``).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "postgres-test-server"


@dataclass
class Server:
    """An admin DSN; ``directory`` is set when this process started the server (then its
    backends' CPU can be read from ``/proc``)."""

    admin_dsn: str
    directory: Path | None

    @property
    def started_here(self) -> bool:
        """Whether the benchmark started (and will stop) this server."""
        return self.directory is not None

    def settings(self) -> dict[str, str]:
        """``fsync``, ``synchronous_commit`` and the server version."""
        import psycopg

        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            out = {}
            for name in ("server_version", "fsync", "synchronous_commit"):
                row = conn.execute(f"SHOW {name}").fetchone()  # names are fixed above
                out[name] = str(row[0]) if row else "?"
            return out

    def cpu_seconds(self) -> float:
        """CPU seconds (user + system) of the postmaster and its children so far (only for
        a server started here; NaN otherwise). Backends that exited are not counted, so
        read it while the benchmark's connections are still open."""
        if self.directory is None:
            return float("nan")
        try:
            lines = (self.directory / "data" / "postmaster.pid").read_text().splitlines()
            postmaster = int(lines[0])
        except (OSError, ValueError, IndexError):
            return float("nan")
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            pid, ppid = int(proc.name), int(fields[1])
            if pid == postmaster or ppid == postmaster:
                total += int(fields[11]) + int(fields[12])
        return total / ticks


@contextlib.contextmanager
def server() -> Iterator[Server]:
    """``FLOWAPI_TEST_POSTGRES`` if set, else a throwaway server started for the block."""
    dsn = os.environ.get("FLOWAPI_TEST_POSTGRES")
    if dsn:
        yield Server(dsn, None)
        return
    with tempfile.TemporaryDirectory(prefix="fpg") as tmp:
        os.chmod(tmp, 0o755)  # as root the server runs as another OS user: let it in
        directory = Path(tmp) / "s"
        started = subprocess.run([str(SCRIPT), "start", str(directory)], capture_output=True,
                                 text=True, check=False, timeout=120)
        if started.returncode != 0:
            raise RuntimeError(f"postgres-test-server start failed: {started.stderr[-2000:]}")
        try:
            yield Server(started.stdout.strip().splitlines()[-1], directory)
        finally:
            subprocess.run([str(SCRIPT), "stop", str(directory)], capture_output=True,
                           check=False, timeout=120)


def with_dbname(dsn: str, dbname: str) -> str:
    """``dsn`` pointing at database ``dbname``."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    parts: dict[str, Any] = conninfo_to_dict(dsn)
    parts["dbname"] = dbname
    return make_conninfo("", **parts)


@contextlib.contextmanager
def fresh_database(srv: Server) -> Iterator[str]:
    """A new, empty database for the block (dropped afterwards); yields its DSN."""
    import psycopg
    from psycopg import sql

    name = "flowapi_bench_" + uuid.uuid4().hex[:12]
    with psycopg.connect(srv.admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield with_dbname(srv.admin_dsn, name)
    finally:
        with psycopg.connect(srv.admin_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))


def transactions(dsn: str) -> int:
    """Committed plus rolled-back transactions of ``dsn``'s database so far
    (``pg_stat_database``; the statistics lag by up to ``stats_fetch_consistency``: read
    it after the connections being measured are closed or idle, and subtract the reads)."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute("SELECT xact_commit + xact_rollback FROM pg_stat_database "
                           "WHERE datname = current_database()").fetchone()
    return int(row[0]) if row else 0
