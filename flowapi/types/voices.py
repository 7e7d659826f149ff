"""POST/GET/DELETE /voices — system voice presets and custom (user) voices (supplement §6)."""

from __future__ import annotations

from ._base import LenientStrEnum, ResponseStruct
from .common import CaptchaParams

__all__ = [
    "SYSTEM_VOICE_NAMES",
    "Voice",
    "VoiceDeleted",
    "VoiceList",
    "VoiceParams",
    "VoiceSource",
]

SYSTEM_VOICE_NAMES: tuple[str, ...] = (
    "Achird", "Achernar", "Algieba", "Algenib", "Alnilam",
    "Aoede", "Autonoe", "Callirrhoe", "Charon", "Despina",
    "Enceladus", "Erinome", "Fenrir", "Gacrux", "Iapetus",
    "Kore", "Laomedeia", "Leda", "Orus", "Puck",
    "Pulcherrima", "Rasalgethi", "Sadachbia", "Sadaltager", "Schedar",
    "Sulafat", "Umbriel", "Vindemiatrix", "Zephyr", "Zubenelgenubi",
)  # fmt: skip
"""The 30 system voice presets (POST /videos › Voice narration). Case-sensitive for
POST /voices ``voice``, case-insensitive in ``referenceAudio_N`` and characters. Samples:
``https://www.gstatic.com/aitestkitchen/voices/samples/{Name}.wav``."""


class VoiceSource(LenientStrEnum):
    """``source`` of a voice."""

    SYSTEM = "system"
    """One of the 30 presets (``sampleUrl``, no expiry)."""
    USER = "user"
    """A custom voice created with POST /voices (``audioUrl``, ~6 h)."""
    UNKNOWN = "UNKNOWN"
    """A source this SDK does not know yet."""


class Voice(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """A system or user voice (GET /voices entries, GET /voices/{ref}, POST /voices 200).

    One permissive shape: system voices fill ``voice`` (the preset name), ``displayName`` and
    ``sampleUrl``; user voices fill the reference-id, ``workflowId``, ``mediaId``,
    ``baseVoice``, ``dialog``, ``voicePerformance``, ``createTime`` and (single GET / create)
    ``audioUrl``.
    """

    voice: str = ""
    """System preset name (``"Achernar"``) or user reference-id
    (``user:…-voice:{workflowId}-mid:{mediaId}``) — what ``referenceAudio_N`` takes."""
    source: str = ""
    """``system`` or ``user``; see :attr:`kind`."""
    display_name: str = ""
    """Label shown in lists."""
    sample_url: str = ""
    """System voices: static gstatic sample URL (no expiry)."""
    workflow_id: str = ""
    """User voices: workflow id."""
    media_id: str = ""
    """User voices: media id."""
    base_voice: str = ""
    """User voices: the preset it was built on."""
    dialog: str = ""
    """User voices: the spoken sample text (1–120 chars)."""
    voice_performance: str = ""
    """User voices: delivery style (1–120 chars)."""
    create_time: str = ""
    """User voices: ISO-8601 creation time."""
    audio_url: str = ""
    """User voices: signed preview URL (~6 h); may be absent on a transient failure and is
    never resolved by the list call."""

    @property
    def kind(self) -> VoiceSource:
        """:attr:`source` as a :class:`VoiceSource`; inferred from the fields when absent."""
        kind = VoiceSource.parse(self.source or None)
        if kind is VoiceSource.UNKNOWN and not self.source:
            if self.workflow_id or self.voice.startswith("user:"):
                return VoiceSource.USER
            if self.sample_url or self.voice in SYSTEM_VOICE_NAMES:
                return VoiceSource.SYSTEM
        return kind

    @property
    def url(self) -> str | None:
        """The playable URL: ``audioUrl`` (user) or ``sampleUrl`` (system), else ``None``."""
        return self.audio_url or self.sample_url or None


class VoiceList(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """GET /voices 200 (``email`` required, ``source`` optional)."""

    voices: tuple[Voice, ...] = ()
    """System and/or user voices (user ``audioUrl`` not resolved here)."""


class VoiceDeleted(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """DELETE /voices/{ref} 200 — user voices only; characters using it become orphan-voice."""

    deleted: bool = False
    """``true``."""
    workflow_id: str = ""
    """Workflow id of the deleted voice."""
    voice: str = ""
    """Echo of the reference-id."""


class VoiceParams(CaptchaParams, kw_only=True):
    """Body of POST /voices (supplement §6.1). Captcha required; no load balancing."""

    email: str
    """Required. Account to create the voice on."""
    voice: str
    """Required. Base preset, one of :data:`SYSTEM_VOICE_NAMES` (case-sensitive)."""
    display_name: str
    """Required. Label, 1–200 characters."""
    dialog: str
    """Required. Text spoken in the sample, 1–120 characters."""
    voice_performance: str
    """Required. Delivery style, 1–120 characters."""
