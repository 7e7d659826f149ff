"""``flowapi batch`` rerun after the signed media URLs expired (issue 10 §1): the batch
downloads through ``flow.media.download``, which re-signs an expired URL once through
GET /assets/{mediaGenerationId}, so a rerun hours or days later (within the jobs' 7-day
retention) still gets the videos, without resubmitting anything."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from flowapi import FlowSession
from flowapi.cli._batch import BatchOptions
from flowapi.cli._commands import run_batch_ui
from flowapi.cli._prompts import load_prompts
from flowapi.testing import FakeFlowServer
from tests._mp4 import assert_valid_mp4

pytestmark = pytest.mark.anyio

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


async def test_rerun_after_url_expiry_still_downloads(flow: FlowSession, fake: FakeFlowServer,
                                                      tmp_path: Path) -> None:
    specs = load_prompts(EXAMPLES / "prompts.json")
    options = BatchOptions(out_dir=tmp_path, thumbnails=False)
    console = Console(record=True, width=160, force_terminal=False)
    code, _ = await run_batch_ui(flow, specs, options, console)
    assert code == 0, console.export_text()
    videos = sorted(tmp_path.glob("*.mp4"))
    for video in videos:
        video.unlink()  # lost files: the rerun must fetch them again
    fake.advance(2 * 24 * 3600)  # two days later: every signed URL has expired
    before = len(fake.requests)
    code, results = await run_batch_ui(flow, specs, options, console)
    assert code == 0, console.export_text()
    assert all(r.resumed for r in results)
    for video in videos:
        assert_valid_mp4(video)
    new = fake.requests[before:]
    assert not [r for r in new if r.route.startswith("POST")]  # nothing resubmitted
    resigned = [r for r in new if r.route == "GET assets/{mediaGenerationId}"]
    assert len(resigned) == len(videos)
