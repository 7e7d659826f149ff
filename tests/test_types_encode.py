"""Request encoding: ``to_wire()`` expands numbered slots, omits UNSET; ``from_wire()`` reads the
API's own field names (the vendor's ``prompts.json``) and rejects unknown/ill-typed fields."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowapi import InvalidParamsError
from flowapi._capabilities import validate
from flowapi.types import (
    UNSET,
    AccountParams,
    AspectRatio,
    CaptchaProvidersParams,
    CharacterParams,
    ConcatClip,
    ConcatenateParams,
    ExtendParams,
    GifParams,
    ImageParams,
    ImageUpscaleParams,
    VideoModel,
    VideoParams,
    VideoUpscaleParams,
    VoiceParams,
    encoder,
)

FIXTURES = Path(__file__).parent / "fixtures" / "spec"


def test_video_params_full_expansion() -> None:
    params = VideoParams(
        prompt="A fox in snow",
        model=VideoModel.OMNI_FLASH,
        aspect_ratio=AspectRatio.PORTRAIT,
        duration=10,
        resolution="360p",
        count=2,
        seed=7,
        email="me@gmail.com",
        reference_images=["img1", "img2", "img3"],
        characters=["char1"],
        reference_audio=["Zephyr", "user:1-voice:w-mid:m"],
        reply_url="https://example.com/hook",
        reply_ref="ref-1",
        captcha_retry=5,
    )
    assert params.to_wire() == {
        "prompt": "A fox in snow",
        "model": "omni-flash",
        "aspectRatio": "portrait",
        "duration": 10,
        "resolution": "360p",
        "count": 2,
        "seed": 7,
        "email": "me@gmail.com",
        "referenceImage_1": "img1",
        "referenceImage_2": "img2",
        "referenceImage_3": "img3",
        "character_1": "char1",
        "referenceAudio_1": "Zephyr",
        "referenceAudio_2": "user:1-voice:w-mid:m",
        "replyUrl": "https://example.com/hook",
        "replyRef": "ref-1",
        "captchaRetry": 5,
    }


def test_video_params_v2v_and_frames() -> None:
    params = VideoParams(
        prompt="make it night",
        model="omni-flash",
        reference_video="vid",
        start_frame_index=0,
        end_frame_index=240,
    )
    assert params.to_wire() == {
        "prompt": "make it night",
        "model": "omni-flash",
        "referenceVideo_1": "vid",
        "startFrameIndex_1": 0,
        "endFrameIndex_1": 240,
    }
    i2v = VideoParams(prompt="p", start_image="a", end_image="b")
    assert i2v.to_wire() == {"prompt": "p", "startImage": "a", "endImage": "b"}


def test_unset_is_omitted_and_async_never_sent() -> None:
    wire = VideoParams(prompt="only").to_wire()
    assert wire == {"prompt": "only"}
    assert "async" not in VideoParams(prompt="x", reference_images=[]).to_wire()
    assert VideoParams(prompt="x", reference_images=[]).to_wire() == {"prompt": "x"}
    assert "async" not in {f.encode_name for f in msgspec.structs.fields(VideoParams)}


def test_wire_body_encodes_to_json() -> None:
    body = encoder.encode(VideoParams(prompt="p", reference_images=["a"]).to_wire())
    assert json.loads(body) == {"prompt": "p", "referenceImage_1": "a"}


def test_image_params_slots() -> None:
    params = ImageParams(
        prompt="p",
        model="nano-banana-pro",
        aspect_ratio="16:9",
        count=4,
        references=[f"r{i}" for i in range(1, 11)],
        characters=["c1", "c2"],
        captcha_order="EzCaptcha,CapSolver",
    )
    wire = params.to_wire()
    assert [k for k in wire if k.startswith("reference_")] == [
        f"reference_{i}" for i in range(1, 11)
    ]
    assert wire["reference_10"] == "r10"
    assert wire["character_2"] == "c2"
    assert wire["captchaOrder"] == "EzCaptcha,CapSolver"
    assert wire["aspectRatio"] == "16:9"


def test_other_params() -> None:
    assert ExtendParams(media_generation_id="m", prompt="p", count=2).to_wire() == {
        "mediaGenerationId": "m",
        "prompt": "p",
        "count": 2,
    }
    assert VideoUpscaleParams(media_generation_id="m", resolution="4K").to_wire() == {
        "mediaGenerationId": "m",
        "resolution": "4K",
    }
    assert ImageUpscaleParams(media_generation_id="m", captcha_token="t" * 30).to_wire() == {
        "mediaGenerationId": "m",
        "captchaToken": "t" * 30,
    }
    assert GifParams(media_generation_id="m").to_wire() == {"mediaGenerationId": "m"}
    concat = ConcatenateParams(
        media=[
            ConcatClip(media_generation_id="a"),
            ConcatClip(media_generation_id="b", trim_start=1),
        ]
    )
    assert concat.to_wire() == {
        "media": [{"mediaGenerationId": "a"}, {"mediaGenerationId": "b", "trimStart": 1}]
    }
    character = CharacterParams(
        display_name="Cat", image_references=["i1", "i2"], voice="Umbriel", personality_notes="shy"
    )
    assert character.to_wire() == {
        "displayName": "Cat",
        "imageReference_1": "i1",
        "imageReference_2": "i2",
        "voice": "Umbriel",
        "personalityNotes": "shy",
    }
    voice = VoiceParams(
        email="a@b.c", voice="Kore", display_name="N", dialog="Hi", voice_performance="calm"
    )
    assert voice.to_wire() == {
        "email": "a@b.c",
        "voice": "Kore",
        "displayName": "N",
        "dialog": "Hi",
        "voicePerformance": "calm",
    }
    assert AccountParams(cookies="HSID\tx").to_wire() == {"cookies": "HSID\tx"}
    providers = CaptchaProvidersParams(ez_captcha="k1", two_captcha="k2")
    assert providers.to_wire() == {"EzCaptcha": "k1", "2Captcha": "k2"}


def test_captcha_fields_are_checked_before_sending_not_at_construction() -> None:
    # validate=False must be able to send anything, so construction accepts the combination
    params = VideoParams(prompt="p", captcha_retry=3, captcha_order="CapSolver")
    assert params.to_wire() == {"prompt": "p", "captchaRetry": 3, "captchaOrder": "CapSolver"}
    with pytest.raises(InvalidParamsError, match="mutually exclusive"):
        validate(params)
    with pytest.raises(InvalidParamsError, match="captchaToken"):
        validate(VideoParams.from_wire({"prompt": "p", "captchaToken": "t", "captchaRetry": 3}))


def test_repr_omits_unset() -> None:
    assert repr(VideoParams(prompt="p")) == "VideoParams(prompt='p')"


# ---------------------------------------------------------------------------------------------
# from_wire
# ---------------------------------------------------------------------------------------------


def test_from_wire_reads_vendor_prompts_json() -> None:
    entries = json.loads((FIXTURES / "post-videos__request__prompts-json-article.json").read_text())
    params = [VideoParams.from_wire(entry) for entry in entries]
    assert params[0].to_wire() == {"prompt": entries[0]["prompt"]}
    assert params[1].model == "veo-3.1-quality"
    assert params[1].count == 2
    assert params[1].seed == 123456
    assert params[2].start_image == "./first_image.jpeg"
    assert params[2].end_image == "./last_image.jpeg"
    assert params[3].duration == 10


def test_from_wire_numbered_slots_and_ignored_keys() -> None:
    params = VideoParams.from_wire(
        {
            "prompt": "p",
            "referenceImage_2": "b",
            "referenceImage_1": "a",
            "character_1": "c",
            "referenceAudio_1": "Zephyr",
            "referenceVideo_1": "v",
            "endFrameIndex_1": 120,
            "async": True,
            "__comment": "ignored like the vendor script does",
        }
    )
    assert params.reference_images == ["a", "b"]
    assert params.characters == ["c"]
    assert params.reference_audio == ["Zephyr"]
    assert params.reference_video == "v"
    assert params.end_frame_index == 120
    assert params.start_frame_index is UNSET
    assert "async" not in params.to_wire()


def test_from_wire_v2v_fixture() -> None:
    body = json.loads((FIXTURES / "post-videos__request__v2v-edit-supplement.json").read_text())
    params = VideoParams.from_wire(body)
    assert params.reference_video == "<id>"
    assert params.to_wire()["endFrameIndex_1"] == 240


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"prompt": "p", "bogus": 1}, "'bogus'"),
        ({"prompt": "p", "aspect_ratio": "portrait"}, "did you mean 'aspectRatio'"),
        ({"prompt": "p", "reference_images": ["a"]}, "did you mean 'referenceImage_1'"),
        ({"prompt": "p", "duration": "8"}, r"\$\.duration"),
        ({"prompt": 3}, r"\$\.prompt"),
        ({"model": "veo-3.1-fast"}, "prompt"),
        (
            {"prompt": "p", "referenceImage_2": "b"},
            "referenceImage_2 given without referenceImage_1",
        ),
        ({"prompt": "p", "referenceImage_1": 5}, "'referenceImage_1' must be a string"),
        ({"prompt": "p", "referenceImage_01": "a"}, "'referenceImage_01'"),
        ({"prompt": "p", "referenceImage_0": "a"}, "'referenceImage_0'"),
    ],
)
def test_from_wire_errors_name_the_field(body: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        VideoParams.from_wire(body)


def test_from_wire_rejects_non_objects() -> None:
    with pytest.raises(ValueError, match="expected a JSON object"):
        VideoParams.from_wire(["prompt"])  # type: ignore[arg-type]


def test_from_wire_other_classes() -> None:
    image = ImageParams.from_wire({"prompt": "p", "reference_1": "a", "reference_2": "b"})
    assert image.references == ["a", "b"]
    with pytest.raises(ValueError, match="referenceImage_1"):
        ImageParams.from_wire({"prompt": "p", "referenceImage_1": "a"})
    concat = ConcatenateParams.from_wire(
        {"media": [{"mediaGenerationId": "a"}, {"mediaGenerationId": "b", "trimEnd": 0.5}]}
    )
    assert concat.media[1].trim_end == 0.5
    character = CharacterParams.from_wire({"displayName": "d", "imageReference_1": "i"})
    assert character.image_references == ["i"]
    providers = CaptchaProvidersParams.from_wire({"CapSolver": "k"})
    assert providers.cap_solver == "k"


_ids = st.lists(st.text(min_size=1, max_size=20), max_size=10)


@given(images=_ids, characters=_ids, audio=_ids)
def test_slots_round_trip(images: list[str], characters: list[str], audio: list[str]) -> None:
    params = VideoParams(
        prompt="p", reference_images=images, characters=characters, reference_audio=audio
    )
    wire = params.to_wire()
    assert len(wire) == 1 + len(images) + len(characters) + len(audio)
    back = VideoParams.from_wire(wire)
    assert back.to_wire() == wire
    if images:
        assert back.reference_images == images
    else:
        assert back.reference_images is UNSET
