"""Models and parameters of the Sep–Nov 2026 docs (api-update-2026-h2 §5): omni-flash-1.2,
``resolution``, 720p upscale, Omni first+last frames, image defaults and aliases.

The capability table (``flowapi._capabilities``), the client-side validator and the fake
must agree with the spec — and with each other: the table-driven test sends the same
bodies to both and compares the verdicts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from flowapi import InvalidParamsError
from flowapi._capabilities import VIDEO_MODELS, validate_wire
from flowapi.testing import FakeFlowServer
from flowapi.testing._accounts import credits_for
from tests.conftest_fake import Api

pytestmark = pytest.mark.anyio

REFS = "@refs"  # placeholder: replaced by uploaded image ids


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    async with FakeFlowServer(time_scale=0.001) as fake, aiohttp.ClientSession() as s:
        yield Api(fake, s)


def _fill(body: dict[str, Any], images: list[str]) -> dict[str, Any]:
    out = {"prompt": "a fox", "async": True}
    it = iter(images)
    for key, value in body.items():
        out[key] = next(it) if value == REFS else value
    return out


def _refs(n: int) -> dict[str, str]:
    return {f"referenceImage_{i}": REFS for i in range(1, n + 1)}


# (body, accepted?) — what the current spec allows and forbids on POST /videos
VIDEO_CASES: list[tuple[dict[str, Any], bool]] = [
    ({"model": "omni-flash-1.2"}, True),
    ({"model": "omni-flash-1.2", "duration": 3}, True),
    ({"model": "omni-flash-1.2", "duration": 15}, True),
    ({"model": "omni-flash-1.2", "duration": 11, "resolution": "360p"}, True),
    ({"model": "omni-flash-1.2", "duration": 2}, False),
    ({"model": "omni-flash-1.2", "duration": 16}, False),
    ({"model": "omni-flash-1.2", "aspectRatio": "1:1"}, False),
    ({"model": "omni-flash-1.2", **_refs(10)}, True),
    ({"model": "omni-flash", **_refs(7)}, True),
    ({"model": "omni-flash", "duration": 10, "resolution": "360p"}, True),
    ({"model": "omni-flash", "duration": 5}, False),
    ({"model": "veo-3.1-fast", "resolution": "720p"}, True),
    ({"model": "veo-3.1-fast", "resolution": "360p"}, False),
    ({"model": "omni-flash", "resolution": "1080p"}, False),
    ({"model": "omni-flash", "startImage": REFS, "endImage": REFS, "duration": 10,
      "resolution": "720p"}, True),
    ({"model": "omni-flash-1.2", "startImage": REFS, "endImage": REFS, "duration": 8}, True),
    ({"model": "omni-flash", "startImage": REFS, "endImage": REFS,
      "referenceImage_1": REFS}, False),
    ({"model": "omni-flash", "startImage": REFS, "endImage": REFS,
      "referenceAudio_1": "Zephyr"}, False),
    ({"model": "omni-flash", "endImage": REFS}, False),
    ({"model": "veo-3.1-lite", "startImage": REFS, "endImage": REFS}, True),
]


@pytest.mark.parametrize(("body", "accepted"), VIDEO_CASES,
                         ids=[str(i) for i in range(len(VIDEO_CASES))])
async def test_validator_and_fake_agree_with_the_spec(api: Api, body: dict[str, Any],
                                                      accepted: bool) -> None:
    needed = sum(1 for v in body.values() if v == REFS)
    images = [await api.upload_image() for _ in range(needed)]
    wire = _fill(body, images)
    try:
        validate_wire("VideoParams", wire)
        local = True
    except InvalidParamsError:
        local = False
    status, answer, _ = await api.post("videos", json=wire)
    assert local is accepted, (body, "validator")
    assert (status == 201) is accepted, (body, status, answer)


def test_capability_table_rows() -> None:
    one_two = VIDEO_MODELS["omni-flash-1.2"]
    assert one_two.durations == frozenset(range(3, 16))
    assert one_two.max_images_r2v == 10
    assert one_two.resolutions == {"720p", "360p"}
    assert VIDEO_MODELS["omni-flash"].end_image
    assert VIDEO_MODELS["veo-3.1-fast"].resolutions == {"720p"}


def test_omni_credits_follow_the_nov_2026_tables() -> None:
    assert [credits_for("omni-flash", duration=d, ultra=False) for d in (4, 6, 8, 10)] == [
        7, 10, 12, 15]
    assert [credits_for("omni-flash", duration=d, ultra=False, resolution="360p")
            for d in (4, 6, 8, 10)] == [4, 5, 6, 7]
    assert credits_for("omni-flash", duration=8, ultra=False, v2v=True) == 20
    assert [credits_for("omni-flash-1.2", duration=d, ultra=False) for d in (3, 8, 10, 15)] == [
        9, 24, 30, 60]


async def test_omni_1_2_job_charges_per_second(api: Api) -> None:
    status, job, _ = await api.post("videos", json={"prompt": "p", "model": "omni-flash-1.2",
                                                    "duration": 13, "async": True})
    assert status == 201, job
    assert api.fake.jobs[job["jobid"]].credits_spent == 30 + 18


async def test_upscale_720p_promotes_omni_clips_only(api: Api) -> None:
    draft = (await api.video(model="omni-flash", resolution="360p"))["media"][0]
    status, body, _ = await api.post("videos/upscale", json={
        "mediaGenerationId": draft["mediaGenerationId"], "resolution": "720p"})
    assert status == 200, body
    veo = (await api.video(model="veo-3.1-lite"))["media"][0]
    status, body, _ = await api.post("videos/upscale", json={
        "mediaGenerationId": veo["mediaGenerationId"], "resolution": "720p"})
    assert status == 400, body


async def test_extend_with_omni_flash_1_2(api: Api) -> None:
    src = (await api.video(model="omni-flash-1.2", duration=5))["media"][0]
    status, body, _ = await api.post("videos/extend", json={
        "mediaGenerationId": src["mediaGenerationId"], "prompt": "on", "model": "omni-flash-1.2",
        "async": True})
    assert status == 201, body
    status, body, _ = await api.post("videos/extend", json={
        "mediaGenerationId": src["mediaGenerationId"], "prompt": "on"})
    assert status == 400, body  # Veo extends Veo sources only


async def test_image_defaults_and_aliases(api: Api) -> None:
    status, body, _ = await api.post("images", json={"prompt": "a lighthouse"})
    assert status == 200, body
    job = api.fake.jobs[body["jobId"]]
    assert job.model == "nano-banana-2-lite"
    assert len(body["media"]) == 4
    assert body["media"][0]["image"]["generatedImage"]["aspectRatio"] == (
        "IMAGE_ASPECT_RATIO_LANDSCAPE")
    for alias, model in (("imagen-4", "nano-banana-2-lite"), ("nano-banana", "nano-banana-2")):
        status, body, _ = await api.post("images", json={"prompt": "x", "model": alias,
                                                         "count": 1})
        assert status == 200, body
        assert api.fake.jobs[body["jobId"]].model == model
    validate_wire("ImageParams", {"prompt": "x", "model": "imagen-4"})


async def test_nano_banana_2_defaults_to_auto_with_references(api: Api) -> None:
    portrait = await _portrait_image(api)
    status, body, _ = await api.post("images", json={
        "prompt": "x", "model": "nano-banana-2", "count": 1, "reference_1": portrait})
    assert status == 200, body
    assert body["media"][0]["image"]["generatedImage"]["aspectRatio"] == (
        "IMAGE_ASPECT_RATIO_PORTRAIT")
    status, body, _ = await api.post("images", json={  # Lite stays 16:9 in I2I
        "prompt": "x", "count": 1, "reference_1": portrait})
    assert body["media"][0]["image"]["generatedImage"]["aspectRatio"] == (
        "IMAGE_ASPECT_RATIO_LANDSCAPE")


async def _portrait_image(api: Api) -> str:
    status, body, _ = await api.post("images", json={"prompt": "tall", "count": 1,
                                                     "aspectRatio": "9:16"})
    assert status == 200, body
    return str(body["media"][0]["image"]["generatedImage"]["mediaGenerationId"])


async def test_lite_images_can_be_upscaled(api: Api) -> None:
    status, body, _ = await api.post("images", json={"prompt": "x", "count": 1})
    mgid = body["media"][0]["image"]["generatedImage"]["mediaGenerationId"]
    status, body, _ = await api.post("images/upscale", json={"mediaGenerationId": mgid})
    assert status == 200, body
