"""The distribution name (issue 12 §1): ``flowapi`` on the package index is an unrelated
project, so every install hint names our own distribution."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from flowapi.cli import DISTRIBUTION, main

ROOT = Path(__file__).resolve().parents[1]


def test_pyproject_uses_the_distribution_name() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == DISTRIBUTION
    assert DISTRIBUTION != "flowapi"
    assert project["scripts"]["flowapi"] == "flowapi.cli:main"  # the command keeps its name


@pytest.mark.parametrize("folder", ["flowapi", "docs", "README.md"])
def test_no_install_hint_names_the_unrelated_project(folder: str) -> None:
    root = ROOT / folder
    files = [root] if root.is_file() else [*root.rglob("*.py"), *root.rglob("*.md")]
    bad = re.compile(r"pip install[^\n`]*['\" ]flowapi(?:\[|['\" `]|$)")
    offenders = [f"{f.relative_to(ROOT)}: {m.group(0)}" for f in files
                 for m in bad.finditer(f.read_text(encoding="utf-8"))]
    assert offenders == []


def test_missing_cli_extra_hint_names_the_distribution(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import builtins

    real_import = builtins.__import__

    def no_rich(name: str, *args: object, **kwargs: object) -> object:
        if name == "rich":
            raise ImportError("no rich")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_rich)
    assert main(["demo"]) == 2
    assert f"pip install '{DISTRIBUTION}[cli]'" in capsys.readouterr().err
