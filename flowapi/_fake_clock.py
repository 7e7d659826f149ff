"""Following a loopback fake's simulated clock (issue 12 §3).

A :class:`~flowapi.testing.FakeFlowServer` advertises its clock at ``GET /_fake/clock`` on
its API origin: ``{"timeScale": 0.01, "anchor": 1764000000.0, "now": …}``. A
:class:`~flowapi.FlowSession` whose base URL is loopback and that was given no ``clock``
reads it once when it opens and runs on the same :class:`~flowapi._clock.ScaledClock`,
so the fake is fast without clock options. The route never exists on the real API (which
is never loopback), so nothing changes there; any other answer from a loopback server
(404, not JSON, unreachable) keeps the real clock.
"""

from __future__ import annotations

import logging

import aiohttp
import msgspec
from yarl import URL

from flowapi._clock import ScaledClock
from flowapi._urls import is_loopback

__all__ = ["CLOCK_PATH", "FakeClockInfo", "probe_fake_clock"]

log = logging.getLogger("flowapi")

CLOCK_PATH = "/_fake/clock"
"""Path (on the API origin) where a fake advertises its clock."""

_PROBE_TIMEOUT = 2.0  # seconds; loopback answers in milliseconds


class FakeClockInfo(msgspec.Struct, kw_only=True, frozen=True, rename="camel"):
    """The body of ``GET /_fake/clock``."""

    time_scale: float
    """Real seconds per simulated second, ``0 < time_scale <= 1``."""
    anchor: float
    """Real Unix time (seconds) at which simulated time equals real time."""
    now: float = 0.0
    """The fake's simulated Unix time when it answered (seconds; informational)."""


_decoder = msgspec.json.Decoder(FakeClockInfo)


async def probe_fake_clock(http: aiohttp.ClientSession, base_url: URL) -> ScaledClock | None:
    """The clock a loopback fake at ``base_url`` advertises, or ``None``.

    Returns ``None`` without a request when ``base_url`` is not loopback, and ``None`` when
    the server does not answer ``GET /_fake/clock`` with a valid body. Never raises for a
    network error: the first real request reports that. No token is sent.
    """
    if not base_url.host or not is_loopback(base_url.host):
        return None
    url = base_url.origin().with_path(CLOCK_PATH)
    try:
        async with http.get(url, timeout=aiohttp.ClientTimeout(total=_PROBE_TIMEOUT),
                            allow_redirects=False) as resp:
            if resp.status != 200:
                return None
            info = _decoder.decode(await resp.read())
        clock = ScaledClock(info.time_scale, anchor=info.anchor)
    except (aiohttp.ClientError, TimeoutError, msgspec.DecodeError, ValueError) as exc:
        log.debug("no fake clock at %s: %s", url, type(exc).__name__)
        return None
    log.info("following the fake's clock at %s: time scale %s", url, clock.time_scale)
    return clock
