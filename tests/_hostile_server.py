"""A tiny scriptable aiohttp server on loopback for transport-hardening tests (issue 11).

``hostile_api(handler)`` serves every path with ``handler`` and yields the base URL of a
``/v1/google-flow/`` API on it; the handler may answer, stall, trickle or reset. Requests
are recorded in ``server.requests`` (method, path, headers).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class HostileServer:
    """A running tiny server: ``base_url`` (API base) and ``origin`` (``http://127.0.0.1:P``)."""

    origin: str
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"{self.origin}/v1/google-flow/"

    def count(self, method: str, path_suffix: str) -> int:
        return sum(1 for m, p, _ in self.requests if m == method and p.endswith(path_suffix))


@asynccontextmanager
async def hostile_api(handler: Handler, host: str = "127.0.0.1") -> AsyncIterator[HostileServer]:
    server = HostileServer(origin="")

    async def record(request: web.Request) -> web.StreamResponse:
        server.requests.append((request.method, request.path, dict(request.headers)))
        return await handler(request)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, 0)
    await site.start()
    port = runner.addresses[0][1]
    server.origin = f"http://{host}:{port}"
    try:
        yield server
    finally:
        await runner.cleanup()
