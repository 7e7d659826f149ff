"""``flow.jobs``: submit async generations and read job records (GET /jobs, GET /jobs/{jobid})."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal, Unpack

from flowapi._capabilities import validate
from flowapi._errors import InvalidParamsError
from flowapi._options import RequestOptions, request_options
from flowapi._polling import PollPolicy, wait_for_job
from flowapi._retry import RetryPolicy
from flowapi._transport import encode_id
from flowapi.resources._base import Resource
from flowapi.types._base import UNSET
from flowapi.types.jobs import Job, JobsStats
from flowapi.types.videos import ExtendParams, VideoParams, VideoUpscaleParams

__all__ = ["Jobs", "SubmitParams"]

SubmitParams = VideoParams | ExtendParams | VideoUpscaleParams
"""Params that :meth:`Jobs.submit` accepts (the endpoints with an async mode)."""

_ENDPOINTS: dict[type, tuple[str, ...]] = {
    VideoParams: ("videos",),
    ExtendParams: ("videos", "extend"),
    VideoUpscaleParams: ("videos", "upscale"),
}
_LISTING_SUFFIX = re.compile(r"-http:\d{3}$")


def _keep_async(options: RequestOptions) -> RequestOptions:
    """``options`` with ``"async": true`` forced back into ``extra_body`` (jobs.submit is
    async mode by definition)."""
    body = options.get("extra_body")
    if body is not None and body.get("async", True) is not True:
        raise InvalidParamsError("jobs.submit always sends \"async\": true; use "
                                 "flow.videos.create for synchronous mode")
    return options


def normalize_listing_id(key: str) -> str:
    """Strip the ``-http:NNN`` suffix some ``GET /jobs`` listing keys carry
    (GET /jobs › Responses › options=executing example)."""
    return _LISTING_SUFFIX.sub("", key)


class Jobs(Resource):
    """Async jobs: submit, read, wait, and the load-balancing listing."""

    async def submit(self, params: SubmitParams, *, retry: RetryPolicy | None = None,
                     **options: Unpack[RequestOptions]) -> Job:
        """Create a job in async mode (``"async": true``) and return the 201 job record.

        Sends POST /videos, /videos/extend or /videos/upscale depending on the params
        type. The request is never retried after it may have reached the server
        (DESIGN §5): a connect failure, a 429 or a transient 503 are retried, a timeout or
        reset after sending raises :class:`~flowapi.AmbiguousSubmitError`.

        Args:
            params: :class:`~flowapi.VideoParams`, :class:`~flowapi.ExtendParams` or
                :class:`~flowapi.VideoUpscaleParams`.
            retry: a :class:`~flowapi.RetryPolicy` for this call instead of the session's
                (``RetryPolicy.none()``: one attempt; the JobWatcher retries itself so that
                nothing is resent after its block was left).
            options: ``extra_body`` / ``extra_query`` / ``extra_headers``, sent as-is after
                validation (:class:`~flowapi.RequestOptions`); ``"async": true`` is always
                sent.

        Returns:
            The job record (``status == "created"``); ``job.jobid`` is the id to poll.

        Raises:
            InvalidParamsError: the params break a documented rule (nothing sent).
            RateLimitError: a 429 whose cooldown is longer than the inline wait
                (``retry_at``, ``scope`` say when and what).
            AmbiguousSubmitError: the job may or may not exist.
            APIStatusError: any other refusal (400, 402, 403, 404, 503 captcha, 596).
        """
        endpoint = _ENDPOINTS.get(type(params))
        if endpoint is None:
            raise InvalidParamsError(
                f"jobs.submit() takes VideoParams, ExtendParams or VideoUpscaleParams, not "
                f"{type(params).__name__} (images are synchronous: flow.images.create)")
        if self._session.validate:
            validate(params)
        body = params.to_wire()
        body["async"] = True
        email = body.get("email")
        model = body.get("model")
        reply_ref = params.reply_ref if params.reply_ref is not UNSET else None
        return await self._t.request("POST", endpoint, Job, json=body, submit=True,
                                     email=email if isinstance(email, str) else None,
                                     model=model if isinstance(model, str) else None,
                                     reply_ref=reply_ref, retry=retry, **_keep_async(options))

    async def get(self, jobid: str, **options: Unpack[RequestOptions]) -> Job:
        """GET /jobs/{jobid}: the job record (status, request echo, response, error).

        Raises:
            NotFoundError: unknown job.
            JobExpiredError: older than 7 days (410).
            PermissionDeniedError: the job belongs to another user.
        """
        if not jobid:
            raise InvalidParamsError("jobid is empty")
        return await self._t.request("GET", ("jobs", encode_id(jobid)), Job, **options)

    async def wait(self, jobid: str, *, timeout: float | None = None,
                   poll: PollPolicy | None = None, model: str | None = None,
                   kind: str = "video", **options: Unpack[RequestOptions]) -> Job:
        """Read a job at once, then poll it until it completes; return the final record.

        A job that already finished returns after one ``GET /jobs/{jobid}`` with no
        sleep (e.g. after a :class:`~flowapi.JobTimeoutError`); a running one is then
        polled on ``poll``'s schedule, counted from the job's ``created`` time.

        Args:
            jobid: the job id.
            timeout: seconds to wait, default ``None`` (no deadline).
            poll: schedule; default the session's :class:`~flowapi.PollPolicy`.
            model: the job's model (sets the first poll near its typical duration).
            kind: ``"video"``, ``"image"`` or ``"upscale"``.
            options: :class:`~flowapi.RequestOptions` for every GET /jobs/{jobid}.

        Raises:
            JobFailedError: the job failed (``.reason``, ``.moderated``, ``.job``).
            JobTimeoutError: ``timeout`` passed (the job may still finish).
        """
        async def get(job_id: str) -> Job:
            return await self.get(job_id, **options)

        return await wait_for_job(get, jobid, clock=self._t.clock,
                                  policy=poll or self._session.poll, timeout=timeout,
                                  model=model, kind=kind)

    async def stats(self, options: Literal["summary", "executing", "history"] = "summary",
                    *, extra_query: Mapping[str, str] | None = None,
                    extra_headers: Mapping[str, str] | None = None) -> JobsStats:
        """GET /jobs?options=…: load-balancing statistics per account.

        ``summary`` (default): per-account counts and scores; ``executing`` adds the jobs
        now running with elapsed time; ``history`` adds the 10 most recent finished jobs
        of the last 15 minutes.

        Raises:
            InvalidParamsError: another ``options`` value.
        """
        if options not in ("summary", "executing", "history"):
            raise InvalidParamsError("options must be 'summary', 'executing' or 'history'",
                                     field="options", doc_section="GET /jobs › Query Parameters")
        return await self._t.request("GET", ("jobs",), JobsStats, params={"options": options},
                                     **request_options(None, extra_query, extra_headers))

    async def executing_ids(self) -> set[str]:
        """The ids of every job now executing (one ``GET /jobs?options=executing``)."""
        stats = await self.stats("executing")
        return {normalize_listing_id(k) for k in stats.executing_jobids()}
