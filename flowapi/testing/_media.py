"""The media origin: a second host serving real files behind signed URLs.

Generated media URLs (``videoUrl``, ``thumbnailUrl``, ``fifeUrl``, ``audioUrl``,
``previewUrl``) point here, at a different host than the API (``localhost`` instead of
``127.0.0.1``), like ``flow-content.google`` / ``storage.googleapis.com`` do in the docs.
No authentication is needed; whether an ``Authorization`` header arrived anyway is
recorded (``media_requests_with_auth``), so tests can prove a client never leaks its token.

Paths: ``/video/{id}.mp4``, ``/image/{id}.jpg``, ``/image/{id}.png``, ``/gif/{id}.gif``,
``/audio/{id}.wav``, each with ``?Expires={unix}&Signature={hex}``.

Media match the request: a generated video is a real H.264 clip of the job's aspect ratio
and length (``video-{aspect}-{N}s.mp4``, N = 1–15 s), its thumbnail and generated images a
JPEG of that aspect ratio (``image-{aspect}.jpg``) — tiny files made once with ffmpeg
(``tests/fixtures/make_fake_media.sh``) that play and pass ffprobe. An upload is served back
byte for byte. Unknown ids → 404,
bad signature or past ``Expires`` (simulated clock) → 403. Single ``Range`` requests are
honoured (206). Media faults (``truncated_media``, and ``slow``/``reset_before`` routed to
``"GET media"``) only hit requests that would otherwise succeed.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from ._autojump import holding
from ._net import drop_connection

if TYPE_CHECKING:
    from ._world import World

__all__ = ["MEDIA_DIR", "MediaOrigin", "aspect_key", "media_bytes", "variant_file"]

MEDIA_DIR = Path(__file__).parent / "media"
"""Directory of the bundled sample files."""

_FILES: dict[str, tuple[str, str]] = {
    "mp4": ("sample.mp4", "video/mp4"),
    "jpg": ("thumb.jpg", "image/jpeg"),
    "png": ("sample.png", "image/png"),
    "gif": ("sample.gif", "image/gif"),
    "wav": ("sample.wav", "audio/wav"),
}
_CACHE: dict[str, bytes] = {}
_PATH_RE = re.compile(r"^/(video|image|gif|audio)/([^/]+)\.(mp4|jpg|png|gif|wav)$")
_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


def media_bytes(ext: str) -> bytes:
    """Bytes of the bundled sample for ``ext`` (``mp4``, ``jpg``, ``png``, ``gif``, ``wav``)."""
    data = _CACHE.get(ext)
    if data is None:
        data = _CACHE[ext] = (MEDIA_DIR / _FILES[ext][0]).read_bytes()
    return data


_ASPECT_KEYS = {
    "landscape": "landscape", "16:9": "landscape", "portrait": "portrait", "9:16": "portrait",
    "1:1": "square", "4:3": "4x3", "3:4": "3x4",
}  # fmt: skip
_MAX_CLIP_SECONDS = 15


def aspect_key(aspect: str | None) -> str:
    """The media-file key of a request ``aspectRatio`` (``landscape``, ``portrait``,
    ``square``, ``4x3``, ``3x4``); unknown → ``landscape``."""
    return _ASPECT_KEYS.get(aspect or "", "landscape")


def variant_file(kind: str, aspect: str | None, seconds: float | None = None) -> str:
    """The bundled file for a generated item: ``video-{aspect}-{N}s.mp4`` (N = ``seconds``
    rounded into 1–15) or ``image-{aspect}.jpg``."""
    key = aspect_key(aspect)
    if kind == "video":
        n = min(_MAX_CLIP_SECONDS, max(1, round(seconds or 8)))
        return f"video-{key}-{n}s.mp4"
    return f"image-{key}.jpg"


def _file_bytes(name: str) -> bytes:
    data = _CACHE.get(name)
    if data is None:
        data = _CACHE[name] = (MEDIA_DIR / name).read_bytes()
    return data


class MediaOrigin:
    """URL signing, the registry of servable ids, and the aiohttp app of the media host."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.base_url = ""
        """``http://localhost:PORT/`` once started."""
        self._available: dict[str, float] = {}
        self._variants: dict[str, tuple[str, float | None]] = {}
        self._uploads: dict[str, bytes] = {}

    def register(self, media_id: str, available_at: float, *, aspect: str | None = None,
                 seconds: float | None = None, data: bytes | None = None) -> None:
        """Make ``media_id`` servable from simulated time ``available_at``: as a clip/image of
        ``aspect`` (request ``aspectRatio``) and ``seconds``, or — for an upload — ``data``."""
        self._available[media_id] = available_at
        if aspect is not None:
            self._variants[media_id] = (aspect, seconds)
        if data is not None:
            self._uploads[media_id] = data

    def unregister(self, media_id: str) -> None:
        """Stop serving ``media_id`` (deleted): its URLs answer 404."""
        self._available.pop(media_id, None)
        self._variants.pop(media_id, None)
        self._uploads.pop(media_id, None)

    def clear(self) -> None:
        """Forget every registered id."""
        self._available.clear()
        self._variants.clear()
        self._uploads.clear()

    def body(self, kind: str, media_id: str, ext: str) -> bytes:
        """The bytes served for ``/{kind}/{media_id}.{ext}``: the upload itself, the clip or
        image matching the generation, else the generic sample for ``ext``."""
        upload = self._uploads.get(media_id)
        if upload is not None:
            return upload
        variant = self._variants.get(media_id)
        if variant is not None and (kind, ext) in (("video", "mp4"), ("image", "jpg")):
            return _file_bytes(variant_file(kind, variant[0], variant[1]))
        return media_bytes(ext)

    def _sig(self, path: str, expires: int) -> str:
        return hashlib.sha256(f"{self.world.token}|{path}|{expires}".encode()).hexdigest()[:32]

    def url(self, kind: str, media_id: str, ext: str, expires: float) -> str:
        """Signed URL for ``/{kind}/{media_id}.{ext}`` valid until ``expires`` (sim seconds)."""
        path = f"/{kind}/{media_id}.{ext}"
        exp = int(expires)
        return f"{self.base_url.rstrip('/')}{path}?Expires={exp}&Signature={self._sig(path, exp)}"

    def app(self) -> web.Application:
        """The aiohttp application of the media origin."""
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._held)
        return app

    async def _held(self, request: web.Request) -> web.StreamResponse:
        with holding(self.world.clock):  # no virtual-time jump mid-request
            return await self._handle(request)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        world = self.world
        rec = world.record(request, "GET media", auth_ok=True)
        world.bump("media_requests")
        if rec.authorization_sent:
            world.bump("media_requests_with_auth")
        resp = self._check(request)
        if resp is not None:
            world.finish(rec, resp.status)
            return resp
        decision = world.engine.evaluate("media", "GET media")
        if decision.reset_before:
            rec.fault = "reset_before"
            world.finish(rec, None)
            drop_connection(request)
            return web.Response()
        if decision.delay:
            rec.fault = "slow"
            await world.clock.sleep(decision.delay)
        m = _PATH_RE.match(request.path)
        assert m is not None
        ext = m.group(3)
        data = self.body(m.group(1), m.group(2), ext)
        ctype = _FILES[ext][1]
        status, body, extra = 200, data, {"Accept-Ranges": "bytes"}
        rng = _RANGE_RE.match(request.headers.get("Range", ""))
        if rng and (rng.group(1) or rng.group(2)):
            total = len(data)
            if rng.group(1):
                start = int(rng.group(1))
                end = min(int(rng.group(2)), total - 1) if rng.group(2) else total - 1
            else:
                start, end = max(0, total - int(rng.group(2))), total - 1
            if start >= total or start > end:
                world.finish(rec, 416)
                return web.Response(status=416, headers={"Content-Range": f"bytes */{total}"})
            status, body = 206, data[start : end + 1]
            extra["Content-Range"] = f"bytes {start}-{end}/{total}"
        if decision.truncate:
            rec.fault = "truncated_media" if rec.fault is None else f"{rec.fault}+truncated_media"
            resp_s = web.StreamResponse(status=status, headers={"Content-Type": ctype, **extra})
            resp_s.content_length = len(body)
            await resp_s.prepare(request)
            if request.method != "HEAD":
                await resp_s.write(body[: len(body) // 2])
            world.finish(rec, status)
            world.bump("media_bytes_served", len(body) // 2)
            drop_connection(request)
            return resp_s
        world.finish(rec, status)
        world.bump("media_bytes_served", len(body))
        return web.Response(status=status, body=body, headers={"Content-Type": ctype, **extra})

    def _check(self, request: web.Request) -> web.Response | None:
        m = _PATH_RE.match(request.path)
        if m is None or m.group(2) not in self._available:
            return web.Response(status=404, text="Not Found")
        now = self.world.now()
        if self._available[m.group(2)] > now:
            return web.Response(status=404, text="Not Found")
        try:
            expires = int(request.query.get("Expires", ""))
        except ValueError:
            return web.Response(status=403, text="AccessDenied: missing Expires")
        if request.query.get("Signature") != self._sig(request.path, expires):
            return web.Response(status=403, text="AccessDenied: bad signature")
        if expires < now:
            return web.Response(status=403, text="AccessDenied: URL expired")
        return None
