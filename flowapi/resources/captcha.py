"""``flow.captcha``: captcha providers and statistics (/accounts/captcha-providers, -stats)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Unpack

from flowapi._capabilities import CAPTCHA_PROVIDERS
from flowapi._errors import InvalidParamsError
from flowapi._options import RequestOptions, request_options
from flowapi.resources._base import Resource
from flowapi.types.captcha import CaptchaProviders, CaptchaStats

__all__ = ["Captcha"]

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Captcha(Resource):
    """Configure captcha-provider keys and compare their success rates."""

    async def set_providers(self, keys: dict[str, str] | None = None, *,
                            extra_body: Mapping[str, Any] | None = None,
                            extra_query: Mapping[str, str] | None = None,
                            extra_headers: Mapping[str, str] | None = None,
                            **providers: str) -> CaptchaProviders:
        """POST /accounts/captcha-providers: set provider API keys.

        Args:
            keys: ``{"CapSolver": "…", "AntiCaptcha": "…"}``; or pass them as keywords.
                An empty string removes a provider's key.

        Raises:
            InvalidParamsError: an unknown provider name (unless the session has
                ``validate=False``: new providers are sent as given).
        """
        body: dict[str, Any] = dict(keys or {}) | providers
        unknown = sorted(set(body) - set(CAPTCHA_PROVIDERS))
        if unknown and self._session.validate:
            raise InvalidParamsError(
                f"unknown captcha provider(s) {unknown}; known: {', '.join(CAPTCHA_PROVIDERS)}",
                doc_section="POST …/captcha-providers")
        if not body:
            raise InvalidParamsError("give at least one provider key")
        return await self._t.request("POST", ("accounts", "captcha-providers"),
                                     CaptchaProviders, json=body,
                                     **request_options(extra_body, extra_query, extra_headers))

    async def get_providers(self, **options: Unpack[RequestOptions]) -> CaptchaProviders:
        """GET /accounts/captcha-providers: masked keys, or ``freeCaptchaCredits``."""
        return await self._t.request("GET", ("accounts", "captcha-providers"),
                                     CaptchaProviders, **options)

    async def stats(self, *, date: str | None = None, limit: int | None = None,
                    provider: str | None = None, anonymized: bool | None = None,
                    **options: Unpack[RequestOptions]) -> CaptchaStats:
        """GET /accounts/captcha-stats: per-solve records and a summary.

        Args:
            date: ``YYYY-MM-DD`` (default today when ``limit`` is not given).
            limit: last N records across dates, 1–50,000 (``date`` is then ignored).
            provider: one of the providers, or ``UserProvided``.
            anonymized: ``True`` → an aggregated summary across all users, no rows.
        """
        params: dict[str, str] = {}
        if date is not None:
            if not _DATE.match(date):
                raise InvalidParamsError(f"date must be YYYY-MM-DD, got {date!r}", field="date")
            params["date"] = date
        if limit is not None:
            if not 1 <= limit <= 50000:
                raise InvalidParamsError("limit must be 1-50000", field="limit")
            params["limit"] = str(limit)
        if provider is not None:
            if provider not in (*CAPTCHA_PROVIDERS, "UserProvided"):
                raise InvalidParamsError(f"unknown provider {provider!r}", field="provider")
            params["provider"] = provider
        if anonymized is not None:
            params["anonymized"] = "true" if anonymized else "false"
        return await self._t.request("GET", ("accounts", "captcha-stats"), CaptchaStats,
                                     params=params, **options)
