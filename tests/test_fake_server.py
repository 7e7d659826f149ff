"""Tests of the fake itself (``flowapi.testing``) with a plain ``aiohttp.ClientSession``."""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from flowapi.testing import FakeAccount, FakeFlowServer
from tests.conftest_fake import EXAMPLES, MEDIA, Api

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def fake() -> AsyncIterator[FakeFlowServer]:
    async with FakeFlowServer(time_scale=0.001) as f:
        yield f


@pytest.fixture
async def api(fake: FakeFlowServer) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as s:
        yield Api(fake, s)


# -- lifecycle, auth, admin ----------------------------------------------------------------


async def test_urls_and_lifecycle() -> None:
    fake = FakeFlowServer()
    with pytest.raises(RuntimeError):
        _ = fake.base_url
    await fake.start()
    try:
        assert fake.base_url.startswith("http://127.0.0.1:")
        assert fake.base_url.endswith("/v1/google-flow/")
        assert fake.media_base_url.startswith("http://localhost:")
        assert fake.media_base_url.endswith("/")
        assert fake.token == "user:1234-fake-token"
        assert fake.clock.time_scale == 0.01
    finally:
        await fake.close()


async def test_auth_required(api: Api, fake: FakeFlowServer) -> None:
    for method, path in [
        ("GET", "accounts"),
        ("GET", "jobs"),
        ("POST", "videos"),
        ("GET", "voices"),
    ]:
        status, body, _ = await api.call(method, path, auth=False)
        assert (status, body) == (401, {"error": "Unauthorized"})
    status, body, _ = await api.call(
        "GET", "accounts", headers={"Authorization": "Bearer nope"}, auth=False
    )
    assert status == 401
    assert all(not r.auth_ok for r in fake.requests)
    assert fake.state()["counters"]["auth_failures"] == 5
    assert not fake.jobs


async def test_admin_state_since_faults_reset(api: Api, fake: FakeFlowServer) -> None:
    await api.get("accounts")
    await api.get("jobs")
    admin = fake.base_url.split("/v1/")[0]
    async with api.s.get(f"{admin}/_fake/state") as r:
        state = await r.json()
    assert set(state) >= {"clock", "requests", "jobs", "counters"}
    assert [r["route"] for r in state["requests"]] == ["GET accounts", "GET jobs"]
    assert state == json.loads(json.dumps(fake.state())) | {"clock": state["clock"]}
    async with api.s.get(f"{admin}/_fake/state?since=1&jobs=0") as r:
        later = await r.json()
    assert [r["index"] for r in later["requests"]] == [1]
    assert "jobs" not in later
    async with api.s.post(f"{admin}/_fake/faults", data="unavailable@GET accounts") as r:
        assert r.status == 200
    status, body, _ = await api.get("accounts")
    assert status == 503
    assert body["error"]["status"] == "UNAVAILABLE"
    async with api.s.post(f"{admin}/_fake/faults", data="nonsense:2") as r:
        assert r.status == 400
    async with api.s.post(f"{admin}/_fake/faults", data="") as r:
        assert r.status == 200
    async with api.s.post(f"{admin}/_fake/reset") as r:
        assert r.status == 200
    assert fake.requests == []
    assert fake.jobs == {}


# -- videos, jobs, media -------------------------------------------------------------------


async def test_async_submit_poll_download(api: Api, fake: FakeFlowServer) -> None:
    status, body, _ = await api.post(
        "videos", json={"prompt": "fox", "async": True, "count": 2, "replyRef": "m-1", "seed": 7}
    )
    assert status == 201
    assert body["type"] == "video"
    assert body["status"] == "created"
    assert body["request"]["async"] is True
    assert body["request"]["replyRef"] == "m-1"
    assert len(body["response"]["operations"]) == 2
    assert {op["status"] for op in body["response"]["operations"]} == {
        "MEDIA_GENERATION_STATUS_PENDING"
    }
    assert "captcha" in body["response"]
    jobid = body["jobid"]
    assert jobid.startswith("j")
    assert "-u1234-email:fake.user@gmail.com-bot:google-flow" in jobid
    job = fake.jobs[jobid]
    assert job.async_
    assert job.reply_ref == "m-1"
    assert job.model == "veo-3.1-fast"
    assert 60 <= job.finished_at - job.created_at <= 120
    assert 1 <= job.started_at - job.created_at <= 5
    done = await api.wait_job(jobid)
    assert done["status"] == "completed"
    media = done["response"]["media"]
    assert len(media) == 2
    assert [m["video"]["generatedVideo"]["seed"] for m in media] == [7, 8]
    assert done["response"]["remainingCredits"] == 1_000_000 - 20
    assert media[0]["mediaGenerationId"] in job.media_ids
    url = media[0]["videoUrl"]
    assert url.startswith(fake.media_base_url)
    async with api.s.get(url) as r:
        data = await r.read()
        assert r.status == 200
        assert r.headers["Content-Type"] == "video/mp4"
        assert int(r.headers["Content-Length"]) == len(data)
    assert data == (MEDIA / "sample.mp4").read_bytes()
    async with api.s.get(media[0]["thumbnailUrl"]) as r:
        assert r.status == 200
        assert r.headers["Content-Type"] == "image/jpeg"
    counters = fake.state()["counters"]
    assert counters["media_requests"] == 2
    assert counters.get("media_requests_with_auth", 0) == 0
    async with api.s.get(url, headers=api.h) as r:
        assert r.status == 200
    assert fake.state()["counters"]["media_requests_with_auth"] == 1
    async with api.s.get(url.split("&Signature")[0] + "&Signature=bad") as r:
        assert r.status == 403
    async with api.s.get(fake.media_base_url + "video/unknown.mp4?Expires=1&Signature=x") as r:
        assert r.status == 404
    async with api.s.get(url, headers={"Range": "bytes=0-99"}) as r:
        assert r.status == 206
        assert len(await r.read()) == 100


def test_sample_media_is_valid() -> None:
    from flowapi.testing._sniff import sniff

    mp4 = (MEDIA / "sample.mp4").read_bytes()
    assert sniff(mp4, "video/mp4") == (320, 180, 1.5)
    assert b"avc1" in mp4 and b"mp4a" in mp4  # H.264 video + AAC audio sample entries
    assert sniff((MEDIA / "thumb.jpg").read_bytes(), "image/jpeg") == (320, 180, None)
    assert sniff((MEDIA / "sample.png").read_bytes(), "image/png") == (320, 180, None)
    assert (MEDIA / "sample.gif").read_bytes()[:6] == b"GIF89a"
    for name in ("first_image.jpeg", "last_image.jpeg"):
        assert sniff((EXAMPLES / name).read_bytes(), "image/jpeg") == (640, 360, None)
    for name in ("sample.mp4", "thumb.jpg", "sample.png", "sample.gif", "sample.wav"):
        assert (MEDIA / name).stat().st_size < 100_000
    if shutil.which("ffprobe"):
        probe = subprocess.run(
            ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0",
             str(MEDIA / "sample.mp4")],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert probe.stdout.split() == ["h264", "aac"]


async def test_sync_video_and_record_shape(api: Api, fake: FakeFlowServer) -> None:
    body = await api.video(model="veo-3.1-lite", aspectRatio="portrait", duration=6)
    assert set(body) == {"jobId", "media", "remainingCredits", "captcha"}
    item = body["media"][0]
    assert item["video"]["generatedVideo"]["aspectRatio"] == "VIDEO_ASPECT_RATIO_PORTRAIT"
    assert item["video"]["dimensions"]["length"] == "6s"
    assert (
        item["mediaMetadata"]["mediaStatus"]["mediaGenerationStatus"]
        == "MEDIA_GENERATION_STATUS_SUCCESSFUL"
    )
    assert body["captcha"]["attempts"][0]["success"] is True
    job = fake.jobs[body["jobId"]]
    assert not job.async_
    assert job.status == "completed"
    rec = fake.requests[-1]
    assert rec.route == "POST videos"
    assert rec.status == 200
    assert rec.job_id == body["jobId"]
    assert rec.email == "fake.user@gmail.com"
    assert rec.model == "veo-3.1-lite"
    assert rec.finished_t is not None
    assert rec.finished_t - rec.t >= 50


async def test_video_validation(api: Api) -> None:
    cases: list[dict[str, Any]] = [
        {},
        {"prompt": "x", "model": "veo-9"},
        {"prompt": "x", "count": 5},
        {"prompt": "x", "count": 0},
        {"prompt": "x", "duration": 5},
        {"prompt": "x", "duration": 10},
        {"prompt": "x", "model": "veo-3.1-quality", "duration": 4},
        {"prompt": "x", "model": "omni-flash", "aspectRatio": "1:1"},
        {"prompt": "x", "endImage": "user:1234-email:00-image:x"},
        {"prompt": "x", "captchaRetry": 3, "captchaToken": "t" * 30},
        {"prompt": "x", "captchaRetry": 11},
        {"prompt": "x", "captchaOrder": "EzCaptcha"},
        {"prompt": "x", "replyUrl": "https://e.com/" + "a" * 1024},
        {"prompt": "x", "seed": -1},
        {"prompt": "x @character_1"},
        {"prompt": "x", "referenceAudio_1": "Zephyr"},
        {"prompt": "x", "referenceVideo_1": "user:1234-email:00-video:x"},
    ]
    for body in cases:
        status, out, _ = await api.post("videos", json=body)
        assert status == 400, (body, out)
        assert isinstance(out["error"], str)
    status, out, _ = await api.post(
        "videos", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert status == 400
    status, out, _ = await api.post("videos", json={"prompt": "x", "email": "nobody@gmail.com"})
    assert (status, out) == (404, {"error": "Google Flow account nobody@gmail.com not found"})
    status, out, _ = await api.post(
        "videos", json={"prompt": "x", "startImage": "user:999-email:00-image:x"}
    )
    assert status == 403
    assert out["error"] == "Unauthorized access to user:999 detected in image reference"


async def test_r2v_quality_message_and_form_data(api: Api) -> None:
    img = await api.upload_image()
    status, out, _ = await api.post(
        "videos", json={"prompt": "x", "model": "veo-3.1-quality", "referenceImage_1": img}
    )
    assert status == 400
    assert out == {
        "error": "Model 'veo-3.1-quality' does not support R2V mode (MULTI_REFERENCE_NO_STYLE)"
    }
    form = aiohttp.FormData()
    for k, v in {"prompt": "form", "async": "true", "count": "2", "startImage": img}.items():
        form.add_field(k, v)
    status, out, _ = await api.post("videos", data=form)
    assert status == 201
    assert out["request"]["count"] == 2


async def test_i2v_routes_to_reference_owner() -> None:
    accounts = [FakeAccount(email="a@gmail.com"), FakeAccount(email="b@gmail.com")]
    async with (
        FakeFlowServer(time_scale=0.001, accounts=accounts) as f,
        aiohttp.ClientSession() as s,
    ):
        api = Api(f, s)
        first = await api.upload_image("b@gmail.com")
        status, body, _ = await api.upload(
            (EXAMPLES / "last_image.jpeg").read_bytes(), "image/jpeg", "b@gmail.com"
        )
        last = body["mediaGenerationId"]["mediaGenerationId"]
        assert body["email"] == "b@gmail.com"
        assert (body["width"], body["height"]) == (640, 360)
        for _ in range(3):
            status, out, _ = await api.post(
                "videos", json={"prompt": "p", "startImage": first, "endImage": last, "async": True}
            )
            assert status == 201, out
            assert f.jobs[out["jobid"]].email == "b@gmail.com"
        status, out, _ = await api.post(
            "videos", json={"prompt": "p", "startImage": first, "email": "a@gmail.com"}
        )
        assert status == 400
        assert "mismatch" in out["error"].lower()


async def test_job_errors_and_expiry() -> None:
    async with FakeFlowServer(time_scale=1e-7) as f, aiohttp.ClientSession() as s:
        api = Api(f, s)
        assert (await api.get("jobs/not-a-job"))[:2] == (400, {"error": "Invalid job ID format"})
        other = "j1121080116264424604v-u999-email:x@gmail.com-bot:google-flow"
        assert (await api.get(f"jobs/{other}"))[0] == 403
        missing = "j1121080116264424604v-u1234-email:x@gmail.com-bot:google-flow"
        assert (await api.get(f"jobs/{missing}"))[:2] == (404, {"error": "Job not found"})
        _, out, _ = await api.post("videos", json={"prompt": "p", "async": True})
        jobid = out["jobid"]
        assert (await api.get(f"jobs/{jobid}"))[0] == 200
        await asyncio.sleep(7 * 86400 * 1e-7 + 0.01)
        assert (await api.get(f"jobs/{jobid}"))[:2] == (
            410,
            {"error": "Job has expired", "code": 410},
        )


async def test_listing_shapes(api: Api, fake: FakeFlowServer) -> None:
    fast = await api.post("videos", json={"prompt": "p", "async": True, "model": "veo-3.1-lite"})
    await api.wait_job(fast[1]["jobid"])
    _, slow, _ = await api.post(
        "videos", json={"prompt": "p", "async": True, "model": "veo-3.1-quality"}
    )
    jobid = slow["jobid"]
    status, summary, _ = await api.get("jobs")
    assert status == 200
    assert summary["emails"] == ["fake.user@gmail.com"]
    assert set(summary) == {"emails", "videos", "images", "combined"}
    row = summary["videos"]["summary"]["fake.user@gmail.com"]
    assert set(row) == {
        "executing",
        "completed",
        "failed",
        "rateLimited",
        "avgResponseTime",
        "score",
    }
    assert row["executing"] == 1
    assert row["completed"] == 1
    assert row["score"] == 1
    assert "executing" not in summary["videos"]
    _, executing, _ = await api.get("jobs/?options=executing")
    entry = executing["videos"]["executing"][jobid]
    assert entry["email"] == "fake.user@gmail.com"
    assert entry["timestamp"] == round(fake.jobs[jobid].created_at * 1000)
    assert ":" in entry["elapsed"]
    assert "history" not in executing["videos"]
    assert set(executing["combined"]) == {"summary"}
    _, history, _ = await api.get("jobs?options=history")
    ((hid, h),) = history["videos"]["history"].items()
    assert hid == fast[1]["jobid"]
    assert h["httpStatus"] == 200
    assert h["responseTime"] > 0
    assert set(h) == {"email", "timestamp", "httpStatus", "responseTime"}
    assert jobid in history["videos"]["executing"]
    status, out, _ = await api.get("jobs?options=all")
    assert (status, out) == (
        400,
        {"error": "Invalid options parameter. Use: summary, executing, or history"},
    )


# -- assets ------------------------------------------------------------------------------


async def test_uploads(api: Api) -> None:
    png = (MEDIA / "sample.png").read_bytes()
    status, out, _ = await api.upload(png, "image/png")
    assert status == 200
    assert (out["width"], out["height"], out["email"]) == (320, 180, "fake.user@gmail.com")
    mgid = out["mediaGenerationId"]["mediaGenerationId"]
    assert mgid.startswith("user:1234-email:" + b"fake.user@gmail.com".hex() + "-image:")
    status, out, _ = await api.upload(
        (MEDIA / "sample.mp4").read_bytes(), "video/mp4", "fake.user@gmail.com"
    )
    assert status == 200
    assert out["durationSeconds"] == 1.5
    assert out["width"] == 320
    assert "-video:" in out["mediaGenerationId"]["mediaGenerationId"]
    status, out, _ = await api.upload(b"", "image/png")
    assert status == 400
    status, out, _ = await api.upload(b"GIF89a", "image/gif")
    assert status == 400
    assert "not supported" in out["error"]
    status, out, _ = await api.upload(b"not a png at all", "image/png")
    assert status == 400
    status, out, _ = await api.upload(png, "image/png", "nobody@gmail.com")
    assert (status, out) == (404, {"error": "Google Flow account nobody@gmail.com not found"})
    status, out, _ = await api.get(f"assets/{mgid}")
    assert status == 200
    assert out["mediaGenerationId"] == mgid
    assert out["url"].startswith(api.fake.media_base_url)


async def test_upload_too_large() -> None:
    async with (
        FakeFlowServer(time_scale=0.001, max_body_bytes=1000) as f,
        aiohttp.ClientSession() as s,
    ):
        status, out, _ = await Api(f, s).upload(
            (MEDIA / "sample.png").read_bytes() * 2, "image/png"
        )
        assert (status, out) == (400, {"error": "File size (2888) is over 1000 bytes"})


# -- accounts, captcha -----------------------------------------------------------------------


async def test_accounts_crud(api: Api) -> None:
    status, out, _ = await api.get("accounts")
    assert list(out) == ["fake.user@gmail.com"]
    assert out["fake.user@gmail.com"]["health"] == "OK"
    status, out, _ = await api.get("accounts/fake.user%40gmail.com")
    assert out["credits"] == {"credits": 1_000_000, "userPaygateTier": "PAYGATE_TIER_TWO"}
    models = out["models"]["videoModels"]
    assert {m["displayName"] for m in models} >= {"Veo 3.1 - Fast", "Veo 3.1 - Quality"}
    assert all(isinstance(m["videoGenerationTimeSeconds"], int) for m in models)
    assert out["sessionData"]["user"]["email"] == "fa***@gmail.com"
    status, out, _ = await api.post("accounts", json={"cookies": "garbage"})
    assert (status, out) == (400, {"error": "Failed to validate cookies: 401 Unauthorized"})
    table = "HSID\tAYQ1\t.google.com\t/\t2027-11-10\nemail\tnew@gmail.com\nSSID\tAbc\t.google.com"
    status, out, _ = await api.post("accounts", json={"cookies": table})
    assert status == 201
    assert out["accountCookies"][0]["name"] == "HSID"
    status, out, _ = await api.post("accounts", json={"cookies": table})
    assert status == 200
    status, out, _ = await api.delete("accounts/new%40gmail.com")
    assert (status, out) == (200, {"message": "Google Flow account new@gmail.com deleted"})
    status, out, _ = await api.delete("accounts/new%40gmail.com")
    assert (status, out) == (404, {"error": "Google Flow account new@gmail.com not found"})


async def test_plans_and_credits() -> None:
    accounts = [
        FakeAccount(email="free@gmail.com", plan="free"),
        FakeAccount(email="pro@gmail.com", plan="pro", credits=30),
    ]
    async with (
        FakeFlowServer(time_scale=0.001, accounts=accounts) as f,
        aiohttp.ClientSession() as s,
    ):
        api = Api(f, s)
        status, out, _ = await api.post("videos", json={"prompt": "p", "email": "free@gmail.com"})
        assert (status, out) == (
            402,
            {"error": "Account has no subscription or subscription expired"},
        )
        pro = {"prompt": "p", "email": "pro@gmail.com"}
        assert (await api.post("videos", json={**pro, "duration": 4}))[0] == 400
        assert (await api.post("videos", json={**pro, "model": "veo-3.1-lite-low-priority"}))[
            0
        ] == 403
        body = await api.video(**pro)
        assert body["remainingCredits"] == 10
        assert (await api.post("videos", json=pro))[0] == 402
        _, acct, _ = await api.get("accounts/pro%40gmail.com")
        assert acct["credits"] == {"credits": 10, "userPaygateTier": "PAYGATE_TIER_ONE"}
        assert all("creditCost" in m for m in acct["models"]["videoModels"])


async def test_captcha_providers_and_stats(api: Api) -> None:
    assert (await api.get("accounts/captcha-providers"))[1] == {"freeCaptchaCredits": 100}
    await api.video()
    assert (await api.get("accounts/captcha-providers"))[1] == {"freeCaptchaCredits": 99}
    status, out, _ = await api.post("accounts/captcha-providers", json={"EzCaptcha": "abcdef12345"})
    assert (status, out) == (200, {"EzCaptcha": "abcde…"})
    assert (await api.post("accounts/captcha-providers", json={"Nope": "x"}))[0] == 400
    body = await api.video(captchaOrder="EzCaptcha")
    assert body["captcha"]["service"] == "EzCaptcha"
    body = await api.video(captchaToken="x" * 40)
    assert body["captcha"]["service"] == "UserProvided"
    assert "taskId" not in body["captcha"]
    status, stats, _ = await api.get("accounts/captcha-stats")
    assert status == 200
    assert stats["total"] == 3
    assert len(stats["data"]) == 3
    assert stats["summary"]["sample_size_by_provider"]["EzCaptcha"] == 1
    assert stats["data"][0]["route"] == "post-videos"
    assert stats["data"][0]["statusCode"] == 200
    _, anon, _ = await api.get("accounts/captcha-stats?anonymized=true")
    assert "data" not in anon
    assert anon["summary"]["avg_attempt"] == 1
    _, limited, _ = await api.get("accounts/captcha-stats?limit=1&provider=EzCaptcha")
    assert limited["total"] == 1
    assert limited["limit"] == 1
    _, empty, _ = await api.get("accounts/captcha-stats?date=2020-01-01")
    assert empty["total"] == 0
    assert "summary" not in empty
    assert (await api.get("accounts/captcha-stats?date=yesterday"))[0] == 400
    assert (await api.get("accounts/captcha-stats?provider=Foo"))[0] == 400
    assert (await api.get("accounts/captcha-stats?limit=0"))[0] == 400


# -- images, video tools -------------------------------------------------------------------


async def test_images_and_upscale(api: Api, fake: FakeFlowServer) -> None:
    status, out, _ = await api.post(
        "images", json={"prompt": "cat", "model": "nano-banana-pro", "count": 2}
    )
    assert status == 200
    assert len(out["media"]) == 2
    gen = out["media"][0]["image"]["generatedImage"]
    assert gen["fifeUrl"].startswith(fake.media_base_url)
    async with api.s.get(gen["fifeUrl"]) as r:
        assert r.status == 200
        assert r.headers["Content-Type"] == "image/jpeg"
    assert fake.jobs[out["jobId"]].type == "image"
    status, up, _ = await api.post(
        "images/upscale", json={"mediaGenerationId": gen["mediaGenerationId"]}
    )
    assert status == 200
    assert base64.b64decode(up["encodedImage"])[:2] == b"\xff\xd8"
    uploaded = await api.upload_image()
    status, up, _headers = await api.post("images/upscale", json={"mediaGenerationId": uploaded})
    assert status == 429
    assert "UPGRADEABLE" in up["error"]["details"][0]["reason"]
    assert (await api.post("images/upscale", json={}))[1] == {
        "error": "mediaGenerationId is required"
    }
    status, out, _ = await api.post(
        "images", json={"prompt": "cat", "reference_1": uploaded, "aspectRatio": "auto"}
    )
    assert status == 200
    assert len(out["media"]) == 4
    assert (await api.post("images", json={"prompt": "x", "aspectRatio": "auto"}))[0] == 400


async def test_extend_upscale_gif_concat(api: Api, fake: FakeFlowServer) -> None:
    src = (await api.video())["media"][0]["mediaGenerationId"]
    status, ext, _ = await api.post(
        "videos/extend", json={"mediaGenerationId": src, "prompt": "more", "async": True}
    )
    assert status == 201
    assert set(ext["response"]) == {"captcha"}
    done = await api.wait_job(ext["jobid"])
    extended = done["response"]["media"][0]["mediaGenerationId"]
    status, up, _ = await api.post("videos/upscale", json={"mediaGenerationId": extended})
    assert status == 200
    assert up["media"][0]["mediaGenerationId"].endswith("_upsampled")
    assert (
        up["operations"][0]["operation"]["metadata"]["video"]["model"] == "veo_3_1_upsampler_1080p"
    )
    status, gif, _ = await api.post("videos/gif", json={"mediaGenerationId": src})
    assert status == 200
    assert base64.b64decode(gif["encodedGif"])[:6] == b"GIF89a"
    img = await api.upload_image()
    status, out, _ = await api.post("videos/gif", json={"mediaGenerationId": img})
    assert (status, out) == (400, {"error": "mediaGenerationId type must be 'video', got 'image'"})
    media = [{"mediaGenerationId": src}, {"mediaGenerationId": extended, "trimStart": 1}]
    status, cat, _ = await api.post("videos/concatenate", json={"media": media})
    assert status == 200
    assert cat["inputsCount"] == 2
    assert cat["status"] == "MEDIA_GENERATION_STATUS_SUCCESSFUL"
    assert base64.b64decode(cat["encodedVideo"]) == (MEDIA / "sample.mp4").read_bytes()
    status, out, _ = await api.post("videos/concatenate", json={"media": media[:1]})
    assert status == 400
    assert out["code"] == 400
    omni = (await api.video(model="omni-flash"))["media"][0]["mediaGenerationId"]
    status, out, _ = await api.post(
        "videos/extend", json={"mediaGenerationId": omni, "prompt": "x"}
    )
    assert status == 400
    assert "Veo" in out["error"]


async def test_v2v_edit_uses_uploaded_clip(api: Api, fake: FakeFlowServer) -> None:
    _, up, _ = await api.upload((MEDIA / "sample.mp4").read_bytes(), "video/mp4")
    vid = up["mediaGenerationId"]["mediaGenerationId"]
    body = await api.video(model="omni-flash", referenceVideo_1=vid)
    assert fake.jobs[body["jobId"]].meta["mode"] == "v2v"
    assert fake.jobs[body["jobId"]].credits_spent == 20  # update §5.1 (June page: 40)
    status, _out, _ = await api.post(
        "videos",
        json={"prompt": "x", "model": "omni-flash", "referenceVideo_1": vid, "duration": 8},
    )
    assert status == 400


# -- voices, characters ----------------------------------------------------------------------


async def test_voices_and_characters(api: Api) -> None:
    email = "fake.user@gmail.com"
    _, lst, _ = await api.get(f"voices?email={email}&source=system")
    assert len(lst["voices"]) == 30
    assert lst["voices"][0]["source"] == "system"
    assert (await api.get("voices"))[:2] == (400, {"error": "Parameter email is required"})
    status, sys_voice, _ = await api.get("voices/zephyr")
    assert status == 200
    assert sys_voice["voice"] == "Zephyr"
    assert sys_voice["sampleUrl"].endswith("Zephyr.wav")
    body = {
        "email": email,
        "voice": "Kore",
        "displayName": "Narrator",
        "dialog": "Hello",
        "voicePerformance": "calm",
    }
    status, voice, _ = await api.post("voices", json=body)
    assert status == 200
    assert voice["source"] == "user"
    assert "-voice:" in voice["voice"]
    assert "audioUrl" in voice
    assert (await api.post("voices", json={**body, "voice": "kore"}))[0] == 400
    _, users, _ = await api.get(f"voices?email={email}&source=user")
    assert [v["voice"] for v in users["voices"]] == [voice["voice"]]
    status, got, _ = await api.get(f"voices/{voice['voice']}")
    assert status == 200
    assert got["baseVoice"] == "Kore"
    assert "audioUrl" in got
    img = await api.upload_image()
    status, ch, _ = await api.post(
        "characters", json={"displayName": "Cat", "imageReference_1": img, "voice": voice["voice"]}
    )
    assert status == 200
    assert ch["character"].endswith(f"-imgs:1-voice:{voice['workflowId']}")
    status, ch2, _ = await api.post(
        "characters", json={"displayName": "Dog", "imageReference_1": img, "voice": "Umbriel"}
    )
    assert ch2["character"].endswith("-imgs:1-voice:umbriel")
    _, chars, _ = await api.get(f"characters?email={email}")
    shapes = {c["displayName"]: c["voice"] for c in chars["characters"]}
    assert shapes["Cat"]["source"] == "user"
    assert shapes["Dog"] == {
        "source": "system",
        "voice": "Umbriel",
        "displayName": "Umbriel",
    }
    vid = await api.video(character_1=ch["character"], prompt="@character_1 walks")
    assert vid["media"]
    assert (await api.delete("voices/Kore"))[:2] == (
        400,
        {"error": "Built-in voices cannot be deleted."},
    )
    status, deleted, _ = await api.delete(f"voices/{voice['voice']}")
    assert deleted == {"deleted": True, "workflowId": voice["workflowId"], "voice": voice["voice"]}
    _, orphan, _ = await api.get(f"characters/{ch['character']}")
    assert orphan["voice"] == {"workflowId": voice["workflowId"], "deleted": True}
    assert orphan["imageReferences"][0]["previewUrl"].startswith(api.fake.media_base_url)
    assert (await api.get(f"voices/{voice['voice']}"))[0] == 404
    status, out, _ = await api.delete(f"characters/{ch['character']}")
    assert out["deleted"] is True
    assert out["entityId"] == ch["entityId"]
    assert (await api.get(f"characters/{ch['character']}"))[0] == 404
    assert (await api.get("characters/garbage"))[:2] == (
        400,
        {"error": "Parameter character has incorrect format"},
    )
    foreign = ch["character"].replace("user:1234-", "user:77-", 1)
    assert (await api.get(f"characters/{foreign}"))[1] == {
        "error": "Unauthorized access to user:77 detected in character reference"
    }


# -- webhooks --------------------------------------------------------------------------------


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    got: list[dict[str, Any]] = []

    async def hook(request: web.Request) -> web.Response:
        got.append(await request.json())
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}/hook", got
    await runner.cleanup()


async def test_webhooks(
    api: Api, fake: FakeFlowServer, receiver: tuple[str, list[dict[str, Any]]]
) -> None:
    url, got = receiver
    _, out, _ = await api.post(
        "videos", json={"prompt": "p", "async": True, "replyUrl": url, "replyRef": "r1"}
    )
    await api.wait_job(out["jobid"])
    for _ in range(100):
        if len(got) == 3:
            break
        await asyncio.sleep(0.01)
    assert [g["status"] for g in got] == ["created", "started", "completed"]
    assert all(g["jobid"] == out["jobid"] and g["request"]["replyRef"] == "r1" for g in got)
    assert got[-1]["response"]["media"][0]["videoUrl"].startswith(fake.media_base_url)
    assert [w["status"] for w in fake.state()["webhooks"]] == ["created", "started", "completed"]
    _, out, _ = await api.post(
        "videos", json={"prompt": "p", "async": True, "replyUrl": "http://127.0.0.1:9/none"}
    )
    await api.wait_job(out["jobid"])
    await asyncio.sleep(0.05)
    failures = [w for w in fake.state()["webhooks"] if w["jobid"] == out["jobid"]]
    assert failures
    assert all(w["error"] for w in failures)
    assert fake.state()["counters"]["webhook_failures"] >= 1


def test_media_files_ship_in_package() -> None:
    pkg = Path(__file__).resolve().parent.parent / "flowapi" / "testing" / "media"
    assert {p.name for p in pkg.iterdir()} >= {
        "sample.mp4",
        "thumb.jpg",
        "sample.png",
        "sample.gif",
    }
