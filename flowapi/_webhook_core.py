"""The request logic of :mod:`flowapi.webhooks`, independent of any web framework.

One function decides every callback (path token, method, content type, size, decode, offer
to watchers) and returns a status and body; the aiohttp handler and the ASGI app only
translate requests and responses. Supplement §4: callbacks are unsigned, may repeat and
may come out of order — they are triggers, never results.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import msgspec

from flowapi.resources.jobs import normalize_listing_id
from flowapi.types import decode
from flowapi.types.jobs import Job

if TYPE_CHECKING:
    from flowapi.journal import Journal

__all__ = [
    "CALLBACK_PATH_PREFIX",
    "DEFAULT_MAX_BODY_BYTES",
    "Attachment",
    "Notifiable",
    "Reply",
    "Router",
    "TooLarge",
    "WebhookStats",
    "error_reply",
    "is_complete_record",
]

log = logging.getLogger("flowapi.webhooks")

CALLBACK_PATH_PREFIX = "/flowapi/webhook/"
"""Path prefix of every callback URL; the secret token is the last path segment."""

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
"""Default body cap, bytes (1 MiB). A video job record is a few KiB; image records that
embed ``encodedImage`` can be larger — raise ``max_body_bytes`` if you send ``replyUrl`` with
image jobs. Bigger bodies answer 413 (the watcher's resync still finds the job)."""

_MAX_JOBID = 1024
_FORWARDED_MEMORY = 8192  # finished job ids remembered to absorb duplicate callbacks
_CROSS_LOOP_TIMEOUT = 5.0  # seconds to wait for notify() on another thread's loop


def is_complete_record(job: Job) -> bool:
    """Whether a decoded callback payload can stand in for ``GET /jobs/{jobid}``
    (issue 12 §9: "the JSON payload shape matches GET /jobs/jobId", supplement §4).

    ``True`` for a ``failed`` record with a job id, and for a ``completed`` one with at
    least one media item, every item having a URL or inline data (fewer items than the
    request's ``count`` is what the GET would say too: moderated variations are dropped,
    and the docs' own examples abridge). Anything else (``created``/``started``, a record
    without media or with an item lacking both) is only a trigger: read the job.
    Pure; the receiver has already checked the secret path token.
    """
    if not job.jobid or not job.is_finished:
        return False
    if job.status != "completed":
        return True
    media = job.media
    return bool(media) and all(item.url or item.encoded for item in media)


class Notifiable(Protocol):
    """What a receiver feeds: anything with :meth:`JobWatcher.notify`'s signature."""

    def notify(self, job: Job | str) -> bool:
        """Handle one callback; return ``True`` if the job is known to this object."""
        ...


@dataclass(slots=True)
class WebhookStats:
    """Counters of one :class:`~flowapi.webhooks.WebhookReceiver` (requests it handled).

    Invariant: ``received == accepted + unknown + rejected``.

    Attributes:
        received: HTTP requests handled (any method, path or body).
        accepted: valid job records that an attached watcher knows (answered 200). This
            includes ``created``/``started`` updates, duplicates and late callbacks, which
            the watcher ignores.
        unknown: valid job records for a job no attached watcher knows (answered 202):
            another client's job, a watcher that already left, or a callback that raced
            the submit's 201 response.
        rejected: requests answered 4xx (wrong token, method, content type, size, body)
            or 500 (a watcher's ``notify`` raised, or the receiver's journal could not
            record the callback; logged at WARNING), and ASGI requests whose client
            disconnected mid-body (no answer sent).
        duplicates: of ``accepted``, repeated ``completed``/``failed`` callbacks for a job
            already handed to its watcher; absorbed without waking the watcher again.
        recorded: valid job records written to the receiver's ``journal`` (0 without
            one); a failed write is not counted here but in ``rejected`` (answered 500).
    """

    received: int = 0
    accepted: int = 0
    unknown: int = 0
    rejected: int = 0
    duplicates: int = 0
    recorded: int = 0


@dataclass(slots=True, frozen=True)
class Reply:
    """A framework-neutral HTTP answer."""

    status: int
    body: bytes
    content_type: str = "application/json"
    allow: str | None = None


NOT_FOUND = Reply(404, b"404: Not Found", "text/plain")
_OK = Reply(200, b'{"ok":true}')
_UNKNOWN = Reply(202, b'{"ok":true}')


class TooLarge(Exception):
    """Raised by a body reader once the body exceeds its limit."""


def error_reply(status: int, message: str, *, allow: str | None = None) -> Reply:
    """A JSON ``{"error": message}`` reply."""
    return Reply(status, msgspec.json.encode({"error": message}), allow=allow)


class Router:
    """Token check, validation, counters, the journal write and the fan-out to attached
    watchers."""

    def __init__(self, token: str, max_body_bytes: int,
                 journal: Journal | None = None) -> None:
        self._token_bytes = token.encode("ascii")
        self.max_body_bytes = max_body_bytes
        self.journal = journal
        self.stats = WebhookStats()
        self.watchers: dict[int, tuple[Notifiable, asyncio.AbstractEventLoop | None]] = {}
        self._forwarded: dict[str, None] = {}

    def path_ok(self, path: str) -> bool:
        """``path`` ends with ``/flowapi/webhook/<token>`` (token compared in constant time)."""
        head, _, segment = path.rpartition("/")
        ok_head = (head + "/").endswith(CALLBACK_PATH_PREFIX)
        ok_token = hmac.compare_digest(segment.encode("utf-8", "surrogateescape"),
                                       self._token_bytes)
        return ok_head and ok_token

    def reject(self, reply: Reply, why: str) -> Reply:
        """Count and log (DEBUG; never the path) a refused request."""
        self.stats.rejected += 1
        log.debug("webhook callback rejected (%d): %s", reply.status, why)
        return reply

    async def handle(self, method: str, path: str, headers: Mapping[str, str],
                     read: Callable[[int], Awaitable[bytes]]) -> Reply:
        """Decide one request. ``headers`` must look up lower-case names; ``read(limit)``
        returns the body or raises :class:`TooLarge` past ``limit`` bytes."""
        self.stats.received += 1
        if not self.path_ok(path):
            return self.reject(NOT_FOUND, "wrong path or token")
        if method != "POST":
            return self.reject(error_reply(405, "method not allowed; POST a job record",
                                           allow="POST"), f"method {method[:16]!r}")
        ctype = headers.get("content-type")
        if ctype is not None and not _is_json(ctype):
            return self.reject(error_reply(415, "Content-Type must be application/json"),
                               "not a JSON content type")
        length = headers.get("content-length")
        if length is not None:
            if not length.strip().isdigit():
                return self.reject(error_reply(400, "bad Content-Length"),
                                   "bad Content-Length")
            if int(length) > self.max_body_bytes:
                return self.reject(error_reply(413, "body too large"),
                                   f"Content-Length {int(length)} > {self.max_body_bytes}")
        try:
            body = await read(self.max_body_bytes)
        except TooLarge:
            return self.reject(error_reply(413, "body too large"),
                               f"body > {self.max_body_bytes} bytes")
        try:
            job = decode(Job, body)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            return self.reject(error_reply(400, "body is not a JSON job record"),
                               f"not a job record ({exc})")
        jobid = job.jobid
        if not jobid or len(jobid) > _MAX_JOBID:
            return self.reject(error_reply(400, "body is not a JSON job record"),
                               "job record without a usable jobid")
        return await self._route(job)

    async def _record(self, job: Job) -> bool:
        """Write ``job`` to the journal (if any) before anything is answered: ``False``
        when the write failed (logged at WARNING without the path or the body)."""
        if self.journal is None:
            return True
        # the same jobid and bytes a watcher's notify() records for a job it does not
        # know, so the two writes coincide (a PostgresJournal then NOTIFYs once)
        jobid = normalize_listing_id(job.jobid)
        try:
            await self.journal.record_callback(jobid, msgspec.json.encode(job))
        except Exception as exc:
            log.warning("webhook: recording the callback of job %r (%r) in the journal "
                        "failed; answering 500: %s: %s", jobid, job.status[:32],
                        type(exc).__name__, exc)
            return False
        self.stats.recorded += 1
        return True

    async def _route(self, job: Job) -> Reply:
        jobid, status = job.jobid, job.status[:32]
        if not await self._record(job):
            # the attached watchers still hear of it (their own jobs must not wait for a
            # redelivery that may never come); the 500 asks the sender to deliver it again
            await self._offer(job)
            return self.reject(error_reply(500, "internal error"),
                               "the journal could not record the callback")
        if job.is_finished and jobid in self._forwarded:
            self.stats.accepted += 1
            self.stats.duplicates += 1
            log.debug("webhook callback for job %r (%r): duplicate, absorbed", jobid, status)
            return _OK
        known = await self._offer(job)
        if known is None:
            return self.reject(error_reply(500, "internal error"), "a watcher's notify() raised")
        if not known:
            self.stats.unknown += 1
            log.debug("webhook callback for unknown job %r (%r)", jobid, status)
            return _UNKNOWN
        self.stats.accepted += 1
        log.debug("webhook callback for job %r (%r)", jobid, status)
        if job.is_finished:
            self._forwarded[jobid] = None
            if len(self._forwarded) > _FORWARDED_MEMORY:
                del self._forwarded[next(iter(self._forwarded))]
        return _OK

    async def _offer(self, job: Job) -> bool | None:
        """Offer ``job`` to every attached watcher: known to any? ``None`` if one raised
        and none knew it."""
        known = failed = False
        try:
            here: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:  # pragma: no cover - a non-asyncio event loop
            here = None
        for watcher, loop in list(self.watchers.values()):
            try:
                if loop is not None and here is not None and loop is not here \
                        and loop.is_running():
                    future = asyncio.run_coroutine_threadsafe(_call_notify(watcher, job), loop)
                    async with asyncio.timeout(_CROSS_LOOP_TIMEOUT):
                        known = await asyncio.wrap_future(future) or known
                else:
                    known = watcher.notify(job) or known
            except Exception:
                failed = True
                log.warning("webhook: %s.notify() raised for job %r", type(watcher).__name__,
                            job.jobid, exc_info=True)
        return None if failed and not known else known


class Attachment:
    """Returned by :meth:`WebhookReceiver.attach`; ``with`` it to detach on exit."""

    __slots__ = ("_router", "_watcher")

    def __init__(self, router: Router, watcher: Notifiable) -> None:
        self._router = router
        self._watcher = watcher

    def __enter__(self) -> Notifiable:
        return self._watcher

    def __exit__(self, *exc: object) -> None:
        self._router.watchers.pop(id(self._watcher), None)


async def _call_notify(watcher: Notifiable, job: Job) -> bool:
    return watcher.notify(job)


def _is_json(content_type: str) -> bool:
    """``application/json``, ``application/*+json``, ``text/json`` or ``text/plain``: the
    sender's Content-Type is undocumented (supplement §4), and a JSON string POSTed without
    an explicit header is labelled ``text/plain`` by common HTTP clients (fetch)."""
    media = content_type.split(";", 1)[0].strip().lower()
    return (media in ("application/json", "text/json", "text/plain", "")
            or (media.startswith("application/") and media.endswith("+json")))
