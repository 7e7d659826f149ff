"""Keyword-field types of the params classes, so ``flow.videos.create(prompt=…,
aspect_ratio=…)`` is checked by a type checker like ``VideoParams(prompt=…, …)`` is
(issue 12 §6): a misspelt or ill-typed keyword is a ``mypy --strict`` error, not an ``Any``.

Each ``XFields`` lists exactly the fields of ``XParams`` with the same names and types
(``tests/test_typing.py`` keeps them in step). They are ``total=False``: a required field
(``prompt``…) left out is reported when the call runs (:class:`~flowapi.InvalidParamsError`,
nothing sent). Meanings, units and ranges are documented on the params classes.
"""

from __future__ import annotations

from typing import TypedDict

from ._base import UnsetType

__all__ = [
    "CharacterFields",
    "ExtendFields",
    "ImageFields",
    "ImageUpscaleFields",
    "VideoFields",
    "VideoUpscaleFields",
    "VoiceFields",
]


class VideoFields(TypedDict, total=False):
    """Keyword fields of :class:`~flowapi.VideoParams` (same names, types and meaning)."""

    captcha_token: str | UnsetType
    captcha_retry: int | UnsetType
    captcha_order: str | UnsetType
    reply_url: str | UnsetType
    reply_ref: str | UnsetType
    prompt: str
    model: str | UnsetType
    aspect_ratio: str | UnsetType
    duration: int | UnsetType
    resolution: str | UnsetType
    count: int | UnsetType
    seed: int | UnsetType
    email: str | UnsetType
    start_image: str | UnsetType
    end_image: str | UnsetType
    reference_images: list[str] | UnsetType
    characters: list[str] | UnsetType
    reference_audio: list[str] | UnsetType
    reference_video: str | UnsetType
    start_frame_index: int | UnsetType
    end_frame_index: int | UnsetType


class ExtendFields(TypedDict, total=False):
    """Keyword fields of :class:`~flowapi.ExtendParams` (same names, types and meaning)."""

    captcha_token: str | UnsetType
    captcha_retry: int | UnsetType
    captcha_order: str | UnsetType
    reply_url: str | UnsetType
    reply_ref: str | UnsetType
    media_generation_id: str
    prompt: str
    model: str | UnsetType
    count: int | UnsetType
    seed: int | UnsetType


class VideoUpscaleFields(TypedDict, total=False):
    """Keyword fields of :class:`~flowapi.VideoUpscaleParams` (same names, types and meaning)."""

    captcha_token: str | UnsetType
    captcha_retry: int | UnsetType
    captcha_order: str | UnsetType
    reply_url: str | UnsetType
    reply_ref: str | UnsetType
    media_generation_id: str
    resolution: str | UnsetType


class ImageFields(TypedDict, total=False):
    """Keyword fields of :class:`~flowapi.ImageParams` (same names, types and meaning)."""

    captcha_token: str | UnsetType
    captcha_retry: int | UnsetType
    captcha_order: str | UnsetType
    reply_url: str | UnsetType
    reply_ref: str | UnsetType
    prompt: str
    model: str | UnsetType
    aspect_ratio: str | UnsetType
    count: int | UnsetType
    seed: int | UnsetType
    email: str | UnsetType
    references: list[str] | UnsetType
    characters: list[str] | UnsetType


class ImageUpscaleFields(TypedDict, total=False):
    """Keyword fields of :class:`~flowapi.ImageUpscaleParams` (same names, types and meaning)."""

    captcha_token: str | UnsetType
    captcha_retry: int | UnsetType
    captcha_order: str | UnsetType
    media_generation_id: str
    resolution: str | UnsetType


class VoiceFields(TypedDict, total=False):
    """Keyword fields of :class:`~flowapi.VoiceParams` (same names, types and meaning)."""

    captcha_token: str | UnsetType
    captcha_retry: int | UnsetType
    captcha_order: str | UnsetType
    email: str
    voice: str
    display_name: str
    dialog: str
    voice_performance: str


class CharacterFields(TypedDict, total=False):
    """Keyword fields of :class:`~flowapi.CharacterParams` (same names, types and meaning)."""

    display_name: str
    image_references: list[str]
    voice: str | UnsetType
    personality_notes: str | UnsetType
