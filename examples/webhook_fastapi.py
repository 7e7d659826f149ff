"""A FastAPI app that generates videos and learns their results from webhooks.

    pip install fastapi uvicorn
    python examples/webhook_fastapi.py [PORT]          # default 8000

    curl -s -XPOST localhost:8000/generate -H 'content-type: application/json' \\
         -d '{"prompt": "A fox in snow"}'
    curl -s localhost:8000/results/<key>

Routes:

* ``POST /generate`` ``{"prompt": "...", "model": "veo-3.1-lite"}`` → 202 ``{"key": ...}``;
  the prompt goes through one shared JobWatcher in ``mode="webhook"``;
* ``GET /results/{key}`` → ``{"status": "pending" | "succeeded" | "failed", ...}``;
* ``/hooks/flowapi/webhook/<secret>`` ← the API's ``replyUrl`` callbacks: the
  ``WebhookReceiver.asgi_app`` mounted at ``/hooks``; they wake the watcher, which
  re-reads the job.

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
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import uvicorn
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

import flowapi
from flowapi.testing import FakeFlowServer
from flowapi.webhooks import WebhookReceiver

PORT = int(sys.argv[1]) if __name__ == "__main__" and len(sys.argv) > 1 else 8000
APP_URL = os.environ.get("PUBLIC_URL") or f"http://127.0.0.1:{PORT}"
"""Where the API reaches this app: a tunnel / proxy in production, loopback for the fake."""


@dataclass
class State:
    """The shared watcher (set while the app runs) and the results by key."""

    watcher: flowapi.JobWatcher | None = None
    results: dict[str, dict[str, Any]] = field(default_factory=dict)


receiver = WebhookReceiver()
state = State()


def describe(outcome: flowapi.Outcome) -> dict[str, Any]:
    """What GET /results/{key} shows for a finished job."""
    match outcome:
        case flowapi.JobSucceeded(job=job):
            return {"status": "succeeded", "jobid": job.jobid,
                    "media": [item.url for item in job.media]}
        case flowapi.JobFailed(error=error, jobid=jobid):
            return {"status": "failed", "jobid": jobid, "error": str(error)}
    raise AssertionError(outcome)


async def collect(watcher: flowapi.JobWatcher) -> None:
    async for outcome in watcher:  # each submission's outcome, exactly once
        state.results[outcome.key] = {**state.results.get(outcome.key, {}),
                                      **describe(outcome)}


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with AsyncExitStack() as stack:
        if os.environ.get("USEAPI_TOKEN"):
            flow = await stack.enter_async_context(flowapi.FlowSession())
            if not os.environ.get("PUBLIC_URL"):
                print("warning: PUBLIC_URL is unset; useapi.net cannot reach 127.0.0.1, so "
                      "results arrive only with the 30 s listing resync", file=sys.stderr)
        else:
            fake = await stack.enter_async_context(FakeFlowServer(time_scale=0.02))
            flow = await stack.enter_async_context(
                flowapi.FlowSession(fake.token, base_url=fake.base_url, clock=fake.clock))
            print(f"no USEAPI_TOKEN: using an embedded FakeFlowServer at {fake.base_url}")
        webhook_url = receiver.url_for(APP_URL + "/hooks")  # where asgi_app is mounted
        watcher = await stack.enter_async_context(
            flow.watch(mode="webhook", webhook_url=webhook_url, max_in_flight=32))
        stack.enter_context(receiver.attach(watcher))  # detached again on shutdown
        tg = await stack.enter_async_context(anyio.create_task_group())
        tg.start_soon(collect, watcher)
        state.watcher = watcher
        try:
            yield
        finally:
            state.watcher = None
            tg.cancel_scope.cancel()


app = FastAPI(lifespan=lifespan)
app.mount("/hooks", receiver.asgi_app)


class GenerateRequest(BaseModel):
    prompt: str
    model: str = "veo-3.1-lite"


@app.post("/generate", status_code=202)
async def generate(body: GenerateRequest) -> dict[str, str]:
    if state.watcher is None:
        raise HTTPException(503, "starting up")
    key = uuid.uuid4().hex
    state.results[key] = {"status": "pending", "prompt": body.prompt}
    # waits while max_in_flight jobs are pending: back-pressure reaches the HTTP client
    await state.watcher.submit(flowapi.VideoParams(prompt=body.prompt, model=body.model),
                               key=key, tag=body.prompt)
    return {"key": key}


@app.get("/results/{key}")
async def result(key: str) -> dict[str, Any]:
    found = state.results.get(key)
    if found is None:
        raise HTTPException(404, "unknown key")
    return found


if __name__ == "__main__":
    # access_log=False: uvicorn's access log would print the secret callback path
    uvicorn.run(app, host="127.0.0.1", port=PORT, access_log=False)
