"""``POST assets`` / ``POST assets/{email}`` uploads and ``GET assets/{mediaGenerationId}``.

Sources: post-assets-email (Nov 2025; ``image/png``, ``image/jpeg``, ≤20 MB; 400
``File size (N) is over 20971520 bytes``), the Veo article (WebP accepted), supplement §11
(``video/mp4`` ≤100 MB with ``durationSeconds``) and §12 (``GET assets/{id}`` →
``{url, mediaGenerationId}``). Omitting ``email`` load-balances on image statistics.
"""

from __future__ import annotations

from aiohttp import web

from ._errors import ApiError
from ._http import REC, WORLD, json_response
from ._library import Asset, make_ref, parse_ref
from ._resolve import pick_account
from ._sniff import sniff
from ._util import seeded_uuid
from ._world import UPLOAD_TYPES, World

__all__ = ["ROUTES"]

_URL_TTL = 6 * 3600.0


async def post_assets(request: web.Request) -> web.StreamResponse:
    """Upload raw bytes; answers ``mediaGenerationId.mediaGenerationId``, size, account."""
    world: World = request.app[WORLD]
    rec = request[REC]
    email = request.match_info.get("email")
    ctype = request.content_type.lower()
    if ctype not in UPLOAD_TYPES:
        raise ApiError.bad_request(
            f"Content-Type {ctype or '(none)'} is not supported. "
            f"Supported: {', '.join(UPLOAD_TYPES)}"
        )
    cap = world.caps[ctype]
    declared = request.content_length
    if declared is not None and declared > cap:
        raise ApiError.bad_request(f"File size ({declared}) is over {cap} bytes")
    data = await request.read()
    if len(data) > cap:
        raise ApiError.bad_request(f"File size ({len(data)}) is over {cap} bytes")
    if not data:
        raise ApiError.bad_request("File is empty")
    info = sniff(data, ctype)
    if info is None:
        raise ApiError.bad_request(
            f"Unable to read {ctype} content: the file is corrupt or not {ctype}"
        )
    width, height, duration = info
    acct, _ = pick_account(world, email=email, ref_email=None, group="images", model=None)
    rec.email = acct.email
    if acct.health != "OK":
        raise ApiError.session_error()
    kind = "video" if ctype == "video/mp4" else "image"
    name = seeded_uuid(world.rng)
    mgid = make_ref(world.uid, acct.email, kind, name)
    now = world.now()
    world.library.add_asset(
        Asset(
            media_generation_id=mgid, kind=kind, email=acct.email, name=name, width=width,
            height=height, duration=duration or 0.0, content_type=ctype, origin="upload",
            aspect="portrait" if height > width else "landscape", available_at=now,
        )
    )  # fmt: skip
    world.media.register(name, now)
    world.bump("assets_uploaded")
    body: dict[str, object] = {
        "mediaGenerationId": {"mediaGenerationId": mgid},
        "width": width,
        "height": height,
        "email": acct.email,
    }
    if duration is not None:
        body["durationSeconds"] = duration
    return json_response(body)


async def get_asset(request: web.Request) -> web.StreamResponse:
    """``GET assets/{mediaGenerationId}``: a fresh signed URL (~6 h) of an image or video."""
    world: World = request.app[WORLD]
    value = request.match_info["ref"]
    ref = parse_ref(value)
    if ref is None:
        raise ApiError.bad_request(f"Invalid mediaGenerationId format: {value}")
    if ref.uid != world.uid:
        raise ApiError.foreign_ref(ref.uid, ref.kind)
    if ref.kind not in ("image", "video"):
        raise ApiError.bad_request(
            f"mediaGenerationId type must be 'image' or 'video', got '{ref.kind}'"
        )
    if world.accounts.get(ref.email) is None:
        raise ApiError.account_not_found(ref.email)
    now = world.now()
    asset = world.library.asset(ref, now)
    if asset is None:
        raise ApiError.not_found(f"{ref.kind.capitalize()} not found: {ref.key}")
    request[REC].email = ref.email
    ext = "mp4" if ref.kind == "video" else ("png" if asset.content_type == "image/png" else "jpg")
    url = world.media.url(ref.kind, asset.name, ext, now + _URL_TTL)
    return json_response({"url": url, "mediaGenerationId": value})


ROUTES = [
    ("POST", "assets", "POST assets", post_assets),
    ("POST", "assets/{email}", "POST assets/{email}", post_assets),
    ("GET", "assets/{ref}", "GET assets/{mediaGenerationId}", get_asset),
]
"""(method, path under the base URL, route template, handler)."""
