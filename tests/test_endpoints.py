"""Every endpoint of the overview page through the public session API.

Part 1 drives all 25 endpoints against the stateful FakeFlowServer. Part 2 replays the
documentation's own example payloads (tests/fixtures/spec/) through the full stack — a tiny
server answers each endpoint with the doc's body and status — so the session decodes and
classifies exactly what the docs print.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

import flowapi
from flowapi import (
    CharacterParams,
    ConcatClip,
    ExtendParams,
    FlowSession,
    ImageParams,
    RetryPolicy,
    VideoParams,
    VideoUpscaleParams,
    VoiceParams,
)

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "spec"
FRAME = ROOT / "examples" / "first_image.jpeg"
CLIP = ROOT / "flowapi" / "testing" / "media" / "sample.mp4"


# --------------------------------------------------------------------------------------
# Part 1: the stateful fake
# --------------------------------------------------------------------------------------


async def test_accounts_create_list_get_delete(flow: FlowSession) -> None:
    created = await flow.accounts.create("email\tsecond@gmail.com\nHSID\tAYQ\t.google.com\t/")
    assert created.project is not None
    accounts = await flow.accounts.list()
    assert "second@gmail.com" in accounts
    account = await flow.accounts.get("second@gmail.com")
    assert account.health == "OK"
    deleted = await flow.accounts.delete("second@gmail.com")
    assert "deleted" in deleted.message
    with pytest.raises(flowapi.NotFoundError):
        await flow.accounts.get("second@gmail.com")


async def test_captcha_providers_and_stats(flow: FlowSession) -> None:
    before = await flow.captcha.get_providers()
    assert before.free_captcha_credits is not None or before.configured
    await flow.captcha.set_providers(CapSolver="CAP-1234567890", AntiCaptcha="ANTI-1234567890")
    after = await flow.captcha.get_providers()
    assert {"CapSolver", "AntiCaptcha"} <= set(after.configured)
    stats = await flow.captcha.stats(date="2026-06-01")
    assert stats.total >= 0
    assert (await flow.captcha.stats(limit=10, provider="CapSolver")).total >= 0
    anonymized = await flow.captcha.stats(anonymized=True)
    assert anonymized.data == [] or anonymized.data is None or not anonymized.data
    with pytest.raises(flowapi.InvalidParamsError):
        await flow.captcha.stats(date="June 1st")


async def test_assets_upload_image_and_video(flow: FlowSession) -> None:
    image = await flow.assets.upload(FRAME)
    assert image.media_generation_id.startswith("user:")
    assert "-image:" in image.media_generation_id
    video = await flow.assets.upload(CLIP)
    assert "-video:" in video.media_generation_id
    assert video.duration_seconds


async def test_images_create_and_upscale(flow: FlowSession, tmp_path: Path) -> None:
    result = await flow.images.create(ImageParams(prompt="A red apple", model="nano-banana-pro",
                                                  count=2))
    assert len(result.media) == 2
    item = result.media[0]
    saved = await flow.media.download(item, tmp_path / "a.jpg")
    assert saved.stat().st_size > 0
    upscaled = await flow.images.upscale(media_generation_id=item.media_generation_id,
                                         resolution="2k")
    out = await flow.media.save_base64(upscaled.encoded_image, tmp_path / "up.jpg")
    assert out.read_bytes()[:3] == b"\xff\xd8\xff"


async def test_videos_sync_async_extend_upscale_gif_concatenate(flow: FlowSession,
                                                                tmp_path: Path) -> None:
    sync = await flow.videos.create(VideoParams(prompt="A fox", model="veo-3.1-fast"))
    source = sync.media[0].media_generation_id
    job = await flow.jobs.submit(VideoParams(prompt="A fox, async"))
    done = await flow.jobs.wait(job.jobid)
    assert done.media[0].url

    extended = await flow.videos.extend(media_generation_id=source, prompt="It runs away")
    assert extended.media
    ext_job = await flow.jobs.submit(ExtendParams(media_generation_id=source,
                                                  prompt="It jumps"))
    ext_done = await flow.jobs.wait(ext_job.jobid)
    assert ext_done.media

    upscaled = await flow.videos.upscale(media_generation_id=source, resolution="1080p")
    assert upscaled.media
    up_job = await flow.jobs.submit(VideoUpscaleParams(media_generation_id=source))
    assert (await flow.jobs.wait(up_job.jobid, kind="upscale")).media

    gif = await flow.videos.gif(source)
    assert (await flow.media.save_base64(gif.encoded_gif, tmp_path / "p.gif")).read_bytes()[
        :4] == b"GIF8"
    joined = await flow.videos.concatenate(
        [source, ConcatClip(media_generation_id=extended.media[0].media_generation_id,
                            trim_start=1.0)])
    assert joined.inputs_count == 2
    mp4 = await flow.media.save_base64(joined.encoded_video, tmp_path / "j.mp4")
    assert mp4.read_bytes()[4:8] == b"ftyp"


async def test_voices(flow: FlowSession) -> None:
    email = next(iter(await flow.accounts.list()))
    voice = await flow.voices.create(VoiceParams(email=email, voice="Zephyr",
                                                 display_name="Narrator", dialog="Hello there",
                                                 voice_performance="warm and calm"))
    assert voice.voice
    assert voice.source == "user"
    listed = await flow.voices.list(email, source="user")
    assert any(v.voice == voice.voice for v in listed.voices)
    system = await flow.voices.list(email, source="system")
    assert len(system.voices) == 30
    assert (await flow.voices.get("zephyr")).source == "system"
    assert (await flow.voices.get(voice.voice)).voice == voice.voice
    assert (await flow.voices.delete(voice.voice)).deleted is True
    with pytest.raises(flowapi.NotFoundError):
        await flow.voices.get(voice.voice)


async def test_characters_with_the_three_voice_shapes(flow: FlowSession) -> None:
    email = next(iter(await flow.accounts.list()))
    image = await flow.assets.upload(FRAME)
    voice = await flow.voices.create(VoiceParams(email=email, voice="Kore", display_name="K",
                                                 dialog="Hi", voice_performance="bright"))
    with_user = await flow.characters.create(CharacterParams(
        display_name="Ada", image_references=[image.media_generation_id], voice=voice.voice))
    with_system = await flow.characters.create(CharacterParams(
        display_name="Bo", image_references=[image.media_generation_id], voice="Umbriel"))
    listed = await flow.characters.list(email)
    assert {c.character for c in listed.characters} >= {with_user.character,
                                                         with_system.character}
    got = await flow.characters.get(with_system.character)
    assert got.display_name == "Bo"
    await flow.voices.delete(voice.voice)
    orphan = await flow.characters.get(with_user.character)
    assert orphan.voice is not None
    assert (await flow.characters.delete(with_system.character)).deleted is True
    with pytest.raises(flowapi.NotFoundError):
        await flow.characters.get(with_system.character)
    r2v = await flow.jobs.submit(VideoParams(prompt="@character_1 waves",
                                             characters=[with_user.character]))
    assert (await flow.jobs.wait(r2v.jobid)).media


async def test_jobs_get_and_listing(flow: FlowSession) -> None:
    job = await flow.jobs.submit(VideoParams(prompt="listing"))
    assert (await flow.jobs.get(job.jobid)).jobid == job.jobid
    summary = await flow.jobs.stats()
    assert summary.emails
    executing = await flow.jobs.stats("executing")
    assert job.jobid in executing.executing_jobids()
    await flow.jobs.wait(job.jobid)
    history = await flow.jobs.stats("history")
    assert job.jobid in history.history_jobids()


# --------------------------------------------------------------------------------------
# Part 2: the documentation's own payloads through the full stack
# --------------------------------------------------------------------------------------


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


class DocServer:
    """Answers every request with the next (status, body, headers) queued for its path."""

    def __init__(self) -> None:
        self.replies: dict[tuple[str, str], tuple[int, bytes, dict[str, str]]] = {}
        self.seen: list[tuple[str, str, bytes]] = []

    def reply(self, method: str, path: str, name: str, *, status: int | None = None,
              headers: dict[str, str] | None = None) -> None:
        code = status if status is not None else int(name.split("__")[1])
        self.replies[(method, path)] = (code, fixture(name), headers or {})

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        path = request.raw_path.split("/v1/google-flow/", 1)[1].split("?")[0]  # as sent
        self.seen.append((request.method, path, body))
        status, payload, headers = self.replies[(request.method, path)]
        return web.Response(status=status, body=payload, headers=headers,
                            content_type="application/json")


@pytest.fixture
async def docs() -> AsyncIterator[tuple[DocServer, FlowSession]]:
    server = DocServer()
    app = web.Application()
    app.router.add_route("*", "/v1/google-flow/{tail:.*}", server.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        base = f"http://127.0.0.1:{port}/v1/google-flow/"
        async with FlowSession("user:1-doc-token", base_url=base, retry=RetryPolicy.none(),
                               validate=False) as session:
            yield server, session
    finally:
        await runner.cleanup()


JOBID = "j1731859234567v-u12345-email:jo***@gmail.com-bot:google-flow"


async def test_doc_jobs_records(docs: tuple[DocServer, FlowSession]) -> None:
    server, flow = docs
    for name in ("get-jobs-jobid__200__video-completed-operations",
                 "get-jobs-jobid__200__video-completed-media",
                 "get-jobs-jobid__200__video-completed-article"):
        server.reply("GET", f"jobs/{JOBID}", name)
        job = await flow.jobs.get(JOBID)
        assert job.status == "completed" and job.media and job.media[0].url, name
    server.reply("GET", f"jobs/{JOBID}", "get-jobs-jobid__200__image-completed")
    image = await flow.jobs.get(JOBID)
    assert image.media[0].kind == "image"
    assert image.media[0].url
    server.reply("GET", f"jobs/{JOBID}", "get-jobs-jobid__200__image-failed")
    failed = await flow.jobs.get(JOBID)
    assert failed.status == "failed"
    assert "500" in failed.message_text
    assert server.seen[-1][1] == f"jobs/{JOBID}"  # sent raw, as the official examples do
    for name, error in (("get-jobs-jobid__404__not-found", flowapi.NotFoundError),
                        ("get-jobs-jobid__410__expired", flowapi.JobExpiredError),
                        ("get-jobs-jobid__403__access-denied", flowapi.PermissionDeniedError),
                        ("get-jobs-jobid__400__invalid-job-id", flowapi.BadRequestError),
                        ("get-jobs-jobid__401__unauthorized", flowapi.AuthenticationError)):
        server.reply("GET", f"jobs/{JOBID}", name)
        with pytest.raises(error):
            await flow.jobs.get(JOBID)


async def test_doc_jobs_listing(docs: tuple[DocServer, FlowSession]) -> None:
    server, flow = docs
    for option in ("summary", "executing", "history"):
        server.reply("GET", "jobs", f"get-jobs__200__{option}")
        stats = await flow.jobs.stats(option)  # type: ignore[arg-type]
        assert stats.emails
    server.reply("GET", "jobs", "get-jobs__200__executing")
    ids = await flow.jobs.executing_ids()
    assert ids
    assert all(not i.endswith("-http:200") for i in ids)


async def test_doc_videos(docs: tuple[DocServer, FlowSession]) -> None:
    server, flow = docs
    server.reply("POST", "videos", "post-videos__200__media")
    result = await flow.videos.create(prompt="p")
    assert result.jobid
    assert result.media[0].url
    assert result.remaining_credits == 18760
    for name in ("post-videos__201__job-created", "post-videos__201__job-created-article",
                 "post-videos__201__job-created-supplement"):
        server.reply("POST", "videos", name)
        job = await flow.jobs.submit(VideoParams(prompt="p"))
        assert job.jobid.startswith("j") and job.status == "created", name
    assert json.loads(server.seen[-1][2])["async"] is True
    cases: list[tuple[str, type[Exception], dict[str, Any]]] = [
        ("post-videos__400__validation", flowapi.BadRequestError, {}),
        ("post-videos__400__content-policy", flowapi.ContentPolicyError,
         {"reason": "PUBLIC_ERROR_UNSAFE_GENERATION"}),
        ("post-videos__400__content-policy-direct", flowapi.ContentPolicyError,
         {"reason": "PUBLIC_ERROR_UNSAFE_GENERATION"}),
        ("post-videos__402__no-subscription", flowapi.PaymentRequiredError, {}),
        ("post-videos__403__job-failed-captcha", flowapi.PermissionDeniedError,
         {"reason": "PUBLIC_ERROR_SOMETHING_WENT_WRONG"}),
        ("post-videos__404__account-not-found", flowapi.NotFoundError, {}),
        ("post-videos__408__polling-timeout", flowapi.RequestTimeoutError, {}),
        ("post-videos__429__user-requests-throttled", flowapi.RateLimitError,
         {"scope": "account", "reason": "PUBLIC_ERROR_USER_REQUESTS_THROTTLED"}),
        ("post-videos__429__user-quota", flowapi.RateLimitError, {"scope": "account"}),
        ("post-videos__429__per-model-daily-quota", flowapi.RateLimitError, {"scope": "model"}),
        ("post-videos__429__unusual-activity", flowapi.RateLimitError, {"scope": "request"}),
        ("post-videos__429__no-eligible-account", flowapi.NoEligibleAccountError,
         {"scope": "all"}),
        ("post-videos__503__unavailable", flowapi.ServiceUnavailableError, {}),
        ("post-videos__503__captcha-service-failed", flowapi.CaptchaServiceError, {}),
        ("post-videos__596__session-error", flowapi.SessionExpiredError, {}),
    ]
    for name, error, attrs in cases:
        server.reply("POST", "videos", name)
        with pytest.raises(error) as info:
            await flow.jobs.submit(VideoParams(prompt="p"))
        for attr, value in attrs.items():
            assert getattr(info.value, attr) == value, (name, attr)
    server.reply("POST", "videos", "post-videos__429__no-eligible-account",
                 headers={"Retry-After": "120"})
    with pytest.raises(flowapi.NoEligibleAccountError) as nea:
        await flow.jobs.submit(VideoParams(prompt="p"))
    assert nea.value.skip_reasons
    assert nea.value.retry_at is not None


async def test_doc_extend_upscale_gif_concatenate(docs: tuple[DocServer, FlowSession]) -> None:
    server, flow = docs
    for name in ("post-videos-extend__200__media", "post-videos-extend__200__legacy-operations"):
        server.reply("POST", "videos/extend", name)
        result = await flow.videos.extend(media_generation_id="v", prompt="p")
        assert result.media and result.media[0].url, name
    server.reply("POST", "videos/extend", "post-videos-extend__201__job-created")
    assert (await flow.jobs.submit(ExtendParams(media_generation_id="v", prompt="p"))).jobid
    server.reply("POST", "videos/upscale", "post-videos-upscale__200__legacy-operations")
    assert (await flow.videos.upscale(media_generation_id="v")).media[0].url
    server.reply("POST", "videos/upscale",
                 "post-videos-upscale__201__job-created-legacy-operations")
    assert (await flow.jobs.submit(VideoUpscaleParams(media_generation_id="v"))).jobid
    server.reply("POST", "videos/gif", "post-videos-gif__200__encoded-gif")
    assert (await flow.videos.gif("v")).encoded_gif
    server.reply("POST", "videos/concatenate", "post-videos-concatenate__200__encoded-video")
    joined = await flow.videos.concatenate(["a", "b", "c"])
    assert joined.inputs_count == 3
    assert joined.encoded_video
    server.reply("POST", "videos/gif", "post-videos-gif__400__wrong-type")
    with pytest.raises(flowapi.BadRequestError, match="type must be 'video'"):
        await flow.videos.gif("v")


async def test_doc_images_assets_accounts_captcha(docs: tuple[DocServer, FlowSession]) -> None:
    server, flow = docs
    server.reply("POST", "images", "post-images__200__media")
    images = await flow.images.create(prompt="p")
    assert images.media[0].url
    assert images.media[0].kind == "image"
    server.reply("POST", "images", "post-images__500__moderated")
    with pytest.raises(flowapi.ServerError):
        await flow.images.create(prompt="p")
    server.reply("POST", "images/upscale", "post-images-upscale__200__encoded-image")
    assert (await flow.images.upscale(media_generation_id="i")).encoded_image
    server.reply("POST", "assets", "post-assets-email__200__image")
    upload = await flow.assets.upload(FRAME)
    assert upload.width == 685
    assert upload.email
    server.reply("POST", "assets/john%40gmail.com", "post-assets-email__200__image")
    await flow.assets.upload(FRAME, email="john@gmail.com")
    assert server.seen[-1][1] == "assets/john%40gmail.com"
    server.reply("POST", "assets", "post-assets-email__400__file-too-large")
    with pytest.raises(flowapi.BadRequestError, match="20971520"):
        await flow.assets.upload(FRAME)
    server.reply("GET", "accounts", "get-accounts__200__accounts-map")
    assert len(await flow.accounts.list()) == 2
    server.reply("GET", "accounts/jo%40gmail.com", "get-accounts-email__200__account")
    account = await flow.accounts.get("jo@gmail.com")
    assert account.credits is not None
    assert account.video_models
    for name in ("post-accounts__201__created", "post-accounts__200__updated"):
        server.reply("POST", "accounts", name)
        assert (await flow.accounts.create("HSID\tx")).project is not None
    server.reply("DELETE", "accounts/jo%40gmail.com", "delete-accounts-email__200__deleted")
    assert "deleted" in (await flow.accounts.delete("jo@gmail.com")).message
    for name in ("get-accounts-captcha-providers__200__configured",
                 "get-accounts-captcha-providers__200__free-credits"):
        server.reply("GET", "accounts/captcha-providers", name)
        assert await flow.captcha.get_providers() is not None


async def test_doc_voices_and_characters(docs: tuple[DocServer, FlowSession]) -> None:
    server, flow = docs
    server.reply("DELETE", "voices/ref", "delete-voices-ref__200__deleted")
    assert (await flow.voices.delete("ref")).deleted is True
    server.reply("DELETE", "voices/Zephyr", "delete-voices-ref__400__built-in")
    with pytest.raises(flowapi.BadRequestError, match="Built-in"):
        await flow.voices.delete("Zephyr")
    server.reply("GET", "voices", "get-voices__404__account-not-found")
    with pytest.raises(flowapi.NotFoundError):
        await flow.voices.list("john@gmail.com")
    server.reply("DELETE", "characters/c", "delete-characters-ref__200__deleted")
    assert (await flow.characters.delete("c")).deleted is True
    for name, error in (("delete-characters-ref__403__other-user",
                         flowapi.PermissionDeniedError),
                        ("delete-characters-ref__404__not-found", flowapi.NotFoundError),
                        ("delete-characters-ref__400__bad-format", flowapi.BadRequestError)):
        server.reply("DELETE", "characters/c", name)
        with pytest.raises(error):
            await flow.characters.delete("c")


# Voices, characters and captcha-stats are documented as TypeScript shapes (supplement §6-§8)
# rather than JSON examples; these literals follow those shapes field for field.
USER_VOICE = {
    "voice": "user:12345-email:6a6f-voice:d990a2f9-wf-mid:7c1e-media", "source": "user",
    "workflowId": "d990a2f9-wf", "mediaId": "7c1e-media", "displayName": "Narrator",
    "baseVoice": "Zephyr", "dialog": "Hello there", "voicePerformance": "warm",
    "audioUrl": "https://storage.googleapis.com/voice.wav?Expires=1",
}
SYSTEM_VOICE = {"voice": "Achernar", "source": "system", "displayName": "Achernar",
                "sampleUrl": "https://www.gstatic.com/aitestkitchen/voices/samples/Achernar.wav"}
CHARACTER_CREATED = {
    "entityId": "f470f1b5-0000", "character": "user:12345-email:6a6f-character:f470f1b5-imgs:1"
    "-voice:umbriel", "displayName": "Ada", "personalityNotes": "curious",
    "imageReferences": [{"mediaId": "m-1"}], "voice": "Umbriel",
}
CHARACTER_LISTED = {"characters": [
    {"character": "c1", "entityId": "e1", "displayName": "User voice",
     "imageReferences": [{"workflowId": "w1"}],
     "voice": {"source": "user", "voice": "user:1-voice:w-mid:m", "workflowId": "w",
               "mediaId": "m", "displayName": "N", "baseVoice": "Kore"},
     "createTime": "2026-06-05T10:00:00Z"},
    {"character": "c2", "entityId": "e2", "displayName": "System voice",
     "imageReferences": [{"workflowId": "w2"}],
     "voice": {"source": "system", "voice": "Umbriel", "displayName": "Umbriel"}},
    {"character": "c3", "entityId": "e3", "displayName": "Orphan",
     "imageReferences": [{"workflowId": "w3"}], "voice": {"workflowId": "w", "deleted": True}},
    {"character": "c4", "entityId": "e4", "displayName": "No voice",
     "imageReferences": [{"workflowId": "w4"}]},
]}
STATS_FULL = {
    "date": "2026-02-03", "total": 1,
    "summary": {"from": "2026-02-03T00:00:00Z", "to": "2026-02-03T23:59:59Z",
                "time_span": "24h", "sample_size_by_provider": {"CapSolver": 1},
                "success_rate_by_provider": {"CapSolver": 100},
                "by_status_code_images": {"200": 1}, "by_status_code_videos": {},
                "avg_captcha_ms": 3500, "avg_api_ms": 12000, "avg_attempt": 1},
    "data": [{"timestamp": "2026-02-03T10:30:00.123Z",
              "jobId": "20260203103000123-user:123-bot:google-flow", "provider": "CapSolver",
              "taskId": "t", "route": "post-images", "statusText": "OK",
              "pageAction": "IMAGE_GENERATION", "error": "", "statusCode": 200,
              "captchaDurationMs": 3500, "apiDurationMs": 12000, "attemptNumber": 1}],
}


async def test_doc_shapes_voices_characters_stats(docs: tuple[DocServer, FlowSession]) -> None:
    server, flow = docs

    def reply(method: str, path: str, body: object) -> None:
        server.replies[(method, path)] = (200, json.dumps(body).encode(), {})

    reply("POST", "voices", USER_VOICE)
    created = await flow.voices.create(email="a@b.c", voice="Zephyr", display_name="N",
                                       dialog="Hello there", voice_performance="warm")
    assert created.voice == USER_VOICE["voice"]
    reply("GET", "voices", {"voices": [SYSTEM_VOICE, USER_VOICE]})
    voices = await flow.voices.list("a@b.c")
    assert [v.source for v in voices.voices] == ["system", "user"]
    reply("GET", "voices/Achernar", SYSTEM_VOICE)
    assert (await flow.voices.get("Achernar")).source == "system"
    reply("POST", "characters", CHARACTER_CREATED)
    character = await flow.characters.create(display_name="Ada", image_references=["i"],
                                             voice="Umbriel")
    assert character.character == CHARACTER_CREATED["character"]
    reply("GET", "characters", CHARACTER_LISTED)
    listed = await flow.characters.list("a@b.c")
    assert [c.display_name for c in listed.characters] == [
        "User voice", "System voice", "Orphan", "No voice"]
    reply("GET", "accounts/captcha-stats", STATS_FULL)
    stats = await flow.captcha.stats(date="2026-02-03")
    assert stats.total == 1
    assert stats.summary is not None
    reply("GET", "accounts/captcha-stats", {"total": 0, "data": []})
    empty = await flow.captcha.stats(anonymized=True)
    assert empty.summary is None
