"""Submission lanes (DESIGN §6): a 429 parks its scope until ``retry_at`` for every submitter.

A lane is keyed by ``(account, model)`` where either part may be ``"*"``; requests without
an account (load-balanced by the server) use the pseudo-account ``"~lb"``:

* scope ``account`` (THROTTLED, USER_QUOTA: ~30 min) parks ``(email, "*")``;
* scope ``model`` (PER_MODEL_DAILY_QUOTA[_UPGRADEABLE]: until UTC midnight) parks
  ``(email, model)``;
* scope ``all`` (``no_eligible_account``) parks ``("~lb", model)`` — the load balancer has
  no eligible account for that model — and every ``(email, model)`` of its ``skipReasons``;
* scope ``request`` (low captcha score) parks nothing: only that submission waits.

The scope of each reason comes from the one table :data:`flowapi._rate_limits.RATE_LIMIT_RULES`.
The cooldown is the 429's ``retry_at`` (the later of ``Retry-After`` and ``retryAfter``);
when it has none, the next UTC midnight for a daily quota, else ``default_cooldown``; a
``retry_at`` already past parks nothing.

Which account a 429 belongs to: the request's ``email``, else the account the 429 names
(:attr:`~flowapi.RateLimitError.email`: the transport fills it in from the references'
account, or from the only configured account). When the server load-balanced the request
over several accounts, it quarantined the account itself and routes the next requests
around it (POST /videos › Automatic quarantine): nothing is parked and the submission is
retried after a short, growing delay (``lb_retry_delay``), landing on a healthy account.
When the only account was throttled, every load-balanced request goes to it, so the
``"~lb"`` lane is parked as well.

A request pinned to ``email`` is blocked by ``("*","*")``, ``(email,"*")`` and
``(email, model)``; a load-balanced request by ``("*","*")``, ``("~lb","*")`` and
``("~lb", model)``. A request whose model is unknown (``None``: the server's default) is
blocked by a park of any model on its account (conservative).

Slow start: an account lane (``email``, or ``"*"`` for load-balanced requests) that has not
yet accepted a submit since it was last parked lets ONE probe submit through; the others
wait until it answers. A throttled account therefore costs one 429, not a burst of them,
and nothing is sent into a lane after its 429 arrived.

Two :class:`Lanes` exist per session: each :class:`~flowapi.JobWatcher` schedules its
submissions with its own, and the transport keeps a session-wide one that it checks before
sending any generation request (a parked or stopped lane is refused locally, without a
request) — so no caller, watcher or not, can send into a parked lane.
All times are the clock's wall time (Unix seconds), like ``retry_at``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flowapi._errors import RateLimitError, SessionExpiredError
from flowapi._rate_limits import next_utc_midnight, rate_limit_rule
from flowapi._retry import backoff_delay

__all__ = ["ANY", "LB", "Lanes", "Park"]

ANY = "*"
LB = "~lb"
"""The pseudo-account of load-balanced requests (no ``email``)."""


@dataclass(frozen=True, slots=True)
class Park:
    """Why and until when a lane is parked."""

    until: float
    """Wall time (Unix seconds) the lane opens again."""
    reason: str
    """The 429 reason (``PUBLIC_ERROR_…`` or ``no_eligible_account``)."""
    scope: str
    """The 429 scope (``account``, ``model`` or ``all``)."""


@dataclass(slots=True)
class Lanes:
    """Parked lanes shared by all submissions of one watcher (or one session).

    Attributes:
        default_cooldown: seconds to park when a 429 carries no ``Retry-After``, default 60.
        request_cooldown: seconds a ``request``-scope 429 waits without a hint, default 30.
        lb_retry_delay: first delay before a load-balanced submission that hit an
            account-scope 429 is tried again (the server routes it to another account),
            default 5 s; it doubles with each such 429 in a row, up to the 429's
            ``retry_at``.
        on_change: called after a lane is parked (e.g. to persist :meth:`snapshot` in a
            journal so a restarted process keeps honouring the cooldowns).
        on_leave: called with a lane's email (``None``: load-balanced) after each
            :meth:`leave`, so every submitter sharing these lanes wakes the submissions it
            holds back for that lane (:meth:`try_enter` said no).
    """

    default_cooldown: float = 60.0
    request_cooldown: float = 30.0
    lb_retry_delay: float = 5.0
    on_change: Callable[[], None] | None = field(default=None, repr=False)
    on_leave: list[Callable[[str | None], None]] = field(default_factory=list, repr=False)
    _parked: dict[tuple[str, str], Park] = field(default_factory=dict)
    _dead: dict[str, str] = field(default_factory=dict)
    _open: set[str] = field(default_factory=set)
    _probing: set[str] = field(default_factory=set)
    _lb_strikes: int = 0

    # -- slow start ------------------------------------------------------------------

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
            if key == ANY:
                self._lb_strikes = 0
        for wake in list(self.on_leave):
            wake(email or None)

    # -- parking ---------------------------------------------------------------------

    def _keys(self, email: str | None, model: str | None) -> list[tuple[str, str]]:
        account = email or LB
        keys = [(ANY, ANY), (account, ANY)]
        if model:
            keys.append((account, model))
        return keys

    def blocked(self, email: str | None, model: str | None, now: float) -> Park | None:
        """The park that blocks a request for ``(email, model)`` longest, or ``None``.

        ``email=None`` means a load-balanced request; ``model=None`` the server's default
        model (blocked by a park of any model on the account).
        """
        best: Park | None = None
        keys = self._keys(email, model)
        if not model:
            account = email or LB
            keys += [k for k in self._parked if k[0] == account and k[1] != ANY]
        for key in keys:
            park = self._parked.get(key)
            if park is None:
                continue
            if park.until <= now:
                del self._parked[key]
            elif best is None or park.until > best.until:
                best = park
        return best

    def blocked_until(self, email: str | None, model: str | None, now: float) -> float:
        """Wall time until which a request for ``(email, model)`` must not be sent
        (``now`` or earlier means it may go now)."""
        park = self.blocked(email, model, now)
        return now if park is None else park.until

    def _park(self, key: tuple[str, str], park: Park) -> None:
        old = self._parked.get(key)
        if old is None or old.until < park.until:
            self._parked[key] = park
            if self.on_change is not None:
                self.on_change()
        self._open.discard(key[0] if key[0] != LB else ANY)

    def snapshot(self, now: float) -> list[list[Any]]:
        """The lanes parked beyond ``now``, JSON-able (for :meth:`restore`)."""
        return [[k[0], k[1], p.until, p.reason, p.scope]
                for k, p in self._parked.items() if p.until > now]

    def restore(self, data: object, now: float) -> int:
        """Park again the lanes of a :meth:`snapshot` that are still parked at ``now``;
        returns how many. Malformed entries are ignored."""
        restored = 0
        if not isinstance(data, list):
            return 0
        for item in data:
            try:
                account, model, until, reason, scope = item
                until = float(until)
            except (TypeError, ValueError):
                continue
            if until > now and all(isinstance(v, str) for v in (account, model, reason, scope)):
                self._park((account, model), Park(until, reason, scope))
                restored += 1
        return restored

    def park(self, error: RateLimitError, email: str | None, model: str | None,
             now: float) -> float:
        """Record a 429 and return the wall time when the failed request may be retried.

        Args:
            error: the 429 (its ``scope``, ``retry_at``, ``email``, ``skip_reasons`` and
                ``only_account`` decide what is parked).
            email: the ``email`` the request was pinned to, or ``None``.
            model: the request's model, or ``None``.
            now: wall time.
        """
        scope = error.scope
        hint = error.retry_at
        reason = error.reason or "429"
        if scope == "request":
            return hint if hint is not None else now + self.request_cooldown
        if hint is not None and hint <= now:
            return now  # the server dates the end of the cooldown in the past: go ahead
        if hint is not None:
            until = hint
        elif rate_limit_rule(error.reason).daily:
            until = next_utc_midnight(now)  # a daily quota: nothing succeeds before
        else:
            until = now + self.default_cooldown
        if scope == "all":
            self._park((LB, model or ANY), Park(until, reason, scope))
            for skip_email, skip_reason, skip_model in getattr(error, "skip_reasons", ()):
                if skip_email:
                    lane_model = ANY if skip_model in ("", ANY) else skip_model
                    self._park((skip_email, lane_model), Park(until, skip_reason, scope))
            return until
        routed = email or error.email
        if routed is None:
            # Load-balanced over several accounts: the server quarantined the account that
            # answered and routes the next request to a healthy one.
            self._lb_strikes += 1
            self._open.discard(ANY)
            delay = backoff_delay(self._lb_strikes, base=self.lb_retry_delay)
            return min(until, now + delay)
        lane_model = (model or ANY) if scope == "model" else ANY
        park = Park(until, reason, scope)
        self._park((routed, lane_model), park)
        if email is None and error.only_account:
            self._park((LB, lane_model), park)
        return until

    # -- stopped accounts ------------------------------------------------------------

    def kill(self, email: str | None, error: SessionExpiredError) -> None:
        """Stop an account's lane for good (596: the account must be re-added);
        ``email=None`` stops load-balanced requests (the only account broke)."""
        self._dead[email or LB] = error.message

    def dead_reason(self, email: str | None) -> str | None:
        """Why an account's lane is stopped, or ``None`` (``email=None``: load-balanced
        requests, stopped when the only account answered 596)."""
        return self._dead.get(email or LB)

    def parked(self) -> dict[tuple[str, str], float]:
        """A copy of the currently parked lanes → wall time until."""
        return {k: p.until for k, p in self._parked.items()}
