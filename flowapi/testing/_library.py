"""Stateful user objects of the fake: assets (images, videos), voices and characters.

Identifier formats follow supplement §1.3:

* image/video: ``user:{uid}-email:{hex_email}-image:{id}`` / ``-video:{id}``
* user voice: ``user:{uid}-email:{hex_email}-voice:{workflowId}-mid:{mediaId}``
* character: ``user:{uid}-email:{hex_email}-character:{entityId}-imgs:{N}[-voice:{x}]``
"""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass, field

from ._util import email_from_hex, hex_email

__all__ = [
    "SYSTEM_VOICES",
    "Asset",
    "Character",
    "Library",
    "ParsedRef",
    "Voice",
    "make_ref",
    "parse_ref",
    "system_voice",
]

SYSTEM_VOICES: tuple[str, ...] = (
    "Achernar", "Achird", "Algenib", "Algieba", "Alnilam", "Aoede", "Autonoe", "Callirrhoe",
    "Charon", "Despina", "Enceladus", "Erinome", "Fenrir", "Gacrux", "Iapetus", "Kore",
    "Laomedeia", "Leda", "Orus", "Puck", "Pulcherrima", "Rasalgethi", "Sadachbia",
    "Sadaltager", "Schedar", "Sulafat", "Umbriel", "Vindemiatrix", "Zephyr", "Zubenelgenubi",
)  # fmt: skip
"""The 30 system voice presets (post-videos › Voice narration)."""

_PROJECTS = uuid.UUID("5f1b8f52-4c1e-4a57-9d8e-6a1c0b7e2f10")
"""Namespace of the fake's deterministic ``projectId`` values."""

_SYSTEM_LOWER = {v.lower(): v for v in SYSTEM_VOICES}

SAMPLE_URL = "https://www.gstatic.com/aitestkitchen/voices/samples/{name}.wav"
"""Static sample URL of a system voice (no expiry)."""


def system_voice(name: str) -> str | None:
    """Canonical preset name for ``name`` (case-insensitive), or ``None``."""
    return _SYSTEM_LOWER.get(name.lower())


_REF_RE = re.compile(
    r"^user:(?P<uid>\d+)-email:(?P<hex>[0-9a-fA-F]+)-(?P<kind>image|video|voice|character):(?P<rest>.+)$"
)


@dataclass(frozen=True, slots=True)
class ParsedRef:
    """A parsed reference id."""

    uid: int
    """useapi user id."""
    email: str
    """Decoded account email."""
    kind: str
    """``image``, ``video``, ``voice`` or ``character``."""
    rest: str
    """Everything after ``{kind}:``."""

    @property
    def key(self) -> str:
        """Store key: media id, voice workflowId or character entityId."""
        if self.kind == "voice":
            return self.rest.split("-mid:", 1)[0]
        if self.kind == "character":
            return self.rest.split("-imgs:", 1)[0]
        return self.rest


def parse_ref(value: object) -> ParsedRef | None:
    """Parse a reference id; ``None`` when it is not one."""
    if not isinstance(value, str):
        return None
    m = _REF_RE.match(value)
    if m is None:
        return None
    email = email_from_hex(m.group("hex"))
    if email is None:
        return None
    return ParsedRef(int(m.group("uid")), email, m.group("kind"), m.group("rest"))


def make_ref(uid: int, email: str, kind: str, rest: str) -> str:
    """Build ``user:{uid}-email:{hex}-{kind}:{rest}``."""
    return f"user:{uid}-email:{hex_email(email)}-{kind}:{rest}"


@dataclass(slots=True)
class Asset:
    """An image or video known to the fake (uploaded or generated)."""

    media_generation_id: str
    """Full reference id."""
    kind: str
    """``"image"`` or ``"video"``."""
    email: str
    """Owning account."""
    name: str
    """Media id (the part after ``image:``/``video:``); file id on the media origin."""
    width: int = 0
    """Pixels."""
    height: int = 0
    """Pixels."""
    duration: float = 8.0
    """Seconds (videos)."""
    content_type: str = "image/jpeg"
    """MIME type."""
    origin: str = "upload"
    """``upload``, ``generated``, ``extended`` or ``upscaled``."""
    model: str | None = None
    """Public model that generated it (``None`` for uploads)."""
    aspect: str = "landscape"
    """Aspect ratio keyword of a generated video."""
    available_at: float = 0.0
    """Simulated time from which it can be used (its job's finish; ``inf`` if it failed)."""
    prompt: str = ""
    """Generation prompt, if any."""
    seed: int = 0
    """Generation seed, if any."""
    project_id: str = ""
    """Project it was written to (the account's current project at the time)."""
    created: float = 0.0
    """Simulated creation time (upload, or job submission)."""

    @property
    def is_upload(self) -> bool:
        """``True`` for ``POST assets`` uploads (``likelyUpload``)."""
        return self.origin == "upload"


@dataclass(slots=True)
class Voice:
    """A user voice created with ``POST voices``."""

    ref: str
    """Reference id."""
    workflow_id: str
    """``workflowId``."""
    media_id: str
    """``mediaId``."""
    email: str
    """Owning account."""
    display_name: str
    """``displayName``."""
    base_voice: str
    """System preset it derives from."""
    dialog: str
    """Sample dialog."""
    voice_performance: str
    """Delivery style."""
    created: float
    """Simulated creation time."""
    deleted: bool = False
    """Deleted with ``DELETE voices/{ref}``."""


@dataclass(slots=True)
class Character:
    """A character created with ``POST characters``."""

    ref: str
    """Reference id."""
    entity_id: str
    """``entityId``."""
    email: str
    """Owning account."""
    display_name: str
    """``displayName``."""
    images: list[str]
    """Image reference ids (1–2)."""
    personality_notes: str | None = None
    """``personalityNotes``."""
    voice: str | None = None
    """Preset name or user voice ref, if any."""
    created: float = 0.0
    """Simulated creation time."""
    updated: float = 0.0
    """Simulated update time."""
    deleted: bool = False
    """Deleted with ``DELETE characters/{ref}``."""


@dataclass(slots=True)
class Library:
    """All assets, voices and characters, keyed by their store keys."""

    assets: dict[str, Asset] = field(default_factory=dict)
    """Media id → asset."""
    voices: dict[str, Voice] = field(default_factory=dict)
    """workflowId → voice."""
    characters: dict[str, Character] = field(default_factory=dict)
    """entityId → character."""
    projects: dict[str, list[str]] = field(default_factory=dict)
    """Account email → the projects it has written to (``projectId``), oldest first."""

    def note_project(self, email: str, project_id: str | None) -> None:
        """Remember that ``email`` has project ``project_id``."""
        known = self.projects.setdefault(email, [])
        if project_id and project_id not in known:
            known.append(project_id)

    def new_project_id(self, email: str) -> str:
        """A new deterministic ``projectId`` for ``email`` (remembered)."""
        known = self.projects.setdefault(email, [])
        project_id = str(uuid.uuid5(_PROJECTS, f"{email.lower()}:{len(known)}"))
        known.append(project_id)
        return project_id

    def add_asset(self, asset: Asset) -> None:
        """Store an asset (its ``project_id`` is the account's current project)."""
        self.note_project(asset.email, asset.project_id)
        self.assets[asset.name] = asset

    def remove_asset(self, name: str) -> Asset | None:
        """Forget an asset for good (DELETE assets/{email}); ``None`` if unknown."""
        return self.assets.pop(name, None)

    def account_assets(self, email: str) -> list[Asset]:
        """The account's assets, newest first."""
        found = [a for a in self.assets.values() if a.email == email]
        found.sort(key=lambda a: (a.created, a.name), reverse=True)
        return found

    def asset(self, ref: ParsedRef, now: float) -> Asset | None:
        """The asset ``ref`` points to if it exists, matches kind/account and is ready."""
        a = self.assets.get(ref.key)
        if a is None or a.kind != ref.kind or a.email != ref.email:
            return None
        return a if a.available_at <= now and not math.isinf(a.available_at) else None

    def voice(self, ref: ParsedRef) -> Voice | None:
        """The live user voice ``ref`` points to, or ``None``."""
        v = self.voices.get(ref.key)
        return v if v is not None and not v.deleted and v.email == ref.email else None

    def character(self, ref: ParsedRef) -> Character | None:
        """The live character ``ref`` points to, or ``None``."""
        c = self.characters.get(ref.key)
        return c if c is not None and not c.deleted and c.email == ref.email else None
