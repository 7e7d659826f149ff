"""A tiny server that answers each path with a canned (status, JSON body), so documented
responses can be replayed through the public session API (the whole stack: transport,
status → error class, decoding)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from flowapi import FlowSession, RetryPolicy

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "spec"


class Replay:
    """``replay.set(path, body, status)``; ``replay.hits`` counts requests per path."""

    def __init__(self) -> None:
        self.replies: dict[str, tuple[int, bytes]] = {}
        self.hits: dict[str, int] = {}
        self.seen: list[tuple[str, str, dict[str, str], dict[str, str], bytes]] = []
        """(method, path, query, headers, body) of every request."""

    def set(self, path: str, body: Any, status: int = 200) -> None:
        self.replies[path] = (status, json.dumps(body).encode())

    def fixture(self, path: str, name: str) -> None:
        """Answer ``path`` with ``tests/fixtures/spec/{name}.json`` and its status."""
        self.replies[path] = (int(name.split("__")[1]), (FIXTURES / f"{name}.json").read_bytes())

    async def handle(self, request: web.Request) -> web.Response:
        path = request.path.split("/v1/google-flow/", 1)[1]
        self.hits[path] = self.hits.get(path, 0) + 1
        self.seen.append((request.method, path, dict(request.query), dict(request.headers),
                          await request.read()))
        status, body = self.replies[path]
        return web.Response(status=status, body=body, content_type="application/json")


@pytest.fixture
async def replay() -> AsyncIterator[tuple[Replay, FlowSession]]:
    server = Replay()
    app = web.Application()
    app.router.add_route("*", "/v1/google-flow/{tail:.*}", server.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}/v1/google-flow/"
    try:
        async with FlowSession("user:1-replay-token", base_url=base,
                               retry=RetryPolicy(attempts=3, max_inline_wait=0.0)) as session:
            yield server, session
    finally:
        await runner.cleanup()
