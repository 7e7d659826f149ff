"""Durable identity of a submission: content keys and per-attempt markers (DESIGN §7).

* A **content key** names a submission by what it asks for: a SHA-256 of the canonical
  wire body (API field names, sorted, without ``replyUrl`` — where callbacks go is not what
  is generated) plus the occurrence number among identical bodies. Reordering, inserting
  or deleting other submissions never changes it; changing the body does.
* A **marker** is unique per attempt and travels in ``replyRef``: ``flowapi:<24 hex>``, or
  ``flowapi:<24 hex>;<your replyRef>`` when the caller set their own ``replyRef`` (it comes
  back to them unchanged on outcomes; the API's 1024-character limit applies to the
  whole). Reconciliation after an ambiguous submit matches markers only, so it never adopts
  a job this journal did not submit.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping

import msgspec

__all__ = [
    "MARKER_PREFIX",
    "canonical_params",
    "content_key",
    "join_reply_ref",
    "new_marker",
    "split_reply_ref",
]

MARKER_PREFIX = "flowapi:"
#: The API's limit on ``replyRef`` (characters).
REPLY_REF_MAX = 1024
_MARKER = re.compile(r"flowapi:[0-9a-f]{24}")
_EXCLUDED = frozenset({"replyUrl", "async"})


def canonical_params(wire: Mapping[str, object]) -> str:
    """The canonical JSON text of a wire body: sorted keys, compact, UTF-8, without
    ``replyUrl`` and ``async``."""
    body = {k: v for k, v in wire.items() if k not in _EXCLUDED}
    return msgspec.json.encode(body, order="sorted").decode()


def content_key(kind: str, canonical: str, occurrence: int = 1) -> str:
    """``c-<32 hex>-<occurrence>``: the key of the ``occurrence``-th (1-based) submission
    of ``canonical`` params of class ``kind``."""
    digest = hashlib.sha256(f"{kind}\n{canonical}".encode()).hexdigest()[:32]
    return f"c-{digest}-{occurrence}"


def new_marker() -> str:
    """A fresh attempt marker, ``flowapi:`` + 24 random hex digits (96 bits)."""
    return MARKER_PREFIX + secrets.token_hex(12)


def join_reply_ref(marker: str, user_reply_ref: str | None) -> str:
    """The ``replyRef`` sent: the marker alone, or ``marker;user_reply_ref``.

    Raises:
        ValueError: the result would exceed the API's 1024 characters.
    """
    value = marker if user_reply_ref is None else f"{marker};{user_reply_ref}"
    if len(value) > REPLY_REF_MAX:
        raise ValueError(f"replyRef is limited to {REPLY_REF_MAX} characters and the watcher "
                         f"adds {len(marker) + 1}: shorten yours to at most "
                         f"{REPLY_REF_MAX - len(marker) - 1}")
    return value


def split_reply_ref(value: str | None) -> tuple[str | None, str | None]:
    """``(marker, user_reply_ref)`` of a ``replyRef`` as sent by :func:`join_reply_ref`;
    a value without a marker is all the user's: ``(None, value)``."""
    if value is None:
        return None, None
    m = _MARKER.match(value)
    if m is None:
        return None, value
    rest = value[m.end():]
    if not rest:
        return m.group(0), None
    if rest[0] == ";":
        return m.group(0), rest[1:]
    return None, value
