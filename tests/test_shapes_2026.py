"""Documented response shapes replayed through the public session API (issue 10 §3):
captcha-stats with decimals, the 403 PERMISSION_DENIED reCAPTCHA rejection (sync and as a
failed job), the 408 polling timeout, 200 vs 201 accounts, typed skip reasons, the jobid
and captcha attempts on errors, the HTTP status of results, absent optional strings as
``None`` and unknown captcha providers."""

from __future__ import annotations

import json

import pytest

import flowapi
from flowapi import FlowSession, ImageUpscaleParams, VideoParams
from flowapi._errors import AccountSkip
from tests.conftest_replay import FIXTURES, Replay

pytestmark = pytest.mark.anyio

JOBID = "j1223215426393445325v-u12345-email:us***@gmail.com-bot:google-flow"


def _doc(name: str) -> object:
    return json.loads((FIXTURES / f"{name}.json").read_text())


async def test_captcha_stats_summary_with_decimals(replay: tuple[Replay, FlowSession]) -> None:
    server, flow = replay
    server.set("accounts/captcha-stats", {
        "date": "2026-11-20", "total": 1200,
        "summary": {
            "from": "2026-11-20T00:00:00.000Z", "to": "2026-11-20T23:59:59.000Z",
            "time_span": "23h 59m",
            "sample_size_by_provider": {"CapSolver": 800, "EzCaptcha": 400},
            "success_rate_by_provider": {"CapSolver": 97.35, "EzCaptcha": 88.5},
            "success_rate_by_tier": {"PAYGATE_TIER_TWO": 95.12},
            "by_status_code_images": {"200": 96.4, "403": 2.35, "503": 1.25},
            "by_status_code_videos": {"200": 93.75, "429:PUBLIC_ERROR_USER_QUOTA_REACHED": 6.25},
            "avg_captcha_ms": 4321.5, "avg_api_ms": 1234.56, "avg_attempt": 1.18,
            "p95_captcha_ms": 9000.5},
        "data": [{"timestamp": "2026-11-20T10:30:00.123Z", "provider": "CapSolver",
                  "statusCode": 200, "captchaDurationMs": 3500.5, "attemptNumber": 1}]})
    stats = await flow.captcha.stats(date="2026-11-20")
    assert stats.summary is not None
    assert stats.summary.success_rate_by_provider["CapSolver"] == 97.35
    assert stats.summary.by_status_code_images["403"] == 2.35
    assert stats.summary.extra == {"p95_captcha_ms": 9000.5}
    row = stats.data[0]
    assert row.error is None and row.reason is None and row.tier is None  # absent → None
    assert stats.http_status == 200


async def test_403_recaptcha_evaluation_failed_is_a_captcha_rejection(
        replay: tuple[Replay, FlowSession]) -> None:
    server, flow = replay
    server.fixture("videos", "post-videos__403__job-failed-captcha")
    with pytest.raises(flowapi.CaptchaRejectedError) as info:
        await flow.videos.create(VideoParams(prompt="p"))
    err = info.value
    assert err.jobid == JOBID
    assert len(err.captcha_attempts) == 3
    assert err.captcha_attempts[0].service == "AntiCaptcha"
    assert JOBID in str(err)
    assert server.hits["videos"] == 1  # a paid submit is not retried
    server.fixture("images/upscale", "post-images-upscale__403__captcha-rejected")
    with pytest.raises(flowapi.CaptchaRejectedError) as up:
        await flow.images.upscale(ImageUpscaleParams(media_generation_id="i"))
    assert [a.service for a in up.value.captcha_attempts] == ["EzCaptcha"]


async def test_failed_job_record_with_recaptcha_failure_is_marked(
        replay: tuple[Replay, FlowSession]) -> None:
    server, flow = replay
    server.set(f"jobs/{JOBID}", _doc("post-videos__403__job-failed-captcha"))
    job = await flow.jobs.get(JOBID)
    assert job.is_captcha_failure
    with pytest.raises(flowapi.JobFailedError) as info:
        await flow.jobs.wait(JOBID, timeout=5)
    assert info.value.captcha_rejected is True
    assert info.value.moderated is False
    assert "captchaRetry" in str(info.value)


async def test_408_says_the_job_may_still_complete(replay: tuple[Replay, FlowSession]) -> None:
    server, flow = replay
    for name in ("post-videos__408__polling-timeout",
                 "post-videos__408__polling-timeout-supplement"):
        server.fixture("videos", name)
        with pytest.raises(flowapi.RequestTimeoutError) as info:
            await flow.videos.create(VideoParams(prompt="p"))
        text = str(info.value)
        assert "may still complete" in text
        assert "do not resubmit" in text
        assert "jobs.stats('history')" in text
    assert server.hits["videos"] == 2  # never retried blindly
    server.set("videos", {"error": "Polling timeout", "jobId": JOBID}, status=408)
    with pytest.raises(flowapi.RequestTimeoutError) as known:
        await flow.videos.create(VideoParams(prompt="p"))
    assert known.value.jobid == JOBID
    assert f"flow.jobs.wait({JOBID!r})" in str(known.value)


async def test_account_created_and_updated_are_distinguishable(
        replay: tuple[Replay, FlowSession]) -> None:
    server, flow = replay
    server.fixture("accounts", "post-accounts__201__created")
    created = await flow.accounts.create("cookie\ttable")
    assert created.http_status == 201 and created.is_new and not created.is_update
    server.fixture("accounts", "post-accounts__200__updated")
    updated = await flow.accounts.create("cookie\ttable")
    assert updated.http_status == 200 and updated.is_update and not updated.is_new


async def test_skip_reasons_are_typed(replay: tuple[Replay, FlowSession]) -> None:
    server, flow = replay
    server.fixture("videos", "post-videos__429__no-eligible-account")
    with pytest.raises(flowapi.NoEligibleAccountError) as info:
        await flow.jobs.submit(VideoParams(prompt="p"))
    skip = info.value.skip_reasons[0]
    assert isinstance(skip, AccountSkip)
    assert skip.email and skip.reason.startswith("PUBLIC_ERROR_") and skip.model
    email, reason, model = skip  # still a tuple
    assert (email, reason, model) == (skip.email, skip.reason, skip.model)


async def test_captcha_providers_keeps_unknown_providers(
        replay: tuple[Replay, FlowSession]) -> None:
    server, flow = replay
    server.set("accounts/captcha-providers", {"CapSolver": "def34…", "NextCaptcha": "xyz78…",
                                              "freeCaptchaCredits": 300})
    providers = await flow.captcha.get_providers()
    assert providers.configured == {"CapSolver": "def34…", "NextCaptcha": "xyz78…"}
    assert providers.extra == {"NextCaptcha": "xyz78…"}
    assert providers.ez_captcha is None
    assert providers.free_captcha_credits == 300


async def test_null_members_mean_absent(replay: tuple[Replay, FlowSession]) -> None:
    server, flow = replay
    record = _doc("post-videos__403__job-failed-captcha")
    assert isinstance(record, dict)
    record.update({"updated": None, "errorDetails": None, "replyUrl": None})
    record["response"]["captcha"]["taskId"] = None
    record["response"]["captcha"]["durationMs"] = "18091"
    server.set(f"jobs/{JOBID}", record)
    job = await flow.jobs.get(JOBID)
    assert job.is_captcha_failure
    assert job.captcha is not None and job.captcha.task_id is None
    assert job.captcha.duration_ms == 18091
    assert job.http_status == 200
