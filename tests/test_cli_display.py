"""The batch summary fits an 80-column terminal, one line per prompt (issue 12 §10), and
every command's ``--help`` shows an example."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from rich.console import Console

from flowapi.cli import build_parser
from flowapi.cli._batch import BatchResult
from flowapi.cli._display import files_summary, summary_table
from flowapi.cli._prompts import PromptSpec


def _result(index: int, prompt: str, files: list[str], status: str = "succeeded",
            error: str | None = None) -> BatchResult:
    spec = PromptSpec(index=index, raw={"prompt": prompt, "model": "veo-3.1-quality"})
    return BatchResult(spec=spec, status=status, files=[Path("out") / f for f in files],
                       error=error)


def test_summary_is_one_line_per_prompt_at_80_columns() -> None:
    long_prompt = "A lighthouse on a cliff in a storm, waves crashing, cinematic, " * 3
    results = [
        _result(1, long_prompt, [f"001-j1201192122047316089v-{i}.{ext}"
                                 for i in (1, 2) for ext in ("mp4", "jpg")]),
        _result(2, "short", ["002-j1201192122047399999v-1.mp4"]),
        _result(3, long_prompt, [], status="failed",
                error="job j1201… failed: PUBLIC_ERROR_UNSAFE_GENERATION " * 4),
    ]
    console = Console(width=80, record=True, force_terminal=False)
    console.print(summary_table(results, Path("/very/long/output/directory/for/videos")))
    lines = console.export_text().splitlines()
    assert max(len(line) for line in lines) <= 80
    rows = [line for line in lines if line.startswith("│") and line[1:].strip()[:1].isdigit()]
    assert len(rows) == 3, "\n".join(lines)  # no cell wrapped onto a second line
    assert "2 mp4, 2 jpg: 001-j" in rows[0]


def test_files_summary() -> None:
    assert files_summary([]) == ""
    assert files_summary([Path("a.mp4")]) == "a.mp4"
    assert files_summary([Path("001-j9-1.mp4"), Path("001-j9-1.jpg")]) == \
        "1 mp4, 1 jpg: 001-j9-1.*"


def _commands(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    found: list[tuple[str, argparse.ArgumentParser]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                inner = _commands(sub)
                found += inner or [(f"{parser.prog} {name}", sub)]
    return found


@pytest.mark.parametrize(("name", "parser"), _commands(build_parser()),
                         ids=lambda v: v if isinstance(v, str) else "")
def test_every_command_help_shows_an_example(name: str, parser: argparse.ArgumentParser) -> None:
    text = parser.format_help()
    heading = "examples:" if "examples:" in text else "example:"
    assert heading in text, name
    example = text.split(heading, 1)[1]
    assert example.splitlines()[1].startswith(f"  {name}"), name  # kept as written


def test_top_level_and_group_help_show_examples() -> None:
    parser = build_parser()
    assert "examples:\n  flowapi demo" in parser.format_help()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                assert f"  flowapi {name}" in sub.format_help().split("example", 1)[1], name


def test_examples_fit_80_columns() -> None:
    parser = build_parser()
    texts = [parser.format_help()] + [sub.format_help() for _, sub in _commands(parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            texts += [sub.format_help() for sub in action.choices.values()]
    for text in texts:
        for line in text.split("example", 1)[1].splitlines()[1:]:
            assert len(line) <= 80, line

