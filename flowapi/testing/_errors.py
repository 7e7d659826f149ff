"""Error responses exactly as the docs print them, raised inside handlers as :class:`ApiError`.

Sources: post-videos (June 2026) "Responses" tabs, post-videos-extend (June 2026),
get-jobs-jobid, post-assets-email, the supplement §1.5 and §6–7 (voices, characters).
"""

from __future__ import annotations

from typing import Any

from ._accounts import LOW_SCORE, MODEL_QUOTA, Quarantine
from ._util import iso, retry_after_seconds

__all__ = ["ApiError"]

_ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"


class ApiError(Exception):
    """An HTTP error response: ``status``, JSON ``body`` and extra ``headers``."""

    def __init__(
        self,
        status: int,
        body: Any,
        *,
        headers: dict[str, str] | None = None,
        fault: str | None = None,
        stats: str | None = None,
    ) -> None:
        super().__init__(f"{status}: {body!r}")
        self.status = status
        """HTTP status."""
        self.body = body
        """JSON body."""
        self.headers = headers or {}
        """Extra headers (``Retry-After``)."""
        self.fault = fault
        """Fault kind that produced it, if injected."""
        self.stats = stats
        """``"rate_limited"`` / ``"failed"``: how it counts in load-balancing stats."""

    # -- generic ----------------------------------------------------------------

    @classmethod
    def unauthorized(cls) -> ApiError:
        """401 ``{"error": "Unauthorized"}``."""
        return cls(401, {"error": "Unauthorized"})

    @classmethod
    def bad_request(cls, message: str, *, with_code: bool = False) -> ApiError:
        """400 ``{"error": message}`` (``"code": 400`` added where the page prints it)."""
        body: dict[str, Any] = {"error": message}
        if with_code:
            body["code"] = 400
        return cls(400, body)

    @classmethod
    def not_found(cls, message: str) -> ApiError:
        """404 ``{"error": message}``."""
        return cls(404, {"error": message})

    @classmethod
    def account_not_found(cls, email: str) -> ApiError:
        """404 ``Google Flow account {email} not found``."""
        return cls.not_found(f"Google Flow account {email} not found")

    @classmethod
    def foreign_ref(cls, uid: int, what: str) -> ApiError:
        """403 ``Unauthorized access to user:{uid} detected in {what} reference``."""
        return cls(
            403, {"error": f"Unauthorized access to user:{uid} detected in {what} reference"}
        )

    @classmethod
    def payment_required(cls) -> ApiError:
        """402 subscription expired / insufficient credits."""
        return cls(402, {"error": "Account has no subscription or subscription expired"})

    # -- Google / upstream --------------------------------------------------------

    @classmethod
    def google_429(cls, reason: str, until: float, now: float, *, fault: str | None) -> ApiError:
        """429 RESOURCE_EXHAUSTED with ``Retry-After`` (seconds) and body ``retryAfter`` (ISO)."""
        detail: dict[str, Any] = {"@type": _ERROR_INFO, "reason": reason}
        if reason == MODEL_QUOTA:
            detail["metadata"] = {"canUpgradeForQuota": "true"}
        message = (
            "reCAPTCHA evaluation failed"
            if reason == LOW_SCORE
            else "Resource has been exhausted (e.g. check quota)."
        )
        body = {
            "error": {
                "code": 429,
                "message": message,
                "status": "RESOURCE_EXHAUSTED",
                "details": [detail],
            },
            "retryAfter": iso(until),
        }
        return cls(
            429,
            body,
            headers={"Retry-After": str(retry_after_seconds(until, now))},
            fault=fault,
            stats="rate_limited",
        )

    @classmethod
    def no_eligible(
        cls, skips: list[Quarantine], until: float, now: float, *, fault: str | None = None
    ) -> ApiError:
        """429 ``no_eligible_account`` with ``Retry-After`` header (post-videos 429 tab)."""
        reasons = {q.reason for q in skips}
        when = iso(until)
        if reasons == {MODEL_QUOTA}:
            message = (
                "All your Google Flow accounts have hit Google's daily per-model quota. "
                f"Quota resets at UTC midnight ({when})."
            )
        else:
            message = "All accounts are temporarily rate limited."
        body = {
            "error": "no_eligible_account",
            "message": message,
            "retryAfter": when,
            "skipReasons": [
                {"email": q.email, "reason": q.reason, "model": q.model} for q in skips
            ],
        }
        return cls(
            429, body, headers={"Retry-After": str(retry_after_seconds(until, now))}, fault=fault
        )

    @classmethod
    def unavailable(cls, *, fault: str | None = None) -> ApiError:
        """503 transient Google outage."""
        body = {
            "error": {
                "code": 503,
                "message": "Service temporarily unavailable.",
                "status": "UNAVAILABLE",
            }
        }
        return cls(503, body, fault=fault, stats="failed")

    @classmethod
    def captcha_failed(cls, *, fault: str | None = None) -> ApiError:
        """503 ``Captcha service failed: ERROR_ZERO_BALANCE`` (do not retry)."""
        body = {"error": "Captcha service failed: ERROR_ZERO_BALANCE", "code": 503}
        return cls(503, body, fault=fault, stats="failed")

    @classmethod
    def captcha_quality(
        cls,
        *,
        jobid: str,
        job_type: str,
        request: dict[str, Any],
        captcha: dict[str, Any],
        attempts: int,
        created: float,
        now: float,
        fault: str | None = None,
    ) -> ApiError:
        """403 with ``captcha_quality:`` prefix (post-videos 403 example + extend page prefix)."""
        body = {
            "code": 403,
            "created": iso(created),
            "error": f"captcha_quality: {LOW_SCORE} after {attempts} attempts",
            "jobid": jobid,
            "request": request,
            "response": {
                "captcha": captcha,
                "error": {
                    "code": 403,
                    "details": [
                        {"@type": _ERROR_INFO, "reason": "PUBLIC_ERROR_SOMETHING_WENT_WRONG"}
                    ],
                    "message": "reCAPTCHA evaluation failed",
                    "status": "PERMISSION_DENIED",
                },
            },
            "status": "failed",
            "type": job_type,
            "updated": iso(now),
        }
        return cls(403, body, fault=fault, stats="failed")

    @classmethod
    def session_error(cls, *, fault: str | None = None) -> ApiError:
        """596 session refresh failed (the account must be deleted and added again)."""
        body = {"error": "Failed to refresh session: 500 Internal Server Error"}
        return cls(596, body, fault=fault, stats="failed")

    @classmethod
    def timeout(cls, route: str, *, fault: str | None = None) -> ApiError:
        """408 polling timeout (POST videos: 120 attempts / 600 s; others ``Polling timeout``)."""
        msg = (
            "Video generation polling timeout after 120 attempts (600s)"
            if route == "POST videos"
            else "Polling timeout"
        )
        return cls(408, {"error": msg}, fault=fault, stats="failed")

    @classmethod
    def internal(cls, *, fault: str | None = None) -> ApiError:
        """500 ``INTERNAL`` (images 500 tab; used for ``poll_500``)."""
        body = {
            "error": {"code": 500, "message": "Internal error encountered.", "status": "INTERNAL"}
        }
        return cls(500, body, fault=fault, stats="failed")


def unsafe_generation_error() -> dict[str, Any]:
    """The Google ``INVALID_ARGUMENT`` / ``PUBLIC_ERROR_UNSAFE_GENERATION`` error object."""
    return {
        "code": 400,
        "message": "Request contains an invalid argument.",
        "status": "INVALID_ARGUMENT",
        "details": [{"@type": _ERROR_INFO, "reason": "PUBLIC_ERROR_UNSAFE_GENERATION"}],
    }


def internal_error() -> dict[str, Any]:
    """The Google ``INTERNAL`` error object (failed job example)."""
    return {"code": 500, "message": "Internal error encountered.", "status": "INTERNAL"}
