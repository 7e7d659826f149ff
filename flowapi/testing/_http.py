"""HTTP plumbing shared by the route modules: keys, body parsing, JSON responses."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from aiohttp import web

from ._errors import ApiError
from ._faults import FaultRule
from ._records import RecordedRequest
from ._util import json_bytes
from ._world import World

__all__ = [
    "DELIVERY",
    "REC",
    "TICKET",
    "WORLD",
    "int_param",
    "json_response",
    "read_params",
    "str_param",
]

WORLD = web.AppKey("fakeflow_world", World)
"""The :class:`World` of an API app."""
REC = web.RequestKey("fakeflow_rec", RecordedRequest)
"""The :class:`RecordedRequest` of the current request."""
TICKET = web.RequestKey("fakeflow_ticket", int)
"""Ordered-gate ticket of a generation POST."""
DELIVERY = web.RequestKey("fakeflow_delivery", FaultRule)
"""A delivery fault (``reset_after_create``/``bad_json``/``huge_body``) decided for this request."""

_INT_FIELDS = frozenset(
    {"count", "duration", "seed", "captchaRetry", "startFrameIndex_1", "endFrameIndex_1"}
)
_BOOL_FIELDS = frozenset({"async"})


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """A JSON response (``application/json; charset=utf-8``)."""
    return web.Response(
        status=status,
        body=json_bytes(body),
        headers=headers,
        content_type="application/json",
        charset="utf-8",
    )


def _coerce(key: str, value: str) -> Any:
    if key in _BOOL_FIELDS:
        low = value.strip().lower()
        if low in {"true", "1"}:
            return True
        if low in {"false", "0", ""}:
            return False
        return value
    if key in _INT_FIELDS:
        try:
            return int(value)
        except ValueError:
            return value
    return value


async def read_params(request: web.Request, *, with_code: bool = False) -> dict[str, Any]:
    """Parse a JSON or form (``multipart/form-data``, urlencoded) body into a dict.

    Form values of numeric fields (``count``, ``duration``, ``seed``, ...) become ints and
    ``async`` a bool. An urlencoded body that starts with ``{`` is read as JSON (``curl -d``
    without a JSON ``Content-Type``).

    Raises:
        ApiError: 400 when the body is not a JSON object.
    """
    ctype = request.content_type
    if ctype == "multipart/form-data":
        form = await request.post()
        return {k: _coerce(k, v) for k, v in form.items() if isinstance(v, str)}
    raw = await request.read()
    if ctype == "application/x-www-form-urlencoded" and not raw.lstrip().startswith(b"{"):
        pairs = urllib.parse.parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)
        return {k: _coerce(k, v) for k, v in pairs}
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError.bad_request("Invalid JSON body", with_code=with_code) from None
    if not isinstance(data, dict):
        raise ApiError.bad_request("Request body must be a JSON object", with_code=with_code)
    for key in _BOOL_FIELDS & data.keys():
        if isinstance(data[key], str):
            data[key] = _coerce(key, data[key])
    return data


def int_param(
    body: dict[str, Any],
    key: str,
    *,
    lo: int,
    hi: int | None,
    default: int | None,
    with_code: bool = False,
) -> int | None:
    """An integer parameter in ``[lo, hi]`` (``hi=None``: unbounded) or ``default`` when absent."""
    if body.get(key) is None:
        return default
    v = body[key]
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int) or v < lo or (hi is not None and v > hi):
        rng = f"{lo}-{hi}" if hi is not None else f">= {lo}"
        raise ApiError.bad_request(f"Parameter {key} must be an integer {rng}", with_code=with_code)
    return v


def str_param(
    body: dict[str, Any],
    key: str,
    *,
    required: bool = False,
    max_len: int | None = None,
    with_code: bool = False,
) -> str | None:
    """A string parameter (400 when required and missing, not a string, or too long)."""
    v = body.get(key)
    if v is None or v == "":
        if required:
            raise ApiError.bad_request(f"Parameter {key} is required", with_code=with_code)
        return None
    if not isinstance(v, str):
        raise ApiError.bad_request(f"Parameter {key} must be a string", with_code=with_code)
    if max_len is not None and len(v) > max_len:
        raise ApiError.bad_request(
            f"Parameter {key} is too long ({len(v)} characters, maximum {max_len})",
            with_code=with_code,
        )
    return v
