"""Ctrl-C messages are true for the command they stop (issue 12 §4)."""

from __future__ import annotations

import argparse

import pytest

from flowapi.cli import main
from flowapi.cli._commands import COMMANDS


async def _interrupted(args: argparse.Namespace) -> int:
    raise KeyboardInterrupt


@pytest.fixture
def interrupt(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(COMMANDS):
        monkeypatch.setitem(COMMANDS, name, _interrupted)


@pytest.mark.usefixtures("interrupt")
@pytest.mark.parametrize(("argv", "code", "says", "never"), [
    (["batch", "p.json", "--out", "o"], 130, "run the same command again to resume", None),
    (["fake-server"], 0, "fake server stopped", "interrupt"),
    (["demo"], 130, "start over", "resume"),
    (["videos", "create", "--prompt", "x"], 130, "may still complete", "resume"),
    (["images", "create", "--prompt", "x"], 130, "may still complete", "resume"),
    (["videos", "create", "--prompt", "x", "--async", "--wait"], 130, "flowapi jobs wait",
     "resume"),
    (["jobs", "wait", "J1"], 130, "flowapi jobs wait J1", "resume"),
    (["accounts", "list"], 130, "interrupted", "resume"),
])
def test_ctrl_c_message(argv: list[str], code: int, says: str, never: str | None,
                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == code
    err = capsys.readouterr().err
    assert says in err
    if never is not None:
        assert never not in err
    assert len(err.strip().splitlines()) == 1
