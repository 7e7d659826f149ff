"""Every runnable example works out of the box: run each script as a user would (a fresh
interpreter, no ``USEAPI_TOKEN``, so against its embedded FakeFlowServer) and check the
files it writes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests._mp4 import assert_valid_mp4

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

#: script → (glob, how many files at least) it must leave in its output directory.
CASES: dict[str, list[tuple[str, int]]] = {
    "quickstart.py": [("*.mp4", 3)],
    "i2v_frames.py": [("i2v-*.mp4", 1), ("i2v-*.jpg", 1)],
    "r2v_character_voice.py": [("r2v-*.mp4", 1)],
    "omni_v2v_edit.py": [("v2v-*.mp4", 1)],
    "extend_concatenate.py": [("joined.mp4", 1)],
    "upscale_gif.py": [("video-1080p.mp4", 1), ("preview.gif", 1), ("image.jpg", 1),
                       ("image-2k.jpg", 1)],
}
#: Examples that serve webhooks (long-running servers, optional dependencies): not run here
#: (webhook_fastapi_workers.py runs as two processes in tests/test_webapp_workers.py).
NOT_RUN = {"webhook_fastapi.py", "webhook_aiohttp.py", "webhook_fastapi_workers.py"}


def _check(path: Path) -> None:
    head = path.read_bytes()[:12]
    if path.suffix == ".mp4":
        assert head[4:8] == b"ftyp", (path, head)
        assert_valid_mp4(path)
    elif path.suffix == ".gif":
        assert head.startswith(b"GIF8"), (path, head)
    elif path.suffix == ".jpg":
        assert head.startswith(b"\xff\xd8\xff"), (path, head)
    else:  # pragma: no cover - a new case needs a check here
        raise AssertionError(f"no content check for {path}")


@pytest.mark.parametrize("script", sorted(CASES))
def test_example_runs_against_the_fake(script: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "USEAPI_TOKEN"}
    env["FLOWAPI_DEMO_TIME_SCALE"] = "0.002"
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, str(EXAMPLES / script), str(out)], env=env,
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    for pattern, at_least in CASES[script]:
        found = sorted(out.glob(pattern))
        assert len(found) >= at_least, (pattern, sorted(p.name for p in out.iterdir()))
        for path in found:
            _check(path)


def test_every_example_is_covered() -> None:
    scripts = {p.name for p in EXAMPLES.glob("*.py")}
    assert scripts - NOT_RUN == set(CASES), "add new examples to CASES (or NOT_RUN)"


def test_readme_lists_every_example() -> None:
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    for name in [*CASES, *NOT_RUN, "prompts.json"]:
        assert f"`{name}`" in readme, name
