"""Issue 8, defects 1–9: one regression test each, through the public API only.

Every test drives ``FlowSession`` / ``flow.watch`` / ``watcher.submit`` / ``watcher.notify``
or the ``flowapi batch`` CLI against :class:`~flowapi.testing.FakeFlowServer` and asserts on
the fake's ground truth (``fake.jobs``, ``fake.requests``) and on the outcomes — never on
timing. Names only the rebuilt API has (``flowapi.journal``) are imported inside the tests
that need them — after the checks that hold on any version where a test has such checks —
so a missing name fails only those tests.
"""

from __future__ import annotations

import json
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest

from flowapi import (
    FlowSession,
    JobFailed,
    JobSucceeded,
    JobWatcher,
    Outcome,
    RetryBudget,
    ScaledClock,
    VideoParams,
)
from flowapi.testing import FakeFlowServer, FaultRule, Faults

pytestmark = pytest.mark.anyio

TIME_SCALE = 0.001
#: Real seconds any single test may take before it counts as hung (defect 9's "never ends").
HANG = 60.0
THREE_HOURS = 3 * 3600.0
#: For ``flowapi batch`` subprocesses: slower, so that starting a Python process (about a
#: real second, more on a busy machine) stays well within the API's 15-minute history.
CLI_TIME_SCALE = 0.01


@asynccontextmanager
async def stack(faults: Faults | str | None = None,
                ) -> AsyncIterator[tuple[FakeFlowServer, FlowSession]]:
    """A fake (simulated time 1000× real time) and a session on its clock."""
    async with FakeFlowServer(time_scale=TIME_SCALE, seed=8, faults=faults) as fake, \
            FlowSession(fake.token, base_url=fake.base_url, clock=fake.clock,
                        retry_budget=RetryBudget(capacity=1000)) as flow:
        yield fake, flow


async def run_watch(flow: FlowSession, params: Sequence[VideoParams], *,
                    during: Callable[[JobWatcher], Coroutine[Any, Any, None]] | None = None,
                    **watch: Any) -> dict[str, Outcome]:
    """Submit ``params`` with keys ``k0``, ``k1``…, drain the watcher; outcomes by key
    (asserting exactly one per key). ``during(watcher)`` runs beside the iteration and is
    cancelled when it ends."""
    outcomes: list[Outcome] = []
    with anyio.fail_after(HANG):
        async with flow.watch(**watch) as watcher:
            async def feed() -> None:
                for i, p in enumerate(params):
                    await watcher.submit(p, key=f"k{i}", tag=i)
                watcher.close()

            async with anyio.create_task_group() as tg:
                tg.start_soon(feed)
                if during is not None:
                    tg.start_soon(during, watcher)
                async for outcome in watcher:
                    outcomes.append(outcome)
                tg.cancel_scope.cancel()
    keys = Counter(o.key for o in outcomes)
    assert sorted(keys) == sorted(f"k{i}" for i in range(len(params))), keys
    assert set(keys.values()) <= {1}, keys  # exactly one outcome per submission
    return {o.key: o for o in outcomes}


# -- 1 ---------------------------------------------------------------------------------------

async def test_defect_1_batch_edits_between_runs_pay_only_for_new_content(
        tmp_path: Path) -> None:
    """Defect 1: ``flowapi batch`` keyed prompts by position, so deleting, inserting or
    reordering entries re-paid every later prompt and abandoned its running job. Now each
    distinct prompt content is created exactly once across edited reruns, and every job
    the server created is downloaded or reported."""
    prompts = tmp_path / "prompts.json"
    out = tmp_path / "out"
    entries = [{"prompt": f"edit scene {c}", "model": "veo-3.1-fast"} for c in "ABCDEF"]

    async with FakeFlowServer(time_scale=CLI_TIME_SCALE, seed=8) as fake:
        async def batch(log: Path, *, kill_at_jobs: int | None = None) -> str:
            args = [sys.executable, "-c",
                    "import sys; from flowapi.cli import main; sys.exit(main())",
                    "batch", str(prompts), "--out", str(out), "--token", fake.token,
                    "--base-url", fake.base_url, "--time-scale", str(CLI_TIME_SCALE),
                    "--anchor", repr(fake.clock.anchor), "--max-in-flight", "6"]
            with log.open("wb") as fh, anyio.fail_after(HANG):
                proc = await anyio.open_process(args, stdout=fh, stderr=fh)
                while proc.returncode is None:
                    if kill_at_jobs is not None and len(fake.jobs) >= kill_at_jobs:
                        proc.send_signal(signal.SIGKILL)  # jobs are running: abandon them
                        kill_at_jobs = None
                    await anyio.sleep(0.005)
                await proc.wait()
            return log.read_text(errors="replace")

        # run 1 dies while its six jobs run
        prompts.write_text(json.dumps(entries))
        logs = [await batch(tmp_path / "run1.log", kill_at_jobs=6)]
        # delete B, insert X first, reverse the rest: A, C, D, E, F keep their content
        a, _b, c, d, e, f = entries
        x = {"prompt": "edit scene X (new)", "model": "veo-3.1-fast"}
        prompts.write_text(json.dumps([x, f, e, d, c, a]))
        logs.append(await batch(tmp_path / "run2.log"))
        # insert one more in the middle, swap two: only Y is new
        y = {"prompt": "edit scene Y (new)", "model": "veo-3.1-fast"}
        final = [a, c, y, x, e, f, d]
        prompts.write_text(json.dumps(final))
        logs.append(await batch(tmp_path / "run3.log"))

        # ground truth: each distinct prompt content was created once
        per_prompt = Counter(job.request["prompt"] for job in fake.jobs.values())
        assert set(per_prompt.values()) == {1}, per_prompt
        assert set(per_prompt) == {str(p["prompt"]) for p in [*entries, x, y]}
        # no job abandoned: each final prompt's job is downloaded under its position in
        # the final file; B's job (deleted from the file) is reported by jobid or marker
        videos = {p.name for p in out.glob("*.mp4")}
        told = " ".join(" ".join(logs[1:]).split())
        prompts_now = [str(p["prompt"]) for p in final]
        for jobid, job in fake.jobs.items():
            if job.request["prompt"] in prompts_now:
                index = prompts_now.index(job.request["prompt"]) + 1
                name = f"{index:03d}-{jobid.split('-', 1)[0]}-1.mp4"
                assert name in videos, (name, sorted(videos), logs[-1])
            else:
                marker = (job.reply_ref or "").split(";", 1)[0]
                assert jobid in told or (marker and marker in told), (jobid, logs[1:])


# -- 2 ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["sqlite", "memory"])
async def test_defect_2_rerun_with_same_keys_resumes_from_the_journal(
        kind: str, tmp_path: Path) -> None:
    """Defect 2: the library's journal was write-only; rerunning ``flow.watch(journal=...)``
    with the same ``key=`` values POSTed everything again. Now the rerun sends no POST and
    yields the recorded outcomes (``resumed=True``, same jobids)."""
    journal: Any = str(tmp_path / "lib.sqlite")
    if kind == "memory":
        from flowapi.journal import MemoryJournal
        journal = MemoryJournal()
    params = [VideoParams(prompt=f"resume me {i}") for i in range(3)]
    async with stack(faults=Faults(rules=[FaultRule("moderation", route="POST videos",
                                                    count=1)])) as (fake, flow):
        first = await run_watch(flow, params, journal=journal, max_in_flight=3)
        assert len(fake.jobs) == 3
        assert Counter(type(o).__name__ for o in first.values()) == {
            "JobSucceeded": 2, "JobFailed": 1}
        before = len(fake.requests)
        again = await run_watch(flow, params, journal=journal, max_in_flight=3)
        assert not [r for r in fake.requests[before:] if r.method == "POST"]
        assert len(fake.jobs) == 3
        for key, outcome in again.items():
            assert type(outcome) is type(first[key])
            assert outcome.jobid == first[key].jobid
            assert outcome.resumed


# -- 3 ---------------------------------------------------------------------------------------

async def test_defect_3_notify_racing_listing_read_with_resubmit(tmp_path: Path) -> None:
    """Defect 3: a job read twice at once (a webhook ``notify`` and the listing's ripening)
    with ``resubmit_moderated`` yielded a stale ``JobFailed`` while the resubmission was in
    flight, then the watcher died with ``KeyError('done')`` and the new jobid was never
    recorded. Now each key gets exactly one outcome — the resubmission's — and the
    journal records that jobid."""
    n = 16
    path = tmp_path / "race.sqlite"
    faults = Faults(rules=[FaultRule("moderation", route="POST videos", count=n),
                           FaultRule("slow", route="GET jobs/{jobid}", delay=3.0)])
    async with stack(faults=faults) as (fake, flow):
        async def notify_finished(watcher: JobWatcher) -> None:
            """Hammer ``notify`` for every finished job, as duplicate webhooks would."""
            while True:
                now = fake.clock.time()
                for jobid, job in list(fake.jobs.items()):
                    if job.finished_at <= now:
                        watcher.notify(jobid)
                        watcher.notify(jobid)
                await anyio.sleep(0.001)

        outcomes = await run_watch(
            flow, [VideoParams(prompt=f"race {i}") for i in range(n)], during=notify_finished,
            journal=str(path), max_in_flight=n, resubmit_moderated=n, listing_interval=0.5)
        # which attempts the fault moderated depends on arrival order: check each key's
        # jobs in creation order — moderated ones, then the one its outcome carries
        by_prompt: dict[str, list[str]] = {}
        for jobid, job in sorted(fake.jobs.items(), key=lambda j: j[1].created_at):
            by_prompt.setdefault(job.request["prompt"], []).append(jobid)
        assert sum(job.outcome == "failed" for job in fake.jobs.values()) == n
        for key, outcome in outcomes.items():
            *moderated, last = by_prompt[f"race {key[1:]}"]
            assert isinstance(outcome, JobSucceeded), outcome
            assert outcome.jobid == last
            assert outcome.attempts == len(moderated) + 1
            assert all(fake.jobs[j].outcome == "failed" for j in moderated)
        assert any(len(jobids) > 1 for jobids in by_prompt.values())  # resubmissions ran
        from flowapi.journal import SqliteJournal
        journal = SqliteJournal(path)
        await journal.open()
        try:
            for key, outcome in outcomes.items():
                row = await journal.get(key)
                assert row is not None and row.jobid == outcome.jobid
                assert row.state.value == "succeeded"
        finally:
            await journal.close()


# -- 4 ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["break", "exception", "cancel"])
async def test_defect_4_leaving_early_records_submits_on_the_wire(
        how: str, tmp_path: Path) -> None:
    """Defect 4: leaving the watch block (``break``, an exception, a cancel) cancelled POSTs
    already on the wire; their rows stayed ``submitting`` without a jobid and a resume
    more than ~15 minutes later called them "not created" although they were paid. Now
    their jobids are journaled (``accepted``) and a later watcher adopts them without a
    POST, even hours later."""
    path = tmp_path / "early.sqlite"
    params = [VideoParams(prompt=f"early exit {i}") for i in range(3)]
    async with stack(faults="slow{delay=300}@POST videos") as (fake, flow):
        with anyio.fail_after(HANG), anyio.CancelScope() as scope:
            try:
                async with flow.watch(journal=str(path), max_in_flight=3) as watcher:
                    for i, p in enumerate(params):
                        await watcher.submit(p, key=f"k{i}")
                    # every job exists; the last 201s are held back by the slow fault
                    # (the first submit of a lane goes alone, the others after its 201)
                    while len(fake.jobs) < 3:
                        await anyio.sleep(0.001)
                    # "break": the block just ends, as after `break` out of `async for`
                    if how == "exception":
                        raise LookupError("the caller's own error")
                    if how == "cancel":
                        scope.cancel()
                        await anyio.sleep(HANG)
            except LookupError:
                assert how == "exception"
        assert len(fake.jobs) == 3
        from flowapi.journal import SqliteJournal
        journal = SqliteJournal(path)
        await journal.open()
        try:
            rows = {r.key: r for r in await journal.rows()}
        finally:
            await journal.close()
        assert {k: (r.state.value, r.jobid in fake.jobs) for k, r in rows.items()} == {
            f"k{i}": ("accepted", True) for i in range(3)}
        # an hour later (out of the 15-minute history), a new watcher adopts them
        fake.set_faults(None)
        fake.advance(3600)
        before = len(fake.requests)
        outcomes = await run_watch(flow, params, journal=str(path))
        assert not [r for r in fake.requests[before:] if r.method == "POST"]
        assert len(fake.jobs) == 3
        for key, outcome in outcomes.items():
            assert isinstance(outcome, JobSucceeded), outcome
            assert outcome.jobid == rows[key].jobid


# -- 5 ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("skew", [THREE_HOURS, -THREE_HOURS])
async def test_defect_5_skewed_client_clock_still_reconciles(skew: float) -> None:
    """Defect 5: the lookup after an uncertain submit filtered candidates by the client's
    wall clock, so a client clock more than ~60 s off never found the job. Now a client
    three hours ahead of (or behind) the server adopts the job its reset submit created."""
    async with FakeFlowServer(time_scale=TIME_SCALE, seed=8,
                              faults="reset_after_create{count=1}@POST videos") as fake:
        # a ScaledClock whose simulated time is `skew` seconds off the fake's: moving the
        # anchor by d moves simulated time by -d * (1 / time_scale - 1)
        clock = ScaledClock(TIME_SCALE,
                            anchor=fake.clock.anchor - skew / (1 / TIME_SCALE - 1))
        assert abs(clock.time() - fake.clock.time() - skew) < 60
        async with FlowSession(fake.token, base_url=fake.base_url, clock=clock,
                               retry_budget=RetryBudget(capacity=1000)) as flow:
            outcomes = await run_watch(flow, [VideoParams(prompt="skewed")])
        (jobid, job), = fake.jobs.items()
        assert job.connection_reset_after_create  # the submit really was ambiguous
        outcome = outcomes["k0"]
        assert isinstance(outcome, JobSucceeded), outcome
        assert outcome.jobid == jobid


# -- 6 ---------------------------------------------------------------------------------------

async def test_defect_6_shared_user_reply_ref_never_adopts_a_foreign_job() -> None:
    """Defect 6: a caller-set ``reply_ref`` served as the lookup marker although it is not
    unique, so after an ambiguous submit another job carrying the same ``replyRef`` could
    be adopted. Now two submissions sharing a ``reply_ref`` with a job someone else
    created (one submit reset after the job was created, one reset before) each end with
    their own job or in doubt — never with a job the watcher did not submit."""
    shared = "campaign-42"
    async with stack() as (fake, flow):
        foreign = await flow.jobs.submit(VideoParams(prompt="someone else's job",
                                                     reply_ref=shared))
        fake.set_faults("reset_after_create{count=1}@POST videos,"
                        "reset_before{after=1;count=1}@POST videos")
        outcomes = await run_watch(
            flow, [VideoParams(prompt=f"mine {i}", reply_ref=shared) for i in range(2)],
            max_concurrent_requests=1)
        assert len(fake.jobs) == 2  # the foreign job and the one reset after creation
        adopted = [(jobid, o) for o in outcomes.values() if (jobid := o.jobid) is not None]
        for outcome in outcomes.values():
            assert outcome.jobid != foreign.jobid, outcome
            assert outcome.params.reply_ref == shared  # the caller's value, unchanged
        for jobid, outcome in adopted:
            assert fake.jobs[jobid].request["prompt"] == outcome.params.prompt
        assert len(dict(adopted)) == len(adopted)
        in_doubt = [o for o in outcomes.values() if isinstance(o, JobFailed)
                    and o.jobid is None]  # the reset-before one: not found, not adopted
        assert in_doubt, outcomes
        assert all(o.category is not None and o.category.value == "in_doubt"
                   for o in in_doubt), in_doubt


# -- 7 ---------------------------------------------------------------------------------------

async def test_defect_7_each_resubmission_carries_a_new_marker() -> None:
    """Defect 7: a resubmission (``resubmit_moderated``) reused the first attempt's
    marker, so a lookup could not tell the attempts apart. Now every attempt's
    ``replyRef`` is distinct (the caller's own value travelling behind each)."""
    async with stack(faults=Faults(rules=[FaultRule("moderation", route="POST videos",
                                                    count=2)])) as (fake, flow):
        outcomes = await run_watch(flow, [VideoParams(prompt="try again", reply_ref="mine")],
                                   resubmit_moderated=2)
        outcome = outcomes["k0"]
        assert isinstance(outcome, JobSucceeded) and outcome.attempts == 3
        refs = [job.reply_ref for job in fake.jobs.values()]
        assert len(refs) == 3
        assert len(set(refs)) == 3, refs
        assert all(r and r.endswith(";mine") for r in refs), refs


# -- 8 ---------------------------------------------------------------------------------------

async def test_defect_8_one_writer_per_journal_file_within_a_process(tmp_path: Path) -> None:
    """Defect 8: the journal lock was per process (``fcntl.lockf``): a second journal on
    the same file in the same process was not refused, and closing either handle unlocked
    the file for others. Now the second is refused, closing it leaves the first's lock in
    place (for this process and for another one), and closing the first frees the file."""
    from flowapi.journal import JournalLockedError, SqliteJournal

    path = tmp_path / "one-writer.sqlite"
    probe = ("import sys, anyio\n"
             "from flowapi.journal import JournalLockedError, SqliteJournal\n"
             "async def main():\n"
             "    j = SqliteJournal(sys.argv[1])\n"
             "    try:\n"
             "        await j.open()\n"
             "    except JournalLockedError:\n"
             "        print('locked'); return\n"
             "    await j.close(); print('opened')\n"
             "anyio.run(main)\n")

    async def other_process() -> str:
        result = await anyio.run_process([sys.executable, "-c", probe, str(path)])
        return result.stdout.decode().strip()

    first = SqliteJournal(path)
    await first.open()
    second = SqliteJournal(path)
    with pytest.raises(JournalLockedError):
        await second.open()
    await second.close()  # closing the refused handle must not unlock the file
    third = SqliteJournal(path)
    with pytest.raises(JournalLockedError):
        await third.open()
    await third.close()
    assert await other_process() == "locked"
    await first.close()
    assert await other_process() == "opened"
    fourth = SqliteJournal(path)
    await fourth.open()
    await fourth.close()


# -- 9 ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["listing", "poll"])
@pytest.mark.parametrize("answer", ["400", "403", "403-fault", "undecodable"])
async def test_defect_9_permanent_job_read_errors_end_the_job(answer: str, mode: str) -> None:
    """Defect 9: ``GET /jobs/{jobid}`` answering 400 or 403 (or a body that never decodes)
    was retried forever: the submission never got an outcome and the watcher never
    ended. Now the job ends with ``JobFailed`` carrying the jobid, and the watcher ends.

    400 and 403 are the fake's own answers for a malformed jobid and another user's
    jobid (rows a journal hands to the watcher); ``403-fault`` and ``undecodable`` spoil
    every read of a job the watcher really submitted."""
    params = VideoParams(prompt="unreadable")
    async with stack() as (fake, flow):
        journal: Any = None
        expected: str | None = None
        if answer in ("400", "403"):
            from flowapi.journal import Accepted, Attempt, MemoryJournal, canonical_params

            real = await flow.jobs.submit(VideoParams(prompt="mine, to learn the uid"))
            head, uid, rest = real.jobid.split("-", 2)
            expected = ("j123v-nonsense" if answer == "400"
                        else f"{head}-u{int(uid[1:]) + 1}-{rest}")
            journal = MemoryJournal()
            await journal.open()
            await journal.add("k0", kind="VideoParams",
                              params=canonical_params(params.to_wire()), tag="0")
            await journal.update("k0", Attempt(marker="flowapi:" + "0" * 24))
            await journal.update("k0", Accepted(jobid=expected))
        else:
            kind = "captcha_quality" if answer == "403-fault" else "bad_json"
            fake.set_faults(Faults(rules=[FaultRule(kind, route="GET jobs/{jobid}")]))
        with anyio.fail_after(10):  # real seconds: a retry-forever loop would hang here
            outcomes = await run_watch(flow, [params], journal=journal, mode=mode)
        outcome = outcomes["k0"]
        assert isinstance(outcome, JobFailed), outcome
        if expected is None:
            (expected, _job), = [(j, job) for j, job in fake.jobs.items()
                                 if job.request["prompt"] == "unreadable"]
        assert outcome.jobid == expected
        assert expected in str(outcome.error) or expected in " ".join(
            getattr(outcome.error, "__notes__", []))
