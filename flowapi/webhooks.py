"""Receiver for ``replyUrl`` job callbacks that wakes :class:`~flowapi.JobWatcher` s.

The API POSTs a job's record to ``replyUrl`` on its status changes: "webhook URL for job
status callbacks. Receives POST requests with job status updates (created, started,
completed, failed). The JSON payload shape matches GET /jobs/jobId response" (POST /videos ›
Async & callbacks; supplement §4). Callbacks are not signed and their delivery is not
guaranteed (no documented retries; duplicates possible), so a callback is only a *trigger*:
the watcher re-reads ``GET /jobs/{jobid}`` before it yields anything, and a listing resync
catches callbacks that never arrive (DESIGN §6, ``mode="webhook"``).

The receiver authenticates callbacks with a secret path token: the callback URL is
``<base>/flowapi/webhook/<token>``, the token is compared in constant time, and a wrong or
missing token answers 404 like any unknown route. Serve it in one of three ways::

    receiver = WebhookReceiver()

    # 1. standalone aiohttp server (loopback by default; a tunnel/proxy makes it public)
    async with receiver.serve(port=8080, public_url="https://hooks.example.com") as url:
        async with flow.watch(mode="webhook", webhook_url=url) as watcher:
            receiver.attach(watcher)
            ...

    # 2. inside your aiohttp app
    app.router.add_post(receiver.path, receiver.aiohttp_handler)
    url = receiver.url_for("https://app.example.com")

    # 3. inside an ASGI app (FastAPI / Starlette)
    app.mount("/hooks", receiver.asgi_app)
    url = receiver.url_for("https://app.example.com/hooks")

Answers: 200 (an attached watcher knows the job), 202 (none does; counted in
:attr:`WebhookStats.unknown`), 400 (malformed JSON, not a job record, bad
``Content-Length``), 404 (wrong path or token), 405 (not POST), 413 (body over
``max_body_bytes``), 415 (a ``Content-Type`` other than JSON; ``text/plain`` and none
are tolerated since the sender's header is undocumented),
500 (a watcher's ``notify`` raised, or the ``journal`` write failed; logged at WARNING).
Rejections are logged at DEBUG on the ``flowapi.webhooks`` logger. Nothing is ever raised
into the web server.

**Several workers** (``uvicorn --workers N``, several hosts) share one
:class:`~flowapi.journal.PostgresJournal` (DESIGN §11), and a callback lands on whichever
worker the load balancer picks — often not the one whose watcher submitted the job. Give
each worker's receiver that journal: ``WebhookReceiver(journal=pg_journal)`` writes every
valid callback with :meth:`~flowapi.journal.Journal.record_callback` *before* answering, the
journal ``NOTIFY``-s the other workers, and the job's own watcher reads the record from the
journal and finishes the job (no extra API request for a complete record)::

    journal = PostgresJournal("postgresql://db/app", namespace="webapp")
    receiver = WebhookReceiver(journal=journal)
    app.mount("/hooks", receiver.asgi_app)
    async with flow.watch(mode="webhook", journal=journal,
                          webhook_url=receiver.url_for(public_url + "/hooks")) as watcher:
        receiver.attach(watcher)

The secret token never appears in a log line or a ``repr``, and the receiver never sees
the API token. Mind your *own* access log: aiohttp's and uvicorn's default access logs
print request paths, and the path carries the token.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from aiohttp import web
from yarl import URL

from flowapi._urls import is_loopback
from flowapi._webhook_asgi import ASGIReceive, ASGIScope, ASGISend, run_asgi
from flowapi._webhook_core import (
    CALLBACK_PATH_PREFIX,
    DEFAULT_MAX_BODY_BYTES,
    Attachment,
    Notifiable,
    Router,
    TooLarge,
    WebhookStats,
    error_reply,
)

if TYPE_CHECKING:
    from flowapi.journal import Journal

__all__ = [
    "CALLBACK_PATH_PREFIX",
    "DEFAULT_MAX_BODY_BYTES",
    "ASGIReceive",
    "ASGIScope",
    "ASGISend",
    "Attachment",
    "Notifiable",
    "WebhookReceiver",
    "WebhookStats",
]

log = logging.getLogger("flowapi.webhooks")

_MAX_REPLY_URL = 1024  # replyUrl: "Maximum length 1024 characters" (supplement §4)
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{16,256}")
_WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})  # noqa: S104 - compared, never bound here


class WebhookReceiver:
    """Receives ``replyUrl`` callbacks and offers each job record to attached watchers.

    Args:
        token: the secret path token (URL-safe alphabet ``[A-Za-z0-9_-]``, 16–256
            characters); default ``secrets.token_urlsafe(32)`` (43 characters, 256 bits).
            Pass a fixed one only if the callback URL must survive a restart (jobs resumed
            from a journal still carry the old ``replyUrl``); keep it out of source code.
        max_body_bytes: largest accepted body, bytes (default 1 MiB); larger → 413.
        journal: a :class:`~flowapi.journal.Journal` — typically the
            :class:`~flowapi.journal.PostgresJournal` the watchers of every worker share —
            in which every valid job record is kept (:meth:`Journal.record_callback
            <flowapi.journal.Journal.record_callback>`, one row per job id, the latest
            body) before the receiver answers and before the attached watchers are offered
            it; default ``None`` (nothing written). A PostgreSQL journal ``NOTIFY``-s the
            other workers when the body changed (a repeated callback wakes nobody twice),
            so a callback for another worker's job reaches that job's watcher. When the
            write raises, the attached watchers are still offered the record and the
            answer is 500 (:attr:`WebhookStats.rejected`; logged at WARNING with the job
            id and the error, never the path or the body): a sender that retries delivers
            it again, and otherwise the owning watcher's resync finds the job. The
            journal must be usable on the event loop that serves the receiver (open it on
            that loop; the watchers usually share it). You open and close it.

    Raises:
        ValueError: a ``token`` outside the alphabet or length range, or
            ``max_body_bytes`` < 1.

    Each valid callback is decoded as a :class:`~flowapi.types.Job`, written to ``journal``
    if one was given, and offered to every attached watcher's
    :meth:`~flowapi.JobWatcher.notify`, which decides what it means: a finished status
    triggers one ``GET /jobs/{jobid}``; ``created``/``started``,
    duplicates and late callbacks are ignored. A repeated ``completed``/``failed`` callback
    for a job already handed over is absorbed here (:attr:`WebhookStats.duplicates`), so
    a duplicate never costs a second GET. Run the receiver on the event loop of the
    watchers it feeds; a callback arriving on another asyncio loop (a web server in a
    thread) is handed to the watcher's loop thread-safely.
    """

    def __init__(self, *, token: str | None = None,
                 max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
                 journal: Journal | None = None) -> None:
        if token is None:
            token = secrets.token_urlsafe(32)
        elif not _TOKEN_RE.fullmatch(token):
            raise ValueError("webhook token must be 16-256 characters of [A-Za-z0-9_-] "
                             "(default: secrets.token_urlsafe(32))")
        if max_body_bytes < 1:
            raise ValueError("max_body_bytes must be >= 1")
        self._path = CALLBACK_PATH_PREFIX + token
        self._router = Router(token, max_body_bytes, journal)
        self._url: str | None = None

    def __repr__(self) -> str:
        serving = "serving" if self._url is not None else "not serving"
        return (f"WebhookReceiver(path={CALLBACK_PATH_PREFIX + '<secret>'!r}, "
                f"watchers={len(self._router.watchers)}, {serving})")

    @property
    def stats(self) -> WebhookStats:
        """Request counters (:class:`WebhookStats`), live."""
        return self._router.stats

    @property
    def journal(self) -> Journal | None:
        """The journal every valid callback is recorded in before answering, or ``None``."""
        return self._router.journal

    @property
    def max_body_bytes(self) -> int:
        """Largest accepted request body, bytes; larger bodies answer 413."""
        return self._router.max_body_bytes

    # -- URLs ----------------------------------------------------------------------------

    @property
    def path(self) -> str:
        """The callback path, ``/flowapi/webhook/<token>`` (secret: do not log it)."""
        return self._path

    @property
    def url(self) -> str | None:
        """The full callback URL while :meth:`serve` runs (secret), else ``None``."""
        return self._url

    def url_for(self, base: str) -> str:
        """The callback URL under an externally visible ``base`` (secret: do not log it).

        ``base`` is the public URL at which the receiver's routes are reachable: the
        server root for :meth:`serve` or :meth:`aiohttp_handler` behind a tunnel or
        reverse proxy (``https://hooks.example.com``), or the mount point of
        :meth:`asgi_app` (``https://app.example.com/hooks``). Returns ``base`` +
        :attr:`path`, for ``flow.watch(mode="webhook", webhook_url=...)``.

        Raises:
            ValueError: ``base`` is not an absolute ``http(s)`` URL without query or
                fragment, or the result exceeds ``replyUrl``'s 1024 characters.
        """
        try:
            parsed = URL(base)
        except ValueError:
            parsed = URL()
        if (parsed.scheme not in ("http", "https") or not parsed.host or parsed.query_string
                or parsed.fragment):
            raise ValueError("webhook base URL must be an absolute http(s) URL without query "
                             "or fragment, e.g. 'https://hooks.example.com'")
        url = base.rstrip("/") + self._path
        if len(url) > _MAX_REPLY_URL:
            raise ValueError(f"callback URL is {len(url)} characters; replyUrl allows at "
                             f"most {_MAX_REPLY_URL}")
        return url

    # -- watchers ------------------------------------------------------------------------

    def attach(self, watcher: Notifiable) -> Attachment:
        """Offer every callback to ``watcher`` (a :class:`~flowapi.JobWatcher`, or anything
        with its ``notify(job_or_jobid) -> bool``) from now on. Idempotent.

        Attach before the first submit so no callback is missed (a missed one costs only
        lag: the watcher's listing resync finds the job). Call it on the watcher's event
        loop. The result may be used as ``with receiver.attach(watcher): ...`` to detach
        on exit.
        """
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        self._router.watchers[id(watcher)] = (watcher, loop)
        return Attachment(self._router, watcher)

    def detach(self, watcher: Notifiable) -> None:
        """Stop offering callbacks to ``watcher`` (no error if it was not attached)."""
        self._router.watchers.pop(id(watcher), None)

    @property
    def watchers(self) -> tuple[Notifiable, ...]:
        """The attached watchers, in attach order."""
        return tuple(w for w, _ in self._router.watchers.values())

    # -- front ends -----------------------------------------------------------------------

    async def aiohttp_handler(self, request: web.Request) -> web.StreamResponse:
        """An ``aiohttp.web`` request handler for your own application::

            app.router.add_post(receiver.path, receiver.aiohttp_handler)
            webhook_url = receiver.url_for("https://app.example.com")

        Any request whose path ends with ``/flowapi/webhook/<token>`` is served (so
        sub-applications and proxy prefixes need no configuration); others answer 404.
        Streams at most ``max_body_bytes`` regardless of the app's ``client_max_size``.
        Never raises (a disconnect mid-body or a bug answers 400, logged at DEBUG).
        """
        async def read(limit: int) -> bytes:
            buf = bytearray()
            while True:
                chunk = await request.content.read(limit + 1 - len(buf))
                if not chunk:
                    return bytes(buf)
                buf += chunk
                if len(buf) > limit:
                    raise TooLarge

        router = self._router
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            reply = await router.handle(request.method, request.path, headers, read)
        except Exception:
            log.debug("webhook request failed", exc_info=True)
            reply = router.reject(error_reply(400, "bad request"), "request could not be read")
        return web.Response(status=reply.status, body=reply.body,
                            content_type=reply.content_type,
                            headers={"Allow": reply.allow} if reply.allow else None)

    async def asgi_app(self, scope: ASGIScope, receive: ASGIReceive, send: ASGISend) -> None:
        """A pure ASGI 3 application (no Starlette needed), e.g. for FastAPI::

            app.mount("/hooks", receiver.asgi_app)
            webhook_url = receiver.url_for("https://app.example.com/hooks")

        ``http``: any path ending with ``/flowapi/webhook/<token>`` is served, whatever
        the mount point or ``root_path``; others answer 404. ``lifespan``: startup and
        shutdown are acknowledged as complete (nothing to set up), so it also runs as a
        top-level app (``uvicorn module:receiver.asgi_app``). ``websocket``: closed with
        code 1008. Any other scope type raises ``ValueError``, as ASGI asks.
        """
        await run_asgi(self._router, scope, receive, send)

    @asynccontextmanager
    async def serve(self, host: str = "127.0.0.1", port: int = 0, *,
                    public_url: str | None = None,
                    allow_public: bool = False) -> AsyncIterator[str]:
        """Run a standalone ``aiohttp.web`` server for the callbacks; yields the callback URL.

        ::

            async with receiver.serve() as url:
                async with flow.watch(mode="webhook", webhook_url=url) as watcher:
                    receiver.attach(watcher)

        Args:
            host: bind address, default ``127.0.0.1``. Loopback only (``127.0.0.0/8``,
                ``::1``, ``localhost``) unless ``allow_public``.
            port: TCP port, default 0 (an ephemeral port; the URL carries the real one).
            public_url: the externally visible base URL when a tunnel or reverse proxy
                fronts this server (useapi.net cannot call a loopback address); the
                yielded URL is then :meth:`url_for` of it. Required for wildcard binds
                (``0.0.0.0``, ``::``).
            allow_public: permit a non-loopback bind. Callbacks are authenticated only by
                the path token: prefer a TLS-terminating proxy in front.

        Yields:
            The full callback URL (secret), ``http://<host>:<port>/flowapi/webhook/<token>``
            or ``<public_url>/flowapi/webhook/<token>``; also :attr:`url` meanwhile.

        Raises:
            ValueError: a non-loopback ``host`` without ``allow_public=True``, a wildcard
                bind without ``public_url``, or a bad ``public_url``.
            OSError: the address cannot be bound.

        The server has no access log (paths carry the token) and answers 404 on every
        other path. It stops when the block exits.
        """
        if not is_loopback(host) and not allow_public:
            raise ValueError(f"refusing to bind the webhook receiver to non-loopback host "
                             f"{host!r}; pass allow_public=True (and front it with TLS)")
        if host in _WILDCARD_HOSTS and public_url is None:
            raise ValueError(f"binding {host!r} needs public_url=... (the URL the API "
                             "should call)")
        url = self.url_for(public_url) if public_url is not None else None
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.aiohttp_handler)
        runner = web.AppRunner(app, access_log=None, handle_signals=False,
                               shutdown_timeout=1.0)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
            bound_port = int(runner.addresses[0][1])
            if url is None:
                shown = f"[{host.strip('[]')}]" if ":" in host else host
                url = f"http://{shown}:{bound_port}{self._path}"
            previous, self._url = self._url, url
            log.debug("webhook receiver listening on %s port %d", host, bound_port)
            try:
                yield url
            finally:
                self._url = previous
        finally:
            await runner.cleanup()

