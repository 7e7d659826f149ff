"""Credits before they are spent (issue 12 §8): the documented table, ``estimate_credits``
with and without an account, ``batch --dry-run`` and ``--max-credits``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import flowapi
from flowapi import (
    ExtendParams,
    FlowSession,
    ImageParams,
    VideoParams,
    VideoUpscaleParams,
    estimate_credits,
    total_credits,
)
from flowapi.cli import main
from flowapi.cli._dry_run import budget_credits, over_budget_message, price_prompts
from flowapi.cli._prompts import load_prompts
from flowapi.testing import FakeAccount, FakeFlowServer
from tests.test_cli_endpoints import ThreadedFake

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PROMPTS = str(EXAMPLES / "prompts.json")


@pytest.mark.parametrize(("params", "plus_pro", "ultra", "free"), [
    # overview table (Veo, unchanged in the Nov 2026 update)
    (VideoParams(prompt="p"), 20, 10, None),
    (VideoParams(prompt="p", model="veo-3.1-lite"), 10, 5, None),
    (VideoParams(prompt="p", model="veo-3.1-quality", count=2), 200, 200, None),
    (VideoParams(prompt="p", model="veo-3.1-lite-low-priority"), None, 0, None),
    (VideoParams(prompt="p", model="veo-3.1-fast", duration=4, count=3), 60, 30, None),
    # update §5.1: Omni 1.1 by duration and resolution, V2V flat
    (VideoParams(prompt="p", model="omni-flash", duration=4), 7, 7, None),
    (VideoParams(prompt="p", model="omni-flash"), 12, 12, None),  # default 8 s
    (VideoParams(prompt="p", model="omni-flash", duration=10), 15, 15, None),
    (VideoParams(prompt="p", model="omni-flash", duration=6, resolution="360p"), 5, 5, None),
    (VideoParams(prompt="p", model="omni-flash", reference_video="user:1-video:v"), 20, 20,
     None),
    (VideoParams(prompt="p", model="omni-flash", reference_video="user:1-video:v",
                 resolution="360p"), 10, 10, None),
    # Omni 1.2: 3/s up to 10 s, 6/s beyond; free accounts up to 10 s
    (VideoParams(prompt="p", model="omni-flash-1.2", duration=3), 9, 9, 9),
    (VideoParams(prompt="p", model="omni-flash-1.2", duration=10), 30, 30, 30),
    (VideoParams(prompt="p", model="omni-flash-1.2", duration=15, count=2), 120, 120, None),
    # upscale, images
    (VideoUpscaleParams(media_generation_id="user:1"), 0, 0, 0),
    (VideoUpscaleParams(media_generation_id="user:1", resolution="4K"), None, 50, None),
    (ImageParams(prompt="p", count=4), 0, 0, 0),
])
def test_documented_table(params: Any, plus_pro: float | None, ultra: float | None,
                          free: float | None) -> None:
    estimate = estimate_credits(params)
    assert estimate.per_tier == {"free": free, "plus-pro": plus_pro, "ultra": ultra}
    assert estimate.tier is None
    known = [v for v in (free, plus_pro, ultra) if v is not None]
    assert estimate.most == max(known)


def test_estimates_say_what_is_not_published() -> None:
    assert estimate_credits(ExtendParams(media_generation_id="user:1", prompt="p")).notes
    assert estimate_credits(VideoParams(prompt="p", model="omni-flash-1.2",
                                        resolution="360p")).notes
    unknown = estimate_credits(VideoParams(prompt="p", model="veo-9"))
    assert unknown.most is None and unknown.notes


def test_totals_add_per_tier() -> None:
    total = total_credits([estimate_credits(VideoParams(prompt="p")),
                           estimate_credits(VideoParams(prompt="p", model="veo-3.1-lite"))])
    assert total.per_tier == {"free": None, "plus-pro": 30, "ultra": 15}
    assert total_credits([]).per_tier == {"free": 0, "plus-pro": 0, "ultra": 0}


def test_public_names() -> None:
    assert flowapi.estimate_credits is estimate_credits
    assert "CreditEstimate" in flowapi.__all__ and "estimate_credits" in flowapi.__all__


@pytest.mark.anyio
async def test_account_tier_and_own_credit_cost() -> None:
    accounts = [FakeAccount(email="ultra@gmail.com"),
                FakeAccount(email="pro@gmail.com", plan="pro")]
    async with FakeFlowServer(time_scale=0.001, accounts=accounts) as fake, \
            FlowSession(fake.token, base_url=fake.base_url, clock=fake.clock) as flow:
        ultra = await flow.accounts.get("ultra@gmail.com")
        pro = await flow.accounts.get("pro@gmail.com")
    fast = VideoParams(prompt="p", count=2)
    on_ultra = estimate_credits(fast, account=ultra)
    assert on_ultra.tier == "ultra" and on_ultra.credits == 20  # _ultra key: table price
    on_pro = estimate_credits(fast, account=pro)
    assert on_pro.tier == "plus-pro"
    assert on_pro.account_price  # the account lists creditCost for its models
    info = pro.video_model("veo-3.1-fast")
    assert info is not None and info.credit_cost is not None
    assert on_pro.credits == info.credit_cost * 2
    quality = estimate_credits(VideoParams(prompt="p", model="veo-3.1-quality"), account=ultra)
    assert quality.credits == 100 and quality.account_price


def test_prompts_file_priced_and_budgeted() -> None:
    priced = price_prompts(load_prompts(PROMPTS))
    assert all(p.estimate is not None for p in priced)
    assert budget_credits(priced) == 265  # highest tier price of each prompt
    assert over_budget_message(priced, 265) is None
    message = over_budget_message(priced, 100)
    assert message is not None and "265" in message and "nothing was submitted" in message


def test_dry_run_without_token_prices_per_tier(monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("USEAPI_TOKEN", raising=False)
    monkeypatch.delenv("FLOWAPI_BASE_URL", raising=False)
    assert main(["batch", PROMPTS, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "Plus/Pro 265, Ultra 240 credits" in out
    assert "Nothing was submitted" in out
    assert max(len(line) for line in out.splitlines()) <= 80


@pytest.fixture
def server() -> Iterator[Any]:
    threaded = ThreadedFake().start()
    try:
        yield threaded.fake
    finally:
        threaded.stop()


def test_dry_run_on_the_account_submits_nothing(server: Any, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("FLOWAPI_BASE_URL", server.base_url)
    monkeypatch.setenv("USEAPI_TOKEN", server.token)
    assert main(["batch", PROMPTS, "--dry-run", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "240 credits on fake.user@gmail.com" in out
    assert server.jobs == {}
    assert {str(r.method) for r in server.requests} == {"GET"}
    assert not list(tmp_path.iterdir())


def test_max_credits_refuses_before_anything_is_submitted(
        server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("FLOWAPI_BASE_URL", server.base_url)
    monkeypatch.setenv("USEAPI_TOKEN", server.token)
    assert main(["batch", PROMPTS, "--out", str(tmp_path), "--max-credits", "239"]) == 2
    captured = capsys.readouterr()
    assert "--max-credits 239" in captured.out and "240" in captured.out
    assert len(captured.out.strip().splitlines()) == 1
    assert server.jobs == {}
    assert not [r for r in server.requests if r.method == "POST"]


def test_batch_without_out_needs_dry_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["batch", PROMPTS, "--token", "t"]) == 2
    assert "--out" in capsys.readouterr().out


@pytest.mark.anyio
@pytest.mark.parametrize("params", [
    VideoParams(prompt="p"),
    VideoParams(prompt="p", model="veo-3.1-lite", count=2),
    VideoParams(prompt="p", model="veo-3.1-quality"),
    VideoParams(prompt="p", model="omni-flash", duration=6),
    VideoParams(prompt="p", model="omni-flash", duration=10, resolution="360p"),
], ids=lambda p: f"{p.model}-{p.duration}-{p.resolution}-{p.count}")
async def test_the_fake_charges_what_the_estimate_says(params: VideoParams,
                                                       fake: FakeFlowServer,
                                                       flow: FlowSession) -> None:
    """Two readings of the same documents (the fake's and the client's) agree."""
    account = await flow.accounts.get("fake.user@gmail.com")
    job = await flow.jobs.submit(params)
    assert fake.jobs[job.jobid].credits_spent == estimate_credits(params,
                                                                  account=account).credits
