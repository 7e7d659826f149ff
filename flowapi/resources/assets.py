"""``flow.assets``: uploads (POST /assets[/{email}]), fresh signed URLs
(GET /assets/{mediaGenerationId}), and the account's projects and media
(GET /assets/projects/{email}, GET /assets/media/{email}, DELETE /assets/{email}).
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Unpack

import anyio

from flowapi._errors import APIError, InvalidParamsError, ResponseValidationError
from flowapi._options import RequestOptions
from flowapi._transport import encode_email, ref_email
from flowapi.resources._base import Resource
from flowapi.types.assets import (
    AssetMediaList,
    AssetProjectsPage,
    AssetsDeleted,
    AssetUpload,
    AssetUrl,
)

__all__ = [
    "DELETE_BATCH",
    "IMAGE_MAX_BYTES",
    "VIDEO_MAX_BYTES",
    "AssetDeleteCall",
    "AssetDeleteReport",
    "Assets",
    "sniff_content_type",
]

DELETE_BATCH = 100
"""Most ``mediaGenerationIds`` per DELETE /assets/{email} call (api-update-2026-h2 §4)."""

#: ``user:{userid}-email:{hex}-{kind}:{id}`` — loosely: ids are opaque (supplement §1.3) and
#: the docs print them abridged (``6a6f...``), so only the prefix and the kind are checked.
_MEDIA_ID = re.compile(r"^user:[^-\s]+-email:\S*?-(?P<kind>image|video|voice|character):\S+$")
_DOC_GET = "GET assets/{mediaGenerationId}"
_DOC_DELETE = "DELETE assets/{email}"


def _check_media_id(value: object, doc: str, *, email: str | None = None) -> str:
    """A ``user:{uid}-email:{hex}-image|video:{id}`` id, else ``InvalidParamsError``."""
    if not isinstance(value, str):
        raise InvalidParamsError(f"mediaGenerationId must be a string, got {value!r}",
                                 field="mediaGenerationId", doc_section=doc)
    m = _MEDIA_ID.match(value)
    if m is None:
        raise InvalidParamsError(
            f"{value!r} is not a mediaGenerationId (user:{{userid}}-email:{{hex}}-image:{{id}} "
            "or -video:{id}); take ids from a listing or a generation result",
            field="mediaGenerationId", doc_section=doc)
    if m.group("kind") not in ("image", "video"):
        raise InvalidParamsError(
            f"mediaGenerationId type must be 'image' or 'video', got '{m.group('kind')}' "
            "(characters and voices have their own routes)", field="mediaGenerationId",
            doc_section=doc)
    owner = ref_email(value)
    if email is not None and owner is not None and owner.lower() != email.lower():
        raise InvalidParamsError(f"{value} belongs to account {owner}, not {email}; delete "
                                 "it through its own account", field="mediaGenerationIds",
                                 doc_section=doc)
    return value


@dataclass(slots=True)
class AssetDeleteCall:
    """One DELETE /assets/{email} call of :meth:`Assets.delete` (≤100 ids, all or nothing).

    Attributes:
        ids: the ids sent in this call, in order.
        result: the 200 body, or ``None`` when the call failed or was not sent.
        error: the error of a failed call (nothing in it was deleted), else ``None``.
        sent: ``False`` for calls skipped after an earlier failure.
    """

    ids: list[str]
    result: AssetsDeleted | None = None
    error: APIError | None = None
    sent: bool = False

    @property
    def ok(self) -> bool:
        """``True`` when the call succeeded (its ids are gone)."""
        return self.result is not None


@dataclass(slots=True)
class AssetDeleteReport:
    """What :meth:`Assets.delete` did, one entry per call of at most 100 ids.

    Attributes:
        email: the account.
        calls: the calls in order; after a failure the remaining ones are not sent.
    """

    email: str
    calls: list[AssetDeleteCall] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """``True`` when every call succeeded."""
        return all(c.ok for c in self.calls)

    @property
    def deleted(self) -> list[str]:
        """Ids of the successful calls (deleted now or already gone before)."""
        return [i for c in self.calls if c.ok for i in c.ids]

    @property
    def not_deleted(self) -> list[str]:
        """Ids of failed or unsent calls: still on the account (or unknown); rerun them."""
        return [i for c in self.calls if not c.ok for i in c.ids]

    @property
    def error(self) -> APIError | None:
        """The first call's error, if any."""
        return next((c.error for c in self.calls if c.error is not None), None)

IMAGE_MAX_BYTES = 20 * 1024 * 1024
"""Largest image upload: 20 MB = 20,971,520 bytes (POST /assets › 400 example)."""
VIDEO_MAX_BYTES = 100 * 1024 * 1024
"""Largest video upload (video/mp4): 100 MB (supplement §11)."""

_BY_SUFFIX = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
              ".webp": "image/webp", ".mp4": "video/mp4"}


def sniff_content_type(data: bytes) -> str | None:
    """The upload Content-Type from the file's magic bytes: PNG, JPEG, WebP or MP4."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if len(data) >= 12 and data[4:8] == b"ftyp":
        return "video/mp4"
    return None


class Assets(Resource):
    """Uploads for ``startImage``, ``endImage``, ``referenceImage_N``, ``referenceVideo_1``,
    ``reference_N`` and characters."""

    async def upload(self, source: bytes | str | os.PathLike[str], *, email: str | None = None,
                     content_type: str | None = None,
                     **options: Unpack[RequestOptions]) -> AssetUpload:
        """POST /assets[/{email}]: upload raw bytes and return the reference id.

        Args:
            source: the file's bytes or a path to a ``.png``, ``.jpg``/``.jpeg``, ``.webp``
                or ``.mp4`` file.
            email: the account to upload to; omitted → the only account, or load balancing.
            content_type: override the detected type (``image/png``, ``image/jpeg``,
                ``image/webp``, ``video/mp4``).
            options: ``extra_query``/``extra_headers`` (:class:`~flowapi.RequestOptions`).

        Returns:
            :class:`~flowapi.types.AssetUpload`; pass ``upload.media_generation_id`` as
            ``startImage`` etc. ``upload.email`` is the account it landed on.

        Raises:
            InvalidParamsError: missing file, empty, unknown type, or over the limit
                (images 20 MB, videos 100 MB) — checked before sending.
            BadRequestError: rejected by the server (e.g. content policy).
        """
        name = "bytes"
        if isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
        else:
            path = Path(source)
            name = str(path)
            try:
                data = await anyio.Path(path).read_bytes()
            except FileNotFoundError:
                raise InvalidParamsError(f"image file not found: {name}") from None
            except OSError as exc:
                raise InvalidParamsError(f"cannot read {name}: {exc.strerror}") from exc
            if content_type is None:
                content_type = sniff_content_type(data) or _BY_SUFFIX.get(path.suffix.lower())
        if not data:
            raise InvalidParamsError(f"{name} is empty",
                                     doc_section="POST /assets/email › Request Body")
        content_type = content_type or sniff_content_type(data)
        if content_type not in ("image/png", "image/jpeg", "image/webp", "video/mp4"):
            raise InvalidParamsError(
                f"{name}: unsupported type {content_type or 'unknown'}; upload PNG, JPEG, "
                "WebP or MP4", doc_section="POST /assets/email")
        limit = VIDEO_MAX_BYTES if content_type == "video/mp4" else IMAGE_MAX_BYTES
        if len(data) > limit:
            raise InvalidParamsError(f"{name}: {len(data)} bytes is over the {limit}-byte "
                                     f"limit for {content_type}",
                                     doc_section="POST /assets/email")
        segments = ("assets",) if email is None else ("assets", encode_email(email))
        return await self._t.request("POST", segments, AssetUpload, data=data,
                                     content_type=content_type, email=email, **options)

    async def get(self, media_generation_id: str,
                  **options: Unpack[RequestOptions]) -> AssetUrl:
        """GET /assets/{mediaGenerationId}: a fresh signed URL (~6 h) for an image or video
        (api-update-2026-h2 §1).

        Media URLs in job records expire after ~6 h while the records live 7 days; this
        re-signs the bytes of a generation or an upload. :meth:`Media.download` calls it by
        itself when a media item's URL has expired.

        Args:
            media_generation_id: ``user:{userid}-email:{hex}-image:{id}`` or ``-video:``
                (URL-encoded on the wire). The id names the account; there is no ``email``.
            options: :class:`~flowapi.RequestOptions`.

        Returns:
            :class:`~flowapi.types.AssetUrl` (``url``, ``media_generation_id``).

        Raises:
            InvalidParamsError: not an image/video id (nothing sent; checked unless the
                session has ``validate=False``).
            BadRequestError: 400 unparseable id or wrong type.
            PermissionDeniedError: 403, the id belongs to another useapi.net user.
            NotFoundError: 404, account or media not found (deleted).
            ServerError: 502, Google could not resolve the URL (retried).
            SessionExpiredError: 596, re-add the account.
        """
        if self._session.validate:
            _check_media_id(media_generation_id, _DOC_GET)
        return await self._t.request("GET", ("assets", encode_email(media_generation_id)),
                                     AssetUrl, **options)

    async def list_projects(self, email: str, *, cursor: str | None = None,
                            **options: Unpack[RequestOptions]) -> AssetProjectsPage:
        """GET /assets/projects/{email}?cursor=: one page of the account's projects that
        hold generated media (api-update-2026-h2 §2). See :meth:`iter_projects`.

        Args:
            email: the account (URL-encoded on the wire).
            cursor: the previous page's ``cursor``, unchanged; ``None`` for page 1.
            options: :class:`~flowapi.RequestOptions`.

        Returns:
            :class:`~flowapi.types.AssetProjectsPage`; counts are per call.

        Raises:
            BadRequestError: 400 invalid email or cursor. NotFoundError: 404 account.
            SessionExpiredError: 596.
        """
        params = {"cursor": cursor} if cursor else None
        return await self._t.request("GET", ("assets", "projects", encode_email(email)),
                                     AssetProjectsPage, params=params, **options)

    async def iter_projects(self, email: str, *, cursor: str | None = None,
                            **options: Unpack[RequestOptions],
                            ) -> AsyncIterator[AssetProjectsPage]:
        """Every page of GET /assets/projects/{email}, following ``cursor`` until the last
        page (no cursor, or ``truncated: false``). A page may stop early on the server's
        time budget; GETs are retried. Merge per-call counts with
        :meth:`AssetProjectsPage.merge`::

            pages = [p async for p in flow.assets.iter_projects("me@gmail.com")]
            projects = AssetProjectsPage.merge(pages)

        Raises:
            ResponseValidationError: the server repeated a cursor (would loop forever).
            Otherwise as :meth:`list_projects`.
        """
        seen: set[str] = set()
        while True:
            page = await self.list_projects(email, cursor=cursor, **options)
            yield page
            if not page.has_more or page.cursor is None:
                return
            if page.cursor in seen:
                raise ResponseValidationError(
                    f"GET assets/projects/{email}: the server returned cursor "
                    f"{page.cursor!r} twice; stopping instead of looping")
            seen.add(page.cursor)
            cursor = page.cursor

    async def list_media(self, email: str, *, project_id: str | None = None,
                         **options: Unpack[RequestOptions]) -> AssetMediaList:
        """GET /assets/media/{email}?projectId=: one project's media — its timeline and the
        uploads attached to it — newest first, no paging (api-update-2026-h2 §3).

        A large project can take 20 s or more; the idle-read timeout (default 60 s) covers
        it.

        Args:
            email: the account.
            project_id: ``projectId`` from :meth:`list_projects`; ``None`` → the project
                the account currently writes to.
            options: :class:`~flowapi.RequestOptions` (e.g. ``extra_query={"limit": "50"}``
                if the REST route gains the MCP tool's filters).

        Returns:
            :class:`~flowapi.types.AssetMediaList` (``media``, ``likely_uploads``).

        Raises:
            BadRequestError / NotFoundError: unknown account or project. SessionExpiredError.
        """
        params = {"projectId": project_id} if project_id else None
        return await self._t.request("GET", ("assets", "media", encode_email(email)),
                                     AssetMediaList, params=params, **options)

    async def delete(self, email: str, media_generation_ids: Sequence[str], *,
                     confirm: bool, project_id: str | None = None,
                     **options: Unpack[RequestOptions]) -> AssetDeleteReport:
        """DELETE /assets/{email}: **permanently** remove images/videos from the Google
        account (api-update-2026-h2 §4). useapi keeps no copy; download first.

        Ids are explicit only (take them from :meth:`list_media`; the SDK never builds the
        list from a filter). They are checked locally first (shape, image/video type,
        owner account = ``email``), de-duplicated, and sent in calls of at most
        :data:`DELETE_BATCH` = 100. Each call is all-or-nothing on the server; after a
        failed call the remaining calls are not sent, and the report says which ids are
        still there. Ids already deleted are accepted, so rerunning after a lost response
        is safe.

        Args:
            email: the account that owns the media.
            media_generation_ids: 1 or more ids.
            confirm: must be ``True``: an explicit acknowledgement that deletion is
                permanent.
            project_id: optional ``projectId`` sent along (the server resolves media by
                origin anyway; do not rely on it to scope the deletion).
            options: :class:`~flowapi.RequestOptions`, applied to every call.

        Returns:
            :class:`AssetDeleteReport`, one :class:`AssetDeleteCall` per call. Check
            ``report.ok``; ``report.error`` holds the first failure (not raised, because
            earlier calls have already deleted their ids).

        Raises:
            InvalidParamsError: ``confirm`` is not ``True``, no ids, or (unless the session
                has ``validate=False``) a bad id (nothing sent).
        """
        if confirm is not True:
            raise InvalidParamsError("DELETE assets/{email} is permanent: pass confirm=True",
                                     doc_section=_DOC_DELETE)
        if isinstance(media_generation_ids, str):
            raise InvalidParamsError("media_generation_ids must be a list of ids, not one "
                                     "string", field="mediaGenerationIds",
                                     doc_section=_DOC_DELETE)
        checked = (_check_media_id(i, _DOC_DELETE, email=email) if self._session.validate
                   else i for i in media_generation_ids)
        ids = list(dict.fromkeys(checked))
        if not ids:
            raise InvalidParamsError("mediaGenerationIds needs at least one id",
                                     field="mediaGenerationIds", doc_section=_DOC_DELETE)
        report = AssetDeleteReport(email=email)
        report.calls = [AssetDeleteCall(ids=ids[i:i + DELETE_BATCH])
                        for i in range(0, len(ids), DELETE_BATCH)]
        for call in report.calls:
            body: dict[str, object] = {"mediaGenerationIds": call.ids}
            if project_id:
                body["projectId"] = project_id
            call.sent = True
            try:
                call.result = await self._t.request(
                    "DELETE", ("assets", encode_email(email)), AssetsDeleted, json=body,
                    **options)
            except APIError as exc:
                call.error = exc
                break
        return report
