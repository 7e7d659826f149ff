"""``POST assets`` / ``POST assets/{email}`` uploads and ``GET assets/{mediaGenerationId}``.

Sources: post-assets-email (Nov 2025; ``image/png``, ``image/jpeg``, ≤20 MB; 400
``File size (N) is over 20971520 bytes``), the Veo article (WebP accepted), supplement §11
(``video/mp4`` ≤100 MB with ``durationSeconds``) and §12 (``GET assets/{id}`` →
``{url, mediaGenerationId}``). Omitting ``email`` load-balances on image statistics.

The Sep 1, 2026 routes (api-update-2026-h2 §2–§4) follow the update's best readings:
``GET assets/projects/{email}?cursor=`` counts **generated** media per project from the
account's history, newest first, :data:`PROJECT_SCAN_PAGE` history entries per call
(``scanned``/``truncated``/``cursor``/``stoppedOn``); ``GET assets/media/{email}?projectId=``
lists the project's generations plus every upload of the account (``likelyUpload``),
newest first, no paging; ``DELETE assets/{email}`` takes 1–100 ``mediaGenerationIds``,
validates them all first (format, owner, account, image/video) and deletes all or none;
already-deleted ids are accepted. Deleted media vanish from the media origin, from
``GET assets/{id}`` (404) and from references.
"""

from __future__ import annotations

import base64
import binascii

from aiohttp import web

from ._errors import ApiError
from ._http import REC, WORLD, json_response, read_params
from ._library import Asset, ParsedRef, make_ref, parse_ref
from ._resolve import pick_account
from ._sniff import sniff
from ._util import iso, seeded_uuid
from ._world import UPLOAD_TYPES, World

__all__ = ["ROUTES"]

_URL_TTL = 6 * 3600.0
PROJECT_SCAN_PAGE = 500
"""History entries scanned per GET assets/projects/{email} call (a page)."""
DELETE_MAX = 100
"""Most ``mediaGenerationIds`` per DELETE assets/{email}."""


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
            created=now, project_id=acct.project_id or "",
        )
    )  # fmt: skip
    world.media.register(name, now, data=data)
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


def _account(world: World, request: web.Request) -> tuple[str, str]:
    """(email, current projectId) of the path's account; 404 unknown, 596 broken."""
    email = request.match_info["email"]
    acct = world.accounts.get(email)
    if acct is None:
        raise ApiError.account_not_found(email)
    request[REC].email = acct.email
    if acct.health != "OK":
        raise ApiError.session_error()
    current = acct.project_id or ""
    world.library.note_project(acct.email, current)
    return acct.email, current


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"scan:{offset}".encode()).decode().rstrip("=")


def _offset(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, number = text.partition(":")
        if kind == "scan" and number.isdigit():
            return int(number)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise ApiError.bad_request(f"Invalid cursor: {cursor}")


async def get_projects(request: web.Request) -> web.StreamResponse:
    """``GET assets/projects/{email}?cursor=``: per-call project counts of generated media."""
    world: World = request.app[WORLD]
    email, current = _account(world, request)
    cursor = request.query.get("cursor")
    start = _offset(cursor) if cursor else 0
    now = world.now()
    history = [a for a in world.library.account_assets(email)
               if not a.is_upload and a.available_at <= now]
    page = history[start : start + world.project_scan_page]
    projects: dict[str, dict[str, object]] = {}
    for a in page:
        entry = projects.setdefault(a.project_id, {
            "projectId": a.project_id, "isCurrent": a.project_id == current, "total": 0,
            "byType": {}, "oldest": iso(a.created), "newest": iso(a.created)})
        entry["total"] = int(str(entry["total"])) + 1
        by_type = entry["byType"]
        assert isinstance(by_type, dict)
        key = a.kind.upper()
        by_type[key] = by_type.get(key, 0) + 1
        entry["oldest"] = iso(a.created)  # newest first: the last seen is the oldest
    end = start + len(page)
    truncated = end < len(history)
    body: dict[str, object] = {"projects": list(projects.values()), "scanned": len(page),
                               "truncated": truncated}
    if truncated:
        body["cursor"] = _cursor(end)
        body["stoppedOn"] = "timeBudget"
    return json_response(body)


async def get_media(request: web.Request) -> web.StreamResponse:
    """``GET assets/media/{email}?projectId=``: a project's generations + the account's
    uploads, newest first."""
    world: World = request.app[WORLD]
    email, current = _account(world, request)
    project = request.query.get("projectId") or current
    if project not in world.library.projects.get(email, []):
        raise ApiError.not_found(f"Project {project} not found on account {email}")
    now = world.now()
    items = [a for a in world.library.account_assets(email)
             if a.available_at <= now and (a.is_upload or a.project_id == project)]
    media = [{"mediaGenerationId": a.media_generation_id, "likelyUpload": a.is_upload,
              "mediaType": a.kind.upper(), "createTime": iso(a.created)} for a in items]
    return json_response({"media": media,
                          "likelyUploads": sum(1 for a in items if a.is_upload)})


def _deletable(world: World, email: str, value: object) -> ParsedRef:
    ref = parse_ref(value)
    if ref is None:
        raise ApiError.bad_request(f"Invalid mediaGenerationId format: {value}")
    if ref.uid != world.uid:
        raise ApiError.foreign_ref(ref.uid, ref.kind)
    if ref.kind not in ("image", "video"):
        raise ApiError.bad_request(
            f"mediaGenerationId type must be 'image' or 'video', got '{ref.kind}'"
        )
    if ref.email.lower() != email.lower():
        raise ApiError.bad_request(
            f"mediaGenerationId {value} belongs to another account than {email}"
        )
    return ref


async def delete_assets(request: web.Request) -> web.StreamResponse:
    """``DELETE assets/{email}``: permanently delete 1–100 explicit ids, all or nothing."""
    world: World = request.app[WORLD]
    email, _ = _account(world, request)
    body = await read_params(request)
    ids = body.get("mediaGenerationIds")
    if not isinstance(ids, list) or not ids:
        raise ApiError.bad_request("Parameter mediaGenerationIds must be a non-empty array")
    if len(ids) > DELETE_MAX:
        raise ApiError.bad_request(
            f"Parameter mediaGenerationIds takes at most {DELETE_MAX} ids, got {len(ids)}"
        )
    project = body.get("projectId")
    if project is not None and not isinstance(project, str):
        raise ApiError.bad_request("Parameter projectId must be a string")
    refs = [_deletable(world, email, value) for value in ids]  # all checked first
    for ref in refs:
        asset = world.library.assets.get(ref.key)
        if asset is not None and asset.kind == ref.kind and asset.email == ref.email:
            world.library.remove_asset(ref.key)
            world.media.unregister(ref.key)
            world.bump("assets_deleted")
    return json_response({"deleted": [str(v) for v in ids]})


ROUTES = [
    ("POST", "assets", "POST assets", post_assets),
    ("POST", "assets/{email}", "POST assets/{email}", post_assets),
    ("GET", "assets/{ref}", "GET assets/{mediaGenerationId}", get_asset),
    ("GET", "assets/projects/{email}", "GET assets/projects/{email}", get_projects),
    ("GET", "assets/media/{email}", "GET assets/media/{email}", get_media),
    ("DELETE", "assets/{email}", "DELETE assets/{email}", delete_assets),
]
"""(method, path under the base URL, route template, handler)."""
