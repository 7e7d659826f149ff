"""``AutojumpClock``: virtual time for tests, independent of machine load (issue 8 item 7).

A :class:`~flowapi._clock.ScaledClock` makes simulated time a multiple of real time, so a
slow machine turns 1 ms of scheduling delay into 1 simulated second at ``time_scale=0.001``
and a timing assertion can fail under load. On an :class:`AutojumpClock` time does not
flow at all: it stands still while anything runs and *jumps* to the earliest wake-up of
the tasks asleep on it once the event loop has been quiet (like trio's
``MockClock(autojump_threshold=...)``). Real latencies (loopback HTTP to the in-process
fake, CPU work, a descheduled process) cost zero simulated seconds, so a test may assert
simulated times exactly.

Use one clock for the fake and the client::

    clock = AutojumpClock()
    async with FakeFlowServer(clock=clock) as fake, \\
            aiohttp.ClientSession(trace_configs=[clock.trace_config()]) as http, \\
            FlowSession(fake.token, base_url=fake.base_url, clock=clock,
                        http_session=http) as flow:
        ...

**The guarantee.** Time jumps (to the earliest sleeper's wake-up, waking every sleeper due
then, in the order they went to sleep) only when *all* of these hold at once:

1. no *hold* is active and no request is on the wire. The fake holds the clock while it
   serves an API or media request (from its handler's start until the response is built)
   and while it delivers a webhook; a task's hold is suspended while that task itself
   sleeps on this clock (a handler simulating 5 s of captcha solving waits on the clock).
   With :meth:`AutojumpClock.trace_config` on the client's ``aiohttp.ClientSession``,
   every client request counts from its start until its response headers arrived, and a
   request counts as *on the wire* while more of them are pending than the fake is
   serving (asleep or not): between the client's send and the handler's start, and
   between the response's end and the client reading its headers;
2. ``threshold`` real seconds passed with no use of the clock (``now``, ``time``,
   ``sleep``, a hold taken or released) and the timer that measured them was not late by
   more than ``threshold`` (a late timer means the process was starved or a step ran long:
   the measurement is discarded);
3. in two consecutive event-loop iterations after that, nothing else was ready to run:
   no callback, no task step and no I/O event (checked through the asyncio loop's
   ``_ready`` queue, which the loop fills with I/O callbacks before running them).

So a jump never happens while a request to the fake is in flight (1), nor while any task
can still run or any I/O the kernel already delivered is pending (3). Exactly the same
simulated timestamps come out of every run whatever the load, as long as the program's
own decisions are deterministic (the fake's ``seed``; the client's jitter is seeded
separately).

**Limits.** (a) Work in threads (``anyio.to_thread``, ``loop.run_in_executor``, DNS
resolution of ``localhost``) is invisible; if it takes longer than ``threshold`` real
seconds while every task waits on it, time may jump first. (b) Without
:meth:`trace_config` on the client, bytes the kernel has not yet handed to the loop
(loopback delivery deferred for longer than ``threshold``) are invisible between the
client's send and the fake's handler. (c) Other event loops and processes do not share
the clock. (d) Check 3 uses a private attribute of asyncio's own loops; on another loop
implementation (uvloop) only checks 1–2 apply. (e) A task that never sleeps on the clock
(``while True: await anyio.sleep(0)``) keeps time standing still forever — by design.
(f) Since no time passes while anything runs, events that follow each other causally in
one instant share a timestamp: "later" in an assertion means a later simulated instant,
i.e. after some task slept on the clock.
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from types import SimpleNamespace

import aiohttp

from .._clock import ScaledClock

__all__ = ["DEFAULT_START", "AutojumpClock", "FakeClock", "holding"]

DEFAULT_START = 1_782_907_200.0
"""Default simulated Unix time at which an :class:`AutojumpClock` starts:
2026-07-01T12:00:00Z (a fixed instant, so runs agree on dates too)."""


@dataclass(order=True)
class _Sleeper:
    deadline: float
    seq: int
    future: asyncio.Future[None] = field(compare=False)


class AutojumpClock:
    """Virtual time that only moves when everything waiting on it is asleep.

    Implements the :class:`~flowapi._clock.Clock` protocol; pass the same instance to
    ``FakeFlowServer(clock=...)`` and ``FlowSession(clock=...)``. One event loop at a time
    (the loop of the first sleeper).

    Args:
        start: simulated Unix time (seconds) at the start; default :data:`DEFAULT_START`.
        threshold: real seconds the loop must be quiet before time jumps, ``> 0``
            (default 0.005; each jump costs at least this much real time).

    Raises:
        ValueError: ``threshold`` is not positive.

    See the module documentation for the exact guarantee and its limits.
    """

    def __init__(self, *, start: float = DEFAULT_START, threshold: float = 0.005) -> None:
        if not threshold > 0:
            raise ValueError(f"threshold must be > 0 real seconds, got {threshold!r}")
        self.start = start
        self.threshold = threshold
        self._now = start
        self._heap: list[_Sleeper] = []
        self._seq = 0
        self._live = 0  # sleepers in the heap that are still waiting
        self._activity = 0
        self._holds: dict[asyncio.Task[object], int] = {}
        self._asleep: dict[asyncio.Task[object], int] = {}
        self._wire: dict[asyncio.Task[object], int] = {}  # traced requests not answered yet
        self._serving = 0  # API requests the fake is serving (asleep or not)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self.jumps = 0
        """How many automatic jumps happened (for tests of the clock)."""

    # -- the Clock protocol ---------------------------------------------------------------

    def now(self) -> float:
        """Simulated monotonic seconds (same values as :meth:`time`)."""
        self._activity += 1
        return self._now

    def time(self) -> float:
        """Simulated Unix time, seconds."""
        self._activity += 1
        return self._now

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` simulated seconds (``<= 0``: just yield to the loop once).

        The sleeper wakes when time reaches ``now() + seconds`` — by a jump or by
        :meth:`advance`. Cancelling the sleep removes the sleeper (no jump for it)."""
        self._activity += 1
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        loop = self._bind()
        sleeper = _Sleeper(self._now + seconds, self._next_seq(), loop.create_future())
        heapq.heappush(self._heap, sleeper)
        self._live += 1
        task = asyncio.current_task()
        if task is not None:
            self._asleep[task] = self._asleep.get(task, 0) + 1
        self._arm()
        try:
            await sleeper.future
        finally:
            self._activity += 1
            if task is not None:
                self._asleep[task] -= 1
                if not self._asleep[task]:
                    del self._asleep[task]
            if not sleeper.future.done() or sleeper.future.cancelled():
                sleeper.future.cancel()  # left in the heap; skipped when popped
                self._live -= 1
                if len(self._heap) > 64 and self._live < len(self._heap) // 2:
                    self._heap = [s for s in self._heap if not s.future.done()]
                    heapq.heapify(self._heap)

    # -- manual control -------------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` (≥ 0) now, waking every sleeper due by then in
        wake-up order (e.g. "six hours later" in a test).

        Raises:
            ValueError: ``seconds`` is negative (time never goes back).
        """
        if seconds < 0:
            raise ValueError(f"advance takes seconds >= 0, got {seconds!r}")
        self._activity += 1
        self._now += seconds
        self._wake_due()

    @property
    def sleepers(self) -> int:
        """How many tasks are asleep on this clock now."""
        return self._live

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Forbid jumps while the current task runs inside this block (the task's hold is
        suspended while it sleeps on this clock). Used by the fake around webhook
        deliveries and media requests."""
        task = asyncio.current_task()
        if task is None:
            yield
            return
        self._activity += 1
        self._holds[task] = self._holds.get(task, 0) + 1
        try:
            yield
        finally:
            self._release(task)

    @contextmanager
    def serving(self) -> Iterator[None]:
        """:meth:`hold`, and count the block as one API request the fake is serving: a
        client request traced by :meth:`trace_config` is on the wire (and forbids jumps)
        while more traced requests are pending than the fake is serving."""
        self._serving += 1
        try:
            with self.hold():
                yield
        finally:
            self._serving -= 1

    def trace_config(self) -> aiohttp.TraceConfig:
        """An ``aiohttp.TraceConfig`` that holds this clock from each client request's start
        until its response headers arrived (or it failed); pass it in ``trace_configs=`` of
        the ``aiohttp.ClientSession`` given to ``FlowSession(http_session=...)``."""
        config = aiohttp.TraceConfig()

        async def started(session: aiohttp.ClientSession, ctx: SimpleNamespace,
                          params: object) -> None:
            task = asyncio.current_task()
            if task is not None:
                self._activity += 1
                self._wire[task] = self._wire.get(task, 0) + 1
                ctx.autojump_task = task

        async def ended(session: aiohttp.ClientSession, ctx: SimpleNamespace,
                        params: object) -> None:
            task = getattr(ctx, "autojump_task", None)
            if task is not None:
                ctx.autojump_task = None
                self._activity += 1
                left = self._wire.get(task, 0) - 1
                if left > 0:
                    self._wire[task] = left
                else:
                    self._wire.pop(task, None)

        config.on_request_start.append(started)
        config.on_request_end.append(ended)
        config.on_request_exception.append(ended)
        return config

    def __repr__(self) -> str:
        return (f"AutojumpClock(now={self._now!r}, sleepers={self.sleepers}, "
                f"threshold={self.threshold!r})")

    # -- the driver -----------------------------------------------------------------------

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _bind(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._loop = loop
        return loop

    def _release(self, task: asyncio.Task[object]) -> None:
        self._activity += 1
        left = self._holds.get(task, 0) - 1
        if left > 0:
            self._holds[task] = left
        else:
            self._holds.pop(task, None)

    def _held(self) -> bool:
        for task in [t for t in self._wire if t.done()]:
            del self._wire[task]  # ended without its trace event (cancelled twice)
        if sum(self._wire.values()) > self._serving:  # a request between client and fake
            return True
        for task in list(self._holds):
            if task.done():  # a task that ended inside a hold (cancelled) holds nothing
                del self._holds[task]
            elif task not in self._asleep:
                return True
        return False

    def _arm(self) -> None:
        if self._timer is None and self._loop is not None:
            due = self._loop.time() + self.threshold
            self._timer = self._loop.call_later(self.threshold, self._quiet_for_threshold,
                                                self._activity, due)

    def _rearm(self) -> None:
        self._timer = None
        if self._live:
            self._arm()

    def _quiet_for_threshold(self, activity: int, due: float) -> None:
        loop = self._loop
        assert loop is not None
        if activity != self._activity or loop.time() - due > self.threshold or self._held():
            self._rearm()
            return
        loop.call_soon(self._settle, activity, 2)

    def _settle(self, activity: int, left: int) -> None:
        loop = self._loop
        assert loop is not None
        ready = getattr(loop, "_ready", ())  # asyncio's queue of runnable callbacks
        if activity != self._activity or len(ready) or self._held():
            self._rearm()
            return
        if left > 1:
            loop.call_soon(self._settle, activity, left - 1)
            return
        self._timer = None
        self._jump()

    def _jump(self) -> None:
        while self._heap and self._heap[0].future.done():
            heapq.heappop(self._heap)
        if not self._heap:
            return
        self.jumps += 1
        self._now = max(self._now, self._heap[0].deadline)
        self._activity += 1
        self._wake_due()

    def _wake_due(self) -> None:
        while self._heap and self._heap[0].deadline <= self._now:
            sleeper = heapq.heappop(self._heap)
            if not sleeper.future.done():
                sleeper.future.set_result(None)
                self._live -= 1
        if self._live:
            self._arm()


FakeClock = ScaledClock | AutojumpClock
"""The clocks a :class:`~flowapi.testing.FakeFlowServer` can run on."""


def holding(clock: FakeClock, *, serving: bool = False) -> AbstractContextManager[None]:
    """``clock.hold()`` (``clock.serving()`` if ``serving``) on an :class:`AutojumpClock`,
    a no-op context on any other clock."""
    if not isinstance(clock, AutojumpClock):
        return nullcontext()
    return clock.serving() if serving else clock.hold()
