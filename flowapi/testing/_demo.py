"""Try the SDK without an account: a session on the real API or on an embedded fake."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from flowapi._session import FlowSession

from ._server import FakeFlowServer

__all__ = ["demo_session", "sample_media"]

_MEDIA = Path(__file__).resolve().parent / "media"
_SCALE_ENV = "FLOWAPI_DEMO_TIME_SCALE"


@asynccontextmanager
async def demo_session(time_scale: float | None = None) -> AsyncIterator[FlowSession]:
    """An open :class:`~flowapi.FlowSession`: on the real API when ``USEAPI_TOKEN`` is set,
    otherwise on an embedded :class:`FakeFlowServer` sharing its simulated clock.

    Args:
        time_scale: real seconds per simulated second for the fake, ``0 < s <= 1``; default
            ``$FLOWAPI_DEMO_TIME_SCALE`` or 0.02 (a 120 s video takes 2.4 s). Ignored on the
            real API.

    Raises:
        ValueError: ``time_scale`` (or the variable) is not a number in ``(0, 1]``.
    """
    if os.environ.get("USEAPI_TOKEN"):
        async with FlowSession() as flow:
            yield flow
        return
    scale = time_scale if time_scale is not None else float(os.environ.get(_SCALE_ENV, "0.02"))
    async with FakeFlowServer(time_scale=scale) as fake, FlowSession(
            fake.token, base_url=fake.base_url, clock=fake.clock) as flow:
        yield flow


def sample_media(name: str = "sample.mp4") -> Path:
    """Path of a real media file shipped with the fake: ``sample.mp4`` (1.5 s, 320×180,
    H.264 + AAC), ``thumb.jpg``, ``sample.png``, ``sample.gif`` or ``sample.wav``.

    Raises:
        FileNotFoundError: no such file.
    """
    path = _MEDIA / name
    if not path.is_file() or path.parent != _MEDIA:
        raise FileNotFoundError(f"no sample media named {name!r} in {_MEDIA}")
    return path
