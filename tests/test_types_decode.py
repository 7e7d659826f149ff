"""Every spec example decodes into its model; the unified accessors give the fixture's values.

Fixtures are extracted verbatim from ``spec/`` by ``tests/fixtures/extract_spec_examples.py``
(see ``tests/fixtures/spec/README.md``). Expected values are read from the raw JSON wherever
possible, so the assertions say "the accessor returns what the document printed".
"""

from __future__ import annotations

import ast
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowapi.types import (
    SYSTEM_VOICE_NAMES,
    Account,
    AccountCreated,
    AccountDeleted,
    AccountParams,
    AccountsMap,
    AccountSummary,
    AssetUpload,
    AssetUrl,
    CaptchaProviders,
    CaptchaStats,
    Character,
    CharacterDeleted,
    CharacterList,
    CharacterVoice,
    ConcatenateParams,
    ConcatenateResult,
    ErrorBody,
    ErrorReason,
    ExtendParams,
    GifParams,
    GifResult,
    ImageParams,
    ImageResult,
    ImageUpscaleParams,
    ImageUpscaleResult,
    Job,
    JobsStats,
    JobStatus,
    JobType,
    MediaGenerationStatus,
    RateLimitReason,
    VideoParams,
    VideoResult,
    VideoUpscaleParams,
    Voice,
    VoiceDeleted,
    VoiceList,
    VoiceSource,
    WireParams,
    _base,
    decode,
)

FIXTURES = Path(__file__).parent / "fixtures" / "spec"
ALL = sorted(p.stem for p in FIXTURES.glob("*.json"))

REQUESTS: dict[str, type[WireParams]] = {
    "post-videos": VideoParams,
    "post-videos-extend": ExtendParams,
    "post-videos-upscale": VideoUpscaleParams,
    "post-videos-gif": GifParams,
    "post-videos-concatenate": ConcatenateParams,
    "post-images": ImageParams,
    "post-images-upscale": ImageUpscaleParams,
    "post-accounts": AccountParams,
}

SUCCESS: dict[tuple[str, str], Any] = {
    ("post-videos", "200"): VideoResult,
    ("post-videos", "201"): Job,
    ("post-videos-extend", "200"): VideoResult,
    ("post-videos-extend", "201"): Job,
    ("post-videos-upscale", "200"): VideoResult,
    ("post-videos-upscale", "201"): Job,
    ("post-videos-gif", "200"): GifResult,
    ("post-videos-concatenate", "200"): ConcatenateResult,
    ("post-images", "200"): ImageResult,
    ("post-images-upscale", "200"): ImageUpscaleResult,
    ("get-jobs-jobid", "200"): Job,
    ("get-jobs", "200"): JobsStats,
    ("get-accounts", "200"): AccountsMap,
    ("get-accounts-email", "200"): Account,
    ("post-accounts", "200"): AccountCreated,
    ("post-accounts", "201"): AccountCreated,
    ("delete-accounts-email", "200"): AccountDeleted,
    ("get-accounts-captcha-providers", "200"): CaptchaProviders,
    ("post-assets-email", "200"): AssetUpload,
    ("delete-voices-ref", "200"): VoiceDeleted,
    ("delete-characters-ref", "200"): CharacterDeleted,
}


def raw(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def load(name: str, type_: Any) -> Any:
    return decode(type_, (FIXTURES / f"{name}.json").read_bytes())


def model_for(name: str) -> Any:
    endpoint, status, _variant = name.split("__")
    if status == "request":
        return REQUESTS[endpoint]
    if status == "doc":
        return list[str]
    if status.startswith("2"):
        return SUCCESS[(endpoint, status)]
    return ErrorBody


# ---------------------------------------------------------------------------------------------
# Every fixture decodes
# ---------------------------------------------------------------------------------------------


def test_fixtures_present() -> None:
    assert len(ALL) >= 130
    assert (FIXTURES / "README.md").is_file()


@pytest.mark.parametrize("name", ALL)
def test_every_fixture_decodes(name: str) -> None:
    model = model_for(name)
    if isinstance(model, type) and issubclass(model, WireParams):
        data = raw(name)
        bodies = data if isinstance(data, list) else [data]
        for body in bodies:
            params = model.from_wire(body)
            expected = {k: v for k, v in body.items() if k != "async"}
            assert params.to_wire() == expected
        return
    obj = load(name, model)
    if isinstance(obj, ErrorBody):
        assert obj.message_text
        assert obj.error is not None
    elif isinstance(obj, Job):
        assert obj.jobid.startswith("j")
        assert obj.state is not JobStatus.UNKNOWN
        assert obj.kind is not JobType.UNKNOWN
    elif isinstance(obj, VideoResult | ImageResult):
        assert obj.jobid.startswith("j")
        assert obj.media
        assert all(item.url or item.encoded for item in obj.media)


@pytest.mark.parametrize("name", [n for n in ALL if n.split("__")[1][0] in "45"])
def test_error_fixtures_also_decode_as_error_body_generic(name: str) -> None:
    body = load(name, ErrorBody)
    assert isinstance(body.message_text, str)
    assert body.rate_limit_reason in RateLimitReason


# ---------------------------------------------------------------------------------------------
# Videos: new media[] and legacy operations[] shapes
# ---------------------------------------------------------------------------------------------


def test_post_videos_200_media_shape() -> None:
    data = raw("post-videos__200__media")
    result: VideoResult = load("post-videos__200__media", VideoResult)
    assert result.jobid == data["jobId"] == result.raw_job_id
    assert result.raw_jobid == ""
    (item,) = result.media
    entry = data["media"][0]
    assert item.kind == "video"
    assert item.url == entry["videoUrl"]
    assert item.thumbnail_url == entry["thumbnailUrl"]
    assert item.media_generation_id == entry["mediaGenerationId"]
    assert item.encoded is None
    assert item.seed == 123456
    assert item.model == "veo_3_1_t2v"
    assert item.aspect_ratio == "VIDEO_ASPECT_RATIO_LANDSCAPE"
    assert item.prompt == entry["video"]["generatedVideo"]["prompt"]
    assert item.state is MediaGenerationStatus.SUCCESSFUL
    assert result.remaining_credits == 18760
    assert result.captcha is not None
    assert result.captcha.service == "AntiCaptcha"
    assert result.captcha.duration_seconds == 3.5
    assert result.captcha.attempts[0].success is True
    media_meta = result.raw_media[0].media_metadata
    assert media_meta is not None
    assert media_meta.request_data["clientPlatform"] == "CLIENT_PLATFORM_WEB"
    assert result.raw_media[0].video is not None
    assert result.raw_media[0].video.dimensions is not None
    assert result.raw_media[0].video.dimensions.length == "8s"


@pytest.mark.parametrize(
    "name",
    ["post-videos-extend__200__legacy-operations", "post-videos-upscale__200__legacy-operations"],
)
def test_sync_200_legacy_operations_shape(name: str) -> None:
    data = raw(name)
    result: VideoResult = load(name, VideoResult)
    op = data["operations"][0]
    video = op["operation"]["metadata"]["video"]
    (item,) = result.media
    assert result.jobid == data["jobId"]
    assert item.url == video["fifeUrl"]
    assert item.thumbnail_url == video["servingBaseUri"]
    assert item.media_generation_id == op["mediaGenerationId"]
    assert item.model == video["model"]
    assert item.seed == 987654321
    assert item.state is MediaGenerationStatus.SUCCESSFUL
    assert result.operations[0].operation is not None
    assert result.operations[0].operation.metadata is not None
    assert result.operations[0].operation.metadata.type.endswith("aisandbox.v1.Media")


def test_extend_200_media_shape() -> None:
    data = raw("post-videos-extend__200__media")
    result: VideoResult = load("post-videos-extend__200__media", VideoResult)
    assert result.media[0].url == data["media"][0]["videoUrl"]
    assert result.media[0].seed == 987654321


def test_media_wins_over_operations_and_raw_bytes() -> None:
    body = {
        "jobId": "j1v-u1-email:a@b.c-bot:google-flow",
        "operations": [
            {
                "operation": {"name": "op", "metadata": {"video": {"fifeUrl": "https://old"}}},
                "mediaGenerationId": "old-id",
                "status": "MEDIA_GENERATION_STATUS_SUCCESSFUL",
            }
        ],
        "media": [{"mediaGenerationId": "new-id", "videoUrl": "https://new"}],
    }
    result = decode(VideoResult, json.dumps(body))
    assert [m.url for m in result.media] == ["https://new"]
    # re-upscale: rawBytes instead of URLs
    cached = {"jobId": "j", "operations": [{"mediaGenerationId": "id", "rawBytes": "AAAA"}]}
    item = decode(VideoResult, json.dumps(cached)).media[0]
    assert item.encoded == "AAAA"
    assert item.url is None
    assert item.media_generation_id == "id"


# ---------------------------------------------------------------------------------------------
# Jobs
# ---------------------------------------------------------------------------------------------


def test_job_completed_legacy_operations() -> None:
    name = "get-jobs-jobid__200__video-completed-operations"
    data = raw(name)
    job: Job = load(name, Job)
    video = data["response"]["operations"][0]["video"]
    assert job.jobid == data["jobid"] == job.raw_jobid
    assert job.state is JobStatus.COMPLETED
    assert job.is_finished
    assert job.kind is JobType.VIDEO
    (item,) = job.media
    assert item.url == video["fifeUrl"]
    assert item.thumbnail_url == video["servingBaseUri"]
    assert item.media_generation_id == video["mediaGenerationId"]
    assert item.state is MediaGenerationStatus.LEGACY_SUCCEEDED
    assert item.state.is_success
    assert job.request["replyUrl"] == "https://your-domain.com/webhook"
    assert job.reply_ref is None
    assert job.captcha is not None
    assert job.captcha.service == "EzCaptcha"
    assert job.created_at == datetime(2025, 11, 17, 12, 34, 56, 789000, tzinfo=UTC)
    assert job.updated_at is not None


@pytest.mark.parametrize(
    "name",
    ["get-jobs-jobid__200__video-completed-media", "get-jobs-jobid__200__video-completed-article"],
)
def test_job_completed_media_shape(name: str) -> None:
    data = raw(name)
    job: Job = load(name, Job)
    entry = data["response"]["media"][0]
    assert job.jobid == data["jobid"]
    assert job.is_finished
    assert job.media[0].url == entry["videoUrl"]
    assert job.media[0].thumbnail_url == entry["thumbnailUrl"]
    assert job.media[0].media_generation_id == entry["mediaGenerationId"]
    assert job.media[0].kind == "video"
    assert job.remaining_credits == data["response"]["remainingCredits"]


def test_job_image_completed() -> None:
    data = raw("get-jobs-jobid__200__image-completed")
    job: Job = load("get-jobs-jobid__200__image-completed", Job)
    img = data["response"]["media"][0]["image"]["generatedImage"]
    assert job.kind is JobType.IMAGE
    (item,) = job.media
    assert item.kind == "image"
    assert item.url == img["fifeUrl"]
    assert item.media_generation_id == img["mediaGenerationId"]
    assert item.seed == 987654
    assert job.reply_ref == "custom-reference-123"
    assert job.remaining_credits is None


def test_job_failed() -> None:
    job: Job = load("get-jobs-jobid__200__image-failed", Job)
    assert job.state is JobStatus.FAILED
    assert job.is_finished
    assert job.error == "API error: 500"
    assert job.code == 500
    assert job.media == ()
    assert job.reason is None
    assert "API error: 500" in job.message_text
    assert "INTERNAL" in job.message_text
    assert job.response is not None
    assert job.response.error is not None


@pytest.mark.parametrize(
    "name",
    [
        "post-videos__201__job-created",
        "post-videos__201__job-created-article",
        "post-videos__201__job-created-supplement",
        "post-videos-extend__201__job-created",
        "post-videos-extend__201__job-created-legacy-operations",
        "post-videos-upscale__201__job-created-legacy-operations",
    ],
)
def test_async_201_bodies(name: str) -> None:
    data = raw(name)
    job: Job = load(name, Job)
    assert job.jobid == data["jobid"]
    assert job.state is JobStatus.CREATED
    assert not job.is_finished
    assert job.media == ()  # pending operations carry no media
    assert job.request["async"] is True
    assert job.message_text == ""


def test_async_201_reply_ref_and_captcha() -> None:
    job: Job = load("post-videos__201__job-created", Job)
    assert job.reply_ref == "custom-reference-123"
    assert job.captcha is not None
    assert job.captcha.task_id == "14af1dbb-885c-4e25-8121-7a79489dfd0e"
    assert job.response is not None
    assert [op.state for op in job.response.operations] == [MediaGenerationStatus.PENDING] * 2


@pytest.mark.parametrize(
    "name", ["post-videos__403__job-failed-captcha", "post-images__403__job-failed-captcha"]
)
def test_403_body_is_a_failed_job(name: str) -> None:
    data = raw(name)
    job: Job = load(name, Job)
    assert job.jobid == data["jobid"]
    assert job.state is JobStatus.FAILED
    assert job.code == 403
    assert job.reason == "PUBLIC_ERROR_SOMETHING_WENT_WRONG"
    assert job.captcha is not None
    assert len(job.captcha.attempts) == 3
    body: ErrorBody = load(name, ErrorBody)
    assert body.reason == "PUBLIC_ERROR_SOMETHING_WENT_WRONG"
    assert body.error_text == "API error: 403"
    via_body = body.to_job()
    assert via_body is not None
    assert via_body.jobid == job.jobid
    assert via_body.state is JobStatus.FAILED
    assert via_body.request == job.request
    assert "reCAPTCHA evaluation failed" in body.message_text


def test_image_403_request_echo_is_free_form() -> None:
    job: Job = load("post-images__403__job-failed-captcha", Job)
    assert job.request["reference_1"]["type"] == "image"


def test_jobid_from_both_spellings() -> None:
    lower = decode(Job, b'{"jobid": "j1v-a", "status": "started"}')
    camel = decode(Job, b'{"jobId": "j1v-a", "status": "started"}')
    assert lower.jobid == camel.jobid == "j1v-a"
    assert camel.raw_jobid == ""
    assert decode(ErrorBody, b'{"error": "x", "jobId": "j2"}').jobid == "j2"
    assert decode(Job, b"{}").jobid == ""
    assert decode(ErrorBody, b'{"error": "x"}').to_job() is None


def test_job_unknown_status_and_kind_fallback() -> None:
    job = decode(Job, b'{"jobid": "j1731i-u1-email:x-bot:google-flow", "status": "queued"}')
    assert job.state is JobStatus.UNKNOWN
    assert not job.is_finished
    assert job.kind is JobType.IMAGE


def test_job_media_status_error_reason() -> None:
    body = {
        "jobid": "j",
        "status": "failed",
        "response": {
            "media": [
                {
                    "mediaGenerationId": "x-video:1",
                    "mediaMetadata": {
                        "mediaStatus": {
                            "mediaGenerationStatus": "MEDIA_GENERATION_STATUS_FAILED",
                            "error": {"code": 3, "message": "PUBLIC_ERROR_UNSAFE_GENERATION"},
                        }
                    },
                }
            ]
        },
    }
    job = decode(Job, json.dumps(body))
    assert job.reason == "PUBLIC_ERROR_UNSAFE_GENERATION"
    assert job.media[0].state is MediaGenerationStatus.FAILED


def test_image_media_with_encoded_image() -> None:
    body = {
        "jobId": "j",
        "media": [
            {"image": {"generatedImage": {"mediaGenerationId": "i", "encodedImage": "QUJD"}}}
        ],
    }
    item = decode(ImageResult, json.dumps(body)).media[0]
    assert item.kind == "image"
    assert item.url is None
    assert item.encoded == "QUJD"


def test_post_images_200() -> None:
    data = raw("post-images__200__media")
    result: ImageResult = load("post-images__200__media", ImageResult)
    img = data["media"][0]["image"]["generatedImage"]
    assert result.jobid == data["jobId"]
    (item,) = result.media
    assert item.kind == "image"
    assert item.url == img["fifeUrl"]
    assert item.media_generation_id == img["mediaGenerationId"]
    assert item.model == "IMAGEN_3_5"
    assert item.aspect_ratio == "IMAGE_ASPECT_RATIO_LANDSCAPE"


def test_small_sync_results() -> None:
    up: ImageUpscaleResult = load("post-images-upscale__200__encoded-image", ImageUpscaleResult)
    assert up.encoded_image.startswith("/9j/")
    assert up.captcha is not None
    assert up.captcha.service == "EzCaptcha"
    gif: GifResult = load("post-videos-gif__200__encoded-gif", GifResult)
    assert gif.encoded_gif.startswith("R0lGOD")
    cat: ConcatenateResult = load("post-videos-concatenate__200__encoded-video", ConcatenateResult)
    assert cat.jobid == raw("post-videos-concatenate__200__encoded-video")["jobId"]
    assert cat.state is MediaGenerationStatus.SUCCESSFUL
    assert cat.inputs_count == 3


# ---------------------------------------------------------------------------------------------
# Error bodies
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "post-videos__400__content-policy",
        "post-videos__400__content-policy-direct",
        "post-images__400__content-policy",
    ],
)
def test_content_policy_reason_both_shapes(name: str) -> None:
    body: ErrorBody = load(name, ErrorBody)
    assert body.reason == "PUBLIC_ERROR_UNSAFE_GENERATION"
    assert ErrorReason.parse(body.reason) is ErrorReason.UNSAFE_GENERATION
    assert body.google_error is not None
    assert body.google_error.status == "INVALID_ARGUMENT"
    assert "PUBLIC_ERROR_UNSAFE_GENERATION" in body.message_text


def test_content_policy_with_job_id() -> None:
    body: ErrorBody = load("post-videos__400__content-policy", ErrorBody)
    assert body.jobid == raw("post-videos__400__content-policy")["jobId"]
    assert body.code == 400
    assert body.error_text == "API error: 400"


def test_all_operations_failed_reason() -> None:
    body: ErrorBody = load("post-videos__400__all-operations-failed", ErrorBody)
    assert body.reason == "PUBLIC_ERROR_MINOR"
    assert body.jobid.startswith("j1731859234567v")
    assert body.response is not None
    assert body.response.operations[0].state is MediaGenerationStatus.FAILED


@pytest.mark.parametrize(
    ("name", "reason", "scope"),
    [
        (
            "post-videos__429__unusual-activity",
            RateLimitReason.UNUSUAL_ACTIVITY_TOO_MUCH_TRAFFIC,
            "request",
        ),
        (
            "post-videos__429__user-requests-throttled",
            RateLimitReason.USER_REQUESTS_THROTTLED,
            "account",
        ),
        (
            "post-videos__429__per-model-daily-quota",
            RateLimitReason.PER_MODEL_DAILY_QUOTA_REACHED,
            "model",
        ),
        ("post-videos__429__user-quota", RateLimitReason.USER_QUOTA_REACHED, "account"),
        (
            "post-assets-email__429__user-requests-throttled",
            RateLimitReason.USER_REQUESTS_THROTTLED,
            "account",
        ),
        (
            "post-images-upscale__429__per-model-daily-quota-upgradeable",
            RateLimitReason.PER_MODEL_DAILY_QUOTA_REACHED_UPGRADEABLE,
            "model",
        ),
        ("post-videos__429__no-eligible-account", RateLimitReason.NO_ELIGIBLE_ACCOUNT, "all"),
    ],
)
def test_rate_limit_reasons(name: str, reason: RateLimitReason, scope: str) -> None:
    body: ErrorBody = load(name, ErrorBody)
    assert body.rate_limit_reason is reason
    assert body.rate_limit_reason.scope == scope


def test_per_model_quota_metadata() -> None:
    body: ErrorBody = load("post-videos__429__per-model-daily-quota", ErrorBody)
    assert body.google_error is not None
    assert body.google_error.details[0].metadata == {"canUpgradeForQuota": "true"}
    assert body.google_error.details[0].type == "type.googleapis.com/google.rpc.ErrorInfo"


def test_no_eligible_account() -> None:
    data = raw("post-videos__429__no-eligible-account")
    body: ErrorBody = load("post-videos__429__no-eligible-account", ErrorBody)
    assert body.is_no_eligible_account
    assert body.reason is None
    assert body.message == data["message"]
    assert data["message"] in body.message_text
    assert body.retry_after_at == datetime(2026, 5, 20, 0, 0, 10, tzinfo=UTC)
    assert [(s.email, s.reason, s.model) for s in body.skip_reasons] == [
        (s["email"], s["reason"], s["model"]) for s in data["skipReasons"]
    ]
    assert all(s.rate_limit_reason is RateLimitReason.USER_QUOTA_REACHED for s in body.skip_reasons)
    other: ErrorBody = load("post-videos__429__no-eligible-account-supplement", ErrorBody)
    assert other.skip_reasons[0].email == "creator@example.com"
    assert other.skip_reasons[0].rate_limit_reason is RateLimitReason.PER_MODEL_DAILY_QUOTA_REACHED


def test_503_variants() -> None:
    captcha: ErrorBody = load("post-videos__503__captcha-service-failed", ErrorBody)
    assert captcha.is_captcha_service_failure
    assert captcha.code == 503
    outage: ErrorBody = load("post-videos__503__unavailable", ErrorBody)
    assert not outage.is_captcha_service_failure
    assert outage.google_error is not None
    assert outage.google_error.status == "UNAVAILABLE"
    assert outage.reason is None
    images: ErrorBody = load("post-images__503__unavailable", ErrorBody)
    assert images.reason == "SERVICE_UNAVAILABLE"


def test_top_level_captcha_and_string_errors() -> None:
    body: ErrorBody = load("post-images-upscale__403__captcha-rejected", ErrorBody)
    assert body.captcha is not None
    assert body.captcha.task_id == "ab0251dc-6930-4a82-966a-71fe6ab6aa42"
    assert body.reason == "PUBLIC_ERROR_SOMETHING_WENT_WRONG"
    unauthorized: ErrorBody = load("post-videos__401__unauthorized", ErrorBody)
    assert unauthorized.error_text == "Unauthorized"
    assert unauthorized.message_text == "Unauthorized"
    assert unauthorized.reason is None
    expired: ErrorBody = load("get-jobs-jobid__410__job-expired-supplement", ErrorBody)
    assert expired.code == 410
    assets: ErrorBody = load("post-assets-email__400__content-policy", ErrorBody)
    assert assets.reason == "PUBLIC_ERROR_TRUMP_FACE_DETECTED"


def test_captcha_quality_prefix() -> None:
    body = decode(
        ErrorBody,
        b'{"error": "captcha_quality: PUBLIC_ERROR_UNUSUAL_ACTIVITY_TOO_MUCH_TRAFFIC after 3 '
        b'attempts", "code": 403}',
    )
    assert body.is_captcha_quality
    assert body.reason == "PUBLIC_ERROR_UNUSUAL_ACTIVITY_TOO_MUCH_TRAFFIC"


# ---------------------------------------------------------------------------------------------
# Listing, accounts, captcha, assets, voices, characters
# ---------------------------------------------------------------------------------------------


def test_jobs_stats() -> None:
    summary: JobsStats = load("get-jobs__200__summary", JobsStats)
    assert summary.emails == ("jo***@gmail.com", "an***@gmail.com")
    assert summary.videos is not None
    load_ = summary.videos.summary["jo***@gmail.com"]
    assert (load_.executing, load_.avg_response_time, load_.score) == (2, 125340.50, 2)
    assert summary.images is not None
    assert summary.images.summary["an***@gmail.com"].rate_limited == 1
    assert summary.executing_jobids() == frozenset()
    assert summary.videos.executing is None
    executing: JobsStats = load("get-jobs__200__executing", JobsStats)
    data = raw("get-jobs__200__executing")
    expected = set(data["videos"]["executing"]) | set(data["images"]["executing"])
    assert executing.executing_jobids() == expected
    assert executing.videos is not None
    assert executing.videos.executing is not None
    first = next(iter(executing.videos.executing.values()))
    assert first.elapsed_seconds == 83.0
    history: JobsStats = load("get-jobs__200__history", JobsStats)
    assert len(history.history_jobids()) == 2
    assert history.videos is not None
    assert history.videos.history is not None
    assert sorted(h.http_status for h in history.videos.history.values()) == [200, 500]


def test_account() -> None:
    acct: Account = load("get-accounts-email__200__account", Account)
    assert acct.is_healthy
    assert acct.credits is not None
    assert acct.credits.credits == 1250
    assert acct.credits.user_paygate_tier == "PAYGATE_TIER_TWO"
    assert acct.generation_time_seconds("veo_3_1_t2v_fast") == 100
    assert acct.generation_time_seconds("veo_3_1_t2v") == 210
    assert acct.generation_time_seconds("veo-3.1-fast") == 100
    assert acct.generation_time_seconds("veo-3.1-quality") == 210
    assert acct.generation_time_seconds("no-such-model") is None
    fast, quality = acct.video_models
    assert fast.credit_cost is None
    assert quality.credit_cost == 100
    assert fast.model_metadata == {"veoModelName": "Beta Audio"}
    assert acct.account_cookies[0].expires == "2027-11-10T12:00:00.000Z"
    assert acct.session_data is not None
    assert acct.session_data.access_token.startswith("ya29")
    numeric = decode(Account, b'{"accountCookies": [{"name": "a", "expires": 1893456000.5}]}')
    assert numeric.account_cookies[0].expires == 1893456000.5
    assert not numeric.is_healthy
    assert numeric.generation_time_seconds("veo") is None


def test_accounts_map_and_created() -> None:
    accounts = load("get-accounts__200__accounts-map", AccountsMap)
    assert set(accounts) == {"a***@gmail.com", "b***@gmail.com"}
    first = accounts["a***@gmail.com"]
    assert isinstance(first, AccountSummary)
    assert first.is_healthy
    assert first.project is not None
    assert first.project.project_id == "a7e08e13-a6ea-4945-9841-cb4147e4f024"
    assert first.next_refresh is not None
    assert first.next_refresh.scheduled_for == "2025-12-01T11:46:01.000Z"
    created: AccountCreated = load("post-accounts__201__created", AccountCreated)
    assert created.account_cookies[0].http_only is True
    assert created.session_cookies[0].same_site == "Lax"
    assert created.next_refresh is not None
    assert created.next_refresh.message_id == "msg-abc123"
    deleted: AccountDeleted = load("delete-accounts-email__200__deleted", AccountDeleted)
    assert deleted.message == "Google Flow account john@gmail.com deleted"


def test_captcha_providers() -> None:
    configured = load("get-accounts-captcha-providers__200__configured", CaptchaProviders)
    assert configured.configured == {"EzCaptcha": "abc12…", "CapSolver": "def34…"}
    assert configured.free_captcha_credits is None
    free = load("get-accounts-captcha-providers__200__free-credits", CaptchaProviders)
    assert free.configured == {}
    assert free.free_captcha_credits == 100


def test_captcha_stats_with_and_without_summary() -> None:
    full = {
        "date": "2026-02-03",
        "total": 1,
        "summary": {
            "from": "2026-02-03T00:00:00.000Z",
            "to": "2026-02-03T10:30:00.000Z",
            "time_span": "10h 30m",
            "sample_size_by_provider": {"CapSolver": 1},
            "success_rate_by_provider": {"CapSolver": 100},
            "by_status_code_videos": {"429:PUBLIC_ERROR_USER_QUOTA_REACHED": 1},
            "avg_captcha_ms": 3500.5,
            "avg_api_ms": 1200,
            "avg_attempt": 1,
            "lookup": {"tiers": {"PAYGATE_TIER_TWO": "Ultra"}, "skus": {}},
        },
        "data": [
            {
                "timestamp": "2026-02-03T10:30:00.123Z",
                "jobId": "20260203103000123-user:123-bot:google-flow",
                "provider": "CapSolver",
                "taskId": "t",
                "route": "post-videos",
                "statusText": "OK",
                "pageAction": "VIDEO_GENERATION",
                "error": "",
                "statusCode": 200,
                "captchaDurationMs": 3500,
                "apiDurationMs": 1200,
                "attemptNumber": 1,
            }
        ],
    }
    stats = decode(CaptchaStats, json.dumps(full))
    assert stats.summary is not None
    assert stats.summary.from_ == "2026-02-03T00:00:00.000Z"
    assert stats.summary.success_rate_by_provider == {"CapSolver": 100.0}
    assert stats.data[0].job_id.endswith("bot:google-flow")
    assert stats.data[0].page_action == "VIDEO_GENERATION"
    empty = decode(CaptchaStats, b'{"total": 0, "data": []}')
    assert empty.summary is None
    assert empty.data == []


def test_assets() -> None:
    upload: AssetUpload = load("post-assets-email__200__image", AssetUpload)
    assert upload.media_generation_id == "...redacted..."
    assert (upload.width, upload.height, upload.email) == (685, 900, "jo***@gmail.com")
    assert not upload.is_video
    video = decode(
        AssetUpload,
        b'{"mediaGenerationId": {"mediaGenerationId": "user:1-email:6a-video:abc"},'
        b' "durationSeconds": 12.5, "email": "a@b.c", "media": {"x": 1}}',
    )
    assert video.is_video
    assert video.duration_seconds == 12.5
    flat = decode(AssetUpload, b'{"mediaGenerationId": "user:1-email:6a-image:x"}')
    assert flat.media_generation_id == "user:1-email:6a-image:x"
    assert decode(AssetUpload, b"{}").media_generation_id == ""
    url = decode(AssetUrl, b'{"url": "https://g", "mediaGenerationId": "m"}')
    assert (url.url, url.media_generation_id) == ("https://g", "m")


def test_voices() -> None:
    listing = decode(
        VoiceList,
        json.dumps(
            {
                "voices": [
                    {
                        "voice": "Achernar",
                        "source": "system",
                        "displayName": "Achernar",
                        "sampleUrl": "https://www.gstatic.com/aitestkitchen/voices/samples/Achernar.wav",
                    },
                    {
                        "voice": "user:12345-email:6a6f-voice:wf-mid:m",
                        "source": "user",
                        "displayName": "Narrator",
                        "workflowId": "wf",
                        "mediaId": "m",
                        "baseVoice": "Kore",
                        "createTime": "2026-06-05T00:00:00Z",
                    },
                ]
            }
        ),
    )
    system, user = listing.voices
    assert system.kind is VoiceSource.SYSTEM
    assert system.url is not None
    assert system.url.endswith("Achernar.wav")
    assert user.kind is VoiceSource.USER
    assert user.url is None  # the list call never resolves audioUrl
    single = decode(
        Voice, b'{"voice": "user:1-voice:w-mid:m", "workflowId": "w", "audioUrl": "https://a"}'
    )
    assert single.kind is VoiceSource.USER
    assert single.url == "https://a"
    deleted: VoiceDeleted = load("delete-voices-ref__200__deleted", VoiceDeleted)
    assert deleted.deleted is True
    assert deleted.voice == "<echo of ref>"
    assert raw("post-videos__doc__system-voice-presets") == list(SYSTEM_VOICE_NAMES)


def test_characters_three_voice_shapes() -> None:
    listing = decode(
        CharacterList,
        json.dumps(
            {
                "characters": [
                    {
                        "character": "user:1-email:6a-character:e1-imgs:1-voice:wf",
                        "entityId": "e1",
                        "displayName": "Cat",
                        "imageReferences": [{"workflowId": "w1"}],
                        "voice": {
                            "source": "user",
                            "voice": "user:1-voice:wf-mid:m",
                            "workflowId": "wf",
                            "mediaId": "m",
                            "displayName": "Purr",
                            "baseVoice": "Kore",
                        },
                    },
                    {
                        "character": "user:1-email:6a-character:e2-imgs:2-voice:umbriel",
                        "entityId": "e2",
                        "displayName": "Dog",
                        "imageReferences": [{"workflowId": "w2"}, {"workflowId": "w3"}],
                        "voice": {"source": "system", "voice": "Umbriel", "displayName": "Umbriel"},
                    },
                    {
                        "character": "user:1-email:6a-character:e3-imgs:1",
                        "entityId": "e3",
                        "displayName": "Orphan",
                        "imageReferences": [{"workflowId": "w4"}],
                        "voice": {"workflowId": "gone", "deleted": True},
                    },
                    {"character": "c4", "displayName": "Mute", "imageReferences": []},
                ]
            }
        ),
    )
    user, system, orphan, mute = listing.characters
    assert isinstance(user.voice, msgspec.Struct)
    assert user.voice_ref == "user:1-voice:wf-mid:m"
    assert system.voice_ref == "Umbriel"
    assert system.image_count == 2
    assert orphan.voice_ref is None
    assert mute.voice is None
    assert mute.voice_ref is None
    assert isinstance(user.voice, CharacterVoice)
    assert isinstance(system.voice, CharacterVoice)
    assert isinstance(orphan.voice, CharacterVoice)
    assert user.voice.is_user
    assert system.voice.is_system
    assert orphan.voice.is_deleted
    assert not orphan.voice.is_user
    # GET /characters/{ref}: live user voice without `source`
    single = decode(
        Character, b'{"voice": {"voice": "user:1-voice:w", "workflowId": "w", "audioUrl": "u"}}'
    )
    assert isinstance(single.voice, CharacterVoice)
    assert single.voice.is_user
    # POST /characters echoes the voice as a string
    created = decode(
        Character,
        b'{"entityId": "e", "character": "c", "displayName": "d",'
        b' "imageReferences": [{"mediaId": "m"}], "voice": "Umbriel"}',
    )
    assert created.voice_ref == "Umbriel"
    assert created.image_references[0].media_id == "m"
    deleted: CharacterDeleted = load("delete-characters-ref__200__deleted", CharacterDeleted)
    assert deleted.entity_id == "f470f1b5-..."


def test_decoder_is_cached_per_type() -> None:
    decode(Job, b"{}")
    first = _base._decoders[Job]
    decode(Job, b"{}")
    assert _base._decoders[Job] is first


def test_malformed_bodies_raise_msgspec_errors() -> None:
    with pytest.raises(msgspec.ValidationError):
        decode(Job, b'{"status": 3}')
    with pytest.raises(msgspec.DecodeError):
        decode(Job, b"not json")


# ---------------------------------------------------------------------------------------------
# Robustness: unknown fields and unknown enum values never break Job decoding
# ---------------------------------------------------------------------------------------------

_JOB_FIXTURES = [n for n in ALL if model_for(n) is Job]

_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
_json_values = st.recursive(
    _json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
_extra_keys = st.dictionaries(
    st.text(min_size=1, max_size=12).map(lambda k: "x_" + k), _json_values, max_size=3
)


def _sprinkle(node: Any, draw: Any) -> Any:
    """Add random unknown keys to every object in the tree."""
    if isinstance(node, dict):
        out = {k: _sprinkle(v, draw) for k, v in node.items()}
        out.update(draw(_extra_keys))
        return out
    if isinstance(node, list):
        return [_sprinkle(v, draw) for v in node]
    return node


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    data=st.data(),
    name=st.sampled_from(_JOB_FIXTURES),
    status=st.text(max_size=20),
    media_status=st.text(max_size=40),
)
def test_job_tolerates_unknown_fields_and_values(
    data: st.DataObject, name: str, status: str, media_status: str
) -> None:
    original = raw(name)
    doc = _sprinkle(original, data.draw)
    doc["status"] = status
    for entry in (doc.get("response") or {}).get("media", []):
        metadata = entry.setdefault("mediaMetadata", {})
        metadata.setdefault("mediaStatus", {})["mediaGenerationStatus"] = media_status
    for op in (doc.get("response") or {}).get("operations", []):
        op["status"] = media_status
    job = decode(Job, json.dumps(doc))
    assert job.jobid == original.get("jobid", "")
    assert job.status == status
    expected_state = status if status in {s.value for s in JobStatus} else JobStatus.UNKNOWN
    assert job.state == expected_state
    assert job.is_finished == (job.state in (JobStatus.COMPLETED, JobStatus.FAILED))
    reference = decode(Job, json.dumps(original))
    assert [m.url for m in job.media] == [m.url for m in reference.media]
    assert all(m.status == media_status for m in job.media)
    job.reason  # noqa: B018 - must not raise
    job.message_text  # noqa: B018


# ---------------------------------------------------------------------------------------------
# Documentation: every public class, field, property and method has a docstring
# ---------------------------------------------------------------------------------------------

_TYPES_DIR = Path(_base.__file__).parent


@pytest.mark.parametrize("module", sorted(p.name for p in _TYPES_DIR.glob("*.py")))
def test_every_public_field_is_documented(module: str) -> None:
    tree = ast.parse((_TYPES_DIR / module).read_text(encoding="utf-8"))
    missing: list[str] = []
    for node in tree.body:
        if not isinstance(node, ast.ClassDef) or node.name.startswith("_"):
            continue
        if ast.get_docstring(node) is None:
            missing.append(node.name)
        body = node.body
        for index, item in enumerate(body):
            if isinstance(item, ast.AnnAssign | ast.Assign):
                target = item.target if isinstance(item, ast.AnnAssign) else item.targets[0]
                name = target.id if isinstance(target, ast.Name) else ""
                if not name or name.startswith("_"):
                    continue
                follower = body[index + 1] if index + 1 < len(body) else None
                documented = (
                    isinstance(follower, ast.Expr)
                    and isinstance(follower.value, ast.Constant)
                    and isinstance(follower.value.value, str)
                )
                if not documented:
                    missing.append(f"{node.name}.{name}")
            elif (
                isinstance(item, ast.FunctionDef)
                and not item.name.startswith("_")
                and ast.get_docstring(item) is None
            ):
                missing.append(f"{node.name}.{item.name}()")
    assert missing == []


def test_fixtures_match_the_spec() -> None:
    """The fixtures on disk are exactly what the extractor produces from ``spec/``."""
    import importlib.util

    script = FIXTURES.parent / "extract_spec_examples.py"
    spec = importlib.util.spec_from_file_location("extract_spec_examples", script)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    if not module.DEFAULT_SPEC.is_dir():
        pytest.skip(f"spec directory {module.DEFAULT_SPEC} not available")
    assert module.main(["--check"]) == 0
    assert len(module.EXAMPLES) == len(ALL)
