"""What the sqlite journal costs: transitions per second (durable and not), the time to
open (check) a large journal, and the event loop's longest stall while it writes.

    .venv/bin/python -m benchmarks.journal_sqlite --rows 1000

Real seconds on this machine's disk; run it where the journal will live (a network file
system or a slow SD card changes everything).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import anyio

from flowapi.journal import Accepted, Attempt, Finished, SqliteJournal


async def _lifecycles(j: SqliteJournal, n: int) -> float:
    """Seconds for ``n`` full lifecycles (add, attempt, accepted, succeeded)."""
    start = time.perf_counter()
    for i in range(n):
        key = f"k{i}"
        await j.add(key, kind="VideoParams", params='{"prompt":"a cat"}', tag=None)
        await j.update(key, Attempt(marker=f"m{i}"))
        await j.update(key, Accepted(jobid=f"job-{i}"))
        await j.update(key, Finished(succeeded=True, job='{"status":"completed"}'))
    return time.perf_counter() - start


async def _stall(j: SqliteJournal, n: int) -> tuple[float, float]:
    """(seconds for ``n`` lifecycles, longest gap between two ticks of a 1 ms ticker)."""
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

    async with anyio.create_task_group() as tg:
        tg.start_soon(ticker)
        took = await _lifecycles(j, n)
        done.set()
    return took, worst


async def main(rows: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for durable in (True, False):
            path = Path(tmp) / f"j-{durable}.sqlite"
            j = SqliteJournal(path, durable=durable)
            await j.open()
            took, worst = await _stall(j, rows)
            await j.close()
            print(f"durable={durable!s:5}: {rows} lifecycles ({4 * rows} commits) in "
                  f"{took:.2f} s = {4 * rows / took:,.0f} commits/s; longest event-loop "
                  f"stall {worst * 1000:.1f} ms (1 ms ticker)")
            start = time.perf_counter()
            j = SqliteJournal(path)
            await j.open()
            print(f"  open (lock, quick_check) of {rows} rows: "
                  f"{(time.perf_counter() - start) * 1000:.1f} ms; file "
                  f"{path.stat().st_size / 1024:.0f} KiB")
            await j.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1000)
    anyio.run(main, parser.parse_args().rows)
