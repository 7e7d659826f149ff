"""Time, as the SDK sees it: a :class:`Clock` protocol with a real and a scaled implementation.

Everything in flowapi that waits or measures goes through a ``Clock`` so tests and
benchmarks can run simulated time faster than real time.

* :class:`RealClock` — ``time.monotonic()``, ``time.time()`` and ``anyio.sleep``.
* :class:`ScaledClock` — simulated time that runs ``1 / time_scale`` times faster than real
  time. ``ScaledClock(0.01)`` makes a simulated 100 s wait take 1 real second. The
  :class:`~flowapi.testing.FakeFlowServer` uses the same class, so a client and a fake that
  share ``time_scale`` and ``anchor`` agree on every timestamp, even across processes.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar, runtime_checkable

import anyio

__all__ = ["Clock", "RealClock", "ScaledClock", "run_within"]

T = TypeVar("T")


@runtime_checkable
class Clock(Protocol):
    """What flowapi needs from time. All values are float seconds."""

    def now(self) -> float:
        """Monotonic time in seconds (arbitrary origin); used for deadlines and intervals."""
        ...

    def time(self) -> float:
        """Wall-clock time in seconds since the Unix epoch (UTC); used for ``retryAfter``."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of this clock's time (negative values sleep 0)."""
        ...


class RealClock:
    """The real clock: ``time.monotonic``, ``time.time`` and ``anyio.sleep``."""

    def now(self) -> float:
        """Return ``time.monotonic()``."""
        return time.monotonic()

    def time(self) -> float:
        """Return ``time.time()``."""
        return time.time()

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` real seconds (at least 0)."""
        await anyio.sleep(max(0.0, seconds))

    def __repr__(self) -> str:
        return "RealClock()"


class ScaledClock:
    """Simulated time running ``1 / time_scale`` times faster than real time.

    Args:
        time_scale: real seconds per simulated second, ``0 < time_scale <= 1``
            (``0.01`` → 100× faster).
        anchor: the real Unix time (seconds) at which simulated time equals real time.
            Defaults to the moment of construction. Pass the same anchor to clocks in
            different processes so they agree.

    Raises:
        ValueError: ``time_scale`` is not in ``(0, 1]``.
    """

    def __init__(self, time_scale: float, *, anchor: float | None = None) -> None:
        if not 0 < time_scale <= 1:
            raise ValueError(f"time_scale must be in (0, 1], got {time_scale!r}")
        self.time_scale = time_scale
        self.anchor = time.time() if anchor is None else anchor
        self._offset = 0.0

    def time(self) -> float:
        """Simulated Unix time: ``anchor + (real_now - anchor) / time_scale`` plus every
        :meth:`advance`."""
        return self.anchor + (time.time() - self.anchor) / self.time_scale + self._offset

    def advance(self, seconds: float) -> None:
        """Jump simulated time forward by ``seconds`` (≥ 0) at once, e.g. "six hours later"
        in a test; sleepers are not woken early.

        Raises:
            ValueError: ``seconds`` is negative (time never goes back).
        """
        if seconds < 0:
            raise ValueError(f"advance takes seconds >= 0, got {seconds!r}")
        self._offset += seconds

    def now(self) -> float:
        """Simulated monotonic seconds (same scale as :meth:`time`)."""
        return self.time()

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` simulated seconds, i.e. ``seconds * time_scale`` real ones."""
        await anyio.sleep(max(0.0, seconds) * self.time_scale)

    def __repr__(self) -> str:
        return f"ScaledClock(time_scale={self.time_scale!r}, anchor={self.anchor!r})"


async def run_within(clock: Clock, seconds: float,
                     fn: Callable[[], Awaitable[T]]) -> tuple[bool, T | None]:
    """Run ``fn()`` but give up after ``seconds`` of ``clock`` time (a deadline that holds
    even while a request is in flight, e.g. against a server that trickles its answer).

    Returns:
        ``(True, result)`` when ``fn`` finished in time, ``(False, None)`` when the deadline
        passed first (``fn`` is cancelled).

    Raises:
        Exception: whatever ``fn`` raised (re-raised as is, not in an exception group).
    """
    results: list[T] = []
    errors: list[Exception] = []
    async with anyio.create_task_group() as tg:
        async def work() -> None:
            try:
                results.append(await fn())
            except Exception as exc:  # re-raised below, outside the task group
                errors.append(exc)
            finally:
                tg.cancel_scope.cancel()

        async def timer() -> None:
            await clock.sleep(seconds)
            tg.cancel_scope.cancel()

        tg.start_soon(work)
        tg.start_soon(timer)
    if errors:
        raise errors[0]
    return (True, results[0]) if results else (False, None)
