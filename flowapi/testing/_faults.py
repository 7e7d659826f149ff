"""Fault injection for :class:`~flowapi.testing.FakeFlowServer` (DESIGN §8).

A :class:`Faults` is an ordered list of :class:`FaultRule` plus a seed. Each rule names a
*kind* of misbehaviour, a probability, and optional filters. Rules are evaluated per
request, in request-arrival order, with seeded random streams, so a run with the same
seed and the same client behaviour injects the same faults.

Fault kinds (``route=None`` applies to the default routes listed):

=====================  ==========================================================  =====================
kind                   effect                                                      default routes
=====================  ==========================================================  =====================
``throttled``          429 ``PUBLIC_ERROR_USER_REQUESTS_THROTTLED``; quarantines the   generation POSTs
                       account ~30 min
``user_quota``         429 ``PUBLIC_ERROR_USER_QUOTA_REACHED``; account ~30 min        generation POSTs
``model_quota``        429 ``PUBLIC_ERROR_PER_MODEL_DAILY_QUOTA_REACHED``; that model  generation POSTs
                       on that account until the next UTC midnight
``low_score``          429 ``PUBLIC_ERROR_UNUSUAL_ACTIVITY_TOO_MUCH_TRAFFIC``; 60 s,   generation POSTs
                       no quarantine
``no_eligible``        429 ``no_eligible_account`` (forced)                            POST videos, images
``unavailable``        503 ``UNAVAILABLE`` (transient)                                 generation POSTs
``captcha_failed``     503 ``Captcha service failed: ERROR_ZERO_BALANCE``              generation POSTs
``captcha_quality``    403 with a ``captcha_quality:`` error prefix                    generation POSTs
``session_error``      596 ``Failed to refresh session``                               generation POSTs
``timeout_408``        408 polling timeout, no job                                     generation POSTs
``poll_500``           500 ``INTERNAL``                                                GET jobs, jobs/{jobid}
``moderation``         job created, ends ``failed`` with                               job-creating POSTs
                       ``PUBLIC_ERROR_UNSAFE_GENERATION`` (sync: 400)
``job_error``          job created, ends ``failed`` with ``API error: 500``            job-creating POSTs
``slow``               response delayed by ``delay`` simulated seconds                 every API route
``reset_before``       TCP connection dropped before the request is read; no job       every API route
``reset_after_create`` job created (real, it runs), connection dropped, no response    job-creating POSTs
``bad_json``           response body replaced by malformed JSON (status kept)          every API route
``huge_body``          response JSON padded to ~16 MiB (status kept)                   every API route
``truncated_media``    media origin sends fewer bytes than Content-Length, closes      GET media
``webhook_drop``       a replyUrl callback is not sent                                 webhooks
``webhook_duplicate``  a replyUrl callback is sent twice                               webhooks
=====================  ==========================================================  =====================

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
    {"POST videos", "POST videos/extend", "POST videos/upscale", "POST images", "POST images/upscale"}
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
        if phase in {"pre", "media"}:
            for i, r in enumerate(rules):
                if r.kind in {"slow", "reset_before"} and r.applies_to(route):
                    if not self._filters_ok(r, email, model) or not self._try(i, r, phase):
                        continue
                    if r.kind == "slow":
                        d.delay += r.delay
                    else:
                        d.reset_before = True
            if d.reset_before:
                return d
            if phase == "media":
                for i, r in enumerate(rules):
                    if r.kind == "truncated_media" and r.applies_to(route):
                        if self._filters_ok(r, email, model) and self._try(i, r, phase):
                            d.truncate = True
                            break
                return d
            if gated:
                return d
        if phase == "webhook":
            for i, r in enumerate(rules):
                if r.kind in {"webhook_drop", "webhook_duplicate"} and r.applies_to(route):
                    if self._filters_ok(r, email, model) and self._try(i, r, phase):
                        if r.kind == "webhook_drop":
                            d.webhook_drop = True
                        else:
                            d.webhook_duplicate = True
            return d
        for i, r in enumerate(rules):
            if r.kind in ERROR_KINDS and r.applies_to(route) and self._filters_ok(r, email, model):
                if self._try(i, r, phase):
                    d.error = r
                    return d
        for i, r in enumerate(rules):
            if not (r.applies_to(route) and self._filters_ok(r, email, model)):
                continue
            if r.kind in OUTCOME_KINDS and d.outcome is None and self._try(i, r, phase):
                d.outcome = r
            elif r.kind in DELIVERY_KINDS and d.delivery is None and self._try(i, r, phase):
                d.delivery = r
        return d
