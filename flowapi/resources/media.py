"""``flow.media``: download generated media and save base64 results (DESIGN §2).

Signed media URLs live on Google's hosts, never the API origin, so downloads never carry
the ``Authorization`` header. A hostile server chooses these URLs, so every URL and every
redirect hop passes the session's :class:`~flowapi._media_policy.MediaPolicy` (``https``
only, no loopback/private/link-local/metadata addresses; issue 11 §2), and the downloads
use their own connection pool whose resolver refuses such addresses.

Downloads stream into a temp file and are renamed into place only once the body is known
to be whole: its length matches ``Content-Length`` when the body is not content-encoded,
and the container's own structure (MP4 boxes, JPEG/PNG/GIF end markers) is complete
(:mod:`flowapi._media_check`). gzip/deflate-encoded bodies are decoded. The timeouts are an
idle-read timeout (a slow but live transfer is fine, a stalled one is not) and an optional
total timeout.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
from yarl import URL

from flowapi._errors import DownloadError, FlowError, InvalidParamsError
from flowapi._files import atomic_write_stream
from flowapi._media_check import media_problem
from flowapi._media_policy import MediaPolicy, shown_url
from flowapi._net_errors import TRANSPORT_ERRORS, translate_client_error
from flowapi.resources._base import Resource
from flowapi.types.media import MediaItem

__all__ = ["MAX_REDIRECTS", "DownloadError", "Media", "check_media_url"]

log = logging.getLogger("flowapi")

_CHUNK = 256 * 1024
_MEDIA_EXPIRED = ("signed media URLs expire after ~6 h; pass the media item (or its "
                  "mediaGenerationId) so flow.media.download can re-sign it via "
                  "GET assets/{mediaGenerationId}")
_THUMBNAIL_EXPIRED = ("signed thumbnail URLs expire after ~6 h and no route re-signs a "
                      "thumbnail (GET assets/{mediaGenerationId} re-signs the media itself); "
                      "re-read the job (flow.jobs.get) in case it carries fresh URLs, else "
                      "skip the thumbnail")
#: Media-host statuses of an expired or revoked signed URL: re-sign once and retry.
_EXPIRED = frozenset({403, 404})
#: Base64 characters decoded per step when saving encoded results (multiple of 4).
_B64_STEP = 4 * 256 * 1024
#: Most redirects followed by one download; each hop is checked like the first URL.
MAX_REDIRECTS = 5
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
#: Content-Encoding values that mean "the bytes are the file" (Content-Length is its size).
_IDENTITY = frozenset({"", "identity"})
#: Content-Encoding values aiohttp always decodes (others need optional packages).
_DECODED = frozenset({"gzip", "x-gzip", "deflate"})


def check_media_url(url: str | URL, policy: MediaPolicy | None = None) -> URL:
    """Validate a media URL against ``policy`` (default: the strictest one — ``https`` to a
    public host only).

    Raises:
        DownloadError: a scheme other than ``https`` (``file:``, ``ftp:``, ``data:`` …; and
            ``http:`` unless to loopback while the session talks to a loopback server),
            no host, or a loopback/private/link-local IP address.
    """
    return (policy or MediaPolicy()).check_url(url)


class Media(Resource):
    """Downloads of media items and URLs, and writing of base64 results."""

    async def download(self, media: MediaItem | str | URL, path: str | os.PathLike[str], *,
                       thumbnail: bool = False, read_timeout: float | None = None,
                       total_timeout: float | None = None,
                       max_bytes: int = 2 * 1024**3, media_generation_id: str | None = None,
                       refresh: bool = True) -> Path:
        """Stream ``media`` to ``path`` (temp file + atomic rename) and return the path.

        Signed URLs expire after ~6 h while job records live 7 days. When the media host
        answers 403 or 404 and the item's ``mediaGenerationId`` is known, the URL is
        re-signed once through GET /assets/{mediaGenerationId}
        (:meth:`Assets.get <flowapi.resources.assets.Assets.get>`, api-update-2026-h2 §1)
        and the download is tried again, so results of old jobs stay downloadable.

        Args:
            media: a :class:`~flowapi.types.MediaItem` (its ``url``, or its base64
                ``encoded`` data when it has no URL), or a URL string.
            path: destination file; parent directories are created.
            thumbnail: download the item's ``thumbnail_url`` instead (never refreshed:
                the route re-signs the media itself, not its thumbnail).
            read_timeout: idle-read timeout in seconds (default ``Timeouts.download_read``).
            total_timeout: seconds the whole download may take, redirects included (default
                ``Timeouts.download_total``: none).
            max_bytes: refuse bodies larger than this (after decoding), default 2 GiB.
            media_generation_id: the id to refresh a URL string with (a ``MediaItem``
                carries its own).
            refresh: ``False`` turns the refresh off.

        Returns:
            The destination path.

        Raises:
            DownloadError: a refused URL or redirect hop (scheme, loopback/private/
                link-local/metadata address, more than :data:`MAX_REDIRECTS` redirects), an
                HTTP status ≥ 400 (after the one refresh), a body that is not whole (shorter
                than its Content-Length, or an MP4/JPEG/PNG/GIF whose structure is cut
                short: ``retryable``), or over ``max_bytes``. Nothing is left at ``path``.
            APIStatusError: the refresh itself failed (e.g. 404: the media was deleted).
            APIConnectionError: the connection failed or stalled
                (:class:`~flowapi.APITimeoutError` for the idle-read or total timeout).
        """
        dest = Path(path)
        if isinstance(media, (str, URL)):
            url_value: str | None = str(media)
            encoded = None
        else:
            url_value = getattr(media, "thumbnail_url" if thumbnail else "url", None)
            encoded = None if thumbnail else getattr(media, "encoded", None)
            if media_generation_id is None and not thumbnail:
                media_generation_id = getattr(media, "media_generation_id", None) or None
        if not url_value:
            if encoded:
                await self.save_base64(encoded, dest)
                return dest
            if not (refresh and media_generation_id):
                raise InvalidParamsError("this media item has no URL and no inline data to "
                                         "save")
            url_value = await self._fresh_url(media_generation_id, None)
        if thumbnail:
            return await self._fetch(url_value, dest, read_timeout, total_timeout, max_bytes,
                                     expired_hint=_THUMBNAIL_EXPIRED)
        try:
            return await self._fetch(url_value, dest, read_timeout, total_timeout, max_bytes)
        except DownloadError as exc:
            if not (refresh and media_generation_id and exc.status in _EXPIRED):
                raise
            fresh = await self._fresh_url(media_generation_id, exc)
        return await self._fetch(fresh, dest, read_timeout, total_timeout, max_bytes)

    async def _fresh_url(self, media_generation_id: str, cause: DownloadError | None) -> str:
        """A newly signed URL for ``media_generation_id`` (GET /assets/{id})."""
        why = f"{cause.status} from the media host" if cause is not None else "no URL"
        log.debug("download: %s; re-signing %s via GET assets/{id}", why, media_generation_id)
        fresh = await self._session.assets.get(media_generation_id)
        if not fresh.url:
            raise DownloadError(f"GET assets/{media_generation_id} returned no url",
                                url="", status=cause.status if cause else None)
        return fresh.url

    async def _fetch(self, url_value: str, dest: Path, read_timeout: float | None,
                     total_timeout: float | None, max_bytes: int,
                     expired_hint: str | None = None) -> Path:
        """One download of ``url_value`` (every redirect hop checked by the policy)."""
        policy = self._t.media_policy
        url = policy.check_url(url_value)
        timeouts = self._t.timeouts
        read = read_timeout or timeouts.download_read
        total = total_timeout if total_timeout is not None else timeouts.download_total
        timeout = aiohttp.ClientTimeout(total=total, sock_connect=timeouts.connect,
                                        sock_read=read)
        headers = {"User-Agent": self._t.user_agent, "Accept-Encoding": "gzip, deflate"}
        http = self._t.media_http
        shown = shown_url(url)
        failure: FlowError | None = None
        written = 0
        try:
            for _hop in range(MAX_REDIRECTS + 1):
                async with http.get(url, headers=headers, timeout=timeout,
                                    allow_redirects=False, ssl=True) as resp:
                    if resp.status in _REDIRECT_STATUSES:
                        url = _next_hop(url, resp, policy, shown)
                        shown = shown_url(url)
                        continue
                    written = await self._save(resp, dest, shown, max_bytes,
                                               expired_hint or _MEDIA_EXPIRED)
                    break
            else:
                raise DownloadError(f"GET {shown}: more than {MAX_REDIRECTS} redirects; "
                                    "refusing to follow further", url=shown)
        except TRANSPORT_ERRORS as exc:
            failure = translate_client_error(exc, method="GET", url=shown,
                                             connect=timeouts.connect, read=read, total=total,
                                             download=True)
        except (UnicodeError, ValueError) as exc:  # e.g. a host name IDNA cannot encode
            failure = DownloadError(f"GET {shown}: unusable URL ({type(exc).__name__})",
                                    url=shown)
        if failure is not None:
            raise failure
        log.debug("downloaded %s → %s (%d bytes)", shown, dest, written)
        return dest

    async def _save(self, resp: aiohttp.ClientResponse, dest: Path, shown: str,
                    max_bytes: int, expired_hint: str) -> int:
        """Stream a final (non-redirect) response into ``dest`` once it is known whole."""
        if resp.status >= 400:
            raise DownloadError(f"GET {shown} → {resp.status}: {expired_hint}",
                                url=shown, status=resp.status, retryable=True)
        encoding = resp.headers.get("Content-Encoding", "").strip().lower()
        if encoding not in _IDENTITY and encoding not in _DECODED:
            raise DownloadError(f"GET {shown}: unsupported Content-Encoding {encoding[:40]!r} "
                                "(asked for gzip, deflate or none)", url=shown,
                                status=resp.status)
        # Content-Length counts the encoded bytes; aiohttp hands us decoded ones
        expected = resp.content_length if encoding in _IDENTITY else None
        if expected is not None and expected > max_bytes:
            raise DownloadError(f"GET {shown}: {expected} bytes exceeds max_bytes={max_bytes}",
                                url=shown, status=resp.status)

        def whole(tmp: Path) -> None:
            problem = media_problem(tmp)
            if problem is not None:
                raise DownloadError(f"GET {shown}: the body is not whole: {problem}; try "
                                    "again", url=shown, status=resp.status, retryable=True)

        return await atomic_write_stream(
            dest, _checked_chunks(resp, expected, max_bytes, shown), check=whole)

    async def save_base64(self, data: str | bytes, path: str | os.PathLike[str]) -> Path:
        """Decode a base64 result (``encodedImage``, ``encodedGif``, ``encodedVideo``,
        ``rawBytes``) into ``path``, in steps so a ~20 MB body never needs a second copy,
        written atomically.

        Raises:
            InvalidParamsError: ``data`` is not valid base64.
        """
        dest = Path(path)
        text = data.encode("ascii", "ignore") if isinstance(data, str) else data
        text = b"".join(text.split())

        async def chunks() -> AsyncIterator[bytes]:
            for i in range(0, len(text), _B64_STEP):
                try:
                    yield base64.b64decode(text[i:i + _B64_STEP], validate=True)
                except binascii.Error as exc:
                    raise InvalidParamsError(f"not valid base64 data: {exc}") from exc

        await atomic_write_stream(dest, chunks())
        return dest


def _next_hop(url: URL, resp: aiohttp.ClientResponse, policy: MediaPolicy, shown: str) -> URL:
    """The checked target of a redirect response."""
    location = resp.headers.get("Location")
    if not location:
        raise DownloadError(f"GET {shown} → {resp.status} without a Location header",
                            url=shown, status=resp.status)
    try:
        target = url.join(URL(location))
    except (ValueError, UnicodeError, TypeError):
        raise DownloadError(f"GET {shown} → {resp.status}: unusable redirect target",
                            url=shown, status=resp.status) from None
    log.debug("GET %s → %d: redirected to %s", shown, resp.status, shown_url(target))
    return policy.check_url(target)


async def _checked_chunks(resp: aiohttp.ClientResponse, expected: int | None, max_bytes: int,
                          shown: str) -> AsyncIterator[bytes]:
    total = 0
    async for chunk in resp.content.iter_chunked(_CHUNK):
        total += len(chunk)
        if total > max_bytes:
            raise DownloadError(f"GET {shown}: body exceeds max_bytes={max_bytes}", url=shown)
        yield chunk
    if expected is not None and total != expected:
        raise DownloadError(f"GET {shown}: got {total} of {expected} bytes (truncated); "
                            "try again", url=shown, retryable=True)
