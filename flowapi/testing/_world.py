"""The fake's whole mutable state in one object, shared by every route module."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .._clock import ScaledClock
from ._accounts import AccountStore, FakeAccount
from ._autojump import FakeClock
from ._captcha import CaptchaState
from ._faults import FAULT_KINDS, FaultEngine, Faults
from ._gate import OrderedGate
from ._library import Library
from ._media import MediaOrigin
from ._records import FakeJob, RecordedRequest
from ._stats import StatsTracker
from ._util import iso, user_id_from_token

if TYPE_CHECKING:
    from ._webhooks import Webhooks

__all__ = ["COUNTERS", "DEFAULT_IMAGE_CAP", "DEFAULT_VIDEO_CAP", "DEFAULT_VIDEO_SECONDS", "World"]

COUNTERS = (
    "requests",
    "auth_failures",
    "media_requests",
    "media_requests_with_auth",
    "media_bytes_served",
    "jobs_created",
    "jobs_created.video",
    "jobs_created.image",
    "assets_uploaded",
    "no_eligible_account",
    "requests_into_quarantine",
    "webhooks_sent",
    "webhook_failures",
    "webhooks_dropped",
)
"""Counters always present in ``state()["counters"]`` (0 until something happens). Besides
these: ``fault.<kind>`` for every fault kind, ``faults_total`` and ``jobs_executing``."""

DEFAULT_VIDEO_SECONDS: dict[str, tuple[float, float]] = {
    "veo-3.1-fast": (60.0, 120.0),
    "veo-3.1-lite": (50.0, 100.0),
    "veo-3.1-lite-low-priority": (50.0, 100.0),
    "veo-3.1-quality": (150.0, 210.0),
    "omni-flash": (60.0, 120.0),
    "omni-flash-1.2": (60.0, 120.0),
    "upscale": (30.0, 60.0),
    "upscale-4k": (120.0, 240.0),
}
"""Simulated generation time ranges, seconds (extend uses its model's range)."""

DEFAULT_IMAGE_CAP = 20 * 1024 * 1024
"""Upload cap for image/png, image/jpeg, image/webp (POST assets: "File size ... over 20971520")."""

DEFAULT_VIDEO_CAP = 100 * 1024 * 1024
"""Upload cap for video/mp4 (supplement §11: ≤100 MB)."""

UPLOAD_TYPES = ("image/png", "image/jpeg", "image/webp", "video/mp4")
"""Accepted ``Content-Type`` values of ``POST assets``."""


class World:
    """All state of one :class:`~flowapi.testing.FakeFlowServer` (reset by ``/_fake/reset``)."""

    def __init__(
        self,
        *,
        token: str,
        clock: FakeClock,
        seed: int,
        accounts: list[FakeAccount],
        faults: Faults | None,
        video_seconds: Mapping[str, tuple[float, float]] | None,
        image_seconds: tuple[float, float],
        max_body_bytes: int | Mapping[str, int] | None,
    ) -> None:
        self.token = token
        self.uid = user_id_from_token(token)
        self.clock = clock
        self.seed = seed
        self.initial_accounts = list(accounts)
        self.video_seconds = {**DEFAULT_VIDEO_SECONDS, **(video_seconds or {})}
        self.image_seconds = image_seconds
        if isinstance(max_body_bytes, int):
            self.caps = dict.fromkeys(UPLOAD_TYPES, max_body_bytes)
        else:
            caps = {t: DEFAULT_IMAGE_CAP for t in UPLOAD_TYPES}
            caps["video/mp4"] = DEFAULT_VIDEO_CAP
            caps.update(max_body_bytes or {})
            self.caps = caps
        self.engine = FaultEngine(faults)
        self.gate = OrderedGate()
        self.media = MediaOrigin(self)
        self.webhooks: Webhooks | None = None
        self.sticky_quarantine = True
        """Pinned requests into an active quarantine get the same 429 again."""
        self.block_default_user_agents = True
        """Refuse urllib's default User-Agent on the API origin (403, Cloudflare 1010)."""
        self.project_scan_page = 500
        """History entries per GET assets/projects/{email} page."""
        self._init_state()

    def _init_state(self) -> None:
        self.rng = random.Random(self.seed)
        self.requests: list[RecordedRequest] = []
        self.jobs: dict[str, FakeJob] = {}
        self.accounts = AccountStore(self.initial_accounts, self.now())
        self.library = Library()
        self.stats = StatsTracker()
        self.captcha = CaptchaState(self.uid)
        self.counters: dict[str, int] = dict.fromkeys(COUNTERS, 0)
        self.media.clear()

    def reset(self) -> None:
        """Forget every request, job, asset, voice, character and counter; restore the
        initial accounts; restart the fault rules' counts and random streams."""
        self._init_state()
        self.engine.configure(self.engine.faults)
        self.engine.counters.clear()
        if self.webhooks is not None:
            self.webhooks.clear()

    def now(self) -> float:
        """Simulated Unix time, seconds."""
        return self.clock.time()

    def bump(self, name: str, n: int = 1) -> None:
        """Add ``n`` to counter ``name``."""
        self.counters[name] = self.counters.get(name, 0) + n

    def record(self, request: web.BaseRequest, route: str, *, auth_ok: bool) -> RecordedRequest:
        """Append a :class:`RecordedRequest` for ``request`` (arrival order)."""
        path = request.raw_path.split("?", 1)[0]
        rec = RecordedRequest(
            index=len(self.requests),
            t=self.now(),
            method=request.method,
            path=path,
            route=route,
            query=dict(request.query),
            auth_ok=auth_ok,
            authorization_sent="Authorization" in request.headers,
            user_agent=request.headers.get("User-Agent"),
        )
        self.requests.append(rec)
        self.bump("requests")
        return rec

    def finish(self, rec: RecordedRequest, status: int | None) -> None:
        """Set the final status of ``rec`` (``None``: connection dropped)."""
        rec.status = status
        rec.finished_t = self.now()

    def counter_snapshot(self) -> dict[str, int]:
        """All counters, including ``fault.<kind>``, ``faults_total`` and ``jobs_executing``."""
        self.stats.advance(self.now())
        counters = dict(self.counters)
        for kind in sorted(FAULT_KINDS):
            counters[f"fault.{kind}"] = self.engine.counters.get(kind, 0)
        counters["faults_total"] = sum(self.engine.counters.values())
        counters["jobs_executing"] = self.stats.executing_count()
        return counters

    def state(self, since: int = 0) -> dict[str, Any]:
        """The ``/_fake/state`` document (requests from index ``since``)."""
        now = self.now()
        counters = self.counter_snapshot()
        scaled = self.clock if isinstance(self.clock, ScaledClock) else None
        return {
            "clock": {
                "time_scale": scaled.time_scale if scaled is not None else None,
                "anchor": scaled.anchor if scaled is not None else None,
                "virtual": scaled is None,
                "now": now,
                "now_iso": iso(now),
            },
            "requests": [r.to_json() for r in self.requests[max(0, since) :]],
            "jobs": {jid: j.to_json() for jid, j in self.jobs.items()},
            "counters": counters,
            "webhooks": list(self.webhooks.log) if self.webhooks is not None else [],
            "quarantine": [
                {
                    "email": q.email,
                    "model": q.model,
                    "reason": q.reason,
                    "since": q.since,
                    "until": q.until,
                }
                for q in self.accounts.active_quarantines(now)
            ],
            "faults": self.engine.faults.to_spec(),
        }
