"""``FakeFlowServer``: lifecycle of the two loopback origins (API and media) and admin routes."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

from aiohttp import web

from .._clock import ScaledClock
from .._fake_clock import CLOCK_PATH
from .._session import BASE_URL_ENV
from ._accounts import FakeAccount
from ._autojump import AutojumpClock, FakeClock
from ._faults import Faults, parse_faults
from ._http import WORLD, json_response
from ._middleware import make_middleware
from ._records import FakeJob, RecordedRequest
from ._routes_accounts import ROUTES as ACCOUNT_ROUTES
from ._routes_assets import ROUTES as ASSET_ROUTES
from ._routes_characters import ROUTES as CHARACTER_ROUTES
from ._routes_images import ROUTES as IMAGE_ROUTES
from ._routes_jobs import ROUTES as JOB_ROUTES
from ._routes_video_tools import ROUTES as VIDEO_TOOL_ROUTES
from ._routes_videos import ROUTES as VIDEO_ROUTES
from ._routes_voices import ROUTES as VOICE_ROUTES
from ._webhooks import Webhooks
from ._world import World

__all__ = ["DEFAULT_TOKEN", "FakeFlowServer", "describe_fake", "run_fake_server"]

DEFAULT_TOKEN = "user:1234-fake-token"  # noqa: S105 - the fake's public test token
"""Bearer token accepted by default."""
PREFIX = "/v1/google-flow/"
"""Path prefix of the API routes."""
DEFAULT_EMAIL = "fake.user@gmail.com"
"""Email of the default account."""
DEFAULT_CREDITS = 1_000_000
"""Flow credits of the default account: far above a real plan's monthly allowance so that
benchmarks with 10,000+ jobs never hit 402 (pass your own :class:`FakeAccount` to test
credit exhaustion)."""

_ALL_ROUTES = (
    ACCOUNT_ROUTES + ASSET_ROUTES + IMAGE_ROUTES + VIDEO_ROUTES + VIDEO_TOOL_ROUTES
    + VOICE_ROUTES + CHARACTER_ROUTES + JOB_ROUTES
)  # fmt: skip


class FakeFlowServer:
    """A faithful in-process fake of the useapi.net Google Flow API v1 on loopback.

    Use as ``async with FakeFlowServer(...) as fake`` (or :meth:`start` / :meth:`close`).

    Args:
        token: the accepted bearer token (``user:{uid}-...``; ``uid`` goes into ids).
        time_scale: real seconds per simulated second (``0.01`` → a 100 s job takes 1 s).
        anchor: real Unix time at which simulated time equals real time (share it with a
            client's :class:`~flowapi._clock.ScaledClock`); default: now.
        clock: run on this clock instead of a ``ScaledClock(time_scale, anchor=anchor)``
            (``time_scale`` and ``anchor`` are then ignored): an :class:`AutojumpClock`
            makes simulated time independent of machine load; pass the same instance to
            ``FlowSession(clock=...)`` (``GET /_fake/clock`` answers 404 then: a virtual
            clock cannot be followed from outside).
        seed: seed of ids, durations and load-balancing tie-breaks.
        accounts: configured accounts; default one healthy Ultra ($200 plan) account
            ``fake.user@gmail.com`` with :data:`DEFAULT_CREDITS` credits.
        faults: :class:`Faults` (or a spec string for :func:`parse_faults`).
        video_seconds: simulated generation time ranges ``{model: (lo, hi)}`` seconds,
            merged over the defaults (``veo-3.1-fast`` 60–120, ``veo-3.1-lite`` and
            ``veo-3.1-lite-low-priority`` 50–100, ``veo-3.1-quality`` 150–210,
            ``omni-flash`` 60–120, ``upscale`` 30–60, ``upscale-4k`` 120–240).
        image_seconds: simulated image generation time range, seconds (default 10–20).
        host: bind address of the API origin.
        port: API port (0 = ephemeral).
        media_port: media-origin port (0 = ephemeral).
        max_body_bytes: upload caps of ``POST assets``: ``None`` → docs (20 MiB images,
            100 MiB video), an int for every type, or ``{content_type: bytes}``.
        sticky_quarantine: pinned requests into an active quarantine get the same 429 again.
        media_host: host name written in media URLs (must differ from the API host).
        project_page: history entries scanned per ``GET assets/projects/{email}`` call
            (default 500); a smaller value makes pagination visible in tests.
        block_default_user_agents: refuse Python urllib's default ``User-Agent``
            (``Python-urllib/3.x``) on the API origin with Cloudflare's 403 "error code:
            1010", as the real edge does (supplement §1.1); the media origin and the admin
            routes are not affected. ``False`` turns it off.

    The fault rules' random streams use ``seed`` unless the faults name their own
    (``"seed=7, ..."`` or ``Faults(seed=7)``), so the same seed and the same client
    behaviour inject the same faults.
    """

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        time_scale: float = 0.01,
        anchor: float | None = None,
        seed: int = 0,
        accounts: list[FakeAccount] | None = None,
        faults: Faults | str | None = None,
        video_seconds: Mapping[str, tuple[float, float]] | None = None,
        image_seconds: tuple[float, float] = (10.0, 20.0),
        host: str = "127.0.0.1",
        port: int = 0,
        media_port: int = 0,
        max_body_bytes: int | Mapping[str, int] | None = None,
        sticky_quarantine: bool = True,
        media_host: str = "localhost",
        project_page: int = 500,
        block_default_user_agents: bool = True,
        clock: AutojumpClock | ScaledClock | None = None,
    ) -> None:
        self._clock: FakeClock = clock or ScaledClock(time_scale, anchor=anchor)
        if accounts is None:
            accounts = [FakeAccount(email=DEFAULT_EMAIL, credits=DEFAULT_CREDITS)]
        self._world = World(
            token=token,
            clock=self._clock,
            seed=seed,
            accounts=accounts,
            faults=parse_faults(faults, seed=seed) if isinstance(faults, str) else faults,
            video_seconds=video_seconds,
            image_seconds=image_seconds,
            max_body_bytes=max_body_bytes,
        )
        self._world.sticky_quarantine = sticky_quarantine
        self._world.project_scan_page = max(1, project_page)
        self._world.block_default_user_agents = block_default_user_agents
        self._host, self._port, self._media_port, self._media_host = (
            host,
            port,
            media_port,
            media_host,
        )
        self._runners: list[web.AppRunner] = []
        self._base_url = ""
        self._webhooks: Webhooks | None = None

    # -- public properties ---------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """API base URL with trailing slash, e.g. ``http://127.0.0.1:PORT/v1/google-flow/``."""
        self._require_started()
        return self._base_url

    @property
    def media_base_url(self) -> str:
        """Media origin base URL (a different host), e.g. ``http://localhost:MPORT/``."""
        self._require_started()
        return self._world.media.base_url

    @property
    def token(self) -> str:
        """The accepted bearer token."""
        return self._world.token

    @property
    def clock(self) -> FakeClock:
        """The simulated clock (share it with a client for consistent timestamps): the
        ``clock`` passed in, else a :class:`~flowapi._clock.ScaledClock`."""
        return self._clock

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received (API and media origins), in arrival order."""
        return self._world.requests

    @property
    def jobs(self) -> dict[str, FakeJob]:
        """Every job created, by ``jobid``."""
        return self._world.jobs

    @property
    def counters(self) -> dict[str, int]:
        """Counters (same as ``state()["counters"]``)."""
        return self._world.counter_snapshot()

    @property
    def accounts(self) -> dict[str, FakeAccount]:
        """Configured accounts by email (live objects: credits, health)."""
        return self._world.accounts.accounts

    def state(self, since: int = 0) -> dict[str, Any]:
        """JSON-able ground truth: ``clock``, ``requests`` (index ≥ ``since``), ``jobs``,
        ``counters``, plus ``webhooks``, ``quarantine`` and ``faults``."""
        return self._world.state(since)

    def set_faults(self, faults: Faults | str | None) -> None:
        """Replace the fault rules (a :class:`Faults`, a spec string — seeded with the
        fake's ``seed`` unless it says ``seed=`` — or ``None`` for none)."""
        if isinstance(faults, str):
            faults = parse_faults(faults, seed=self._world.seed)
        self._world.engine.configure(faults or Faults())

    def add_account(self, account: FakeAccount) -> FakeAccount:
        """Add (or replace) an account; returns the stored copy."""
        return self._world.accounts.add(account, self._world.now())

    def advance(self, seconds: float) -> None:
        """Jump the fake's simulated time forward by ``seconds`` (e.g. ``7 * 3600`` so the
        signed media URLs handed out so far have expired). See :meth:`ScaledClock.advance`
        (sleepers are not woken early) and :meth:`AutojumpClock.advance` (sleepers due by
        then wake)."""
        self._clock.advance(seconds)

    def new_project(self, email: str) -> str:
        """Make ``email`` write to a new Google Flow project from now on and return its
        ``projectId`` (older projects keep their media; GET assets/projects lists them)."""
        acct = self._world.accounts.get(email)
        if acct is None:
            raise KeyError(f"no account {email}")
        self._world.library.note_project(acct.email, acct.project_id)
        acct.project_id = self._world.library.new_project_id(acct.email)
        return acct.project_id

    def reset(self) -> None:
        """Forget requests, jobs, assets, voices, characters, quarantines and counters;
        restore the initial accounts; keep the current fault rules (restarted)."""
        self._world.reset()

    # -- lifecycle ---------------------------------------------------------------------

    def _require_started(self) -> None:
        if not self._runners:
            raise RuntimeError("FakeFlowServer is not started; use 'async with' or await start()")

    def _api_app(self) -> web.Application:
        templates: dict[tuple[str, str], str] = {}
        app = web.Application(
            middlewares=[make_middleware(PREFIX, templates)],
            client_max_size=max(self._world.caps.values()) + 1024 * 1024,
        )
        app[WORLD] = self._world
        for method, path, template, handler in _ALL_ROUTES:
            route = app.router.add_route(method, PREFIX + path, handler)
            templates[(method, route.resource.canonical if route.resource else "")] = template
        app.router.add_get(CLOCK_PATH, self._admin_clock)
        app.router.add_get("/_fake/state", self._admin_state)
        app.router.add_post("/_fake/faults", self._admin_faults)
        app.router.add_post("/_fake/reset", self._admin_reset)
        return app

    async def start(self) -> None:
        """Bind both origins and start the webhook scheduler."""
        if self._runners:
            return
        api = web.AppRunner(self._api_app(), access_log=None, shutdown_timeout=0.5)
        await api.setup()
        self._runners.append(api)
        site = web.TCPSite(api, self._host, self._port)
        await site.start()
        port = _bound_port(site)
        host = self._host if self._host not in ("0.0.0.0", "::", "") else "127.0.0.1"  # noqa: S104
        self._base_url = f"http://{host}:{port}{PREFIX}"
        media = web.AppRunner(self._world.media.app(), access_log=None, shutdown_timeout=0.5)
        await media.setup()
        self._runners.append(media)
        bind = "127.0.0.1" if self._host in ("127.0.0.1", "localhost") else self._host
        msite = web.TCPSite(media, bind, self._media_port)
        await msite.start()
        mport = _bound_port(msite)
        if bind == "127.0.0.1" and socket.has_ipv6:
            with contextlib.suppress(OSError):
                await web.TCPSite(media, "::1", mport).start()
        self._world.media.base_url = f"http://{self._media_host}:{mport}/"
        self._webhooks = Webhooks(self._world)
        self._world.webhooks = self._webhooks
        self._webhooks.start()

    async def close(self) -> None:
        """Stop the webhook scheduler and both origins."""
        if self._webhooks is not None:
            await self._webhooks.close()
            self._webhooks = None
            self._world.webhooks = None
        runners, self._runners = self._runners, []
        for runner in runners:
            await runner.cleanup()

    async def __aenter__(self) -> FakeFlowServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- admin -------------------------------------------------------------------------

    async def _admin_clock(self, request: web.Request) -> web.StreamResponse:
        if not isinstance(self._clock, ScaledClock):
            return json_response({"error": "virtual clock: pass it as FlowSession(clock=)"},
                                 404)
        return json_response({"timeScale": self._clock.time_scale,
                              "anchor": self._clock.anchor, "now": self._clock.time()})

    async def _admin_state(self, request: web.Request) -> web.StreamResponse:
        try:
            since = int(request.query.get("since", "0"))
        except ValueError:
            return json_response({"error": "since must be an integer"}, 400)
        state = self._world.state(since)
        if request.query.get("jobs", "1").lower() in ("0", "false", "no"):
            state.pop("jobs")
        return json_response(state)

    async def _admin_faults(self, request: web.Request) -> web.StreamResponse:
        spec = (await request.text()).strip()
        try:
            faults = parse_faults(spec, seed=self._world.seed) if spec else Faults()
        except ValueError as exc:
            return json_response({"error": str(exc)}, 400)
        self._world.engine.configure(faults)
        return json_response({"ok": True, "faults": faults.to_spec()})

    async def _admin_reset(self, request: web.Request) -> web.StreamResponse:
        self._world.reset()
        return json_response({"ok": True})


def _bound_port(site: web.TCPSite) -> int:
    server = site._server  # aiohttp exposes no public accessor for the bound port
    assert server is not None
    sockets = getattr(server, "sockets", None) or []
    return int(sockets[0].getsockname()[1])


async def run_fake_server(
    host: str = "127.0.0.1",
    port: int = 0,
    media_port: int = 0,
    time_scale: float = 0.01,
    faults: Faults | str | None = None,
    seed: int = 0,
    token: str = DEFAULT_TOKEN,
    *,
    accounts: list[FakeAccount] | None = None,
    anchor: float | None = None,
    ready: Callable[[FakeFlowServer], None] | None = None,
    block_default_user_agents: bool = True,
) -> None:
    """Run a :class:`FakeFlowServer` until cancelled, printing its URLs and token.

    Used by ``flowapi fake-server``. ``ready`` (if given) is called once it listens,
    instead of printing.
    """
    async with FakeFlowServer(
        token=token, time_scale=time_scale, anchor=anchor, seed=seed, accounts=accounts,
        faults=faults, host=host, port=port, media_port=media_port,
        block_default_user_agents=block_default_user_agents,
    ) as fake:  # fmt: skip
        if ready is not None:
            ready(fake)
        else:
            print(describe_fake(fake), flush=True)
        await asyncio.Event().wait()


def describe_fake(fake: FakeFlowServer) -> str:
    """What ``flowapi fake-server`` prints: the base URL, token, accounts and time scale to
    use, and the two ``export`` lines that point every ``flowapi`` command and
    :class:`~flowapi.FlowSession` at it (the simulated clock is then followed through
    ``GET /_fake/clock``; no clock options needed)."""
    admin = fake.base_url.split("/v1/")[0]
    if not isinstance(fake.clock, ScaledClock):
        raise ValueError("describe_fake needs a fake on a ScaledClock")
    scale = fake.clock.time_scale
    lines = [
        f"FakeFlowServer (Google Flow API v1) at {fake.base_url}",
        f"  token:        {fake.token}",
        f"  account:      {', '.join(fake.accounts) or '(none)'}",
        f"  time scale:   {scale} (1 simulated second = {scale} real s; a 90 s video takes "
        f"{90 * scale:g} s)",
        f"  media origin: {fake.media_base_url}",
        f"  admin:        {admin}/_fake/state, {admin}{CLOCK_PATH}",
        "Point the flowapi command and FlowSession() at it (clients follow its clock):",
        f"  export {BASE_URL_ENV}={fake.base_url}",
        f"  export USEAPI_TOKEN={fake.token}",
        f"  flowapi accounts get {next(iter(fake.accounts), 'EMAIL')}",
        "Stop it with Ctrl-C.",
    ]
    return "\n".join(lines)
