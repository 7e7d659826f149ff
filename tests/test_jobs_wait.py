"""``flow.jobs.wait`` reads the job at once (issue 12 §2): a finished job returns after one
GET and no sleep — the documented recovery path after a timeout."""

from __future__ import annotations

import pytest

from flowapi import FlowSession, JobFailedError, VideoParams
from flowapi._clock import ScaledClock
from flowapi.testing import FakeFlowServer

pytestmark = pytest.mark.anyio


class RecordingClock:
    """The fake's clock, recording every sleep the client asks for (simulated seconds)."""

    def __init__(self, inner: ScaledClock) -> None:
        self.inner = inner
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.inner.now()

    def time(self) -> float:
        return self.inner.time()

    async def sleep(self, seconds: float) -> None:
        # only sleeps that ran to the end: a deadline timer cancelled because the read
        # answered first is no wait
        await self.inner.sleep(seconds)
        self.sleeps.append(seconds)


def _job_reads(fake: FakeFlowServer, jobid: str) -> int:
    return sum(1 for r in fake.requests if r.method == "GET" and str(r.path).endswith(jobid))


async def test_wait_on_a_finished_job_returns_at_once(fake: FakeFlowServer) -> None:
    clock = RecordingClock(fake.clock)
    async with FlowSession(fake.token, base_url=fake.base_url, clock=clock) as flow:
        job = await flow.jobs.submit(VideoParams(prompt="A fox", model="veo-3.1-lite"))
        await flow.jobs.wait(job.jobid)  # let it finish
        before, clock.sleeps = _job_reads(fake, job.jobid), []
        done = await flow.jobs.wait(job.jobid, timeout=1.0)
    assert done.status == "completed"
    assert clock.sleeps == []
    assert _job_reads(fake, job.jobid) - before == 1


async def test_wait_on_a_running_job_keeps_the_schedule_from_its_creation(
        fake: FakeFlowServer) -> None:
    clock = RecordingClock(fake.clock)
    async with FlowSession(fake.token, base_url=fake.base_url, clock=clock) as flow:
        job = await flow.jobs.submit(VideoParams(prompt="A fox", model="veo-3.1-lite"))
        await clock.sleep(30.0)
        clock.sleeps = []
        done = await flow.jobs.wait(job.jobid, model="veo-3.1-lite")
    assert done.status == "completed"
    policy = flow.poll
    base = max(policy.min_first_delay,
               policy.first_fraction * policy.expected_seconds("veo-3.1-lite"))
    assert clock.sleeps[0] <= base - 29.0  # the job's age shortens the first wait


async def test_wait_on_a_failed_job_raises_at_once(fake: FakeFlowServer) -> None:
    fake.set_faults("moderation:1.0")
    clock = RecordingClock(fake.clock)
    async with FlowSession(fake.token, base_url=fake.base_url, clock=clock) as flow:
        job = await flow.jobs.submit(VideoParams(prompt="A fox", model="veo-3.1-lite"))
        with pytest.raises(JobFailedError):
            await flow.jobs.wait(job.jobid)
        clock.sleeps = []
        with pytest.raises(JobFailedError) as info:
            await flow.jobs.wait(job.jobid)
    assert info.value.moderated
    assert clock.sleeps == []
