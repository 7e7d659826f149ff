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
    """:attr:`~flowapi.types.VideoParams.captcha_token`."""
    captcha_retry: int | UnsetType
    """:attr:`~flowapi.types.VideoParams.captcha_retry`."""
    captcha_order: str | UnsetType
    """:attr:`~flowapi.types.VideoParams.captcha_order`."""
    reply_url: str | UnsetType
    """:attr:`~flowapi.types.VideoParams.reply_url`."""
    reply_ref: str | UnsetType
    """:attr:`~flowapi.types.VideoParams.reply_ref`."""
    prompt: str
    """:attr:`~flowapi.types.VideoParams.prompt`."""
    model: str | UnsetType
    """:attr:`~flowapi.types.VideoParams.model`."""
    aspect_ratio: str | UnsetType
    """:attr:`~flowapi.types.VideoParams.aspect_ratio`."""
    duration: int | UnsetType
    """:attr:`~flowapi.types.VideoParams.duration`."""
    resolution: str | UnsetType
    """:attr:`~flowapi.types.VideoParams.resolution`."""
    count: int | UnsetType
    """:attr:`~flowapi.types.VideoParams.count`."""
    seed: int | UnsetType
    """:attr:`~flowapi.types.VideoParams.seed`."""
    email: str | UnsetType
    """:attr:`~flowapi.types.VideoParams.email`."""
    start_image: str | UnsetType
    """:attr:`~flowapi.types.VideoParams.start_image`."""
    end_image: str | UnsetType
    """:attr:`~flowapi.types.VideoParams.end_image`."""
    reference_images: list[str] | UnsetType
    """:attr:`~flowapi.types.VideoParams.reference_images`."""
    characters: list[str] | UnsetType
    """:attr:`~flowapi.types.VideoParams.characters`."""
    reference_audio: list[str] | UnsetType
    """:attr:`~flowapi.types.VideoParams.reference_audio`."""
    reference_video: str | UnsetType
    """:attr:`~flowapi.types.VideoParams.reference_video`."""
    start_frame_index: int | UnsetType
    """:attr:`~flowapi.types.VideoParams.start_frame_index`."""
    end_frame_index: int | UnsetType
    """:attr:`~flowapi.types.VideoParams.end_frame_index`."""


class ExtendFields(TypedDict, total=False):
    """Keyword fields of :class:`~flowapi.ExtendParams` (same names, types and meaning)."""

    captcha_token: str | UnsetType
    """:attr:`~flowapi.types.ExtendParams.captcha_token`."""
    captcha_retry: int | UnsetType
    """:attr:`~flowapi.types.ExtendParams.captcha_retry`."""
    captcha_order: str | UnsetType
    """:attr:`~flowapi.types.ExtendParams.captcha_order`."""
    reply_url: str | UnsetType
    """:attr:`~flowapi.types.ExtendParams.reply_url`."""
    reply_ref: str | UnsetType
    """:attr:`~flowapi.types.ExtendParams.reply_ref`."""
    media_generation_id: str
    """:attr:`~flowapi.types.ExtendParams.media_generation_id`."""
    prompt: str
    """:attr:`~flowapi.types.ExtendParams.prompt`."""
    model: str | UnsetType
    """:attr:`~flowapi.types.ExtendParams.model`."""
    count: int | UnsetType
    """:attr:`~flowapi.types.ExtendParams.count`."""
    seed: int | UnsetType
    """:attr:`~flowapi.types.ExtendParams.seed`."""


class VideoUpscaleFields(TypedDict, total=False):
    """Keyword fields of :class:`~flowapi.VideoUpscaleParams` (same names, types and meaning)."""

    captcha_token: str | UnsetType
    """:attr:`~flowapi.types.VideoUpscaleParams.captcha_token`."""
    captcha_retry: int | UnsetType
    """:attr:`~flowapi.types.VideoUpscaleParams.captcha_retry`."""
    captcha_order: str | UnsetType
    """:attr:`~flowapi.types.VideoUpscaleParams.captcha_order`."""
    reply_url: str | UnsetType
    """:attr:`~flowapi.types.VideoUpscaleParams.reply_url`."""
    reply_ref: str | UnsetType
    """:attr:`~flowapi.types.VideoUpscaleParams.reply_ref`."""
    media_generation_id: str
    """:attr:`~flowapi.types.VideoUpscaleParams.media_generation_id`."""
    resolution: str | UnsetType
    """:attr:`~flowapi.types.VideoUpscaleParams.resolution`."""


class ImageFields(TypedDict, total=False):
    """Keyword fields of :class:`~flowapi.ImageParams` (same names, types and meaning)."""

    captcha_token: str | UnsetType
    """:attr:`~flowapi.types.ImageParams.captcha_token`."""
    captcha_retry: int | UnsetType
    """:attr:`~flowapi.types.ImageParams.captcha_retry`."""
    captcha_order: str | UnsetType
    """:attr:`~flowapi.types.ImageParams.captcha_order`."""
    reply_url: str | UnsetType
    """:attr:`~flowapi.types.ImageParams.reply_url`."""
    reply_ref: str | UnsetType
    """:attr:`~flowapi.types.ImageParams.reply_ref`."""
    prompt: str
    """:attr:`~flowapi.types.ImageParams.prompt`."""
    model: str | UnsetType
    """:attr:`~flowapi.types.ImageParams.model`."""
    aspect_ratio: str | UnsetType
    """:attr:`~flowapi.types.ImageParams.aspect_ratio`."""
    count: int | UnsetType
    """:attr:`~flowapi.types.ImageParams.count`."""
    seed: int | UnsetType
    """:attr:`~flowapi.types.ImageParams.seed`."""
    email: str | UnsetType
    """:attr:`~flowapi.types.ImageParams.email`."""
    references: list[str] | UnsetType
    """:attr:`~flowapi.types.ImageParams.references`."""
    characters: list[str] | UnsetType
    """:attr:`~flowapi.types.ImageParams.characters`."""


class ImageUpscaleFields(TypedDict, total=False):
    """Keyword fields of :class:`~flowapi.ImageUpscaleParams` (same names, types and meaning)."""

    captcha_token: str | UnsetType
    """:attr:`~flowapi.types.ImageUpscaleParams.captcha_token`."""
    captcha_retry: int | UnsetType
    """:attr:`~flowapi.types.ImageUpscaleParams.captcha_retry`."""
    captcha_order: str | UnsetType
    """:attr:`~flowapi.types.ImageUpscaleParams.captcha_order`."""
    media_generation_id: str
    """:attr:`~flowapi.types.ImageUpscaleParams.media_generation_id`."""
    resolution: str | UnsetType
    """:attr:`~flowapi.types.ImageUpscaleParams.resolution`."""


class VoiceFields(TypedDict, total=False):
    """Keyword fields of :class:`~flowapi.VoiceParams` (same names, types and meaning)."""

    captcha_token: str | UnsetType
    """:attr:`~flowapi.types.VoiceParams.captcha_token`."""
    captcha_retry: int | UnsetType
    """:attr:`~flowapi.types.VoiceParams.captcha_retry`."""
    captcha_order: str | UnsetType
    """:attr:`~flowapi.types.VoiceParams.captcha_order`."""
    email: str
    """:attr:`~flowapi.types.VoiceParams.email`."""
    voice: str
    """:attr:`~flowapi.types.VoiceParams.voice`."""
    display_name: str
    """:attr:`~flowapi.types.VoiceParams.display_name`."""
    dialog: str
    """:attr:`~flowapi.types.VoiceParams.dialog`."""
    voice_performance: str
    """:attr:`~flowapi.types.VoiceParams.voice_performance`."""


class CharacterFields(TypedDict, total=False):
    """Keyword fields of :class:`~flowapi.CharacterParams` (same names, types and meaning)."""

    display_name: str
    """:attr:`~flowapi.types.CharacterParams.display_name`."""
    image_references: list[str]
    """:attr:`~flowapi.types.CharacterParams.image_references`."""
    voice: str | UnsetType
    """:attr:`~flowapi.types.CharacterParams.voice`."""
    personality_notes: str | UnsetType
    """:attr:`~flowapi.types.CharacterParams.personality_notes`."""
