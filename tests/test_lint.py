"""The standards CI enforces: `mypy --strict flowapi` and `ruff check` are clean."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_clean() -> None:
    paths = [p for p in ("flowapi", "tests", "examples", "benchmarks") if (ROOT / p).is_dir()]
    result = _run(sys.executable, "-m", "ruff", "check", *paths)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_clean() -> None:
    result = _run(sys.executable, "-m", "mypy", "--strict", "flowapi")
    assert result.returncode == 0, result.stdout + result.stderr


def test_py_typed_shipped() -> None:
    assert (ROOT / "flowapi" / "py.typed").exists()
