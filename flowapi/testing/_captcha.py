"""Captcha providers, per-request captcha parameters, captcha metadata and captcha stats.

Sources: GET/POST accounts/captcha-providers (docs bundle), supplement §2 (captcha
parameters: ``captchaToken`` / ``captchaRetry`` 1–10, default 3 / ``captchaOrder`` ≤10
entries, mutually exclusive) and §8 (``GET accounts/captcha-stats``).
"""

from __future__ import annotations

import random
import re
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from ._errors import ApiError
from ._util import iso, seeded_uuid

__all__ = ["PROVIDERS", "CaptchaState"]

PROVIDERS: tuple[str, ...] = (
    "CapSolver",
    "AntiCaptcha",
    "YesCaptcha",
    "CapMonster",
    "SolveCaptcha",
    "2Captcha",
    "EzCaptcha",
)
"""Configurable providers, in the default order (supplement §2)."""

_STATS_PROVIDERS = (*PROVIDERS, "UserProvided")
_SKU = {
    "free": "FREE",
    "plus": "G1_PLUS",
    "pro": "G1_TIER2",
    "ultra": "WS_ULTRA",
    "ultra-200": "WS_ULTRA",
}
_ROUTE_SLUG = {
    "POST videos": "post-videos",
    "POST videos/extend": "post-videos-extend",
    "POST videos/upscale": "post-videos-upscale",
    "POST images": "post-images",
    "POST images/upscale": "post-images-upscale",
    "POST voices": "post-voices",
}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class CaptchaState:
    """Configured providers, free credits and the captcha log of this (single) useapi user."""

    def __init__(self, uid: int, free_credits: int = 300) -> None:
        self.uid = uid
        self.providers: dict[str, str] = {}
        """Provider → API key."""
        self.free_credits = free_credits
        """Remaining free CapSolver credits (shown when no provider is configured); 300 on
        the first account since 2026 (api-update-2026-h2 §5.4; June overview: 100)."""
        self.log: list[dict[str, Any]] = []
        """One row per captcha-consuming request (the ``data`` rows of captcha-stats)."""

    # -- providers ------------------------------------------------------------------

    def masked(self) -> dict[str, Any]:
        """``GET accounts/captcha-providers`` body: masked keys, or ``freeCaptchaCredits``."""
        if self.providers:
            return {p: f"{k[:5]}…" for p, k in self.providers.items()}
        return {"freeCaptchaCredits": self.free_credits} if self.free_credits > 0 else {}

    def configure(self, body: Any) -> dict[str, Any]:
        """``POST accounts/captcha-providers``: set (or, with ``""``, remove) provider keys."""
        if not isinstance(body, dict) or not body:
            raise ApiError.bad_request(
                f"Request body must map a captcha provider ({', '.join(PROVIDERS)}) to its API key"
            )
        for name, key in body.items():
            if name not in PROVIDERS:
                raise ApiError.bad_request(
                    f"Unsupported captcha provider {name}. Supported: {', '.join(PROVIDERS)}"
                )
            if not isinstance(key, str):
                raise ApiError.bad_request(f"API key for {name} must be a string")
        for name, key in body.items():
            if key:
                self.providers[name] = key
            else:
                self.providers.pop(name, None)
        return self.masked()

    # -- per-request parameters --------------------------------------------------------

    def validate(self, body: dict[str, Any], *, with_code: bool = False) -> None:
        """Check ``captchaToken`` / ``captchaRetry`` / ``captchaOrder`` (400 on violations)."""
        given = [
            k for k in ("captchaToken", "captchaRetry", "captchaOrder") if body.get(k) is not None
        ]
        if len(given) > 1:
            raise ApiError.bad_request(
                "Parameters captchaToken, captchaRetry and captchaOrder are mutually exclusive",
                with_code=with_code,
            )
        if "captchaToken" in given and (
            not isinstance(body["captchaToken"], str) or not body["captchaToken"].strip()
        ):
            raise ApiError.bad_request(
                "Parameter captchaToken must be a non-empty string", with_code=with_code
            )
        if "captchaRetry" in given:
            v = body["captchaRetry"]
            if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 10:
                raise ApiError.bad_request(
                    "Parameter captchaRetry must be an integer between 1 and 10",
                    with_code=with_code,
                )
        if "captchaOrder" in given:
            v = body["captchaOrder"]
            names = [n.strip() for n in v.split(",")] if isinstance(v, str) else []
            if not names or not all(names) or len(names) > 10:
                raise ApiError.bad_request(
                    "Parameter captchaOrder must be a comma-separated list of 1-10 providers",
                    with_code=with_code,
                )
            for n in names:
                if n not in PROVIDERS:
                    raise ApiError.bad_request(
                        f"Unsupported captcha provider {n} in captchaOrder", with_code=with_code
                    )
                if n not in self.providers:
                    raise ApiError.bad_request(
                        f"Captcha provider {n} has no API key configured", with_code=with_code
                    )

    def _order(self, body: dict[str, Any]) -> list[str]:
        if isinstance(body.get("captchaOrder"), str):
            return [n.strip() for n in body["captchaOrder"].split(",")]
        configured = [p for p in PROVIDERS if p in self.providers]
        return configured or ["CapSolver"]

    def solve(
        self, body: dict[str, Any], rng: random.Random, *, rejected: bool = False
    ) -> dict[str, Any]:
        """Simulate solving: the full ``captcha`` block (with ``attempts``).

        ``rejected`` → every attempt of ``captchaRetry`` (default 3) "succeeded" but Google
        rejected the token (the ``captcha_quality`` 403 example).
        """
        if body.get("captchaToken"):
            return {
                "service": "UserProvided",
                "durationMs": 0,
                "attempts": [{"service": "UserProvided", "durationMs": 0, "success": True}],
            }
        order = self._order(body)
        n = int(body.get("captchaRetry") or 3) if rejected else 1
        attempts = []
        for i in range(n):
            attempts.append(
                {
                    "service": order[i % len(order)],
                    "taskId": seeded_uuid(rng),
                    "durationMs": rng.randint(2000, 8000),
                    "success": True,
                }
            )
        if not self.providers and self.free_credits > 0:
            self.free_credits -= 1
        last = attempts[-1]
        return {
            "service": last["service"],
            "taskId": last["taskId"],
            "durationMs": sum(a["durationMs"] for a in attempts),
            "attempts": attempts,
        }

    # -- stats -----------------------------------------------------------------------

    def record(
        self,
        *,
        t: float,
        route: str,
        captcha: dict[str, Any],
        status: int,
        plan: str,
        tier: str,
        api_ms: int,
        reason: str | None = None,
    ) -> None:
        """Log one captcha use (one row per attempt) for ``GET accounts/captcha-stats``."""
        d = datetime.fromtimestamp(t, tz=UTC)
        job = (
            d.strftime("%Y%m%d%H%M%S")
            + f"{d.microsecond // 1000:03d}-user:{self.uid}-bot:google-flow"
        )
        attempts = captcha.get("attempts") or []
        for n, a in enumerate(attempts, start=1):
            final = n == len(attempts)
            code = status if final else 403
            row: dict[str, Any] = {
                "timestamp": iso(t),
                "jobId": job,
                "provider": a["service"],
                "taskId": a.get("taskId", ""),
                "route": _ROUTE_SLUG.get(route, route.lower().replace(" ", "-").replace("/", "-")),
                "statusText": "OK" if code < 400 else "Error",
                "pageAction": "IMAGE_GENERATION" if "images" in route else "VIDEO_GENERATION",
                "error": "" if code < 400 else (reason or str(code)),
                "tier": tier,
                "sku": _SKU.get(plan, "WS_ULTRA"),
                "statusCode": code,
                "captchaDurationMs": a["durationMs"],
                "apiDurationMs": api_ms if final else 0,
                "attemptNumber": n,
            }
            if reason and final:
                row["reason"] = reason
            self.log.append(row)

    def stats(self, query: dict[str, str], now: float) -> dict[str, Any]:
        """``GET accounts/captcha-stats`` body for ``query`` (date, limit, provider, anonymized)."""
        if query.get("anonymized", "").lower() == "true":
            rows = self.log[-10000:]
            out: dict[str, Any] = {"anonymized": True, "total": len(rows)}
            if rows:
                out["summary"] = _summary(rows)
            return out
        provider = query.get("provider")
        if provider is not None and provider not in _STATS_PROVIDERS:
            raise ApiError.bad_request(
                f"Invalid provider {provider}. Supported: {', '.join(_STATS_PROVIDERS)}"
            )
        rows = [r for r in self.log if provider is None or r["provider"] == provider]
        out = {}
        if "limit" in query:
            try:
                limit = int(query["limit"])
            except ValueError:
                limit = 0
            if not 1 <= limit <= 50000:
                raise ApiError.bad_request("Parameter limit must be an integer between 1 and 50000")
            rows = rows[-limit:]
            out["limit"] = limit
        else:
            date = query.get("date") or datetime.fromtimestamp(now, tz=UTC).strftime("%Y-%m-%d")
            if not _DATE.match(date):
                raise ApiError.bad_request("Invalid date format. Use YYYY-MM-DD")
            rows = [r for r in rows if r["timestamp"].startswith(date)]
            out["date"] = date
        if provider is not None:
            out["provider"] = provider
        out["total"] = len(rows)
        if rows:
            out["summary"] = _summary(rows)
        out["data"] = rows
        return out


def _rate(rows: list[dict[str, Any]], key: str) -> tuple[dict[str, int], dict[str, float]]:
    size: Counter[str] = Counter()
    ok: Counter[str] = Counter()
    for r in rows:
        if r["statusCode"] == 503:
            continue
        size[r[key]] += 1
        ok[r[key]] += r["statusCode"] < 400
    return dict(size), {k: round(100.0 * ok[k] / n, 2) for k, n in size.items()}


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    first = datetime.fromisoformat(rows[0]["timestamp"].replace("Z", "+00:00"))
    last = datetime.fromisoformat(rows[-1]["timestamp"].replace("Z", "+00:00"))
    span = int((last - first).total_seconds())
    by_img: Counter[str] = Counter()
    by_vid: Counter[str] = Counter()
    for r in rows:
        key = str(r["statusCode"]) + (
            f":{r['reason']}" if r["statusCode"] == 429 and r.get("reason") else ""
        )
        (by_img if r["pageAction"] == "IMAGE_GENERATION" else by_vid)[key] += 1
    size_p, rate_p = _rate(rows, "provider")
    size_t, rate_t = _rate(rows, "tier")
    size_s, rate_s = _rate(rows, "sku")
    n = len(rows)
    return {
        "from": rows[0]["timestamp"],
        "to": rows[-1]["timestamp"],
        "time_span": f"{span // 3600}h {span % 3600 // 60}m",
        "sample_size_by_provider": size_p,
        "success_rate_by_provider": rate_p,
        "sample_size_by_tier": size_t,
        "success_rate_by_tier": rate_t,
        "sample_size_by_sku": size_s,
        "success_rate_by_sku": rate_s,
        "by_status_code_images": dict(by_img),
        "by_status_code_videos": dict(by_vid),
        "avg_captcha_ms": round(sum(r["captchaDurationMs"] for r in rows) / n),
        "avg_api_ms": round(sum(r["apiDurationMs"] for r in rows) / n),
        "avg_attempt": round(sum(r["attemptNumber"] for r in rows) / n, 2),
        "lookup": {
            "tiers": {
                "PAYGATE_TIER_NOT_PAID": "Free",
                "PAYGATE_TIER_ONE": "Google AI Plus / Pro",
                "PAYGATE_TIER_TWO": "Google AI Ultra",
            },
            "skus": {
                "FREE": "No subscription",
                "G1_PLUS": "Google AI Plus",
                "G1_TIER2": "Google AI Pro",
                "WS_ULTRA": "Google AI Ultra",
            },
        },
    }
