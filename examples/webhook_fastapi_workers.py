"""A FastAPI app on several worker processes: a request on one worker awaits a job whose
callback lands on another (a shared PostgreSQL journal carries it across).

    pip install 'useapi-google-flow[postgres]' fastapi uvicorn
    export FLOWAPI_JOURNAL='postgresql://user@db-host/app?namespace=webapp'
    export FLOWAPI_WEBHOOK_TOKEN="$(python -c 'import secrets; print(secrets.token_urlsafe(32))')"
    export PUBLIC_URL=https://abc.ngrok.app      # where useapi.net reaches this app
    export USEAPI_TOKEN=user:...                 # or a fake-server, see below
    uvicorn examples.webhook_fastapi_workers:app --workers 2 --port 8000 --no-access-log
    # or: python examples/webhook_fastapi_workers.py --workers 2 --port 8000

    curl -s -XPOST localhost:8000/generate -H 'content-type: application/json' \\
         -d '{"prompt": "A fox in snow"}'     # answers when the video is done

Without an account, run ``flowapi fake-server --port 8787`` and export the two lines it
prints (``FLOWAPI_BASE_URL``, ``USEAPI_TOKEN``); the session then follows the fake's clock,
and ``PUBLIC_URL`` may stay at its default ``http://127.0.0.1:8000``.

Each worker process has one ``FlowSession``, one ``PostgresJournal`` and one webhook-mode
``JobWatcher`` on it, and mounts a ``WebhookReceiver(journal=...)`` at ``/hooks``. A
callback for a job of the *other* worker is recorded in the journal before it is answered;
the journal ``NOTIFY``-s every worker, and the job's own watcher takes the outcome from the
recorded job record — no extra API request. All workers must share the webhook token
(``FLOWAPI_WEBHOOK_TOKEN``: the callback URL carries it, and any worker may receive it;
the ``python`` launcher makes one up when it is unset).

Routes:

* ``POST /generate`` ``{"prompt": "...", "model": "veo-3.1-lite"}`` → when the job is done,
  ``{"jobid", "worker", "status", "media", ...}`` (``worker``: the pid that served it);
* ``GET /healthz`` → ``{"worker": pid, "receiver": {...}, "watcher": {...}}`` (counters);
* ``/hooks/flowapi/webhook/<token>`` ← the API's ``replyUrl`` callbacks.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import uvicorn
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

import flowapi
from flowapi.journal import PostgresJournal
from flowapi.webhooks import WebhookReceiver

if __name__ == "__main__":  # the python launcher: its workers inherit one made-up token
    os.environ.setdefault("FLOWAPI_WEBHOOK_TOKEN", secrets.token_urlsafe(32))


def required(name: str) -> str:
    """An environment variable this app cannot run without."""
    value = os.environ.get(name)
    if not value:
        raise SystemExit(f"set {name} (see the docstring of {__file__})")
    return value


PUBLIC_URL = os.environ.get("PUBLIC_URL") or "http://127.0.0.1:8000"
"""Where the API reaches this app (all workers listen behind it)."""

journal = PostgresJournal(required("FLOWAPI_JOURNAL"))  # ?namespace=... in the URL
receiver = WebhookReceiver(token=required("FLOWAPI_WEBHOOK_TOKEN"), journal=journal)
waiting: dict[str, asyncio.Future[flowapi.Outcome]] = {}  # key → the request awaiting it
watchers: list[flowapi.JobWatcher] = []  # this worker's watcher while the app runs


async def deliver(watcher: flowapi.JobWatcher) -> None:
    """Hand each outcome (exactly once) to the request awaiting its key."""
    async for outcome in watcher:
        future = waiting.get(outcome.key)
        if future is not None and not future.done():
            future.set_result(outcome)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with AsyncExitStack() as stack:
        flow = await stack.enter_async_context(flowapi.FlowSession())
        await journal.open()
        stack.push_async_callback(journal.close)
        watcher = await stack.enter_async_context(flow.watch(
            mode="webhook", journal=journal, max_in_flight=64, job_timeout=1800,
            webhook_url=receiver.url_for(PUBLIC_URL + "/hooks")))
        stack.enter_context(receiver.attach(watcher))
        tg = await stack.enter_async_context(anyio.create_task_group())
        tg.start_soon(deliver, watcher)
        watchers.append(watcher)
        try:
            yield
        finally:
            watchers.clear()
            tg.cancel_scope.cancel()


app = FastAPI(lifespan=lifespan)
app.mount("/hooks", receiver.asgi_app)


class GenerateRequest(BaseModel):
    prompt: str
    model: str = "veo-3.1-lite"


@app.post("/generate")
async def generate(body: GenerateRequest) -> dict[str, Any]:
    if not watchers:
        raise HTTPException(503, "starting up")
    key = uuid.uuid4().hex
    waiting[key] = future = asyncio.get_running_loop().create_future()
    try:
        await watchers[0].submit(flowapi.VideoParams(prompt=body.prompt, model=body.model),
                                 key=key, tag=body.prompt)
        outcome = await future  # its callback may land on any worker
    finally:
        waiting.pop(key, None)
    answer: dict[str, Any] = {"key": key, "prompt": body.prompt, "worker": os.getpid()}
    match outcome:
        case flowapi.JobSucceeded(job=job):
            return {**answer, "status": "succeeded", "jobid": job.jobid,
                    "media": [item.url for item in job.media]}
        case flowapi.JobFailed(error=error, jobid=jobid):
            return {**answer, "status": "failed", "jobid": jobid, "error": str(error)}
    raise AssertionError(outcome)


@app.get("/healthz")
async def healthz() -> dict[str, Any]:
    stats = watchers[0].stats if watchers else None
    return {"worker": os.getpid(), "receiver": dataclasses.asdict(receiver.stats),
            "watcher": {"callback_outcomes": stats.callback_outcomes, "polls": stats.polls,
                        "succeeded": stats.succeeded, "failed": stats.failed}
            if stats is not None else None}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="the multi-worker webhook example")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    os.environ.setdefault("PUBLIC_URL", f"http://127.0.0.1:{args.port}")
    # an import string, so that each worker process builds its own app; no access log:
    # it would print the secret callback path
    uvicorn.run("webhook_fastapi_workers:app", app_dir=str(Path(__file__).resolve().parent),
                host=args.host, port=args.port, workers=args.workers, access_log=False)
