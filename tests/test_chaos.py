"""Chaos (issue 4 §9): a few hundred prompts through mixed faults, a mid-run crash, a resume.

The harness is :mod:`benchmarks.chaos` (whose ``python -m benchmarks.chaos`` runs the same at
10,000 prompts against a fake in another process); here it runs in-process at a scale that
takes a few seconds. The batch machinery (journal, watcher, downloads) is cancelled once
40 % of the prompts finished — in-flight submits, polls and downloads abandoned mid-request —
and resumed by a new session and runner from the journal (adopt / reconcile / submit). Every
counter comes from the fake's ground truth.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.chaos import CORRECTNESS, MarkerFake, chaos_counters, run_chaos
from flowapi.testing import FakeAccount

pytestmark = pytest.mark.anyio

TIME_SCALE = 0.02
FAULTS = ", ".join([
    "seed=5",
    "throttled{count=1}",
    "model_quota{count=1;after=60}",
    "low_score{count=2;after=30}",
    "no_eligible{count=1;after=100}",
    "unavailable:0.03",
    "captcha_failed:0.02",
    "captcha_quality:0.01",
    "moderation:0.05",
    "poll_500:0.05",
    "reset_before:0.02@POST videos",
    "reset_after_create:0.02",
    "bad_json:0.02@POST videos",
    "truncated_media:0.03",
    "slow:0.01{delay=100}@POST videos",
    "slow:0.01{delay=100}@GET jobs/{jobid}",
])


async def test_chaos_nothing_lost_nothing_paid_twice(tmp_path: Path) -> None:
    accounts = [FakeAccount(email=e) for e in ("a.chaos@gmail.com", "b.chaos@gmail.com",
                                                "c.chaos@gmail.com")]
    # two quarantines leave one of the three accounts healthy: the run never stalls on a
    # 30-minute no_eligible_account (a forced one still happens)
    async with MarkerFake(time_scale=TIME_SCALE, seed=9, accounts=accounts,
                          faults=FAULTS) as fake:
        run = await run_chaos(fake.base_url, fake.token, fake.clock, 300, tmp_path / "out",
                              crash_at=0.4, max_in_flight=100, read_timeout=0.6)
        counters = chaos_counters(fake.state(), fake.markers, run, grace=0.05 / TIME_SCALE)
    assert run.crashed, "the client was not crashed mid-run"
    assert 0 < counters["finished_before_crash"] < 300
    problems = {k: counters[k] for k in CORRECTNESS if counters[k]}
    assert problems == {}, counters
    # the faults really happened, and the interesting paths were taken
    for kind in ("throttled", "model_quota", "low_score", "no_eligible",
                 "unavailable", "captcha_failed", "moderation", "poll_500", "reset_before",
                 "reset_after_create", "bad_json", "truncated_media", "slow"):
        assert counters.get(f"fault.{kind}", 0) > 0, (kind, counters)
    assert counters["adopted_after_reset_after_create"] == counters["fault.reset_after_create"]
    assert counters["succeeded"] + counters["failed"] == 300
    assert counters["succeeded"] >= 200
