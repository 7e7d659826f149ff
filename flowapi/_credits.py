"""Flow credits before they are spent: the documented credit table as data, and
:func:`estimate_credits` (issue 12 §8).

Sources, newest first (the newest wins where they differ):

* ``api-update-2026-h2.md`` §5.1 (Nov 2026): ``omni-flash-1.2`` 3 credits per second up
  to 10 s and 6 per second after that (the marginal reading: 15 s = 60) at 720p;
  ``omni-flash`` (Omni 1.1) 720p 4/6/8/10 s = 7/10/12/15, 360p = 4/5/6/7; V2V (with
  ``referenceVideo_1``) 720p 20, 360p 10; Veo unchanged; §5.2/§5.4: video upscale 1080p 0,
  4K 50; images, characters, voices, GIF and concatenate 0.
* The overview page (June 2026, ``seeds/google-flow-v1-overview.txt``): Veo 3.1 Lite 10
  (Ultra 5), Fast 20 (Ultra 10), Quality 100, Lite Lower Priority 0 and Ultra $200 only;
  video needs a paid plan.
* ``GET /accounts/{email}`` (``models.videoModels[].creditCost``): the account's own price
  of a model. A key ending in ``_ultra`` has no ``creditCost`` ("unlimited generation",
  GET accounts/email › Responses › 200, note), while the overview still prices Ultra Veo
  at 5/10: the estimate then uses the table's Ultra price, so a budget is never
  under-counted.

Prices depend on the plan tier, which is the account's ``credits.userPaygateTier``:
``PAYGATE_TIER_NOT_PAID`` (free), ``PAYGATE_TIER_ONE`` (Plus and Pro),
``PAYGATE_TIER_TWO`` (Ultra $100 and $200). Without an account the estimate is given per
tier. ``None`` for a tier means the model cannot run there (402/403), not "free".

Not published, estimated and said so in :attr:`CreditEstimate.notes`: ``omni-flash-1.2``
at 360p (half of 720p, rounded up, as for Omni 1.1), ``/videos/extend`` (priced as an 8 s
generation of its model), ``/videos/upscale`` to 720p (0, like 1080p).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Literal

from flowapi.types._base import UNSET
from flowapi.types.accounts import Account
from flowapi.types.images import ImageParams, ImageUpscaleParams
from flowapi.types.videos import ExtendParams, VideoParams, VideoUpscaleParams

__all__ = [
    "CREDIT_TIERS",
    "OMNI_11_CREDITS",
    "VEO_CREDITS",
    "CreditEstimate",
    "CreditParams",
    "CreditTier",
    "estimate_credits",
    "tier_of",
    "total_credits",
]

CreditTier = Literal["free", "plus-pro", "ultra"]
"""A price tier: ``free`` (``PAYGATE_TIER_NOT_PAID``), ``plus-pro``
(``PAYGATE_TIER_ONE``: Plus and Pro), ``ultra`` (``PAYGATE_TIER_TWO``: Ultra $100/$200)."""

CREDIT_TIERS: Final[tuple[CreditTier, ...]] = ("free", "plus-pro", "ultra")
"""Every :data:`CreditTier`, cheapest plan first."""

_PAYGATE: Final[Mapping[str, CreditTier]] = MappingProxyType({
    "PAYGATE_TIER_NOT_PAID": "free",
    "PAYGATE_TIER_ONE": "plus-pro",
    "PAYGATE_TIER_TWO": "ultra",
})

TierPrices = Mapping[CreditTier, float | None]
"""Credits per tier; ``None``: the model is not available on that tier."""


def _prices(free: float | None, plus_pro: float | None, ultra: float | None) -> TierPrices:
    return MappingProxyType({"free": free, "plus-pro": plus_pro, "ultra": ultra})


VEO_CREDITS: Final[Mapping[str, TierPrices]] = MappingProxyType({
    "veo-3.1-lite": _prices(None, 10, 5),
    "veo-3.1-fast": _prices(None, 20, 10),
    "veo-3.1-quality": _prices(None, 100, 100),
    "veo-3.1-lite-low-priority": _prices(None, None, 0),  # Ultra $200 only
})
"""Credits per Veo 3.1 generation (any duration) by tier (overview table; unchanged in the
Nov 2026 update). Video needs a paid plan, so ``free`` is ``None``."""

OMNI_11_CREDITS: Final[Mapping[tuple[str, int], int]] = MappingProxyType({
    ("720p", 4): 7, ("720p", 6): 10, ("720p", 8): 12, ("720p", 10): 15,
    ("360p", 4): 4, ("360p", 6): 5, ("360p", 8): 6, ("360p", 10): 7,
})
"""``omni-flash`` (Omni 1.1) credits per generation by (resolution, duration seconds);
Plus, Pro and Ultra alike, not on free accounts (update §5.1)."""

OMNI_11_V2V_CREDITS: Final[Mapping[str, int]] = MappingProxyType({"720p": 20, "360p": 10})
"""``omni-flash`` with ``referenceVideo_1`` (V2V edit) by resolution (update §5.1)."""

OMNI_12_PER_SECOND: Final[tuple[float, float, int]] = (3.0, 6.0, 10)
"""``omni-flash-1.2`` at 720p: (credits per second up to the knee, per second after it,
knee in seconds) — 3/s to 10 s, 6/s beyond (update §5.1, marginal reading)."""

OMNI_12_FREE_MAX_SECONDS: Final = 10
"""Free accounts run ``omni-flash-1.2`` up to 10 s (update §5.1)."""

UPSCALE_CREDITS: Final[Mapping[str, TierPrices]] = MappingProxyType({
    "1080p": _prices(0, 0, 0),
    "720p": _prices(0, 0, 0),  # not published; estimated like 1080p
    "4K": _prices(None, None, 50),  # Ultra only
})
"""``POST /videos/upscale`` by ``resolution`` (update §5.2; 720p estimated)."""

DEFAULT_DURATION: Final[Mapping[str, int]] = MappingProxyType({
    "omni-flash": 8, "omni-flash-1.2": 8,
})
"""Duration (seconds) assumed when ``duration`` is not sent: 8 (POST /videos › duration
default; not published for ``omni-flash-1.2``, 8 assumed)."""

CreditParams = VideoParams | ExtendParams | VideoUpscaleParams | ImageParams | ImageUpscaleParams
"""What :func:`estimate_credits` prices."""


@dataclass(frozen=True, slots=True)
class CreditEstimate:
    """What a request would cost, in Flow credits.

    Attributes:
        per_tier: credits on each :data:`CreditTier` (``None``: not available there).
        tier: the account's tier when an account was given, else ``None``.
        account_price: ``True`` when the price came from the account's own ``creditCost``.
        notes: what was estimated rather than published, or why a price is missing.
    """

    per_tier: Mapping[CreditTier, float | None]
    tier: CreditTier | None = None
    account_price: bool = False
    notes: tuple[str, ...] = field(default=())

    @property
    def credits(self) -> float | None:
        """The cost on the account's tier; without an account, the cost when every tier
        that can run it charges the same; else ``None`` (see :attr:`per_tier`)."""
        if self.tier is not None:
            return self.per_tier.get(self.tier)
        known = {v for v in self.per_tier.values() if v is not None}
        return known.pop() if len(known) == 1 else None

    @property
    def most(self) -> float | None:
        """The highest cost on any tier that can run it (the safe bound for a budget when
        the tier is unknown); on the account's tier when known. ``None``: no tier can."""
        if self.tier is not None:
            return self.per_tier.get(self.tier)
        known = [v for v in self.per_tier.values() if v is not None]
        return max(known) if known else None

    def __add__(self, other: CreditEstimate) -> CreditEstimate:
        """Per-tier sum; a tier is ``None`` when either side cannot run there."""
        per: dict[CreditTier, float | None] = {}
        for t in CREDIT_TIERS:
            a, b = self.per_tier.get(t), other.per_tier.get(t)
            per[t] = None if a is None or b is None else a + b
        tier = self.tier if self.tier == other.tier else None
        notes = tuple(dict.fromkeys((*self.notes, *other.notes)))
        return CreditEstimate(per_tier=MappingProxyType(per), tier=tier,
                              account_price=self.account_price or other.account_price,
                              notes=notes)


def tier_of(account: Account | None) -> CreditTier | None:
    """The :data:`CreditTier` of an account (``credits.userPaygateTier``), or ``None``."""
    if account is None or account.credits is None:
        return None
    return _PAYGATE.get(account.credits.user_paygate_tier)


def _str(value: object, default: str) -> str:
    return value if isinstance(value, str) and value else default


def _omni_12(seconds: int, resolution: str) -> TierPrices:
    low, high, knee = OMNI_12_PER_SECOND
    price = low * min(seconds, knee) + high * max(0, seconds - knee)
    if resolution == "360p":
        price = float(math.ceil(price / 2))
    return _prices(price if seconds <= OMNI_12_FREE_MAX_SECONDS else None, price, price)


def _table(params: CreditParams) -> tuple[TierPrices | None, list[str]]:
    """The documented per-generation price by tier (before ``count``) and notes."""
    notes: list[str] = []
    if isinstance(params, (ImageParams, ImageUpscaleParams)):
        return _prices(0, 0, 0), notes
    if isinstance(params, VideoUpscaleParams):
        resolution = _str(params.resolution, "1080p")
        if resolution == "720p":
            notes.append("720p upscale price not published; estimated 0 like 1080p")
        return UPSCALE_CREDITS.get(resolution), notes
    model = _str(params.model, "veo-3.1-fast")
    if isinstance(params, ExtendParams):
        notes.append("extend price not published; estimated as an 8 s generation of "
                     f"{model}")
        seconds, resolution, v2v = 8, "720p", False
    else:
        seconds = params.duration if isinstance(params.duration, int) else \
            DEFAULT_DURATION.get(model, 8)
        resolution = _str(params.resolution, "720p")
        v2v = params.reference_video is not UNSET
    if model in VEO_CREDITS:
        return VEO_CREDITS[model], notes
    if model == "omni-flash":
        price = (OMNI_11_V2V_CREDITS.get(resolution) if v2v
                 else OMNI_11_CREDITS.get((resolution, seconds)))
        return (None if price is None else _prices(None, price, price)), notes
    if model == "omni-flash-1.2":
        if resolution == "360p":
            notes.append("omni-flash-1.2 at 360p not published; estimated half of 720p")
        return _omni_12(seconds, resolution), notes
    return None, notes


def _account_price(params: CreditParams, account: Account) -> float | None:
    """The account's ``creditCost`` for a flat-priced (Veo) generation, else ``None``."""
    if not isinstance(params, (VideoParams, ExtendParams)):
        return None
    model = _str(params.model, "veo-3.1-fast")
    if model not in VEO_CREDITS:
        return None  # priced by duration/resolution: one creditCost cannot say
    info = account.video_model(model)
    if info is None:
        return None
    return float(info.credit_cost) if info.credit_cost is not None else None


def estimate_credits(params: CreditParams, *, account: Account | None = None,
                     ) -> CreditEstimate:
    """What ``params`` would cost if submitted, in Flow credits. Pure: no request.

    ``count`` (default 1; images: each call is free) multiplies the per-generation price.
    With ``account`` (a ``GET /accounts/{email}`` body) the estimate is for its tier
    (``credits.userPaygateTier``), and for Veo models its own ``creditCost`` wins over the
    table when the account lists one.

    Args:
        params: :class:`~flowapi.VideoParams`, :class:`~flowapi.ExtendParams`,
            :class:`~flowapi.VideoUpscaleParams`, :class:`~flowapi.ImageParams` or
            :class:`~flowapi.ImageUpscaleParams`.
        account: the account the request will run on, when known.

    Returns:
        A :class:`CreditEstimate`: ``per_tier`` credits, ``credits`` on the account's tier
        (or when all tiers agree), ``most`` as the safe bound, ``notes`` on estimates.
        An unknown model gives ``None`` on every tier with a note.
    """
    prices, notes = _table(params)
    tier = tier_of(account)
    if prices is None:
        model = getattr(params, "model", UNSET)
        notes.append(f"no documented price for {_str(model, type(params).__name__)} with "
                     "these options")
        prices = _prices(None, None, None)
    count = getattr(params, "count", UNSET)
    n = count if isinstance(count, int) and not isinstance(
        params, (ImageParams, ImageUpscaleParams)) else 1
    per: dict[CreditTier, float | None] = {
        t: None if v is None else float(v) * n for t, v in prices.items()}
    own = _account_price(params, account) if account is not None else None
    if own is not None and tier is not None:
        per[tier] = own * n
    return CreditEstimate(per_tier=MappingProxyType(per), tier=tier,
                          account_price=own is not None and tier is not None,
                          notes=tuple(notes))


def total_credits(estimates: Iterable[CreditEstimate]) -> CreditEstimate:
    """The per-tier sum of ``estimates`` (0 on every tier for none)."""
    total = CreditEstimate(per_tier=_prices(0, 0, 0))
    first = True
    for estimate in estimates:
        total = estimate if first else total + estimate
        first = False
    return total
