"""Fault injection for :class:`~flowapi.testing.FakeFlowServer` (DESIGN §8).

A :class:`Faults` is an ordered list of :class:`FaultRule` plus a seed. Each rule names a
*kind* of misbehaviour, a probability, and optional filters. Rules are evaluated per
request, in request-arrival order, with seeded random streams, so a run with the same
seed and the same client behaviour injects the same faults.

Fault kinds (with ``route=None`` a rule applies to the default routes in brackets):

``throttled``
    429 ``PUBLIC_ERROR_USER_REQUESTS_THROTTLED``; quarantines the account ~30 min
    [generation POSTs].
``user_quota``
    429 ``PUBLIC_ERROR_USER_QUOTA_REACHED``; quarantines the account ~30 min [generation].
``model_quota``
    429 ``PUBLIC_ERROR_PER_MODEL_DAILY_QUOTA_REACHED``; quarantines that model on that
    account until the next UTC midnight of the simulated clock [generation].
``low_score``
    429 ``PUBLIC_ERROR_UNUSUAL_ACTIVITY_TOO_MUCH_TRAFFIC``; 60 s, no quarantine [generation].
``no_eligible``
    429 ``no_eligible_account`` (forced, ``Retry-After: 60``) [POST videos, POST images].
``unavailable``
    503 ``UNAVAILABLE`` (transient) [generation].
``captcha_failed``
    503 ``Captcha service failed: ERROR_ZERO_BALANCE`` [generation].
``captcha_quality``
    403 whose ``error`` starts with ``captcha_quality:`` [generation].
``session_error``
    596 ``Failed to refresh session: ...`` [generation].
``timeout_408``
    408 polling timeout; no job [generation].
``poll_500``
    500 ``INTERNAL`` [GET jobs, GET jobs/{jobid}].
``moderation``
    the job is created and ends ``failed`` with ``PUBLIC_ERROR_UNSAFE_GENERATION``; a sync
    call answers 400 with that body [job-creating POSTs].
``job_error``
    the job is created and ends ``failed`` with ``API error: 500`` [job-creating POSTs].
``slow``
    the response is delayed by ``delay`` simulated seconds [every API route].
``reset_before``
    the TCP connection is reset before the request is read; no job [every API route].
``reset_after_create``
    the job is created (it is real and runs), then the connection is reset without a
    response: the duplicate trap [job-creating POSTs].
``bad_json``
    the response body is replaced by malformed JSON, status kept [every API route].
``huge_body``
    the response JSON gets a ~16 MiB ``_padding`` field, status kept [every API route].
``truncated_media``
    the media origin sends half of ``Content-Length``, then closes [GET media].
``webhook_drop`` / ``webhook_duplicate``
    a ``replyUrl`` callback is not sent / sent twice [webhooks].

"Generation POSTs" are ``POST videos``, ``POST videos/extend``, ``POST videos/upscale``,
``POST images`` and ``POST images/upscale``; "job-creating POSTs" are the same minus
``POST images/upscale``. A rule with an explicit ``route`` applies to the routes matching
it (``fnmatch`` glob, e.g. ``"GET jobs*"``) on which its kind makes sense: the error kinds,
``slow``, ``reset_before``, ``bad_json`` and ``huge_body`` work on any API route (and
``slow``/``reset_before`` also on ``"GET media"``).

Per request, at most one error kind (429/403/408/500/503/596, ``no_eligible``) fires; if
none did, at most one outcome kind (``moderation``/``job_error``) and one delivery kind
(``reset_after_create``/``bad_json``/``huge_body``) may fire; ``slow`` delays add up.

String grammar (:func:`parse_faults`)::

    spec    := item ( ("," | ";" | newline) item )*
    item    := "seed=" INT                       -- sets Faults.seed
             | rule
    rule    := KIND [ ":" PROBABILITY ] [ "{" opts "}" ] [ "@" ROUTE ]
    opts    := KEY "=" VALUE ( ( ";" | "," ) KEY "=" VALUE )*
    KEY     := count | after | delay | email | model | probability

``PROBABILITY`` defaults to 1. ``ROUTE`` is the rest of the item (spaces allowed, e.g.
``@POST videos`` or ``@GET jobs/{jobid}``). Examples::

    throttled:0.05,unavailable:0.02,moderation:0.1,reset_after_create:0.01@POST videos
    seed=7, poll_500:0.2{count=5}@GET jobs*, slow{delay=45}@GET jobs/{jobid}
    model_quota{model=veo-3.1-quality;email=a@gmail.com;after=2;count=1}
"""

from __future__ import annotations

import fnmatch
import random
import re
from dataclasses import dataclass, field

__all__ = [
    "DELIVERY_KINDS",
    "ERROR_KINDS",
    "FAULT_KINDS",
    "GATED_ROUTES",
    "JOB_ROUTES",
    "OUTCOME_KINDS",
    "FaultDecision",
    "FaultEngine",
    "FaultRule",
    "Faults",
    "parse_faults",
]

GATED_ROUTES = frozenset(
    {
        "POST videos",
        "POST videos/extend",
        "POST videos/upscale",
        "POST images",
        "POST images/upscale",
    }
)
"""Generation POSTs: faults for these are evaluated after routing, in arrival order."""

JOB_ROUTES = frozenset({"POST videos", "POST videos/extend", "POST videos/upscale", "POST images"})
"""Routes that create a job record."""

_JOBS_GETS = frozenset({"GET jobs", "GET jobs/{jobid}"})

ERROR_KINDS = frozenset(
    {
        "throttled",
        "user_quota",
        "model_quota",
        "low_score",
        "no_eligible",
        "unavailable",
        "captcha_failed",
        "captcha_quality",
        "session_error",
        "timeout_408",
        "poll_500",
    }
)
"""Kinds that replace the response with an error (no job is created)."""

OUTCOME_KINDS = frozenset({"moderation", "job_error"})
"""Kinds that let the job be created but make it end ``failed``."""

DELIVERY_KINDS = frozenset({"reset_after_create", "bad_json", "huge_body"})
"""Kinds that spoil the delivery of an otherwise normal response."""

_OTHER_KINDS = frozenset(
    {"slow", "reset_before", "truncated_media", "webhook_drop", "webhook_duplicate"}
)

FAULT_KINDS = ERROR_KINDS | OUTCOME_KINDS | DELIVERY_KINDS | _OTHER_KINDS
_WEBHOOK_KINDS = frozenset({"webhook_drop", "webhook_duplicate"})
_ARRIVAL_KINDS = frozenset({"slow", "reset_before"})
_MEDIA_KINDS = frozenset({"truncated_media"})
"""Every supported fault kind."""

_ANY_API = "*api*"
_DEFAULT_ROUTES: dict[str, frozenset[str]] = {
    **{k: GATED_ROUTES for k in ERROR_KINDS},
    "no_eligible": frozenset({"POST videos", "POST images"}),
    "poll_500": _JOBS_GETS,
    "moderation": JOB_ROUTES,
    "job_error": JOB_ROUTES,
    "reset_after_create": JOB_ROUTES,
    "slow": frozenset({_ANY_API}),
    "reset_before": frozenset({_ANY_API}),
    "bad_json": frozenset({_ANY_API}),
    "huge_body": frozenset({_ANY_API}),
    "truncated_media": frozenset({"GET media"}),
    "webhook_drop": frozenset({"WEBHOOK"}),
    "webhook_duplicate": frozenset({"WEBHOOK"}),
}


def _capable(kind: str, route: str) -> bool:
    """Whether ``kind`` can act on ``route`` when a rule names the route explicitly."""
    api = route not in {"GET media", "WEBHOOK", "ADMIN", "UNKNOWN"}
    if kind in ERROR_KINDS or kind in {"bad_json", "huge_body"}:
        return api
    if kind in {"slow", "reset_before"}:
        return api or route == "GET media"
    if kind in OUTCOME_KINDS or kind == "reset_after_create":
        return route in JOB_ROUTES
    if kind == "truncated_media":
        return route == "GET media"
    return route == "WEBHOOK"


@dataclass(frozen=True, slots=True)
class FaultRule:
    """One fault-injection rule.

    Args:
        kind: one of :data:`FAULT_KINDS` (see the module docstring).
        probability: chance in ``[0, 1]`` that a matching request gets the fault.
        route: route template or glob (``"POST videos"``, ``"GET jobs*"``); ``None`` → the
            kind's default routes.
        count: inject at most this many times (``None`` = unlimited).
        after: skip the first ``after`` matching requests.
        delay: simulated seconds added by ``slow`` (default 30).
        email: only requests routed to this account.
        model: only generation requests for this model.
    """

    kind: str
    """Fault kind."""
    probability: float = 1.0
    """Probability per matching request, 0–1."""
    route: str | None = None
    """Route template or glob; ``None`` for the kind's defaults."""
    count: int | None = None
    """Maximum number of injections; ``None`` = unlimited."""
    after: int = 0
    """Number of matching requests to let through before injecting."""
    delay: float = 30.0
    """Delay of a ``slow`` fault, simulated seconds."""
    email: str | None = None
    """Only requests routed to this account email."""
    model: str | None = None
    """Only requests for this model."""

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; known: {sorted(FAULT_KINDS)}")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError(f"probability must be in [0, 1], got {self.probability!r}")
        if self.count is not None and self.count < 0:
            raise ValueError("count must be >= 0")
        if self.after < 0:
            raise ValueError("after must be >= 0")
        if self.delay < 0:
            raise ValueError("delay must be >= 0")

    def applies_to(self, route: str) -> bool:
        """Whether this rule targets ``route`` (ignoring email/model filters)."""
        if self.route is None:
            defaults = _DEFAULT_ROUTES[self.kind]
            if _ANY_API in defaults:
                return route not in {"GET media", "WEBHOOK", "ADMIN", "UNKNOWN"}
            return route in defaults
        return fnmatch.fnmatchcase(route, self.route) and _capable(self.kind, route)

    def to_spec(self) -> str:
        """This rule in the :func:`parse_faults` grammar."""
        opts: list[str] = []
        if self.count is not None:
            opts.append(f"count={self.count}")
        if self.after:
            opts.append(f"after={self.after}")
        if self.kind == "slow":
            opts.append(f"delay={self.delay:g}")
        if self.email:
            opts.append(f"email={self.email}")
        if self.model:
            opts.append(f"model={self.model}")
        s = f"{self.kind}:{self.probability:g}"
        if opts:
            s += "{" + ";".join(opts) + "}"
        if self.route:
            s += f"@{self.route}"
        return s


@dataclass(frozen=True, slots=True)
class Faults:
    """An ordered set of :class:`FaultRule` and the seed of their random streams."""

    rules: list[FaultRule] = field(default_factory=list)
    """Rules, evaluated in order."""
    seed: int = 0
    """Seed of the fault random streams (independent of the fake's own ``seed``)."""

    @classmethod
    def parse(cls, spec: str, *, seed: int = 0) -> Faults:
        """Same as :func:`parse_faults`."""
        return parse_faults(spec, seed=seed)

    def to_spec(self) -> str:
        """These faults in the :func:`parse_faults` grammar."""
        return ", ".join([f"seed={self.seed}", *(r.to_spec() for r in self.rules)])


_RULE_RE = re.compile(
    r"^(?P<kind>[a-z_0-9]+)\s*(?::\s*(?P<prob>[0-9.eE+-]+))?\s*"
    r"(?:\{(?P<opts>[^}]*)\})?\s*(?:@\s*(?P<route>.+?))?\s*$"
)


def _split_items(spec: str) -> list[str]:
    items: list[str] = []
    depth = 0
    cur: list[str] = []
    route_mode = False
    for ch in spec:
        if ch == "@" and depth == 0:
            route_mode = True
        if ch == "{" and not route_mode:
            depth += 1
        elif ch == "}" and not route_mode:
            depth = max(0, depth - 1)
        if depth == 0 and ch in ",;\n":
            items.append("".join(cur))
            cur = []
            route_mode = False
            continue
        cur.append(ch)
    items.append("".join(cur))
    return [i.strip() for i in items if i.strip()]


def parse_faults(spec: str, *, seed: int = 0) -> Faults:
    """Parse a fault spec string (grammar in the module docstring) into :class:`Faults`.

    Raises:
        ValueError: unknown kind, bad probability, unknown option or malformed item.
    """
    rules: list[FaultRule] = []
    for item in _split_items(spec):
        if item.startswith("seed="):
            try:
                seed = int(item[5:])
            except ValueError:
                raise ValueError(f"bad seed in fault spec: {item!r}") from None
            continue
        m = _RULE_RE.match(item)
        if m is None:
            raise ValueError(f"cannot parse fault rule {item!r}")
        kwargs: dict[str, object] = {"kind": m.group("kind")}
        if m.group("prob"):
            try:
                kwargs["probability"] = float(m.group("prob"))
            except ValueError:
                raise ValueError(f"bad probability in fault rule {item!r}") from None
        if m.group("route"):
            kwargs["route"] = m.group("route").strip()
        for opt in re.split(r"[;,]", m.group("opts") or ""):
            if not opt.strip():
                continue
            key, eq, value = opt.partition("=")
            key, value = key.strip(), value.strip()
            if not eq:
                raise ValueError(f"option {opt!r} needs key=value in {item!r}")
            try:
                if key in {"count", "after"}:
                    kwargs[key] = int(value)
                elif key in {"delay", "probability"}:
                    kwargs[key] = float(value)
                elif key in {"email", "model"}:
                    kwargs[key] = value
                else:
                    raise ValueError(f"unknown fault option {key!r} in {item!r}")
            except ValueError as exc:
                raise ValueError(f"bad option {opt!r} in {item!r}: {exc}") from None
        rules.append(FaultRule(**kwargs))  # type: ignore[arg-type]
    return Faults(rules=rules, seed=seed)


@dataclass(slots=True)
class FaultDecision:
    """What the fault engine decided for one request."""

    error: FaultRule | None = None
    """Error-kind rule that fired (the response becomes that error), if any."""
    outcome: FaultRule | None = None
    """``moderation``/``job_error`` rule that fired, if any."""
    delivery: FaultRule | None = None
    """``reset_after_create``/``bad_json``/``huge_body`` rule that fired, if any."""
    delay: float = 0.0
    """Total ``slow`` delay, simulated seconds."""
    reset_before: bool = False
    """Drop the connection before reading the request."""
    truncate: bool = False
    """Truncate a media download."""
    webhook_drop: bool = False
    """Do not send this callback."""
    webhook_duplicate: bool = False
    """Send this callback twice."""

    @property
    def kinds(self) -> list[str]:
        """Kinds that fired, for recording."""
        out = [r.kind for r in (self.error, self.outcome, self.delivery) if r is not None]
        if self.delay:
            out.append("slow")
        for flag, name in (
            (self.reset_before, "reset_before"),
            (self.truncate, "truncated_media"),
            (self.webhook_drop, "webhook_drop"),
            (self.webhook_duplicate, "webhook_duplicate"),
        ):
            if flag:
                out.append(name)
        return out


class FaultEngine:
    """Evaluates a :class:`Faults` configuration request by request (stateful: counts)."""

    def __init__(self, faults: Faults | None = None) -> None:
        self.counters: dict[str, int] = {}
        """Injected faults per kind since the engine was (re)configured."""
        self.configure(faults or Faults())

    def configure(self, faults: Faults) -> None:
        """Replace the rules; resets per-rule counts and the random streams."""
        self.faults = faults
        self._matches = [0] * len(faults.rules)
        self._fired = [0] * len(faults.rules)
        self._rngs = {
            phase: random.Random(f"{faults.seed}:{phase}")
            for phase in ("pre", "gen", "media", "webhook")
        }

    def _try(self, i: int, rule: FaultRule, phase: str) -> bool:
        self._matches[i] += 1
        if self._matches[i] <= rule.after:
            return False
        if rule.count is not None and self._fired[i] >= rule.count:
            return False
        if self._rngs[phase].random() >= rule.probability:
            return False
        self._fired[i] += 1
        self.counters[rule.kind] = self.counters.get(rule.kind, 0) + 1
        return True

    def _filters_ok(self, rule: FaultRule, email: str | None, model: str | None) -> bool:
        if rule.email is not None and rule.email != email:
            return False
        return rule.model is None or rule.model == model

    def evaluate(
        self,
        phase: str,
        route: str,
        *,
        email: str | None = None,
        model: str | None = None,
        gated: bool = False,
    ) -> FaultDecision:
        """Decide the faults for one request.

        Args:
            phase: ``"pre"`` (API request arrival), ``"gen"`` (generation POST after
                routing), ``"media"`` or ``"webhook"``.
            route: route template of the request.
            email: account the request targets, when known.
            model: model of the request, when known.
            gated: for ``"pre"``: the route is a generation POST, so only ``slow`` and
                ``reset_before`` are decided now (the rest in phase ``"gen"``).
        """
        d = FaultDecision()
        rules = self.faults.rules

        def fires(i: int, r: FaultRule, kinds: frozenset[str]) -> bool:
            return (
                r.kind in kinds
                and r.applies_to(route)
                and self._filters_ok(r, email, model)
                and self._try(i, r, phase)
            )

        if phase == "webhook":
            for i, r in enumerate(rules):
                if fires(i, r, _WEBHOOK_KINDS):
                    d.webhook_drop |= r.kind == "webhook_drop"
                    d.webhook_duplicate |= r.kind == "webhook_duplicate"
            return d
        if phase in {"pre", "media"}:
            for i, r in enumerate(rules):
                if fires(i, r, _ARRIVAL_KINDS):
                    if r.kind == "slow":
                        d.delay += r.delay
                    else:
                        d.reset_before = True
            if d.reset_before or (phase == "pre" and gated):
                return d
            if phase == "media":
                d.truncate = any(fires(i, r, _MEDIA_KINDS) for i, r in enumerate(rules))
                return d
        for i, r in enumerate(rules):
            if fires(i, r, ERROR_KINDS):
                d.error = r
                return d
        for i, r in enumerate(rules):
            if d.outcome is None and fires(i, r, OUTCOME_KINDS):
                d.outcome = r
            elif d.delivery is None and fires(i, r, DELIVERY_KINDS):
                d.delivery = r
        return d
