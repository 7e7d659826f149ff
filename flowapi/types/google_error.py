"""The error object Google forwards: :class:`GoogleError` (``{code, message, status,
details[]}``) with its ErrorInfo entries (:class:`ErrorDetail`).

It appears as the top-level ``error`` of an error body (:class:`~flowapi.types.errors.ErrorBody`),
as ``response.error`` of a job record, and as the ``error`` of a failed operation or media item
(:mod:`flowapi.types.media`).

Doc references name the spec sections: "POST /videos › Responses › 200" is the current
(June 2026) page in ``spec/seeds/post-videos.txt``; "supplement §5" is
``spec/api-reference-supplement.md``.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from ._base import ResponseStruct

__all__ = ["ErrorDetail", "GoogleError"]

_REASON_TOKEN = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")


class ErrorDetail(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """One entry of ``error.details[]`` (POST /videos › Responses › 429)."""

    type: str = msgspec.field(name="@type", default="")
    """``@type`` — e.g. ``type.googleapis.com/google.rpc.ErrorInfo``."""
    reason: str = ""
    """ErrorInfo reason, e.g. ``PUBLIC_ERROR_UNSAFE_GENERATION``; see :class:`ErrorReason`."""
    domain: str = ""
    """ErrorInfo domain when Google sends one (not in the docs' examples)."""
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)
    """Free-form metadata, e.g. ``{"canUpgradeForQuota": "true"}`` (string or bool)."""


class GoogleError(ResponseStruct, kw_only=True, frozen=True, rename="camel"):
    """The error object Google forwards: ``{code, message, status, details[]}``.

    Appears as the top-level ``error`` of an error body, as ``response.error`` of a job
    record or error body, and (with only ``code``/``message``) as an operation's or media
    item's ``error`` (POST /videos › Model › Error response structure).
    """

    code: int | None = None
    """HTTP-like status (400, 403, 429, 500, 503) or, on operation errors, a gRPC code (3)."""
    message: str = ""
    """Human message, e.g. ``"reCAPTCHA evaluation failed"``; on operation errors it can be a
    bare reason token such as ``PUBLIC_ERROR_MINOR``."""
    status: str = ""
    """gRPC status name: ``INVALID_ARGUMENT``, ``PERMISSION_DENIED``, ``RESOURCE_EXHAUSTED``,
    ``INTERNAL``, ``UNAVAILABLE``."""
    details: tuple[ErrorDetail, ...] = ()
    """ErrorInfo entries; usually one, carrying the :attr:`reason`."""

    @property
    def reason(self) -> str | None:
        """The first ErrorInfo ``reason`` in :attr:`details`; else :attr:`message` when it is a
        bare reason token (operation errors: ``{"code": 3, "message": "PUBLIC_ERROR_MINOR"}``)."""
        for detail in self.details:
            if detail.reason:
                return detail.reason
        if _REASON_TOKEN.fullmatch(self.message):
            return self.message
        return None

    @property
    def text(self) -> str:
        """One human line: ``"RESOURCE_EXHAUSTED: Resource has been exhausted ... (429)"``."""
        head = f"{self.status}: {self.message}" if self.status else self.message
        head = head or "Google API error"
        return f"{head} ({self.code})" if self.code is not None else head
