"""Types that catch mistakes (issue 12 §6): a user's ``mypy --strict`` reports a wrong
params type, a misspelt field (in the params class or as a keyword of a resource method)
and a wrong media argument."""

from __future__ import annotations

import inspect
import subprocess
import sys
import typing
from pathlib import Path

import msgspec
import pytest

import flowapi.types as t

ROOT = Path(__file__).resolve().parents[1]

PAIRS = [(t.VideoParams, t.VideoFields), (t.ExtendParams, t.ExtendFields),
         (t.VideoUpscaleParams, t.VideoUpscaleFields), (t.ImageParams, t.ImageFields),
         (t.ImageUpscaleParams, t.ImageUpscaleFields), (t.VoiceParams, t.VoiceFields),
         (t.CharacterParams, t.CharacterFields)]


def _annotation(cls: type, name: str) -> str:
    for klass in cls.__mro__:
        annotations = inspect.get_annotations(klass)
        if name in annotations:
            return str(annotations[name])
    raise KeyError(name)


@pytest.mark.parametrize(("params", "fields"), PAIRS, ids=lambda c: c.__name__)
def test_keyword_fields_match_the_params_class(params: type[msgspec.Struct],
                                               fields: type) -> None:
    names = [f.name for f in msgspec.structs.fields(params)]
    assert list(fields.__annotations__) == names
    for name in names:
        written = fields.__annotations__[name]
        text = written.__forward_arg__ if isinstance(written, typing.ForwardRef) else written
        assert text == _annotation(params, name), name
    assert not typing.cast(typing.Any, fields).__required_keys__  # total=False


USER_CODE = '''
import flowapi


async def main(flow: flowapi.FlowSession) -> None:
    await flow.jobs.submit(flowapi.ImageParams(prompt="x"))  # line 6: images are sync
    await flow.jobs.submit(flowapi.VideoParams(prompt="x", aspect_ration="portrait"))  # 7
    await flow.videos.create(prompt="x", aspect_ration="portrait")  # 8
    await flow.images.create(prompt="x", count="4")  # 9
    job = await flow.jobs.submit(flowapi.VideoParams(prompt="x"))
    await flow.media.download(job, "x.mp4")  # 11: a Job is not a MediaItem
    await flow.media.download(job.media[0], "x.mp4")
    await flow.videos.create(prompt="x", aspect_ratio="portrait", count=2)
    watcher: flowapi.JobWatcher[int] = flow.watch()
    async with watcher:
        await watcher.submit(flowapi.VideoParams(prompt="x"), tag="row 1")  # 16: tags are int
        await watcher.submit(flowapi.ImageParams(prompt="x"), tag=1)  # 17: not a job
        await watcher.submit(flowapi.VideoParams(prompt="x"), tag=2)
        async for outcome in watcher:
            row: int | None = outcome.tag
            name: str = outcome.tag  # 21: an int, not a str
'''


def test_a_users_mypy_catches_mistakes(tmp_path: Path) -> None:
    source = tmp_path / "user_code.py"
    source.write_text(USER_CODE)
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary",
         "--cache-dir", str(ROOT / ".mypy_cache"), str(source)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    errors = sorted({int(line.split(":")[1]) for line in result.stdout.splitlines()
                     if ": error:" in line})
    assert errors == [6, 7, 8, 9, 11, 16, 17, 21], result.stdout
