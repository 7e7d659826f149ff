"""Google Flow accounts of the fake, their credits, quarantine and load balancing.

Load balancing follows ``GET jobs › Load Balancing Algorithm`` and the supplement §3:

1. **Quarantine pre-filter** — a 429 with ``PUBLIC_ERROR_USER_REQUESTS_THROTTLED`` or
   ``PUBLIC_ERROR_USER_QUOTA_REACHED`` quarantines the whole account for ~30 min;
   ``PUBLIC_ERROR_PER_MODEL_DAILY_QUOTA_REACHED`` quarantines that model on that account
   until the next UTC midnight (simulated clock); ``..._UNUSUAL_ACTIVITY_TOO_MUCH_TRAFFIC``
   is not quarantined. Quarantine is idempotent: a repeated 429 for the same (account,
   reason, model) does not extend it. With a single account the pre-filter is skipped.
2. **Scoring** — lowest ``executing + failed×10 + rateLimited×20`` over the last 15 min
   wins; ties are broken at random (seeded).

If every account is filtered out the caller answers 429 ``no_eligible_account``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from ._util import next_utc_midnight

__all__ = [
    "PLANS",
    "QUARANTINE_REASONS",
    "AccountStore",
    "FakeAccount",
    "NoEligibleAccount",
    "Quarantine",
    "credits_for",
]

THROTTLED = "PUBLIC_ERROR_USER_REQUESTS_THROTTLED"
USER_QUOTA = "PUBLIC_ERROR_USER_QUOTA_REACHED"
MODEL_QUOTA = "PUBLIC_ERROR_PER_MODEL_DAILY_QUOTA_REACHED"
LOW_SCORE = "PUBLIC_ERROR_UNUSUAL_ACTIVITY_TOO_MUCH_TRAFFIC"

QUARANTINE_REASONS = frozenset({THROTTLED, USER_QUOTA, MODEL_QUOTA})
"""429 reasons that quarantine (post-videos › Automatic quarantine)."""

ACCOUNT_COOLDOWN = 30 * 60.0
"""Quarantine of THROTTLED / USER_QUOTA, simulated seconds (extend page cooldown table)."""

PLANS: dict[str, tuple[str, int]] = {
    "free": ("PAYGATE_TIER_NOT_PAID", 0),
    "plus": ("PAYGATE_TIER_ONE", 200),
    "pro": ("PAYGATE_TIER_ONE", 1000),
    "ultra": ("PAYGATE_TIER_TWO", 10_000),
    "ultra-200": ("PAYGATE_TIER_TWO", 25_000),
}
"""Plan → (``userPaygateTier``, monthly Flow credits) from the overview's tier table."""


@dataclass(slots=True)
class FakeAccount:
    """A Google Flow account configured in the fake.

    Args:
        email: account email (the key of ``GET accounts``).
        plan: ``"free"``, ``"plus"``, ``"pro"``, ``"ultra"`` (Ultra $100) or ``"ultra-200"``
            (Ultra $200, the only plan with ``veo-3.1-lite-low-priority``). Default
            ``"ultra-200"``.
        credits: Flow credits; ``None`` → the plan's monthly allowance.
        health: ``"OK"`` or an error text; unhealthy accounts answer 596 and are skipped by
            load balancing.
        name: display name in ``sessionData.user.name``.
    """

    email: str
    """Account email."""
    plan: str = "ultra-200"
    """Subscription plan, a key of :data:`PLANS`."""
    credits: int | None = None
    """Remaining Flow credits (``None`` → plan allowance)."""
    health: str = "OK"
    """``"OK"`` or an error description."""
    name: str = "Fake User"
    """``sessionData.user.name``."""
    project_id: str | None = None
    """Flow project id (generated when ``None``)."""
    created: float | None = None
    """Simulated creation time (set when added)."""
    cookies: list[dict[str, object]] = field(default_factory=list)
    """Cookies of the account table (``POST accounts``)."""

    def __post_init__(self) -> None:
        if self.plan not in PLANS:
            raise ValueError(f"unknown plan {self.plan!r}; known: {sorted(PLANS)}")

    @property
    def paygate_tier(self) -> str:
        """``credits.userPaygateTier`` of this plan."""
        return PLANS[self.plan][0]

    @property
    def is_ultra(self) -> bool:
        """Ultra plans (Ultra $100 or $200)."""
        return self.plan in {"ultra", "ultra-200"}


def credits_for(model: str, *, duration: int, ultra: bool, v2v: bool = False,
                resolution: str = "720p") -> int:
    """Credits of one generation: the overview table for Veo (Ultra prices for Ultra
    plans); the Nov 2026 update (api-update-2026-h2 §5.1) for Omni, which replaces the
    June 15/20/25/30 and 40 — Omni 1.1 720p 7/10/12/15, 360p 4/5/6/7, V2V 20 (360p 10).
    (The fake does not serve ``omni-flash-1.2`` yet.)"""
    low = resolution == "360p"
    if model == "omni-flash":
        if v2v:
            return 10 if low else 20
        omni = {4: 4, 6: 5, 8: 6, 10: 7} if low else {4: 7, 6: 10, 8: 12, 10: 15}
        return omni.get(duration, omni[8])
    table = {
        "veo-3.1-lite": 5 if ultra else 10,
        "veo-3.1-fast": 10 if ultra else 20,
        "veo-3.1-quality": 100,
        "veo-3.1-lite-low-priority": 0,
    }
    return table.get(model, 0)


@dataclass(frozen=True, slots=True)
class Quarantine:
    """One quarantine entry."""

    email: str
    """Account."""
    model: str
    """Quarantined model, or ``"*"`` for the whole account."""
    reason: str
    """The 429 reason that triggered it."""
    since: float
    """Simulated start, seconds."""
    until: float
    """Simulated end, seconds."""


class NoEligibleAccount(Exception):
    """Every account is quarantined for the requested model."""

    def __init__(self, skips: list[Quarantine], retry_at: float) -> None:
        super().__init__("no_eligible_account")
        self.skips = skips
        self.retry_at = retry_at


class AccountStore:
    """Configured accounts plus their quarantine entries."""

    def __init__(self, accounts: list[FakeAccount], now: float) -> None:
        self.accounts: dict[str, FakeAccount] = {}
        self.quarantines: dict[tuple[str, str, str], Quarantine] = {}
        for a in accounts:
            self.add(a, now)

    def add(self, account: FakeAccount, now: float) -> FakeAccount:
        """Add (or replace) an account; returns the stored copy."""
        acct = dataclasses.replace(account, cookies=list(account.cookies))
        if acct.credits is None:
            acct.credits = PLANS[acct.plan][1]
        if acct.created is None:
            acct.created = now
        if acct.project_id is None:
            digest = hashlib.sha256(acct.email.encode()).digest()[:16]
            acct.project_id = str(uuid.UUID(bytes=digest, version=4))
        self.accounts[acct.email] = acct
        return acct

    def get(self, email: str) -> FakeAccount | None:
        """The account, or ``None``."""
        return self.accounts.get(email)

    def delete(self, email: str) -> bool:
        """Remove an account; ``False`` when unknown."""
        return self.accounts.pop(email, None) is not None

    def healthy(self) -> list[FakeAccount]:
        """Accounts whose health is ``"OK"``, in insertion order."""
        return [a for a in self.accounts.values() if a.health == "OK"]

    # -- quarantine ---------------------------------------------------------------

    def quarantine(self, email: str, reason: str, model: str, now: float) -> float:
        """Record a 429 ``reason``; returns the cooldown end (also for non-quarantining ones)."""
        if reason == MODEL_QUOTA:
            key_model, until = model, next_utc_midnight(now)
        elif reason in QUARANTINE_REASONS:
            key_model, until = "*", now + ACCOUNT_COOLDOWN
        else:
            return now + 60.0
        key = (email, reason, key_model)
        existing = self.quarantines.get(key)
        if existing is not None and existing.until > now:
            return existing.until
        self.quarantines[key] = Quarantine(email, key_model, reason, now, until)
        return until

    def active_quarantine(self, email: str, model: str | None, now: float) -> Quarantine | None:
        """The active quarantine blocking ``model`` on ``email`` (longest-lasting), if any."""
        best: Quarantine | None = None
        for (e, _reason, m), q in self.quarantines.items():
            if e != email or q.until <= now or (m != "*" and m != model):
                continue
            if best is None or q.until > best.until:
                best = q
        return best

    def active_quarantines(self, now: float) -> list[Quarantine]:
        """All quarantine entries still active at ``now``."""
        return [q for q in self.quarantines.values() if q.until > now]

    # -- selection ----------------------------------------------------------------

    def select(
        self,
        model: str | None,
        now: float,
        score: Callable[[str], int],
        rng: random.Random,
    ) -> FakeAccount:
        """Pick an account for a request without ``email`` (pre-filter, then lowest score).

        Raises:
            LookupError: no healthy account is configured.
            NoEligibleAccount: every account is quarantined for ``model``.
        """
        candidates = self.healthy()
        if not candidates:
            raise LookupError("no account")
        if len(candidates) > 1:
            eligible: list[FakeAccount] = []
            skips: list[Quarantine] = []
            for a in candidates:
                q = self.active_quarantine(a.email, model, now)
                if q is None:
                    eligible.append(a)
                else:
                    skips.append(q)
            if not eligible:
                raise NoEligibleAccount(skips, min(q.until for q in skips))
            candidates = eligible
        scored = [(score(a.email), a) for a in candidates]
        best = min(s for s, _ in scored)
        ties = [a for s, a in scored if s == best]
        return ties[0] if len(ties) == 1 else rng.choice(ties)
