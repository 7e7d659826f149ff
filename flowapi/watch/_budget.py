"""The credit budget of a watcher (``flow.watch(max_credits=…)``, issue 12 §8): every
attempt is priced with :func:`~flowapi.estimate_credits` before it is sent and refused
once the credits committed by this watcher would pass the budget."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flowapi._credits import estimate_credits
from flowapi._errors import CreditBudgetError

if TYPE_CHECKING:
    from flowapi._credits import CreditParams
    from flowapi.types.accounts import Account

__all__ = ["CreditBudget"]


class CreditBudget:
    """Credits committed by the attempts this watcher sent, against ``max_credits``.

    Args:
        max_credits: the budget in Flow credits (≥ 0), or ``None`` for no budget (the
            committed credits are still counted).
        account: the account whose tier and ``creditCost`` price the attempts; ``None``
            prices each at the highest tier that can run it (the safe bound).
    """

    def __init__(self, max_credits: float | None, account: Account | None = None) -> None:
        if max_credits is not None and not max_credits >= 0:
            raise ValueError("max_credits must be >= 0 credits (or None)")
        self.max_credits = max_credits
        self.account = account
        self.committed = 0.0
        """Credits of the attempts sent so far (estimated; resubmissions included)."""

    def reserve(self, params: CreditParams) -> float:
        """Count one attempt of ``params``; returns its estimated credits.

        Raises:
            CreditBudgetError: the attempt would pass ``max_credits``, or cannot be priced
                while a budget is set (nothing is counted then).
        """
        price = estimate_credits(params, account=self.account).most
        if self.max_credits is not None:
            if price is None:
                raise CreditBudgetError(
                    f"not submitted: max_credits={self.max_credits:g} is set and this request "
                    f"({getattr(params, 'model', type(params).__name__)}) has no documented "
                    "price, so the budget cannot be held; submit it without max_credits",
                    max_credits=self.max_credits, needed=None)
            needed = self.committed + price
            if needed > self.max_credits:
                raise CreditBudgetError(
                    f"not submitted: it would cost ~{price:g} credits and this run has "
                    f"committed {self.committed:g} of max_credits={self.max_credits:g}; raise "
                    "the budget and run again to submit the rest",
                    max_credits=self.max_credits, needed=needed)
        self.committed += price or 0.0
        return price or 0.0

    def release(self, credits: float) -> None:
        """Give back a reservation whose attempt certainly created nothing (a 429, 402)."""
        self.committed = max(0.0, self.committed - credits)
