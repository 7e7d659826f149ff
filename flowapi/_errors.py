"""The exception tree of flowapi (DESIGN §4).

::

    FlowError
    ├── InvalidParamsError(FlowError, ValueError)     rejected locally, nothing sent
    ├── APIError
    │   ├── APIConnectionError ── APITimeoutError(…, TimeoutError)
    │   ├── APIStatusError        .status_code .reason .body .headers
    │   │   ├── BadRequestError 400 ── ContentPolicyError
    │   │   ├── AuthenticationError 401
    │   │   ├── PaymentRequiredError 402
    │   │   ├── PermissionDeniedError 403 ── CaptchaRejectedError ("captcha_quality:")
    │   │   ├── NotFoundError 404
    │   │   ├── RequestTimeoutError 408
    │   │   ├── JobExpiredError 410
    │   │   ├── RateLimitError 429 .reason .retry_at .scope ── NoEligibleAccountError
    │   │   ├── ServerError 5xx ── ServiceUnavailableError 503 ── CaptchaServiceError
    │   │   └── SessionExpiredError 596
    │   ├── ResponseValidationError
    │   └── AmbiguousSubmitError   the submit may have been accepted
    ├── JobError ── JobFailedError .job .reason
    │            └── JobTimeoutError(…, TimeoutError)
    ├── RecordedFailureError .category .jobid   an earlier run's failure, from the journal
    ├── CreditBudgetError .max_credits .needed   a submit would pass max_credits (not sent)
    └── DownloadError .url .status .retryable   a media download failed

Every message says what happened and what to do next. No message, repr or attribute
holds the API token: the transport redacts response bodies before they get here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from flowapi._rate_limits import RATE_LIMIT_RULES, RateLimitScope

if TYPE_CHECKING:
    from flowapi.types.captcha import CaptchaAttempt, CaptchaInfo
    from flowapi.types.errors import ErrorBody
    from flowapi.types.jobs import Job

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AccountSkip",
    "AmbiguousSubmitError",
    "AuthenticationError",
    "BadRequestError",
    "CaptchaRejectedError",
    "CaptchaServiceError",
    "ContentPolicyError",
    "CreditBudgetError",
    "DownloadError",
    "FlowError",
    "InvalidParamsError",
    "JobError",
    "JobExpiredError",
    "JobFailedError",
    "JobTimeoutError",
    "NoEligibleAccountError",
    "NotFoundError",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "RateLimitError",
    "RateLimitScope",
    "RecordedFailureError",
    "RequestTimeoutError",
    "ResponseValidationError",
    "ServerError",
    "ServiceUnavailableError",
    "SessionExpiredError",
    "error_for_status",
    "is_captcha_rejection",
]

#: Content-policy reasons (POST /videos › Responses › 400; POST /images › 400).
CONTENT_POLICY_MARKERS = ("PUBLIC_ERROR_UNSAFE_GENERATION", "UNSAFE", "TRUMP_FACE", "MINOR",
                          "PROMINENT_PEOPLE", "CHILD", "SEXUAL", "VIOLENCE", "FINISH_REASON_INPUT")
CAPTCHA_QUALITY_PREFIX = "captcha_quality:"
CAPTCHA_SERVICE_PREFIX = "Captcha service failed:"
#: Google's text when it refuses the reCAPTCHA token: a 403 ``PERMISSION_DENIED`` (sync
#: response or failed job record). As a 429 the same words mean a low score (rate limit).
RECAPTCHA_FAILED = "recaptcha evaluation failed"


def is_captcha_rejection(text: str) -> bool:
    """Whether an error text says the captcha token was rejected: the ``captcha_quality:``
    prefix (useapi) or Google's ``reCAPTCHA evaluation failed`` (403 PERMISSION_DENIED).
    Callers check the status (403, or a failed job) themselves."""
    low = text.lstrip().lower()
    return low.startswith(CAPTCHA_QUALITY_PREFIX) or RECAPTCHA_FAILED in low


class FlowError(Exception):
    """Base of every error raised by flowapi.

    Attributes:
        moderated: ``True`` when Google's content policy refused the content: a
            :class:`ContentPolicyError` (a synchronous call or a submit answered 400) or a
            :class:`JobFailedError` of a moderated async job (also ``JobFailed.error`` of a
            watcher). The one check that tells moderation from every other failure::

                except flowapi.FlowError as exc:
                    if exc.moderated: ...   # rephrase, or resubmit (it varies per attempt)

            ``False`` for every other error (POST /videos › Content Moderation).
    """

    moderated: bool = False


class InvalidParamsError(FlowError, ValueError):
    """The request was rejected locally, before anything was sent.

    Attributes:
        field: the offending parameter in the API's own spelling (e.g. ``"duration"``),
            or ``None`` when the rule spans several fields.
        doc_section: where the rule is documented (e.g. ``"POST /videos › Model Capabilities"``).
    """

    def __init__(self, message: str, *, field: str | None = None,
                 doc_section: str | None = None) -> None:
        text = message if doc_section is None else f"{message} (see {doc_section})"
        super().__init__(text)
        self.field = field
        self.doc_section = doc_section


class APIError(FlowError):
    """A request to the API failed.

    Attributes:
        method: HTTP method, e.g. ``"POST"``.
        url: the request URL (never contains the token).
    """

    def __init__(self, message: str, *, method: str = "", url: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.url = url


class APIConnectionError(APIError):
    """The connection failed or broke; there is no HTTP response.

    Attributes:
        request_sent: ``False`` when the request certainly never reached the server
            (connect failure), ``True`` when it may have (reset or timeout after the
            request was written). A generation POST with ``request_sent=True`` is
            ambiguous and is never retried blindly (DESIGN §5, §7).
    """

    def __init__(self, message: str, *, method: str = "", url: str = "",
                 request_sent: bool = True) -> None:
        super().__init__(message, method=method, url=url)
        self.request_sent = request_sent


class APITimeoutError(APIConnectionError, TimeoutError):
    """The connect or idle-read timeout expired (see :class:`~flowapi.Timeouts`)."""


class APIStatusError(APIError):
    """The API answered with a non-success HTTP status.

    Attributes:
        status_code: the HTTP status, e.g. ``429``.
        reason: the Google ``ErrorInfo`` reason (``PUBLIC_ERROR_…``), the useapi error code
            (``no_eligible_account``) or ``None``.
        body: the decoded error envelope, or ``None`` if the body was not JSON.
        text: the raw body text, at most 4,000 characters, token redacted.
        headers: the response headers.
        jobid: the job id the body names (``jobId``/``jobid``; e.g. a 403 failed-job body or
            a 408), else ``None`` — look the job up before resubmitting.
        captcha: the body's ``captcha`` block (top level or ``response.captcha``), if any.
        captcha_attempts: every captcha attempt reported in the body (``()`` if none).
    """

    status: int | None = None

    def __init__(self, message: str, *, status_code: int, method: str = "", url: str = "",
                 reason: str | None = None, body: ErrorBody | None = None, text: str = "",
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message, method=method, url=url)
        self.status_code = status_code
        self.reason = reason
        self.body = body
        self.text = text
        self.headers: Mapping[str, str] = dict(headers or {})

    @property
    def jobid(self) -> str | None:
        """The job id named by the error body, or ``None``."""
        return (self.body.jobid or None) if self.body is not None else None

    @property
    def captcha(self) -> CaptchaInfo | None:
        """The ``captcha`` block of the error body (top level, else ``response.captcha``)."""
        if self.body is None:
            return None
        if self.body.captcha is not None:
            return self.body.captcha
        return self.body.response.captcha if self.body.response is not None else None

    @property
    def captcha_attempts(self) -> tuple[CaptchaAttempt, ...]:
        """Every captcha attempt the body reports (``captcha.attempts[]``), else ``()``."""
        info = self.captcha
        return tuple(info.attempts) if info is not None else ()


class BadRequestError(APIStatusError):
    """400: validation error, mode conflict, email mismatch or content policy."""

    status = 400


class ContentPolicyError(BadRequestError):
    """400 (or a failed job) moderated by Google's content policy.

    Moderation is not deterministic: the same request often passes on a later attempt
    (POST /videos › Content Moderation). The watcher resubmits only with
    ``resubmit_moderated=N`` because each attempt spends credits. :attr:`moderated` is
    ``True``.
    """

    moderated = True


class AuthenticationError(APIStatusError):
    """401: the API token is invalid. Check ``USEAPI_TOKEN`` / ``token=``."""

    status = 401


class PaymentRequiredError(APIStatusError):
    """402: no useapi.net subscription, no Google AI plan, or no Flow credits left."""

    status = 402


class PermissionDeniedError(APIStatusError):
    """403: request rejected by Google, or a reference belongs to another user."""

    status = 403


class CaptchaRejectedError(PermissionDeniedError):
    """403: the reCAPTCHA token was rejected — ``error`` starts with ``captcha_quality:``,
    or Google's ``PERMISSION_DENIED`` "reCAPTCHA evaluation failed" was forwarded.

    Raise ``captchaRetry`` to 5 or more and configure more providers
    (POST /videos/extend › 403). :attr:`captcha_attempts` lists what was tried.
    """


class NotFoundError(APIStatusError):
    """404: account, job, voice, character or media not found."""

    status = 404


class RequestTimeoutError(APIStatusError):
    """408: the server's own polling of a synchronous generation timed out (600 s).

    The job was accepted and **may still complete**: do not resubmit (that spends credits
    twice). Find it — :attr:`jobid` when the body names it (``flow.jobs.wait(jobid)``),
    else among recent jobs (``flow.jobs.stats("history")``, GET /jobs?options=history) or
    by your ``replyRef`` / ``replyUrl`` callback. Use async mode (``jobs.submit``) for long
    generations.
    """

    status = 408


class JobExpiredError(APIStatusError):
    """410: the job record expired (jobs are retained for 7 days)."""

    status = 410


class RateLimitError(APIStatusError):
    """429: a Google quota/throttle or useapi's ``no_eligible_account``.

    Attributes:
        retry_at: Unix time (seconds) before which retrying is pointless, from the later of
            the ``Retry-After`` header and the body's ``retryAfter``; ``None`` if unknown.
        scope: what is parked: ``"account"``, ``"model"``, ``"request"`` or ``"all"``.
        email: the account the 429 is about, if known: the request's ``email``, the
            account its references belong to, or the only configured account. ``None``
            when the server load-balanced the request over several accounts.
        model: the model the request targeted, if known.
        only_account: the request was load-balanced but only one account is configured,
            so every load-balanced request goes to :attr:`email`.
        local: ``True`` when nothing was sent: the lane was already parked by an earlier
            429 (the session refuses to send into a parked lane); ``retry_at`` says when
            it opens.
        lane_retry_at: Unix time (seconds) at which the session's lane guard lets the same
            request go again (a load-balanced request over several accounts may go again
            soon: the server routes it to a healthy account); ``None`` until the session
            has recorded the 429.
    """

    status = 429

    def __init__(self, message: str, *, status_code: int = 429, method: str = "",
                 url: str = "", reason: str | None = None, body: ErrorBody | None = None,
                 text: str = "", headers: Mapping[str, str] | None = None,
                 retry_at: float | None = None, scope: RateLimitScope = "request",
                 email: str | None = None, model: str | None = None,
                 only_account: bool = False, local: bool = False) -> None:
        super().__init__(message, status_code=status_code, method=method, url=url,
                         reason=reason, body=body, text=text, headers=headers)
        self.retry_at = retry_at
        self.scope: RateLimitScope = scope
        self.email = email
        self.model = model
        self.only_account = only_account
        self.local = local
        self.lane_retry_at: float | None = retry_at if local else None


class AccountSkip(NamedTuple):
    """One ``skipReasons[]`` entry of a ``no_eligible_account`` 429 (a tuple, so
    ``email, reason, model = skip`` works)."""

    email: str
    """The account that was filtered out."""
    reason: str
    """The 429 reason that quarantined it, e.g. ``PUBLIC_ERROR_USER_QUOTA_REACHED``."""
    model: str
    """The quarantined model, or ``"*"`` for the whole account."""


class NoEligibleAccountError(RateLimitError):
    """429 ``no_eligible_account``: every account is quarantined for the requested model.

    Attributes:
        skip_reasons: :class:`AccountSkip` ``(email, reason, model)`` per filtered account;
            ``model == "*"`` means account-wide.
    """

    def __init__(self, message: str, *,
                 skip_reasons: Iterable[tuple[str, str, str]] | None = None,
                 **kwargs: Any) -> None:
        kwargs.setdefault("scope", "all")
        super().__init__(message, **kwargs)
        self.skip_reasons: list[AccountSkip] = [AccountSkip(*s) for s in skip_reasons or ()]


class ServerError(APIStatusError):
    """5xx: a server-side failure."""


class ServiceUnavailableError(ServerError):
    """503: a transient Google-side outage; wait 5–10 s and retry."""

    status = 503


class CaptchaServiceError(ServiceUnavailableError):
    """503 ``Captcha service failed: …``: the captcha provider failed (key or balance).

    Never retried: fix the provider (POST /accounts/captcha-providers) first.
    """


class SessionExpiredError(APIStatusError):
    """596: the Google session refresh failed for this account.

    Delete the account (DELETE /accounts/{email}) and add it again (POST /accounts)
    following *Setup Google Flow*. Requests to that account stop until then.

    Attributes:
        email: the account, when known (the request's ``email``, its references' account
            or the only configured account).
        local: ``True`` when nothing was sent because the account's lane was already
            stopped by an earlier 596 in this session.
    """

    status = 596

    def __init__(self, message: str, *, status_code: int = 596, email: str | None = None,
                 local: bool = False, **kwargs: Any) -> None:
        super().__init__(message, status_code=status_code, **kwargs)
        self.email = email
        self.local = local


class ResponseValidationError(APIError):
    """The response body did not match the documented shape.

    Attributes:
        text: the body text (at most 4,000 characters, token redacted).
        path: where decoding failed, e.g. ``"$.media[0].videoUrl"``.
        status_code: the HTTP status of the response, when one arrived.
        malformed: ``True`` when the body is not JSON at all (cut short or garbled in
            transit; a GET is retried), ``False`` for a well-formed body of the wrong
            shape or one over the size cap.
    """

    def __init__(self, message: str, *, method: str = "", url: str = "", text: str = "",
                 path: str | None = None, status_code: int | None = None,
                 malformed: bool = False) -> None:
        super().__init__(message, method=method, url=url)
        self.text = text
        self.path = path
        self.status_code = status_code
        self.malformed = malformed


class AmbiguousSubmitError(APIError):
    """A generation request may or may not have been accepted (timeout or reset after send).

    It is never resubmitted blindly: a second submit would spend credits twice. The
    watcher looks for the job by its ``replyRef`` marker (DESIGN §7); if it cannot find
    it, this error is the job's outcome.

    Attributes:
        reply_ref: the ``replyRef`` marker sent with the request, if any.
        cause: the underlying connection error.
    """

    def __init__(self, message: str, *, method: str = "", url: str = "",
                 reply_ref: str | None = None, cause: BaseException | None = None) -> None:
        super().__init__(message, method=method, url=url)
        self.reply_ref = reply_ref
        self.cause = cause


class DownloadError(FlowError):
    """A media download failed: refused URL, HTTP error, truncated body or size cap.

    Attributes:
        url: the URL without its query string (signed URLs carry credentials).
        status: the HTTP status, if a response arrived.
        retryable: ``True`` when trying again may work: the body was cut short, or the
            signed URL answered 4xx/5xx (for 4xx, fetch the job again for fresh URLs).
            ``False`` for a refused URL or a body over ``max_bytes``.
    """

    def __init__(self, message: str, *, url: str, status: int | None = None,
                 retryable: bool = False) -> None:
        super().__init__(message)
        self.url = url
        self.status = status
        self.retryable = retryable


class JobError(FlowError):
    """A job ended without a usable result.

    Attributes:
        jobid: the job id (keep it: ``flow.jobs.get(jobid)`` works for 7 days).
    """

    def __init__(self, message: str, *, jobid: str) -> None:
        super().__init__(message)
        self.jobid = jobid


class JobFailedError(JobError):
    """The job's status is ``failed``.

    Attributes:
        job: the final job record.
        reason: the Google reason (``PUBLIC_ERROR_UNSAFE_GENERATION``…) or error text.
        moderated: ``True`` when the failure is a content-policy decision.
        captcha_rejected: ``True`` when Google rejected the captcha token (``captcha_quality:``
            or 403 ``PERMISSION_DENIED`` "reCAPTCHA evaluation failed"): a resubmit with a
            higher ``captchaRetry`` or more providers may pass.
    """

    def __init__(self, message: str, *, jobid: str, job: Job | None = None,
                 reason: str | None = None, moderated: bool = False,
                 captcha_rejected: bool = False) -> None:
        super().__init__(message, jobid=jobid)
        self.job = job
        self.reason = reason
        self.moderated = moderated
        self.captcha_rejected = captcha_rejected


class JobTimeoutError(JobError, TimeoutError):
    """The job did not finish before the deadline. It may still finish on the server.

    Attributes:
        last_status: the last status seen (``created``/``started``), if any.
    """

    def __init__(self, message: str, *, jobid: str, last_status: str | None = None) -> None:
        super().__init__(message, jobid=jobid)
        self.last_status = last_status


class RecordedFailureError(FlowError):
    """A failure an earlier run recorded in the journal, yielded again without a request.

    Attributes:
        category: the journal's failure category (``moderated``, ``captcha``,
            ``in_doubt``, ``rejected``, ``job_failed``, ``account``, …; see
            :class:`flowapi.journal.FailureCategory`).
        jobid: the job id, when a job was created.
        recorded: the recorded message (error class and text).
    """

    def __init__(self, message: str, *, category: str, jobid: str | None,
                 recorded: str) -> None:
        super().__init__(message)
        self.category = category
        self.jobid = jobid
        self.recorded = recorded


class CreditBudgetError(FlowError):
    """Submitting would pass the ``max_credits`` budget (``flow.watch(max_credits=…)``,
    ``flowapi batch --max-credits``); nothing was sent.

    Attributes:
        max_credits: the budget, in Flow credits.
        needed: credits already committed plus this submit's estimate (``None`` when the
            submit cannot be priced: an unknown model cannot be held to a budget).
    """

    def __init__(self, message: str, *, max_credits: float, needed: float | None) -> None:
        super().__init__(message)
        self.max_credits = max_credits
        self.needed = needed


_STATUS_CLASSES: Mapping[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: PaymentRequiredError,
    403: PermissionDeniedError,
    404: NotFoundError,
    408: RequestTimeoutError,
    410: JobExpiredError,
    429: RateLimitError,
    503: ServiceUnavailableError,
    596: SessionExpiredError,
}

_STATUS_HINTS: Mapping[int, str] = {
    400: "fix the request (see the message)",
    401: "check the API token (token= or USEAPI_TOKEN)",
    402: "renew the useapi.net subscription or the Google AI plan / Flow credits",
    403: "raise captchaRetry to 5+ and configure more captcha providers, or check that "
         "the referenced media belongs to your account",
    404: "check the email, id or reference",
    408: "the server stopped waiting after 600 s but the job may still complete: do not "
         "resubmit (that spends credits twice); find it with flow.jobs.stats('history') "
         "(GET /jobs?options=history), your replyRef or replyUrl callback, then "
         "flow.jobs.wait(jobid); use async mode (jobs.submit) for long generations",
    410: "the job expired (7-day retention); its result is gone",
    429: "wait until the cooldown ends",
    500: "a server-side error; retry later",
    502: "a gateway error; retry later",
    503: "a transient outage; retry in 5-10 s",
    504: "a gateway timeout; retry later",
    596: "the Google session broke: DELETE /accounts/{email}, then add it again with "
         "POST /accounts",
}


def error_class_for(status: int, *, error_text: str, reason: str | None,
                    body: ErrorBody | None = None) -> type[APIStatusError]:
    """Return the exception class for an HTTP status, refined by the body.

    One table plus a 5xx fallback; a 403 ``captcha_quality:`` or "reCAPTCHA evaluation
    failed" → :class:`CaptchaRejectedError`,
    ``Captcha service failed:`` → :class:`CaptchaServiceError`, content-policy reasons →
    :class:`ContentPolicyError`, ``no_eligible_account`` → :class:`NoEligibleAccountError`.
    """
    head = error_text.lstrip().lower()
    if status == 403 and (is_captcha_rejection(error_text) or (
            body is not None and is_captcha_rejection(body.message_text))):
        return CaptchaRejectedError
    if status == 503 and head.startswith(CAPTCHA_SERVICE_PREFIX.lower()):
        return CaptchaServiceError
    if status == 429 and (error_text == "no_eligible_account" or reason == "no_eligible_account"):
        return NoEligibleAccountError
    if status == 400 and is_content_policy(reason):
        return ContentPolicyError
    cls = _STATUS_CLASSES.get(status)
    if cls is not None:
        return cls
    if 500 <= status < 600:
        return ServerError
    return APIStatusError


def is_content_policy(reason: str | None) -> bool:
    """Whether a reason string denotes a content-policy (moderation) decision."""
    return reason is not None and any(m in reason for m in CONTENT_POLICY_MARKERS)


#: POST /videos › 503 and POST /videos/extend › 503: "the issue is with your captcha provider
#: (check API key and balance) rather than Google — don't retry until the provider is back".
CAPTCHA_SERVICE_HINT = (
    "the captcha provider failed, not Google: check its API key and balance (GET "
    "/accounts/captcha-providers, fix with POST /accounts/captcha-providers) and do not retry "
    "until the provider works again")


def status_hint(status: int, reason: str | None, error_text: str = "") -> str:
    """What to do next for a status/reason (and, for a 503, the ``error`` text), from the
    docs' guidance."""
    if status == 503 and error_text.lstrip().lower().startswith(
            CAPTCHA_SERVICE_PREFIX.lower()):
        return CAPTCHA_SERVICE_HINT
    if reason is not None and reason in RATE_LIMIT_RULES:
        return RATE_LIMIT_RULES[reason].hint
    if is_content_policy(reason):
        return ("the content was moderated; rephrase the prompt, change references or model, "
                "or resubmit (moderation varies between attempts)")
    return _STATUS_HINTS.get(status, "see the response body")


def error_for_status(status: int, *, method: str, url: str, error_text: str,
                     reason: str | None, body: ErrorBody | None, text: str,
                     headers: Mapping[str, str], **extra: Any) -> APIStatusError:
    """Build the right :class:`APIStatusError` subclass with a message that says what to do.

    Args:
        status: HTTP status code.
        method: HTTP method.
        url: request URL (no token).
        error_text: the envelope's human text (``error`` string or Google ``message``).
        reason: the Google reason or useapi error code, if any.
        body: decoded error envelope, if JSON.
        text: raw body text (redacted, truncated).
        headers: response headers.
        **extra: subclass fields (``retry_at``, ``scope``, ``email``, ``model``,
            ``skip_reasons``).
    """
    cls = error_class_for(status, error_text=error_text, reason=reason, body=body)
    what = error_text or f"HTTP {status}"
    if issubclass(cls, CaptchaRejectedError) and body is not None and not is_captcha_rejection(
            what):
        what = body.message_text or what
    if reason and reason not in what:
        what = f"{what} [{reason}]"
    hint = status_hint(status, reason, error_text)
    if issubclass(cls, CaptchaRejectedError):
        hint = ("Google rejected the reCAPTCHA token: raise captchaRetry to 5+, add captcha "
                "providers (POST /accounts/captcha-providers) or set captchaOrder, then submit "
                "again")
    jobid = body.jobid if body is not None else ""
    if status == 408 and jobid:
        hint = (f"the server stopped waiting after 600 s but job {jobid} may still complete: "
                f"do not resubmit; wait for it with flow.jobs.wait({jobid!r})")
    elif jobid:
        hint = f"{hint} (job {jobid})"
    message = f"{method} {url} → {status}: {what}. Next: {hint}."
    kwargs: dict[str, Any] = {
        "status_code": status, "method": method, "url": url, "reason": reason, "body": body,
        "text": text, "headers": headers,
    }
    if issubclass(cls, RateLimitError):
        kwargs.update({k: v for k, v in extra.items()
                       if k in ("retry_at", "scope", "email", "model", "only_account")})
        if issubclass(cls, NoEligibleAccountError):
            kwargs["skip_reasons"] = extra.get("skip_reasons")
    return cls(message, **kwargs)
