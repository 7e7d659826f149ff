"""Small pure helpers shared by the fake: time formatting, id building, JSON encoding.

Every time value in the fake is a float of *simulated* Unix seconds (see
:class:`flowapi._clock.ScaledClock`); these helpers turn them into the wire formats the
docs print (ISO-8601 with milliseconds and ``Z``, epoch milliseconds, ``M:SS``).
"""

from __future__ import annotations

import datetime as _dt
import math
import random
import re
import uuid
from typing import Any

import msgspec

__all__ = [
    "FIFTEEN_MINUTES",
    "SEVEN_DAYS",
    "elapsed_mss",
    "email_from_hex",
    "hex_email",
    "iso",
    "iso_micro",
    "json_bytes",
    "mask_email",
    "ms",
    "next_utc_midnight",
    "retry_after_seconds",
    "seeded_uuid",
    "user_id_from_token",
]

FIFTEEN_MINUTES = 15 * 60.0
"""Window of the load-balancing statistics (GET jobs › Load Balancing Algorithm), seconds."""

SEVEN_DAYS = 7 * 24 * 3600.0
"""Job retention before ``410 Job has expired`` (supplement §5), seconds."""

_ENCODER = msgspec.json.Encoder()


def json_bytes(obj: Any) -> bytes:
    """Encode ``obj`` as compact JSON bytes (msgspec)."""
    return _ENCODER.encode(obj)


def iso(t: float) -> str:
    """Simulated Unix seconds → ``2025-11-17T12:34:56.789Z`` (the docs' timestamp format)."""
    d = _dt.datetime.fromtimestamp(t, tz=_dt.UTC)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


def iso_micro(t: float) -> str:
    """Simulated Unix seconds → ``2026-05-20T23:14:02.931677Z`` (Google ``createTime`` format)."""
    d = _dt.datetime.fromtimestamp(t, tz=_dt.UTC)
    return d.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def ms(t: float) -> int:
    """Simulated Unix seconds → integer epoch milliseconds."""
    return round(t * 1000)


def elapsed_mss(seconds: float) -> str:
    """Seconds → ``M:SS`` as in ``GET jobs?options=executing`` (``"1:23"``, ``"12:05"``)."""
    s = max(0, int(seconds))
    return f"{s // 60}:{s % 60:02d}"


def next_utc_midnight(t: float) -> float:
    """The next UTC midnight strictly after simulated time ``t`` (per-model daily quota reset)."""
    d = _dt.datetime.fromtimestamp(t, tz=_dt.UTC)
    midnight = _dt.datetime(d.year, d.month, d.day, tzinfo=_dt.UTC) + _dt.timedelta(days=1)
    return midnight.timestamp()


def retry_after_seconds(until: float, now: float) -> int:
    """Whole seconds for a ``Retry-After`` header (ceil, at least 1)."""
    return max(1, math.ceil(until - now))


def hex_email(email: str) -> str:
    """Hex-encode an email the way ids do: ``user:{uid}-email:{hex}-image:{id}`` (§1.3)."""
    return email.encode("utf-8").hex()


def email_from_hex(value: str) -> str | None:
    """Decode the hex email inside an id; ``None`` when it is not valid hex UTF-8."""
    try:
        return bytes.fromhex(value).decode("utf-8")
    except ValueError:
        return None


def mask_email(email: str) -> str:
    """``john@gmail.com`` → ``jo***@gmail.com`` (how GET accounts/{email} masks ``sessionData``)."""
    local, _, domain = email.partition("@")
    return f"{local[:2]}***@{domain}" if domain else f"{local[:2]}***"


_TOKEN_UID = re.compile(r"^user:(\d+)-")


def user_id_from_token(token: str) -> int:
    """The useapi user id inside a token ``user:1234-...``; 12345 (the docs' example) otherwise."""
    m = _TOKEN_UID.match(token)
    return int(m.group(1)) if m else 12345


def seeded_uuid(rng: random.Random) -> str:
    """A version-4 UUID string drawn from ``rng`` (reproducible for a given seed)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))
