"""An aiohttp web app that generates videos and learns their results from webhooks.

    python examples/webhook_aiohttp.py [PORT]          # default 8080

    curl -s -XPOST localhost:8080/generate -d '{"prompt": "A fox in snow"}'
    curl -s localhost:8080/results/<key>

Routes:

* ``POST /generate`` ``{"prompt": "...", "model": "veo-3.1-lite"?}`` → 202 ``{"key": ...}``;
  the prompt goes through one shared JobWatcher in ``mode="webhook"``;
* ``GET /results/{key}`` → ``{"status": "pending" | "succeeded" | "failed", ...}``;
* ``POST /flowapi/webhook/<secret>`` ← the API's ``replyUrl`` callbacks
  (``WebhookReceiver.aiohttp_handler``); they wake the watcher, which re-reads the job.

Without ``USEAPI_TOKEN`` it runs against an embedded FakeFlowServer (simulated time 50x
faster), so it works anywhere. With a token, useapi.net must be able to reach the callback
URL: set ``PUBLIC_URL`` to the public base of a tunnel or reverse proxy in front of this
app (e.g. ``https://abc.ngrok.app``). Without it callbacks cannot arrive, and results come
from the watcher's slow listing resync instead (every 30 s).
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack, suppress
from dataclasses import dataclass, field
from typing import Any

import anyio
import msgspec
from aiohttp import web

import flowapi
from flowapi.testing import FakeFlowServer
from flowapi.webhooks import WebhookReceiver


@dataclass
class State:
    """Shared by the handlers: the watcher (set once it runs) and the results by key."""

    watcher: flowapi.JobWatcher | None = None
    results: dict[str, dict[str, Any]] = field(default_factory=dict)


STATE = web.AppKey("state", State)


def describe(outcome: flowapi.Outcome) -> dict[str, Any]:
    """What GET /results/{key} shows for a finished job."""
    match outcome:
        case flowapi.JobSucceeded(job=job):
            return {"status": "succeeded", "jobid": job.jobid,
                    "media": [item.url for item in job.media]}
        case flowapi.JobFailed(error=error, jobid=jobid):
            return {"status": "failed", "jobid": jobid, "error": str(error)}
    raise AssertionError(outcome)


async def generate(request: web.Request) -> web.Response:
    try:
        body = msgspec.json.decode(await request.read())
        prompt = body["prompt"]
        model = body.get("model", "veo-3.1-lite")
    except (msgspec.DecodeError, KeyError, TypeError, AttributeError):
        return web.json_response({"error": 'POST {"prompt": "..."}'}, status=400)
    state = request.app[STATE]
    if state.watcher is None:
        return web.json_response({"error": "starting up"}, status=503)
    key = uuid.uuid4().hex
    state.results[key] = {"status": "pending", "prompt": prompt}
    # waits while max_in_flight jobs are pending: back-pressure reaches the HTTP client
    await state.watcher.submit(flowapi.VideoParams(prompt=prompt, model=model),
                                      key=key, tag=prompt)
    return web.json_response({"key": key}, status=202)


async def result(request: web.Request) -> web.Response:
    found = request.app[STATE].results.get(request.match_info["key"])
    if found is None:
        return web.json_response({"error": "unknown key"}, status=404)
    return web.json_response(found)


async def collect(watcher: flowapi.JobWatcher, results: dict[str, Any]) -> None:
    async for outcome in watcher:  # each submission's outcome, exactly once
        results[outcome.key] = {**results.get(outcome.key, {}), **describe(outcome)}


async def serve(flow: flowapi.FlowSession, *, port: int = 8080, public_url: str | None = None,
                until: Callable[[str], Awaitable[None]] | None = None) -> None:
    """Run the app on ``127.0.0.1:port`` until Ctrl-C (or until ``until(app_url)`` returns;
    the tests use that)."""
    receiver = WebhookReceiver()
    state = State()
    app = web.Application()
    app[STATE] = state
    app.router.add_post("/generate", generate)
    app.router.add_get("/results/{key}", result)
    app.router.add_post(receiver.path, receiver.aiohttp_handler)
    runner = web.AppRunner(app, access_log=None)  # access logs would print the secret path
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", port).start()
        app_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        webhook_url = receiver.url_for(public_url or app_url)
        async with flow.watch(mode="webhook", webhook_url=webhook_url,
                              max_in_flight=32) as watcher, anyio.create_task_group() as tg:
            receiver.attach(watcher)
            state.watcher = watcher
            tg.start_soon(collect, watcher, state.results)
            print(f"listening on {app_url} (POST /generate, GET /results/<key>)", flush=True)
            if until is None:
                await anyio.sleep_forever()
            else:
                await until(app_url)
            tg.cancel_scope.cancel()
    finally:
        await runner.cleanup()


async def main(port: int) -> None:
    async with AsyncExitStack() as stack:
        public_url = os.environ.get("PUBLIC_URL")
        if os.environ.get("USEAPI_TOKEN"):
            flow = await stack.enter_async_context(flowapi.FlowSession())
            if not public_url:
                print("warning: PUBLIC_URL is unset; useapi.net cannot reach 127.0.0.1, so "
                      "results arrive only with the 30 s listing resync", file=sys.stderr)
        else:
            fake = await stack.enter_async_context(FakeFlowServer(time_scale=0.02))
            flow = await stack.enter_async_context(
                flowapi.FlowSession(fake.token, base_url=fake.base_url, clock=fake.clock))
            print(f"no USEAPI_TOKEN: using an embedded FakeFlowServer at {fake.base_url}")
        await serve(flow, port=port, public_url=public_url)


if __name__ == "__main__":
    with suppress(KeyboardInterrupt):
        anyio.run(main, int(sys.argv[1]) if len(sys.argv) > 1 else 8080)
