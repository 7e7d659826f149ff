"""``flowapi batch --dry-run`` and ``--max-credits N``: what a batch would cost, before
anything is submitted (issue 12 §8).

Each usable prompt is priced with :func:`flowapi.estimate_credits`. The account is the one
the batch would use: ``--email``, else the only configured account (one
``GET /accounts`` and one ``GET /accounts/{email}``, never a generation request); with
several accounts, no token, or an account that cannot be read, prices are shown per tier.
Prompts already finished in the journal are counted too (a resumed batch costs at most
this).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich import box
from rich.console import Console
from rich.table import Table

from flowapi._credits import (
    CREDIT_TIERS,
    DEFAULT_DURATION,
    CreditEstimate,
    CreditTier,
    estimate_credits,
)
from flowapi._errors import FlowError
from flowapi._session import FlowSession
from flowapi.cli._prompts import PromptSpec
from flowapi.types.accounts import Account
from flowapi.types.videos import VideoParams

__all__ = [
    "PricedPrompt",
    "account_for_estimate",
    "budget_credits",
    "over_budget_message",
    "price_prompts",
    "print_dry_run",
]

TIER_LABELS: dict[CreditTier, str] = {"free": "Free", "plus-pro": "Plus/Pro",
                                      "ultra": "Ultra"}
"""Column headings of the tiers."""


@dataclass(frozen=True, slots=True)
class PricedPrompt:
    """One prompt of the file with its estimate, or why it has none.

    Attributes:
        spec: the prompts-file entry.
        params: its request (``None`` when the entry is unusable).
        estimate: its :class:`~flowapi.CreditEstimate` (``None`` when unusable).
        error: why the entry would not run (it costs nothing), or ``None``.
    """

    spec: PromptSpec
    params: VideoParams | None
    estimate: CreditEstimate | None
    error: str | None = None


def price_prompts(specs: Sequence[PromptSpec], account: Account | None = None,
                  ) -> list[PricedPrompt]:
    """Price every entry of a prompts file (pure: no request). Unusable entries get an
    ``error`` and no estimate: the batch reports them and submits nothing for them."""
    priced: list[PricedPrompt] = []
    for spec in specs:
        if spec.error is not None or spec.raw is None:
            priced.append(PricedPrompt(spec, None, None, spec.error or "not an object"))
            continue
        try:
            params = VideoParams.from_wire(spec.raw)
        except ValueError as exc:
            priced.append(PricedPrompt(spec, None, None, f"entry #{spec.index}: {exc}"))
            continue
        priced.append(PricedPrompt(spec, params, estimate_credits(params, account=account)))
    return priced


def budget_credits(priced: Sequence[PricedPrompt]) -> float:
    """The credits to hold a batch to: the sum of each prompt's
    :attr:`~flowapi.CreditEstimate.most` (its price on the account's tier, or the highest
    tier price when the tier is unknown)."""
    return sum((p.estimate.most or 0.0) for p in priced if p.estimate is not None)


def over_budget_message(priced: Sequence[PricedPrompt], max_credits: float) -> str | None:
    """The one-line refusal when the batch could cost more than ``max_credits``, else
    ``None``."""
    need = budget_credits(priced)
    if need <= max_credits:
        return None
    return (f"--max-credits {_fmt(max_credits)}: this batch would cost up to {_fmt(need)} "
            "credits "
            f"({sum(1 for p in priced if p.estimate is not None)} prompts; see "
            "`--dry-run`); nothing was submitted. Raise the limit or remove prompts")


async def account_for_estimate(flow: FlowSession, email: str | None,
                               ) -> tuple[str | None, Account | None]:
    """(email, account) a batch would run on: ``email``, else the only configured account;
    account ``None`` with several accounts or when it cannot be read (prices per tier)."""
    try:
        if email is None:
            accounts = await flow.accounts.list()
            if len(accounts) != 1:
                return None, None
            email = next(iter(accounts))
        return email, await flow.accounts.get(email)
    except FlowError:
        return email, None


def _fmt(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.1f}"


def print_dry_run(console: Console, priced: Sequence[PricedPrompt],
                  account: Account | None, email: str | None) -> None:
    """Print the per-prompt table and the total; nothing is submitted."""
    estimates = [p.estimate for p in priced if p.estimate is not None]
    tier = estimates[0].tier if estimates else None
    tiers: list[CreditTier] = [tier] if tier is not None else [
        t for t in CREDIT_TIERS if any(e.per_tier.get(t) is not None for e in estimates)]
    totals = {t: sum((e.per_tier.get(t) or 0.0) for e in estimates) for t in tiers}
    unavailable = {t for t in tiers if any(e.per_tier.get(t) is None for e in estimates)}
    models = [p.params.model for p in priced
              if p.params is not None and isinstance(p.params.model, str)]
    fixed: list[tuple[str, str, int, bool]] = [  # heading, footer, width, right-aligned
        ("#", "", len(str(len(priced))), True),
        ("model", "total", max([len("veo-3.1-fast"), *map(len, models)]), False),
        ("s", "", 2, True), ("res", "", 4, False), ("n", "", 1, True)]
    for t in tiers:
        heading = "credits" if tier is not None else TIER_LABELS[t]
        footer = _fmt(totals[t]) + ("*" if t in unavailable else "")
        fixed.append((heading, footer, max(len(heading), len(footer), 5), True))
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_footer=True, expand=False)
    for heading, footer, width, right in fixed:
        table.add_column(heading, footer=footer, width=width, no_wrap=True,
                         justify="right" if right else "left")
    used = sum(w for *_, w, _ in fixed) + 3 * (len(fixed) + 1) - 1  # rich: 3/column - 1
    table.add_column("prompt", footer="", no_wrap=True, overflow="ellipsis",
                     width=max(8, console.width - used))
    for p in priced:
        if p.params is None or p.estimate is None:
            table.add_row(str(p.spec.index), "[red]skipped[/]", "", "", "",
                          *["" for _ in tiers], p.error or "")
            continue
        v = p.params
        model = v.model if isinstance(v.model, str) else "veo-3.1-fast"
        table.add_row(str(p.spec.index), model,
                      str(v.duration if isinstance(v.duration, int)
                          else DEFAULT_DURATION.get(model, 8)),
                      v.resolution if isinstance(v.resolution, str) else "720p",
                      str(v.count) if isinstance(v.count, int) else "1",
                      *[_fmt(p.estimate.per_tier.get(t)) for t in tiers], p.spec.prompt_text)
    console.print(table)
    if unavailable:
        console.print("* some prompts cannot run on this tier (—); the total counts the rest")
    for note in dict.fromkeys(n for e in estimates for n in e.notes):
        console.print(f"note: {note}")
    if tier is not None and account is not None:
        left = account.credits.credits if account.credits is not None else None
        after = ("" if left is None else
                 f"; {_fmt(left)} credits now, {_fmt(left - totals[tier])} after")
        console.print(f"dry run: {len(estimates)} prompts would cost {_fmt(totals[tier])} "
                      f"credits on {email or 'the account'} ({TIER_LABELS[tier]}{after}). "
                      "Nothing was submitted.")
    else:
        per = ", ".join(f"{TIER_LABELS[t]} {_fmt(totals[t])}" for t in tiers) or "0"
        console.print(f"dry run: {len(estimates)} prompts would cost {per} credits "
                      "(tier unknown: pass --email, or a token with one account, for the "
                      "account's own prices). Nothing was submitted.")
