"""ASGI 3 front end of :mod:`flowapi.webhooks` (no Starlette dependency).

Speaks the ASGI HTTP and lifespan protocols directly: the body arrives in
``http.request`` messages (``more_body``), the answer leaves as ``http.response.start`` +
``http.response.body``. A path is matched by its suffix (``/flowapi/webhook/<token>``), so
the app works under any mount point whether the server (or Starlette's ``Mount``) keeps
the prefix in ``path`` or moves it to ``root_path``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from flowapi._webhook_core import Reply, Router, TooLarge, error_reply

__all__ = ["ASGIReceive", "ASGIScope", "ASGISend", "run_asgi"]

log = logging.getLogger("flowapi.webhooks")

ASGIScope = MutableMapping[str, Any]
"""An ASGI 3 connection scope."""
ASGIReceive = Callable[[], Awaitable[MutableMapping[str, Any]]]
"""The ASGI 3 ``receive`` callable."""
ASGISend = Callable[[MutableMapping[str, Any]], Awaitable[None]]
"""The ASGI 3 ``send`` callable."""


class _Disconnected(Exception):
    pass


async def run_asgi(router: Router, scope: ASGIScope, receive: ASGIReceive,
                   send: ASGISend) -> None:
    """Serve one ASGI connection scope with ``router`` (see ``WebhookReceiver.asgi_app``)."""
    kind = scope.get("type")
    if kind == "lifespan":
        # nothing to set up or tear down: acknowledge both phases (ASGI lifespan spec)
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if kind == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    if kind != "http":
        raise ValueError(f"flowapi.webhooks: unsupported ASGI scope type {kind!r}")

    async def read(limit: int) -> bytes:
        buf = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            if message["type"] != "http.request":
                continue
            buf += message.get("body", b"")
            more = bool(message.get("more_body", False))
            if len(buf) > limit:
                raise TooLarge
        return bytes(buf)

    headers: dict[str, str] = {}
    for name, value in scope.get("headers", ()):
        headers[bytes(name).decode("latin-1").lower()] = bytes(value).decode("latin-1")
    try:
        reply = await router.handle(str(scope.get("method", "")).upper(),
                                    str(scope.get("path", "")), headers, read)
    except _Disconnected:
        router.reject(Reply(499, b""), "client disconnected mid-body")
        return
    except Exception:
        log.debug("webhook request failed", exc_info=True)
        reply = router.reject(error_reply(400, "bad request"), "request could not be read")
    out_headers = [(b"content-type", reply.content_type.encode("latin-1")),
                   (b"content-length", str(len(reply.body)).encode("ascii"))]
    if reply.allow:
        out_headers.append((b"allow", reply.allow.encode("latin-1")))
    await send({"type": "http.response.start", "status": reply.status, "headers": out_headers})
    await send({"type": "http.response.body", "body": reply.body})
