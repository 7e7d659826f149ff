"""JobWatcher: exactly-once outcomes, back-pressure, modes, lanes, fatal errors, early exit."""

from __future__ import annotations

import json
import math
from collections import Counter

import anyio
import pytest

import flowapi
from flowapi import (
    AuthenticationError,
    FlowSession,
    JobFailed,
    JobFailedError,
    JobSucceeded,
    JobTimeoutError,
    Outcome,
    RetryBudget,
    RetryPolicy,
    VideoParams,
)
from flowapi.testing import FakeFlowServer, FaultRule, Faults
from tests._virtual import virtual_stack

#: The options of the ``fake`` and ``flow`` fixtures, for tests on a virtual clock.
FIXTURE_FAKE: dict[str, object] = {"seed": 1}
FIXTURE_SESSION: dict[str, object] = {
    "retry": RetryPolicy(attempts=4, max_inline_wait=30.0),
    "retry_budget": RetryBudget(capacity=1000)}

pytestmark = pytest.mark.anyio


async def _run(flow: FlowSession, n: int, **watch: object) -> list[Outcome]:
    outcomes: list[Outcome] = []
    async with flow.watch(**watch) as watcher:  # type: ignore[arg-type]
        async def feed() -> None:
            for i in range(n):
                await watcher.submit(VideoParams(prompt=f"prompt {i}"), tag=i, key=f"k{i}")
            watcher.close()

        async with anyio.create_task_group() as tg:
            tg.start_soon(feed)
            async for outcome in watcher:
                outcomes.append(outcome)
    return outcomes


@pytest.mark.parametrize("mode", ["listing", "poll"])
async def test_exactly_once_with_moderation(flow: FlowSession, fake: FakeFlowServer,
                                            mode: str) -> None:
    fake.set_faults(Faults(rules=[FaultRule("moderation", route="POST videos",
                                            probability=0.3)], seed=3))
    outcomes = await _run(flow, 40, max_in_flight=12, mode=mode)
    keys = Counter(o.key for o in outcomes)
    assert sorted(keys) == sorted(f"k{i}" for i in range(40))
    assert set(keys.values()) == {1}
    assert len(fake.jobs) == 40  # nothing submitted twice
    failed = [o for o in outcomes if isinstance(o, JobFailed)]
    ok = [o for o in outcomes if isinstance(o, JobSucceeded)]
    assert failed
    assert ok
    for o in failed:
        assert isinstance(o.error, JobFailedError)
        assert o.error.moderated
        assert o.jobid in fake.jobs
        assert fake.jobs[o.jobid].status == "failed"
    for o in ok:
        assert fake.jobs[o.jobid].status == "completed"
        assert o.job.media
        assert o.tag == int(o.key[1:])


async def test_listing_mode_uses_few_requests(flow: FlowSession, fake: FakeFlowServer) -> None:
    await _run(flow, 30, max_in_flight=30, mode="listing")
    routes = Counter(r.route for r in fake.requests)
    assert routes["POST videos"] == 30
    # one GET per job that left the executing list, plus shared listing ticks
    assert routes["GET jobs/{jobid}"] <= 30 * 1.5
    assert routes["GET jobs"] < 30 * 3


async def test_back_pressure(flow: FlowSession, fake: FakeFlowServer) -> None:
    peak = 0
    async with flow.watch(max_in_flight=3, mode="poll") as watcher:
        async def feed() -> None:
            nonlocal peak
            for i in range(9):
                await watcher.submit(VideoParams(prompt=f"p{i}"))
                peak = max(peak, watcher.pending)
            watcher.close()

        async with anyio.create_task_group() as tg:
            tg.start_soon(feed)
            results = [o async for o in watcher]
    assert peak <= 3
    assert len(results) == 9
    # the fake never saw more than 3 of our jobs running at once
    spans = sorted((j.created_at, 1) for j in fake.jobs.values()) + sorted(
        (j.finished_at, -1) for j in fake.jobs.values())
    running = high = 0
    for _, delta in sorted(spans, key=lambda s: (s[0], s[1])):
        running += delta
        high = max(high, running)
    assert high <= 3


async def test_fatal_error_is_plain_not_group(fake: FakeFlowServer) -> None:
    async with FlowSession("user:1-bad", base_url=fake.base_url, clock=fake.clock) as flow:
        async def run() -> None:
            async with flow.watch() as watcher:
                await watcher.submit(VideoParams(prompt="x"))
                watcher.close()
                async for _ in watcher:
                    pass

        with pytest.raises(AuthenticationError):
            await run()


async def test_early_exit_cancels_pollers() -> None:
    async with virtual_stack(fake=FIXTURE_FAKE, session=FIXTURE_SESSION) as (fake, flow, clock):
        async with flow.watch(max_in_flight=10, mode="poll") as watcher:
            for i in range(5):
                await watcher.submit(VideoParams(prompt=f"p{i}", model="veo-3.1-quality"))
            watcher.close()
            async for _ in watcher:
                break
        left_at = clock.time()
        await clock.sleep(600)  # ten simulated minutes: every remaining job finishes
        # on the virtual clock no time passes while a request is on the wire, so a request
        # that was in flight when the block was left carries left_at; anything later would
        # be a poller that kept running (issue 8 item 7: this used to allow 20 real ms)
        assert [r for r in fake.requests if r.t > left_at] == []
        assert len(fake.jobs) == 5


async def test_job_timeout_keeps_jobid(flow: FlowSession, fake: FakeFlowServer) -> None:
    async with flow.watch(job_timeout=20.0) as watcher:
        await watcher.submit(VideoParams(prompt="slow", model="veo-3.1-quality"))
        watcher.close()
        outcomes = [o async for o in watcher]
    (outcome,) = outcomes
    assert isinstance(outcome, JobFailed)
    assert isinstance(outcome.error, JobTimeoutError)
    assert outcome.jobid
    assert outcome.error.jobid == outcome.jobid
    assert outcome.jobid in fake.jobs


async def test_rate_limited_lane_is_parked_for_everyone() -> None:
    async with virtual_stack(fake=FIXTURE_FAKE, session=FIXTURE_SESSION) as (fake, flow, _):
        email = next(iter(await flow.accounts.list()))
        fake.set_faults(Faults(rules=[FaultRule("throttled", route="POST videos", count=1)]))
        async with flow.watch(max_in_flight=10) as watcher:
            for i in range(6):
                await watcher.submit(VideoParams(prompt=f"p{i}", email=email))
            watcher.close()
            outcomes = [o async for o in watcher]
    assert all(isinstance(o, JobSucceeded) for o in outcomes)
    assert len(fake.jobs) == 6
    posts = [r for r in fake.requests if r.route == "POST videos"]
    first = posts[0]
    assert first.status == 429
    assert first.finished_t is not None
    # submits already on the wire when the 429 came back could not know (on the virtual
    # clock they carry the 429's own time); nothing was sent into the parked lane later
    late = [r for r in posts[1:] if r.into_quarantine and r.t > first.finished_t]
    assert late == []
    # every successful submit waited for the ~30 min cooldown
    assert all(r.t >= first.t + 1700 for r in posts if r.status == 201)


async def test_resubmit_moderated(flow: FlowSession, fake: FakeFlowServer) -> None:
    fake.set_faults(Faults(rules=[FaultRule("moderation", route="POST videos", count=1)]))
    async with flow.watch(resubmit_moderated=1) as watcher:
        await watcher.submit(VideoParams(prompt="x"))
        watcher.close()
        (outcome,) = [o async for o in watcher]
    assert isinstance(outcome, JobSucceeded)
    assert outcome.attempts == 2
    assert len(fake.jobs) == 2


async def test_submit_rules(flow: FlowSession) -> None:
    watcher = flow.watch()
    with pytest.raises(RuntimeError, match="outside"):
        await watcher.submit(VideoParams(prompt="x"))
    async with flow.watch() as watcher:
        await watcher.submit(VideoParams(prompt="x"), key="same")
        with pytest.raises(ValueError, match="duplicate"):
            await watcher.submit(VideoParams(prompt="y"), key="same")
        watcher.close()
        with pytest.raises(RuntimeError, match="after close"):
            await watcher.submit(VideoParams(prompt="z"))
        outcomes = [o async for o in watcher]
    assert len(outcomes) == 1


async def test_invalid_params_become_outcomes(flow: FlowSession, fake: FakeFlowServer) -> None:
    async with flow.watch() as watcher:
        await watcher.submit(VideoParams(prompt="fine"))
        await watcher.submit(VideoParams(prompt="bad", duration=7))
        watcher.close()
        outcomes = {o.params.prompt: o async for o in watcher}
    assert isinstance(outcomes["fine"], JobSucceeded)
    bad = outcomes["bad"]
    assert isinstance(bad, JobFailed)
    assert isinstance(bad.error, flowapi.InvalidParamsError)
    assert len(fake.jobs) == 1


async def test_journal_records_everything(flow: FlowSession, tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "j.sqlite"
    async with flow.watch(journal=path) as watcher:
        await watcher.submit(VideoParams(prompt="a"), key="a", tag={"row": 1})
        await watcher.submit(VideoParams(prompt="b", duration=7), key="b")
        watcher.close()
        _ = [o async for o in watcher]
    journal = flowapi.SqliteJournal(path)
    await journal.open()  # the watcher closed (and unlocked) the journal it opened
    entries = {e.key: e for e in await journal.rows()}
    await journal.close()
    assert entries["a"].state == "succeeded"
    assert entries["a"].jobid
    assert json.loads(entries["a"].tag or "null") == {"row": 1}
    assert json.loads(entries["a"].params)["prompt"] == "a"
    assert entries["a"].marker and entries["a"].marker.startswith("flowapi:")
    assert entries["b"].state == "failed"
    assert entries["b"].category == "rejected"
    assert "duration" in (entries["b"].error or "")


async def test_callback_during_an_inflight_read_costs_no_extra_get(
        flow: FlowSession, fake: FakeFlowServer) -> None:
    async with flow.watch(mode="webhook", webhook_url="http://127.0.0.1:9/cb",
                          listing_interval=100_000) as watcher:
        await watcher.submit(VideoParams(prompt="x"), key="a")
        watcher.close()
        while not fake.jobs or next(iter(fake.jobs.values())).status != "completed":
            await fake.clock.sleep(5)
        jobid = next(iter(fake.jobs))
        fake.set_faults(Faults(rules=[FaultRule("slow", route="GET jobs/{jobid}", delay=30,
                                                count=1)]))
        assert watcher.notify(jobid)
        while not [r for r in fake.requests if r.route == "GET jobs/{jobid}"]:
            await fake.clock.sleep(1)  # the read is on the wire (it takes 30 s)
        assert watcher.notify(jobid)  # a duplicate callback meanwhile
        outcomes = [o async for o in watcher]
    assert [type(o) for o in outcomes] == [JobSucceeded]
    assert len([r for r in fake.requests if r.route == "GET jobs/{jobid}"]) == 1


async def test_early_finished_callback_does_not_pin_per_job_polling(
        flow: FlowSession, fake: FakeFlowServer) -> None:
    async with flow.watch(mode="webhook", webhook_url="http://127.0.0.1:9/cb",
                          listing_interval=60) as watcher:
        await watcher.submit(VideoParams(prompt="x"), key="a")
        watcher.close()
        while watcher.stats.accepted == 0:
            await fake.clock.sleep(1)
        assert watcher.notify(next(iter(fake.jobs)))  # claims "finished" far too early
        outcomes = [o async for o in watcher]
    assert [type(o) for o in outcomes] == [JobSucceeded]
    assert watcher.stats.fallbacks == 0  # back to the resync path, no per-job schedule
    gets = [r for r in fake.requests if r.route == "GET jobs/{jobid}"]
    job = next(iter(fake.jobs.values()))
    duration = job.finished_at - job.created_at
    # the early read, one resync read per 60 s while it runs, and the final one
    assert len(gets) <= 2 + math.ceil(duration / 60)


async def test_leaving_early_never_raises(fake: FakeFlowServer) -> None:
    # regression: leaving the block while the scheduler was mid-iteration raised an
    # AssertionError from __aexit__ (about 1 exit in 15)
    async with FlowSession(fake.token, base_url=fake.base_url, clock=fake.clock) as flow:
        for _ in range(30):
            async with flow.watch(max_in_flight=10, mode="poll") as watcher:
                for i in range(5):
                    await watcher.submit(VideoParams(prompt=f"p{i}", model="veo-3.1-lite"))
                watcher.close()
                async for _ in watcher:
                    break
