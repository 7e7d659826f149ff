"""The prompts.json loader: the vendor's format, clear errors, nothing lost (fuzzed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowapi.cli._prompts import PromptFileError, load_prompts, parse_prompts

VENDOR_EXAMPLE = """[
  {"prompt": "By default the veo-3.1-fast model with a landscape 8-second clip will be used."},
  {"model": "veo-3.1-quality", "aspectRatio": "landscape", "duration": 8, "count": 2,
   "seed": 123456, "prompt": "Highest-quality Veo 3.1, two variations."},
  {"model": "veo-3.1-fast", "aspectRatio": "portrait", "duration": 8,
   "startImage": "./first_image.jpeg", "endImage": "./last_image.jpeg",
   "prompt": "Image-to-video with a start frame (startImage) and an end frame (endImage)."},
  {"model": "omni-flash", "duration": 10, "prompt": "Gemini Omni Flash is audio-native."}
]"""


def test_vendor_tutorial_format(tmp_path: Path) -> None:
    (tmp_path / "first_image.jpeg").write_bytes(b"\xff\xd8\xff")
    (tmp_path / "last_image.jpeg").write_bytes(b"\xff\xd8\xff")
    (tmp_path / "prompts.json").write_text(VENDOR_EXAMPLE)
    specs = load_prompts(tmp_path / "prompts.json")
    assert [s.error for s in specs] == [None] * 4
    assert specs[1].model == "veo-3.1-quality"
    assert specs[0].model == "veo-3.1-fast"
    assert specs[2].files == {"startImage": (tmp_path / "first_image.jpeg").resolve(),
                              "endImage": (tmp_path / "last_image.jpeg").resolve()}
    assert len({s.key for s in specs}) == 4


def test_ids_pass_through_and_comments_dropped(tmp_path: Path) -> None:
    specs = parse_prompts(json.dumps([{"__comment": "x", "prompt": "p",
                                       "startImage": "user:1-email:61-image:abc"}]),
                          base_dir=tmp_path)
    assert specs[0].error is None
    assert specs[0].files == {}
    assert "__comment" not in (specs[0].raw or {})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "not valid JSON at line 1"),
        ("[{\"prompt\": \"a\"},]", "not valid JSON at line 1"),
        ("{\"prompt\": ", "not valid JSON"),
        ("42", "expected a JSON list"),
        ("\"hello\"", "expected a JSON list"),
        ("[]", "the list is empty"),
    ],
)
def test_malformed_file_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(PromptFileError, match=message):
        parse_prompts(text, base_dir=tmp_path)


def test_bad_entries_are_reported_and_the_rest_survives(tmp_path: Path) -> None:
    text = json.dumps([
        {"prompt": "fine"},
        "just a string",
        {"model": "veo-3.1-fast"},
        {"prompt": "missing frame", "startImage": "./nope.png"},
        {"prompt": "bad type", "endImage": 7},
        {"prompt": "also fine", "duration": 8},
    ])
    specs = parse_prompts(text, base_dir=tmp_path)
    errors = [s.error for s in specs]
    assert errors[0] is None
    assert errors[5] is None
    assert "not an object" in (errors[1] or "")
    assert "\"prompt\" is required" in (errors[2] or "")
    assert "file not found: ./nope.png" in (errors[3] or "")
    assert "endImage must be a file path or a mediaGenerationId" in (errors[4] or "")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PromptFileError, match="no such file"):
        load_prompts(tmp_path / "absent.json")


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["prompt", "model", "startImage", "endImage",
                                       "referenceImage_1", "count", "__c", "x"]) | st.text(),
                      children, max_size=5),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(_json)
def test_fuzz_loader_never_crashes(value: object) -> None:
    text = json.dumps(value)
    try:
        specs = parse_prompts(text, base_dir=Path("/nonexistent-dir"))
    except PromptFileError:
        return
    assert specs
    for spec in specs:
        assert spec.key
        assert spec.error is None or isinstance(spec.error, str)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_fuzz_raw_text(text: str) -> None:
    message = ""
    try:
        parse_prompts(text, base_dir=Path("/nonexistent-dir"))
    except PromptFileError as exc:
        message = str(exc)
        assert message.split(":")[0] == "prompts"
