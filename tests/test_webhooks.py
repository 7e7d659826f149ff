"""flowapi.webhooks: the receiver end to end with JobWatcher(mode="webhook") and the fake,
the three front ends (standalone server, aiohttp handler, ASGI app), and hostile input."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import sys
import threading
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, MutableMapping
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import unquote

import aiohttp
import anyio
import anyio.lowlevel
import msgspec
import pytest
from aiohttp import web

from flowapi import FlowSession, JobFailed, JobSucceeded, Outcome, VideoParams, WatcherStats
from flowapi.journal import JournalError, MemoryJournal, PostgresJournal
from flowapi.testing import FakeFlowServer, FaultRule, Faults
from flowapi.types import decode
from flowapi.types.jobs import Job
from flowapi.webhooks import CALLBACK_PATH_PREFIX, WebhookReceiver

pytestmark = pytest.mark.anyio

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
JOB = {"jobid": "j1v-u1-email:a@b.c-bot:google-flow", "status": "completed", "type": "video"}


async def _batch(flow: FlowSession, receiver: WebhookReceiver, url: str, n: int,
                 stats: list[WatcherStats] | None = None, **watch: Any) -> list[Outcome]:
    """Submit ``n`` videos through a webhook-mode watcher fed by ``receiver``."""
    async with flow.watch(mode="webhook", webhook_url=url, max_in_flight=n, **watch) as watcher:
        with receiver.attach(watcher):
            for i in range(n):
                await watcher.submit(VideoParams(prompt=f"prompt {i}"), key=f"k{i}", tag=i)
            watcher.close()
            outcomes = [o async for o in watcher]
    assert receiver.watchers == ()
    if stats is not None:
        stats.append(watcher.stats)
    return outcomes


def _polls_by_job(fake: FakeFlowServer) -> Counter[str]:
    return Counter(unquote(r.path).rsplit("/", 1)[-1] for r in fake.requests
                   if r.route == "GET jobs/{jobid}")


def _assert_invariant(receiver: WebhookReceiver) -> None:
    s = receiver.stats
    assert s.received == s.accepted + s.unknown + s.rejected


# -- end to end with the fake ---------------------------------------------------------------


@pytest.mark.parametrize("verify", [False, True], ids=["trusted", "verify_callbacks"])
async def test_batch_completes_with_one_request_per_job(flow: FlowSession, fake: FakeFlowServer,
                                                        verify: bool) -> None:
    fake.set_faults(Faults(rules=[FaultRule("moderation", route="POST videos",
                                            probability=0.25)], seed=5))
    receiver = WebhookReceiver()
    async with receiver.serve() as url:
        assert url.startswith("http://127.0.0.1:") and url.endswith(receiver.path)
        assert receiver.url == url
        # resync far beyond every job's duration: callbacks alone must finish the batch
        stats: list[WatcherStats] = []
        outcomes = await _batch(flow, receiver, url, 20, stats, listing_interval=600.0,
                                verify_callbacks=verify)
    assert receiver.url is None
    assert stats[0].notified == 20
    assert stats[0].callback_outcomes == (0 if verify else 20)
    keys = Counter(o.key for o in outcomes)
    assert sorted(keys) == sorted(f"k{i}" for i in range(20))
    assert set(keys.values()) == {1}
    ok = [o for o in outcomes if isinstance(o, JobSucceeded)]
    failed = [o for o in outcomes if isinstance(o, JobFailed)]
    assert ok and failed  # callbacks for both final statuses
    for o in ok:
        assert fake.jobs[o.job.jobid].status == "completed"
        assert o.job.media
    routes = Counter(r.route for r in fake.requests)
    assert routes["POST videos"] == 20
    assert len(fake.jobs) == 20
    # the physical floor: the submit alone — a final callback with the secret path token
    # carries the complete record; verify_callbacks=True adds exactly one GET per job
    if verify:
        assert routes["GET jobs/{jobid}"] == 20
        assert set(_polls_by_job(fake)) == set(fake.jobs)
    else:
        assert routes["GET jobs/{jobid}"] == 0
    assert routes["GET jobs"] <= 2
    # every job reported created/started/final to the receiver; all of them known
    assert receiver.stats.accepted == receiver.stats.received >= 20 * 2
    assert receiver.stats.unknown == receiver.stats.rejected == 0
    _assert_invariant(receiver)


async def test_lost_callbacks_complete_via_resync_listing(flow: FlowSession,
                                                          fake: FakeFlowServer) -> None:
    fake.set_faults("webhook_drop")
    receiver = WebhookReceiver()
    stats: list[WatcherStats] = []
    async with receiver.serve() as url:
        outcomes = await _batch(flow, receiver, url, 20, stats, listing_interval=5.0)
    assert Counter(o.key for o in outcomes) == Counter(f"k{i}" for i in range(20))
    assert all(isinstance(o, JobSucceeded) for o in outcomes)
    assert receiver.stats.received == 0
    assert stats[0].notified == 0  # no callback woke anything: the resync found them all
    assert fake.counters["webhooks_dropped"] >= 20
    routes = Counter(r.route for r in fake.requests)
    assert routes["POST videos"] == 20
    assert max(_polls_by_job(fake).values()) <= 2


async def test_duplicate_callbacks_yield_no_duplicates(flow: FlowSession,
                                                       fake: FakeFlowServer) -> None:
    fake.set_faults("webhook_duplicate")
    receiver = WebhookReceiver()
    async with receiver.serve() as url:
        outcomes = await _batch(flow, receiver, url, 20, listing_interval=600.0)
    assert Counter(o.key for o in outcomes) == Counter(f"k{i}" for i in range(20))
    assert len(fake.jobs) == 20
    # each final callback came twice; the second copy is absorbed, not a second outcome
    # (it may arrive after the watcher finished with the job and detached: "unknown" then)
    assert receiver.stats.duplicates + receiver.stats.unknown == 20
    assert Counter(r.route for r in fake.requests)["GET jobs/{jobid}"] == 0
    _assert_invariant(receiver)


async def test_aiohttp_handler_in_user_app(flow: FlowSession, fake: FakeFlowServer) -> None:
    receiver = WebhookReceiver()
    sub = web.Application()
    sub.router.add_post(receiver.path, receiver.aiohttp_handler)
    app = web.Application()
    app.add_subapp("/hooks", sub)
    async with _site(app) as base:
        url = receiver.url_for(base + "/hooks")
        outcomes = await _batch(flow, receiver, url, 4, listing_interval=600.0)
    assert len({o.key for o in outcomes}) == 4
    assert all(isinstance(o, JobSucceeded) for o in outcomes)
    assert receiver.stats.accepted >= 4


async def test_asgi_app_feeds_a_watcher(flow: FlowSession, fake: FakeFlowServer) -> None:
    receiver = WebhookReceiver()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", _asgi_bridge(receiver.asgi_app, "/hooks"))
    async with _site(app) as base:
        url = receiver.url_for(base + "/hooks")
        outcomes = await _batch(flow, receiver, url, 4, listing_interval=600.0)
    assert all(isinstance(o, JobSucceeded) for o in outcomes)
    assert Counter(r.route for r in fake.requests)["GET jobs/{jobid}"] == 0  # records trusted


async def test_aiohttp_example_app(flow: FlowSession, fake: FakeFlowServer) -> None:
    example = _load_example("webhook_aiohttp")
    seen: dict[str, Any] = {}

    async def drive(app_url: str) -> None:
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{app_url}/generate", json={"prompt": "A fox"}) as resp:
                assert resp.status == 202
                key = (await resp.json())["key"]
            async with http.post(f"{app_url}/generate", data=b"nope") as resp:
                assert resp.status == 400
            for _ in range(400):  # ~120 simulated seconds of generation
                async with http.get(f"{app_url}/results/{key}") as resp:
                    seen.update(await resp.json())
                if seen["status"] != "pending":
                    return
                await anyio.sleep(0.005)

    await example.serve(flow, port=0, until=drive)
    assert seen["status"] == "succeeded", seen
    assert seen["media"] and seen["jobid"] in fake.jobs


# -- HTTP edge cases ------------------------------------------------------------------------


async def test_http_rejections_and_unknown_jobs() -> None:
    receiver = WebhookReceiver(max_body_bytes=4096)
    good = msgspec.json.encode(JOB)
    async with receiver.serve() as url, aiohttp.ClientSession() as http:
        base = url[: -len(receiver.path)]

        async def post(target: str, data: Any = good, **kw: Any) -> int:
            async with http.post(target, data=data, **kw) as resp:
                await resp.read()
                return resp.status

        json_ct = {"Content-Type": "application/json"}
        assert await post(base + CALLBACK_PATH_PREFIX + "x" * 43, headers=json_ct) == 404
        assert await post(base + CALLBACK_PATH_PREFIX, headers=json_ct) == 404
        assert await post(base + "/", headers=json_ct) == 404
        assert await post(url + "x", headers=json_ct) == 404
        async with http.get(url) as resp:
            assert resp.status == 405
            assert resp.headers["Allow"] == "POST"
        for ctype in ("application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                      "application/octet-stream", "text/html"):
            assert await post(url, headers={"Content-Type": ctype}) == 415
        assert await post(url, data=b"x" * 5000, headers=json_ct) == 413

        async def chunked() -> AsyncIterator[bytes]:
            for _ in range(10):
                yield b" " * 1000

        assert await post(url, data=chunked(), headers=json_ct) == 413
        assert await post(url, data=b"{not json", headers=json_ct) == 400
        assert await post(url, data=b"[1, 2]", headers=json_ct) == 400
        assert await post(url, data=b"{}", headers=json_ct) == 400
        assert await post(url, data=b'{"jobid": 5}', headers=json_ct) == 400
        assert receiver.stats.rejected == 15
        # a job nobody here submitted: 202, counted, nothing else happens
        assert await post(url, headers=json_ct) == 202
        # no Content-Type, or JSON labelled text/plain (fetch's default), is tolerated
        assert await post(url, skip_auto_headers=["Content-Type"]) == 202
        assert await post(url, headers={"Content-Type": "text/plain;charset=UTF-8"}) == 202
        assert await post(url, msgspec.json.encode({**JOB, "status": "started"}),
                          headers=json_ct) == 202
    assert receiver.stats.unknown == 4
    assert receiver.stats.accepted == 0
    _assert_invariant(receiver)


class _Stub:
    """A watcher stand-in: records notify() calls, knows the jobs in ``known``."""

    def __init__(self, known: set[str] | None = None, *, fail: bool = False) -> None:
        self.known = known or set()
        self.fail = fail
        self.calls: list[tuple[str, str, int]] = []

    def notify(self, job: Job | str) -> bool:
        assert isinstance(job, Job)
        self.calls.append((job.jobid, job.status, threading.get_ident()))
        if self.fail:
            raise RuntimeError("boom")
        return job.jobid in self.known


async def test_callbacks_offered_to_each_attached_watcher() -> None:
    receiver = WebhookReceiver()
    a, b = _Stub(), _Stub({JOB["jobid"]})
    receiver.attach(a)
    receiver.attach(b)
    receiver.attach(b)  # idempotent
    assert receiver.watchers == (a, b)
    for status in ("created", "started", "completed", "completed", "started"):
        assert (await _asgi(receiver, body={**JOB, "status": status}))[0] == 200
    # out-of-order and duplicate updates reach the watcher (it ignores them); only the
    # repeated final status is absorbed by the receiver
    assert [c[1] for c in b.calls] == ["created", "started", "completed", "started"]
    assert a.calls == b.calls
    assert receiver.stats.duplicates == 1
    receiver.detach(b)
    receiver.detach(b)
    assert (await _asgi(receiver, body={**JOB, "jobid": "other", "status": "failed"}))[0] == 202
    assert receiver.stats.unknown == 1


async def test_a_failing_watcher_never_breaks_the_server(
        caplog: pytest.LogCaptureFixture) -> None:
    receiver = WebhookReceiver()
    receiver.attach(_Stub(fail=True))
    with caplog.at_level(logging.DEBUG, logger="flowapi"):
        status, _, body = await _asgi(receiver, body=JOB)
    assert status == 500
    assert b"boom" not in body
    assert "notify() raised" in caplog.text
    assert receiver.stats.rejected == 1
    # a second watcher that knows the job still gets it, and the answer is 200
    receiver.attach(_Stub({JOB["jobid"]}))
    assert (await _asgi(receiver, body={**JOB, "jobid": JOB["jobid"]}))[0] == 200
    _assert_invariant(receiver)


async def test_callback_on_another_loop_runs_notify_on_the_watchers_loop() -> None:
    receiver = WebhookReceiver()
    stub = _Stub({JOB["jobid"]})
    receiver.attach(stub)  # on this loop
    here = threading.get_ident()

    def other_loop() -> int:
        return asyncio.run(_asgi(receiver, body=JOB))[0]

    assert await anyio.to_thread.run_sync(other_loop) == 200
    assert stub.calls == [(JOB["jobid"], "completed", here)]


# -- a journal: callbacks recorded before the answer (several workers) --------------------


class _Journal(MemoryJournal):
    """A MemoryJournal whose ``record_callback`` can be held back, or made to fail."""

    def __init__(self) -> None:
        super().__init__()
        self.gate: anyio.Event | None = None
        self.fail = False
        self.writes: list[tuple[str, str]] = []

    async def record_callback(self, jobid: str, body: bytes) -> None:
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            raise JournalError("PostgreSQL journal at postgresql://db/x: OperationalError")
        self.writes.append((jobid, decode(Job, body).status))
        await super().record_callback(jobid, body)


class _Checking(_Stub):
    """A stub watcher that checks the callback was recorded before it is offered."""

    def __init__(self, journal: _Journal, known: set[str]) -> None:
        super().__init__(known)
        self.journal = journal

    def notify(self, job: Job | str) -> bool:
        assert isinstance(job, Job)
        assert self.journal.writes[-1] == (job.jobid, job.status), "offered before recorded"
        return super().notify(job)


async def test_receiver_records_every_valid_callback_in_its_journal_first() -> None:
    journal = _Journal()
    receiver = WebhookReceiver(journal=journal)
    assert receiver.journal is journal
    mine = _Checking(journal, {JOB["jobid"]})
    receiver.attach(mine)
    other = {**JOB, "jobid": "j2v-u1-email:a@b.c-bot:google-flow",
             "request": {"replyRef": "flowapi:0123456789abcdef01234567"}}
    for body, expected in [({**JOB, "status": "started"}, 200), (JOB, 200),
                           (JOB, 200),  # a duplicate: absorbed, but still recorded first
                           ({**other, "status": "started"}, 202), (other, 202)]:
        assert (await _asgi(receiver, body=body))[0] == expected
    # rejected requests write nothing
    assert (await _asgi(receiver, path="/hooks/flowapi/webhook/nope", body=JOB))[0] == 404
    assert (await _asgi(receiver, chunks=[b"{}"]))[0] == 400
    assert journal.writes == [(JOB["jobid"], "started"), (JOB["jobid"], "completed"),
                              (JOB["jobid"], "completed"), (other["jobid"], "started"),
                              (other["jobid"], "completed")]
    s = receiver.stats
    assert (s.recorded, s.accepted, s.unknown, s.duplicates, s.rejected) == (5, 3, 2, 1, 2)
    _assert_invariant(receiver)
    # the latest body per job id, decodable as the job record (a watcher reads it back)
    kept = await journal.callbacks()
    assert set(kept) == {JOB["jobid"], other["jobid"]}
    assert decode(Job, kept[other["jobid"]]).reply_ref == other["request"]["replyRef"]
    assert decode(Job, kept[JOB["jobid"]]).status == "completed"
    # the bytes a watcher's notify() would record for a job it does not know, so that a
    # PostgreSQL journal sees no change (and NOTIFYs nobody) on the second write
    assert kept[other["jobid"]] == msgspec.json.encode(decode(Job, msgspec.json.encode(other)))


async def test_receiver_answers_only_after_the_journal_write() -> None:
    journal = _Journal()
    journal.gate = anyio.Event()
    receiver = WebhookReceiver(journal=journal)
    stub = _Stub({JOB["jobid"]})
    receiver.attach(stub)
    result: list[int] = []

    async def call() -> None:
        result.append((await _asgi(receiver, body=JOB))[0])

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(call)
            for _ in range(20):  # let the request run as far as it can
                await anyio.lowlevel.checkpoint()
            assert result == [] and stub.calls == [] and journal.writes == []
            journal.gate.set()
    assert result == [200]
    assert [c[:2] for c in stub.calls] == [(JOB["jobid"], "completed")]


async def test_receiver_answers_500_when_its_journal_fails(
        caplog: pytest.LogCaptureFixture) -> None:
    journal = _Journal()
    journal.fail = True
    receiver = WebhookReceiver(journal=journal)
    token = receiver.path.rsplit("/", 1)[-1]
    stub = _Stub({JOB["jobid"]})
    receiver.attach(stub)
    with caplog.at_level(logging.DEBUG, logger="flowapi"):
        status, _, body = await _asgi(receiver, body=JOB)
    assert status == 500 and body == b'{"error":"internal error"}'
    # this worker's own watcher still heard of it; the sender is asked to deliver it again
    assert [c[:2] for c in stub.calls] == [(JOB["jobid"], "completed")]
    assert (receiver.stats.rejected, receiver.stats.recorded) == (1, 0)
    warning = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warning) == 1 and JOB["jobid"] in warning[0].getMessage()
    assert "OperationalError" in warning[0].getMessage()
    assert token not in caplog.text and "bot:google-flow\"" not in caplog.text
    # the redelivery is recorded and answered normally (not absorbed as a duplicate)
    journal.fail = False
    assert (await _asgi(receiver, body=JOB))[0] == 200
    assert receiver.stats.duplicates == 0 and receiver.stats.recorded == 1
    assert len(stub.calls) == 2
    _assert_invariant(receiver)


async def test_receiver_journal_carries_callbacks_to_another_worker(
        fake: FakeFlowServer, postgres_dsn: str) -> None:
    """Two workers on one PostgresJournal namespace: A submits, every callback goes to B's
    receiver (``journal=``), and A's watcher finishes each job from the recorded record —
    no ``GET /jobs/{jobid}``. (Marked ``postgres`` through its fixture.)"""
    ns = uuid.uuid4().hex
    a_journal = PostgresJournal(postgres_dsn, namespace=ns, lease=3000.0)
    b_journal = PostgresJournal(postgres_dsn, namespace=ns, lease=3000.0)
    receiver_b = WebhookReceiver(journal=b_journal)
    hints: list[str] = []
    n = 6
    try:
        await a_journal.open()
        await b_journal.open()
        a_journal.subscribe(lambda change: hints.append(change.kind))
        async with FlowSession(fake.token, base_url=fake.base_url, clock=fake.clock) as flow, \
                receiver_b.serve() as url_b:
            with anyio.fail_after(60):
                # B's watcher knows none of A's jobs: it only hosts the receiver
                async with flow.watch(mode="webhook", journal=b_journal,
                                      webhook_url=url_b) as watcher_b:
                    receiver_b.attach(watcher_b)
                    async with flow.watch(mode="webhook", journal=a_journal,
                                          webhook_url=url_b,
                                          listing_interval=600.0) as watcher_a:
                        for i in range(n):
                            await watcher_a.submit(VideoParams(prompt=f"cross {i}"),
                                                   key=f"k{i}")
                        watcher_a.close()
                        outcomes = [o async for o in watcher_a]
                    watcher_b.close()
    finally:
        await a_journal.close()
        await b_journal.close()
    assert sorted(o.key for o in outcomes) == [f"k{i}" for i in range(n)]
    assert all(isinstance(o, JobSucceeded) for o in outcomes)
    assert watcher_a.stats.callback_outcomes == n
    assert watcher_a.stats.polls == 0
    assert Counter(r.route for r in fake.requests)["GET jobs/{jobid}"] == 0
    s = receiver_b.stats
    assert s.unknown == s.recorded == s.received >= 2 * n  # created/started/completed
    assert s.accepted == s.rejected == 0
    assert hints.count("callback") >= n  # NOTIFY-ed to A's journal


# -- the ASGI app driven directly ---------------------------------------------------------


async def test_asgi_http_paths_sizes_and_bodies() -> None:
    receiver = WebhookReceiver(max_body_bytes=100)
    receiver.attach(_Stub({JOB["jobid"]}))
    good = msgspec.json.encode(JOB)
    # Starlette >= 0.33 keeps the mount prefix in path and root_path; older ones strip it
    assert (await _asgi(receiver, path="/hooks" + receiver.path, root_path="/hooks",
                        chunks=[good[:10], good[10:]]))[0] == 200
    assert (await _asgi(receiver, path=receiver.path, root_path="/hooks", body=JOB))[0] == 200
    status, headers, body = await _asgi(receiver, path="/hooks/flowapi/webhook/nope")
    assert (status, body) == (404, b"404: Not Found")
    assert (await _asgi(receiver, path="/hooks/flowapi/webhook"))[0] == 404
    status, headers, _ = await _asgi(receiver, method="PUT")
    assert status == 405 and headers[b"allow"] == b"POST"
    assert (await _asgi(receiver, content_type=b"application/x-www-form-urlencoded"))[0] == 415
    assert (await _asgi(receiver, content_type=b"application/vnd.api+json; charset=utf-8",
                        body=JOB))[0] == 200
    assert (await _asgi(receiver, chunks=[b" " * 60, b" " * 60]))[0] == 413
    assert (await _asgi(receiver, body=JOB, content_length=b"1000"))[0] == 413
    assert (await _asgi(receiver, body=JOB, content_length=b"12x"))[0] == 400
    assert (await _asgi(receiver, chunks=[b'{"jobid": ']))[0] == 400
    assert (await _asgi(receiver, chunks=[b"\xff\xfe"]))[0] == 400
    assert receiver.stats.rejected == 9
    _assert_invariant(receiver)


async def test_asgi_disconnect_mid_body_sends_nothing() -> None:
    receiver = WebhookReceiver()
    sent: list[MutableMapping[str, Any]] = []
    messages: Iterator[MutableMapping[str, Any]] = iter([
        {"type": "http.request", "body": b"{", "more_body": True},
        {"type": "http.disconnect"}])

    async def receive() -> MutableMapping[str, Any]:
        return next(messages)

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    await receiver.asgi_app(_scope(receiver.path), receive, send)
    assert sent == []
    assert receiver.stats.rejected == 1


async def test_asgi_lifespan_websocket_and_unknown_scopes() -> None:
    receiver = WebhookReceiver()
    incoming = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> MutableMapping[str, Any]:
        return next(incoming)

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    await receiver.asgi_app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)
    assert [m["type"] for m in sent] == ["lifespan.startup.complete",
                                         "lifespan.shutdown.complete"]
    sent.clear()
    await receiver.asgi_app({"type": "websocket", "path": receiver.path}, receive, send)
    assert sent == [{"type": "websocket.close", "code": 1008}]
    with pytest.raises(ValueError, match="unsupported ASGI scope"):
        await receiver.asgi_app({"type": "telepathy"}, receive, send)
    assert receiver.stats.received == 0


# -- serving, URLs, secrets ---------------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "example.com", ""])
async def test_non_loopback_bind_refused(host: str) -> None:
    receiver = WebhookReceiver()
    with pytest.raises(ValueError, match="non-loopback"):
        async with receiver.serve(host=host):
            pytest.fail("must not serve")
    assert receiver.url is None


async def test_public_bind_needs_explicit_opt_in_and_public_url() -> None:
    receiver = WebhookReceiver()
    with pytest.raises(ValueError, match="public_url"):
        async with receiver.serve(host="0.0.0.0", allow_public=True):
            pytest.fail("must not serve")
    async with receiver.serve(public_url="https://hooks.example.com/base/") as url:
        assert url == "https://hooks.example.com/base" + receiver.path


async def test_loopback_hosts() -> None:
    receiver = WebhookReceiver()
    receiver.attach(_Stub({JOB["jobid"]}))
    async with receiver.serve(host="localhost") as url, aiohttp.ClientSession() as http:
        assert url.startswith("http://localhost:")
        async with http.post(url, json=JOB) as resp:
            assert resp.status == 200
    try:
        async with receiver.serve(host="::1") as url:
            assert url.startswith("http://[::1]:")
    except OSError:  # no IPv6 on this host
        pass


def test_token_and_url_validation() -> None:
    assert len(WebhookReceiver().path) == len(CALLBACK_PATH_PREFIX) + 43
    assert WebhookReceiver().path != WebhookReceiver().path
    fixed = WebhookReceiver(token="A" * 16)
    assert fixed.path == CALLBACK_PATH_PREFIX + "A" * 16
    for bad in ("short", "a/b" * 8, "ü" * 20, "x" * 257):
        with pytest.raises(ValueError, match="token"):
            WebhookReceiver(token=bad)
    with pytest.raises(ValueError, match="max_body_bytes"):
        WebhookReceiver(max_body_bytes=0)
    for base in ("ftp://x", "/relative", "https://x/?q=1", "https://x/#f", "not a url",
                 "https://x/" + "a" * 1000):
        with pytest.raises(ValueError, match="URL"):
            fixed.url_for(base)
    assert fixed.url_for("https://x.example/hooks/") == "https://x.example/hooks" + fixed.path


async def test_secret_token_never_logged(flow: FlowSession, fake: FakeFlowServer,
                                         caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    receiver = WebhookReceiver()
    token = receiver.path.rsplit("/", 1)[-1]
    assert token not in repr(receiver)
    async with receiver.serve() as url, aiohttp.ClientSession() as http:
        assert token not in repr(receiver)
        outcomes = await _batch(flow, receiver, url, 3, listing_interval=600.0)
        json_ct = {"Content-Type": "application/json"}
        for data in (b"{bad", b"{}", msgspec.json.encode(JOB)):
            async with http.post(url, data=data, headers=json_ct) as resp:
                await resp.read()
        async with http.get(url) as resp:
            await resp.read()
        async with http.post(url[:-3] + "abc", data=b"{}") as resp:  # near-miss token
            await resp.read()
    assert len(outcomes) == 3
    assert receiver.stats.rejected == 4 and receiver.stats.unknown == 1
    assert caplog.records  # the receiver did log its decisions
    assert any(r.name == "flowapi.webhooks" for r in caplog.records)
    for secret in (token, token[:-3], fake.token):
        assert secret not in caplog.text
        assert all(secret not in r.getMessage() for r in caplog.records)


# -- helpers ------------------------------------------------------------------------------


class _site:  # used like a function
    """Serve an aiohttp app on loopback; yields its base URL."""

    def __init__(self, app: web.Application) -> None:
        self.runner = web.AppRunner(app, access_log=None)

    async def __aenter__(self) -> str:
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        return f"http://127.0.0.1:{self.runner.addresses[0][1]}"

    async def __aexit__(self, *exc: object) -> None:
        await self.runner.cleanup()


def _scope(path: str, *, method: str = "POST", root_path: str = "",
           headers: list[tuple[bytes, bytes]] | None = None) -> dict[str, Any]:
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
            "root_path": root_path, "query_string": b"", "headers": headers or [],
            "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 2)}


async def _asgi(receiver: WebhookReceiver, *, path: str | None = None, method: str = "POST",
                root_path: str = "", body: dict[str, Any] | None = None,
                chunks: list[bytes] | None = None,
                content_type: bytes | None = b"application/json",
                content_length: bytes | None = None,
                ) -> tuple[int, dict[bytes, bytes], bytes]:
    """Drive ``receiver.asgi_app`` with a minimal scope/receive/send."""
    if chunks is None:
        chunks = [msgspec.json.encode(body if body is not None else JOB)]
    headers = []
    if content_type is not None:
        headers.append((b"content-type", content_type))
    if content_length is not None:
        headers.append((b"content-length", content_length))
    pending = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
               for i, c in enumerate(chunks)]
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> MutableMapping[str, Any]:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = _scope(receiver.path if path is None else path, method=method,
                   root_path=root_path, headers=headers)
    await receiver.asgi_app(scope, receive, send)
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    out_headers = dict(sent[0]["headers"])
    assert int(out_headers[b"content-length"]) == len(sent[1]["body"])
    return sent[0]["status"], out_headers, sent[1]["body"]


def _asgi_bridge(app: Callable[..., Awaitable[None]], root_path: str
                 ) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A tiny ASGI server inside an aiohttp handler (what uvicorn + a Mount would do)."""
    async def handler(request: web.Request) -> web.Response:
        body = await request.read()
        messages = [{"type": "http.request", "body": body, "more_body": False}]
        sent: list[MutableMapping[str, Any]] = []

        async def receive() -> MutableMapping[str, Any]:
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message: MutableMapping[str, Any]) -> None:
            sent.append(message)

        headers = [(k.lower().encode("latin-1"), v.encode("latin-1"))
                   for k, v in request.headers.items()]
        await app(_scope(request.path, method=request.method, root_path=root_path,
                         headers=headers), receive, send)
        return web.Response(status=sent[0]["status"], body=sent[1]["body"])

    return handler


def _load_example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module
