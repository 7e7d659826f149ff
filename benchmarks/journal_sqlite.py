"""What the journal costs on its own (no watcher, no HTTP): a job's four transitions
(add, attempt, accepted, finished) in the in-memory journal and in the sqlite journal
(durable and not), real and CPU seconds per 1,000 jobs, transitions per second, the time
to open (check) the file afterwards, and the event loop's longest stall while it writes.

    .venv/bin/python -m benchmarks.journal_sqlite --rows 1000

Real seconds on this machine's disk; run it where the journal will live (a network file
system or a slow SD card changes everything).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

from flowapi.journal import Accepted, Attempt, Finished, Journal, MemoryJournal, SqliteJournal


async def _lifecycles(j: Journal, n: int) -> float:
    """Seconds for ``n`` full lifecycles (add, attempt, accepted, succeeded)."""
    start = time.perf_counter()
    for i in range(n):
        key = f"k{i}"
        await j.add(key, kind="VideoParams", params='{"prompt":"a cat"}', tag=None)
        await j.update(key, Attempt(marker=f"m{i}"))
        await j.update(key, Accepted(jobid=f"job-{i}"))
        await j.update(key, Finished(succeeded=True, job='{"status":"completed"}'))
    return time.perf_counter() - start


async def _stall(j: Journal, n: int) -> tuple[float, float, float]:
    """(seconds for ``n`` lifecycles, CPU seconds of the process meanwhile — the journal's
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
        took = await _lifecycles(j, n)
        done.set()
    return took, time.process_time() - cpu, worst


async def measure(rows: int) -> list[dict[str, Any]]:
    """One row per journal (memory; sqlite durable; sqlite ``durable=False``): real and
    CPU seconds per 1,000 lifecycles (4 transitions each), commits per second, the longest
    event-loop stall, and for sqlite the time to open (lock + check) the file afterwards."""
    out: list[dict[str, Any]] = []
    memory = MemoryJournal()
    await memory.open()
    took, cpu, worst = await _stall(memory, rows)
    await memory.close()
    # in-loop dict updates with no I/O: no stall to measure (the ticker cannot run meanwhile)
    out.append({"journal": "memory", "rows": rows, "wall_s": took, "cpu_s": cpu,
                "stall_ms": None, "open_ms": None, "kib": None})
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
                        "kib": path.stat().st_size / 1024})
    return out


def run(rows: int = 1000) -> list[dict[str, Any]]:
    """:func:`measure` in its own event loop."""
    result: list[dict[str, Any]] = anyio.run(measure, rows)
    return result


def markdown(rows: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table."""
    out = ["| journal | lifecycles | real s per 1,000 jobs | CPU s per 1,000 jobs | commits/s "
           "| longest event-loop stall ms | open (lock + check) ms | file KiB |",
           "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        per = 1000 / r["rows"]
        opened = f"{r['open_ms']:.1f}" if r["open_ms"] is not None else "–"
        stall = f"{r['stall_ms']:.1f}" if r["stall_ms"] is not None else "–"
        kib = f"{r['kib']:.0f}" if r["kib"] is not None else "–"
        out.append(f"| {r['journal']} | {r['rows']:,} | {r['wall_s'] * per:.2f} | "
                   f"{r['cpu_s'] * per:.2f} | {4 * r['rows'] / r['wall_s']:,.0f} | "
                   f"{stall} | {opened} | {kib} |")
    return "\n".join(out)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1000)
    print(markdown(run(parser.parse_args().rows)))
