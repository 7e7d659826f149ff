"""The watcher's own CPU per job, without HTTP: a session whose calls answer instantly.

Jobs "run" on the session's ScaledClock for the benchmark's durations; ``jobs.submit``
returns a created job, ``jobs.get`` its current record, the listing the ids still running.
What is measured is the watcher's bookkeeping (timer heap, ripe set, the two worker pools,
tracker, outcome queue), its journal (four transitions per job: add, attempt, accepted,
finished), the validation and encoding of each submit and the decoding of each listing;
the stub's own work (building job records and listings) is subtracted. Compare with the
per-request cost of aiohttp + the transport in RESULTS.md to see where client CPU goes.

``journal="memory"`` (the default :class:`~flowapi.journal.MemoryJournal`) or
``journal="sqlite"`` (a :class:`~flowapi.SqliteJournal` in a temporary directory, durable
commits): the difference is the journal's cost per job. CPU is the whole process's
(``time.process_time`` counts the journal's worker thread too); wall is real seconds of the
run, most of it the simulated job durations (``time_scale`` 0.02), so only its growth
between the two journals means something.

Run alone: ``python -m benchmarks.overhead [--journal memory|sqlite] [N ...]``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import anyio._backends._asyncio  # import time is not watcher CPU (anyio imports it lazily)
import msgspec

from flowapi import JobSucceeded, PollPolicy, SqliteJournal, Timeouts, VideoParams
from flowapi._clock import ScaledClock
from flowapi._lanes import Lanes
from flowapi.journal import Journal, MemoryJournal
from flowapi.types.jobs import Job
from flowapi.watch import JobWatcher

from . import _workload

_RANGES = {_workload.QUALITY: (150.0, 210.0), _workload.FAST: (60.0, 120.0),
           _workload.LOW: (50.0, 100.0)}
_EMAIL = "bench@example.com"


class _Jobs:
    """Instant answers; the CPU they take (the "server side") is accounted in ``stub_cpu``
    and subtracted from the watcher's figure."""

    def __init__(self, clock: ScaledClock) -> None:
        self.clock = clock
        self.rng = random.Random(1)
        self.finish: dict[str, float] = {}
        self.n = 0
        self.stub_cpu = 0.0

    async def submit(self, params: Any, *, retry: Any = None) -> Job:
        await asyncio.sleep(0)
        c = time.process_time()
        self.n += 1
        jobid = f"j{self.n:012d}v-u1234-email:{_EMAIL}-bot:google-flow"
        lo, hi = _RANGES[params.model]
        self.finish[jobid] = self.clock.now() + self.rng.uniform(lo, hi)
        job = Job(raw_jobid=jobid, status="created")  # type: ignore[call-arg]
        self.stub_cpu += time.process_time() - c
        params.to_wire()  # what jobs.submit does client-side besides HTTP (counted)
        return job

    async def get(self, jobid: str) -> Job:
        await asyncio.sleep(0)
        c = time.process_time()
        done = self.clock.now() >= self.finish[jobid]
        job = Job(raw_jobid=jobid, status="completed" if done else "started")  # type: ignore[call-arg]
        self.stub_cpu += time.process_time() - c
        return job


class _Transport:
    def __init__(self, jobs: _Jobs) -> None:
        self.jobs = jobs
        self.lanes = Lanes()

    async def request(self, method: str, segments: Any, response_type: Any,
                      **kw: Any) -> Any:
        await asyncio.sleep(0)
        c = time.process_time()
        now = self.jobs.clock.now()
        running = {j: {} for j, t in self.jobs.finish.items() if t > now}
        body = msgspec.json.encode({"videos": {"executing": running}})
        self.jobs.stub_cpu += time.process_time() - c
        return msgspec.json.decode(body, type=response_type)  # the client's decode (counted)


class _Accounts:
    async def get(self, email: str) -> Any:
        raise LookupError  # not reached: learn_generation_times=False


class _Session:
    """Just what JobWatcher uses of a FlowSession."""

    def __init__(self, clock: ScaledClock) -> None:
        self.clock = clock
        self.validate = True
        self.jobs = _Jobs(clock)
        self.transport = _Transport(self.jobs)
        self.accounts = _Accounts()
        self.poll = PollPolicy()
        self.timeouts = Timeouts()


async def measure(n: int, mode: str, time_scale: float,
                  journal: str = "memory") -> dict[str, Any]:
    """One run of ``n`` jobs; ``journal`` is ``"memory"`` or ``"sqlite"``."""
    with tempfile.TemporaryDirectory() as tmp:
        store: Journal = (SqliteJournal(Path(tmp) / "bench.sqlite") if journal == "sqlite"
                          else MemoryJournal())
        await store.open()
        try:
            return await _measure(n, mode, time_scale, store, journal)
        finally:
            await store.close()


async def _measure(n: int, mode: str, time_scale: float, store: Journal,
                   journal: str) -> dict[str, Any]:
    clock = ScaledClock(time_scale)
    session: Any = _Session(clock)
    models = _workload.models(n)
    params = [VideoParams(prompt=_workload.prompt(i), model=m) for i, m in enumerate(models)]
    cpu = time.process_time()
    wall = time.perf_counter()
    got = 0
    async with JobWatcher(session, max_in_flight=n, mode=mode, journal=store,
                          learn_generation_times=False) as watcher:
        async def feed() -> None:
            for i, p in enumerate(params):
                await watcher.submit(p, key=str(i))
            watcher.close()

        async with anyio.create_task_group() as tg:
            tg.start_soon(feed)
            async for outcome in watcher:
                got += isinstance(outcome, JobSucceeded)
    cpu = time.process_time() - cpu - session.jobs.stub_cpu
    return {"n": n, "journal": journal, "us_per_job": cpu / n * 1e6, "succeeded": got,
            "wall_s": time.perf_counter() - wall,
            "listings": watcher.stats.listings, "polls": watcher.stats.polls}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("n", type=int, nargs="*", default=[1000, 10_000])
    parser.add_argument("--journal", choices=("memory", "sqlite"), nargs="+",
                        default=["memory", "sqlite"])
    args = parser.parse_args()
    for n in args.n:
        for journal in args.journal:
            r = asyncio.run(measure(n, "listing", 0.02, journal))
            print(f"N={n} journal={journal}: {r['us_per_job']:.0f} µs CPU per job, "
                  f"{r['wall_s']:.1f} s wall (listings={r['listings']}, polls={r['polls']}, "
                  f"succeeded={r['succeeded']})")


if __name__ == "__main__":
    main()
