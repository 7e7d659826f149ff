"""The one request loop of flowapi (DESIGN §2, §5).

:class:`Transport` joins URLs with yarl, adds the ``Authorization`` header (only ever for
the API origin), encodes bodies and decodes responses with msgspec, turns statuses into the
error tree, and retries according to :mod:`flowapi._retry`. Every decision is logged at
DEBUG on ``logging.getLogger("flowapi")``; the token never appears in a log line.

Generation requests (``submit=True``) also pass the session-wide lane guard
(:class:`~flowapi._lanes.Lanes`): a 429 that quarantines an account or model parks it
until ``retry_at``, a 596 stops the account, and a later generation request for a parked
or stopped lane is refused locally (``RateLimitError(local=True)`` /
``SessionExpiredError(local=True)``) without being sent. The account of a request is its
``email``, else the account its references were uploaded to (the hex-encoded email inside
``user:…-email:{hex}-…`` ids, supplement §1.3), else — for a 429/596 on a load-balanced
request — the only configured account, if there is just one (``GET /accounts``, cached).
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp
import anyio
import msgspec
from yarl import URL

from flowapi._clock import Clock
from flowapi._errors import (
    AccountSkip,
    AmbiguousSubmitError,
    APIError,
    APIStatusError,
    FlowError,
    InvalidParamsError,
    RateLimitError,
    RateLimitScope,
    ResponseValidationError,
    ServiceUnavailableError,
    SessionExpiredError,
    error_for_status,
    status_hint,
)
from flowapi._lanes import Lanes
from flowapi._media_policy import MediaPolicy
from flowapi._net_errors import TRANSPORT_ERRORS, redact, redact_bytes, translate_client_error
from flowapi._rate_limits import rate_limit_rule
from flowapi._retry import Decision, RetryBudget, RetryPolicy, classify, parse_retry_after
from flowapi.types._base import ResponseStruct, decode, encoder
from flowapi.types.errors import ErrorBody

__all__ = ["Timeouts", "Transport", "encode_email", "encode_id", "redact"]

log = logging.getLogger("flowapi")

T = TypeVar("T")

#: Characters left as-is in raw id segments (RFC 3986 pchar minus nothing the API uses).
_RAW_ID_SAFE = ":@*!$&'()+,;=-._~"
_TEXT_LIMIT = 4000
#: ``user:{uid}-email:{hex}-image:…`` (supplement §1.3: the account email, hex-encoded).
_REF_EMAIL = re.compile(r"^user:\d+-email:([0-9a-fA-F]{2,512})-")
#: Seconds a ``GET /accounts`` answer is reused to tell "the only account".
_ACCOUNTS_TTL = 300.0
#: Margin added to a server-requested wait so the retry lands after ``retry_at``.
_WAIT_MARGIN = 0.05


def ref_email(value: object) -> str | None:
    """The account email inside a reference id (``user:…-email:{hex}-…``), or ``None``."""
    if not isinstance(value, str):
        return None
    m = _REF_EMAIL.match(value)
    if m is None:
        return None
    try:
        email = bytes.fromhex(m.group(1)).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    return email if "@" in email else None


def routed_email(email: str | None, body: Any) -> str | None:
    """The account a generation request goes to without load balancing: its ``email``,
    else the account of its references (POST /videos › Account selection), else ``None``."""
    if email:
        return email
    if isinstance(body, Mapping):
        for value in body.values():
            found = ref_email(value)
            if found is None and isinstance(value, list):
                found = next((e for e in map(ref_email, value) if e), None)
            if found is not None:
                return found
    return None


def _iso(t: float) -> str:
    """Unix time ``t`` as ``YYYY-MM-DDTHH:MM:SSZ`` (any float: never raises)."""
    try:
        return datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return f"unix time {t:.0f}"


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Network timeouts in seconds. The idle-read timeouts catch a stalled server; the total
    timeouts catch one that trickles a byte now and then (each request's overall deadline).

    Attributes:
        connect: to open a connection (TCP + TLS), default 15.
        read: idle-read timeout — longest silence while reading a response, default 60.
        generation_read: idle-read timeout for synchronous generation calls, where the
            server holds the request until the media is ready (up to 600 s, then 408);
            default 660.
        download_read: idle-read timeout for media downloads, default 60.
        total: the most one API request (one attempt: connect, send, read) may take,
            default 900 (above a synchronous generation's 600 s server-side wait);
            ``None`` for no limit. A retry starts a new attempt. Raise it to upload a
            100 MB video over a link slower than ~1 Mbit/s.
        download_total: the most one media download may take, redirects included,
            default ``None`` (no limit: a 2 GiB video on a slow link is legitimate; the
            idle-read timeout still applies). Per call: ``media.download(total_timeout=)``.
    """

    connect: float = 15.0
    read: float = 60.0
    generation_read: float = 660.0
    download_read: float = 60.0
    total: float | None = 900.0
    download_total: float | None = None


def encode_email(email: str) -> str:
    """URL-encode an email (or voice/character ref) path segment (``@`` → ``%40``)."""
    return quote(email, safe="")


def encode_id(value: str) -> str:
    """Encode a job id the way the official examples send it: raw, ``:``/``@``/``*`` kept.

    Only characters that cannot appear in a path segment (``/``, ``?``, ``#``, spaces,
    non-ASCII) are percent-encoded.
    """
    return quote(value, safe=_RAW_ID_SAFE)


class Transport:
    """Sends requests to the API origin and returns decoded models.

    Args:
        http: the aiohttp session (owned by :class:`~flowapi.FlowSession`).
        base_url: API base URL ending in ``/``.
        token: the bearer token (kept private; never logged).
        user_agent: explicit ``User-Agent`` header.
        timeouts: see :class:`Timeouts`.
        retry: see :class:`~flowapi.RetryPolicy`.
        budget: the session's shared :class:`~flowapi.RetryBudget`.
        clock: time source.
        max_response_bytes: size cap for a response body after decompression, default
            16 MiB (calls that return base64 media raise it per call).
        media_http: the aiohttp session for media downloads (its resolver enforces
            ``media_policy``); default ``http``.
        media_policy: where media downloads may go, default the strictest
            :class:`~flowapi._media_policy.MediaPolicy`.
    """

    def __init__(self, *, http: aiohttp.ClientSession, base_url: URL, token: str,
                 user_agent: str, timeouts: Timeouts, retry: RetryPolicy,
                 budget: RetryBudget, clock: Clock,
                 max_response_bytes: int = 16 * 1024 * 1024,
                 media_http: aiohttp.ClientSession | None = None,
                 media_policy: MediaPolicy | None = None) -> None:
        self.http = http
        self.media_http = media_http if media_http is not None else http
        self.media_policy = media_policy if media_policy is not None else MediaPolicy()
        self.base_url = base_url
        self._token = token
        self.user_agent = user_agent
        self.timeouts = timeouts
        self.retry = retry
        self.budget = budget
        self.clock = clock
        self.max_response_bytes = max_response_bytes
        self._rng = random.Random()
        self.requests_sent = 0
        self.lanes = Lanes()
        """Session-wide lane guard for generation requests (see the module docstring)."""
        self._accounts: tuple[float, list[str] | None] | None = None
        self._accounts_lock = anyio.Lock()

    def __repr__(self) -> str:
        return f"Transport(base_url={str(self.base_url)!r})"

    def url(self, *segments: str) -> URL:
        """Join already-encoded path segments onto the base URL (use :func:`encode_email`
        and :func:`encode_id` for ids)."""
        return self.base_url.joinpath(*segments, encoded=True)

    async def request(
        self,
        method: str,
        segments: Sequence[str],
        response_type: type[T],
        *,
        json: Any = None,
        data: bytes | None = None,
        content_type: str | None = None,
        params: Mapping[str, str] | None = None,
        submit: bool = False,
        read_timeout: float | None = None,
        total_timeout: float | None = None,
        max_bytes: int | None = None,
        email: str | None = None,
        model: str | None = None,
        reply_ref: str | None = None,
        retry: RetryPolicy | None = None,
        moderated_500: bool = False,
        extra_body: Mapping[str, Any] | None = None,
        extra_query: Mapping[str, str] | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> T:
        """Send a request, retrying per policy, and decode the 2xx body as ``response_type``.

        Args:
            method: HTTP method.
            segments: encoded path segments below the base URL.
            response_type: msgspec type of the success body.
            json: a JSON body (a dict or Struct), encoded with msgspec.
            data: a raw body (asset uploads), with ``content_type``.
            content_type: Content-Type for ``data``.
            params: query parameters.
            submit: ``True`` for requests that spend credits (generation POSTs): only
                retried when the server certainly did not take them.
            read_timeout: idle-read timeout override, seconds.
            total_timeout: overall deadline of each attempt, seconds (default
                ``Timeouts.total``; the smaller of the two applies).
            max_bytes: response size cap override, bytes.
            email: the account the request targets (for rate-limit scopes).
            model: the model the request targets (for rate-limit scopes).
            reply_ref: the ``replyRef`` marker sent (reported on ambiguous failures).
            retry: per-call retry policy override.
            moderated_500: the endpoint documents a 500 with the Google error envelope as
                a definite answer (POST images: the images were moderated), so such a 500
                is raised as :class:`~flowapi.ServerError` rather than ambiguous.
            extra_body: keys merged into the JSON body as-is (after local validation, so
                fields newer than this SDK are sent even with ``validate=True``); they
                win over the SDK's own keys. Not allowed on GET or raw uploads.
            extra_query: query parameters added as-is (win over the SDK's own).
            extra_headers: headers added as-is (``Authorization`` cannot be replaced).

        Raises:
            InvalidParamsError: an ``extra_*`` option that cannot be sent (nothing sent).
            APIStatusError: (a subclass) for a non-2xx response that is not retried.
            RateLimitError: also with ``local=True`` when a generation request was not sent
                because its lane is parked; ``SessionExpiredError(local=True)`` when its
                account was stopped by a 596.
            APIConnectionError: connection failures after retries.
            AmbiguousSubmitError: a ``submit`` request may have been accepted.
            ResponseValidationError: the body is not the documented shape or too large.
        """
        policy = retry or self.retry
        url = self.url(*segments)
        query = {**(params or {}), **(extra_query or {})}
        if query:
            url = url.with_query(query)
        body: bytes | None = data
        headers = {"User-Agent": self.user_agent, "Accept": "application/json"}
        if extra_headers:
            headers.update(_extra_headers(extra_headers))
        headers["Authorization"] = f"Bearer {self._token}"
        if extra_body:
            json = _merge_extra_body(method, json, data, extra_body)
        if json is not None:
            body = encoder.encode(json)
            headers["Content-Type"] = "application/json"
        elif content_type is not None:
            headers["Content-Type"] = content_type
        lane = routed_email(email, json) if submit else None
        start = self.clock.now()
        attempt = 0
        retries_429: dict[str | None, int] = {}  # inline retries after a 429, per reason
        while True:
            attempt += 1
            try:
                if submit:
                    self._check_lane(lane, model, method, url)
                result = await self._once(method, url, headers, body, response_type,
                                          read_timeout=read_timeout,
                                          total_timeout=total_timeout, max_bytes=max_bytes,
                                          email=lane, model=model)
                if submit and _async_without_jobid(json, result):
                    raise ResponseValidationError(
                        f"{method} {url}: the job was created but the response carries no "
                        "jobid", method=method, url=str(url), status_code=201)
                return result
            except APIError as exc:
                if submit:
                    await self._note_refusal(exc, lane, model)
                reason_429 = exc.reason if isinstance(exc, RateLimitError) else None
                decision = classify(exc, submit=submit,
                                    same_429_retries=retries_429.get(reason_429, 0),
                                    moderated_500=moderated_500)
                if decision is Decision.AMBIGUOUS:
                    log.debug("%s %s: ambiguous submit (%s); not retrying", method, url,
                              type(exc).__name__)
                    raise AmbiguousSubmitError(
                        f"{method} {url}: {_ambiguity(exc)}; the job may or may not "
                        "exist. It is not resubmitted automatically (that could spend "
                        "credits twice): look for it with flow.jobs.stats('history') or by "
                        f"its replyRef {reply_ref!r}.",
                        method=method, url=str(url), reply_ref=reply_ref, cause=exc,
                    ) from exc
                if decision is Decision.RAISE or attempt >= policy.attempts:
                    raise
                wait = self._wait_before_retry(exc, attempt, policy, start)
                if wait is None:
                    raise
                log.debug("%s %s: attempt %d failed (%s); retrying in %.2fs", method, url,
                          attempt, type(exc).__name__, wait)
                if isinstance(exc, RateLimitError):
                    retries_429[reason_429] = retries_429.get(reason_429, 0) + 1
                await self.clock.sleep(wait)

    # -- the lane guard of generation requests -------------------------------------------

    def _check_lane(self, lane: str | None, model: str | None, method: str, url: URL) -> None:
        """Refuse (without sending) a generation request into a parked or stopped lane."""
        dead = self.lanes.dead_reason(lane)
        if dead is not None:
            raise SessionExpiredError(
                f"{method} {url}: not sent: {dead}", status_code=596, method=method,
                url=str(url), email=lane, local=True)
        now = self.clock.time()
        park = self.lanes.blocked(lane, model, now)
        if park is None:
            return
        who = f"account {lane}" if lane else "load-balanced requests"
        what = f"{who}, model {model}" if park.scope == "model" and model else who
        log.debug("%s %s: lane %s parked until %s (%s): not sent", method, url, what,
                  _iso(park.until), park.reason)
        # the scope tells a watcher what to park: load-balanced requests → its "~lb" lane
        # ("all"), a pinned one → that account, or that model on it
        scope: RateLimitScope
        if lane is None:
            scope = "all"
        elif model and park.scope in ("model", "all"):
            scope = "model"
        else:
            scope = "account"
        raise RateLimitError(
            f"{method} {url}: not sent: {what} is parked until {_iso(park.until)} after a "
            f"429 {park.reason}. Next: {status_hint(429, park.reason)}.",
            method=method, url=str(url), reason=park.reason, retry_at=park.until,
            scope=scope, email=lane, model=model, local=True)

    async def _note_refusal(self, exc: APIError, lane: str | None, model: str | None) -> None:
        """Park or stop the lane of a generation request the server refused (429, 596)."""
        if isinstance(exc, RateLimitError) and not exc.local:
            if lane is None and exc.scope in ("account", "model"):
                only = await self._only_account()
                if only is not None:
                    exc.email, exc.only_account = only, True
            until = exc.lane_retry_at = self.lanes.park(exc, lane, model, self.clock.time())
            log.debug("lane guard: %s %s parked until %s (%s)", exc.email or lane or "lb",
                      exc.scope, _iso(until), exc.reason)
        elif isinstance(exc, SessionExpiredError) and not exc.local:
            account = lane or await self._only_account()
            exc.email = account
            if account is not None:
                self.lanes.kill(account, _stopped(exc, account))
                if lane is None:
                    self.lanes.kill(None, _stopped(exc, account))

    async def _only_account(self) -> str | None:
        """The only configured healthy account (``GET /accounts``), or ``None``.

        One ``GET /accounts`` per ``_ACCOUNTS_TTL`` seconds at most, however many 429/596
        answers arrive: concurrent callers wait for the one request in flight, and a failed
        listing is remembered too (as "unknown") instead of being retried on every refusal.
        """
        from flowapi.types.accounts import AccountSummary

        async with self._accounts_lock:
            now = self.clock.now()
            if self._accounts is None or now - self._accounts[0] > _ACCOUNTS_TTL:
                healthy: list[str] | None
                try:
                    listing = await self.request("GET", ("accounts",),
                                                 dict[str, AccountSummary],
                                                 retry=RetryPolicy.none())
                except APIError as exc:
                    log.debug("cannot list accounts to scope a refusal (%s)", exc)
                    healthy = None
                else:
                    healthy = [e for e, a in listing.items() if a.is_healthy]
                self._accounts = (now, healthy)
            known = self._accounts[1]
        return known[0] if known is not None and len(known) == 1 else None

    def _wait_before_retry(self, exc: APIError, attempt: int, policy: RetryPolicy,
                           start: float) -> float | None:
        """Seconds to wait before the next attempt, or ``None`` to give up and raise."""
        wait = policy.backoff(attempt, self._rng)
        if isinstance(exc, ServiceUnavailableError):
            wait = max(wait, policy.unavailable_wait)
        retry_at = getattr(exc, "retry_at", None)
        if retry_at is None and isinstance(exc, APIStatusError):
            retry_at = parse_retry_after(exc.headers.get("Retry-After"), None,
                                         now=self.clock.time())
        if retry_at is not None:
            server_wait = retry_at - self.clock.time()
            if server_wait > policy.max_inline_wait:
                log.debug("server asks to wait %.1fs (> max_inline_wait %.1fs): raising",
                          server_wait, policy.max_inline_wait)
                return None
            wait = max(wait, server_wait + _WAIT_MARGIN)
        now = self.clock.now()
        wait = max(wait, self.budget.wait_time(now))
        if now - start + wait > policy.total_budget:
            log.debug("retry budget of %.1fs would be exceeded: raising", policy.total_budget)
            return None
        self.budget.take(now)  # reserved before sleeping: concurrent retries queue up
        return wait

    async def _once(self, method: str, url: URL, headers: Mapping[str, str],
                    body: bytes | None, response_type: type[T], *, read_timeout: float | None,
                    total_timeout: float | None, max_bytes: int | None, email: str | None,
                    model: str | None) -> T:
        total = _smaller(total_timeout, self.timeouts.total)
        timeout = aiohttp.ClientTimeout(total=total, connect=None,
                                        sock_connect=self.timeouts.connect,
                                        sock_read=read_timeout or self.timeouts.read)
        cap = max_bytes or self.max_response_bytes
        self.requests_sent += 1
        failure: FlowError | None = None
        raw, status, resp_headers = b"", 0, {}
        try:
            async with self.http.request(method, url, data=body, headers=headers,
                                         timeout=timeout, allow_redirects=False,
                                         ssl=True) as resp:
                raw = await _read_capped(resp, cap, method, url)
                status = resp.status
                # a hostile server may echo the Authorization header back
                resp_headers = {k: redact(v, self._token) for k, v in resp.headers.items()}
        except TRANSPORT_ERRORS as exc:
            # raised below, outside this block: aiohttp's exception (its request_info
            # holds the Authorization header) must not become the __context__
            failure = translate_client_error(
                exc, method=method, url=str(url), connect=self.timeouts.connect,
                read=read_timeout or self.timeouts.read, total=total, token=self._token)
        if failure is not None:
            raise failure
        log.debug("%s %s → %d (%d bytes)", method, url, status, len(raw))
        if 200 <= status < 300:
            return self._decode(response_type, raw, method, url, status)
        raise self._status_error(status, raw, resp_headers, method, url, email, model)

    def _redact_bytes(self, raw: bytes) -> bytes:
        """``raw`` with every occurrence of the token replaced by ``***`` (error texts)."""
        return redact_bytes(raw, self._token)

    def _decode(self, response_type: type[T], raw: bytes, method: str, url: URL,
                status: int | None = None) -> T:
        try:
            result = decode(response_type, raw)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            text = self._redact_bytes(raw[:_TEXT_LIMIT + 1024])[:_TEXT_LIMIT].decode(
                "utf-8", "replace")
            path = _validation_path(str(exc))
            malformed = not isinstance(exc, msgspec.ValidationError)
            what = ("is not valid JSON (cut short or garbled)" if malformed else
                    f"does not match the documented "
                    f"{getattr(response_type, '__name__', response_type)} shape")
            raise ResponseValidationError(
                f"{method} {url}: the response {what}: {redact(str(exc), self._token)}. "
                "If this persists the API may have changed; report it with the body "
                "(ResponseValidationError.text).", method=method, url=str(url), text=text,
                path=path, status_code=status, malformed=malformed,
            ) from exc
        if status is not None and isinstance(result, ResponseStruct):
            return msgspec.structs.replace(result, http_status=status)
        return result

    def _status_error(self, status: int, raw: bytes, headers: Mapping[str, str], method: str,
                      url: URL, email: str | None, model: str | None) -> APIStatusError:
        raw = self._redact_bytes(raw)
        text = raw[:_TEXT_LIMIT].decode("utf-8", "replace")
        body: ErrorBody | None
        try:
            body = decode(ErrorBody, raw)
        except (msgspec.ValidationError, msgspec.DecodeError):
            body = None
        error_text = ""
        reason: str | None = None
        retry_after_body: str | None = None
        skip: list[AccountSkip] = []
        if body is not None:
            error_text = body.error_text or body.message_text
            reason = body.reason
            retry_after_body = body.retry_after
            skip = [AccountSkip(s.email, s.reason, s.model) for s in body.skip_reasons]
            if error_text == "no_eligible_account":
                reason = "no_eligible_account"
        extra: dict[str, Any] = {}
        if status == 429:
            scope: RateLimitScope = rate_limit_rule(reason).scope
            extra = {
                "retry_at": parse_retry_after(headers.get("Retry-After"), retry_after_body,
                                              now=self.clock.time()),
                "scope": scope, "email": email, "model": model, "skip_reasons": skip,
            }
        elif status == 503:
            extra = {}
        err = error_for_status(status, method=method, url=str(url), error_text=error_text,
                               reason=reason, body=body, text=text, headers=headers, **extra)
        if isinstance(err, SessionExpiredError):
            err.email = email
            if email:
                err.message = err.message.replace("/accounts/{email}", f"/accounts/{email}")
                err.args = (err.message,)
        if isinstance(err, RateLimitError):
            log.debug("429 %s scope=%s retry_at=%s", err.reason, err.scope, err.retry_at)
        return err


async def _read_capped(resp: aiohttp.ClientResponse, cap: int, method: str, url: URL) -> bytes:
    """Read the whole body, refusing more than ``cap`` bytes."""
    length = resp.content_length
    if length is not None and length > cap:
        raise ResponseValidationError(
            f"{method} {url}: response of {length} bytes (HTTP {resp.status}) exceeds the "
            f"{cap}-byte cap; refusing to read it", method=method, url=str(url),
            status_code=resp.status)
    chunks: list[bytes] = []
    total = 0
    async for chunk in resp.content.iter_chunked(256 * 1024):
        total += len(chunk)
        if total > cap:
            raise ResponseValidationError(
                f"{method} {url}: response (HTTP {resp.status}) exceeds the {cap}-byte cap; "
                "refusing to read it", method=method, url=str(url), status_code=resp.status)
        chunks.append(chunk)
    return b"".join(chunks)


def _smaller(a: float | None, b: float | None) -> float | None:
    """The smaller of two optional limits (``None`` = no limit)."""
    if a is None:
        return b
    return a if b is None else min(a, b)


def _extra_headers(extra: Mapping[str, str]) -> dict[str, str]:
    """``extra_headers`` checked: strings only, never ``Authorization`` (the token is the
    session's) nor ``Host``/``Content-Length`` (set by the HTTP client)."""
    out: dict[str, str] = {}
    for key, value in extra.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise InvalidParamsError("extra_headers takes str → str")
        if key.lower() in ("authorization", "host", "content-length"):
            raise InvalidParamsError(f"extra_headers cannot set {key}: the session owns it")
        out[key] = value
    return out


def _merge_extra_body(method: str, json: Any, data: bytes | None,
                      extra: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON body with ``extra_body`` merged over it (``extra`` wins)."""
    if method == "GET" or data is not None:
        what = "a GET request" if method == "GET" else "a raw upload"
        raise InvalidParamsError(f"extra_body cannot be sent with {what} (it has no JSON "
                                 "body); use extra_query or extra_headers")
    if json is None:
        base: dict[str, Any] = {}
    elif isinstance(json, Mapping):
        base = dict(json)
    else:
        built = msgspec.to_builtins(json)
        if not isinstance(built, dict):
            raise InvalidParamsError("extra_body needs a JSON object body")
        base = built
    return {**base, **extra}


def _async_without_jobid(body: Any, result: Any) -> bool:
    """An ``async: true`` submit answered 2xx without a job id: the job exists but cannot be
    watched by id (found by its replyRef instead)."""
    return (isinstance(body, Mapping) and body.get("async") is True
            and hasattr(result, "jobid") and not result.jobid)


def _ambiguity(exc: APIError) -> str:
    """Why a generation request's fate is unknown, for the AmbiguousSubmitError message."""
    if isinstance(exc, ResponseValidationError):
        return f"the server answered but the response could not be read ({exc.message})"
    if isinstance(exc, APIStatusError):
        return (f"a gateway answered {exc.status_code} ({exc.message}); the API behind it may "
                "have taken the request")
    return f"the connection broke after the request was sent ({exc.message})"


def _stopped(exc: SessionExpiredError, account: str) -> SessionExpiredError:
    """The reason recorded for an account stopped by a 596."""
    detail = (exc.body.error_text if exc.body is not None else "") or "session refresh failed"
    return SessionExpiredError(
        f"account {account} answered 596 ({detail}); its "
        f"Google session is broken. Delete it (DELETE /accounts/{account}) and add it again "
        "(POST /accounts) following 'Setup Google Flow'; generation requests to it are "
        "stopped for this session.", status_code=596, email=account)


def _validation_path(message: str) -> str | None:
    marker = "at `"
    i = message.rfind(marker)
    if i < 0:
        return None
    j = message.find("`", i + len(marker))
    return message[i + len(marker):j] if j > i else None
