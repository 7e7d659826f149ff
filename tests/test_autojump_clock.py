"""AutojumpClock (issue 8 item 7): virtual time that moves only when everything is asleep.

Ordering of sleepers, cancellation, manual advance, and the quiet rule: no jump while a
task can run, while a task holds the clock, or while a traced request is on the wire.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
import anyio
import pytest
from aiohttp import web

from flowapi._clock import Clock
from flowapi.testing import AutojumpClock

pytestmark = pytest.mark.anyio


def test_is_a_clock_and_starts_at_a_fixed_instant() -> None:
    clock = AutojumpClock(start=1000.0)
    assert isinstance(clock, Clock)
    assert clock.now() == clock.time() == 1000.0
    with pytest.raises(ValueError, match="threshold"):
        AutojumpClock(threshold=0)
    with pytest.raises(ValueError, match=">= 0"):
        clock.advance(-1)


async def test_sleepers_wake_in_deadline_then_arrival_order_at_exact_times() -> None:
    clock = AutojumpClock(start=0.0)
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append((name, clock.now()))

    async with anyio.create_task_group() as tg:
        for name, seconds in (("c", 30.0), ("a", 10.0), ("b1", 20.0), ("b2", 20.0)):
            tg.start_soon(sleeper, name, seconds)
            await asyncio.sleep(0)  # b1 goes to sleep before b2
    assert woke == [("a", 10.0), ("b1", 20.0), ("b2", 20.0), ("c", 30.0)]
    assert clock.jumps == 3  # one jump per distinct wake-up time
    assert clock.sleepers == 0


async def test_a_cancelled_sleeper_is_forgotten() -> None:
    clock = AutojumpClock(start=0.0)
    woke_at: list[float] = []

    async def long_sleep() -> None:
        await clock.sleep(100.0)
        woke_at.append(clock.now())

    short = anyio.CancelScope()

    async def short_sleep() -> None:
        with short:
            await clock.sleep(1.0)
            woke_at.append(-1.0)  # never: cancelled before time moved

    async with anyio.create_task_group() as tg:
        tg.start_soon(short_sleep)
        tg.start_soon(long_sleep)
        await asyncio.sleep(0)
        assert clock.sleepers == 2
        short.cancel()
    assert woke_at == [100.0]  # jumped straight to the live sleeper's wake-up
    assert clock.jumps == 1


async def test_advance_wakes_the_sleepers_due_by_then() -> None:
    clock = AutojumpClock(start=0.0, threshold=60.0)  # no automatic jump in this test
    woke: list[str] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append(name)

    async with anyio.create_task_group() as tg:
        tg.start_soon(sleeper, "early", 5.0)
        tg.start_soon(sleeper, "late", 500.0)
        await asyncio.sleep(0)
        clock.advance(10.0)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert woke == ["early"]
        assert clock.now() == 10.0
        clock.advance(490.0)
    assert woke == ["early", "late"]
    assert clock.jumps == 0


async def test_no_jump_while_another_task_can_run() -> None:
    clock = AutojumpClock(start=0.0, threshold=0.001)
    seen: list[float] = []

    async def busy() -> None:  # runnable for 20x the threshold, never sleeps on the clock
        until = time.monotonic() + 0.02
        while time.monotonic() < until:
            seen.append(clock.now())
            await asyncio.sleep(0)

    async with anyio.create_task_group() as tg:
        tg.start_soon(clock.sleep, 7.0)
        tg.start_soon(busy)
    assert seen and set(seen) == {0.0}
    assert clock.now() == 7.0


async def test_no_jump_while_a_task_holds_the_clock() -> None:
    clock = AutojumpClock(start=0.0, threshold=0.001)
    during: list[float] = []

    async def holder() -> None:
        with clock.hold():
            await asyncio.sleep(0.02)  # real wait (e.g. I/O) inside the hold
            during.append(clock.now())

    async with anyio.create_task_group() as tg:
        tg.start_soon(clock.sleep, 7.0)
        tg.start_soon(holder)
    assert during == [0.0]
    assert clock.now() == 7.0


async def test_a_holder_asleep_on_the_clock_does_not_block_jumps() -> None:
    clock = AutojumpClock(start=0.0, threshold=0.001)
    with clock.hold():
        await clock.sleep(3.0)  # e.g. the fake simulating captcha solving mid-request
    assert clock.now() == 3.0


async def test_no_jump_while_a_traced_request_is_on_the_wire() -> None:
    clock = AutojumpClock(start=0.0, threshold=0.001)

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(0.03)  # 30 real ms: 30x the threshold, not on the clock
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/", slow)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    answered_at: list[float] = []
    try:
        async with aiohttp.ClientSession(trace_configs=[clock.trace_config()]) as http:
            async def request() -> None:
                async with http.get(f"http://127.0.0.1:{port}/") as resp:
                    assert await resp.text() == "ok"
                answered_at.append(clock.now())

            async with anyio.create_task_group() as tg:
                tg.start_soon(clock.sleep, 5.0)
                tg.start_soon(request)
    finally:
        await runner.cleanup()
    assert answered_at == [0.0]  # the sleeper could not make time move meanwhile
    assert clock.now() == 5.0


async def test_a_cancelled_traced_request_does_not_stop_time() -> None:
    clock = AutojumpClock(start=0.0, threshold=0.001)
    arrived = asyncio.Event()

    async def never(request: web.Request) -> web.Response:
        arrived.set()
        await asyncio.Event().wait()  # no answer, ever
        raise AssertionError("unreachable")

    app = web.Application()
    app.router.add_get("/", never)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with aiohttp.ClientSession(trace_configs=[clock.trace_config()]) as http:
            async with anyio.create_task_group() as tg:
                async def request() -> None:
                    await http.get(f"http://127.0.0.1:{port}/")

                tg.start_soon(request)
                await arrived.wait()
                tg.cancel_scope.cancel()  # the request is abandoned mid-flight
            await clock.sleep(4.0)  # time moves again: no hold was left behind
    finally:
        await runner.cleanup()
    assert clock.now() == 4.0


async def test_the_fake_runs_on_the_clock_the_session_shares() -> None:
    from flowapi import VideoParams
    from tests._virtual import virtual_stack

    async with virtual_stack(fake={"seed": 3}) as (fake, flow, clock):
        assert fake.clock is clock
        job = await flow.jobs.submit(VideoParams(prompt="p"))
        created = fake.jobs[job.jobid]
        assert created.created_at == clock.start  # nothing moved time yet
        await clock.sleep(created.finished_at - clock.now())
        assert fake.jobs[job.jobid].status == created.outcome  # due exactly now
        state = fake.state()["clock"]
        assert state["virtual"] is True and state["now"] == created.finished_at
        admin = fake.base_url.split("/v1/")[0]
        async with aiohttp.ClientSession() as http, http.get(admin + "/_fake/clock") as resp:
            assert resp.status == 404  # a virtual clock cannot be followed from outside
