"""Request validation of POST videos and POST images: the capability matrix as data.

Sources: post-videos (June 2026) "Model Capabilities" (models, aspect ratios, durations,
references) and "Request Body"; supplement §7 (character budgets), §9 (images), §10.2.
Only checks that need no stored state live here; reference existence and ownership are
checked in :mod:`._resolve`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ._errors import ApiError
from ._http import int_param, str_param

__all__ = [
    "IMAGE_MODELS",
    "OMNI_MODELS",
    "VEO_MODELS",
    "VIDEO_MODELS",
    "ImageSpec",
    "VideoSpec",
    "check_callbacks",
    "validate_image",
    "validate_video",
]

VEO_MODELS = ("veo-3.1-fast", "veo-3.1-quality", "veo-3.1-lite", "veo-3.1-lite-low-priority")
"""Veo variants (default ``veo-3.1-fast``)."""
OMNI_MODELS = ("omni-flash", "omni-flash-1.2")
"""Gemini Omni Flash 1.1 and 1.2 (api-update-2026-h2 §5.1)."""
VIDEO_MODELS = (*VEO_MODELS, *OMNI_MODELS)
"""Every ``POST videos`` model."""
_DURATIONS: dict[str, tuple[int, ...]] = {
    "omni-flash": (4, 6, 8, 10),
    "omni-flash-1.2": tuple(range(3, 16)),
}
"""``duration`` seconds per model; Veo 4/6/8 (api-update-2026-h2 §5.1)."""
_MAX_REFERENCE_IMAGES = {"omni-flash": 7, "omni-flash-1.2": 10}
"""``referenceImage_*`` slots (and the image budget) in R2V; Veo 3."""
_VEO_ASPECTS = ("landscape", "portrait", "1:1", "4:3", "3:4")
_OMNI_ASPECTS = ("landscape", "portrait")

IMAGE_MODELS: dict[str, str] = {
    "nano-banana-2-lite": "nano-banana-2-lite",
    "nano-banana-2": "nano-banana-2",
    "nano-banana-pro": "nano-banana-pro",
    "nano-banana": "nano-banana-2",
    "imagen-4": "nano-banana-2-lite",
}
"""Accepted image model → model used (aliases per supplement §9.1)."""
DEFAULT_IMAGE_MODEL = "nano-banana-2-lite"
"""``model`` when omitted, with or without references (api-update-2026-h2 §5.3)."""
_AUTO_IN_I2I = frozenset({"nano-banana-2", "nano-banana-pro"})
"""Models whose ``aspectRatio`` defaults to ``auto`` when references are given; Lite stays
16:9 (api-update-2026-h2 §5.3)."""
_IMAGE_ASPECTS = ("16:9", "4:3", "1:1", "3:4", "9:16", "auto", "landscape", "portrait")
_MARKER = re.compile(
    r"@(character|referenceImage|referenceAudio|referenceVideo|reference)_(\d+)", re.I
)


def check_callbacks(body: dict[str, Any], *, with_code: bool = False) -> None:
    """``replyUrl`` (http/https) and ``replyRef``: strings of at most 1024 characters."""
    url = str_param(body, "replyUrl", max_len=1024, with_code=with_code)
    if url is not None and not url.startswith(("http://", "https://")):
        raise ApiError.bad_request("Parameter replyUrl must be an http(s) URL", with_code=with_code)
    str_param(body, "replyRef", max_len=1024, with_code=with_code)


def _slots(body: dict[str, Any], prefix: str, n: int) -> dict[int, str]:
    out: dict[int, str] = {}
    for i in range(1, n + 1):
        v = body.get(f"{prefix}_{i}")
        if v is None or v == "":
            continue
        if not isinstance(v, str):
            raise ApiError.bad_request(f"Parameter {prefix}_{i} must be a string")
        out[i] = v
    for key in body:
        m = re.fullmatch(rf"{prefix}_(\d+)", key)
        if m and not 1 <= int(m.group(1)) <= n and body[key] not in (None, ""):
            raise ApiError.bad_request(
                f"Parameter {key} is not supported (slots {prefix}_1..{prefix}_{n})"
            )
    return out


def _markers(prompt: str, body: dict[str, Any], allowed: set[str]) -> None:
    canon = {"character": "character", "referenceimage": "referenceImage",
             "referenceaudio": "referenceAudio",
             "referencevideo": "referenceVideo", "reference": "reference"}  # fmt: skip
    for m in _MARKER.finditer(prompt):
        name = canon[m.group(1).lower()]
        if name not in allowed:
            raise ApiError.bad_request(
                f"Inline marker @{m.group(1)}_{m.group(2)} is not supported here"
            )
        if body.get(f"{name}_{m.group(2)}") in (None, ""):
            raise ApiError.bad_request(
                f"Prompt references @{name}_{m.group(2)} but parameter "
                f"{name}_{m.group(2)} is missing"
            )


@dataclass(slots=True)
class VideoSpec:
    """A validated POST videos request."""

    prompt: str
    model: str
    mode: str
    """``t2v``, ``i2v``, ``i2v_fl``, ``r2v`` or ``v2v``."""
    aspect: str
    duration: int | None
    """Seconds; ``None`` for V2V (follows the trim window)."""
    count: int
    resolution: str
    email: str | None
    async_: bool
    start: str | None = None
    end: str | None = None
    images: dict[int, str] = field(default_factory=dict)
    characters: dict[int, str] = field(default_factory=dict)
    audios: dict[int, str] = field(default_factory=dict)
    video: str | None = None
    start_frame: int | None = None
    end_frame: int | None = None


def validate_video(body: dict[str, Any]) -> VideoSpec:
    """Validate a POST videos body (400 ``ApiError`` on the first violation)."""
    prompt = str_param(body, "prompt", required=True)
    assert prompt is not None
    model = str_param(body, "model") or "veo-3.1-fast"
    if model not in VIDEO_MODELS:
        raise ApiError.bad_request(f"Invalid model '{model}'. Supported: {', '.join(VIDEO_MODELS)}")
    omni = model in OMNI_MODELS
    aspect = str_param(body, "aspectRatio") or "landscape"
    aspects = _OMNI_ASPECTS if omni else _VEO_ASPECTS
    if aspect not in aspects:
        raise ApiError.bad_request(
            f"Model '{model}' does not support aspectRatio '{aspect}'. "
            f"Supported: {', '.join(aspects)}"
        )
    count = int_param(body, "count", lo=1, hi=4, default=1)
    int_param(body, "seed", lo=0, hi=None, default=None)
    email = str_param(body, "email")
    async_ = body.get("async", False)
    if not isinstance(async_, bool):
        raise ApiError.bad_request("Parameter async must be a boolean")
    resolution = str_param(body, "resolution") or "720p"
    if resolution not in ("720p", "360p") or (resolution == "360p" and not omni):
        supported = "720p, 360p" if omni else "720p"
        raise ApiError.bad_request(
            f"Invalid resolution '{resolution}' for model '{model}'. Supported: {supported}"
        )
    check_callbacks(body)
    spec = VideoSpec(prompt, model, "t2v", aspect, None, count or 1, resolution, email, async_)
    spec.start = str_param(body, "startImage")
    spec.end = str_param(body, "endImage")
    spec.images = _slots(body, "referenceImage", _MAX_REFERENCE_IMAGES.get(model, 7))
    spec.characters = _slots(body, "character", 7)
    spec.audios = _slots(body, "referenceAudio", 5)
    spec.video = str_param(body, "referenceVideo_1")
    _markers(prompt, body, {"character", "referenceImage", "referenceAudio"})
    if spec.end and not spec.start:
        raise ApiError.bad_request("endImage requires startImage (end-frame-only is not supported)")
    frames = spec.start is not None
    refs = bool(spec.images or spec.characters)
    if frames and (refs or spec.video):
        raise ApiError.bad_request(
            "startImage/endImage cannot be combined with referenceImage_*, character_* "
            "or referenceVideo_1"
        )
    if spec.video and not omni:
        raise ApiError.bad_request(
            f"referenceVideo_1 (V2V edit) is supported by omni-flash only, not '{model}'"
        )
    if (
        body.get("startFrameIndex_1") is not None or body.get("endFrameIndex_1") is not None
    ) and not spec.video:
        raise ApiError.bad_request("startFrameIndex_1/endFrameIndex_1 require referenceVideo_1")
    if spec.video:
        spec.mode = "v2v"
        if body.get("duration") is not None:
            raise ApiError.bad_request(
                "Parameter duration is not accepted with referenceVideo_1 "
                "(output matches the trim window)"
            )
        spec.start_frame = int_param(body, "startFrameIndex_1", lo=0, hi=239, default=0)
        spec.end_frame = int_param(body, "endFrameIndex_1", lo=1, hi=240, default=None)
        if spec.end_frame is not None and spec.end_frame <= (spec.start_frame or 0):
            raise ApiError.bad_request("endFrameIndex_1 must be greater than startFrameIndex_1")
        if len(spec.images) + 0 > 5 or any(i > 5 for i in spec.images):
            raise ApiError.bad_request(
                "V2V edit supports up to 5 reference images (referenceImage_1..5)"
            )
        if any(i > 3 for i in spec.audios):
            raise ApiError.bad_request("V2V edit supports up to 3 voices (referenceAudio_1..3)")
        return spec
    spec.duration = int_param(body, "duration", lo=1, hi=None, default=8)
    if spec.duration not in _DURATIONS.get(model, (4, 6, 8)):
        raise ApiError.bad_request(f"Model '{model}' does not support duration {spec.duration}s")
    if model == "veo-3.1-quality" and spec.duration != 8:
        raise ApiError.bad_request("Model 'veo-3.1-quality' supports 8s videos only")
    if frames:
        spec.mode = "i2v_fl" if spec.end else "i2v"
        if omni and spec.audios:
            raise ApiError.bad_request(
                f"{model} frames mode takes only startImage and endImage: referenceImage_*, "
                "character_* and referenceAudio_* are not accepted with them"
            )
        if spec.audios:
            raise ApiError.bad_request(
                "referenceAudio_* requires R2V mode (a referenceImage_* or character_*)"
            )
        return spec
    if refs:
        spec.mode = "r2v"
        if model == "veo-3.1-quality":
            raise ApiError.bad_request(
                "Model 'veo-3.1-quality' does not support R2V mode (MULTI_REFERENCE_NO_STYLE)"
            )
        if not omni:
            if any(i > 3 for i in spec.images):
                raise ApiError.bad_request(f"Model '{model}' supports referenceImage_1..3 only")
            if spec.duration != 8:
                raise ApiError.bad_request(
                    f"Model '{model}' supports R2V (reference images, characters) in 8s only"
                )
            if any(i > 1 for i in spec.audios):
                raise ApiError.bad_request(
                    f"Model '{model}' supports a single voice (referenceAudio_1)"
                )
    elif spec.audios:
        raise ApiError.bad_request(
            "A voice needs a face: referenceAudio_* requires a referenceImage_*, "
            "character_* or referenceVideo_1"
        )
    return spec


@dataclass(slots=True)
class ImageSpec:
    """A validated POST images request."""

    prompt: str
    model: str
    requested_model: str
    aspect: str
    count: int
    email: str | None
    refs: dict[int, str] = field(default_factory=dict)
    characters: dict[int, str] = field(default_factory=dict)


def validate_image(body: dict[str, Any]) -> ImageSpec:
    """Validate a POST images body (400 ``ApiError`` on the first violation)."""
    prompt = str_param(body, "prompt", required=True)
    assert prompt is not None
    requested = str_param(body, "model") or DEFAULT_IMAGE_MODEL
    if requested not in IMAGE_MODELS:
        raise ApiError.bad_request(
            f"Invalid model '{requested}'. Supported: {', '.join(IMAGE_MODELS)}"
        )
    count = int_param(body, "count", lo=1, hi=4, default=4)
    int_param(body, "seed", lo=0, hi=None, default=None)
    check_callbacks(body)
    refs = _slots(body, "reference", 10)
    chars = _slots(body, "character", 7)
    i2i_auto = (refs or chars) and IMAGE_MODELS[requested] in _AUTO_IN_I2I
    default_aspect = "auto" if i2i_auto else "16:9"
    aspect = str_param(body, "aspectRatio") or default_aspect
    if aspect not in _IMAGE_ASPECTS:
        raise ApiError.bad_request(
            f"Invalid aspectRatio '{aspect}'. Supported: {', '.join(_IMAGE_ASPECTS)}"
        )
    if aspect == "auto" and not (refs or chars):
        raise ApiError.bad_request("aspectRatio 'auto' requires at least one reference")
    _markers(prompt, body, {"character", "reference"})
    return ImageSpec(
        prompt,
        IMAGE_MODELS[requested],
        requested,
        aspect,
        count or 4,
        str_param(body, "email"),
        refs,
        chars,
    )
