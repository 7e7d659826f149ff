"""Timers and worker pools of a :class:`~flowapi.JobWatcher` (DESIGN §6).

* :class:`Timers`: one heap of due callbacks served by one task — no task per job, so
  10,000 jobs in flight cost a heap entry each. A callback that became irrelevant is not
  removed; it checks its entry's ``seq`` when it fires and does nothing.
* :class:`WorkerPool`: a queue of items served by at most ``size`` worker tasks started on
  demand (an idle worker waits on its own event: one wake-up per item). The watcher runs
  two pools — job reads and submits — so a read never waits behind a slow submit (real
  submits take seconds of captcha solving).
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Generic, TypeVar

import anyio

if TYPE_CHECKING:
    from anyio.abc import TaskGroup

    from flowapi._clock import Clock

__all__ = ["Timers", "WorkerPool"]

T = TypeVar("T")


class Timers:
    """Callbacks at clock times (``clock.now()`` seconds), run in due order by :meth:`run`.

    Callbacks are plain functions; they must not block (they queue work or move state).
    An exception in a callback ends :meth:`run` with it (the watcher treats that as
    fatal).
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._wake: anyio.CancelScope | None = None

    def __len__(self) -> int:
        return len(self._heap)

    def call_at(self, due: float, callback: Callable[[], None]) -> None:
        """Run ``callback()`` once the clock reaches ``due`` (seconds)."""
        heapq.heappush(self._heap, (due, next(self._seq), callback))
        if self._wake is not None and due <= self._heap[0][0]:
            self._wake.cancel()

    def call_after(self, seconds: float, callback: Callable[[], None]) -> None:
        """Run ``callback()`` ``seconds`` of clock time from now."""
        self.call_at(self._clock.now() + seconds, callback)

    async def run(self) -> None:
        """Serve the heap forever (cancel to stop)."""
        heap = self._heap
        while True:
            now = self._clock.now()
            while heap and heap[0][0] <= now:
                _, _, callback = heapq.heappop(heap)
                callback()
            delay = heap[0][0] - now if heap else math.inf
            with anyio.CancelScope() as scope:
                self._wake = scope
                if math.isinf(delay):
                    await anyio.sleep_forever()
                else:
                    await self._clock.sleep(delay)
            self._wake = None


class WorkerPool(Generic[T]):
    """A FIFO of items served by at most ``size`` worker tasks in ``task_group``.

    Args:
        size: most items handled at once (≥ 1).
        handle: ``async handle(item)``; an exception from it is passed to ``on_error``
            and the worker goes on.
        on_error: called with an unexpected exception (the watcher makes it fatal).
    """

    def __init__(self, size: int, handle: Callable[[T], Awaitable[None]],
                 on_error: Callable[[BaseException], None]) -> None:
        if size < 1:
            raise ValueError("a worker pool needs size >= 1")
        self._size = size
        self._handle = handle
        self._on_error = on_error
        self._items: deque[T] = deque()
        self._idle: list[anyio.Event] = []
        self._workers = 0
        self._busy = 0
        self._tg: TaskGroup | None = None

    def bind(self, task_group: TaskGroup | None) -> None:
        """Start workers in ``task_group`` from now on (``None``: start no more)."""
        self._tg = task_group

    @property
    def backlog(self) -> int:
        """Items waiting for a worker."""
        return len(self._items)

    @property
    def busy(self) -> int:
        """Items being handled now."""
        return self._busy

    def put(self, item: T) -> None:
        """Queue ``item``; wake or start a worker."""
        self._items.append(item)
        if self._idle:
            self._idle.pop().set()
        elif self._workers < self._size and self._tg is not None:
            self._workers += 1
            self._tg.start_soon(self._worker)

    async def _worker(self) -> None:
        items = self._items
        try:
            while True:
                if not items:
                    idle = anyio.Event()
                    self._idle.append(idle)
                    await idle.wait()
                    continue
                item = items.popleft()
                self._busy += 1
                try:
                    await self._handle(item)
                except Exception as exc:
                    self._on_error(exc)
                finally:
                    self._busy -= 1
        finally:
            self._workers -= 1
