"""The one translation of aiohttp/transport exceptions into the error tree (DESIGN §4).

Both the API request loop (:mod:`flowapi._transport`) and media downloads
(:mod:`flowapi.resources.media`) turn what aiohttp raised into an
:class:`~flowapi.APIConnectionError` / :class:`~flowapi.APITimeoutError` (or, for a
download whose body was cut short, a :class:`~flowapi.DownloadError`) here.

The token must be unreachable from any exception (issue 11 §3): aiohttp's exceptions carry
``request_info.headers`` (with ``Authorization``) and response objects, so they are never
chained. The returned error's ``__cause__`` is a plain :class:`ConnectionError` /
:class:`TimeoutError` that only holds the original's type name and (token-redacted) text,
and ``__suppress_context__`` is set. Callers raise the result *outside* their ``except``
block, so ``__context__`` does not point at the aiohttp exception either::

    failure = None
    try:
        ...
    except (aiohttp.ClientError, TimeoutError) as exc:
        failure = translate_client_error(exc, ...)
    if failure is not None:
        raise failure
"""

from __future__ import annotations

import aiohttp

from flowapi._errors import APIConnectionError, APITimeoutError, DownloadError, FlowError
from flowapi._media_policy import RefusedAddressError

__all__ = ["TRANSPORT_ERRORS", "redact", "redact_bytes", "scrubbed_cause",
           "translate_client_error"]

#: What aiohttp (and asyncio timeouts) raise for network failures.
TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (aiohttp.ClientError, TimeoutError)

#: Shortest string treated as a secret by the redaction (real tokens are much longer).
_MIN_SECRET = 8


def redact(text: str, token: str | None) -> str:
    """Replace every occurrence of ``token`` in ``text`` with ``***`` (tokens shorter than 8
    characters are not real API tokens and are left alone, so they cannot mangle text)."""
    if token and len(token) >= _MIN_SECRET and token in text:
        return text.replace(token, "***")
    return text


def redact_bytes(raw: bytes, token: str | None) -> bytes:
    """:func:`redact` for raw bytes (response bodies)."""
    secret = token.encode() if token else b""
    if len(secret) >= _MIN_SECRET and secret in raw:
        return raw.replace(secret, b"***")
    return raw


def scrubbed_cause(exc: BaseException, token: str | None = None) -> BaseException:
    """A stand-in for ``exc`` safe to chain: the same kind (timeout or connection), its type
    name and its text with ``token`` redacted, and no attributes, chain or traceback."""
    kind: type[BaseException] = TimeoutError if isinstance(exc, TimeoutError) else ConnectionError
    name = f"{type(exc).__module__}.{type(exc).__qualname__}"
    return kind(redact(f"{name}: {exc}", token))


def translate_client_error(exc: BaseException, *, method: str, url: str, connect: float,
                           read: float, total: float | None = None, download: bool = False,
                           token: str | None = None) -> FlowError:
    """Turn an aiohttp/timeout exception into the error tree, with a scrubbed cause.

    Args:
        exc: what aiohttp raised (a ``ClientError`` or ``TimeoutError``).
        method: HTTP method, e.g. ``"GET"``.
        url: the URL to show (downloads: without the signed query string).
        connect: the connect timeout in force, seconds (for the message).
        read: the idle-read timeout in force, seconds (for the message).
        total: the total per-request timeout in force, seconds, or ``None``.
        download: a media download: a body cut short becomes a retryable
            :class:`~flowapi.DownloadError`.
        token: a secret to redact from the texts.

    Returns:
        :class:`~flowapi.APITimeoutError` (connect: ``request_sent=False``; idle-read or
        total: ``True``), :class:`~flowapi.APIConnectionError` (cannot connect:
        ``request_sent=False``; broke afterwards: ``True``) or, with ``download=True``, a
        :class:`~flowapi.DownloadError` for a payload error (retryable) or a host whose
        addresses the media policy refuses (not retryable).
    """
    where = f"{method} {url}"
    err: FlowError
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        err = APITimeoutError(f"{where}: connect timed out after {connect:.0f}s; check the "
                              "network or the URL", method=method, url=url,
                              request_sent=False)
    elif isinstance(exc, aiohttp.SocketTimeoutError):
        err = APITimeoutError(f"{where}: no data for {read:.0f}s (idle-read timeout); the "
                              "server stalled", method=method, url=url, request_sent=True)
    elif isinstance(exc, TimeoutError):
        limit = f" of {total:.0f}s" if total is not None else ""
        err = APITimeoutError(f"{where}: did not complete within its deadline{limit} (total "
                              "timeout); the server is too slow or trickling", method=method,
                              url=url, request_sent=True)
    elif download and isinstance(exc, aiohttp.ClientConnectorError) \
            and isinstance(exc.os_error, RefusedAddressError):
        err = DownloadError(f"refusing to download from {url!r}: {exc.os_error}", url=url)
    elif isinstance(exc, aiohttp.ClientConnectorError):
        err = APIConnectionError(redact(f"{where}: cannot connect ({exc.os_error}); check the "
                                        "network or the URL", token),
                                 method=method, url=url, request_sent=False)
    elif download and isinstance(exc, aiohttp.ClientPayloadError):
        err = DownloadError(redact(f"{where}: the body was cut short or could not be decoded "
                                   f"({exc}); try again", token), url=url, retryable=True)
    else:
        err = APIConnectionError(redact(f"{where}: connection broke: {type(exc).__name__}: "
                                        f"{exc}", token),
                                 method=method, url=url, request_sent=True)
    err.__cause__ = scrubbed_cause(exc, token)
    err.__suppress_context__ = True
    return err
