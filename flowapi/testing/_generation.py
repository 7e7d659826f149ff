"""The shared path of generation POSTs: ordered admission, routing, quarantine, faults,
captcha, and the delivery of sync (200), async (201) or failed results.

Order inside the gate (arrival order): pick the account → route-specific plan/credit
checks → sticky quarantine (a pinned request into an active quarantine gets the same 429
again: "Retrying within the day will not succeed") → fault rules → captcha → job.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ._accounts import (
    ACCOUNT_COOLDOWN,
    LOW_SCORE,
    MODEL_QUOTA,
    THROTTLED,
    USER_QUOTA,
    FakeAccount,
    Quarantine,
)
from ._errors import ApiError
from ._faults import FaultRule
from ._http import DELIVERY, REC, TICKET, WORLD, json_response
from ._jobs import new_jobid
from ._net import drop_connection
from ._payloads import created_body, failed_sync_body, sync_body
from ._records import FakeJob
from ._resolve import pick_account
from ._util import next_utc_midnight
from ._world import World

__all__ = ["Admission", "admit", "deliver_job", "echo", "fault_error", "gated", "note_fault"]

_REASONS = {"throttled": THROTTLED, "user_quota": USER_QUOTA, "model_quota": MODEL_QUOTA}


@contextlib.asynccontextmanager
async def gated(request: web.Request) -> AsyncIterator[None]:
    """Run the body in arrival order among generation POSTs (see :mod:`._gate`)."""
    world = request.app[WORLD]
    ticket = request.get(TICKET)
    if ticket is None:
        yield
        return
    await world.gate.turn(ticket)
    try:
        yield
    finally:
        world.gate.release(ticket)


def note_fault(request: web.Request, kind: str) -> None:
    """Add ``kind`` to the request's recorded fault(s) (``"a+b"`` when several)."""
    rec = request[REC]
    rec.fault = kind if rec.fault is None else f"{rec.fault}+{kind}"


def echo(body: dict[str, Any], email: str) -> dict[str, Any]:
    """The job record's ``request``: fields as submitted (no ``captchaToken``) plus ``email``."""
    out = {k: v for k, v in body.items() if k != "captchaToken"}
    out.setdefault("email", email)
    return out


@dataclass(slots=True)
class Admission:
    """Result of a successful admission."""

    account: FakeAccount
    """Account the request runs on."""
    outcome: str | None
    """``"moderation"`` / ``"job_error"`` fault for the job, if any."""
    delivery: FaultRule | None
    """Delivery fault, if any."""
    captcha: dict[str, Any] | None
    """Captcha block of the request (``None`` for routes without captcha)."""


def admit(
    request: web.Request,
    *,
    route: str,
    group: str,
    model: str | None,
    email: str | None,
    ref_email: str | None,
    body: dict[str, Any],
    job_type: str = "video",
    check: Callable[[FakeAccount], None] | None = None,
    captcha: bool = True,
) -> Admission:
    """Route and admit a generation request (call inside :func:`gated`).

    Raises:
        ApiError: routing errors, plan/credit errors, sticky quarantine, injected errors.
    """
    world = request.app[WORLD]
    rec = request[REC]
    rec.model = model
    acct, pinned = pick_account(world, email=email, ref_email=ref_email, group=group, model=model)
    rec.email = acct.email
    now = world.now()
    if acct.health != "OK":
        world.stats.add_event(now, group, acct.email, "failed")
        raise ApiError.session_error()
    if check is not None:
        check(acct)
    q = world.accounts.active_quarantine(acct.email, model, now)
    if q is not None and pinned:
        rec.into_quarantine = True
        world.bump("requests_into_quarantine")
        if world.sticky_quarantine:
            world.stats.add_event(now, group, acct.email, "rate_limited")
            err = ApiError.google_429(q.reason, q.until, now, fault=None)
            note_fault(request, "quarantine")
            raise err
    decision = world.engine.evaluate("gen", route, email=acct.email, model=model)
    if decision.error is not None:
        raise fault_error(world, decision.error, route, group, acct, model, body, job_type)
    block = world.captcha.solve(body, world.rng) if captcha else None
    if block is not None:
        world.captcha.record(
            t=now, route=route, captcha=block, status=200, plan=acct.plan,
            tier=acct.paygate_tier, api_ms=world.rng.randint(800, 4000),
        )  # fmt: skip
    outcome = decision.outcome.kind if decision.outcome is not None else None
    return Admission(acct, outcome, decision.delivery, block)


def fault_error(
    world: World,
    rule: FaultRule,
    route: str,
    group: str,
    acct: FakeAccount | None,
    model: str | None,
    body: dict[str, Any],
    job_type: str,
) -> ApiError:
    """The error response of an error-kind fault; records quarantine, stats and captcha rows
    when the target account is known."""
    kind = rule.kind
    now = world.now()
    captcha_status: int | None = None
    reason: str | None = None
    if kind in _REASONS or kind == "low_score":
        reason = _REASONS.get(kind, LOW_SCORE)
        if acct is not None:
            until = world.accounts.quarantine(acct.email, reason, model or "*", now)
            world.stats.add_event(now, group, acct.email, "rate_limited")
        else:
            until = (
                next_utc_midnight(now)
                if reason == MODEL_QUOTA
                else now + (60.0 if reason == LOW_SCORE else ACCOUNT_COOLDOWN)
            )
        err = ApiError.google_429(reason, until, now, fault=kind)
        captcha_status = 429
    elif kind == "no_eligible":
        until = now + 60.0
        skips = [Quarantine(a.email, "*", THROTTLED, now, until) for a in world.accounts.healthy()]
        err = ApiError.no_eligible(skips, until, now, fault=kind)
    elif kind == "captcha_quality":
        block = world.captcha.solve(body, world.rng, rejected=True)
        email = acct.email if acct is not None else "unknown"
        err = ApiError.captcha_quality(
            jobid=new_jobid(world, "v" if job_type == "video" else "i", email),
            job_type=job_type, request=echo(body, email), captcha=block,
            attempts=len(block.get("attempts", [])) or 1, created=now, now=now, fault=kind,
        )  # fmt: skip
        if acct is not None:
            world.captcha.record(
                t=now, route=route, captcha=block, status=403, plan=acct.plan,
                tier=acct.paygate_tier, api_ms=world.rng.randint(300, 1500), reason=LOW_SCORE,
            )  # fmt: skip
    elif kind == "unavailable":
        err = ApiError.unavailable(fault=kind)
        captcha_status = 503
    elif kind == "captcha_failed":
        err = ApiError.captcha_failed(fault=kind)
    elif kind == "session_error":
        err = ApiError.session_error(fault=kind)
    elif kind == "timeout_408":
        err = ApiError.timeout(route, fault=kind)
    else:
        err = ApiError.internal(fault=kind)
    if acct is None:
        return err
    if err.stats == "failed":
        world.stats.add_event(now, group, acct.email, "failed")
    if captcha_status is not None:
        block = world.captcha.solve(body, world.rng)
        world.captcha.record(
            t=now, route=route, captcha=block, status=captcha_status, plan=acct.plan,
            tier=acct.paygate_tier, api_ms=world.rng.randint(300, 1500), reason=reason,
        )  # fmt: skip
    return err


async def deliver_job(request: web.Request, job: FakeJob, adm: Admission) -> web.StreamResponse:
    """Answer for a created job: drop (``reset_after_create``), 201, or wait and 200/4xx."""
    world = request.app[WORLD]
    rec = request[REC]
    if adm.outcome is not None:
        note_fault(request, adm.outcome)
    if adm.delivery is not None:
        note_fault(request, adm.delivery.kind)
        if adm.delivery.kind == "reset_after_create":
            job.connection_reset_after_create = True
            world.finish(rec, None)
            drop_connection(request)
            return web.Response(status=499)
        request[DELIVERY] = adm.delivery
    if job.async_:
        return json_response(created_body(job), 201)
    await world.clock.sleep(job.finished_at - world.now())
    if job.outcome == "completed":
        return json_response(sync_body(job, world.media))
    status, body = failed_sync_body(job)
    return json_response(body, status)
