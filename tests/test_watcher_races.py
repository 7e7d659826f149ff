"""Races and money paths a review of the rebuilt watcher found (issue 8): two watchers
on one session, duplicate callbacks for a submit in doubt, cancelled submits, sends after
the block was left, retry categories that may pay twice, lookups before resubmitting,
the same key with other params. Each failed before its fix."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from flowapi import FlowSession, JobFailed, JobSucceeded, VideoParams
from flowapi.testing import FakeFlowServer, FaultRule, Faults

pytestmark = pytest.mark.anyio


async def _one_watcher(flow: FlowSession, prefix: str, n: int, out: list) -> None:
    async with flow.watch(max_in_flight=8, mode="poll") as watcher:
        for i in range(n):
            await watcher.submit(VideoParams(prompt=f"{prefix} {i}"), key=f"{prefix}{i}")
        watcher.close()
        async for o in watcher:
            out.append(o)


async def test_two_watchers_on_one_session_both_finish(flow: FlowSession,
                                                      fake: FakeFlowServer) -> None:
    a: list = []
    b: list = []
    with anyio.fail_after(15):  # real seconds = 15000 simulated s
        async with anyio.create_task_group() as tg:
            tg.start_soon(_one_watcher, flow, "a", 3, a)
            tg.start_soon(_one_watcher, flow, "b", 3, b)
    assert len(a) == 3 and len(b) == 3


async def test_two_callbacks_for_an_in_doubt_submit_sqlite(flow: FlowSession,
                                                           fake: FakeFlowServer,
                                                           tmp_path) -> None:
    """Two callbacks carrying the marker of a submit in doubt (a started + a completed
    callback, or a duplicate delivery) adopt it twice: Accepted on an accepted row."""
    fake.set_faults(Faults(rules=[FaultRule("reset_after_create", route="POST videos",
                                            probability=1.0)], seed=1))
    outcomes = []
    async with flow.watch(mode="poll", journal=str(tmp_path / "j.sqlite")) as watcher:
        await watcher.submit(VideoParams(prompt="x"), key="k")
        with anyio.fail_after(5):
            while watcher.stats.states.get("reconciling", 0) == 0:
                await anyio.sleep(0.001)
        fake.set_faults(Faults(rules=[]))
        [jobid] = list(fake.jobs)
        job = await flow.jobs.get(jobid)
        assert watcher.notify(job)
        assert watcher.notify(job)   # duplicate delivery
        watcher.close()
        async for o in watcher:
            outcomes.append(o)
    assert len(outcomes) == 1


async def test_cancelled_submit_burns_content_key_occurrence(flow: FlowSession,
                                                             fake: FakeFlowServer,
                                                             tmp_path) -> None:
    """A submit cancelled while waiting for a slot still counts an occurrence: the retry
    gets content key ...-2, a rerun's first submit of the same params gets ...-1 (new) and
    pays again."""
    path = str(tmp_path / "j.sqlite")
    async with flow.watch(mode="poll", max_in_flight=1, journal=path) as watcher:
        await watcher.submit(VideoParams(prompt="A"))
        with anyio.move_on_after(0.01):           # e.g. a user's back-pressure timeout
            await watcher.submit(VideoParams(prompt="B"))
        await watcher.__anext__()        # A done: slot free
        await watcher.submit(VideoParams(prompt="B"))   # the retry
        watcher.close()
        rest = [o async for o in watcher]
    assert len(rest) == 1
    async with flow.watch(mode="poll", max_in_flight=1, journal=path) as watcher:
        await watcher.submit(VideoParams(prompt="A"))
        await watcher.submit(VideoParams(prompt="B"))
        watcher.close()
        again = [o async for o in watcher]
    assert all(o.resumed for o in again), [(o.key, o.resumed) for o in again]
    assert len(fake.jobs) == 2  # A once, B once


async def test_migrated_rows_sharing_a_jobid_do_not_crash(flow: FlowSession,
                                                          fake: FakeFlowServer,
                                                          tmp_path) -> None:
    """A 0.1 journal can hold two rows with one jobid (0.1 defect 12); the migration keeps
    both. Resuming them must not end in a raw AssertionError."""
    import sqlite3

    from flowapi.journal import Accepted, Attempt, SqliteJournal, new_marker
    path = tmp_path / "j.sqlite"
    job = await flow.jobs.submit(VideoParams(prompt="x"))
    j = SqliteJournal(path)
    for k in ("k1", "k2"):
        await j.add(k, kind="VideoParams", params="{}", tag=None)
        await j.update(k, Attempt(marker=new_marker()))
    await j.update("k1", Accepted(jobid=job.jobid))
    await j.close()
    db = sqlite3.connect(path)
    db.execute("UPDATE submissions SET state='accepted', jobid=? WHERE key='k2'", (job.jobid,))
    db.commit()
    db.close()
    async with flow.watch(mode="poll", journal=str(path)) as watcher:
        await watcher.submit(VideoParams(prompt="x"), key="k1")
        await watcher.submit(VideoParams(prompt="y"), key="k2")
        watcher.close()
        outs = [o async for o in watcher]
    assert len(outs) == 2


async def test_nothing_is_sent_after_the_block_is_left(flow: FlowSession,
                                                       fake: FakeFlowServer) -> None:
    """A submit waiting inside the transport's retry loop (a transient 503, or an inline
    429 wait) is shielded with the POST: leaving the block does not stop it, and the new
    attempt is sent (and paid) after the user left."""
    fake.set_faults(Faults(rules=[FaultRule("unavailable", route="POST videos", count=1)]))
    async def leave_on_ctrl_c() -> float:
        async with flow.watch(mode="poll") as watcher:
            await watcher.submit(VideoParams(prompt="x"), key="k")
            with anyio.fail_after(5):
                while not any(r.route == "POST videos" for r in fake.requests):
                    await anyio.sleep(0)
            left_at = fake.clock.now()
            raise KeyboardInterrupt(left_at)  # Ctrl-C right after the 503 came back

    with pytest.raises(KeyboardInterrupt) as info:
        await leave_on_ctrl_c()
    left_at = info.value.args[0]
    late = [j for j in fake.jobs.values() if j.created_at > left_at]
    assert not late, f"{len(late)} job(s) created after the block was left"


async def test_retry_failed_timeout_does_not_pay_twice(flow: FlowSession,
                                                       fake: FakeFlowServer) -> None:
    """FailureCategory.TIMEOUT: 'a resume watches it again, never resubmits it' — but
    flow.watch(retry_failed={'timeout'}) resubmits it (the CLI refuses the same)."""
    from flowapi.journal import MemoryJournal
    j = MemoryJournal()
    async with flow.watch(mode="poll", journal=j, job_timeout=1.0) as watcher:
        await watcher.submit(VideoParams(prompt="x"), key="k")
        watcher.close()
        [o] = [o async for o in watcher]
    assert isinstance(o, JobFailed) and o.category.value == "timeout"
    with pytest.raises(ValueError, match="timeout"):  # refused: a job may exist
        flow.watch(mode="poll", journal=j, retry_failed={"timeout"})
    async with flow.watch(mode="poll", journal=j, retry_failed={"moderated"}) as watcher:
        await watcher.submit(VideoParams(prompt="x"), key="k")  # watched again instead
        watcher.close()
        [o2] = [o async for o in watcher]
    assert isinstance(o2, JobSucceeded) and o2.jobid == o.jobid
    assert len(fake.jobs) == 1, "the timed-out job was submitted (and paid) again"


async def test_resubmit_in_doubt_looks_first(flow: FlowSession, fake: FakeFlowServer) -> None:
    """resubmit_in_doubt=True resubmits a failed(in_doubt) row without looking for its
    marker again, although the job now shows (issue 8 item 0: look first)."""
    from flowapi.journal import (
        Attempt,
        FailureCategory,
        Finished,
        InDoubt,
        MemoryJournal,
        new_marker,
    )
    j = MemoryJournal()
    marker = new_marker()
    await flow.jobs.submit(VideoParams(prompt="x", reply_ref=marker))  # the job exists
    await j.add("k", kind="VideoParams", params="{}", tag=None)
    await j.update("k", Attempt(marker=marker))
    await j.update("k", InDoubt(reason="reset"))
    await j.update("k", Finished(category=FailureCategory.IN_DOUBT, error="not found"))
    async with flow.watch(mode="poll", journal=j, resubmit_in_doubt=True) as watcher:
        await watcher.submit(VideoParams(prompt="x"), key="k")
        watcher.close()
        [_o] = [o async for o in watcher]
    assert len(fake.jobs) == 1, "paid twice: the in-doubt job was findable by its marker"


async def test_cancelled_submit_with_explicit_key_can_be_retried(flow: FlowSession,
                                                                 fake: FakeFlowServer) -> None:
    async with flow.watch(mode="poll", max_in_flight=1) as watcher:
        await watcher.submit(VideoParams(prompt="A"), key="a")
        with anyio.move_on_after(0.01):
            await watcher.submit(VideoParams(prompt="B"), key="b")
        await watcher.__anext__()
        await watcher.submit(VideoParams(prompt="B"), key="b")  # ValueError: duplicate key
        watcher.close()
        assert len([o async for o in watcher]) == 1


async def test_same_key_other_params_is_not_silently_the_old_outcome(
        flow: FlowSession, fake: FakeFlowServer) -> None:
    from flowapi.journal import MemoryJournal
    j = MemoryJournal()
    for prompt in ("a cat", "a dog"):
        async with flow.watch(mode="poll", journal=j) as watcher:
            await watcher.submit(VideoParams(prompt=prompt), key="k")
            watcher.close()
            [o] = [o async for o in watcher]
    # the key's journaled submission wins, and the outcome says what it was: the params
    # on it are the journaled ones (a warning is logged), never the new ones
    assert len(fake.jobs) == 1 and o.resumed
    assert o.params is not None and o.params.prompt == "a cat", o.params


# -- found by an adversarial pass after the fixes above ----------------------------------------


async def test_two_watchers_cannot_share_one_journal_object(flow: FlowSession,
                                                            fake: FakeFlowServer) -> None:
    """Two watchers on one journal object at once would both submit a key (paid twice):
    the second is refused; after the first block, the journal resumes normally."""
    from flowapi.journal import MemoryJournal

    journal = MemoryJournal()
    async with flow.watch(mode="poll", journal=journal) as first:
        with pytest.raises(RuntimeError, match="in use by another JobWatcher"):
            async with flow.watch(mode="poll", journal=journal):
                pass
        await first.submit(VideoParams(prompt="x"), key="k")
        first.close()
        [done] = [o async for o in first]
    async with flow.watch(mode="poll", journal=journal) as again:
        await again.submit(VideoParams(prompt="x"), key="k")
        again.close()
        [resumed] = [o async for o in again]
    assert resumed.resumed and resumed.jobid == done.jobid
    assert len(fake.jobs) == 1


async def test_resubmit_in_doubt_never_resends_when_the_lookup_could_not_run(
        flow: FlowSession, fake: FakeFlowServer) -> None:
    """resubmit_in_doubt resends only what a lookup looked for and did not find: when the
    listing fails, the submit stays in doubt (its job may exist)."""
    from flowapi.journal import Attempt, FailureCategory, InDoubt, MemoryJournal, new_marker

    journal = MemoryJournal()
    marker = new_marker()
    await flow.jobs.submit(VideoParams(prompt="x", reply_ref=marker))  # the job exists
    await journal.add("k", kind="VideoParams", params="{}", tag=None)
    await journal.update("k", Attempt(marker=marker))
    await journal.update("k", InDoubt(reason="reset"))
    fake.set_faults(Faults(rules=[FaultRule("poll_500", route="GET jobs", probability=1.0)]))
    with anyio.fail_after(60):
        async with flow.watch(mode="poll", journal=journal, resubmit_in_doubt=True) as watcher:
            await watcher.submit(VideoParams(prompt="x"), key="k")
            watcher.close()
            [outcome] = [o async for o in watcher]
    assert isinstance(outcome, JobFailed) and outcome.category is FailureCategory.IN_DOUBT
    assert "could not look" in str(outcome.error)
    assert len(fake.jobs) == 1, "paid twice: resubmitted although the lookup could not run"


async def test_close_while_a_submit_waits_for_its_slot_still_yields_it(
        flow: FlowSession, fake: FakeFlowServer) -> None:
    """close() from the consumer while a producer is inside submit() (waiting for a slot):
    the key submitted meanwhile is paid, so its outcome must still be yielded."""
    outcomes: list[object] = []
    with anyio.fail_after(20):
        async with flow.watch(mode="poll", max_in_flight=1) as watcher:
            async def producer() -> None:
                for i in range(2):
                    await watcher.submit(VideoParams(prompt=f"p{i}"))

            async with anyio.create_task_group() as tg:
                tg.start_soon(producer)
                while watcher.pending == 0:
                    await anyio.sleep(0)
                watcher.close()
                outcomes.extend([o async for o in watcher])
    assert len(outcomes) == len(fake.jobs) == 2


# -- found by a second adversarial pass ---------------------------------------------------------


async def _in_doubt_row(flow: FlowSession, journal: object, key: str = "k") -> str:
    from flowapi.journal import Attempt, InDoubt, Journal, new_marker

    assert isinstance(journal, Journal)
    marker = new_marker()
    await flow.jobs.submit(VideoParams(prompt="x", reply_ref=marker))  # the job exists
    await journal.add(key, kind="VideoParams", params="{}", tag=None)
    await journal.update(key, Attempt(marker=marker))
    await journal.update(key, InDoubt(reason="reset"))
    return marker


@pytest.mark.parametrize("count", [4, 16])
async def test_resubmit_in_doubt_never_resends_when_a_candidate_could_not_be_read(
        flow: FlowSession, fake: FakeFlowServer, count: int) -> None:
    """The listing answers but the candidate's own record keeps failing: the lookup was not
    complete, so the submit is not resent (its job may be that candidate)."""
    from flowapi.journal import MemoryJournal

    journal = MemoryJournal()
    await _in_doubt_row(flow, journal)
    fake.set_faults(Faults(rules=[FaultRule("poll_500", route="GET jobs/*", count=count)]))
    with anyio.fail_after(60):
        async with flow.watch(mode="poll", journal=journal, resubmit_in_doubt=True) as watcher:
            await watcher.submit(VideoParams(prompt="x"), key="k")
            watcher.close()
            outcomes = [o async for o in watcher]
    assert len(outcomes) == 1 and len(fake.jobs) == 1, outcomes


async def test_a_forged_callback_never_adopts_another_job_for_a_submit_in_doubt(
        flow: FlowSession, fake: FakeFlowServer) -> None:
    """A callback carrying the marker of a submit in doubt but another job's id is checked
    against that job's own record: the key gets its own job, never the forged one."""
    import msgspec

    other = await flow.jobs.submit(VideoParams(prompt="someone else"))
    fake.set_faults(Faults(rules=[FaultRule("reset_after_create", route="POST videos",
                                            count=1)]))
    with anyio.fail_after(30):
        async with flow.watch(mode="poll", verify_callbacks=True) as watcher:
            await watcher.submit(VideoParams(prompt="mine"), key="k")
            while watcher.stats.states.get("reconciling", 0) == 0:
                await anyio.sleep(0.001)
            [real] = [j for j in fake.jobs if j != other.jobid]
            marker = fake.jobs[real].request["replyRef"]
            base = await flow.jobs.get(other.jobid)
            watcher.notify(msgspec.structs.replace(
                base, request={**base.request, "replyRef": marker}))
            watcher.close()
            [outcome] = [o async for o in watcher]
    assert outcome.jobid == real


@pytest.mark.parametrize("journal_kind", ["default", "memory", "sqlite"])
async def test_a_submit_waiting_for_a_slot_raises_when_the_block_is_left(
        flow: FlowSession, fake: FakeFlowServer, tmp_path: Path, journal_kind: str) -> None:
    """A producer outliving the block, waiting for a slot: it gets RuntimeError (nothing
    sent), never waits forever."""
    from flowapi import MemoryJournal

    journal = {"default": None, "memory": MemoryJournal(),
               "sqlite": str(tmp_path / "j.sqlite")}[journal_kind]
    errors: list[Exception] = []
    with anyio.fail_after(15):
        async with anyio.create_task_group() as tg, \
                flow.watch(mode="poll", max_in_flight=1, journal=journal) as watcher:
            async def producer() -> None:
                try:
                    for i in range(4):
                        await watcher.submit(VideoParams(prompt=f"e{i}"))
                except RuntimeError as exc:
                    errors.append(exc)

            tg.start_soon(producer)
            async for _ in watcher:
                break
            left_at = fake.clock.now()
    assert not [j for j in fake.jobs.values() if j.created_at > left_at]
    assert errors and "nothing was sent" in str(errors[0])


async def test_a_finished_callback_during_the_post_is_read_once_accepted() -> None:
    """A complete callback for a job whose POST answer is still on the way (its marker names
    a key in ``submitting``) was dropped: once the 201 came, the watcher waited for the job
    to ripen (most of its expected generation time) before reading it. Now the callback
    marks the key, and the job is read as soon as it is accepted (issue 9: a callback
    recorded by another worker arrives exactly this way)."""
    from tests._virtual import virtual_stack

    slow_post = "slow{delay=400}@POST videos"  # the job runs and finishes before its 201
    async with virtual_stack(fake={"seed": 3, "faults": slow_post}) as (fake, flow, clock):
        async with flow.watch(mode="listing", learn_generation_times=False) as watcher:
            await watcher.submit(VideoParams(prompt="early", model="veo-3.1-lite"), key="k")
            with anyio.fail_after(30):
                while not fake.jobs:
                    await clock.sleep(1)
                jobid = next(iter(fake.jobs))
                record = await flow.jobs.get(jobid)
                while record.status != "completed":
                    await clock.sleep(5)
                    record = await flow.jobs.get(jobid)
                assert watcher.notify(record)  # the key's own job, still being submitted
                watcher.close()
                outcomes = [o async for o in watcher]
            done_at = clock.time()
        [post] = [r for r in fake.requests if r.route == "POST videos"]
        assert post.finished_t is not None
        assert [o.key for o in outcomes] == ["k"] and isinstance(outcomes[0], JobSucceeded)
        assert done_at - post.finished_t < 5.0, (
            f"outcome {done_at - post.finished_t:.1f} s after the 201: the early callback "
            "was dropped")
