"""The watcher's own CPU per job, without HTTP: a session whose calls answer instantly.

Jobs "run" on the session's ScaledClock for the benchmark's durations; ``jobs.submit``
returns a created job, ``jobs.get`` its current record, the listing the ids still running.
What is measured is the watcher's bookkeeping (scheduler heap, ripe set, worker pool,
outcome queue), the validation and encoding of each submit and the decoding of each listing;
the stub's own work (building job records and listings) is subtracted. Compare with the
per-request cost of aiohttp + the transport in RESULTS.md to see where client CPU goes.

Run alone: ``python -m benchmarks.overhead [N ...]``.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from typing import Any

import anyio
import anyio._backends._asyncio  # import time is not watcher CPU (anyio imports it lazily)
import msgspec

from flowapi import JobSucceeded, PollPolicy, VideoParams
from flowapi._clock import ScaledClock
from flowapi.types.jobs import Job

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

    async def submit(self, params: Any) -> Job:
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


async def measure(n: int, mode: str, time_scale: float) -> dict[str, float]:
    from flowapi._watcher import JobWatcher

    clock = ScaledClock(time_scale)
    session: Any = _Session(clock)
    models = _workload.models(n)
    params = [VideoParams(prompt=_workload.prompt(i), model=m) for i, m in enumerate(models)]
    cpu = time.process_time()
    got = 0
    async with JobWatcher(session, max_in_flight=n, mode=mode,
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
    return {"n": n, "us_per_job": cpu / n * 1e6, "succeeded": got,
            "listings": watcher.stats.listings, "polls": watcher.stats.polls}


def main() -> None:
    ns = [int(a) for a in sys.argv[1:]] or [1000, 10_000]
    for n in ns:
        r = asyncio.run(measure(n, "listing", 0.02))
        print(f"N={n}: {r['us_per_job']:.0f} µs CPU per job (listings={r['listings']}, "
              f"polls={r['polls']}, succeeded={r['succeeded']})")


if __name__ == "__main__":
    main()
