"""A session pointed at a loopback fake follows the fake's clock, and ``FLOWAPI_BASE_URL`` /
``USEAPI_TOKEN`` configure every command and the SDK (issue 12 §3)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web

from flowapi import DEFAULT_BASE_URL, FlowSession
from flowapi._clock import RealClock, ScaledClock
from flowapi.cli import main
from flowapi.testing import FakeFlowServer
from flowapi.testing._server import describe_fake
from tests.test_cli_endpoints import ThreadedFake


@pytest.mark.anyio
async def test_session_on_a_loopback_fake_follows_its_clock(fake: FakeFlowServer) -> None:
    async with FlowSession(fake.token, base_url=fake.base_url) as flow:
        assert isinstance(flow.clock, ScaledClock)
        assert flow.clock.time_scale == fake.clock.time_scale
        assert flow.clock.anchor == fake.clock.anchor
        assert abs(flow.clock.time() - fake.clock.time()) < 5.0  # simulated seconds
    # the probe is an admin route: the fake's ground truth has no extra API request
    assert fake.requests == []


@pytest.mark.anyio
async def test_an_explicit_clock_wins(fake: FakeFlowServer) -> None:
    clock = RealClock()
    async with FlowSession(fake.token, base_url=fake.base_url, clock=clock) as flow:
        assert flow.clock is clock


@pytest.mark.anyio
async def test_a_loopback_server_that_is_not_the_fake_keeps_the_real_clock() -> None:
    seen: list[str] = []

    async def anything(request: web.Request) -> web.Response:
        seen.append(request.path)
        return web.json_response({"error": "not here"}, status=404)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", anything)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        base = f"http://127.0.0.1:{runner.addresses[0][1]}/v1/google-flow/"
        async with FlowSession("t", base_url=base) as flow:
            assert isinstance(flow.clock, RealClock)
        assert seen == ["/_fake/clock"]
    finally:
        await runner.cleanup()


@pytest.mark.anyio
async def test_the_real_api_is_never_probed() -> None:
    async with FlowSession("t") as flow:  # would fail without network if it probed
        assert str(flow.base_url) == DEFAULT_BASE_URL
        assert isinstance(flow.clock, RealClock)


def test_base_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWAPI_BASE_URL", "http://127.0.0.1:8787/v1/google-flow/")
    assert str(FlowSession("t").base_url) == "http://127.0.0.1:8787/v1/google-flow/"
    assert str(FlowSession("t", base_url="http://[::1]:9/x/").base_url) == "http://[::1]:9/x/"


def test_unsafe_base_url_from_the_environment_is_refused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWAPI_BASE_URL", "http://api.example.com/v1/google-flow/")
    with pytest.raises(ValueError, match="http://"):
        FlowSession("t")


@pytest.fixture
def threaded() -> Iterator[Any]:
    server = ThreadedFake().start()
    try:
        yield server.fake
    finally:
        server.stop()


def test_cli_with_only_environment_variables_and_no_clock_options(
        threaded: Any, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("FLOWAPI_BASE_URL", threaded.base_url)
    monkeypatch.setenv("USEAPI_TOKEN", threaded.token)
    assert main(["videos", "create", "--prompt", "A fox", "--async"]) == 0
    jobid = json.loads(capsys.readouterr().out)["jobid"]
    # no --poll-interval / --time-scale: the command follows the fake's clock
    assert main(["jobs", "wait", jobid, "--timeout", "3600"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "completed"


@pytest.mark.anyio
async def test_fake_server_banner_says_what_to_use(fake: FakeFlowServer) -> None:
    text = describe_fake(fake)
    assert f"export FLOWAPI_BASE_URL={fake.base_url}" in text
    assert f"export USEAPI_TOKEN={fake.token}" in text
    assert "fake.user@gmail.com" in text
    assert str(fake.clock.time_scale) in text
