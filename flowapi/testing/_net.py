"""Connection-level misbehaviour: dropping a TCP connection with a reset."""

from __future__ import annotations

import contextlib
import socket
import struct

from aiohttp import web

__all__ = ["drop_connection"]


def drop_connection(request: web.BaseRequest) -> None:
    """Abort the request's TCP connection with an RST (``SO_LINGER`` 0); no response is sent."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
