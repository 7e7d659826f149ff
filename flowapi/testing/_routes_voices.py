"""Voices: ``POST voices``, ``GET voices``, ``GET voices/{ref}``, ``DELETE voices/{ref}``.

Source: supplement §6 (voices pages of June 5, 2026). 30 system presets (case-sensitive in
``POST voices``, case-insensitive elsewhere); user voices are per account.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ._errors import ApiError
from ._http import REC, WORLD, json_response, read_params, str_param
from ._library import SAMPLE_URL, SYSTEM_VOICES, Voice, make_ref, parse_ref, system_voice
from ._util import iso, seeded_uuid
from ._world import World

__all__ = ["ROUTES", "voice_json"]

_URL_TTL = 6 * 3600.0


def system_json(name: str) -> dict[str, Any]:
    """A system voice entry ``{voice, source, displayName, sampleUrl}``."""
    return {
        "voice": name,
        "source": "system",
        "displayName": name,
        "sampleUrl": SAMPLE_URL.format(name=name),
    }


def voice_json(world: World, v: Voice, *, audio: bool, source: bool = True) -> dict[str, Any]:
    """A user voice entry; ``audio`` adds a fresh signed ``audioUrl``."""
    out: dict[str, Any] = {"voice": v.ref}
    if source:
        out["source"] = "user"
    out.update(
        {
            "displayName": v.display_name,
            "workflowId": v.workflow_id,
            "mediaId": v.media_id,
            "baseVoice": v.base_voice,
            "dialog": v.dialog,
            "voicePerformance": v.voice_performance,
            "createTime": iso(v.created),
        }
    )
    if audio:
        out["audioUrl"] = world.media.url("audio", v.media_id, "wav", world.now() + _URL_TTL)
    return out


def _account(world: World, request: web.Request, email: str | None) -> str:
    if not email:
        raise ApiError.bad_request("Parameter email is required")
    request[REC].email = email
    if world.accounts.get(email) is None:
        raise ApiError.account_not_found(email)
    return email


async def post_voice(request: web.Request) -> web.StreamResponse:
    """``POST voices``: create a custom voice from a preset (captcha; 5–15 simulated s)."""
    world: World = request.app[WORLD]
    body = await read_params(request)
    email = _account(world, request, str_param(body, "email"))
    base = str_param(body, "voice", required=True)
    if base not in SYSTEM_VOICES:
        raise ApiError.bad_request(
            f"Parameter voice must be one of the 30 system voices (case-sensitive), got '{base}'"
        )
    name = str_param(body, "displayName", required=True, max_len=200)
    dialog = str_param(body, "dialog", required=True, max_len=120)
    perf = str_param(body, "voicePerformance", required=True, max_len=120)
    world.captcha.validate(body)
    acct = world.accounts.get(email)
    if acct is not None and acct.health != "OK":
        raise ApiError.session_error()
    world.captcha.solve(body, world.rng)
    workflow, media_id = seeded_uuid(world.rng), seeded_uuid(world.rng)
    ref = make_ref(world.uid, email, "voice", f"{workflow}-mid:{media_id}")
    now = world.now()
    assert base is not None
    assert name is not None
    assert dialog is not None
    assert perf is not None
    voice = Voice(ref, workflow, media_id, email, name, base, dialog, perf, now)
    world.library.voices[workflow] = voice
    world.media.register(media_id, now)
    await world.clock.sleep(world.rng.uniform(5.0, 15.0))
    out = voice_json(world, voice, audio=True)
    del out["createTime"]
    return json_response(out)


async def list_voices(request: web.Request) -> web.StreamResponse:
    """``GET voices?email=&source=system|user``: presets and the account's user voices."""
    world: World = request.app[WORLD]
    email = _account(world, request, request.query.get("email"))
    source = request.query.get("source")
    if source not in (None, "", "system", "user"):
        raise ApiError.bad_request("Parameter source must be system or user")
    voices: list[dict[str, Any]] = []
    if source in (None, "", "system"):
        voices += [system_json(n) for n in SYSTEM_VOICES]
    if source in (None, "", "user"):
        voices += [
            voice_json(world, v, audio=False)
            for v in world.library.voices.values()
            if v.email == email and not v.deleted
        ]
    return json_response({"voices": voices})


def _user_voice(world: World, value: str) -> Voice:
    ref = parse_ref(value)
    if ref is None or ref.kind != "voice" or "-mid:" not in ref.rest:
        raise ApiError.bad_request(
            "Parameter voiceRef is neither a system voice name nor a recognized user voice "
            "reference-id"
        )
    if ref.uid != world.uid:
        raise ApiError.foreign_ref(ref.uid, "voice")
    voice = world.library.voice(ref)
    if voice is None:
        raise ApiError.not_found(f"Voice not found: {ref.key}")
    return voice


async def get_voice(request: web.Request) -> web.StreamResponse:
    """``GET voices/{ref}``: a system preset (static sample) or a user voice (fresh audioUrl)."""
    world: World = request.app[WORLD]
    value = request.match_info["ref"]
    preset = system_voice(value)
    if preset is not None:
        return json_response(system_json(preset))
    voice = _user_voice(world, value)
    request[REC].email = voice.email
    return json_response(voice_json(world, voice, audio=True))


async def delete_voice(request: web.Request) -> web.StreamResponse:
    """``DELETE voices/{ref}``: user voices only; characters keep an orphan reference."""
    world: World = request.app[WORLD]
    value = request.match_info["ref"]
    if system_voice(value) is not None or parse_ref(value) is None:
        raise ApiError.bad_request("Built-in voices cannot be deleted.")
    voice = _user_voice(world, value)
    request[REC].email = voice.email
    voice.deleted = True
    return json_response({"deleted": True, "workflowId": voice.workflow_id, "voice": value})


ROUTES = [
    ("POST", "voices", "POST voices", post_voice),
    ("GET", "voices", "GET voices", list_voices),
    ("GET", "voices/{ref}", "GET voices/{ref}", get_voice),
    ("DELETE", "voices/{ref}", "DELETE voices/{ref}", delete_voice),
]
"""(method, path under the base URL, route template, handler)."""
