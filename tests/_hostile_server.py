"""A tiny scriptable aiohttp server on loopback for transport-hardening tests (issue 11).

``hostile_api(handler)`` serves every path with ``handler`` and yields the base URL of a
``/v1/google-flow/`` API on it; the handler may answer, stall, trickle or reset. Requests
are recorded in ``server.requests`` (method, path, headers).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
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
        if request.path == "/_fake/clock":  # a loopback session asks whether it is a fake
            return web.Response(status=404)
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


RawHandler = Callable[["asyncio.StreamReader", "asyncio.StreamWriter"], Awaitable[None]]


@asynccontextmanager
async def raw_tcp(handler: RawHandler) -> AsyncIterator[str]:
    """A raw TCP server on loopback (for garbage HTTP); yields ``http://127.0.0.1:P``."""
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


async def read_request(reader: asyncio.StreamReader) -> bytes:
    """Read one request head (up to the blank line)."""
    return await reader.readuntil(b"\r\n\r\n")


def reachable(root: object, *, depth: int = 8) -> list[str]:
    """Every string reachable from ``root``: ``str``/``repr`` of each object, exception
    chains (``__cause__``, ``__context__``), ``args``, attributes (``__dict__`` and slots),
    mappings and sequences — what a caller can reach from an exception."""
    seen: set[int] = set()
    out: list[str] = []

    def walk(obj: object, level: int) -> None:
        if level > depth or id(obj) in seen:
            return
        seen.add(id(obj))
        if isinstance(obj, (str, bytes)):
            out.append(obj if isinstance(obj, str) else obj.decode("latin-1"))
            return
        if obj is None or isinstance(obj, (int, float, bool, type)) or (callable(obj) \
                and not isinstance(obj, BaseException)):
            return
        try:
            out.append(str(obj))
            out.append(repr(obj))
        except Exception:
            pass
        if isinstance(obj, BaseException):
            walk(obj.__cause__, level + 1)
            walk(obj.__context__, level + 1)
            walk(obj.args, level + 1)
        if isinstance(obj, Mapping):
            for k, v in list(obj.items()):
                walk(k, level + 1)
                walk(v, level + 1)
        elif isinstance(obj, (list, tuple, set, frozenset)):
            for v in obj:
                walk(v, level + 1)
        for name in getattr(obj, "__dict__", {}) or {}:
            walk(getattr(obj, name, None), level + 1)
        for cls in type(obj).__mro__:
            for name in getattr(cls, "__slots__", ()) or ():
                if isinstance(name, str):
                    walk(getattr(obj, name, None), level + 1)

    walk(root, 0)
    return out
