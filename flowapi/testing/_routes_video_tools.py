"""``POST videos/gif`` and ``POST videos/concatenate`` (synchronous, no captcha).

Sources: post-videos-gif (Jan 20, 2026): ``{mediaGenerationId}`` → ``{encodedGif}``, up to
90 s; post-videos-concatenate (Jan 29, 2026) + supplement §10.4: ``media`` 2–10 items of
``{mediaGenerationId, trimStart?, trimEnd?}``, same account, same aspect ratio, 15–20 s,
``{jobId, status, inputsCount, encodedVideo}``.
"""

from __future__ import annotations

import base64

from aiohttp import web

from ._errors import ApiError
from ._http import REC, WORLD, json_response, read_params, str_param
from ._jobs import new_jobid
from ._media import MEDIA_DIR, media_bytes, variant_file
from ._resolve import resolve_refs
from ._world import World

__all__ = ["ROUTES"]


def _orientation(aspect: str, width: int, height: int) -> str:
    if aspect in ("portrait", "3:4"):
        return "portrait"
    if aspect in ("landscape", "4:3"):
        return "landscape"
    return "portrait" if height > width else "landscape"


async def post_gif(request: web.Request) -> web.StreamResponse:
    """``POST videos/gif``: base64 of the bundled animated GIF after 10–30 simulated seconds."""
    world: World = request.app[WORLD]
    body = await read_params(request)
    mgid = body.get("mediaGenerationId")
    if not mgid:
        raise ApiError.bad_request("mediaGenerationId is required")
    if not isinstance(mgid, str):
        raise ApiError.bad_request("mediaGenerationId must be a string")
    res = resolve_refs(world, [("mediaGenerationId", mgid, "video")], email=None)
    request[REC].email = res.email
    await world.clock.sleep(world.rng.uniform(10.0, 30.0))
    return json_response({"encodedGif": base64.b64encode(media_bytes("gif")).decode()})


async def post_concatenate(request: web.Request) -> web.StreamResponse:
    """``POST videos/concatenate``: base64 of the bundled MP4 after 15–20 simulated seconds."""
    world: World = request.app[WORLD]
    body = await read_params(request, with_code=True)
    items = body.get("media")
    if not isinstance(items, list) or not 2 <= len(items) <= 10:
        raise ApiError.bad_request(
            "Parameter media must be an array of 2-10 videos", with_code=True
        )
    refs: list[tuple[str, str, str]] = []
    trims: list[tuple[float, float]] = []
    for n, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise ApiError.bad_request(f"media[{n - 1}] must be an object", with_code=True)
        mgid = str_param(item, "mediaGenerationId", required=True, with_code=True)
        assert mgid is not None
        pair = []
        for key in ("trimStart", "trimEnd"):
            v = item.get(key, 0)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 10:
                raise ApiError.bad_request(
                    f"media[{n - 1}].{key} must be a number 0-10", with_code=True
                )
            pair.append(float(v))
        refs.append((f"media[{n - 1}].mediaGenerationId", mgid, "video"))
        trims.append((pair[0], pair[1]))
    res = resolve_refs(world, refs, email=None, with_code=True)
    request[REC].email = res.email
    orientations = set()
    total = 0.0
    for (slot, _, _), (start, end) in zip(refs, trims, strict=True):
        asset = res.assets[slot]
        total += asset.duration - start - end
        if start + end >= asset.duration:
            raise ApiError.bad_request(
                f"{slot}: trimStart + trimEnd must be shorter than the clip ({asset.duration:g}s)",
                with_code=True,
            )
        orientations.add(_orientation(asset.aspect, asset.width, asset.height))
    if len(orientations) > 1:
        raise ApiError.bad_request("All videos must have the same aspect ratio", with_code=True)
    await world.clock.sleep(world.rng.uniform(15.0, 20.0))
    assert res.email is not None
    first = res.assets[refs[0][0]]
    return json_response(
        {
            "jobId": new_jobid(world, "v", res.email),
            "status": "MEDIA_GENERATION_STATUS_SUCCESSFUL",
            "inputsCount": len(items),
            "encodedVideo": base64.b64encode(_joined(first.aspect, total)).decode(),
        }
    )


def _joined(aspect: str, seconds: float) -> bytes:
    """The joined clip: the clips' aspect ratio and their trimmed total length (the bundled
    clips go up to 15 s; longer joins get the 15 s clip)."""
    return (MEDIA_DIR / variant_file("video", aspect, seconds)).read_bytes()


ROUTES = [
    ("POST", "videos/gif", "POST videos/gif", post_gif),
    ("POST", "videos/concatenate", "POST videos/concatenate", post_concatenate),
]
"""(method, path under the base URL, route template, handler)."""
