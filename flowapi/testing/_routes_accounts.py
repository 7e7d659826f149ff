"""Accounts (``POST``/``GET``/``DELETE accounts``) and captcha providers/stats.

Sources: post-accounts, get-accounts, get-accounts-email, delete-accounts-email,
get/post captcha-providers (docs bundle) and supplement §8 (captcha-stats).

The fake cannot log in to Google, so ``POST accounts`` derives the account email from a
cookie row named ``email`` in the cookie table when present (a fake-only convention),
otherwise it assigns ``fake.userN@gmail.com``. A table with no ``name<TAB>value`` row is
rejected like invalid cookies: 400 ``Failed to validate cookies: 401 Unauthorized``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ._accounts import FakeAccount
from ._errors import ApiError
from ._http import REC, WORLD, json_response, read_params
from ._util import iso, mask_email
from ._world import World

__all__ = ["ROUTES"]

MAX_ACCOUNTS = 50
""""You can configure up to 50 Google Flow accounts per single useapi.net subscription."""

_MODELS = [
    ("veo-3.1-fast", "veo_3_1_t2v_fast_ultra", "Veo 3.1 - Fast", None),
    ("veo-3.1-quality", "veo_3_1_t2v", "Veo 3.1 - Quality", 100),
    ("veo-3.1-lite", "veo_3_1_t2v_lite_ultra", "Veo 3.1 - Lite", None),
    (
        "veo-3.1-lite-low-priority",
        "veo_3_1_t2v_lite_low_priority_ultra",
        "Veo 3.1 - Lite Lower Priority",
        None,
    ),
    ("omni-flash", "omni_flash", "Gemini Omni Flash", 12),
    ("omni-flash-1.2", "omni_flash_1_2", "Gemini Omni 1.2 Flash", 24),
]


def _session(acct: FakeAccount, now: float) -> tuple[float, float]:
    """(session expiry, next refresh): a day-long session refreshed an hour before expiry."""
    expires = now - (now - (acct.created or now)) % 86400 + 86400
    return expires, expires - 3600


def _summary(acct: FakeAccount, now: float) -> dict[str, Any]:
    expires, refresh = _session(acct, now)
    return {
        "created": iso(acct.created or now),
        "health": acct.health,
        "nextRefresh": {"scheduledFor": iso(refresh)},
        "project": {"projectId": acct.project_id, "projectTitle": "Fake Flow project"},
        "sessionData": {"expires": iso(expires)},
    }


def _cookie(c: dict[str, Any], domain: str) -> dict[str, Any]:
    value = str(c.get("value", ""))
    return {
        "name": c.get("name", ""),
        "value": f"{value[:3]}...(redacted)",
        "domain": c.get("domain") or domain,
        "path": c.get("path") or "/",
        "expires": c.get("expires") or "2027-11-10T12:00:00.000Z",
        "httpOnly": True,
        "secure": domain == "labs.google",
        "sameSite": "Lax",
    }


def _full(world: World, acct: FakeAccount, now: float) -> dict[str, Any]:
    expires, refresh = _session(acct, now)
    cookies = acct.cookies or [
        {"name": "HSID", "value": "AYQfake"},
        {"name": "SSID", "value": "Abcfake"},
    ]
    rec: dict[str, Any] = {
        "created": iso(acct.created or now),
        "accountCookies": [_cookie(c, ".google.com") for c in cookies],
        "sessionCookies": [_cookie({"name": "__Host-GAPS", "value": "1:eJyfake"}, "labs.google")],
        "sessionData": {
            "user": {
                "name": acct.name,
                "email": mask_email(acct.email),
                "image": "https://lh3.googleusercontent.com/a/fake",
            },
            "expires": iso(expires),
            "access_token": "ya29.a0A...(redacted)",
        },
        "project": {"projectId": acct.project_id, "projectTitle": "Fake Flow project"},
        "nextRefresh": {
            "messageId": f"msg-{acct.project_id[:8] if acct.project_id else 'fake'}",
            "scheduledFor": iso(refresh),
        },
        "health": acct.health,
    }
    if acct.health == "OK":
        rec["credits"] = {"credits": acct.credits, "userPaygateTier": acct.paygate_tier}
        models = []
        for public, key, display, cost in _MODELS:
            if public == "veo-3.1-lite-low-priority" and acct.plan != "ultra-200":
                continue
            lo, hi = world.video_seconds.get(public, (60.0, 120.0))
            m: dict[str, Any] = {
                "key": key
                if acct.is_ultra or not key.endswith("_ultra")
                else key[: -len("_ultra")],
                "displayName": display,
                "supportedAspectRatios": [
                    "VIDEO_ASPECT_RATIO_LANDSCAPE",
                    "VIDEO_ASPECT_RATIO_PORTRAIT",
                ],
                "capabilities": ["VIDEO_MODEL_CAPABILITY_TEXT", "VIDEO_MODEL_CAPABILITY_AUDIO"],
                "videoLengthSeconds": 8,
                "videoGenerationTimeSeconds": round((lo + hi) / 2),
                "framesPerSecond": 24,
                "paygateTier": acct.paygate_tier,
                "accessType": "MODEL_ACCESS_TYPE_GENERAL",
                "modelAccessInfo": {},
                "modelMetadata": {"veoModelName": "Beta Audio"},
            }
            if cost is not None or not acct.is_ultra:
                m["creditCost"] = cost if cost is not None else (20 if "fast" in key else 10)
            models.append(m)
        rec["models"] = {"videoModels": models}
    return rec


def _parse_cookies(table: str) -> list[dict[str, Any]]:
    rows = []
    for line in table.splitlines():
        cells = [c.strip() for c in line.split("\t")]
        if len(cells) < 2 or not cells[0] or cells[0].lower() == "name":
            continue
        row: dict[str, Any] = {"name": cells[0], "value": cells[1]}
        if len(cells) > 2:
            row["domain"] = cells[2]
        if len(cells) > 3:
            row["path"] = cells[3]
        if len(cells) > 4:
            row["expires"] = cells[4]
        rows.append(row)
    return rows


async def post_accounts(request: web.Request) -> web.StreamResponse:
    """``POST accounts``: 201 new account, 200 updated; 400 on an unusable cookie table."""
    world: World = request.app[WORLD]
    body = await read_params(request)
    table = body.get("cookies")
    if not table:
        raise ApiError.bad_request("Parameter cookies is required")
    if not isinstance(table, str):
        raise ApiError.bad_request("Parameter cookies must be a string")
    rows = _parse_cookies(table)
    if not rows:
        raise ApiError.bad_request("Failed to validate cookies: 401 Unauthorized")
    email = next(
        (str(r["value"]) for r in rows if r["name"].lower() == "email" and "@" in str(r["value"])),
        None,
    )
    if email is None:
        n = len(world.accounts.accounts) + 1
        while f"fake.user{n}@gmail.com" in world.accounts.accounts:
            n += 1
        email = f"fake.user{n}@gmail.com"
    existing = world.accounts.get(email)
    now = world.now()
    if existing is None and len(world.accounts.accounts) >= MAX_ACCOUNTS:
        raise ApiError.bad_request(
            f"Maximum number of Google Flow accounts ({MAX_ACCOUNTS}) reached"
        )
    cookies = [r for r in rows if r["name"].lower() != "email"]
    if existing is not None:
        existing.cookies = cookies
        existing.health = "OK"
        acct, status = existing, 200
    else:
        acct, status = world.accounts.add(FakeAccount(email=email, cookies=cookies), now), 201
    request[REC].email = email
    body_out = _full(world, acct, now)
    body_out.pop("credits", None)
    body_out.pop("models", None)
    body_out.pop("health", None)
    return json_response(body_out, status)


async def get_accounts(request: web.Request) -> web.StreamResponse:
    """``GET accounts``: map email → summary (``{}`` when none)."""
    world: World = request.app[WORLD]
    now = world.now()
    return json_response({e: _summary(a, now) for e, a in world.accounts.accounts.items()})


def _account(request: web.Request) -> FakeAccount:
    world: World = request.app[WORLD]
    email = request.match_info["email"]
    request[REC].email = email
    acct = world.accounts.get(email)
    if acct is None:
        raise ApiError.account_not_found(email)
    return acct


async def get_account(request: web.Request) -> web.StreamResponse:
    """``GET accounts/{email}``: full record incl. ``health``, ``credits``, ``models``."""
    world: World = request.app[WORLD]
    return json_response(_full(world, _account(request), world.now()))


async def delete_account(request: web.Request) -> web.StreamResponse:
    """``DELETE accounts/{email}``."""
    world: World = request.app[WORLD]
    acct = _account(request)
    world.accounts.delete(acct.email)
    return json_response({"message": f"Google Flow account {acct.email} deleted"})


async def post_captcha_providers(request: web.Request) -> web.StreamResponse:
    """``POST accounts/captcha-providers``: provider → key (``""`` removes); masked result."""
    world: World = request.app[WORLD]
    body = await read_params(request)
    return json_response(world.captcha.configure(body))


async def get_captcha_providers(request: web.Request) -> web.StreamResponse:
    """``GET accounts/captcha-providers``: masked keys or ``freeCaptchaCredits``."""
    world: World = request.app[WORLD]
    return json_response(world.captcha.masked())


async def get_captcha_stats(request: web.Request) -> web.StreamResponse:
    """``GET accounts/captcha-stats?date=&limit=&provider=&anonymized=``."""
    world: World = request.app[WORLD]
    return json_response(world.captcha.stats(dict(request.query), world.now()))


ROUTES = [
    (
        "POST",
        "accounts/captcha-providers",
        "POST accounts/captcha-providers",
        post_captcha_providers,
    ),
    ("GET", "accounts/captcha-providers", "GET accounts/captcha-providers", get_captcha_providers),
    ("GET", "accounts/captcha-stats", "GET accounts/captcha-stats", get_captcha_stats),
    ("POST", "accounts", "POST accounts", post_accounts),
    ("GET", "accounts", "GET accounts", get_accounts),
    ("GET", "accounts/{email}", "GET accounts/{email}", get_account),
    ("DELETE", "accounts/{email}", "DELETE accounts/{email}", delete_account),
]
"""(method, path under the base URL, route template, handler)."""
