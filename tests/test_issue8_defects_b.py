"""Issue 8, defects 10–17: one regression test per defect, through the public API only.

Each test drives ``FlowSession`` / ``flow.watch`` / ``watcher.submit`` (or the ``flowapi``
command in a subprocess) against ``FakeFlowServer`` and asserts on the fake's ground truth
(``fake.jobs``, ``fake.requests``) and on what the user sees. Where the fake cannot show
an anomaly by itself (a stale listing, a jobid returned twice), a small
:class:`FakeFlowServer` subclass in this file adds one middleware to the fake's API app.

Every test here fails on flowapi 0.1.0 (commit 8bc1390): see each docstring. Waits are
bounded by ``anyio.fail_after`` so that the 0.1.0 behaviour (a submission that never gets
an outcome) fails instead of hanging; on the current code each test takes well under a
second of those bounds.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from aiohttp import web

import flowapi
from flowapi import (
    FlowSession,
    JobFailed,
    JobSucceeded,
    Outcome,
    RetryBudget,
    RetryPolicy,
    VideoParams,
)
from flowapi.testing import FakeAccount, FakeFlowServer, RecordedRequest

pytestmark = pytest.mark.anyio

TIME_SCALE = 0.001
#: Real seconds a test may take before it counts as hung (0.1.0 never yields the outcome).
HANG = 30.0
CLI = [sys.executable, "-c", "import sys; from flowapi.cli import main; sys.exit(main())"]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def stack(fake: FakeFlowServer | None = None
                ) -> AsyncIterator[tuple[FakeFlowServer, FlowSession]]:
    """A started fake (default: a plain one) and a session on its clock."""
    server = fake or FakeFlowServer(time_scale=TIME_SCALE, seed=8)
    async with server, FlowSession(server.token, base_url=server.base_url, clock=server.clock,
                                   retry=RetryPolicy(attempts=4, max_inline_wait=30.0),
                                   retry_budget=RetryBudget(capacity=1000)) as flow:
        yield server, flow


async def drain(watcher: flowapi.JobWatcher) -> list[Outcome]:
    """Every outcome until the (closed) watcher ends."""
    return [outcome async for outcome in watcher]


def once_each(outcomes: list[Outcome], keys: list[str]) -> dict[str, Outcome]:
    """Assert exactly one outcome per key; return them by key."""
    counts = Counter(o.key for o in outcomes)
    assert sorted(counts) == sorted(keys), counts
    assert set(counts.values()) == {1}, counts
    return {o.key: o for o in outcomes}


def posts(fake: FakeFlowServer) -> list[RecordedRequest]:
    return [r for r in fake.requests if r.route == "POST videos"]


class StaleListingFake(FakeFlowServer):
    """``GET jobs?options=executing`` keeps listing every job ever created as executing,
    also after it finished (a listing anomaly: lag or a stuck entry on the server)."""

    def _api_app(self) -> web.Application:
        app = super()._api_app()

        @web.middleware
        async def stale(request: web.Request, handler: Handler) -> web.StreamResponse:
            resp = await handler(request)
            if (request.method == "GET" and request.path.rstrip("/").endswith("/jobs")
                    and request.query.get("options") == "executing" and resp.status == 200
                    and isinstance(resp, web.Response) and isinstance(resp.body, bytes)):
                body = json.loads(resp.body)
                for jobid, job in self.jobs.items():
                    group = body.setdefault("videos" if job.type == "video" else "images", {})
                    executing = group.setdefault("executing", {})
                    executing.setdefault(jobid, {"email": job.email,
                                                 "timestamp": round(job.created_at * 1000),
                                                 "elapsed": "1:00"})
                return web.json_response(body)
            return resp

        app.middlewares.append(stale)
        return app


class SameJobidFake(FakeFlowServer):
    """Answers every ``POST videos`` 201 with the jobid of the first one (the server
    returning one jobid for two submissions). The later submissions' jobs are really
    created (``fake.jobs`` has them); only their answers carry the wrong id."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.first_jobid: str | None = None

    def _api_app(self) -> web.Application:
        app = super()._api_app()

        @web.middleware
        async def same(request: web.Request, handler: Handler) -> web.StreamResponse:
            resp = await handler(request)
            if (request.method == "POST" and request.path.endswith("/videos")
                    and resp.status == 201 and isinstance(resp, web.Response)
                    and isinstance(resp.body, bytes)):
                body = json.loads(resp.body)
                if self.first_jobid is None:
                    self.first_jobid = body["jobid"]
                else:
                    body["jobid"] = self.first_jobid
                return web.json_response(body, status=201)
            return resp

        app.middlewares.append(same)
        return app


# -- 10 ----------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["listing", "webhook"])
async def test_defect10_finished_job_the_listing_keeps_showing_is_still_read(
        mode: str) -> None:
    """Defect 10: in listing mode, a finished job that ``GET jobs?options=executing`` keeps
    showing as executing was never read (0.1.0: its submission never gets an outcome).
    Now every job in flight has a backstop read, so each key still gets its outcome — also
    in webhook mode when the callbacks are lost (the resync reads the same listing)."""
    fake = StaleListingFake(time_scale=TIME_SCALE, seed=10)
    with socket.socket() as sock:  # a loopback port nobody listens on: callbacks are lost
        sock.bind(("127.0.0.1", 0))
        lost = f"http://127.0.0.1:{sock.getsockname()[1]}/hooks/secret"
    watch: dict[str, Any] = {"webhook_url": lost} if mode == "webhook" else {}
    async with stack(fake) as (_, flow):
        with anyio.fail_after(HANG):
            async with flow.watch(max_in_flight=8, mode=mode,  # type: ignore[arg-type]
                                  **watch) as watcher:
                for i in range(6):  # several ripe at once: the listing is consulted
                    await watcher.submit(VideoParams(prompt=f"stale listing {i}"), key=f"k{i}")
                watcher.close()
                outcomes = await drain(watcher)
        by_key = once_each(outcomes, [f"k{i}" for i in range(6)])
        assert all(isinstance(o, JobSucceeded) for o in by_key.values()), outcomes
        assert {o.jobid for o in outcomes} == set(fake.jobs)
        # the anomaly was exercised: listings showed the finished jobs as executing
        assert any(r.route == "GET jobs" and r.query.get("options") == "executing"
                   and r.t > min(j.finished_at for j in fake.jobs.values())
                   for r in fake.requests)
        # and each job was read after it finished, by its own GET
        for jobid in fake.jobs:
            assert any(r.route == "GET jobs/{jobid}" and jobid in r.path
                       and r.t >= fake.jobs[jobid].finished_at for r in fake.requests)


# -- 11 ----------------------------------------------------------------------------------

async def test_defect11_empty_email_submit_is_woken_after_the_lane_probe() -> None:
    """Defect 11: ``email=""`` and no email share the load-balanced lane but had separate
    waiter lists; with the lane in slow start (one probe submit, the others wait for its
    answer) the ``email=""`` submit was never woken (0.1.0: no outcome, ever)."""
    fake = FakeFlowServer(time_scale=TIME_SCALE, seed=11,
                          faults="slow{delay=5}@POST videos")  # the probe takes a while
    async with stack(fake) as (fake, flow):
        with anyio.fail_after(HANG):
            async with flow.watch(max_in_flight=4, mode="poll") as watcher:
                await watcher.submit(VideoParams(prompt="no email"), key="none")
                await watcher.submit(VideoParams(prompt="empty email", email=""), key="empty")
                watcher.close()
                outcomes = await drain(watcher)
        by_key = once_each(outcomes, ["none", "empty"])
        assert all(isinstance(o, JobSucceeded) for o in by_key.values()), outcomes
        assert sorted(j.request["prompt"] for j in fake.jobs.values()) == [
            "empty email", "no email"]


# -- 12 ----------------------------------------------------------------------------------

@pytest.mark.parametrize("when", ["running", "finished"])
async def test_defect12_jobid_returned_twice_drops_no_submission(when: str) -> None:
    """Defect 12: a jobid the server returned for two submissions silently dropped one of
    them (0.1.0: the second overwrote the first's mapping; one key never got an outcome).
    Now the first keeps the job and succeeds; the second gets a ``JobFailed`` *in doubt*
    (its own job may exist) naming the jobid, and is not resubmitted — whether the first
    job is still running when the second answer arrives, or already finished (its key
    done: only the journal still knows the jobid)."""
    slow = "slow{delay=400;after=1;count=1}@POST videos" if when == "finished" else None
    fake = SameJobidFake(time_scale=TIME_SCALE, seed=12, faults=slow)
    async with stack(fake) as (_, flow):
        with anyio.fail_after(HANG):
            async with flow.watch(max_in_flight=4, mode="poll") as watcher:
                await watcher.submit(VideoParams(prompt="first"), key="a")
                await watcher.submit(VideoParams(prompt="second"), key="b")
                watcher.close()
                outcomes = await drain(watcher)
        once_each(outcomes, ["a", "b"])
        jobid = fake.first_jobid
        assert jobid is not None and len(fake.jobs) == 2  # two real jobs, one id answered
        ok = [o for o in outcomes if isinstance(o, JobSucceeded)]
        failed = [o for o in outcomes if isinstance(o, JobFailed)]
        assert len(ok) == 1 and len(failed) == 1, outcomes
        assert ok[0].jobid == jobid
        assert fake.jobs[jobid].request["prompt"] == {"a": "first", "b": "second"}[ok[0].key]
        (bad,) = failed
        assert bad.category == flowapi.FailureCategory.IN_DOUBT
        assert jobid in str(bad.error)
        assert len(posts(fake)) == 2  # the doubtful one is not resubmitted
        second_answer = posts(fake)[1].finished_t
        assert second_answer is not None
        assert (fake.jobs[jobid].finished_at < second_answer) == (when == "finished")


# -- 13 ----------------------------------------------------------------------------------

async def test_defect13_submit_gives_back_its_slot_when_a_later_step_raises() -> None:
    """Defect 13 (first half): ``submit()`` kept its back-pressure slot when a step after
    taking it raised (here the journal's first write). With ``max_in_flight=1`` the next
    ``submit()`` then blocked forever (0.1.0: no such journal API either)."""

    class FailsOnce(flowapi.MemoryJournal):
        failed = False

        async def add(self, key: str, *, kind: str, params: str,
                      tag: str | None) -> flowapi.Submission:
            if not self.failed:
                self.failed = True
                raise flowapi.JournalError("disk full (injected once)")
            return await super().add(key, kind=kind, params=params, tag=tag)

    journal = FailsOnce()
    async with stack() as (fake, flow):
        with anyio.fail_after(HANG):
            async with flow.watch(max_in_flight=1, mode="poll", journal=journal) as watcher:
                with pytest.raises(flowapi.JournalError):
                    await watcher.submit(VideoParams(prompt="first"), key="a")
                await watcher.submit(VideoParams(prompt="second"), key="b")  # not blocked
                with pytest.raises(ValueError, match="duplicate"):  # raised, not waiting
                    await watcher.submit(VideoParams(prompt="second"), key="b")
                watcher.close()
                outcomes = await drain(watcher)
        once_each(outcomes, ["b"])
        assert [j.request["prompt"] for j in fake.jobs.values()] == ["second"]


async def test_defect13_a_key_whose_submit_raised_can_be_submitted_again() -> None:
    """Neighbour of defect 13: when ``submit()`` raised before anything was tracked or sent
    (the journal's write failed once), calling it again for the same key works."""

    class FailsOnce(flowapi.MemoryJournal):
        failed = False

        async def add(self, key: str, *, kind: str, params: str,
                      tag: str | None) -> flowapi.Submission:
            if not self.failed:
                self.failed = True
                raise flowapi.JournalError("disk full (injected once)")
            return await super().add(key, kind=kind, params=params, tag=tag)

    async with stack() as (fake, flow):
        with anyio.fail_after(HANG):
            async with flow.watch(max_in_flight=1, mode="poll", journal=FailsOnce()) as watcher:
                with pytest.raises(flowapi.JournalError):
                    await watcher.submit(VideoParams(prompt="first"), key="a")
                await watcher.submit(VideoParams(prompt="first"), key="a")  # the retry
                watcher.close()
                once_each(await drain(watcher), ["a"])
        assert len(fake.jobs) == 1


async def test_defect13_sqlite_journal_writes_do_not_block_the_event_loop(
        tmp_path: Path) -> None:
    """Defect 13 (second half): the sqlite journal ran its writes on the event loop, so a
    journal file locked by another connection froze the whole loop for sqlite's busy
    timeout (~5 s per write; 0.1.0: nothing else ran, then the submit raised "database is
    locked"). Now a write waiting for the lock runs off the loop: other tasks keep running,
    and once the other connection lets go, the write goes through."""
    path = tmp_path / "journal.sqlite"
    async with stack() as (fake, flow):
        with anyio.fail_after(HANG):
            async with flow.watch(max_in_flight=4, mode="poll", journal=str(path)) as watcher:
                other = sqlite3.connect(path, isolation_level=None)
                other.execute("BEGIN IMMEDIATE")  # hold the write lock
                done = anyio.Event()
                result: list[str | BaseException] = []

                async def submit() -> None:
                    try:
                        result.append(await watcher.submit(VideoParams(prompt="locked"),
                                                           key="k"))
                    except Exception as exc:
                        result.append(exc)
                    done.set()

                async with anyio.create_task_group() as tg:
                    tg.start_soon(submit)
                    ticks = 0
                    while ticks < 200 and not done.is_set():  # the loop keeps running...
                        await anyio.sleep(0)
                        ticks += 1
                    # ...while the submit is still waiting for the journal's lock
                    assert not done.is_set(), result
                    other.execute("COMMIT")
                    other.close()
                    await done.wait()
                assert result == ["k"], result
                watcher.close()
                outcomes = await drain(watcher)
        once_each(outcomes, ["k"])
        assert len(fake.jobs) == 1


# -- 14 ----------------------------------------------------------------------------------

async def test_defect14_watch_closes_the_journal_it_opened(tmp_path: Path) -> None:
    """Defect 14: ``flow.watch(journal="path")`` never closed the journal it opened, so its
    writer lock outlived the block (0.1.0 has no ``SqliteJournal`` either). Now, after the
    block — left normally or by an exception — another journal, in this process or in
    another one, can open the same file."""
    path = tmp_path / "journal.sqlite"
    async with stack() as (_, flow):
        with anyio.fail_after(HANG):
            async with flow.watch(journal=str(path), mode="poll") as watcher:
                await watcher.submit(VideoParams(prompt="x"), key="k")
                watcher.close()
                once_each(await drain(watcher), ["k"])
        other = flowapi.SqliteJournal(path)
        await other.open()  # JournalLockedError while the watcher's journal is open
        assert [r.key for r in await other.rows()] == ["k"]
        await other.close()
        with pytest.raises(RuntimeError, match="boom"):
            async with flow.watch(journal=str(path)) as watcher:
                raise RuntimeError("boom")
        script = ("import sys, anyio, flowapi\n"
                  "j = flowapi.SqliteJournal(sys.argv[1])\n"
                  "async def main():\n"
                  "    await j.open()\n"
                  "    print(len(await j.rows()))\n"
                  "    await j.close()\n"
                  "anyio.run(main)\n")
        proc = await anyio.run_process([sys.executable, "-c", script, str(path)],
                                       check=False)
        assert proc.returncode == 0, proc.stderr.decode()
        assert proc.stdout.decode().strip() == "1"


# -- 15 ----------------------------------------------------------------------------------

async def test_defect15_402_mid_batch_records_the_wire_and_sends_nothing_more(
        tmp_path: Path) -> None:
    """Defect 15: when the account ran out of credits (402) during a batch, 0.1.0 left the
    refused prompt's row ``submitting`` (a rerun treated it as in doubt), abandoned the
    submits already on the wire (their paid jobs never reached the journal) and still sent
    submits that were waiting. Now: the refused row is back to ``pending``, the submit on
    the wire finishes and its jobid is journaled, and nothing is POSTed after the 402."""
    email = "credits@gmail.com"
    path = tmp_path / "journal.sqlite"
    fake = FakeFlowServer(time_scale=TIME_SCALE, seed=15,
                          accounts=[FakeAccount(email=email, credits=20)],  # two fast jobs
                          faults="slow{delay=1000;after=1;count=1}@POST videos")
    async def until_402(fake: FakeFlowServer, flow: FlowSession) -> None:
        # two submit workers: one busy with the slow submit, one meets the 402; the
        # submits behind them are waiting when the 402 arrives
        async with flow.watch(max_in_flight=8, mode="poll", journal=str(path),
                              max_concurrent_requests=2) as watcher:
            await watcher.submit(VideoParams(prompt="p0"), key="k0")
            while not (posts(fake) and posts(fake)[0].status == 201):
                await anyio.sleep(0)  # the lane's probe answered: the lane is open
            await watcher.submit(VideoParams(prompt="p1"), key="k1")  # slow, paid
            while len(fake.jobs) < 2:
                await anyio.sleep(0)  # k1's job exists; its 201 is 1000 s away
            for i in (2, 3, 4):
                await watcher.submit(VideoParams(prompt=f"p{i}"), key=f"k{i}")
            watcher.close()
            await drain(watcher)

    async with stack(fake) as (fake, flow):
        with anyio.fail_after(HANG), pytest.raises(flowapi.PaymentRequiredError):
            await until_402(fake, flow)
        refused = [r for r in posts(fake) if r.status == 402]
        assert len(refused) == 1, [(r.status, r.t) for r in posts(fake)]
        t402 = refused[0].finished_t
        (on_the_wire,) = [r for r in posts(fake) if r.fault == "slow"]
        assert t402 is not None and on_the_wire.t < t402  # k1 was on the wire at the 402
        # ...and was not abandoned: its answer was awaited (0.1.0 closed the connection)
        assert on_the_wire.status == 201 and (on_the_wire.finished_t or 0) > t402
        assert [r for r in posts(fake) if r.t > t402] == []  # nothing sent after the 402
        assert len(posts(fake)) == 3
        journal = flowapi.SqliteJournal(path)
        rows = {r.key: r for r in await journal.rows()}
        await journal.close()
        states = {k: r.state.value for k, r in rows.items()}
        assert "submitting" not in states.values(), states
        assert states["k2"] == states["k3"] == states["k4"] == "pending", states
        # every paid job is in the journal, the one that was on the wire included
        journaled = {r.jobid: k for k, r in rows.items() if r.jobid}
        assert set(journaled) == set(fake.jobs), (journaled, list(fake.jobs))
        k1_job = next(j for j in fake.jobs.values() if j.request["prompt"] == "p1")
        assert journaled[k1_job.jobid] == "k1" and states["k1"] in ("accepted", "succeeded")
        # a rerun with credits resumes: k0 and k1 are adopted, only k2..k4 are POSTed
        fake.accounts[email].credits = 1000
        with anyio.fail_after(HANG):
            async with flow.watch(max_in_flight=8, mode="poll", journal=str(path)) as watcher:
                for i in range(5):
                    await watcher.submit(VideoParams(prompt=f"p{i}"), key=f"k{i}")
                watcher.close()
                by_key = once_each(await drain(watcher), [f"k{i}" for i in range(5)])
        assert all(isinstance(o, JobSucceeded) for o in by_key.values()), by_key
        assert Counter(j.request["prompt"] for j in fake.jobs.values()) == {
            f"p{i}": 1 for i in range(5)}


# -- 16 ----------------------------------------------------------------------------------

def cli_args(fake: FakeFlowServer, prompts: Path, out: Path, *extra: str) -> list[str]:
    """``flowapi batch`` against ``fake``, on its simulated clock."""
    return [*CLI, "batch", str(prompts), "--out", str(out), "--token", fake.token,
            "--base-url", fake.base_url, "--time-scale", repr(fake.clock.time_scale),
            "--anchor", repr(fake.clock.anchor), "--max-in-flight", "4", *extra]


async def run_cli(args: list[str]) -> tuple[int, str]:
    """Run the command to its end (the in-process fake keeps serving); returns the exit
    code and stdout + stderr, unwrapped (a wide terminal)."""
    env = {**os.environ, "COLUMNS": "400"}
    env.pop("USEAPI_TOKEN", None)
    proc = await anyio.run_process(args, check=False, env=env, stderr=subprocess.STDOUT)
    return proc.returncode, proc.stdout.decode(errors="replace")


def write_prompts(path: Path, prompts: list[str]) -> None:
    path.write_text(json.dumps([{"prompt": p, "model": "veo-3.1-fast"} for p in prompts]))


@pytest.mark.parametrize("trouble", ["corrupt", "sqlite_locked", "journal_held"])
async def test_defect16_corrupt_or_locked_journal_is_one_line_not_a_traceback(
        trouble: str, tmp_path: Path) -> None:
    """Defect 16: a corrupt journal file, or one another program keeps locked, ended
    ``flowapi batch`` with a raw sqlite traceback (0.1.0). Now the command exits non-zero
    with one line that says what happened and what to do, and submits nothing.

    ``corrupt``: garbage bytes. ``sqlite_locked``: after a first run, another connection
    (another program, from the command's point of view) holds sqlite's write lock for the
    whole of the next run, which has a new prompt to journal.
    ``journal_held``: another open ``SqliteJournal`` holds the file."""
    prompts, out = tmp_path / "prompts.json", tmp_path / "out"
    write_prompts(prompts, ["a fox", "a hen"])
    out.mkdir()
    path = out / "flowapi-journal.sqlite"
    holder: Any = None
    async with FakeFlowServer(time_scale=TIME_SCALE, seed=16) as fake:
        if trouble == "corrupt":
            path.write_bytes(b"this is not a database\x00\xff" * 400)
        elif trouble == "sqlite_locked":
            first = tmp_path / "first.json"
            write_prompts(first, ["a fox"])  # a real journal, from a run that ended well...
            with anyio.fail_after(HANG):
                code, output = await run_cli(cli_args(fake, first, out))
            assert code == 0, output
            holder = sqlite3.connect(path, isolation_level=None)
            holder.execute("BEGIN EXCLUSIVE")  # ...that another program now keeps locked
        else:
            holder = flowapi.SqliteJournal(path)
            await holder.open()
        sent = len(posts(fake))
        try:
            with anyio.fail_after(HANG):
                code, output = await run_cli(cli_args(fake, prompts, out))
        finally:
            if trouble == "sqlite_locked":
                holder.execute("ROLLBACK")
                holder.close()
            elif holder is not None:
                await holder.close()
        assert code != 0, output
        assert "Traceback" not in output and "sqlite3." not in output, output
        lines = [line for line in output.splitlines() if line.strip()]
        # one line says what happened and what to do; besides it only the progress
        # display's last frame and, on a rerun, the line saying what it resumes
        errors = [line for line in lines if line.startswith("error:")]
        assert len(errors) == 1 and errors == lines[-1:], output
        assert "journal" in errors[0] and str(path) in errors[0], output
        others = [line for line in lines[:-1] if not line.startswith(("jobs ", "resuming "))]
        assert others == [], output
        assert len(posts(fake)) == sent  # nothing was submitted


# -- 17 ----------------------------------------------------------------------------------

async def test_defect17_in_doubt_job_gone_from_history_is_never_called_not_created(
        tmp_path: Path) -> None:
    """Defect 17: after a crash, a submit in doubt whose job was created, finished and
    dropped out of ``GET jobs?options=history`` (the 10 newest finished jobs) was reported
    as "most likely not created … pass --retry-failed" — and following that advice paid
    for it twice (0.1.0). Now it is reported *in doubt (may have been created)*;
    ``--retry-failed`` does not resubmit it; only ``--resubmit-in-doubt`` does."""
    prompts, out = tmp_path / "prompts.json", tmp_path / "out"
    write_prompts(prompts, ["doubtful"])
    fake = FakeFlowServer(time_scale=TIME_SCALE, seed=17,
                          faults="slow{delay=5000;count=1}@POST videos")
    async with stack(fake) as (fake, flow):
        # 1. the run dies (SIGKILL) while its submit is on the wire: the job was created
        with anyio.fail_after(HANG):
            async with await anyio.open_process(cli_args(fake, prompts, out)) as proc:
                while not any(r.job_id and r.status is None for r in posts(fake)):
                    await anyio.sleep(0)
                proc.kill()
                await proc.wait()
        (doubtful,) = fake.jobs.values()
        # 2. it finishes, then ten newer jobs finish: it is out of the history listing
        await fake.clock.sleep(doubtful.finished_at - fake.clock.time() + 1)
        fillers = [await flow.jobs.submit(VideoParams(prompt=f"filler {i}"))
                   for i in range(11)]
        await fake.clock.sleep(max(fake.jobs[j.jobid].finished_at for j in fillers)
                               - fake.clock.time() + 1)
        newer = [j for j in fake.jobs.values() if j.finished_at > doubtful.finished_at]
        assert len(newer) >= 10 and all(j.status in ("completed", "failed") for j in newer)

        def doubtful_jobs() -> int:
            return sum(1 for j in fake.jobs.values() if j.request["prompt"] == "doubtful")

        for extra in ((), ("--retry-failed",)):
            with anyio.fail_after(HANG):
                code, output = await run_cli(cli_args(fake, prompts, out, *extra))
            text = " ".join(output.split())
            assert code == 1, output
            assert "not created" not in text, output
            assert "in doubt" in text and "may have been created" in text, output
            assert doubtful_jobs() == 1, output  # not paid twice
        # 3. the explicit flag, which states the risk, does resubmit it
        with anyio.fail_after(HANG):
            code, output = await run_cli(cli_args(fake, prompts, out, "--resubmit-in-doubt"))
        assert code == 0, output
        assert doubtful_jobs() == 2


async def test_defect17_callback_of_a_resumed_in_doubt_submit_adopts_its_job() -> None:
    """Neighbour of defect 17: a resumed submit in doubt whose job the listings cannot show
    (here they fail; in life it dropped out of the history) is found by the job's
    callback arriving during the run — "by every means the API offers"."""
    journal = flowapi.MemoryJournal()
    fake = FakeFlowServer(time_scale=TIME_SCALE, seed=3, faults=(
        "reset_after_create{count=1}@POST videos, poll_500@GET jobs"))
    async with stack(fake) as (fake, flow):
        with anyio.fail_after(HANG):
            async with flow.watch(mode="poll", journal=journal) as watcher:
                await watcher.submit(VideoParams(prompt="called back"), key="k")
                watcher.close()
                (first,) = await drain(watcher)
        assert isinstance(first, JobFailed)  # in doubt: not found this time
        assert first.category == flowapi.FailureCategory.IN_DOUBT
        (jobid,) = fake.jobs
        record = await flow.jobs.get(jobid)  # what its callback carries
        with anyio.fail_after(HANG):
            async with flow.watch(mode="poll", journal=journal) as watcher:
                await watcher.submit(VideoParams(prompt="called back"), key="k")
                claimed = watcher.notify(record)  # the callback arrives while it is looked up
                watcher.close()
                (second,) = await drain(watcher)
        assert claimed and isinstance(second, JobSucceeded) and second.jobid == jobid
        assert len(fake.jobs) == 1
