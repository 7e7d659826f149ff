"""Client CPU per request against the fake (separate process): plain aiohttp vs flowapi.

Sequential requests on one keep-alive connection, CPU = user + system of this process, the
best of 5 interleaved rounds:

* ``aiohttp GET + read`` — the floor of any aiohttp client;
* ``+ msgspec decode`` — the same plus decoding the job record;
* ``flow.jobs.get`` — flowapi's transport (URL join, headers, retry loop, capped read,
  decode);
* ``flow.jobs.submit`` — validation, encoding, POST, 201 decode.

Run alone: ``python -m benchmarks.request_cost``.
"""

from __future__ import annotations

import asyncio
import resource
import time
from typing import Any

import msgspec

from flowapi import FlowSession, VideoParams
from flowapi._clock import ScaledClock
from flowapi.types.jobs import Job

from ._fake import TOKEN, FakeProcess


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def _measure(base: str, clock: ScaledClock, n: int) -> dict[str, float]:
    out: dict[str, float] = {}
    async with FlowSession(TOKEN, base_url=base, clock=clock) as flow:
        jobid = (await flow.jobs.submit(VideoParams(prompt="cost probe"))).jobid
        http = flow.transport.http
        url = base + "jobs/" + jobid
        headers = {"Authorization": f"Bearer {TOKEN}"}
        decoder = msgspec.json.Decoder(Job)
        for _ in range(100):  # warm up
            await flow.jobs.get(jobid)

        async def raw() -> Any:
            async with http.get(url, headers=headers) as r:
                return await r.read()

        async def raw_decode() -> Any:
            async with http.get(url, headers=headers) as r:
                return decoder.decode(await r.read())

        methods: dict[str, Any] = {
            "aiohttp GET + read": raw,
            "aiohttp GET + read + msgspec decode": raw_decode,
            "flow.jobs.get": lambda: flow.jobs.get(jobid),
        }
        rounds = 5
        per_round = max(1, n // rounds)
        counter = iter(range(10**9))
        methods["flow.jobs.submit"] = lambda: flow.jobs.submit(VideoParams(
            prompt=f"cost probe {next(counter)}", model="veo-3.1-lite-low-priority"))
        for _ in range(rounds):  # interleaved rounds, best of each: the machine may be shared
            for label, fn in methods.items():
                k = per_round // 4 if label == "flow.jobs.submit" else per_round
                c = _cpu()
                for _ in range(k):
                    await fn()
                cost = (_cpu() - c) / k * 1e6
                out[label] = min(out.get(label, cost), cost)
    return out


def run(n: int = 2000) -> dict[str, float]:
    """µs of client CPU per request, by method."""
    anchor = time.time()
    with FakeProcess(0.05, anchor) as fake:
        return asyncio.run(_measure(fake.base_url, ScaledClock(0.05, anchor=anchor), n))


def markdown(rows: dict[str, float]) -> str:
    out = ["| request | client CPU µs |", "|---|---:|"]
    out += [f"| {k} | {v:.0f} |" for k, v in rows.items()]
    return "\n".join(out)


if __name__ == "__main__":
    print(markdown(run()))
