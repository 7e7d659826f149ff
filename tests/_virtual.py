"""A FakeFlowServer and a FlowSession on one AutojumpClock (issue 8 item 7).

Simulated time stands still while anything runs and jumps to the next wake-up when the
event loop is quiet, so tests may assert simulated times exactly, whatever the load. The
session's aiohttp client is traced (``clock.trace_config()``) so no jump happens while a
request is between the client and the fake.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from flowapi import FlowSession
from flowapi.testing import AutojumpClock, FakeFlowServer


@asynccontextmanager
async def virtual_stack(*, fake: dict[str, Any] | None = None,
                        session: dict[str, Any] | None = None, start: float | None = None,
                        ) -> AsyncIterator[tuple[FakeFlowServer, FlowSession, AutojumpClock]]:
    """``FakeFlowServer(clock=c, **fake)`` and ``FlowSession(clock=c, **session)`` on one
    ``c = AutojumpClock(start=start)`` (default start: its fixed instant)."""
    clock = AutojumpClock() if start is None else AutojumpClock(start=start)
    async with FakeFlowServer(clock=clock, **(fake or {})) as server, \
            aiohttp.ClientSession(trace_configs=[clock.trace_config()],
                                  cookie_jar=aiohttp.DummyCookieJar(), trust_env=False) as http, \
            FlowSession(server.token, base_url=server.base_url, clock=clock, http_session=http,
                        **(session or {})) as flow:
        yield server, flow, clock
