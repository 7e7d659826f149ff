"""The capability matrix (_capabilities.py) as tables of accepted and rejected bodies."""

from __future__ import annotations

from typing import Any

import pytest

from flowapi import InvalidParamsError
from flowapi._capabilities import VIDEO_MODELS, character_images, validate_wire

IMG = "user:1-email:6a6f-image:aaa"
VID = "user:1-email:6a6f-video:bbb"
CHAR2 = "user:1-email:6a6f-character:ccc-imgs:2-voice:umbriel"
CHAR1 = "user:1-email:6a6f-character:ddd-imgs:1"
VOICE = "user:1-email:6a6f-voice:wf-mid:m"


def body(**kw: Any) -> dict[str, Any]:
    return {"prompt": "a fox", **kw}


OK_VIDEOS = [
    body(),
    body(model="veo-3.1-quality", duration=8, aspectRatio="1:1"),
    body(model="veo-3.1-lite", duration=4, aspectRatio="3:4"),
    body(startImage=IMG, endImage=IMG),
    body(model="omni-flash", startImage=IMG),
    body(model="omni-flash", duration=10, aspectRatio="portrait", resolution="360p"),
    body(referenceImage_1=IMG, referenceImage_2=IMG, referenceImage_3=IMG, duration=8),
    body(referenceImage_1=IMG, character_1=CHAR2),
    body(referenceImage_1=IMG, referenceAudio_1="zephyr"),
    body(character_1=CHAR1, referenceAudio_1=VOICE),
    body(model="omni-flash", referenceImage_1=IMG, character_1=CHAR2, character_2=CHAR2,
         referenceImage_2=IMG, referenceImage_3=IMG, duration=6),
    body(model="omni-flash", referenceVideo_1=VID, startFrameIndex_1=0, endFrameIndex_1=240,
         referenceAudio_1="Kore", referenceAudio_2="Puck", referenceAudio_3="Leda"),
    body(model="omni-flash", referenceVideo_1=VID, referenceImage_1=IMG),
    body(prompt="@referenceImage_1 waves at @character_1", referenceImage_1=IMG,
         character_1=CHAR1),
    body(count=4, seed=0, replyUrl="https://example.com/h", replyRef="r" * 1024),
    body(captchaOrder="CapSolver,AntiCaptcha,CapSolver"),
    body(captchaRetry=10),
    body(model="omni-flash-1.2", duration=15, referenceImage_1=IMG),
]


@pytest.mark.parametrize("wire", OK_VIDEOS)
def test_accepted_videos(wire: dict[str, Any]) -> None:
    validate_wire("VideoParams", wire)


BAD_VIDEOS = [
    ({"prompt": ""}, "prompt is required"),
    ({"model": "veo-3.1-fast"}, "prompt is required"),
    (body(model="veo-4"), "unknown model 'veo-4'"),
    (body(model="omni-flash", aspectRatio="1:1"), "does not accept aspectRatio='1:1'"),
    (body(duration=10), r"duration \[4, 6, 8\]"),
    (body(model="veo-3.1-quality", duration=4), r"duration \[8\]"),
    (body(endImage=IMG), "endImage requires startImage"),
    (body(startImage=IMG, referenceImage_1=IMG), "frames mode"),
    (body(model="veo-3.1-quality", referenceImage_1=IMG), "does not support R2V"),
    (body(referenceImage_1=IMG, duration=6), r"R2V takes duration \[8\]"),
    (body(referenceImage_1=IMG, referenceImage_2=IMG, character_1=CHAR2),
     "at most 3 images in R2V"),
    (body(model="omni-flash", referenceVideo_1=VID, referenceImage_1=IMG, referenceImage_2=IMG,
          character_1=CHAR2, character_2=CHAR2), "V2V takes at most 5 images"),
    (body(model="omni-flash", referenceVideo_1=VID, duration=8), "duration is not accepted"),
    (body(referenceVideo_1=VID), "omni-flash only"),
    (body(model="omni-flash", referenceVideo_1=VID, startFrameIndex_1=240),
     "startFrameIndex_1 must be 0-239"),
    (body(model="omni-flash", referenceVideo_1=VID, startFrameIndex_1=10, endFrameIndex_1=10),
     "greater than startFrameIndex_1"),
    (body(model="omni-flash", referenceVideo_1=VID, endFrameIndex_1=241),
     "endFrameIndex_1 must be 1-240"),
    (body(endFrameIndex_1=24), "only valid with referenceVideo_1"),
    (body(referenceAudio_1="Zephyr"), "needs a face"),
    (body(referenceImage_1=IMG, referenceAudio_1="Zephyr", referenceAudio_2="Kore"),
     "at most 1 referenceAudio"),
    (body(referenceImage_1=IMG, referenceAudio_1="Bob"), "neither a system voice"),
    (body(count=5), "count must be an integer 1-4"),
    (body(count=0), "count must be an integer 1-4"),
    (body(seed=-1), "seed must be an integer >= 0"),
    (body(replyRef="r" * 1025), "maximum is 1024"),
    (body(replyUrl="ftp://x"), "http"),
    (body(captchaRetry=3, captchaOrder="CapSolver"), "mutually exclusive"),
    (body(captchaRetry=11), "captchaRetry must be 1-10"),
    (body(captchaOrder="NopeCaptcha"), "unknown provider"),
    (body(prompt="hi @character_2", character_1=CHAR1), "character_2 is not set"),
    (body(model="veo-3.1-lite", resolution="360p"), "resolution"),
]


@pytest.mark.parametrize(("wire", "message"), BAD_VIDEOS)
def test_rejected_videos(wire: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidParamsError, match=message) as info:
        validate_wire("VideoParams", wire)
    assert info.value.doc_section  # every rule points at its doc section


@pytest.mark.parametrize(
    ("kind", "wire", "message"),
    [
        ("ExtendParams", {"prompt": "more"}, "mediaGenerationId"),
        ("ExtendParams", {"mediaGenerationId": VID, "prompt": "more", "model": "omni-flash"},
         "cannot extend"),
        ("VideoUpscaleParams", {"mediaGenerationId": VID, "resolution": "8K"}, "resolution"),
        ("ImageUpscaleParams", {"mediaGenerationId": IMG, "resolution": "8k"}, "resolution"),
        ("ImageParams", {"prompt": "x", "model": "dalle"}, "unknown image model"),
        ("ImageParams", {"prompt": "x", "aspectRatio": "auto"}, "needs at least one reference"),
        ("ImageParams", {"prompt": "x", **{f"reference_{i}": IMG for i in range(1, 12)}},
         "at most 10"),
        ("ImageParams", {"prompt": "@reference_2 here", "reference_1": IMG}, "reference_2"),
        ("ConcatenateParams", {"media": [{"mediaGenerationId": VID}]}, "2-10 clips"),
        ("ConcatenateParams", {"media": [{"mediaGenerationId": VID, "trimStart": 11},
                                         {"mediaGenerationId": VID}]}, "0-10 seconds"),
        ("VoiceParams", {"email": "a@b.c", "voice": "zephyr", "displayName": "x",
                         "dialog": "hi", "voicePerformance": "calm"}, "case-sensitive"),
        ("VoiceParams", {"email": "a@b.c", "voice": "Zephyr", "displayName": "x",
                         "dialog": "d" * 121, "voicePerformance": "calm"}, "dialog"),
        ("CharacterParams", {"displayName": "x"}, "imageReference_1 is required"),
        ("CharacterParams", {"displayName": "x", "imageReference_1": IMG,
                             "personalityNotes": "n" * 2001}, "personalityNotes"),
        ("GifParams", {}, "mediaGenerationId is required"),
    ],
)
def test_other_endpoints(kind: str, wire: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidParamsError, match=message):
        validate_wire(kind, wire)


def test_character_image_count() -> None:
    assert character_images(CHAR2) == 2
    assert character_images(CHAR1) == 1
    assert character_images("opaque") == 1


def test_every_model_in_table_has_sane_rules() -> None:
    for name, spec in VIDEO_MODELS.items():
        assert spec.durations, name
        assert "landscape" in spec.aspect_ratios
        assert spec.max_images_v2v <= spec.max_images_r2v or spec.max_images_v2v == 0
