"""Submission lanes (DESIGN §6): a 429 parks its scope until ``retry_at`` for every submitter.

A lane is keyed by ``(email, model)`` where either part may be ``"*"``:

* scope ``account`` (THROTTLED, USER_QUOTA) parks ``(email, "*")``;
* scope ``model`` (PER_MODEL_DAILY_QUOTA) parks ``(email, model)``;
* scope ``all`` (``no_eligible_account``) parks ``("*", "*")``;
* scope ``request`` (low captcha score) parks nothing: only that submission waits.

A request pinned to ``email`` is blocked by ``("*","*")``, ``(email,"*")`` and
``(email, model)``. A request without ``email`` is load-balanced by the server, which routes
around quarantined accounts itself, so it is blocked only by ``("*","*")``.

Slow start: an account lane (``email``, or ``"*"`` for load-balanced requests) that has not
yet accepted a submit since it was last parked lets ONE probe submit through; the others
wait until it answers. A throttled account therefore costs one 429, not a burst of them,
and nothing is sent into a lane after its 429 arrived.
All times are the clock's wall time (Unix seconds), like ``retry_at``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flowapi._errors import RateLimitError, SessionExpiredError

__all__ = ["Lanes"]

ANY = "*"


@dataclass(slots=True)
class Lanes:
    """Parked lanes shared by all submissions of one watcher.

    Attributes:
        default_cooldown: seconds to park when a 429 carries no ``Retry-After``, default 60.
        request_cooldown: seconds a ``request``-scope 429 waits without a hint, default 30.
    """

    default_cooldown: float = 60.0
    request_cooldown: float = 30.0
    _parked: dict[tuple[str, str], float] = field(default_factory=dict)
    _dead: dict[str, str] = field(default_factory=dict)
    _open: set[str] = field(default_factory=set)
    _probing: set[str] = field(default_factory=set)

    def try_enter(self, email: str | None) -> bool:
        """Whether a submit for ``email``'s lane may go now (slow start).

        ``True`` when the lane is open, or when no probe is in flight (the caller becomes
        the probe and must call :meth:`leave`). ``False``: wait for the probe's answer.
        """
        key = email or ANY
        if key in self._open:
            return True
        if key in self._probing:
            return False
        self._probing.add(key)
        return True

    def leave(self, email: str | None, *, healthy: bool | None) -> None:
        """A submit for ``email``'s lane finished: ``healthy=True`` opens the lane (the
        server answered without a 429), ``None`` leaves it probing (outcome unknown),
        ``False`` keeps it closed (it was parked)."""
        key = email or ANY
        self._probing.discard(key)
        if healthy:
            self._open.add(key)

    def blocked_until(self, email: str | None, model: str | None, now: float) -> float:
        """Wall time until which a request for ``(email, model)`` must not be sent
        (``now`` or earlier means it may go now)."""
        keys = [(ANY, ANY)]
        if email:
            keys += [(email, ANY), (email, model or ANY)]
        until = now
        for key in keys:
            t = self._parked.get(key)
            if t is not None:
                if t <= now:
                    del self._parked[key]
                else:
                    until = max(until, t)
        return until

    def park(self, error: RateLimitError, email: str | None, model: str | None,
             now: float) -> float:
        """Record a 429 and return the wall time when the failed request may be retried."""
        scope = error.scope
        hint = error.retry_at
        if scope == "request" or (scope in ("account", "model") and not email):
            return hint if hint is not None else now + self.request_cooldown
        until = hint if hint is not None else now + self.default_cooldown
        if scope == "all":
            self._open.clear()
            key = (ANY, ANY)
        elif scope == "model":
            key = (email or ANY, model or ANY)
        else:
            key = (email or ANY, ANY)
        self._open.discard(email or ANY)
        self._parked[key] = max(until, self._parked.get(key, 0.0))
        return until

    def kill(self, email: str, error: SessionExpiredError) -> None:
        """Stop an account's lane for good (596: the account must be re-added)."""
        self._dead[email] = error.message

    def dead_reason(self, email: str | None) -> str | None:
        """Why an account's lane is stopped, or ``None``."""
        return self._dead.get(email) if email else None

    def parked(self) -> dict[tuple[str, str], float]:
        """A copy of the currently parked lanes → wall time until."""
        return dict(self._parked)
