"""Moderation is recognisable one way (issue 12 §7): ``error.moderated`` is ``True`` for a
moderated synchronous call, a moderated async job and a watcher's ``JobFailed``, and
``False`` for every other failure."""

from __future__ import annotations

import pytest

import flowapi
from flowapi import FlowError, FlowSession, ImageParams, VideoParams
from flowapi.testing import FakeFlowServer

pytestmark = pytest.mark.anyio


async def test_sync_call_and_async_job_pass_the_same_check(fake: FakeFlowServer,
                                                           flow: FlowSession) -> None:
    fake.set_faults("moderation:1.0")
    caught: list[FlowError] = []
    for call in (lambda: flow.videos.create(VideoParams(prompt="p")),
                 lambda: flow.images.create(ImageParams(prompt="p"))):
        with pytest.raises(FlowError) as sync:
            await call()
        caught.append(sync.value)
    job = await flow.jobs.submit(VideoParams(prompt="p"))
    with pytest.raises(FlowError) as waited:
        await flow.jobs.wait(job.jobid)
    caught.append(waited.value)
    async with flow.watch(max_in_flight=2) as watcher:
        await watcher.submit(VideoParams(prompt="p"))
        watcher.close()
        outcomes = [o async for o in watcher]
    assert len(outcomes) == 1 and isinstance(outcomes[0], flowapi.JobFailed)
    caught.append(outcomes[0].error)
    assert [e.moderated for e in caught] == [True, True, True, True], caught
    assert isinstance(caught[0], flowapi.ContentPolicyError)
    assert isinstance(caught[2], flowapi.JobFailedError)


async def test_other_failures_are_not_moderated(fake: FakeFlowServer,
                                                flow: FlowSession) -> None:
    fake.set_faults("job_error:1.0")
    job = await flow.jobs.submit(VideoParams(prompt="p"))
    with pytest.raises(FlowError) as failed:
        await flow.jobs.wait(job.jobid)
    assert failed.value.moderated is False
    with pytest.raises(FlowError) as missing:
        await flow.jobs.get("j0-u1-email:nobody@gmail.com-bot:google-flow")
    assert missing.value.moderated is False
    assert flowapi.InvalidParamsError("x").moderated is False
