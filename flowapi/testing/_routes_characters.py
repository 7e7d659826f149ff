"""Characters: ``POST characters``, ``GET characters``, ``GET/DELETE characters/{ref}``.

Source: supplement §7 (characters pages of June 5, 2026). The account comes from
``imageReference_1``; no captcha. A character's voice is shown in one of three shapes:
a live user voice, a system preset ``{source: 'system', voice, displayName}``, or an
orphan ``{workflowId, deleted: true}`` after the user voice was deleted.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ._errors import ApiError
from ._http import REC, WORLD, json_response, read_params, str_param
from ._library import Character, Voice, make_ref, parse_ref
from ._resolve import resolve_refs
from ._routes_voices import voice_json
from ._util import iso, seeded_uuid
from ._world import World

__all__ = ["ROUTES"]

_URL_TTL = 6 * 3600.0


def _voice_shape(world: World, ch: Character, *, resolved: bool) -> dict[str, Any] | None:
    if ch.voice is None:
        return None
    ref = parse_ref(ch.voice)
    if ref is None:
        return {"source": "system", "voice": ch.voice, "displayName": ch.voice}
    v: Voice | None = world.library.voices.get(ref.key)
    if v is None or v.deleted:
        return {"workflowId": ref.key, "deleted": True}
    if resolved:
        out = voice_json(world, v, audio=True, source=False)
        out.pop("createTime", None)
        return out
    out = voice_json(world, v, audio=False)
    out.pop("createTime", None)
    return out


def _char_json(world: World, ch: Character, *, resolved: bool) -> dict[str, Any]:
    now = world.now()
    images = []
    for mgid in ch.images:
        r = parse_ref(mgid)
        asset = world.library.assets.get(r.key) if r else None
        wf = asset.name if asset else (r.key if r else "")
        entry: dict[str, Any] = {"workflowId": wf}
        if resolved:
            entry["mediaId"] = wf
            entry["previewUrl"] = world.media.url("image", wf, "jpg", now + _URL_TTL)
        images.append(entry)
    out: dict[str, Any] = {
        "character": ch.ref,
        "entityId": ch.entity_id,
        "displayName": ch.display_name,
    }
    if ch.personality_notes is not None:
        out["personalityNotes"] = ch.personality_notes
    out["imageReferences"] = images
    voice = _voice_shape(world, ch, resolved=resolved)
    if voice is not None:
        out["voice"] = voice
    if images:
        out["thumbnailMediaId"] = images[0]["workflowId"]
        if resolved:
            out["thumbnailUrl"] = world.media.url(
                "image", images[0]["workflowId"], "jpg", now + _URL_TTL
            )
    out["createTime"] = iso(ch.created)
    out["updateTime"] = iso(ch.updated)
    return out


async def post_character(request: web.Request) -> web.StreamResponse:
    """``POST characters``: bundle 1–2 images and an optional voice under a name."""
    world: World = request.app[WORLD]
    body = await read_params(request)
    name = str_param(body, "displayName", required=True, max_len=200)
    img1 = str_param(body, "imageReference_1", required=True)
    img2 = str_param(body, "imageReference_2")
    notes = str_param(body, "personalityNotes", max_len=2000)
    voice = str_param(body, "voice")
    refs = [("imageReference_1", img1 or "", "image")]
    if img2:
        refs.append(("imageReference_2", img2, "image"))
    if voice:
        refs.append(("voice", voice, "voice"))
    res = resolve_refs(world, refs, email=None)
    assert res.email is not None
    assert name is not None
    request[REC].email = res.email
    entity = seeded_uuid(world.rng)
    images = [a.media_generation_id for a in res.assets.values()]
    voice_val = res.voices.get("voice")
    suffix = ""
    voice_echo: str | None = None
    if isinstance(voice_val, Voice):
        suffix, voice_echo = f"-voice:{voice_val.workflow_id}", voice_val.ref
    elif isinstance(voice_val, str):
        suffix, voice_echo = f"-voice:{voice_val.lower()}", voice_val
    ref = make_ref(world.uid, res.email, "character", f"{entity}-imgs:{len(images)}{suffix}")
    now = world.now()
    world.library.characters[entity] = Character(
        ref=ref, entity_id=entity, email=res.email, display_name=name, images=images,
        personality_notes=notes, voice=voice_echo, created=now, updated=now,
    )  # fmt: skip
    out: dict[str, Any] = {"entityId": entity, "character": ref, "displayName": name}
    if notes is not None:
        out["personalityNotes"] = notes
    out["imageReferences"] = [{"mediaId": a.name} for a in res.assets.values()]
    if voice_echo is not None:
        out["voice"] = voice_echo
    return json_response(out)


async def list_characters(request: web.Request) -> web.StreamResponse:
    """``GET characters?email=``: the account's live characters (no preview URLs)."""
    world: World = request.app[WORLD]
    email = request.query.get("email")
    if not email:
        raise ApiError.bad_request("Parameter email is required")
    request[REC].email = email
    if world.accounts.get(email) is None:
        raise ApiError.account_not_found(email)
    chars = [
        _char_json(world, c, resolved=False)
        for c in world.library.characters.values()
        if c.email == email and not c.deleted
    ]
    return json_response({"characters": chars})


def _character(world: World, request: web.Request) -> tuple[Character, str]:
    value = request.match_info["ref"]
    ref = parse_ref(value)
    if ref is None or ref.kind != "character":
        raise ApiError.bad_request("Parameter character has incorrect format")
    if ref.uid != world.uid:
        raise ApiError.foreign_ref(ref.uid, "character")
    ch = world.library.character(ref)
    if ch is None:
        raise ApiError.not_found(f"Character not found: {ref.key}")
    request[REC].email = ch.email
    return ch, value


async def get_character(request: web.Request) -> web.StreamResponse:
    """``GET characters/{ref}``: the character with fresh preview/audio URLs."""
    world: World = request.app[WORLD]
    ch, _ = _character(world, request)
    return json_response(_char_json(world, ch, resolved=True))


async def delete_character(request: web.Request) -> web.StreamResponse:
    """``DELETE characters/{ref}`` (its voice is not deleted)."""
    world: World = request.app[WORLD]
    ch, value = _character(world, request)
    ch.deleted = True
    return json_response({"deleted": True, "entityId": ch.entity_id, "character": value})


ROUTES = [
    ("POST", "characters", "POST characters", post_character),
    ("GET", "characters", "GET characters", list_characters),
    ("GET", "characters/{ref}", "GET characters/{ref}", get_character),
    ("DELETE", "characters/{ref}", "DELETE characters/{ref}", delete_character),
]
"""(method, path under the base URL, route template, handler)."""
