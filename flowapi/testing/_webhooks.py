"""``replyUrl`` callbacks: one scheduler task (a heap) for every job, not one task per job.

"Receives POST requests with job status updates (created, started, completed, failed). The
JSON payload shape matches GET /jobs/jobId response" (post-videos, extend, upscale). Image
jobs report ``created``, ``completed``, ``failed`` (post-images). "Callbacks timeout after
5 seconds" (post-images). No retries, no signing (supplement §4). Delivery failures are
recorded in :attr:`Webhooks.log`, never raised. Callbacks of one job are delivered in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import heapq
from typing import TYPE_CHECKING, Any

import aiohttp

from ._autojump import holding
from ._payloads import job_record
from ._records import FakeJob
from ._util import json_bytes

if TYPE_CHECKING:
    from ._world import World

__all__ = ["WEBHOOK_TIMEOUT", "Webhooks"]

WEBHOOK_TIMEOUT = 5.0
"""Per-callback timeout, real seconds (post-images: "Callbacks timeout after 5 seconds")."""


class Webhooks:
    """Schedules and sends callbacks at the simulated times of each job's status changes."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.log: list[dict[str, Any]] = []
        """One entry per attempted (or dropped) callback."""
        self._heap: list[tuple[float, int, str, str]] = []
        self._seq = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._chains: dict[str, asyncio.Task[None]] = {}
        self._inflight: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        """Start the scheduler task (inside the running loop)."""
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WEBHOOK_TIMEOUT))
        self._task = asyncio.get_running_loop().create_task(self._run(), name="fakeflow-webhooks")

    async def close(self) -> None:
        """Stop scheduling and cancel deliveries in flight."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for t in list(self._inflight):
            t.cancel()
        if self._inflight:
            await asyncio.gather(*self._inflight, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    def clear(self) -> None:
        """Forget scheduled callbacks and the log (``/_fake/reset``)."""
        self._heap.clear()
        self.log.clear()
        self._chains.clear()

    def schedule(self, job: FakeJob) -> None:
        """Queue the callbacks of ``job`` (created now; started; completed/failed)."""
        events = [(job.created_at, "created")]
        if job.type == "video":
            events.append((job.started_at, "started"))
        events.append((job.finished_at, job.outcome))
        for at, status in events:
            self._seq += 1
            heapq.heappush(self._heap, (at, self._seq, job.jobid, status))
        self._wake.set()

    async def _run(self) -> None:
        clock = self.world.clock
        while True:
            now = clock.time()
            while self._heap and self._heap[0][0] <= now:
                at, _, jobid, status = heapq.heappop(self._heap)
                job = self.world.jobs.get(jobid)
                if job is not None:
                    self._dispatch(job, status, at)
            self._wake.clear()
            if not self._heap:
                await self._wake.wait()
                continue
            # sleep on the fake's clock (scaled or virtual) until the next one is due, or
            # until a newly scheduled callback wakes us
            sleeper = asyncio.ensure_future(clock.sleep(self._heap[0][0] - now))
            waker = asyncio.ensure_future(self._wake.wait())
            try:
                await asyncio.wait((sleeper, waker), return_when=asyncio.FIRST_COMPLETED)
            finally:
                sleeper.cancel()
                waker.cancel()

    def _dispatch(self, job: FakeJob, status: str, at: float) -> None:
        prev = self._chains.get(job.jobid)
        task = asyncio.get_running_loop().create_task(self._deliver(job, status, at, prev))
        self._chains[job.jobid] = task
        self._inflight.add(task)
        task.add_done_callback(functools.partial(self._done, job.jobid))

    def _done(self, jobid: str, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        if self._chains.get(jobid) is task:
            del self._chains[jobid]

    async def _deliver(
        self, job: FakeJob, status: str, at: float, prev: asyncio.Task[None] | None
    ) -> None:
        if prev is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.shield(prev)
        world = self.world
        decision = world.engine.evaluate("webhook", "WEBHOOK", email=job.email, model=job.model)
        entry: dict[str, Any] = {
            "jobid": job.jobid,
            "status": status,
            "url": job.reply_url,
            "reply_ref": job.reply_ref,
            "t": world.now(),
            "scheduled_t": at,
            "fault": None,
            "http_status": None,
            "error": None,
            "attempt": 1,
        }
        if decision.webhook_drop:
            entry["fault"] = "webhook_drop"
            self.log.append(entry)
            world.bump("webhooks_dropped")
            return
        payload = json_bytes(job_record(job, at, world.media))
        copies = 2 if decision.webhook_duplicate else 1
        for n in range(copies):
            e = dict(entry, attempt=n + 1, t=world.now())
            if decision.webhook_duplicate:
                e["fault"] = "webhook_duplicate"
            await self._post(job.reply_url or "", payload, e)
            self.log.append(e)

    async def _post(self, url: str, payload: bytes, entry: dict[str, Any]) -> None:
        world = self.world
        if self._session is None:
            entry["error"] = "not running"
            world.bump("webhook_failures")
            return
        try:
            with holding(world.clock):  # no virtual-time jump while the callback is on the wire
                await self._send(url, payload, entry)
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
            entry["error"] = f"{type(exc).__name__}: {exc}"
            world.bump("webhook_failures")

    async def _send(self, url: str, payload: bytes, entry: dict[str, Any]) -> None:
        world = self.world
        assert self._session is not None
        async with self._session.post(
            url, data=payload, headers={"Content-Type": "application/json"}
        ) as resp:
            await resp.read()
            entry["http_status"] = resp.status
        world.bump("webhooks_sent")
        if resp.status >= 400:
            world.bump("webhook_failures")
