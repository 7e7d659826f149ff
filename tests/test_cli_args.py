"""Bad command-line values are one-line errors with exit code 2, never a traceback, and
local files given to ``videos create`` are uploaded as ``batch`` does (issue 12 §5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowapi.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PROMPTS = str(EXAMPLES / "prompts.json")


@pytest.fixture
def a_file(tmp_path: Path) -> str:
    path = tmp_path / "a-file"
    path.write_text("x")
    return str(path)


@pytest.mark.parametrize(("argv", "says"), [
    (["batch", PROMPTS, "--out", "{file}"], "is a file, not a directory"),
    (["batch", PROMPTS, "--out", "{tmp}", "--max-in-flight", "0"], "must be at least 1"),
    (["batch", PROMPTS, "--out", "{tmp}", "--max-in-flight", "-3"], "must be at least 1"),
    (["batch", PROMPTS, "--out", "{tmp}", "--job-timeout", "-5"], "more than 0 seconds"),
    (["batch", PROMPTS, "--out", "{tmp}", "--job-timeout", "inf"], "not a finite number"),
    (["batch", PROMPTS, "--out", "{tmp}", "--resubmit-moderated", "-1"], "0 or more"),
    (["batch", PROMPTS, "--out", "{tmp}", "--journal", "{tmp}"], "is a directory"),
    (["batch", PROMPTS, "--out", "{tmp}", "--time-scale", "5"], "at most 1"),
    (["demo", "--time-scale", "0"], "more than 0"),
    (["demo", "--out", "{file}"], "is a file"),
    (["fake-server", "--port", "70000"], "0-65535"),
    (["fake-server", "--time-scale", "-1"], "more than 0"),
    (["fake-server", "--faults", "bogus:0.1"], "unknown fault kind"),
    (["jobs", "wait", "J", "--timeout", "-1"], "more than 0 seconds"),
    (["jobs", "wait", "J", "--poll-interval", "0"], "more than 0 seconds"),
    (["videos", "create", "--prompt", "x", "--async", "--wait", "--download", "{file}"],
     "is a file"),
    (["images", "upscale", "--mediaGenerationId", "user:1", "--out", "{tmp}"],
     "is a directory"),
    (["captcha", "stats", "--limit", "0"], "must be at least 1"),
])
def test_bad_value_is_one_line_and_exit_2(argv: list[str], says: str, a_file: str,
                                          tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    argv = [a.format(file=a_file, tmp=str(tmp_path)) for a in argv]
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert says in err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err


def test_start_image_that_is_not_a_file_nor_an_id(capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("USEAPI_TOKEN", raising=False)  # checked before a token is needed
    assert main(["videos", "create", "--prompt", "x", "--startImage", "./no-such.jpg"]) == 2
    err = capsys.readouterr().err
    assert "startImage" in err and "no-such.jpg" in err
