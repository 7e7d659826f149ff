"""Hostile and broken input (issue 4 §6): every case gets a clear error, the rest carries on.

* decoders (``Job``, ``ErrorBody``, ``JobsStats``) fuzzed with hypothesis: arbitrary JSON (or
  bytes) → a model whose accessors work, or :class:`~flowapi.ResponseValidationError` —
  never another exception; any error body → an :class:`~flowapi.APIStatusError`;
* malformed JSON (``bad_json``) and oversized bodies (``huge_body``) from the fake;
* a 201 without a job id, wrong types;
* truncated media, media URLs with unexpected schemes, server-provided names with ``../``;
* malformed prompts files, missing or non-image files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console
from yarl import URL

import flowapi
from flowapi import (
    AmbiguousSubmitError,
    FlowSession,
    JobFailed,
    JobSucceeded,
    ResponseValidationError,
    RetryBudget,
    RetryPolicy,
    VideoParams,
)
from flowapi._clock import RealClock
from flowapi._files import safe_filename
from flowapi._polling import failure_of
from flowapi._retry import RetryBudget as _Budget
from flowapi._transport import Timeouts, Transport
from flowapi.cli._batch import BatchOptions, BatchRunner
from flowapi.cli._commands import run_batch_ui
from flowapi.cli._prompts import PromptFileError, load_prompts, parse_prompts
from flowapi.resources.media import DownloadError, check_media_url
from flowapi.testing import FakeFlowServer, FaultRule, Faults
from flowapi.types._base import decode
from flowapi.types.errors import ErrorBody
from flowapi.types.jobs import Job, JobsStats
from tests._mp4 import assert_valid_mp4

TIME_SCALE = 0.001
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

# -- fuzzing the decoders ---------------------------------------------------------------------

KEYS = ["jobid", "jobId", "status", "type", "request", "response", "error", "errorDetails",
        "code", "media", "operations", "videoUrl", "thumbnailUrl", "fifeUrl", "image",
        "generatedImage", "encodedImage", "mediaGenerationId", "details", "reason", "message",
        "retryAfter", "skipReasons", "email", "model", "videos", "images", "combined",
        "summary", "executing", "history", "timestamp", "elapsed", "captcha", "attempts",
        "remainingCredits", "replyRef", "video", "mediaMetadata", "mediaStatus", "operation",
        "metadata", "name", "seed", "prompt", "emails", "created", "updated", "@type",
        "servingBaseUri", "rawBytes", "httpStatus", "responseTime", "score", "executing"]

scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
           | st.floats(allow_nan=False, allow_infinity=False)
           | st.text(max_size=30) | st.sampled_from(["completed", "failed", "created",
                                                    "PUBLIC_ERROR_UNSAFE_GENERATION",
                                                    "2026-05-19T12:00:00Z", "https://x/y"]))
json_values = st.recursive(
    scalars,
    lambda children: (st.lists(children, max_size=4)
                      | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), children,
                                        max_size=6)),
    max_leaves=40)
json_objects = st.dictionaries(st.sampled_from(KEYS), json_values, max_size=8)


def _transport() -> Transport:
    return Transport(http=None, base_url=URL("https://api.example/v1/google-flow/"),  # type: ignore[arg-type]
                     token="user:1-fuzz-token", user_agent="t", timeouts=Timeouts(),
                     retry=RetryPolicy(), budget=_Budget(), clock=RealClock())


TRANSPORT = _transport()
FUZZ = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


def _use_job(job: Job) -> None:
    """Everything the watcher, the CLI and users read from a job record."""
    _ = (job.jobid, job.state, job.kind, job.is_finished, job.reason, job.message_text,
         job.reply_ref, job.remaining_credits, job.captcha, job.created_at, job.updated_at)
    for item in job.media:
        _ = (item.url, item.thumbnail_url, item.encoded, item.media_generation_id, item.kind)
    if job.status == "failed" or job.error is not None:
        error = failure_of(job)
        assert isinstance(error, flowapi.JobFailedError)
        str(error)


def _use_error(body: ErrorBody) -> None:
    _ = (body.reason, body.rate_limit_reason, body.error_text, body.message_text,
         body.google_error, body.retry_after_at, body.jobid, list(body.skip_reasons))


def _use_stats(stats: JobsStats) -> None:
    _ = (stats.groups(), stats.executing_jobids(), stats.history_jobids())


USERS = {Job: _use_job, ErrorBody: _use_error, JobsStats: _use_stats}


def _decode_or_validation_error(type_: type, raw: bytes) -> None:
    try:
        value = TRANSPORT._decode(type_, raw, "GET", URL("https://api.example/x"), 200)
    except ResponseValidationError as exc:
        error = exc
    else:
        assert isinstance(value, type_)
        USERS[type_](value)
        return
    assert error.text is not None and str(error)


@pytest.mark.parametrize("type_", [Job, ErrorBody, JobsStats])
@FUZZ
@given(value=json_values)
def test_decoders_take_any_json(type_: type, value: Any) -> None:
    _decode_or_validation_error(type_, json.dumps(value).encode())


@pytest.mark.parametrize("type_", [Job, ErrorBody, JobsStats])
@FUZZ
@given(value=json_objects)
def test_decoders_take_any_object(type_: type, value: dict[str, Any]) -> None:
    _decode_or_validation_error(type_, json.dumps(value).encode())


@pytest.mark.parametrize("type_", [Job, ErrorBody, JobsStats])
@FUZZ
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_decoders_take_any_bytes(type_: type, raw: bytes) -> None:
    _decode_or_validation_error(type_, raw)


@FUZZ
@given(status=st.integers(min_value=400, max_value=599),
       body=json_objects.map(lambda v: json.dumps(v).encode()) | st.binary(max_size=100),
       retry_after=st.none() | st.text(max_size=20))
def test_any_error_response_becomes_an_api_status_error(status: int, body: bytes,
                                                       retry_after: str | None) -> None:
    headers = {} if retry_after is None else {"Retry-After": retry_after}
    err = TRANSPORT._status_error(status, body, headers, "POST", URL("https://api.example/v"),
                                  None, None)
    assert isinstance(err, flowapi.APIStatusError)
    assert err.status_code == status
    assert str(err)


def test_doc_job_shapes_still_decode() -> None:
    job = decode(Job, json.dumps({
        "jobid": "j1v-u1-email:a@b.c-bot:google-flow", "status": "completed",
        "response": {"media": [{"videoUrl": "https://m/x.mp4", "thumbnailUrl": "https://m/t"}]},
    }))
    assert job.media and job.media[0].url == "https://m/x.mp4"


# -- malformed and oversized bodies from the fake ----------------------------------------------

@pytest.mark.anyio
@pytest.mark.parametrize("route", ["GET jobs/{jobid}", "GET jobs"])
async def test_bad_json_while_watching_is_survived(route: str) -> None:
    faults = Faults(rules=[FaultRule("bad_json", probability=0.4, route=route)], seed=3)
    async with FakeFlowServer(time_scale=TIME_SCALE, faults=faults) as fake, \
            FlowSession(fake.token, base_url=fake.base_url, clock=fake.clock,
                        retry_budget=RetryBudget(capacity=1000)) as flow:
        async with flow.watch(max_in_flight=8) as watcher:
            for i in range(8):
                await watcher.submit(VideoParams(prompt=f"p{i}"))
            watcher.close()
            outcomes = [o async for o in watcher]
        assert all(isinstance(o, JobSucceeded) for o in outcomes)
        assert fake.counters["fault.bad_json"] > 0
        assert len(fake.jobs) == 8


@pytest.mark.anyio
async def test_bad_json_on_a_get_is_retried_once_clear_error_if_it_persists() -> None:
    async with FakeFlowServer(time_scale=TIME_SCALE) as fake, \
            FlowSession(fake.token, base_url=fake.base_url, clock=fake.clock) as flow:
        fake.set_faults(Faults(rules=[FaultRule("bad_json", count=1, route="GET accounts")]))
        assert await flow.accounts.list()
        fake.set_faults(Faults(rules=[FaultRule("bad_json", route="GET accounts")]))
        with pytest.raises(ResponseValidationError) as info:
            await flow.accounts.list()
        assert info.value.malformed and "not valid JSON" in str(info.value)


@pytest.mark.anyio
async def test_huge_body_hits_the_size_cap() -> None:
    async with FakeFlowServer(time_scale=TIME_SCALE) as fake, \
            FlowSession(fake.token, base_url=fake.base_url, clock=fake.clock) as flow:
        job = await flow.jobs.submit(VideoParams(prompt="p"))
        fake.set_faults(Faults(rules=[FaultRule("huge_body", count=1,
                                                route="GET jobs/{jobid}")]))
        with pytest.raises(ResponseValidationError) as info:
            await flow.jobs.get(job.jobid)
        assert "cap" in str(info.value) and not info.value.malformed
        assert (await flow.jobs.get(job.jobid)).jobid == job.jobid  # the next read is fine


async def _tiny_api(routes: dict[tuple[str, str], tuple[int, Any]]) -> tuple[web.AppRunner, str]:
    async def handle(request: web.Request) -> web.Response:
        status, body = routes[(request.method, request.match_info["tail"])]
        return web.Response(status=status, text=body if isinstance(body, str)
                            else json.dumps(body), content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/v1/google-flow/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}/v1/google-flow/"


@pytest.mark.anyio
async def test_wrong_types_and_missing_jobid() -> None:
    runner, base = await _tiny_api({
        ("GET", "jobs/j1"): (200, {"jobid": 5, "status": ["completed"]}),
        ("POST", "videos"): (201, {"status": "created", "request": {"replyRef": "m"}}),
        ("GET", "jobs"): (200, {"videos": {"executing": {}, "history": {}}}),
    })
    try:
        async with FlowSession("t", base_url=base, retry=RetryPolicy.none()) as flow:
            with pytest.raises(ResponseValidationError) as info:
                await flow.jobs.get("j1")
            assert info.value.path is not None and "jobid" in info.value.path
            # a 201 without a job id: the job exists but cannot be watched by id
            with pytest.raises(AmbiguousSubmitError) as amb:
                await flow.jobs.submit(VideoParams(prompt="p", reply_ref="m"))
            assert "no jobid" in str(amb.value)
    finally:
        await runner.cleanup()


# -- media: truncated bodies, hostile URLs, hostile names ----------------------------------------

@pytest.mark.anyio
async def test_truncated_media_is_an_error_and_leaves_nothing(tmp_path: Path) -> None:
    async with FakeFlowServer(time_scale=TIME_SCALE) as fake, \
            FlowSession(fake.token, base_url=fake.base_url, clock=fake.clock) as flow:
        job = await flow.jobs.submit(VideoParams(prompt="p"))
        done = await flow.jobs.wait(job.jobid)
        fake.set_faults(Faults(rules=[FaultRule("truncated_media")]))
        with pytest.raises(DownloadError) as info:
            await flow.media.download(done.media[0], tmp_path / "v.mp4")
        assert info.value.retryable and ("truncated" in str(info.value)
                                         or "cut short" in str(info.value))
        assert list(tmp_path.iterdir()) == []
        assert "?" not in info.value.url  # signed query strings are not repeated


@pytest.mark.anyio
async def test_batch_retries_truncated_downloads(tmp_path: Path) -> None:
    async with FakeFlowServer(time_scale=TIME_SCALE,
                              faults="truncated_media{count=2}") as fake, \
            FlowSession(fake.token, base_url=fake.base_url, clock=fake.clock) as flow:
        prompts = tmp_path / "prompts.json"
        prompts.write_text(json.dumps([{"prompt": f"p{i}"} for i in range(3)]))
        code, results = await run_batch_ui(flow, load_prompts(prompts),
                                           BatchOptions(out_dir=tmp_path / "out"),
                                           Console(record=True, width=200))
        assert code == 0, [r.error for r in results]
        assert fake.counters["fault.truncated_media"] == 2
        for video in (tmp_path / "out").glob("*.mp4"):
            assert_valid_mp4(video)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x.mp4",
                                 "javascript:alert(1)", "data:video/mp4;base64,AAAA",
                                 "http://example.com/x.mp4", "//example.com/x.mp4", "x.mp4",
                                 "https:///nohost"])
def test_unexpected_media_schemes_refused(url: str) -> None:
    with pytest.raises(DownloadError) as info:
        check_media_url(url)
    assert "refusing" in str(info.value)


@pytest.mark.anyio
async def test_batch_reports_a_bad_media_url_and_carries_on(tmp_path: Path) -> None:
    async with FakeFlowServer(time_scale=TIME_SCALE) as fake, \
            FlowSession(fake.token, base_url=fake.base_url, clock=fake.clock) as flow:
        prompts = tmp_path / "prompts.json"
        prompts.write_text(json.dumps([{"prompt": "good"}, {"prompt": "evil"}]))
        specs = load_prompts(prompts)
        seen: list[str] = []

        class Sink:
            def uploaded(self, path: Path, ok: bool) -> None: ...
            def finished(self, result: Any) -> None:
                seen.append(result.status)
            def notice(self, text: str) -> None: ...
            def watching(self, watcher: Any) -> None: ...

        runner = BatchRunner(flow, specs, BatchOptions(out_dir=tmp_path / "out"), Sink())
        good = await flow.jobs.wait((await flow.jobs.submit(VideoParams(prompt="g"))).jobid)
        evil = decode(Job, json.dumps({
            "jobid": "j99v-u1-email:../../etc-bot:google-flow", "status": "completed",
            "response": {"media": [{"videoUrl": "file:///etc/passwd",
                                    "thumbnailUrl": "https://../../x"}]}}))
        await runner.journal.open()
        async with anyio.create_task_group() as tg:
            tg.start_soon(runner._download, specs[0], good, False)
            tg.start_soon(runner._download, specs[1], evil, False)
        await runner.journal.close()
        results = {r.spec.index: r for r in runner.results.values()}
        assert results[1].status == "succeeded"
        assert results[2].status == "failed"
        assert "refusing" in (results[2].error or "")
        out = (tmp_path / "out").resolve()
        assert all(p.resolve().parent == out for p in out.rglob("*"))
        assert not (tmp_path / "etc").exists()


@given(name=st.text(max_size=300))
@settings(max_examples=500, deadline=None)
def test_safe_filename_never_escapes(name: str) -> None:
    out = Path("/tmp/flowapi-out")
    safe = safe_filename(name, suffix=".mp4")
    assert safe and "/" not in safe and "\\" not in safe and "\x00" not in safe
    assert not safe.startswith(".")
    assert ".." not in safe
    assert (out / safe).resolve().parent == out.resolve() or (out / safe).parent == out


@pytest.mark.parametrize("jobid", ["../../../etc/passwd", "j1v-u1-email:x/../../y-bot:g",
                                   "..", "/abs/path", "C:\\win\\x", "CON", "j\x00v"])
def test_batch_names_from_hostile_job_ids_stay_inside_out(jobid: str, tmp_path: Path) -> None:
    spec = parse_prompts('[{"prompt": "p"}]', base_dir=tmp_path)[0]
    runner = BatchRunner.__new__(BatchRunner)
    runner.options = BatchOptions(out_dir=tmp_path / "out")
    for path in runner._expected_files(spec, jobid, 1).values():
        assert path.parent == tmp_path / "out"
        assert ".." not in path.name and not path.name.startswith(".")


# -- prompts files and local files ----------------------------------------------------------

@pytest.mark.parametrize(("text", "message"), [
    ("", "not valid JSON"), ("{", "not valid JSON"), ("[]", "empty"), ("42", "expected a JSON"),
    ('"x"', "expected a JSON"), ("[" * 100_000 + "]" * 100_000, "JSON"),
    ("\ufeff[{\"prompt\": 1,]", "not valid JSON"),
])
def test_malformed_prompts_files(text: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "prompts.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PromptFileError) as info:
        load_prompts(path)
    assert message in str(info.value)


def test_bad_entries_fail_alone(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not an image")
    specs = parse_prompts(json.dumps([
        {"prompt": "ok"}, 7, None, [], {"prompt": 5}, {"prompt": ""},
        {"prompt": "x", "startImage": 3}, {"prompt": "x", "startImage": "missing.png"},
        {"prompt": "x", "startImage": "../../../../../../etc/shadow-nope"},
        {"prompt": "x", "referenceImage_1": "notes.txt"}, {"prompt": "y" * 100_000},
    ]), base_dir=tmp_path)
    assert specs[0].error is None and specs[-1].error is None
    assert all(s.error for s in specs[1:9])
    assert specs[9].error is None  # exists: rejected when uploading (not an image)
    assert len({s.key for s in specs}) == len(specs)


@pytest.mark.anyio
async def test_non_image_file_is_refused_before_upload(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("secret notes, not an image")
    prompts = tmp_path / "prompts.json"
    prompts.write_text(json.dumps([{"prompt": "ok"},
                                   {"prompt": "x", "startImage": "notes.txt"},
                                   {"prompt": "y", "startImage": str(EXAMPLES /
                                                                    "first_image.jpeg")}]))
    async with FakeFlowServer(time_scale=TIME_SCALE) as fake, \
            FlowSession(fake.token, base_url=fake.base_url, clock=fake.clock) as flow:
        code, results = await run_batch_ui(flow, load_prompts(prompts),
                                           BatchOptions(out_dir=tmp_path / "out"),
                                           Console(record=True, width=200))
        assert code == 1
        assert [r.status for r in results] == ["succeeded", "failed", "succeeded"]
        assert "unsupported type" in (results[1].error or "")
        uploads = [r for r in fake.requests if r.route.startswith("POST assets")]
        assert len(uploads) == 1  # only the real image went out
        assert len(fake.jobs) == 2


@pytest.mark.anyio
async def test_failed_outcome_for_unknown_job_error_shape() -> None:
    """A failed job whose error fields have unexpected shapes still yields one JobFailed."""
    runner, base = await _tiny_api({
        ("POST", "videos"): (201, {"jobid": "j1v-u1-email:a@b.c-bot:google-flow",
                                   "status": "created"}),
        ("GET", "jobs/j1v-u1-email:a@b.c-bot:google-flow"): (200, {
            "jobid": "j1v-u1-email:a@b.c-bot:google-flow", "status": "failed",
            "error": {"weird": [1, 2]}, "response": {"error": "str"}, "code": 999}),
        ("GET", "jobs"): (200, {}),
        ("GET", "accounts/a%40b.c"): (404, {"error": "no"}),
        ("GET", "accounts/a@b.c"): (404, {"error": "no"}),
    })
    try:
        async with FlowSession("t", base_url=base, retry=RetryPolicy.none()) as flow, \
                flow.watch(mode="poll", poll=flowapi.PollPolicy(min_first_delay=0.01,
                                                                first_fraction=0.0)) as w:
            await w.submit(VideoParams(prompt="p"))
            w.close()
            outcomes = [o async for o in w]
        assert len(outcomes) == 1 and isinstance(outcomes[0], JobFailed)
        assert str(outcomes[0].error)
    finally:
        await runner.cleanup()
