"""Fault injection, quarantine and load balancing of the fake (``flowapi.testing``)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from flowapi.testing import FakeAccount, FakeFlowServer, FaultRule, Faults, parse_faults
from flowapi.testing._jobs import create_job
from flowapi.testing._records import RecordedRequest
from tests.conftest_fake import Api

pytestmark = pytest.mark.anyio

A, B = "a@gmail.com", "b@gmail.com"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def two_accounts() -> list[FakeAccount]:
    return [FakeAccount(email=A), FakeAccount(email=B)]


# -- grammar -------------------------------------------------------------------------------


def test_parse_faults_grammar() -> None:
    f = parse_faults(
        "throttled:0.05,unavailable:0.02,moderation:0.1,reset_after_create:0.01@POST videos"
    )
    assert [r.kind for r in f.rules] == [
        "throttled",
        "unavailable",
        "moderation",
        "reset_after_create",
    ]
    assert f.rules[0].probability == 0.05
    assert f.rules[0].route is None
    assert f.rules[3].route == "POST videos"
    f = parse_faults(
        "seed=7; poll_500:0.2{count=5}@GET jobs/{jobid}\n"
        "slow{delay=45}@GET jobs*, "
        "model_quota{model=veo-3.1-quality;email=a@gmail.com;after=2;count=1}"
    )
    assert f.seed == 7
    assert f.rules[0] == FaultRule("poll_500", 0.2, route="GET jobs/{jobid}", count=5)
    assert f.rules[1] == FaultRule("slow", route="GET jobs*", delay=45.0)
    assert f.rules[2] == FaultRule(
        "model_quota", email=A, model="veo-3.1-quality", after=2, count=1
    )
    assert parse_faults(f.to_spec()) == f
    for bad in ("nope", "throttled:2", "throttled{color=red}", "throttled{count}", "seed=x", "!!"):
        with pytest.raises(ValueError, match=r"."):
            parse_faults(bad)
    assert parse_faults("") == Faults()


# -- 429 variants, quarantine, load balancing ------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "reason", "lo", "hi"),
    [
        ("throttled", "PUBLIC_ERROR_USER_REQUESTS_THROTTLED", 1790, 1800),
        ("user_quota", "PUBLIC_ERROR_USER_QUOTA_REACHED", 1790, 1800),
        ("model_quota", "PUBLIC_ERROR_PER_MODEL_DAILY_QUOTA_REACHED", 1, 86400),
        ("low_score", "PUBLIC_ERROR_UNUSUAL_ACTIVITY_TOO_MUCH_TRAFFIC", 59, 60),
    ],
)
async def test_429_variants(
    session: aiohttp.ClientSession, kind: str, reason: str, lo: int, hi: int
) -> None:
    async with FakeFlowServer(time_scale=0.001, faults=Faults([FaultRule(kind, count=1)])) as fake:
        api = Api(fake, session)
        status, body, headers = await api.post("videos", json={"prompt": "p"})
        assert status == 429
        assert body["error"]["status"] == "RESOURCE_EXHAUSTED"
        assert body["error"]["code"] == 429
        assert body["error"]["details"][0]["reason"] == reason
        retry = int(headers["Retry-After"])
        assert lo <= retry <= hi
        at = dt.datetime.fromisoformat(body["retryAfter"].replace("Z", "+00:00")).timestamp()
        assert abs(at - (fake.clock.time() + retry)) < 60  # sim s; 1 ms real = 1 s here
        if kind == "model_quota":
            assert body["error"]["details"][0]["metadata"] == {"canUpgradeForQuota": "true"}
            assert dt.datetime.fromtimestamp(at, dt.UTC).time() == dt.time(0, 0)
        assert fake.requests[-1].fault == kind
        assert not fake.jobs
        quarantined = fake.state()["quarantine"]
        assert bool(quarantined) == (kind != "low_score")
        assert fake.state()["counters"][f"fault.{kind}"] == 1
        _, listing, _ = await api.get("jobs")
        assert listing["videos"]["summary"]["fake.user@gmail.com"]["rateLimited"] >= 1


async def test_quarantine_routes_to_healthy_account(session: aiohttp.ClientSession) -> None:
    faults = Faults([FaultRule("throttled", email=A, count=1)])
    async with FakeFlowServer(time_scale=0.001, accounts=two_accounts(), faults=faults) as fake:
        api = Api(fake, session)
        status, _, _ = await api.post("videos", json={"prompt": "p", "email": A, "async": True})
        assert status == 429
        assert fake.state()["quarantine"][0]["email"] == A
        assert fake.state()["quarantine"][0]["model"] == "*"
        for _ in range(6):
            status, out, _ = await api.post("videos", json={"prompt": "p", "async": True})
            assert status == 201
            assert fake.jobs[out["jobid"]].email == B
        assert not any(r.into_quarantine for r in fake.requests)
        status, _body, headers = await api.post("videos", json={"prompt": "p", "email": A})
        assert status == 429
        assert "Retry-After" in headers
        assert fake.requests[-1].into_quarantine
        assert fake.requests[-1].fault == "quarantine"


async def test_model_quota_blocks_only_that_model(session: aiohttp.ClientSession) -> None:
    faults = Faults([FaultRule("model_quota", model="veo-3.1-quality", count=1)])
    async with FakeFlowServer(time_scale=0.001, accounts=two_accounts(), faults=faults) as fake:
        api = Api(fake, session)
        assert (
            await api.post("videos", json={"prompt": "p", "email": A, "model": "veo-3.1-quality"})
        )[0] == 429
        status, out, _ = await api.post("videos", json={"prompt": "p", "email": A, "async": True})
        assert status == 201
        for _ in range(4):
            _, out, _ = await api.post(
                "videos", json={"prompt": "p", "model": "veo-3.1-quality", "async": True}
            )
            assert fake.jobs[out["jobid"]].email == B


async def test_no_eligible_account(session: aiohttp.ClientSession) -> None:
    faults = Faults([FaultRule("user_quota", count=2)])
    async with FakeFlowServer(time_scale=0.001, accounts=two_accounts(), faults=faults) as fake:
        api = Api(fake, session)
        for email in (A, B):
            assert (await api.post("videos", json={"prompt": "p", "email": email}))[0] == 429
        status, body, headers = await api.post("videos", json={"prompt": "p"})
        assert status == 429
        assert body["error"] == "no_eligible_account"
        assert set(body) == {"error", "message", "retryAfter", "skipReasons"}
        assert sorted(body["skipReasons"], key=lambda r: r["email"]) == [
            {"email": A, "reason": "PUBLIC_ERROR_USER_QUOTA_REACHED", "model": "*"},
            {"email": B, "reason": "PUBLIC_ERROR_USER_QUOTA_REACHED", "model": "*"},
        ]
        assert 1790 <= int(headers["Retry-After"]) <= 1800
        assert fake.requests[-1].email is None
        assert not fake.jobs
        assert fake.state()["counters"]["no_eligible_account"] == 1


async def test_quarantine_expires(session: aiohttp.ClientSession) -> None:
    faults = Faults([FaultRule("throttled", email=A, count=1)])
    async with FakeFlowServer(time_scale=1e-5, accounts=two_accounts(), faults=faults) as fake:
        api = Api(fake, session)
        assert (await api.post("videos", json={"prompt": "p", "email": A}))[0] == 429
        await asyncio.sleep(1800 * 1e-5 + 0.01)
        status, _, _ = await api.post("videos", json={"prompt": "p", "email": A, "async": True})
        assert status == 201
        assert not fake.requests[-1].into_quarantine


async def test_unhealthy_account_is_skipped_and_answers_596(session: aiohttp.ClientSession) -> None:
    accounts = [FakeAccount(email=A, health="Failed to refresh session"), FakeAccount(email=B)]
    async with FakeFlowServer(time_scale=0.001, accounts=accounts) as fake:
        api = Api(fake, session)
        for _ in range(3):
            _, out, _ = await api.post("videos", json={"prompt": "p", "async": True})
            assert fake.jobs[out["jobid"]].email == B
        status, body, _ = await api.post("videos", json={"prompt": "p", "email": A})
        assert (status, body) == (
            596,
            {"error": "Failed to refresh session: 500 Internal Server Error"},
        )
        _, listing, _ = await api.get("jobs")
        assert listing["emails"] == [B]
        _, acct, _ = await api.get(f"accounts/{A.replace('@', '%40')}")
        assert "credits" not in acct and "models" not in acct


async def test_forced_no_eligible(session: aiohttp.ClientSession) -> None:
    async with FakeFlowServer(time_scale=0.001, faults="no_eligible{count=1}") as fake:
        api = Api(fake, session)
        status, body, headers = await api.post("videos", json={"prompt": "p"})
        assert status == 429
        assert body["error"] == "no_eligible_account"
        assert headers["Retry-After"] == "60"
        assert (await api.post("videos", json={"prompt": "p", "async": True}))[0] == 201


async def test_load_balancing_spreads_by_score(session: aiohttp.ClientSession) -> None:
    accounts = [FakeAccount(email=f"u{i}@gmail.com") for i in range(3)]
    async with FakeFlowServer(time_scale=0.001, accounts=accounts, seed=3) as fake:
        api = Api(fake, session)
        for _ in range(9):
            await api.post(
                "videos", json={"prompt": "p", "async": True, "model": "veo-3.1-quality"}
            )
        per = {a.email: sum(j.email == a.email for j in fake.jobs.values()) for a in accounts}
        assert per == dict.fromkeys(per, 3)


# -- 5xx / 4xx kinds -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "status", "body"),
    [
        (
            "unavailable",
            503,
            {
                "error": {
                    "code": 503,
                    "message": "Service temporarily unavailable.",
                    "status": "UNAVAILABLE",
                }
            },
        ),
        (
            "captcha_failed",
            503,
            {"error": "Captcha service failed: ERROR_ZERO_BALANCE", "code": 503},
        ),
        ("session_error", 596, {"error": "Failed to refresh session: 500 Internal Server Error"}),
        (
            "timeout_408",
            408,
            {"error": "Video generation polling timeout after 120 attempts (600s)"},
        ),
        (
            "poll_500@POST videos",
            500,
            {
                "error": {
                    "code": 500,
                    "message": "Internal error encountered.",
                    "status": "INTERNAL",
                }
            },
        ),
    ],
)
async def test_error_kinds(
    session: aiohttp.ClientSession, spec: str, status: int, body: Any
) -> None:
    async with FakeFlowServer(
        time_scale=0.001,
        faults=spec + "{count=1}" if "@" not in spec else spec.replace("@", "{count=1}@"),
    ) as fake:
        api = Api(fake, session)
        assert (await api.post("videos", json={"prompt": "p"}))[:2] == (status, body)
        assert not fake.jobs
        _, listing, _ = await api.get("jobs")
        assert listing["videos"]["summary"]["fake.user@gmail.com"]["failed"] == 1
        assert (await api.post("videos", json={"prompt": "p", "async": True}))[0] == 201


async def test_captcha_quality(session: aiohttp.ClientSession) -> None:
    async with FakeFlowServer(time_scale=0.001, faults="captcha_quality") as fake:
        api = Api(fake, session)
        status, body, _ = await api.post("videos", json={"prompt": "p", "captchaRetry": 5})
        assert status == 403
        assert body["error"].startswith("captcha_quality:")
        assert body["error"].endswith("after 5 attempts")
        assert body["status"] == "failed"
        assert body["response"]["error"]["status"] == "PERMISSION_DENIED"
        assert len(body["response"]["captcha"]["attempts"]) == 5
        assert not fake.jobs


async def test_poll_500(session: aiohttp.ClientSession) -> None:
    async with FakeFlowServer(time_scale=0.001, faults="poll_500{count=2}") as fake:
        api = Api(fake, session)
        _, out, _ = await api.post("videos", json={"prompt": "p", "async": True})
        assert (await api.get(f"jobs/{out['jobid']}"))[0] == 500
        assert (await api.get("jobs"))[0] == 500
        assert (await api.get(f"jobs/{out['jobid']}"))[0] == 200
        assert [r.fault for r in fake.requests] == [None, "poll_500", "poll_500", None]


async def test_moderation(session: aiohttp.ClientSession) -> None:
    async with FakeFlowServer(time_scale=0.001, faults="moderation{count=2}") as fake:
        api = Api(fake, session)
        _, out, _ = await api.post("videos", json={"prompt": "p", "async": True})
        job = fake.jobs[out["jobid"]]
        assert job.outcome == "failed"
        assert job.failure_reason == "PUBLIC_ERROR_UNSAFE_GENERATION"
        done = await api.wait_job(out["jobid"])
        assert done["status"] == "failed"
        assert (done["error"], done["code"]) == ("API error: 400", 400)
        assert done["errorDetails"]
        assert done["response"]["error"]["details"][0]["reason"] == "PUBLIC_ERROR_UNSAFE_GENERATION"
        status, body, _ = await api.post("videos", json={"prompt": "p"})
        assert status == 400
        assert body["error"] == "API error: 400"
        assert body["code"] == 400
        assert body["jobId"] in fake.jobs
        assert body["response"]["error"]["status"] == "INVALID_ARGUMENT"
        _, listing, _ = await api.get("jobs?options=history")
        assert {h["httpStatus"] for h in listing["videos"]["history"].values()} == {400}


async def test_job_error(session: aiohttp.ClientSession) -> None:
    async with FakeFlowServer(time_scale=0.001, faults="job_error{count=1}") as fake:
        api = Api(fake, session)
        status, body, _ = await api.post("videos", json={"prompt": "p"})
        assert status == 500
        assert (body["error"], body["code"]) == ("API error: 500", 500)
        assert body["response"]["error"]["status"] == "INTERNAL"
        job = fake.jobs[body["jobId"]]
        assert job.status == "failed" and job.failure_code == 500
        _, record, _ = await api.get(f"jobs/{job.jobid}")
        assert record["errorDetails"] == "Upstream model returned an internal error"


# -- delivery kinds ----------------------------------------------------------------------------


async def test_slow(session: aiohttp.ClientSession) -> None:
    async with FakeFlowServer(
        time_scale=0.001, faults="slow{delay=200;count=1}@GET accounts"
    ) as fake:
        api = Api(fake, session)
        assert (await api.get("accounts"))[0] == 200
        rec = fake.requests[-1]
        assert rec.fault == "slow"
        assert rec.finished_t is not None
        assert rec.finished_t - rec.t >= 200


async def test_reset_before(session: aiohttp.ClientSession) -> None:
    async with FakeFlowServer(time_scale=0.001, faults="reset_before{count=1}@POST videos") as fake:
        api = Api(fake, session)
        with pytest.raises(aiohttp.ClientError):
            await api.post("videos", json={"prompt": "p", "async": True})
        assert not fake.jobs
        assert fake.requests[-1].status is None
        assert fake.requests[-1].fault == "reset_before"
        assert (await api.post("videos", json={"prompt": "p", "async": True}))[0] == 201


@pytest.mark.parametrize("async_", [True, False])
async def test_reset_after_create(session: aiohttp.ClientSession, async_: bool) -> None:
    async with FakeFlowServer(time_scale=0.001, faults="reset_after_create{count=1}") as fake:
        api = Api(fake, session)
        with pytest.raises(aiohttp.ClientError):
            await api.post("videos", json={"prompt": "p", "async": async_, "replyRef": "dup-trap"})
        (job,) = fake.jobs.values()
        assert job.connection_reset_after_create
        assert job.reply_ref == "dup-trap"
        assert fake.requests[-1].status is None
        assert fake.requests[-1].job_id == job.jobid
        assert (await api.wait_job(job.jobid))["status"] == "completed"
        _, listing, _ = await api.get("jobs?options=history")
        assert job.jobid in listing["videos"]["history"]


async def test_truncated_media(session: aiohttp.ClientSession) -> None:
    async with FakeFlowServer(time_scale=0.001, faults="truncated_media{count=1}") as fake:
        api = Api(fake, session)
        url = (await api.video())["media"][0]["videoUrl"]
        with pytest.raises(aiohttp.ClientPayloadError):
            async with session.get(url) as r:
                await r.read()
        assert fake.requests[-1].route == "GET media"
        assert fake.requests[-1].fault == "truncated_media"
        async with session.get(url) as r:
            assert r.status == 200
            assert len(await r.read()) == int(r.headers["Content-Length"])


async def test_bad_json_and_huge_body(session: aiohttp.ClientSession) -> None:
    async with FakeFlowServer(
        time_scale=0.001, faults="bad_json{count=1}@GET accounts, huge_body{count=1}@GET jobs"
    ) as fake:
        api = Api(fake, session)
        async with session.get(api.url("accounts"), headers=api.h) as r:
            assert r.status == 200
            with pytest.raises(ValueError, match=r"."):
                json.loads(await r.read())
        async with session.get(api.url("jobs"), headers=api.h) as r:
            raw = await r.read()
            assert r.status == 200
            assert len(raw) > 16 * 1024 * 1024
            assert "emails" in json.loads(raw)
        assert [r.fault for r in fake.requests] == ["bad_json", "huge_body"]


# -- webhooks ------------------------------------------------------------------------------


async def test_webhook_drop_and_duplicate(session: aiohttp.ClientSession) -> None:
    got: list[str] = []

    async def hook(request: web.Request) -> web.Response:
        got.append((await request.json())["status"])
        return web.Response()

    app = web.Application()
    app.router.add_post("/", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/"  # type: ignore[union-attr]
    try:
        faults = "webhook_drop{count=1}, webhook_duplicate{after=1;count=1}"
        async with FakeFlowServer(time_scale=0.001, faults=faults) as fake:
            api = Api(fake, session)
            _, out, _ = await api.post(
                "videos", json={"prompt": "p", "async": True, "replyUrl": url}
            )
            await api.wait_job(out["jobid"])
            for _ in range(50):
                if len(got) >= 3:
                    break
                await asyncio.sleep(0.01)
            assert got == ["started", "started", "completed"]
            log = fake.state()["webhooks"]
            assert [w["fault"] for w in log] == [
                "webhook_drop",
                "webhook_duplicate",
                "webhook_duplicate",
                None,
            ]
            assert fake.state()["counters"]["fault.webhook_drop"] == 1
    finally:
        await runner.cleanup()


# -- determinism, counting, scale -------------------------------------------------------------


async def _pattern(session: aiohttp.ClientSession, seed: int) -> list[int]:
    async with FakeFlowServer(
        time_scale=0.001, faults=parse_faults("throttled:0.3, unavailable:0.3", seed=seed)
    ) as fake:
        api = Api(fake, session)
        results = await asyncio.gather(
            *(api.post("videos", json={"prompt": str(i), "async": True}) for i in range(20))
        )
        assert sorted(r.index for r in fake.requests) == list(range(20))
        return [s for s, _, _ in results]


async def test_faults_are_reproducible(session: aiohttp.ClientSession) -> None:
    first = await _pattern(session, 11)
    assert first == await _pattern(session, 11)
    assert {429, 503, 201} <= set(first)


async def test_count_and_after(session: aiohttp.ClientSession) -> None:
    async with FakeFlowServer(
        time_scale=0.001, faults="unavailable{after=2;count=2}@GET accounts"
    ) as fake:
        api = Api(fake, session)
        statuses = [(await api.get("accounts"))[0] for _ in range(6)]
        assert statuses == [200, 200, 503, 503, 200, 200]
        fake.set_faults(None)
        assert fake.state()["faults"] == "seed=0"


async def test_ten_thousand_jobs_in_flight_are_cheap(session: aiohttp.ClientSession) -> None:
    async with FakeFlowServer(
        time_scale=0.001, video_seconds={"veo-3.1-quality": (1e6, 1e6)}
    ) as fake:
        world = fake._world
        rec = RecordedRequest(0, 0.0, "POST", "/", "POST videos", {}, True, True)
        for i in range(10_000):
            create_job(
                world, job_type="video", model="veo-3.1-quality", email="fake.user@gmail.com",
                route="POST videos", body={"prompt": str(i), "async": True}, rec=rec, async_=True,
                duration_key="veo-3.1-quality", count=1, meta={"prompt": str(i)},
            )  # fmt: skip
        api = Api(fake, session)
        status, listing, _ = await api.get("jobs?options=executing")
        assert status == 200
        assert len(listing["videos"]["executing"]) == 10_000
        assert listing["videos"]["summary"]["fake.user@gmail.com"]["executing"] == 10_000
        assert len(fake.jobs) == 10_000
        assert fake.state()["counters"]["jobs_executing"] == 10_000
