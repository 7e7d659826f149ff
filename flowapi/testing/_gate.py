"""An ordered gate: lets requests through a critical section in ticket (arrival) order.

Generation POSTs take a ticket when they arrive; after reading and validating their body
they wait for their turn before routing, fault evaluation and job creation, and release
right after. This makes load balancing, fault injection and job ids reproducible for a
given arrival order even though bodies are read concurrently. Waiting is O(1) per
request (one future per waiting ticket), so 10,000 concurrent submits stay cheap.
"""

from __future__ import annotations

import asyncio

__all__ = ["OrderedGate"]


class OrderedGate:
    """Tickets 0, 1, 2, ... pass :meth:`turn` in order; every ticket must be released."""

    def __init__(self) -> None:
        self._issued = 0
        self._next = 0
        self._done: set[int] = set()
        self._waiters: dict[int, asyncio.Future[None]] = {}

    def ticket(self) -> int:
        """Take the next ticket (call synchronously at arrival)."""
        t = self._issued
        self._issued += 1
        return t

    async def turn(self, ticket: int) -> None:
        """Wait until every earlier ticket has been released."""
        if ticket == self._next:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters[ticket] = fut
        try:
            await fut
        finally:
            self._waiters.pop(ticket, None)

    def release(self, ticket: int) -> None:
        """Mark ``ticket`` done (idempotent); wakes the next waiter."""
        if ticket < self._next or ticket in self._done:
            return
        self._done.add(ticket)
        while self._next in self._done:
            self._done.discard(self._next)
            self._next += 1
        fut = self._waiters.get(self._next)
        if fut is not None and not fut.done():
            fut.set_result(None)
