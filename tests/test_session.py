"""FlowSession lifecycle, security rules, endpoints of the first slice and the error table
against the fake."""

from __future__ import annotations

import logging
from pathlib import Path

import aiohttp
import pytest

import flowapi
from flowapi import (
    AmbiguousSubmitError,
    AuthenticationError,
    CaptchaServiceError,
    FlowSession,
    InvalidParamsError,
    NotFoundError,
    RateLimitError,
    VideoParams,
)
from flowapi.testing import FakeFlowServer, FaultRule, Faults

pytestmark = pytest.mark.anyio

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _posts(fake: FakeFlowServer, route: str = "POST videos") -> int:
    return sum(1 for r in fake.requests if r.route == route)


async def test_lifecycle_and_repr(fake: FakeFlowServer) -> None:
    session = FlowSession(fake.token, base_url=fake.base_url, clock=fake.clock)
    with pytest.raises(RuntimeError, match="outside"):
        _ = session.jobs
    async with session as flow:
        assert fake.token not in repr(flow)
        assert "open" in repr(flow)
        accounts = await flow.accounts.list()
        assert accounts
    with pytest.raises(RuntimeError):
        _ = session.videos
    assert "closed" in repr(session)


def test_token_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("USEAPI_TOKEN", raising=False)
    with pytest.raises(flowapi.FlowError, match="USEAPI_TOKEN"):
        FlowSession()
    monkeypatch.setenv("USEAPI_TOKEN", "user:1-from-env")
    assert FlowSession() is not None


@pytest.mark.parametrize("url", ["http://api.example.com/v1/", "ftp://x/", "file:///etc"])
def test_unsafe_base_url_refused(url: str) -> None:
    with pytest.raises(ValueError, match=r"base_url|http"):
        FlowSession("t", base_url=url)


def test_loopback_http_allowed() -> None:
    for url in ("http://127.0.0.1:1/v1/google-flow", "http://localhost:9/", "http://[::1]:9/"):
        assert str(FlowSession("t", base_url=url).base_url).endswith("/")


async def test_external_http_session_is_not_closed(fake: FakeFlowServer) -> None:
    async with aiohttp.ClientSession() as http:
        async with FlowSession(fake.token, base_url=fake.base_url, http_session=http) as flow:
            await flow.accounts.list()
        assert not http.closed


async def test_accounts_endpoints(flow: FlowSession, fake: FakeFlowServer) -> None:
    accounts = await flow.accounts.list()
    email = next(iter(accounts))
    account = await flow.accounts.get(email)
    assert account.health == "OK"
    assert account.video_models
    with pytest.raises(NotFoundError, match="not found"):
        await flow.accounts.get("nobody@example.com")


async def test_wrong_token(fake: FakeFlowServer) -> None:
    async with FlowSession("user:1-wrong", base_url=fake.base_url, clock=fake.clock) as flow:
        with pytest.raises(AuthenticationError) as info:
            await flow.accounts.list()
    assert "token" in str(info.value)
    assert "user:1-wrong" not in str(info.value)


async def test_upload_and_sync_video(flow: FlowSession) -> None:
    upload = await flow.assets.upload(EXAMPLES / "first_image.jpeg")
    assert upload.media_generation_id.startswith("user:")
    assert upload.width
    assert upload.height
    result = await flow.videos.create(prompt="A fox", start_image=upload.media_generation_id)
    assert result.jobid
    assert result.media
    assert result.media[0].url


async def test_upload_checks_before_sending(flow: FlowSession, fake: FakeFlowServer,
                                            tmp_path: Path) -> None:
    before = len(fake.requests)
    with pytest.raises(InvalidParamsError, match="not found"):
        await flow.assets.upload(tmp_path / "missing.png")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(InvalidParamsError, match="unsupported type"):
        await flow.assets.upload(tmp_path / "notes.txt")
    with pytest.raises(InvalidParamsError, match="empty"):
        await flow.assets.upload(b"")
    big = b"\x89PNG\r\n\x1a\n" + b"\0" * (20 * 1024 * 1024)
    with pytest.raises(InvalidParamsError, match="limit"):
        await flow.assets.upload(big)
    assert len(fake.requests) == before


async def test_submit_get_wait_and_listing(flow: FlowSession) -> None:
    job = await flow.jobs.submit(VideoParams(prompt="A fox in snow", model="veo-3.1-lite",
                                             count=2))
    assert job.status == "created"
    assert job.jobid
    assert job.request.get("async") is True
    executing = await flow.jobs.executing_ids()
    assert job.jobid in executing
    for options in ("summary", "executing", "history"):
        stats = await flow.jobs.stats(options)  # type: ignore[arg-type]
        assert stats.emails
    done = await flow.jobs.wait(job.jobid, timeout=3600, model="veo-3.1-lite")
    assert done.status == "completed"
    assert len(done.media) == 2
    assert all(m.url for m in done.media)
    again = await flow.jobs.get(job.jobid)
    assert again.jobid == job.jobid


async def test_local_validation_sends_nothing(flow: FlowSession, fake: FakeFlowServer) -> None:
    before = len(fake.requests)
    with pytest.raises(InvalidParamsError, match="unknown model"):
        await flow.jobs.submit(VideoParams(prompt="x", model="veo-9"))
    with pytest.raises(InvalidParamsError, match="endImage requires startImage"):
        await flow.videos.create(prompt="x", end_image="user:1-email:00-image:1")
    assert len(fake.requests) == before


async def test_validate_false_sends_anything(fake: FakeFlowServer) -> None:
    async with FlowSession(fake.token, base_url=fake.base_url, clock=fake.clock,
                           validate=False) as flow:
        with pytest.raises(flowapi.BadRequestError):
            await flow.jobs.submit(VideoParams(prompt="x", model="veo-9"))
    assert _posts(fake) == 1


async def test_429_long_cooldown_raises_with_retry_at(flow: FlowSession,
                                                      fake: FakeFlowServer) -> None:
    fake.set_faults(Faults(rules=[FaultRule("throttled", route="POST videos", count=1)]))
    with pytest.raises(RateLimitError) as info:
        await flow.jobs.submit(VideoParams(prompt="x"))
    err = info.value
    assert err.reason == "PUBLIC_ERROR_USER_REQUESTS_THROTTLED"
    assert err.scope == "account"
    assert err.retry_at is not None
    assert err.retry_at - fake.clock.time() > 600
    assert _posts(fake) == 1  # not retried inline: the cooldown is ~30 min
    assert not fake.jobs


async def test_transient_503_on_submit_is_retried(flow: FlowSession,
                                                  fake: FakeFlowServer) -> None:
    fake.set_faults(Faults(rules=[FaultRule("unavailable", route="POST videos", count=2)]))
    job = await flow.jobs.submit(VideoParams(prompt="x"))
    assert _posts(fake) == 3
    assert list(fake.jobs) == [job.jobid]


async def test_captcha_service_failure_not_retried(flow: FlowSession,
                                                   fake: FakeFlowServer) -> None:
    fake.set_faults(Faults(rules=[FaultRule("captcha_failed", route="POST videos", count=1)]))
    with pytest.raises(CaptchaServiceError, match="Captcha service failed"):
        await flow.jobs.submit(VideoParams(prompt="x"))
    assert _posts(fake) == 1


async def test_reset_after_create_is_ambiguous_never_resubmitted(
        flow: FlowSession, fake: FakeFlowServer) -> None:
    fake.set_faults(Faults(rules=[FaultRule("reset_after_create", route="POST videos",
                                            count=1)]))
    with pytest.raises(AmbiguousSubmitError) as info:
        await flow.jobs.submit(VideoParams(prompt="x", reply_ref="marker-1"))
    assert info.value.reply_ref == "marker-1"
    assert _posts(fake) == 1
    assert len(fake.jobs) == 1  # the server did create it: a blind retry would pay twice


async def test_get_is_retried_through_resets_and_500s(flow: FlowSession,
                                                      fake: FakeFlowServer) -> None:
    job = await flow.jobs.submit(VideoParams(prompt="x"))
    fake.set_faults(Faults(rules=[FaultRule("poll_500", count=1),
                                  FaultRule("reset_before", route="GET jobs/{jobid}", count=1)]))
    again = await flow.jobs.get(job.jobid)
    assert again.jobid == job.jobid
    gets = [r for r in fake.requests if r.route == "GET jobs/{jobid}"]
    assert len(gets) >= 2


async def test_token_never_logged_or_in_errors(fake: FakeFlowServer,
                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="flowapi")
    async with FlowSession(fake.token, base_url=fake.base_url, clock=fake.clock) as flow:
        job = await flow.jobs.submit(VideoParams(prompt="x"))
        await flow.jobs.wait(job.jobid)
        with pytest.raises(NotFoundError) as info:
            await flow.jobs.get("j1731859234567v-u1234-email:fake.user@gmail.com-bot:google-flow")
    assert caplog.records
    assert fake.token not in caplog.text
    assert fake.token not in str(info.value)
    assert fake.token not in repr(info.value)
    assert fake.token not in info.value.text


async def test_user_agent_and_auth_only_to_api_origin(flow: FlowSession,
                                                      fake: FakeFlowServer,
                                                      tmp_path: Path) -> None:
    job = await flow.jobs.submit(VideoParams(prompt="x"))
    done = await flow.jobs.wait(job.jobid)
    await flow.media.download(done.media[0], tmp_path / "v.mp4")
    await flow.media.download(done.media[0], tmp_path / "t.jpg", thumbnail=True)
    state = fake.state()
    assert state["counters"]["media_requests_with_auth"] == 0
    agents = {r.user_agent for r in fake.requests if r.route != "GET media"}
    assert len(agents) == 1
    assert next(iter(agents)).startswith("flowapi/")


async def test_demo_session_uses_the_fake_without_a_token(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from flowapi.testing import demo_session, sample_media

    monkeypatch.delenv("USEAPI_TOKEN", raising=False)
    async with demo_session(time_scale=0.001) as flow:
        assert flow.base_url.host == "127.0.0.1"
        done = await flow.jobs.wait((await flow.jobs.submit(VideoParams(prompt="x"))).jobid)
        assert done.media
    assert sample_media("sample.mp4").read_bytes()[4:8] == b"ftyp"
    with pytest.raises(FileNotFoundError):
        sample_media("../media/sample.mp4")
