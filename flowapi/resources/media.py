"""``flow.media``: download generated media and save base64 results (DESIGN §2).

Signed media URLs live on Google's hosts, never the API origin, so downloads never carry
the ``Authorization`` header. Downloads stream into a temp file and are renamed into place;
the timeout is an idle-read timeout (a slow but live transfer is fine, a stalled one is
not).
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

from flowapi._errors import APIConnectionError, APITimeoutError, FlowError, InvalidParamsError
from flowapi._files import atomic_write_stream
from flowapi._urls import is_loopback
from flowapi.resources._base import Resource
from flowapi.types.media import MediaItem

__all__ = ["DownloadError", "Media"]

log = logging.getLogger("flowapi")

_CHUNK = 256 * 1024
#: Base64 characters decoded per step when saving encoded results (multiple of 4).
_B64_STEP = 4 * 256 * 1024


class DownloadError(FlowError):
    """A media download failed: bad URL, HTTP error, truncated body or size cap.

    Attributes:
        url: the URL without its query string (signed URLs carry credentials).
        status: the HTTP status, if a response arrived.
        retryable: ``True`` when trying again may work: the body was cut short, or the
            signed URL answered 4xx/5xx (for 4xx, fetch the job again for fresh URLs).
            ``False`` for a refused URL or a body over ``max_bytes``.
    """

    def __init__(self, message: str, *, url: str, status: int | None = None,
                 retryable: bool = False) -> None:
        super().__init__(message)
        self.url = url
        self.status = status
        self.retryable = retryable


def _redacted(url: URL) -> str:
    return str(url.with_query(None).with_fragment(None))


def check_media_url(url: str | URL) -> URL:
    """Validate a media URL: ``https://``, or ``http://`` to a loopback host (the fake).

    Raises:
        DownloadError: any other scheme (``file:``, ``ftp:``, ``data:`` …) or no host.
    """
    try:
        u = URL(str(url))
        host = u.host
        shown = _redacted(u)
    except (ValueError, UnicodeError, TypeError):
        shown = str(url).split("?", 1)[0][:200]
        raise DownloadError(f"refusing to download from {shown!r}: not a valid URL",
                            url=shown) from None
    if host and not _valid_host(host):
        raise DownloadError(f"refusing to download from {shown!r}: invalid host name",
                            url=shown)
    if u.scheme == "https" and host:
        return u
    if u.scheme == "http" and host and is_loopback(host):
        return u
    raise DownloadError(f"refusing to download from {shown!r}: only https:// media "
                        "URLs are accepted (http:// only on loopback)", url=shown)


def _valid_host(host: str) -> bool:
    """A DNS name with non-empty labels of letters, digits and ``-``, or an IP address."""
    if ":" in host:  # IPv6 literal
        return all(c in "0123456789abcdefABCDEF:." for c in host.strip("[]"))
    labels = host.rstrip(".").split(".")
    return all(0 < len(label) <= 63 and label.replace("-", "").isalnum() and label.isascii()
               for label in labels)


class Media(Resource):
    """Downloads of media items and URLs, and writing of base64 results."""

    async def download(self, media: MediaItem | str | URL, path: str | os.PathLike[str], *,
                       thumbnail: bool = False, read_timeout: float | None = None,
                       max_bytes: int = 2 * 1024**3) -> Path:
        """Stream ``media`` to ``path`` (temp file + atomic rename) and return the path.

        Args:
            media: a :class:`~flowapi.types.MediaItem` (its ``url``, or its base64
                ``encoded`` data when it has no URL), or a URL string.
            path: destination file; parent directories are created.
            thumbnail: download the item's ``thumbnail_url`` instead.
            read_timeout: idle-read timeout in seconds (default ``Timeouts.download_read``).
            max_bytes: refuse bodies larger than this, default 2 GiB.

        Returns:
            The destination path.

        Raises:
            DownloadError: bad scheme, HTTP status ≥ 400, a body shorter than its
                Content-Length (truncated), or over ``max_bytes``. Nothing is left at
                ``path``.
            APIConnectionError: the connection failed or stalled.
        """
        dest = Path(path)
        if isinstance(media, (str, URL)):
            url_value: str | None = str(media)
            encoded = None
        else:
            url_value = getattr(media, "thumbnail_url" if thumbnail else "url", None)
            encoded = None if thumbnail else getattr(media, "encoded", None)
        if not url_value:
            if encoded:
                await self.save_base64(encoded, dest)
                return dest
            raise InvalidParamsError("this media item has no URL and no inline data to save")
        url = check_media_url(url_value)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=self._t.timeouts.connect,
                                        sock_read=read_timeout or self._t.timeouts.download_read)
        headers = {"User-Agent": self._t.user_agent}
        shown = _redacted(url)
        try:
            async with self._t.http.get(url, headers=headers, timeout=timeout,
                                        allow_redirects=True, max_redirects=5,
                                        ssl=True) as resp:
                if resp.status >= 400:
                    raise DownloadError(f"GET {shown} → {resp.status}: signed media URLs "
                                        "expire after ~6-24 h; fetch the job again "
                                        "(flow.jobs.get) for fresh URLs", url=shown,
                                        status=resp.status, retryable=True)
                expected = resp.content_length
                if expected is not None and expected > max_bytes:
                    raise DownloadError(f"GET {shown}: {expected} bytes exceeds max_bytes="
                                        f"{max_bytes}", url=shown, status=resp.status)
                written = await atomic_write_stream(
                    dest, _checked_chunks(resp, expected, max_bytes, shown))
        except aiohttp.ConnectionTimeoutError as exc:
            raise APITimeoutError(f"GET {shown}: connect timed out", url=shown,
                                  request_sent=False) from exc
        except (aiohttp.SocketTimeoutError, TimeoutError) as exc:
            raise APITimeoutError(f"GET {shown}: download stalled (idle-read timeout)",
                                  url=shown) from exc
        except aiohttp.ClientPayloadError as exc:
            raise DownloadError(f"GET {shown}: the body was cut short ({exc}); try again",
                                url=shown, retryable=True) from exc
        except aiohttp.ClientError as exc:
            raise APIConnectionError(f"GET {shown}: {type(exc).__name__}: {exc}",
                                     url=shown) from exc
        except (UnicodeError, ValueError) as exc:  # e.g. a host name IDNA cannot encode
            raise DownloadError(f"GET {shown}: unusable URL ({exc})", url=shown) from exc
        log.debug("downloaded %s → %s (%d bytes)", shown, dest, written)
        return dest

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
