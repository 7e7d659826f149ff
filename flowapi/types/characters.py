"""POST/GET/DELETE /characters — reusable characters (1–2 images + optional voice; supplement §7).

Characters are referenced as ``character_1..7`` from POST /videos and POST /images. No captcha.
"""

from __future__ import annotations

from typing import ClassVar

from ._base import UNSET, ResponseStruct, UnsetType, WireParams

__all__ = [
    "Character",
    "CharacterDeleted",
    "CharacterList",
    "CharacterParams",
    "CharacterVoice",
    "ImageReference",
]


class CharacterVoice(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """A character's ``voice`` object, in one permissive shape for its three variants.

    * live user voice: ``{source?: "user", voice, workflowId, mediaId, displayName, baseVoice,
      dialog?, voicePerformance?, audioUrl?}`` (``source`` absent on GET /characters/{ref});
    * system voice: ``{source: "system", voice: "Umbriel", displayName}``;
    * orphan (the voice was deleted): ``{workflowId, deleted: true}``.
    """

    source: str = ""
    """``user``, ``system`` or absent; see :attr:`is_user` / :attr:`is_system`."""
    voice: str = ""
    """Preset name or user voice reference-id."""
    display_name: str = ""
    """Voice label."""
    workflow_id: str = ""
    """User (or deleted) voice workflow id."""
    media_id: str = ""
    """User voice media id."""
    base_voice: str = ""
    """User voice base preset."""
    dialog: str = ""
    """User voice sample text."""
    voice_performance: str = ""
    """User voice delivery style."""
    audio_url: str = ""
    """Signed preview URL (GET /characters/{ref}, ~6 h)."""
    deleted: bool = False
    """``true`` for an orphan: the user voice was deleted (the character keeps working)."""

    @property
    def is_deleted(self) -> bool:
        """The orphan-voice variant."""
        return self.deleted

    @property
    def is_system(self) -> bool:
        """A system preset voice."""
        return not self.deleted and self.source == "system"

    @property
    def is_user(self) -> bool:
        """A live user voice (``source`` may be absent on GET /characters/{ref})."""
        return not self.deleted and (
            self.source == "user" or (not self.source and bool(self.workflow_id or self.voice))
        )


class ImageReference(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """One of a character's ``imageReferences[]`` (1–2)."""

    media_id: str = ""
    """``mediaId`` (POST /characters and GET /characters/{ref})."""
    workflow_id: str = ""
    """``workflowId`` (GET lists)."""
    preview_url: str = ""
    """Signed preview URL (GET /characters/{ref}, ~6 h)."""


class Character(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """A character (POST /characters 200, GET /characters entries, GET /characters/{ref})."""

    character: str = ""
    """Reference-id for ``character_N``:
    ``user:…-character:{entityId}-imgs:{N}[-voice:{workflowId | preset}]``."""
    entity_id: str = ""
    """Entity id."""
    display_name: str = ""
    """Name, 1–200 characters."""
    personality_notes: str = ""
    """Free text, ≤2000 characters."""
    image_references: tuple[ImageReference, ...] = ()
    """The 1–2 images."""
    voice: str | CharacterVoice | None = None
    """POST /characters echoes a string (preset name or user ref); GET returns an object (see
    :class:`CharacterVoice`); ``None`` when the character has no voice. See :attr:`voice_ref`."""
    thumbnail_media_id: str = ""
    """Thumbnail media id."""
    thumbnail_url: str = ""
    """Signed thumbnail URL (GET /characters/{ref})."""
    create_time: str = ""
    """ISO-8601 creation time."""
    update_time: str = ""
    """ISO-8601 last update."""

    @property
    def voice_ref(self) -> str | None:
        """The voice as a string (preset name or user ref), ``None`` if none or deleted."""
        if isinstance(self.voice, CharacterVoice):
            return None if self.voice.deleted or not self.voice.voice else self.voice.voice
        return self.voice or None

    @property
    def image_count(self) -> int:
        """Number of images — what the character costs in a model's image-reference budget."""
        return len(self.image_references)


class CharacterList(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """GET /characters 200 (``email`` required; no preview/audio URLs)."""

    characters: tuple[Character, ...] = ()
    """The account's characters."""


class CharacterDeleted(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """DELETE /characters/{ref} 200 (the attached voice is not deleted)."""

    deleted: bool = False
    """``true``."""
    entity_id: str = ""
    """Entity id of the deleted character."""
    character: str = ""
    """Echo of the reference-id."""


class CharacterParams(WireParams, kw_only=True):
    """Body of POST /characters (supplement §7.1). No ``email`` (taken from the first image),
    no captcha."""

    _numbered_slots: ClassVar[dict[str, str]] = {"image_references": "imageReference_"}

    display_name: str
    """Required. Name, 1–200 characters."""
    image_references: list[str]
    """Required. ``imageReference_1..2`` — 1–2 image ``mediaGenerationId`` values from
    POST /assets or POST /images, same account."""
    voice: str | UnsetType = UNSET
    """System preset (case-insensitive) or user voice ref on the same account."""
    personality_notes: str | UnsetType = UNSET
    """``personalityNotes`` — free text, ≤2000 characters."""
