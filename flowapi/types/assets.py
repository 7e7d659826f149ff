"""The asset routes: POST /assets/{email} (upload), GET /assets/{mediaGenerationId} (signed
URL), GET /assets/projects/{email}, GET /assets/media/{email} and DELETE /assets/{email}.

The three Sep 1, 2026 routes have no published response shape (api-update-2026-h2 §2–§4):
their models are :class:`~flowapi.types.OpenStruct` — decoded leniently, every field has a
default, and keys the model does not name stay reachable in ``extra``.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ._base import OpenStruct, ResponseStruct

__all__ = [
    "AssetMedia",
    "AssetMediaList",
    "AssetProject",
    "AssetProjectsPage",
    "AssetUpload",
    "AssetUrl",
    "AssetsDeleted",
    "MediaGenerationIdRef",
]


class MediaGenerationIdRef(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """The nested ``{"mediaGenerationId": "..."}`` object of an upload response."""

    media_generation_id: str = ""
    """``user:{userid}-email:{hex_encoded_email}-image:{id}`` (or ``-video:``)."""


class AssetUpload(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """200 body of POST /assets/{email} (POST assets/email › Model; supplement §11 for video).

    The id is nested (``mediaGenerationId.mediaGenerationId``); read
    :attr:`media_generation_id`, which also accepts a flat string.
    """

    raw_media_generation_id: str | MediaGenerationIdRef | None = msgspec.field(
        name="mediaGenerationId", default=None
    )
    """``mediaGenerationId`` exactly as sent (an object holding the id, or a string)."""
    width: int | None = None
    """Width in pixels."""
    height: int | None = None
    """Height in pixels."""
    email: str = ""
    """Account the asset was uploaded to (useful when load balancing picked it)."""
    duration_seconds: float | None = None
    """``durationSeconds`` of an uploaded video; ``endFrameIndex_1`` defaults to
    ``min(round(durationSeconds × 24), 240)``."""
    media: dict[str, Any] | list[Any] | None = None
    """Optional ``media`` block of video uploads (shape undocumented; free-form)."""

    @property
    def media_generation_id(self) -> str:
        """The reference id to pass as ``startImage``, ``referenceImage_N``, ... (``""`` if
        absent)."""
        ref = self.raw_media_generation_id
        if isinstance(ref, MediaGenerationIdRef):
            return ref.media_generation_id
        return ref or ""

    @property
    def is_video(self) -> bool:
        """``True`` when the id is a video reference (``-video:``)."""
        return "-video:" in self.media_generation_id or self.duration_seconds is not None


class AssetUrl(OpenStruct, kw_only=True, frozen=True, rename="camel"):
    """200 body of GET /assets/{mediaGenerationId} (api-update-2026-h2 §1, June 14, 2026).

    ``{"url": "https://storage.googleapis.com/…", "mediaGenerationId": "user:…-image:…"}``.
    """

    url: str = ""
    """Signed Google Cloud Storage URL of the bytes; valid about 6 h — ask again rather than
    caching it."""
    media_generation_id: str = ""
    """Echo of the requested id."""


class AssetProject(OpenStruct, kw_only=True, frozen=True, rename="camel"):
    """One entry of ``projects[]`` in GET /assets/projects/{email} (api-update-2026-h2 §2).

    Counts cover generated images and videos only (uploads are listed by
    GET /assets/media/{email} as ``likelyUploads``) and are **per call**: merge pages by
    :attr:`project_id` with :meth:`AssetProjectsPage.merge`.
    """

    project_id: str = ""
    """``projectId`` (a UUID); pass it to ``flow.assets.list_media(project_id=…)``."""
    is_current: bool | None = None
    """``isCurrent``: the project useapi writes to on this account (``None`` if not sent)."""
    total: int = 0
    """Generated media counted in this page's slice of history."""
    by_type: dict[str, int] = msgspec.field(default_factory=dict)
    """``byType``: count per media type, e.g. ``{"IMAGE": 30, "VIDEO": 12}``."""
    oldest: str | None = None
    """ISO-8601 time of the oldest counted item, or ``None``."""
    newest: str | None = None
    """ISO-8601 time of the newest counted item, or ``None``."""


class AssetProjectsPage(OpenStruct, kw_only=True, frozen=True, rename="camel"):
    """200 body of GET /assets/projects/{email}?cursor= (api-update-2026-h2 §2; shape a
    reading: only ``cursor`` is an official name).

    Iterate every page with ``flow.assets.iter_projects(email)``.
    """

    projects: list[AssetProject] = msgspec.field(default_factory=list)
    """Projects seen in this page's slice of the account's generation history."""
    scanned: int | None = None
    """History entries scanned by this call."""
    truncated: bool | None = None
    """``True`` when more history remains (pass :attr:`cursor` back)."""
    cursor: str | None = None
    """Opaque continuation token for the next page; ``None`` on the last page."""
    stopped_on: str | None = None
    """``stoppedOn``: why the call stopped early (e.g. ``"timeBudget"``), or ``None``."""

    @property
    def has_more(self) -> bool:
        """``True`` when another page follows: a cursor is given and ``truncated`` is not
        ``False``."""
        return bool(self.cursor) and self.truncated is not False

    @staticmethod
    def merge(pages: list[AssetProjectsPage]) -> list[AssetProject]:
        """Account totals from per-call pages: per ``projectId`` sum ``total`` and
        ``byType``, keep the earliest ``oldest`` and the latest ``newest``; first-seen
        order."""
        merged: dict[str, AssetProject] = {}
        for page in pages:
            for p in page.projects:
                seen = merged.get(p.project_id)
                if seen is None:
                    merged[p.project_id] = p
                    continue
                by_type = dict(seen.by_type)
                for k, v in p.by_type.items():
                    by_type[k] = by_type.get(k, 0) + v
                oldest = min((d for d in (seen.oldest, p.oldest) if d), default=None)
                newest = max((d for d in (seen.newest, p.newest) if d), default=None)
                merged[p.project_id] = msgspec.structs.replace(
                    seen, total=seen.total + p.total, by_type=by_type, oldest=oldest,
                    newest=newest, is_current=seen.is_current or p.is_current)
        return list(merged.values())


class AssetMedia(OpenStruct, kw_only=True, frozen=True, rename="camel"):
    """One entry of ``media[]`` in GET /assets/media/{email} (api-update-2026-h2 §3)."""

    media_generation_id: str = ""
    """``mediaGenerationId``: usable with GET /assets/{id} and DELETE /assets/{email}."""
    likely_upload: bool | None = None
    """``likelyUpload``: Google stored it as an upload (``True``) or a Flow generation."""
    media_type: str | None = None
    """``mediaType``: ``IMAGE``, ``VIDEO`` or ``OTHER`` (a reading), or ``None``."""
    create_time: str | None = None
    """``createTime`` (ISO-8601), or ``None``."""

    @property
    def kind(self) -> str:
        """``"image"`` or ``"video"`` from the id (``-image:``/``-video:``), else the lower-cased
        :attr:`media_type`, else ``""``."""
        for kind in ("image", "video"):
            if f"-{kind}:" in self.media_generation_id:
                return kind
        return (self.media_type or "").lower()


class AssetMediaList(OpenStruct, kw_only=True, frozen=True, rename="camel"):
    """200 body of GET /assets/media/{email}?projectId= (api-update-2026-h2 §3): the
    project's timeline and the media attached to it (uploads), newest first; no paging."""

    media: list[AssetMedia] = msgspec.field(default_factory=list)
    """Every listed item."""
    likely_uploads: int | None = None
    """``likelyUploads``: how many entries are uploads."""


class AssetsDeleted(OpenStruct, kw_only=True, frozen=True, rename="camel"):
    """200 body of DELETE /assets/{email} (api-update-2026-h2 §4; shape a reading:
    ``{"deleted": [ids]}``). Deletion is permanent and all-or-nothing per call."""

    deleted: list[str] | int | bool | None = None
    """The deleted ids (the reading), or whatever count/flag the server sends instead."""
