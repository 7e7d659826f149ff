"""Issue 9, final adversarial review: attempts to lose or double-pay a job through the
public API (``flowapi batch`` processes, ``flow.watch`` with a :class:`PostgresJournal`).

Ground truth is the fake's: one job per prompt and per ``replyRef`` marker, and every
prompt with an outcome.
"""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.test_postgres_cli import Fake, fakes, held_by, start_batch  # noqa: F401

pytestmark = [pytest.mark.postgres]


def _spec(text: str) -> dict[str, str]:
    return {"prompt": text, "model": "veo-3.1-fast"}


@pytest.mark.parametrize("kill_first", [False, True], ids=["finished", "killed-running"])
def test_edited_prompts_file_between_two_process_runs(
        fakes: Callable[[str], Fake], postgres_dsn: str, tmp_path: Path,  # noqa: F811
        kill_first: bool) -> None:
    """Two ``flowapi batch`` processes run a prompts file (and finish, or are kill -9-ed
    while their jobs run); the file is edited (reordered, one inserted, one changed, a
    duplicate entry added) and two processes run it again. Harm if it fails: an unchanged
    prompt paid twice, or a prompt of the edited file never created."""
    fake = fakes("")
    v1 = [_spec(f"edit scene {i}") for i in range(8)] + [_spec("edit scene 0")]
    prompts_file = tmp_path / "prompts.json"
    prompts_file.write_text(json.dumps(v1))
    out = tmp_path / "out"
    journal = postgres_dsn + "?namespace=edit"
    logs = [tmp_path / f"run1-{i}.log" for i in range(2)]
    procs = [start_batch(fake, prompts_file, out, log, journal) for log in logs]
    try:
        if kill_first:
            deadline = time.monotonic() + 60
            while len(fake.state()["jobs"]) < 4:
                assert time.monotonic() < deadline
                time.sleep(0.005)
            while any(held_by(postgres_dsn, p.pid, ("submitting",)) for p in procs):
                time.sleep(0.002)
            for p in procs:
                p.send_signal(signal.SIGKILL)
            for p in procs:
                p.wait(timeout=10)
        else:
            assert [p.wait(timeout=120) for p in procs] == [0, 0]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)
    v2 = list(reversed(v1))
    v2.insert(3, _spec("edit scene inserted"))
    v2[5] = _spec("edit scene changed")
    v2.append(_spec("edit scene 1"))  # a second occurrence of an existing entry
    prompts_file.write_text(json.dumps(v2))
    logs2 = [tmp_path / f"run2-{i}.log" for i in range(2)]
    procs = [start_batch(fake, prompts_file, out, log, journal) for log in logs2]
    try:
        codes = [p.wait(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)
    texts = [log.read_text(errors="replace") for log in logs + logs2]
    jobs = fake.state()["jobs"]
    created = Counter(j["request"]["prompt"] for j in jobs.values())
    wanted = Counter(s["prompt"] for s in v2)
    assert set(Counter(j["reply_ref"] for j in jobs.values()).values()) == {1}, texts
    for prompt, n in wanted.items():
        assert created[prompt] >= n, (prompt, created, texts[2:])
    # at most one job per entry of either version
    ever = Counter(s["prompt"] for s in v1) | wanted
    for prompt, n in created.items():
        assert n <= ever[prompt], (prompt, created, texts)
    assert codes == [0, 0], texts[2:]


# -- in-process workers ------------------------------------------------------------------

import uuid  # noqa: E402

import anyio  # noqa: E402

from flowapi import FlowSession, JobSucceeded, Outcome, RetryBudget, VideoParams  # noqa: E402
from flowapi.journal import PostgresJournal  # noqa: E402
from flowapi.testing import FakeFlowServer  # noqa: E402


def _params(n: int, tag: str) -> list[VideoParams]:
    return [VideoParams(prompt=f"{tag} prompt {i}", model="veo-3.1-lite") for i in range(n)]


async def _run(flow: FlowSession, journal: PostgresJournal, params: list[VideoParams],
               keyed: bool) -> dict[str, Outcome]:
    got: dict[str, Outcome] = {}
    async with flow.watch(journal=journal, max_in_flight=4) as watcher:
        async def feed() -> None:
            for i, p in enumerate(params):
                await watcher.submit(p, key=f"k{i:03d}" if keyed else None)
            watcher.close()

        async with anyio.create_task_group() as tg:
            tg.start_soon(feed)
            async for outcome in watcher:
                got[outcome.key] = outcome
    return got


def _check_fake(fake: FakeFlowServer, params: list[VideoParams]) -> None:
    created = Counter(job.request["prompt"] for job in fake.jobs.values())
    assert created == {p.prompt: 1 for p in params}, created
    refs = Counter(job.request.get("replyRef") for job in fake.jobs.values())
    assert set(refs.values()) == {1}, refs


@pytest.mark.anyio
@pytest.mark.parametrize("keyed", [True, False], ids=["keys", "content-keys"])
@pytest.mark.parametrize("how", ["break", "exception", "cancel"])
async def test_leave_mid_submit_while_a_second_worker_runs(
        postgres_dsn: str, keyed: bool, how: str) -> None:
    """Worker A leaves its block (break / exception / cancel) while its POSTs are on the
    wire (``slow@POST videos``) and worker B, on the same namespace and keys, is already
    running; then a third run C of the same script. Harm if it fails: a prompt paid twice
    or left without an outcome (A's job abandoned)."""
    ns = uuid.uuid4().hex
    params = _params(6, f"mid-{how}-{keyed}")
    async with FakeFlowServer(time_scale=0.002, seed=9,
                              faults="slow{delay=300}@POST videos") as fake, \
            FlowSession(fake.token, base_url=fake.base_url, clock=fake.clock,
                        retry_budget=RetryBudget(capacity=1000)) as flow:
        a = PostgresJournal(postgres_dsn, namespace=ns)
        b = PostgresJournal(postgres_dsn, namespace=ns)
        c = PostgresJournal(postgres_dsn, namespace=ns)
        got_b: dict[str, Outcome] = {}
        try:
            with anyio.fail_after(90):
                async with anyio.create_task_group() as tg:
                    with anyio.CancelScope() as scope:
                        try:
                            async with flow.watch(journal=a, max_in_flight=6) as watcher:
                                for i, p in enumerate(params):
                                    await watcher.submit(p, key=f"k{i:03d}" if keyed else None)
                                while len(fake.jobs) < 2:
                                    await anyio.sleep(0.001)

                                async def run_b() -> None:
                                    got_b.update(await _run(flow, b, params, keyed))

                                tg.start_soon(run_b)
                                await anyio.sleep(0.05)
                                if how == "exception":
                                    raise LookupError("caller's error")
                                if how == "cancel":
                                    scope.cancel()
                                    await anyio.sleep(90)
                        except LookupError:
                            pass
                    fake.set_faults(None)
                got_c = await _run(flow, c, params, keyed)
        finally:
            for j in (a, b, c):
                await j.close()
        _check_fake(fake, params)
        assert len(got_b) == 6 and len(got_c) == 6, (got_b, got_c)
        assert all(isinstance(o, JobSucceeded) for o in got_b.values()), got_b
        assert all(isinstance(o, JobSucceeded) for o in got_c.values()), got_c


@pytest.mark.anyio
@pytest.mark.parametrize("keyed", [True, False], ids=["keys", "content-keys"])
async def test_rerun_twice_while_first_jobs_run(postgres_dsn: str, keyed: bool) -> None:
    """A script run twice in a row on one namespace; the second starts while the first's
    jobs still run (the first is still in its block). Harm: a prompt paid twice, or an
    outcome missing in either run."""
    ns = uuid.uuid4().hex
    params = _params(8, f"rerun-{keyed}")
    async with FakeFlowServer(time_scale=0.002, seed=9) as fake, \
            FlowSession(fake.token, base_url=fake.base_url, clock=fake.clock,
                        retry_budget=RetryBudget(capacity=1000)) as flow:
        a = PostgresJournal(postgres_dsn, namespace=ns)
        b = PostgresJournal(postgres_dsn, namespace=ns)
        results: list[dict[str, Outcome]] = []
        try:
            with anyio.fail_after(90):
                async with anyio.create_task_group() as tg:
                    async def one(j: PostgresJournal) -> None:
                        results.append(await _run(flow, j, params, keyed))

                    tg.start_soon(one, a)
                    while len(fake.jobs) < 3:
                        await anyio.sleep(0.001)
                    tg.start_soon(one, b)
                results.append(await _run(flow, a, params, keyed))
        finally:
            await a.close()
            await b.close()
        _check_fake(fake, params)
        for got in results:
            assert len(got) == 8 and all(isinstance(o, JobSucceeded) for o in got.values()), got


@pytest.mark.anyio
@pytest.mark.parametrize("faults", [None, "webhook_drop:0.5", "slow{delay=200}@POST videos"])
async def test_webhook_and_listing_workers_on_the_same_keys(
        postgres_dsn: str, faults: str | None) -> None:
    """Two workers on one namespace submit the same keys at once: one ``mode="webhook"``
    (its ``WebhookReceiver(journal=...)`` serving), one ``mode="listing"``. Harm: a key paid
    twice, or a worker missing an outcome."""
    from flowapi.webhooks import WebhookReceiver

    ns = uuid.uuid4().hex
    params = _params(10, f"mixed-{faults}")
    async with FakeFlowServer(time_scale=0.002, seed=9, faults=faults) as fake, \
            FlowSession(fake.token, base_url=fake.base_url, clock=fake.clock,
                        retry_budget=RetryBudget(capacity=1000)) as flow:
        wj = PostgresJournal(postgres_dsn, namespace=ns)
        lj = PostgresJournal(postgres_dsn, namespace=ns)
        receiver = WebhookReceiver(journal=wj)
        results: dict[str, dict[str, Outcome]] = {}
        try:
            await wj.open()
            async with receiver.serve() as url:
                with anyio.fail_after(90):
                    async def webhook_worker() -> None:
                        got: dict[str, Outcome] = {}
                        async with flow.watch(mode="webhook", journal=wj, webhook_url=url,
                                              max_in_flight=4) as watcher:
                            receiver.attach(watcher)
                            for i, p in enumerate(params):
                                await watcher.submit(p, key=f"k{i:03d}")
                            watcher.close()
                            async for o in watcher:
                                got[o.key] = o
                        results["webhook"] = got

                    async def listing_worker() -> None:
                        results["listing"] = await _run(flow, lj, params, True)

                    async with anyio.create_task_group() as tg:
                        tg.start_soon(webhook_worker)
                        tg.start_soon(listing_worker)
        finally:
            await wj.close()
            await lj.close()
        _check_fake(fake, params)
        for name, got in results.items():
            assert len(got) == 10, (name, got)
            assert all(isinstance(o, JobSucceeded) for o in got.values()), (name, got)


@pytest.mark.anyio
@pytest.mark.parametrize("how", ["break", "exception", "cancel"])
async def test_sqlite_leave_mid_submit_then_rerun_with_content_keys(
        tmp_path: Path, how: str) -> None:
    """The SQLite journal still holds: a run leaves its block while POSTs are on the wire
    (content keys, no ``key=``), the file's second run (same params, reordered) adopts
    every job. Harm: a prompt paid twice or left without an outcome."""
    path = str(tmp_path / "j.sqlite")
    params = _params(5, f"sqlite-{how}")
    async with FakeFlowServer(time_scale=0.002, seed=9,
                              faults="slow{delay=300}@POST videos") as fake, \
            FlowSession(fake.token, base_url=fake.base_url, clock=fake.clock,
                        retry_budget=RetryBudget(capacity=1000)) as flow:
        with anyio.fail_after(90):
            with anyio.CancelScope() as scope:
                try:
                    async with flow.watch(journal=path, max_in_flight=5) as watcher:
                        for p in params:
                            await watcher.submit(p)
                        while len(fake.jobs) < 2:
                            await anyio.sleep(0.001)
                        if how == "exception":
                            raise LookupError("caller's error")
                        if how == "cancel":
                            scope.cancel()
                            await anyio.sleep(90)
                except LookupError:
                    pass
            fake.set_faults(None)
            got: dict[str, Outcome] = {}
            async with flow.watch(journal=path, max_in_flight=5) as watcher:
                for p in reversed(params):
                    await watcher.submit(p)
                watcher.close()
                async for o in watcher:
                    got[o.key] = o
        _check_fake(fake, params)
        assert len(got) == 5 and all(isinstance(o, JobSucceeded) for o in got.values()), got


@pytest.mark.anyio
async def test_webhook_worker_leaves_and_listing_worker_takes_over(postgres_dsn: str) -> None:
    """The webhook worker submits every key and leaves (its receiver stops: callbacks for
    its jobs go nowhere) while the jobs run; a listing worker on the same namespace and
    keys runs meanwhile. Harm: a key paid twice, or its outcome never reached."""
    from flowapi.webhooks import WebhookReceiver

    ns = uuid.uuid4().hex
    params = _params(8, "handover")
    async with FakeFlowServer(time_scale=0.002, seed=9) as fake, \
            FlowSession(fake.token, base_url=fake.base_url, clock=fake.clock,
                        retry_budget=RetryBudget(capacity=1000)) as flow:
        wj = PostgresJournal(postgres_dsn, namespace=ns)
        lj = PostgresJournal(postgres_dsn, namespace=ns)
        receiver = WebhookReceiver(journal=wj)
        got: dict[str, Outcome] = {}
        try:
            await wj.open()
            with anyio.fail_after(90):
                async with anyio.create_task_group() as tg, receiver.serve() as url, \
                        flow.watch(mode="webhook", journal=wj, webhook_url=url,
                                   max_in_flight=8) as watcher:
                    receiver.attach(watcher)
                    for i, p in enumerate(params):
                        await watcher.submit(p, key=f"k{i:03d}")

                    async def listing() -> None:
                        got.update(await _run(flow, lj, params, True))

                    tg.start_soon(listing)
                    while len(fake.jobs) < 8:
                        await anyio.sleep(0.001)
        finally:
            await wj.close()
            await lj.close()
        _check_fake(fake, params)
        assert len(got) == 8 and all(isinstance(o, JobSucceeded) for o in got.values()), got
