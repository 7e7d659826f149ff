"""The status → class table, Google reason extraction and messages (DESIGN §4)."""

from __future__ import annotations

import pytest

import flowapi
from flowapi import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    CaptchaRejectedError,
    CaptchaServiceError,
    ContentPolicyError,
    JobExpiredError,
    NoEligibleAccountError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeoutError,
    ServerError,
    ServiceUnavailableError,
    SessionExpiredError,
)
from flowapi._errors import error_class_for, error_for_status


@pytest.mark.parametrize(
    ("status", "text", "reason", "cls"),
    [
        (400, "Invalid request parameters", None, BadRequestError),
        (400, "API error: 400", "PUBLIC_ERROR_UNSAFE_GENERATION", ContentPolicyError),
        (400, "", "PUBLIC_ERROR_TRUMP_FACE_DETECTED", ContentPolicyError),
        (401, "Unauthorized", None, AuthenticationError),
        (402, "Account has no subscription or subscription expired", None,
         PaymentRequiredError),
        (403, "API error: 403", "PUBLIC_ERROR_SOMETHING_WENT_WRONG", PermissionDeniedError),
        (403, "captcha_quality: PUBLIC_ERROR_UNUSUAL_ACTIVITY after 3 attempts", None,
         CaptchaRejectedError),
        (404, "Job not found", None, NotFoundError),
        (408, "Polling timeout", None, RequestTimeoutError),
        (410, "Job has expired", None, JobExpiredError),
        (429, "", "PUBLIC_ERROR_USER_REQUESTS_THROTTLED", RateLimitError),
        (429, "no_eligible_account", "no_eligible_account", NoEligibleAccountError),
        (500, "Internal error encountered.", None, ServerError),
        (502, "", None, ServerError),
        (503, "Service temporarily unavailable.", None, ServiceUnavailableError),
        (503, "Captcha service failed: ERROR_ZERO_BALANCE", None, CaptchaServiceError),
        (596, "Failed to refresh session: 500 Internal Server Error", None,
         SessionExpiredError),
        (418, "teapot", None, APIStatusError),
    ],
)
def test_status_table(status: int, text: str, reason: str | None, cls: type) -> None:
    assert error_class_for(status, error_text=text, reason=reason) is cls


def test_hierarchy_matches_design() -> None:
    assert issubclass(flowapi.InvalidParamsError, ValueError)
    assert issubclass(flowapi.APITimeoutError, TimeoutError)
    assert issubclass(flowapi.APITimeoutError, flowapi.APIConnectionError)
    assert issubclass(flowapi.JobTimeoutError, TimeoutError)
    assert issubclass(flowapi.JobTimeoutError, flowapi.JobError)
    assert issubclass(ContentPolicyError, BadRequestError)
    assert issubclass(CaptchaRejectedError, PermissionDeniedError)
    assert issubclass(NoEligibleAccountError, RateLimitError)
    assert issubclass(CaptchaServiceError, ServiceUnavailableError)
    assert issubclass(ServiceUnavailableError, ServerError)
    assert issubclass(SessionExpiredError, APIStatusError)
    for cls in (flowapi.APIError, flowapi.JobError, flowapi.InvalidParamsError):
        assert issubclass(cls, flowapi.FlowError)


def test_messages_say_what_to_do() -> None:
    err = error_for_status(429, method="POST", url="https://x/videos", error_text="",
                           reason="PUBLIC_ERROR_PER_MODEL_DAILY_QUOTA_REACHED", body=None,
                           text="", headers={}, retry_at=123.0, scope="model",
                           email="a@b.c", model="veo-3.1-fast")
    assert isinstance(err, RateLimitError)
    assert err.retry_at == 123.0
    assert err.scope == "model"
    assert err.model == "veo-3.1-fast"
    assert "UTC midnight" in str(err)
    err596 = error_for_status(596, method="GET", url="u", error_text="Failed", reason=None,
                              body=None, text="", headers={})
    assert "POST /accounts" in str(err596)
    assert "DELETE /accounts" in str(err596)
    nea = error_for_status(429, method="POST", url="u", error_text="no_eligible_account",
                           reason="no_eligible_account", body=None, text="", headers={},
                           skip_reasons=[("a@b.c", "PUBLIC_ERROR_USER_QUOTA_REACHED", "*")],
                           scope="all")
    assert isinstance(nea, NoEligibleAccountError)
    assert nea.skip_reasons == [("a@b.c", "PUBLIC_ERROR_USER_QUOTA_REACHED", "*")]
    assert nea.scope == "all"
