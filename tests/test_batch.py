"""`flowapi batch` end to end against the fake: files on disk, summary, exit codes, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from flowapi import FlowSession
from flowapi.cli import main
from flowapi.cli._batch import BatchOptions
from flowapi.cli._commands import run_batch_ui
from flowapi.cli._prompts import load_prompts
from flowapi.testing import FakeFlowServer
from tests._mp4 import assert_valid_mp4

pytestmark = pytest.mark.anyio

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _console() -> Console:
    return Console(record=True, width=160, force_terminal=False)


async def test_example_batch_end_to_end(flow: FlowSession, fake: FakeFlowServer,
                                        tmp_path: Path) -> None:
    specs = load_prompts(EXAMPLES / "prompts.json")
    assert len(specs) >= 4
    console = _console()
    code, results = await run_batch_ui(flow, specs, BatchOptions(out_dir=tmp_path), console)
    assert code == 0, console.export_text()
    assert all(r.status == "succeeded" for r in results)
    videos = sorted(tmp_path.glob("*.mp4"))
    # one video per clip: count 2 on one prompt
    expected = sum(int((s.raw or {}).get("count", 1)) for s in specs)
    assert len(videos) == expected
    for video in videos:
        assert_valid_mp4(video)
    assert len(list(tmp_path.glob("*.jpg"))) == expected
    # the two local frames were uploaded once each
    uploads = [r for r in fake.requests if r.route.startswith("POST assets")]
    assert len(uploads) == 2
    assert len(fake.jobs) == len(specs)
    text = console.export_text()
    assert "succeeded" in text
    assert str(tmp_path) in text


async def test_second_run_resumes_without_resubmitting(flow: FlowSession, fake: FakeFlowServer,
                                                       tmp_path: Path) -> None:
    specs = load_prompts(EXAMPLES / "prompts.json")
    code, _ = await run_batch_ui(flow, specs, BatchOptions(out_dir=tmp_path), _console())
    assert code == 0
    jobs, requests = len(fake.jobs), len(fake.requests)
    first = next(tmp_path.glob("*.mp4"))
    first.unlink()  # a lost file is downloaded again, nothing else happens
    code, results = await run_batch_ui(flow, specs, BatchOptions(out_dir=tmp_path), _console())
    assert code == 0
    assert len(fake.jobs) == jobs
    assert all(r.resumed for r in results)
    assert first.exists()
    new = fake.requests[requests:]
    assert not [r for r in new if r.route.startswith("POST")]


async def test_bad_entries_fail_alone(flow: FlowSession, fake: FakeFlowServer,
                                      tmp_path: Path) -> None:
    prompts = tmp_path / "prompts.json"
    prompts.write_text(json.dumps([
        {"prompt": "good one"},
        {"prompt": "bad model", "model": "veo-9"},
        {"prompt": "bad duration", "duration": 7},
        {"prompt": "missing image", "startImage": "./nope.jpeg"},
        {"prompt": "unknown field", "colour": "red"},
        {"model": "veo-3.1-fast"},
    ]))
    out = tmp_path / "out"
    console = _console()
    code, results = await run_batch_ui(flow, load_prompts(prompts), BatchOptions(out_dir=out),
                                       console)
    assert code == 1
    assert [r.status for r in results] == ["succeeded"] + ["failed"] * 5
    errors = [r.error or "" for r in results[1:]]
    assert "unknown model 'veo-9'" in errors[0]
    assert "duration" in errors[1]
    assert "file not found" in errors[2]
    assert "colour" in errors[3]
    assert "prompt" in errors[4]
    assert len(fake.jobs) == 1
    assert len(list(out.glob("*.mp4"))) == 1


def test_cli_malformed_prompts_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "prompts.json"
    bad.write_text('[{"prompt": "a"},\n  {"prompt": }]')
    assert main(["batch", str(bad), "--out", str(tmp_path / "o"), "--token", "t"]) == 2
    err = " ".join(capsys.readouterr().out.split())
    assert "not valid JSON at line 2" in err


def test_cli_missing_prompts_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["batch", str(tmp_path / "nope.json"), "--out", str(tmp_path), "--token",
                 "t"]) == 2
    assert "no such file" in " ".join(capsys.readouterr().out.split())


def test_demo_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    code = main(["demo", "--out", str(out), "--time-scale", "0.002"])
    text = capsys.readouterr().out
    assert code == 0, text
    videos = sorted(out.glob("*.mp4"))
    assert len(videos) >= 5
    for video in videos:
        assert_valid_mp4(video)
    assert "demo finished" in text
    assert "per job" in text
    # running it again starts from scratch against a new fake and still succeeds
    assert main(["demo", "--out", str(out), "--time-scale", "0.002"]) == 0


def test_examples_folder_is_complete() -> None:
    specs = load_prompts(EXAMPLES / "prompts.json")
    models = {s.model for s in specs}
    assert len(models) >= 2
    assert any("startImage" in (s.raw or {}) and "endImage" in (s.raw or {}) for s in specs)
    assert any((s.raw or {}).get("count") == 2 for s in specs)
    for name in ("first_image.jpeg", "last_image.jpeg"):
        assert (EXAMPLES / name).read_bytes()[:3] == b"\xff\xd8\xff"


async def test_uploads_of_a_batch_share_one_account(tmp_path: Path) -> None:
    from flowapi.testing import FakeAccount

    accounts = [FakeAccount(email="one@gmail.com"), FakeAccount(email="two@gmail.com")]
    async with FakeFlowServer(time_scale=0.001, seed=5, accounts=accounts) as fake:
        async with FlowSession(fake.token, base_url=fake.base_url, clock=fake.clock) as flow:
            specs = load_prompts(EXAMPLES / "prompts.json")
            code, _ = await run_batch_ui(flow, specs, BatchOptions(out_dir=tmp_path),
                                         _console())
        uploads = [r for r in fake.requests if r.route.startswith("POST assets")]
        assert code == 0
        assert len(uploads) == 2
        assert len({r.email for r in uploads}) == 1  # start and end frame on one account
