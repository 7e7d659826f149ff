"""Helpers for the tests of ``flowapi.testing`` (imported by ``tests/test_fake_*.py``).

Not a pytest conftest: plain helpers, so the project's own ``tests/conftest.py`` stays
untouched.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp

from flowapi.testing import FakeFlowServer

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
MEDIA = Path(__file__).resolve().parent.parent / "flowapi" / "testing" / "media"


class Api:
    """A minimal raw client for the fake: base URL, bearer token, JSON helpers."""

    def __init__(self, fake: FakeFlowServer, session: aiohttp.ClientSession) -> None:
        self.fake = fake
        self.s = session
        self.h = {"Authorization": f"Bearer {fake.token}"}

    def url(self, path: str) -> str:
        return self.fake.base_url + path

    async def call(
        self, method: str, path: str, *, auth: bool = True, **kw: Any
    ) -> tuple[int, Any, aiohttp.typedefs.LooseHeaders]:
        headers = dict(self.h) if auth else {}
        headers.update(kw.pop("headers", {}))
        async with self.s.request(method, self.url(path), headers=headers, **kw) as r:
            raw = await r.read()
            try:
                body = await r.json(content_type=None) if raw else None
            except ValueError:
                body = raw
            return r.status, body, r.headers

    async def get(self, path: str, **kw: Any) -> tuple[int, Any, Any]:
        return await self.call("GET", path, **kw)

    async def post(self, path: str, **kw: Any) -> tuple[int, Any, Any]:
        return await self.call("POST", path, **kw)

    async def delete(self, path: str, **kw: Any) -> tuple[int, Any, Any]:
        return await self.call("DELETE", path, **kw)

    async def upload(
        self, data: bytes, ctype: str, email: str | None = None
    ) -> tuple[int, Any, Any]:
        path = "assets" if email is None else f"assets/{email.replace('@', '%40')}"
        return await self.post(path, data=data, headers={"Content-Type": ctype})

    async def upload_image(self, email: str | None = None) -> str:
        status, body, _ = await self.upload(
            (EXAMPLES / "first_image.jpeg").read_bytes(), "image/jpeg", email
        )
        assert status == 200, body
        return str(body["mediaGenerationId"]["mediaGenerationId"])

    async def wait_job(self, jobid: str, timeout: float = 5.0) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            status, body, _ = await self.get(f"jobs/{jobid}")
            assert status == 200, body
            if body["status"] in ("completed", "failed"):
                return dict(body)
            assert asyncio.get_running_loop().time() < deadline, body
            await asyncio.sleep(0.01)

    async def video(self, **body: Any) -> dict[str, Any]:
        """Generate a video synchronously and return the 200 body."""
        status, out, _ = await self.post("videos", json={"prompt": "a fox", **body})
        assert status == 200, out
        return dict(out)
