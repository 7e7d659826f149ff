"""``extra_body`` / ``extra_query`` / ``extra_headers`` on every call (issue 10 §4): sent
as-is even with validation on, for fields the API adds faster than SDK releases."""

from __future__ import annotations

import inspect
import json
import typing

import pytest

import flowapi
from flowapi import FlowSession, RequestOptions, VideoParams
from flowapi.resources import (
    accounts,
    assets,
    captcha,
    characters,
    images,
    jobs,
    videos,
    voices,
)
from tests.conftest_replay import Replay

pytestmark = pytest.mark.anyio

JOB = {"jobid": "j1v-u1-email:a@b.c-bot:google-flow", "type": "video", "status": "created",
       "created": "2026-11-20T10:00:00Z", "request": {}}


async def test_extra_body_is_sent_as_is_with_validation_on(
        replay: tuple[Replay, FlowSession]) -> None:
    server, flow = replay
    server.set("videos", JOB, status=201)
    # validation would refuse this model in params; the escape hatch sends it anyway
    job = await flow.jobs.submit(
        VideoParams(prompt="a fox", model="veo-3.1-lite"),
        extra_body={"model": "omni-flash-2.0", "newKnob": {"level": 3}},
        extra_query={"beta": "1"}, extra_headers={"X-Trace": "t-1"})
    assert job.http_status == 201
    method, path, query, headers, raw = server.seen[-1]
    body = json.loads(raw)
    assert (method, path) == ("POST", "videos")
    assert body == {"prompt": "a fox", "model": "omni-flash-2.0", "newKnob": {"level": 3},
                    "async": True}
    assert query == {"beta": "1"}
    assert headers["X-Trace"] == "t-1"
    assert headers["Authorization"] == "Bearer user:1-replay-token"


async def test_extra_query_and_headers_on_a_get(replay: tuple[Replay, FlowSession]) -> None:
    server, flow = replay
    server.set("assets/media/me@gmail.com", {"media": [], "likelyUploads": 0})
    await flow.assets.list_media("me@gmail.com", project_id="p1",
                                 extra_query={"limit": "50", "type": "videos"},
                                 extra_headers={"X-Debug": "1"})
    _, _, query, headers, _ = server.seen[-1]
    assert query == {"projectId": "p1", "limit": "50", "type": "videos"}
    assert headers["X-Debug"] == "1"
    server.set("assets/user:1-email:6a-image:a", {"url": "https://x/y", "mediaGenerationId": "a"})
    await flow.assets.get("user:1-email:6a-image:a", extra_query={"raw": "true"})
    assert server.seen[-1][2] == {"raw": "true"}


async def test_unsendable_extras_are_refused_locally(replay: tuple[Replay, FlowSession]) -> None:
    server, flow = replay
    with pytest.raises(flowapi.InvalidParamsError, match="GET"):
        await flow.accounts.list(extra_body={"x": 1})
    with pytest.raises(flowapi.InvalidParamsError, match=r"(?i)authorization"):
        await flow.accounts.list(extra_headers={"authorization": "Bearer other"})
    with pytest.raises(flowapi.InvalidParamsError, match="async"):
        await flow.jobs.submit(VideoParams(prompt="p"), extra_body={"async": False})
    assert server.seen == []


def _accepts(func: typing.Any, name: str) -> bool:
    sig = inspect.signature(func)
    if name in sig.parameters:
        return True
    hints = typing.get_type_hints(func, include_extras=True)
    var = next((p for p in sig.parameters.values() if p.kind is p.VAR_KEYWORD), None)
    if var is None:
        return False
    hint = hints.get(var.name)
    return typing.get_origin(hint) is typing.Unpack and typing.get_args(hint) == (
        RequestOptions,)


RESOURCES = [accounts.Accounts, assets.Assets, captcha.Captcha, characters.Characters,
             images.Images, jobs.Jobs, videos.Videos, voices.Voices]
INTERNAL = {"executing_ids"}  # a helper over jobs.stats


@pytest.mark.parametrize("cls", RESOURCES, ids=lambda c: c.__name__)
def test_every_call_takes_the_escape_hatch(cls: type) -> None:
    for name, func in inspect.getmembers(cls, inspect.isfunction):
        if name.startswith("_") or name in INTERNAL:
            continue
        assert _accepts(func, "extra_query"), f"{cls.__name__}.{name}"
        assert _accepts(func, "extra_headers"), f"{cls.__name__}.{name}"
        if name not in ("stats",):  # GET /jobs has no body
            assert _accepts(func, "extra_body"), f"{cls.__name__}.{name}"
