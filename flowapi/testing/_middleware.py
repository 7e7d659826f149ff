"""The API origin's middleware: recording, auth, arrival-time faults, errors, delivery faults.

Per request, in order: record it (arrival order) → refuse Python urllib's default
``User-Agent`` with Cloudflare's 403 error 1010, as api.useapi.net's edge does (supplement
§1.1; switch: ``FakeFlowServer(block_default_user_agents=False)``) → check
``Authorization: Bearer <token>``
(401 ``{"error":"Unauthorized"}``) → decide arrival-time faults (``reset_before``,
``slow``, and on non-generation routes every other kind) → take a gate ticket for
generation POSTs → run the handler (:class:`ApiError` becomes its JSON response) → apply
``slow`` and ``bad_json``/``huge_body`` → record the status.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from aiohttp import web

from ._accounts import FakeAccount
from ._autojump import holding
from ._errors import ApiError
from ._faults import GATED_ROUTES
from ._generation import fault_error, note_fault
from ._http import DELIVERY, REC, TICKET, WORLD, json_response
from ._net import drop_connection
from ._util import json_bytes

__all__ = ["BLOCKED_USER_AGENT_PREFIXES", "CLOUDFLARE_1010_BODY", "HUGE_BODY_BYTES",
           "make_middleware"]

BLOCKED_USER_AGENT_PREFIXES = ("Python-urllib/",)
"""User-Agents the API origin refuses: urllib's default ``Python-urllib/3.x`` ("api.useapi.net's
Cloudflare edge rejects urllib's default User-Agent (error 1010, HTTP 403)", supplement
§1.1). Node's ``fetch``, curl and aiohttp defaults are not blocked (not documented)."""
CLOUDFLARE_1010_BODY = "error code: 1010"
"""The body of Cloudflare's "browser signature banned" refusal to a non-browser client."""

HUGE_BODY_BYTES = 16 * 1024 * 1024
"""Padding added by the ``huge_body`` fault, bytes."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _transform(resp: web.StreamResponse, kind: str) -> web.StreamResponse:
    if not isinstance(resp, web.Response) or not isinstance(resp.body, bytes):
        return resp
    raw = resp.body
    if kind == "bad_json":
        body = raw[: max(1, len(raw) // 2)] + b'\x00,"}{'
    else:
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if isinstance(data, dict):
            data["_padding"] = "x" * HUGE_BODY_BYTES
            body = json_bytes(data)
        else:
            body = raw + b" " * HUGE_BODY_BYTES
    out = web.Response(
        status=resp.status, body=body, content_type="application/json", charset="utf-8"
    )
    for key in ("Retry-After",):
        if key in resp.headers:
            out.headers[key] = resp.headers[key]
    return out


def make_middleware(
    prefix: str, templates: dict[tuple[str, str], str]
) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Build the middleware; ``templates`` maps (method, resource canonical) → route template."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        with holding(request.app[WORLD].clock, serving=True):  # no virtual-time jump mid-request
            return await handle(request, handler)

    async def handle(request: web.Request, handler: Handler) -> web.StreamResponse:
        world = request.app[WORLD]
        if not request.path.startswith(prefix):
            return await handler(request)
        resource = request.match_info.route.resource
        canonical = resource.canonical if resource is not None else ""
        route = templates.get((request.method, canonical), "UNKNOWN")
        auth_ok = request.headers.get("Authorization") == f"Bearer {world.token}"
        rec = world.record(request, route, auth_ok=auth_ok)
        request[REC] = rec
        agent = request.headers.get("User-Agent", "")
        if world.block_default_user_agents and agent.startswith(BLOCKED_USER_AGENT_PREFIXES):
            world.bump("cloudflare_1010")
            world.finish(rec, 403)
            return web.Response(
                status=403, text=CLOUDFLARE_1010_BODY, content_type="text/plain",
                headers={"Server": "cloudflare", "CF-RAY": f"{rec.index:016x}-FAKE"},
            )
        if not auth_ok:
            world.bump("auth_failures")
            err = ApiError.unauthorized()
            world.finish(rec, err.status)
            return json_response(err.body, err.status)
        gated = route in GATED_ROUTES
        decision = world.engine.evaluate(
            "pre", route, email=request.match_info.get("email"), gated=gated
        )
        if decision.reset_before:
            note_fault(request, "reset_before")
            world.finish(rec, None)
            drop_connection(request)
            return web.Response(status=499)
        ticket = world.gate.ticket() if gated else None
        if ticket is not None:
            request[TICKET] = ticket
        try:
            if decision.error is not None:
                path_email = request.match_info.get("email")
                acct: FakeAccount | None = world.accounts.get(path_email) if path_email else None
                raise fault_error(world, decision.error, route, "images", acct, None, {}, "video")
            if decision.delivery is not None:
                note_fault(request, decision.delivery.kind)
                request[DELIVERY] = decision.delivery
            resp = await handler(request)
        except ApiError as exc:
            if exc.fault:
                note_fault(request, exc.fault)
            resp = json_response(exc.body, exc.status, exc.headers)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            resp = json_response({"error": exc.reason}, exc.status)
        finally:
            if ticket is not None:
                world.gate.release(ticket)
        if rec.status is None and rec.finished_t is not None:
            return resp  # connection already dropped (reset_after_create)
        if decision.delay:
            note_fault(request, "slow")
            await world.clock.sleep(decision.delay)
        delivery = request.get(DELIVERY)
        if delivery is not None and delivery.kind in ("bad_json", "huge_body"):
            resp = _transform(resp, delivery.kind)
        world.finish(rec, resp.status)
        return resp

    return middleware
