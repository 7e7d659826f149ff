"""Load-balancing statistics: the data behind ``GET jobs`` and account scoring.

Shapes follow ``GET jobs`` (docs bundle, "Get Load Balancing Statistics"): per type group
(``videos``, ``images``, ``combined``) a ``summary`` per email ``{executing, completed,
failed, rateLimited, avgResponseTime, score}``, an ``executing`` map jobid →
``{email, timestamp, elapsed}`` and a ``history`` map of the 10 most recent finished jobs of
the last 15 minutes ``{email, timestamp, httpStatus, responseTime}``.

Everything is incremental: jobs enter a heap ordered by their (pre-determined) finish time
and are swept lazily when statistics are read, so 10,000 jobs in flight cost one dict
entry each and a listing is one pass over the jobs still executing.
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass
from typing import Any

from ._records import FakeJob
from ._util import FIFTEEN_MINUTES, elapsed_mss, ms

__all__ = ["StatsTracker", "group_of"]


def group_of(job_type: str) -> str:
    """``"video"`` → ``"videos"``, ``"image"`` → ``"images"``."""
    return "videos" if job_type == "video" else "images"


@dataclass(slots=True)
class _Counts:
    executing: int = 0
    completed: int = 0
    failed: int = 0
    rate_limited: int = 0
    resp_sum_ms: float = 0.0
    resp_n: int = 0

    def add(self, other: _Counts) -> None:
        self.executing += other.executing
        self.completed += other.completed
        self.failed += other.failed
        self.rate_limited += other.rate_limited
        self.resp_sum_ms += other.resp_sum_ms
        self.resp_n += other.resp_n

    @property
    def score(self) -> int:
        return self.executing + self.failed * 10 + self.rate_limited * 20

    def to_json(self) -> dict[str, Any]:
        avg = round(self.resp_sum_ms / self.resp_n, 2) if self.resp_n else 0
        return {
            "executing": self.executing,
            "completed": self.completed,
            "failed": self.failed,
            "rateLimited": self.rate_limited,
            "avgResponseTime": avg,
            "score": self.score,
        }


class StatsTracker:
    """Incremental per-(group, email) statistics over the last 15 simulated minutes."""

    def __init__(self) -> None:
        self._active: dict[str, FakeJob] = {}
        self._heap: list[tuple[float, int, str]] = []
        self._recent: deque[FakeJob] = deque()
        self._events: deque[tuple[float, str, str, str]] = deque()
        self._counts: dict[tuple[str, str], _Counts] = {}
        self._seq = 0

    def _c(self, group: str, email: str) -> _Counts:
        key = (group, email)
        c = self._counts.get(key)
        if c is None:
            c = self._counts[key] = _Counts()
        return c

    def add_job(self, job: FakeJob) -> None:
        """Count a new job as executing until its ``finished_at``."""
        self._active[job.jobid] = job
        self._seq += 1
        heapq.heappush(self._heap, (job.finished_at, self._seq, job.jobid))
        self._c(group_of(job.type), job.email).executing += 1

    def add_event(self, t: float, group: str, email: str, kind: str) -> None:
        """Count a request-level outcome without a job: ``"rate_limited"`` (429) or ``"failed"``."""
        self._events.append((t, group, email, kind))
        c = self._c(group, email)
        if kind == "rate_limited":
            c.rate_limited += 1
        else:
            c.failed += 1

    def advance(self, now: float) -> None:
        """Sweep jobs finished by ``now`` and drop entries older than 15 minutes."""
        while self._heap and self._heap[0][0] <= now:
            _, _, jobid = heapq.heappop(self._heap)
            job = self._active.pop(jobid, None)
            if job is None:
                continue
            c = self._c(group_of(job.type), job.email)
            c.executing -= 1
            if job.outcome == "completed":
                c.completed += 1
            else:
                c.failed += 1
            c.resp_sum_ms += (job.finished_at - job.created_at) * 1000.0
            c.resp_n += 1
            self._recent.append(job)
        cutoff = now - FIFTEEN_MINUTES
        while self._recent and self._recent[0].finished_at < cutoff:
            job = self._recent.popleft()
            c = self._c(group_of(job.type), job.email)
            if job.outcome == "completed":
                c.completed -= 1
            else:
                c.failed -= 1
            c.resp_sum_ms -= (job.finished_at - job.created_at) * 1000.0
            c.resp_n -= 1
        while self._events and self._events[0][0] < cutoff:
            _, group, email, kind = self._events.popleft()
            c = self._c(group, email)
            if kind == "rate_limited":
                c.rate_limited -= 1
            else:
                c.failed -= 1

    def score(self, group: str, email: str, now: float) -> int:
        """Load-balancing score of ``email`` for ``group`` at ``now`` (lower is better)."""
        self.advance(now)
        c = self._counts.get((group, email))
        return c.score if c else 0

    def executing_count(self) -> int:
        """Number of jobs not yet finished (as of the last :meth:`advance`)."""
        return len(self._active)

    def listing(
        self, options: str, emails: list[str], healthy: list[str], now: float
    ) -> dict[str, Any]:
        """The ``GET jobs`` body for ``options`` in ``summary|executing|history``."""
        self.advance(now)
        body: dict[str, Any] = {"emails": healthy}
        groups = ("videos", "images")
        for g in groups:
            body[g] = {
                "summary": {e: self._counts.get((g, e), _Counts()).to_json() for e in emails}
            }
        combined: dict[str, Any] = {}
        for e in emails:
            total = _Counts()
            for g in groups:
                c = self._counts.get((g, e))
                if c is not None:
                    total.add(c)
            combined[e] = total.to_json()
        if options in {"executing", "history"}:
            executing: dict[str, dict[str, Any]] = {g: {} for g in groups}
            for job in self._active.values():
                executing[group_of(job.type)][job.jobid] = {
                    "email": job.email,
                    "timestamp": ms(job.created_at),
                    "elapsed": elapsed_mss(now - job.created_at),
                }
            for g in groups:
                body[g]["executing"] = executing[g]
        if options == "history":
            for g in groups:
                hist: dict[str, dict[str, Any]] = {}
                for job in reversed(self._recent):
                    if len(hist) >= 10:
                        break
                    if group_of(job.type) != g:
                        continue
                    hist[job.jobid] = {
                        "email": job.email,
                        "timestamp": ms(job.created_at),
                        "httpStatus": 200
                        if job.outcome == "completed"
                        else job.failure_code or 500,
                        "responseTime": round((job.finished_at - job.created_at) * 1000),
                    }
                body[g]["history"] = hist
        body["combined"] = {"summary": combined}
        return body
