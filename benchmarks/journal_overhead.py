"""What the journal costs on its own (no watcher, no HTTP), per job, for every journal:
a job's lifecycle as a watcher writes it — add, (claim, PostgreSQL only), attempt,
accepted, finished — awaited one after another, in the in-memory journal, the sqlite
journal (durable and not) and the PostgreSQL journal.

    .venv/bin/python -m benchmarks.journal_overhead --rows 1000
    .venv/bin/python -m benchmarks.journal_overhead --rows 1000 --no-postgres

Per journal: real and CPU milliseconds per job (CPU of this process, the sqlite journal's
worker thread included; for PostgreSQL also the server's backends, when the benchmark
started the server), transitions per second, the event loop's longest stall (a 1 ms
ticker runs meanwhile), for sqlite the time to open (lock + check) the file afterwards,
and for PostgreSQL the statements and transactions per job.

PostgreSQL: ``FLOWAPI_TEST_POSTGRES`` (an admin DSN) if set, else a throwaway server from
``scripts/postgres-test-server`` on loopback (``fsync=off``, ``synchronous_commit=off``);
a fresh database for the run (``CREATE``/``DROP DATABASE``). Real seconds on this
machine: run it where the journal will live — a network file system, a slow SD card or a
database across a network changes everything (each PostgreSQL statement is at least one
network round trip).
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio

from flowapi.journal import Accepted, Attempt, Finished, Journal, MemoryJournal, SqliteJournal

from . import _postgres

#: The job record a ``Finished`` carries (the watcher stores the final job as JSON).
_JOB = '{"status":"completed"}'


async def _lifecycles(j: Journal, n: int, *, claim: bool, prefix: str = "k") -> float:
    """Seconds for ``n`` full lifecycles (add, [claim,] attempt, accepted, succeeded)."""
    claimer: Any = j if claim else None
    start = time.perf_counter()
    for i in range(n):
        key = f"{prefix}{i}"
        await j.add(key, kind="VideoParams", params='{"prompt":"a cat"}', tag=None)
        if claimer is not None:
            await claimer.claim(key)
        await j.update(key, Attempt(marker=f"m{prefix}{i}"))
        await j.update(key, Accepted(jobid=f"job-{prefix}{i}"))
        await j.update(key, Finished(succeeded=True, job=_JOB))
    return time.perf_counter() - start


async def _stall(j: Journal, n: int, *, claim: bool = False,
                 ) -> tuple[float, float, float]:
    """(seconds for ``n`` lifecycles, CPU seconds of this process meanwhile — a journal's
    worker thread included —, longest gap between two ticks of a 1 ms ticker)."""
    worst = 0.0
    done = anyio.Event()

    async def ticker() -> None:
        nonlocal worst
        last = time.perf_counter()
        while not done.is_set():
            await anyio.sleep(0.001)
            now = time.perf_counter()
            worst = max(worst, now - last)
            last = now

    cpu = time.process_time()
    async with anyio.create_task_group() as tg:
        tg.start_soon(ticker)
        took = await _lifecycles(j, n, claim=claim)
        done.set()
    return took, time.process_time() - cpu, worst


@contextlib.contextmanager
def _count_statements() -> Iterator[list[int]]:
    """Count ``AsyncConnection.execute`` calls (every statement the journal sends; the
    ``BEGIN``/``COMMIT`` psycopg adds are not among them) while the block runs."""
    from psycopg import AsyncConnection

    count = [0]
    original = AsyncConnection.execute

    async def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        count[0] += 1
        return await original(self, *args, **kwargs)

    AsyncConnection.execute = counting  # type: ignore[method-assign]
    try:
        yield count
    finally:
        AsyncConnection.execute = original  # type: ignore[method-assign]


async def _postgres_row(srv: _postgres.Server, rows: int) -> dict[str, Any]:
    """The PostgreSQL journal in a fresh database: the timed run, then a short counted run
    (statements per lifecycle; not timed, the counting wrapper costs CPU)."""
    from flowapi.journal import PostgresJournal

    namespace = "bench-" + uuid.uuid4().hex[:8]

    async def cycle(n: int, prefix: str) -> tuple[int, float, float, float, float]:
        """Open, ``n`` lifecycles, close: (transactions of the database meanwhile — a
        closed backend flushes its statistics —, seconds, CPU, stall, server CPU)."""
        before = _postgres.transactions(dsn)
        j = PostgresJournal(dsn, namespace=namespace)
        await j.open()
        await _lifecycles(j, 20, claim=True, prefix="warm" + prefix)  # connections, plans
        server_cpu = srv.cpu_seconds()
        took, cpu, worst = await _stall(j, n, claim=True) if n else (0.0, 0.0, 0.0)
        server_cpu = srv.cpu_seconds() - server_cpu
        await j.close()
        await anyio.sleep(0.5)
        return _postgres.transactions(dsn) - before, took, cpu, worst, server_cpu

    with _postgres.fresh_database(srv) as dsn:
        await cycle(0, "a")  # the schema is created here
        base = (await cycle(0, "b"))[0]  # open + 20 lifecycles + close + one reading
        xacts, took, cpu, worst, server_cpu = await cycle(rows, "c")
        xacts -= base
        j = PostgresJournal(dsn, namespace=namespace)
        await j.open()
        with _count_statements() as count:
            await _lifecycles(j, 50, claim=True, prefix="count")
        await j.close()
    settings = srv.settings()
    return {"journal": "postgres (loopback)", "rows": rows, "wall_s": took, "cpu_s": cpu,
            "server_cpu_s": server_cpu, "stall_ms": worst * 1000, "open_ms": None,
            "kib": None, "statements_per_job": count[0] / 50,
            "transactions_per_job": xacts / rows, "transitions": 5,
            "server": ("started here" if srv.started_here else "FLOWAPI_TEST_POSTGRES")
            + f", PostgreSQL {settings['server_version']}, fsync={settings['fsync']}, "
            f"synchronous_commit={settings['synchronous_commit']}"}


async def measure(rows: int, *, postgres: bool = True) -> list[dict[str, Any]]:
    """One row per journal (memory; sqlite durable; sqlite ``durable=False``; PostgreSQL
    unless ``postgres=False``): real and CPU seconds for ``rows`` lifecycles, the longest
    event-loop stall, for sqlite the time to open (lock + check) the file afterwards, for
    PostgreSQL the statements and transactions per lifecycle."""
    out: list[dict[str, Any]] = []
    memory = MemoryJournal()
    await memory.open()
    took, cpu, worst = await _stall(memory, rows)
    await memory.close()
    # in-loop dict updates with no I/O: no stall to measure (the ticker cannot run meanwhile)
    out.append({"journal": "memory", "rows": rows, "wall_s": took, "cpu_s": cpu,
                "stall_ms": None, "open_ms": None, "kib": None, "transitions": 4})
    with tempfile.TemporaryDirectory() as tmp:
        for durable in (True, False):
            path = Path(tmp) / f"j-{durable}.sqlite"
            j = SqliteJournal(path, durable=durable)
            await j.open()
            took, cpu, worst = await _stall(j, rows)
            await j.close()
            start = time.perf_counter()
            j = SqliteJournal(path)
            await j.open()
            opened = time.perf_counter() - start
            await j.close()
            out.append({"journal": f"sqlite durable={durable}", "rows": rows, "wall_s": took,
                        "cpu_s": cpu, "stall_ms": worst * 1000, "open_ms": opened * 1000,
                        "kib": path.stat().st_size / 1024, "transitions": 4})
    if postgres:
        with _postgres.server() as srv:
            out.append(await _postgres_row(srv, rows))
    return out


def run(rows: int = 1000, *, postgres: bool = True) -> list[dict[str, Any]]:
    """:func:`measure` in its own event loop."""
    result: list[dict[str, Any]] = anyio.run(lambda: measure(rows, postgres=postgres))
    return result


def _opt(value: float | None, fmt: str) -> str:
    return "–" if value is None else format(value, fmt)


def markdown(rows: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table (and the PostgreSQL server's settings below it)."""
    out = ["| journal | jobs | transitions per job | real ms per job | CPU ms per job "
           "| server CPU ms per job | transitions/s | longest event-loop stall ms "
           "| statements / transactions per job | open (lock + check) ms | file KiB |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    notes = []
    for r in rows:
        n = r["rows"]
        server = r.get("server_cpu_s")
        stmts = (f"{r['statements_per_job']:.0f} / {r['transactions_per_job']:.1f}"
                 if "statements_per_job" in r else "–")
        out.append(
            f"| {r['journal']} | {n:,} | {r.get('transitions', 4)} | "
            f"{r['wall_s'] * 1000 / n:.3f} | {r['cpu_s'] * 1000 / n:.3f} | "
            f"{_opt(server * 1000 / n if server is not None else None, '.3f')} | "
            f"{r.get('transitions', 4) * n / r['wall_s']:,.0f} | "
            f"{_opt(r['stall_ms'], '.1f')} | {stmts} | {_opt(r['open_ms'], '.1f')} | "
            f"{_opt(r['kib'], '.0f')} |")
        if r.get("server"):
            notes.append(f"PostgreSQL server: {r['server']}.")
    return "\n".join(out + (["", *notes] if notes else []))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--no-postgres", action="store_true",
                        help="leave the PostgreSQL journal out")
    args = parser.parse_args()
    print(markdown(run(args.rows, postgres=not args.no_postgres)))
