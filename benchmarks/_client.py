"""One benchmark scenario in its own process: ``python -m benchmarks._client SPEC_JSON``.

Runs one client (our watcher in a mode, or a baseline) against a FakeFlowServer that runs
in another process, on a :class:`~flowapi._clock.ScaledClock` sharing the fake's
``time_scale`` and ``anchor``; prints one JSON line: every outcome as ``[key, jobid,
yielded_at, ok]`` (simulated Unix seconds), the client's CPU seconds
(``time.process_time``) and peak RSS (``getrusage``) of this process, and counters. A
separate process per scenario keeps CPU and RSS figures clean of other scenarios.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import anyio._backends._asyncio  # import time is not client CPU (anyio imports it lazily)

import flowapi
from flowapi import FlowSession, JobSucceeded, VideoParams
from flowapi._clock import ScaledClock
from flowapi.types.jobs import Job

from . import _workload

Record = Callable[[str, str | None, bool], None]


def _rss_mb() -> float:
    """Peak RSS of this process image, MB: ``VmHWM`` from ``/proc/self/status``.

    ``getrusage(RUSAGE_SELF).ru_maxrss`` is not used as the figure: on Linux it keeps the
    high-water mark of the process image before ``exec``, i.e. of the (large) benchmark
    orchestrator this client was forked from. It is the fallback where ``/proc`` is
    missing.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return _maxrss_mb()


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class Run:
    """Collects outcomes and timings of one scenario."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.n: int = spec["n"]
        self.clock = ScaledClock(spec["time_scale"], anchor=spec["anchor"])
        self.base: str = spec["base_url"]
        self.token: str = spec["token"]
        self.models = _workload.models(self.n)
        self.outcomes: list[tuple[str, str | None, float, bool]] = []
        self.extra: dict[str, Any] = {}

    def record(self, key: str, jobid: str | None, ok: bool) -> None:
        self.outcomes.append((key, jobid, self.clock.time(), ok))

    def sim_sleep(self, seconds: float) -> Any:
        return asyncio.sleep(seconds * self.clock.time_scale)


# -- ours ------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _webhook_url(run: Run) -> AsyncIterator[tuple[str | None, Any]]:
    """``(url, attach)`` of a ``flowapi.webhooks.WebhookReceiver``, or ``(None, reason)``."""
    try:
        from flowapi import webhooks
    except ImportError as exc:
        yield None, f"flowapi.webhooks is not importable ({exc})"
        return
    receiver_cls = getattr(webhooks, "WebhookReceiver", None)
    if receiver_cls is None:
        yield None, "flowapi.webhooks has no WebhookReceiver"
        return
    receiver = receiver_cls()
    async with receiver.serve() as url:  # loopback, ephemeral port, secret path token
        yield str(url), receiver.attach


@contextlib.asynccontextmanager
async def _standin_webhook(run: Run) -> AsyncIterator[tuple[str, Any]]:
    """A minimal aiohttp receiver feeding ``watcher.notify`` (used only when
    ``flowapi.webhooks`` does not exist; labelled as a stand-in in the results)."""
    import msgspec
    from aiohttp import web

    decoder = msgspec.json.Decoder(Job)
    target: list[Any] = []

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        try:
            job = decoder.decode(body)
        except msgspec.MsgspecError:
            return web.Response(status=400)
        if target:
            target[0].notify(job)
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook/secret-token", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/hook/secret-token", target.append
    finally:
        await runner.cleanup()


async def run_ours(run: Run) -> None:
    """``flow.watch(max_in_flight=N, mode=...)`` with the spec's ``watch`` options
    (``verify_callbacks``; ``journal: "sqlite"`` → a :class:`~flowapi.SqliteJournal` in a
    temporary directory, else the default in-memory journal)."""
    mode = run.spec["mode"]
    n = run.n
    options: dict[str, Any] = dict(run.spec.get("watch") or {})
    params = [VideoParams(prompt=_workload.prompt(i), model=m) for i, m in enumerate(run.models)]
    async with contextlib.AsyncExitStack() as stack:
        url: str | None = None
        attach: Any = None
        if mode == "webhook":
            url, attach = await stack.enter_async_context(_webhook_url(run))
            if url is None:
                if not run.spec.get("standin"):
                    run.extra["skipped"] = attach
                    return
                run.extra["receiver"] = "stand-in (benchmarks/_client.py)"
                url, attach = await stack.enter_async_context(_standin_webhook(run))
            else:
                run.extra["receiver"] = "flowapi.webhooks.WebhookReceiver"
        if options.get("journal") == "sqlite":
            tmp = stack.enter_context(tempfile.TemporaryDirectory())
            options["journal"] = str(Path(tmp) / "bench.sqlite")
        flow = await stack.enter_async_context(FlowSession(
            run.token, base_url=run.base, clock=run.clock, connection_limit=64))
        run.extra["t_start"] = run.clock.time()
        watcher = await stack.enter_async_context(flow.watch(
            max_in_flight=n, mode=mode, webhook_url=url, **options))
        if attach is not None:
            attach(watcher)

        async def feed() -> None:
            for i, p in enumerate(params):
                await watcher.submit(p, key=str(i))
            watcher.close()

        async with anyio.create_task_group() as tg:
            tg.start_soon(feed)
            async for outcome in watcher:
                run.record(outcome.key, outcome.jobid, isinstance(outcome, JobSucceeded))
        st = watcher.stats
        run.extra["stats"] = {k: getattr(st, k, None) for k in (
            "submitted", "accepted", "succeeded", "failed", "polls", "listings",
            "listing_failures", "fallbacks", "backstops", "accounts_read", "notified",
            "callback_outcomes")}
        run.extra["requests_sent"] = flow.transport.requests_sent


# -- baselines -------------------------------------------------------------------------


async def run_naive(run: Run) -> None:
    """Baseline A: one task per job (``asyncio.gather``), plain aiohttp; submit, then
    ``GET /jobs/{jobid}`` every ``interval`` simulated seconds until finished."""
    interval: float = run.spec["interval"]
    headers = {"Authorization": f"Bearer {run.token}"}

    async with aiohttp.ClientSession() as s:
        async def one(i: int, model: str) -> None:
            while True:
                async with s.post(run.base + "videos", json=_workload.body(i, model),
                                  headers=headers) as r:
                    body = await r.json(content_type=None)
                    if r.status == 201:
                        break
                await run.sim_sleep(interval)
            jobid = body["jobid"]
            while True:
                await run.sim_sleep(interval)
                async with s.get(run.base + "jobs/" + jobid, headers=headers) as r:
                    job = await r.json(content_type=None)
                if r.status == 200 and job.get("status") in ("completed", "failed"):
                    run.record(str(i), jobid, job["status"] == "completed")
                    return

        run.extra["t_start"] = run.clock.time()
        await asyncio.gather(*(one(i, m) for i, m in enumerate(run.models)))


async def run_vendor(run: Run) -> None:
    """Baseline B: the vendor's sample script (article "Veo 3.1 via Google Flow API",
    google-flow.mjs): GET accounts once, submit every prompt sequentially (429/503 → wait
    30 s and retry), then walk the job list in order, polling each job until it finishes
    with a 15 s pause between polls."""
    headers = {"Authorization": f"Bearer {run.token}", "Accept": "application/json"}
    async with aiohttp.ClientSession() as s:
        run.extra["t_start"] = run.clock.time()
        async with s.get(run.base + "accounts", headers=headers) as r:
            await r.read()
        ids: list[tuple[int, str]] = []
        for i, model in enumerate(run.models):
            while True:
                async with s.post(run.base + "videos", json=_workload.body(i, model),
                                  headers=headers) as r:
                    body = await r.json(content_type=None)
                    status = r.status
                if status in (429, 503):
                    await run.sim_sleep(30)
                    continue
                break
            if status == 201:
                ids.append((i, body["jobid"]))
        run.extra["t_submitted"] = run.clock.time()
        for i, jobid in ids:
            while True:
                async with s.get(run.base + "jobs/" + jobid, headers=headers) as r:
                    job = await r.json(content_type=None)
                    ok = r.status == 200
                if not ok:
                    break
                if job.get("status") in ("completed", "failed"):
                    run.record(str(i), jobid, job["status"] == "completed")
                    break
                await run.sim_sleep(15)


SCENARIOS = {"ours": run_ours, "naive": run_naive, "vendor": run_vendor}


def main() -> None:
    spec = json.loads(sys.argv[1])
    run = Run(spec)
    rss_start = _rss_mb()
    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    error = None
    try:
        asyncio.run(SCENARIOS[spec["kind"]](run))
    except Exception as exc:  # reported, not raised: the harness prints it
        error = f"{type(exc).__name__}: {exc}"
    result = {
        "outcomes": run.outcomes,
        "cpu_s": time.process_time() - cpu0,
        "wall_s": time.perf_counter() - wall0,
        "rss_start_mb": rss_start,
        "rss_peak_mb": _rss_mb(),
        "ru_maxrss_mb": _maxrss_mb(),
        "error": error,
        "flowapi": flowapi.__version__,
        **run.extra,
    }
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
