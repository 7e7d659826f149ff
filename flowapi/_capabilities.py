"""What each model accepts, as ONE data table, and :func:`validate` (DESIGN §1, issue 3).

Rules come from POST /videos › Model Capabilities (June 2026), POST /videos/extend,
POST /images and the supplement (§6–§10; newer sources win). Validation runs on the wire
dict, so every message names the API's own field (``referenceImage_2``, ``aspectRatio``).
``FlowSession(validate=False)`` skips all of it: the API moves faster than SDKs.

Account-dependent rules (Veo 4/6 s and 4K are Ultra-only, ``veo-3.1-lite-low-priority`` is
Ultra $200 only) are left to the server.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from flowapi._errors import InvalidParamsError

__all__ = [
    "CAPTCHA_PROVIDERS",
    "IMAGE_MODELS",
    "SYSTEM_VOICES",
    "VIDEO_MODELS",
    "ImageModelSpec",
    "VideoModelSpec",
    "validate",
    "validate_wire",
]

SYSTEM_VOICES: tuple[str, ...] = (
    "Achernar", "Achird", "Algenib", "Algieba", "Alnilam", "Aoede", "Autonoe", "Callirrhoe",
    "Charon", "Despina", "Enceladus", "Erinome", "Fenrir", "Gacrux", "Iapetus", "Kore",
    "Laomedeia", "Leda", "Orus", "Puck", "Pulcherrima", "Rasalgethi", "Sadachbia",
    "Sadaltager", "Schedar", "Sulafat", "Umbriel", "Vindemiatrix", "Zephyr", "Zubenelgenubi",
)
"""The 30 system voice presets (POST /videos › Voice narration)."""

CAPTCHA_PROVIDERS: tuple[str, ...] = (
    "CapSolver", "AntiCaptcha", "YesCaptcha", "CapMonster", "SolveCaptcha", "2Captcha",
    "EzCaptcha",
)
"""Captcha providers, in the API's default order (supplement §2)."""

_VIDEO_DOC = "POST /videos › Model Capabilities"
_IMAGE_DOC = "POST /images › Request Body"


@dataclass(frozen=True, slots=True)
class VideoModelSpec:
    """What one video model accepts (POST /videos › Model Capabilities).

    Attributes:
        aspect_ratios: accepted ``aspectRatio`` values.
        durations: accepted ``duration`` seconds for T2V / I2V / I2V-FL.
        r2v_durations: accepted ``duration`` with reference images or characters.
        max_images_r2v: ``referenceImage_*`` + Σ character images in R2V (0 = no R2V).
        max_images_v2v: the same with ``referenceVideo_1`` (0 = no V2V).
        max_voices_r2v: ``referenceAudio_*`` slots in R2V.
        max_voices_v2v: ``referenceAudio_*`` slots in V2V.
        end_image: ``endImage`` (I2V-FL) accepted.
        resolutions: accepted ``resolution`` values.
        extend: usable as the ``model`` of POST /videos/extend.
    """

    aspect_ratios: frozenset[str]
    durations: frozenset[int]
    r2v_durations: frozenset[int]
    max_images_r2v: int
    max_images_v2v: int
    max_voices_r2v: int
    max_voices_v2v: int
    end_image: bool
    resolutions: frozenset[str]
    extend: bool


_VEO_AR = frozenset({"landscape", "portrait", "1:1", "4:3", "3:4"})
_OMNI_AR = frozenset({"landscape", "portrait"})
_720 = frozenset({"720p"})


def _veo(*, r2v: bool, durations: frozenset[int]) -> VideoModelSpec:
    return VideoModelSpec(
        aspect_ratios=_VEO_AR, durations=durations,
        r2v_durations=frozenset({8}) if r2v else frozenset(),
        max_images_r2v=3 if r2v else 0, max_images_v2v=0,
        max_voices_r2v=1 if r2v else 0, max_voices_v2v=0,
        end_image=True, resolutions=_720, extend=True)


VIDEO_MODELS: Mapping[str, VideoModelSpec] = MappingProxyType({
    "veo-3.1-fast": _veo(r2v=True, durations=frozenset({4, 6, 8})),
    "veo-3.1-lite": _veo(r2v=True, durations=frozenset({4, 6, 8})),
    "veo-3.1-lite-low-priority": _veo(r2v=True, durations=frozenset({4, 6, 8})),
    "veo-3.1-quality": _veo(r2v=False, durations=frozenset({8})),
    "omni-flash": VideoModelSpec(
        aspect_ratios=_OMNI_AR, durations=frozenset({4, 6, 8, 10}),
        r2v_durations=frozenset({4, 6, 8, 10}), max_images_r2v=7, max_images_v2v=5,
        max_voices_r2v=5, max_voices_v2v=3, end_image=True,
        resolutions=frozenset({"720p", "360p"}), extend=False),
    "omni-flash-1.2": VideoModelSpec(
        aspect_ratios=_OMNI_AR, durations=frozenset(range(3, 16)),
        r2v_durations=frozenset(range(3, 16)), max_images_r2v=10, max_images_v2v=5,
        max_voices_r2v=5, max_voices_v2v=3, end_image=True,
        resolutions=frozenset({"720p", "360p"}), extend=True),
})
"""Per-model capabilities. ``omni-flash`` accepts ``endImage`` since Sep 2026 (supplement
§10.2, newer than the June page); ``omni-flash-1.2`` (Nov 2026) from tutorial prose."""

DEFAULT_VIDEO_MODEL = "veo-3.1-fast"


@dataclass(frozen=True, slots=True)
class ImageModelSpec:
    """What one image model accepts (POST /images; supplement §9).

    Attributes:
        max_references: ``reference_*`` + Σ character images.
        upscale: images of this model can be upscaled (POST /images/upscale).
    """

    max_references: int
    upscale: bool


IMAGE_MODELS: Mapping[str, ImageModelSpec] = MappingProxyType({
    "nano-banana-2-lite": ImageModelSpec(max_references=10, upscale=True),
    "nano-banana-2": ImageModelSpec(max_references=10, upscale=True),
    "nano-banana-pro": ImageModelSpec(max_references=10, upscale=True),
    "nano-banana": ImageModelSpec(max_references=10, upscale=True),
    "imagen-4": ImageModelSpec(max_references=10, upscale=True),
})
"""Image models (api-update-2026-h2 §5.3): default ``nano-banana-2-lite`` (with or without
references), 4 images, ``16:9`` (``auto`` in I2I for ``nano-banana-2``/``-pro``); every
model upscales to 2K/4K. ``nano-banana`` → ``nano-banana-2`` and ``imagen-4`` →
``nano-banana-2-lite`` are deprecated server-side aliases, still accepted (send the
canonical names)."""

DEFAULT_IMAGE_MODEL = "nano-banana-2-lite"
"""``model`` of POST /images when omitted (api-update-2026-h2 §5.3)."""
DEFAULT_IMAGE_COUNT = 4
"""``count`` of POST /images when omitted (settled by api-update-2026-h2 §5.3)."""
DEFAULT_IMAGE_ASPECT_RATIO = "16:9"
"""``aspectRatio`` of POST /images when omitted and no reference is given."""

IMAGE_ASPECT_RATIOS = frozenset({"16:9", "4:3", "1:1", "3:4", "9:16", "auto", "landscape",
                                 "portrait"})
VIDEO_UPSCALE_RESOLUTIONS = frozenset({"1080p", "4K", "720p"})
IMAGE_UPSCALE_RESOLUTIONS = frozenset({"2k", "4k"})
_MAX_REPLY = 1024
_CHAR_IMGS = re.compile(r"-imgs:(\d+)")
_MARKER = re.compile(r"@(referenceImage|character|referenceAudio|reference)_(\d+)", re.I)


def _fail(message: str, field: str | None, doc: str) -> InvalidParamsError:
    return InvalidParamsError(message, field=field, doc_section=doc)


def _slots(wire: Mapping[str, Any], prefix: str) -> list[str]:
    return [k for k in wire if k.startswith(prefix) and k[len(prefix):].isdigit()]


def character_images(ref: str) -> int:
    """Images a character contributes to the image budget (``-imgs:N`` in its id; 1 if
    the id does not say)."""
    m = _CHAR_IMGS.search(ref)
    return int(m.group(1)) if m else 1


def _check_common(wire: Mapping[str, Any], doc: str) -> None:
    count = wire.get("count")
    if count is not None and (not isinstance(count, int) or isinstance(count, bool)
                              or not 1 <= count <= 4):
        raise _fail(f"count must be an integer 1-4, got {count!r}", "count", doc)
    seed = wire.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or seed < 0):
        raise _fail(f"seed must be an integer >= 0, got {seed!r}", "seed", doc)
    for name in ("replyUrl", "replyRef"):
        value = wire.get(name)
        if value is not None and len(str(value)) > _MAX_REPLY:
            raise _fail(f"{name} is {len(str(value))} characters; the maximum is {_MAX_REPLY}",
                        name, "Async & callbacks")
    reply_url = wire.get("replyUrl")
    if reply_url is not None and not str(reply_url).startswith(("https://", "http://")):
        raise _fail("replyUrl must be an http(s) URL", "replyUrl", "Async & callbacks")
    _check_captcha(wire)


def _check_captcha(wire: Mapping[str, Any]) -> None:
    doc = "Captcha Parameters"
    given = [k for k in ("captchaToken", "captchaRetry", "captchaOrder") if k in wire]
    if len(given) > 1:
        raise _fail(f"{' and '.join(given)} are mutually exclusive: send at most one", None, doc)
    retry = wire.get("captchaRetry")
    if retry is not None and (not isinstance(retry, int) or not 1 <= retry <= 10):
        raise _fail(f"captchaRetry must be 1-10, got {retry!r}", "captchaRetry", doc)
    order = wire.get("captchaOrder")
    if order is not None:
        names = [n.strip() for n in str(order).split(",") if n.strip()]
        if not 1 <= len(names) <= 10:
            raise _fail("captchaOrder takes 1-10 comma-separated providers", "captchaOrder", doc)
        unknown = [n for n in names if n not in CAPTCHA_PROVIDERS]
        if unknown:
            raise _fail(f"captchaOrder has unknown provider(s) {unknown}; known: "
                        f"{', '.join(CAPTCHA_PROVIDERS)}", "captchaOrder", doc)


def _check_markers(prompt: str, wire: Mapping[str, Any], allowed: Mapping[str, str],
                   doc: str) -> None:
    for m in _MARKER.finditer(prompt):
        kind = m.group(1)
        slot_prefix = next((v for k, v in allowed.items() if k.lower() == kind.lower()), None)
        if slot_prefix is None:
            raise _fail(f"the prompt marker @{kind}_{m.group(2)} is not supported here",
                        "prompt", doc)
        if f"{slot_prefix}{m.group(2)}" not in wire:
            raise _fail(f"the prompt mentions @{kind}_{m.group(2)} but {slot_prefix}"
                        f"{m.group(2)} is not set", "prompt", doc)


def _check_voices(wire: Mapping[str, Any], slots: list[str]) -> None:
    lowered = {v.lower() for v in SYSTEM_VOICES}
    for slot in slots:
        value = str(wire[slot])
        if "-voice:" not in value and value.lower() not in lowered:
            raise _fail(f"{slot}={value!r} is neither a system voice (e.g. Zephyr) nor a "
                        "voice reference from POST /voices", slot, "Voice narration")


def validate_video_wire(wire: Mapping[str, Any]) -> None:
    """Check a POST /videos body (wire names) against :data:`VIDEO_MODELS`.

    Raises:
        InvalidParamsError: naming the rule, the field and the doc section.
    """
    prompt = wire.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise _fail("prompt is required", "prompt", "POST /videos › Core")
    model = wire.get("model", DEFAULT_VIDEO_MODEL)
    spec = VIDEO_MODELS.get(model) if isinstance(model, str) else None
    if spec is None:
        raise _fail(f"unknown model {model!r}; supported: {', '.join(VIDEO_MODELS)}",
                    "model", _VIDEO_DOC)
    ar = wire.get("aspectRatio")
    if ar is not None and ar not in spec.aspect_ratios:
        raise _fail(f"{model} does not accept aspectRatio={ar!r}; use one of "
                    f"{', '.join(sorted(spec.aspect_ratios))}", "aspectRatio", _VIDEO_DOC)
    res = wire.get("resolution")
    if res is not None and res not in spec.resolutions:
        raise _fail(f"{model} does not accept resolution={res!r}; use one of "
                    f"{', '.join(sorted(spec.resolutions))}", "resolution", _VIDEO_DOC)
    _check_common(wire, "POST /videos › Core")
    images = _slots(wire, "referenceImage_")
    chars = _slots(wire, "character_")
    voices = _slots(wire, "referenceAudio_")
    video = "referenceVideo_1" in wire
    frames = "startImage" in wire or "endImage" in wire
    if "endImage" in wire and "startImage" not in wire:
        raise _fail("endImage requires startImage (end-frame-only is not supported)",
                    "endImage", "POST /videos › Image references")
    if "endImage" in wire and not spec.end_image:
        raise _fail(f"{model} takes a start frame only (no endImage)", "endImage", _VIDEO_DOC)
    if frames and (images or chars or video):
        raise _fail("startImage/endImage (frames mode) cannot be combined with "
                    "referenceImage_*, character_* or referenceVideo_1", None, _VIDEO_DOC)
    if frames and voices and model.startswith("omni"):
        raise _fail(f"{model} in frames mode takes no referenceAudio_*", None, _VIDEO_DOC)
    budget = len(images) + sum(character_images(str(wire[c])) for c in chars)
    if video:
        if spec.max_images_v2v == 0:
            raise _fail(f"referenceVideo_1 (V2V edit) is omni-flash only, not {model}",
                        "referenceVideo_1", _VIDEO_DOC)
        if "duration" in wire:
            raise _fail("duration is not accepted with referenceVideo_1: the output matches "
                        "the trim window (endFrameIndex_1)", "duration", _VIDEO_DOC)
        if budget > spec.max_images_v2v:
            raise _fail(f"{model} V2V takes at most {spec.max_images_v2v} images "
                        f"(referenceImage_* + character images), got {budget}", None, _VIDEO_DOC)
        if len(voices) > spec.max_voices_v2v:
            raise _fail(f"{model} V2V takes at most {spec.max_voices_v2v} referenceAudio_*",
                        None, _VIDEO_DOC)
    elif images or chars:
        if spec.max_images_r2v == 0:
            raise _fail(f"{model} does not support R2V (referenceImage_*/character_*)", None,
                        _VIDEO_DOC)
        if budget > spec.max_images_r2v:
            raise _fail(f"{model} takes at most {spec.max_images_r2v} images in R2V "
                        f"(referenceImage_* + character images), got {budget}", None, _VIDEO_DOC)
        duration = wire.get("duration")
        if duration is not None and duration not in spec.r2v_durations:
            raise _fail(f"{model} R2V takes duration {sorted(spec.r2v_durations)}, got "
                        f"{duration!r}", "duration", _VIDEO_DOC)
        if len(voices) > spec.max_voices_r2v:
            raise _fail(f"{model} takes at most {spec.max_voices_r2v} referenceAudio_* in R2V",
                        None, _VIDEO_DOC)
    elif voices:
        raise _fail("referenceAudio_* needs a face: add a referenceImage_*, a character_* or "
                    "a referenceVideo_1", None, _VIDEO_DOC)
    if not video:
        duration = wire.get("duration")
        if duration is not None and not (images or chars) and duration not in spec.durations:
            raise _fail(f"{model} takes duration {sorted(spec.durations)} seconds, got "
                        f"{duration!r}", "duration", _VIDEO_DOC)
        for name in ("startFrameIndex_1", "endFrameIndex_1"):
            if name in wire:
                raise _fail(f"{name} is only valid with referenceVideo_1", name, _VIDEO_DOC)
    else:
        _check_frame_indexes(wire)
    if voices:
        _check_voices(wire, voices)
    _check_markers(prompt, wire, {"referenceImage": "referenceImage_", "character": "character_",
                                  "referenceAudio": "referenceAudio_"}, "POST /videos › Core")


def _check_frame_indexes(wire: Mapping[str, Any]) -> None:
    start = wire.get("startFrameIndex_1", 0)
    end = wire.get("endFrameIndex_1")
    if not isinstance(start, int) or not 0 <= start <= 239:
        raise _fail(f"startFrameIndex_1 must be 0-239 (24 fps frames), got {start!r}",
                    "startFrameIndex_1", "Video reference (Omni Flash V2V edit)")
    if end is not None:
        if not isinstance(end, int) or not 1 <= end <= 240:
            raise _fail(f"endFrameIndex_1 must be 1-240 (240 = 10 s at 24 fps), got {end!r}",
                        "endFrameIndex_1", "Video reference (Omni Flash V2V edit)")
        if end <= start:
            raise _fail("endFrameIndex_1 must be greater than startFrameIndex_1",
                        "endFrameIndex_1", "Video reference (Omni Flash V2V edit)")


def validate_extend_wire(wire: Mapping[str, Any]) -> None:
    """Check a POST /videos/extend body."""
    doc = "POST /videos/extend › Request Body"
    if not wire.get("mediaGenerationId"):
        raise _fail("mediaGenerationId (the source video) is required", "mediaGenerationId", doc)
    if not str(wire.get("prompt") or "").strip():
        raise _fail("prompt is required", "prompt", doc)
    model = wire.get("model", DEFAULT_VIDEO_MODEL)
    spec = VIDEO_MODELS.get(model) if isinstance(model, str) else None
    if spec is None or not spec.extend:
        ok = [m for m, s in VIDEO_MODELS.items() if s.extend]
        raise _fail(f"model {model!r} cannot extend; use one of {', '.join(ok)}", "model", doc)
    _check_common(wire, doc)


def validate_image_wire(wire: Mapping[str, Any]) -> None:
    """Check a POST /images body."""
    prompt = wire.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise _fail("prompt is required", "prompt", _IMAGE_DOC)
    model = wire.get("model")
    if model is not None and model not in IMAGE_MODELS:
        raise _fail(f"unknown image model {model!r}; supported: {', '.join(IMAGE_MODELS)}",
                    "model", _IMAGE_DOC)
    refs = _slots(wire, "reference_")
    chars = _slots(wire, "character_")
    ar = wire.get("aspectRatio")
    if ar is not None:
        if ar not in IMAGE_ASPECT_RATIOS:
            allowed = ", ".join(sorted(IMAGE_ASPECT_RATIOS))
            raise _fail(f"aspectRatio {ar!r} is not one of {allowed}",
                        "aspectRatio", _IMAGE_DOC)
        if ar == "auto" and not (refs or chars):
            raise _fail("aspectRatio 'auto' needs at least one reference", "aspectRatio",
                        _IMAGE_DOC)
    limit = IMAGE_MODELS[model].max_references if model else 10
    budget = len(refs) + sum(character_images(str(wire[c])) for c in chars)
    if budget > limit:
        raise _fail(f"at most {limit} reference images (reference_* + character images), got "
                    f"{budget}", None, _IMAGE_DOC)
    _check_common(wire, _IMAGE_DOC)
    _check_markers(prompt, wire, {"reference": "reference_", "character": "character_"},
                   _IMAGE_DOC)


def _check_choice(wire: Mapping[str, Any], name: str, allowed: frozenset[str], doc: str) -> None:
    value = wire.get(name)
    if value is not None and value not in allowed:
        raise _fail(f"{name} must be one of {', '.join(sorted(allowed))}, got {value!r}", name,
                    doc)


def _check_text(wire: Mapping[str, Any], name: str, lo: int, hi: int, doc: str,
                required: bool = True) -> None:
    value = wire.get(name)
    if value is None:
        if required:
            raise _fail(f"{name} is required", name, doc)
        return
    if not isinstance(value, str) or not lo <= len(value) <= hi:
        raise _fail(f"{name} must be {lo}-{hi} characters", name, doc)


def _validate_voice(wire: Mapping[str, Any]) -> None:
    doc = "POST /voices"
    if not wire.get("email"):
        raise _fail("email is required (voices are created on one account)", "email", doc)
    if wire.get("voice") not in SYSTEM_VOICES:
        raise _fail(f"voice must be one of the 30 presets (case-sensitive), got "
                    f"{wire.get('voice')!r}", "voice", doc)
    _check_text(wire, "displayName", 1, 200, doc)
    _check_text(wire, "dialog", 1, 120, doc)
    _check_text(wire, "voicePerformance", 1, 120, doc)
    _check_captcha(wire)


def _validate_character(wire: Mapping[str, Any]) -> None:
    doc = "POST /characters"
    _check_text(wire, "displayName", 1, 200, doc)
    if not wire.get("imageReference_1"):
        raise _fail("imageReference_1 is required", "imageReference_1", doc)
    if len(_slots(wire, "imageReference_")) > 2:
        raise _fail("a character takes at most two images", None, doc)
    _check_text(wire, "personalityNotes", 0, 2000, doc, required=False)
    voice = wire.get("voice")
    if voice is not None:
        _check_voices({"voice": voice}, ["voice"])


def _validate_concatenate(wire: Mapping[str, Any]) -> None:
    doc = "POST /videos/concatenate › Request Body"
    media = wire.get("media")
    if not isinstance(media, list) or not 2 <= len(media) <= 10:
        raise _fail("media takes 2-10 clips", "media", doc)
    for i, clip in enumerate(media):
        if not isinstance(clip, dict) or not clip.get("mediaGenerationId"):
            raise _fail(f"media[{i}].mediaGenerationId is required", "media", doc)
        for trim in ("trimStart", "trimEnd"):
            value = clip.get(trim)
            if value is not None and not (isinstance(value, (int, float)) and 0 <= value <= 10):
                raise _fail(f"media[{i}].{trim} must be 0-10 seconds", "media", doc)


def _require_media_id(doc: str) -> Any:
    def check(wire: Mapping[str, Any]) -> None:
        if not wire.get("mediaGenerationId"):
            raise _fail("mediaGenerationId is required", "mediaGenerationId", doc)
    return check


def _validate_video_upscale(wire: Mapping[str, Any]) -> None:
    doc = "POST /videos/upscale › Request Body"
    _require_media_id(doc)(wire)
    _check_choice(wire, "resolution", VIDEO_UPSCALE_RESOLUTIONS, doc)
    _check_common(wire, doc)


def _validate_image_upscale(wire: Mapping[str, Any]) -> None:
    doc = "POST /images/upscale › Request Body"
    _require_media_id(doc)(wire)
    _check_choice(wire, "resolution", IMAGE_UPSCALE_RESOLUTIONS, doc)
    _check_captcha(wire)


_VALIDATORS: Mapping[str, Any] = MappingProxyType({
    "VideoParams": validate_video_wire,
    "ExtendParams": validate_extend_wire,
    "VideoUpscaleParams": _validate_video_upscale,
    "ImageParams": validate_image_wire,
    "ImageUpscaleParams": _validate_image_upscale,
    "GifParams": _require_media_id("POST /videos/gif › Request Body"),
    "ConcatenateParams": _validate_concatenate,
    "VoiceParams": _validate_voice,
    "CharacterParams": _validate_character,
})


def validate_wire(kind: str, wire: Mapping[str, Any]) -> None:
    """Validate a wire body for a params class name (``"VideoParams"`` …).

    Raises:
        InvalidParamsError: a documented rule is broken.
    """
    check = _VALIDATORS.get(kind)
    if check is not None:
        check(wire)


def validate(params: Any) -> None:
    """Validate a params Struct (``VideoParams``, ``ImageParams`` …) before sending.

    Raises:
        InvalidParamsError: a documented rule is broken; the message names the field in the
            API's spelling, the rule and the doc section.
    """
    validate_wire(type(params).__name__, params.to_wire())
