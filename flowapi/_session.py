"""FlowSession: configuration, lifecycle and the resource attributes (DESIGN §2)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import aiohttp
from yarl import URL

from flowapi._clock import Clock, RealClock
from flowapi._errors import FlowError
from flowapi._fake_clock import probe_fake_clock
from flowapi._media_policy import MediaPolicy, SafeResolver
from flowapi._polling import PollPolicy
from flowapi._retry import RetryBudget, RetryPolicy
from flowapi._transport import Timeouts, Transport
from flowapi._urls import check_base_url
from flowapi._version import __version__
from flowapi.resources.accounts import Accounts
from flowapi.resources.assets import Assets
from flowapi.resources.captcha import Captcha
from flowapi.resources.characters import Characters
from flowapi.resources.images import Images
from flowapi.resources.jobs import Jobs
from flowapi.resources.media import Media
from flowapi.resources.videos import Videos
from flowapi.resources.voices import Voices

if TYPE_CHECKING:
    from collections.abc import Collection

    from flowapi.journal import FailureCategory, Journal
    from flowapi.types.accounts import Account
    from flowapi.watch import JobWatcher, WatchMode

__all__ = ["BASE_URL_ENV", "DEFAULT_BASE_URL", "FlowSession"]

DEFAULT_BASE_URL = "https://api.useapi.net/v1/google-flow/"
"""The production API base (spec/README.md)."""

_TOKEN_ENV = "USEAPI_TOKEN"  # noqa: S105 - the variable name, not a secret
BASE_URL_ENV = "FLOWAPI_BASE_URL"
"""Environment variable naming the API base URL when ``base_url`` is not given (e.g. a
``flowapi fake-server`` or a proxy); the CLI's ``--base-url`` defaults to it too."""


def default_user_agent() -> str:
    """``flowapi/<version> python/<x.y> aiohttp/<version>`` (the API's edge rejects some
    default agents; supplement §1.1)."""
    py = f"{sys.version_info.major}.{sys.version_info.minor}"
    return f"flowapi/{__version__} python/{py} aiohttp/{aiohttp.__version__}"


class FlowSession:
    """An async session for the Google Flow API v1.

    ::

        async with flowapi.FlowSession() as flow:          # token: argument or USEAPI_TOKEN
            job = await flow.jobs.submit(flowapi.VideoParams(prompt="A fox in snow"))
            done = await flow.jobs.wait(job.jobid)
            await flow.media.download(done.media[0], "fox.mp4")

    Args:
        token: the useapi.net API token (``user:…``); default ``$USEAPI_TOKEN``.
        base_url: API base, default ``$FLOWAPI_BASE_URL`` or
            ``https://api.useapi.net/v1/google-flow/``; ``http://`` only for loopback (the
            fake).
        timeouts: connect / idle-read timeouts, see :class:`~flowapi.Timeouts`.
        retry: the per-call :class:`~flowapi.RetryPolicy`.
        retry_budget: the session-wide :class:`~flowapi.RetryBudget` (default 50 tokens,
            2/s).
        user_agent: the ``User-Agent`` header; default ``flowapi/<version> …``.
        http_session: an aiohttp ``ClientSession`` to use; it is not closed by this session.
        clock: time source. Default: the real clock, except that a session whose base URL
            is loopback follows the simulated clock a
            :class:`~flowapi.testing.FakeFlowServer` advertises at ``GET /_fake/clock``
            (read once when the session opens; pass ``clock=RealClock()`` to opt out).
        validate: check params locally before sending (``False`` sends anything: the API
            moves faster than SDKs).
        poll: default :class:`~flowapi.PollPolicy` for :meth:`Jobs.wait` and watchers.
        connection_limit: most simultaneous connections, default 64.
        media_allowlist: host names (``"media.corp.example"``) and networks
            (``"10.20.0.0/16"``) media downloads may reach although they are private —
            for internal mirrors. Default none: downloads go only to public addresses
            over ``https`` (``http``/loopback only when ``base_url`` itself is loopback).

    Raises:
        FlowError: no token was given and ``USEAPI_TOKEN`` is unset, or it holds whitespace,
            control or non-ASCII characters (the message never quotes it).
        ValueError: an unsafe ``base_url``.
    """

    def __init__(self, token: str | None = None, *, base_url: str | URL | None = None,
                 timeouts: Timeouts | None = None, retry: RetryPolicy | None = None,
                 retry_budget: RetryBudget | None = None, user_agent: str | None = None,
                 http_session: aiohttp.ClientSession | None = None, clock: Clock | None = None,
                 validate: bool = True, poll: PollPolicy | None = None,
                 connection_limit: int = 64, media_allowlist: Iterable[str] = ()) -> None:
        token = token if token is not None else os.environ.get(_TOKEN_ENV)
        if not token:
            raise FlowError(f"no API token: pass FlowSession(token=...) or set {_TOKEN_ENV} "
                            "(see https://useapi.net/docs/start-here/setup-useapi)")
        if not token.isascii() or not token.isprintable() or any(c.isspace() for c in token):
            # an HTTP header cannot carry it, and aiohttp's error would quote it
            raise FlowError("the API token contains whitespace, control or non-ASCII "
                            "characters; copy it again from https://useapi.net (it is not "
                            "shown here)")
        self._token = token
        if base_url is None:
            base_url = os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
        self.base_url = check_base_url(base_url)
        self.media_policy = MediaPolicy.build(base_url=self.base_url,
                                              allowlist=list(media_allowlist))
        """Where media downloads may go (see ``media_allowlist``)."""
        self.timeouts = timeouts or Timeouts()
        self.retry = retry or RetryPolicy()
        self.retry_budget = retry_budget or RetryBudget()
        self.user_agent = user_agent or default_user_agent()
        self._follow_fake_clock = clock is None
        self.clock: Clock = clock or RealClock()
        self.validate = validate
        self.poll = poll or PollPolicy()
        self.connection_limit = connection_limit
        self._external_http = http_session
        self._http: aiohttp.ClientSession | None = None
        self._media_http: aiohttp.ClientSession | None = None
        self._transport: Transport | None = None
        self._resources: dict[str, Any] = {}

    def __repr__(self) -> str:
        state = "open" if self._transport is not None else "closed"
        return f"FlowSession(base_url={str(self.base_url)!r}, {state})"

    async def __aenter__(self) -> Self:
        if self._transport is not None:
            raise RuntimeError("FlowSession is already open")
        if self._external_http is not None:
            http = self._external_http
        else:
            connector = aiohttp.TCPConnector(limit=self.connection_limit,
                                             keepalive_timeout=30.0)
            http = aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar(),
                                         trust_env=False)
        self._http = http
        if self._follow_fake_clock:
            try:
                self.clock = await probe_fake_clock(http, self.base_url) or self.clock
            except BaseException:  # cancelled while opening: do not leak our connector
                self._http = None
                if self._external_http is None:
                    await http.close()
                raise
        # media downloads get their own pool: its resolver refuses non-public addresses,
        # it never carries cookies or the token, and ignores proxy environment variables
        media_connector = aiohttp.TCPConnector(limit=self.connection_limit,
                                               keepalive_timeout=30.0,
                                               resolver=SafeResolver(self.media_policy))
        self._media_http = aiohttp.ClientSession(connector=media_connector,
                                                 cookie_jar=aiohttp.DummyCookieJar(),
                                                 trust_env=False)
        self._transport = Transport(http=http, base_url=self.base_url, token=self._token,
                                    user_agent=self.user_agent, timeouts=self.timeouts,
                                    retry=self.retry, budget=self.retry_budget,
                                    clock=self.clock, media_http=self._media_http,
                                    media_policy=self.media_policy)
        t = self._transport
        self._resources = {
            "accounts": Accounts(t, self), "captcha": Captcha(t, self),
            "assets": Assets(t, self), "images": Images(t, self), "videos": Videos(t, self),
            "voices": Voices(t, self), "characters": Characters(t, self),
            "jobs": Jobs(t, self), "media": Media(t, self),
        }
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP session (unless it was passed in). Idempotent."""
        http, self._http = self._http, None
        media_http, self._media_http = self._media_http, None
        self._transport = None
        self._resources = {}
        if media_http is not None:
            await media_http.close()
        if http is not None and self._external_http is None:
            await http.close()

    def _resource(self, name: str) -> Any:
        try:
            return self._resources[name]
        except KeyError:
            raise RuntimeError(
                f"FlowSession.{name} used outside 'async with FlowSession(...)': open the "
                "session first") from None

    @property
    def transport(self) -> Transport:
        """The open :class:`Transport` (raises ``RuntimeError`` when closed)."""
        if self._transport is None:
            raise RuntimeError("FlowSession used outside 'async with FlowSession(...)'")
        return self._transport

    @property
    def accounts(self) -> Accounts:
        """Google Flow accounts: ``create``, ``list``, ``get``, ``delete``."""
        return self._resource("accounts")  # type: ignore[no-any-return]

    @property
    def captcha(self) -> Captcha:
        """Captcha providers and statistics."""
        return self._resource("captcha")  # type: ignore[no-any-return]

    @property
    def assets(self) -> Assets:
        """Uploads of images and videos used as references."""
        return self._resource("assets")  # type: ignore[no-any-return]

    @property
    def images(self) -> Images:
        """Image generation and upscaling (synchronous)."""
        return self._resource("images")  # type: ignore[no-any-return]

    @property
    def videos(self) -> Videos:
        """Video generation, extend, upscale, GIF and concatenate (synchronous mode)."""
        return self._resource("videos")  # type: ignore[no-any-return]

    @property
    def voices(self) -> Voices:
        """System and user voices."""
        return self._resource("voices")  # type: ignore[no-any-return]

    @property
    def characters(self) -> Characters:
        """Reusable characters."""
        return self._resource("characters")  # type: ignore[no-any-return]

    @property
    def jobs(self) -> Jobs:
        """Async jobs: ``submit``, ``get``, ``wait``, ``list``."""
        return self._resource("jobs")  # type: ignore[no-any-return]

    @property
    def media(self) -> Media:
        """Downloads of generated media (signed URLs; no token is ever sent there)."""
        return self._resource("media")  # type: ignore[no-any-return]

    def watch(self, *, max_in_flight: int = 16, mode: WatchMode = "listing",
              poll: PollPolicy | None = None, listing_interval: float | None = None,
              job_timeout: float | None = None, max_concurrent_requests: int = 32,
              resubmit_moderated: int = 0,
              journal: Journal | str | os.PathLike[str] | None = None,
              webhook_url: str | None = None, learn_generation_times: bool = True,
              retry_failed: Collection[FailureCategory | str] = (),
              resubmit_in_doubt: bool = False, verify_callbacks: bool = False,
              max_credits: float | None = None, credit_account: Account | None = None,
              ) -> JobWatcher[Any]:
        """A :class:`~flowapi.JobWatcher` on this session (use with ``async with``).

        ``journal`` may be a :class:`~flowapi.journal.Journal` (you open and close it; a
        :class:`~flowapi.journal.PostgresJournal` lets several workers share one batch), a
        path to an sqlite file or a ``postgresql://`` URL (the watcher opens and closes
        it), or ``None`` (``FLOWAPI_JOURNAL`` when set, else in memory). See
        :class:`~flowapi.JobWatcher` for the other arguments.
        """
        from flowapi.watch import JobWatcher

        return JobWatcher(self, max_in_flight=max_in_flight, mode=mode,
                          poll=poll or self.poll, listing_interval=listing_interval,
                          job_timeout=job_timeout,
                          max_concurrent_requests=max_concurrent_requests,
                          resubmit_moderated=resubmit_moderated, journal=journal,
                          webhook_url=webhook_url,
                          learn_generation_times=learn_generation_times,
                          retry_failed=retry_failed, resubmit_in_doubt=resubmit_in_doubt,
                          verify_callbacks=verify_callbacks, max_credits=max_credits,
                          credit_account=credit_account)
