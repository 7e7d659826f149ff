"""When to ask about a job (DESIGN §6 "poll" mode) and the single-job wait loop.

:class:`PollPolicy` computes a per-job schedule: the first poll near the model's expected
generation time, then short capped intervals with jitter. Server hints win: an account's
``videoGenerationTimeSeconds`` (GET /accounts/{email}) replaces the documented typical
time when known.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

from flowapi._clock import run_within
from flowapi._errors import JobFailedError, JobTimeoutError, is_content_policy
from flowapi._retry import backoff_delay

if TYPE_CHECKING:
    from flowapi._clock import Clock
    from flowapi.types.jobs import Job

__all__ = ["EXPECTED_SECONDS", "PollPolicy", "failure_of", "wait_for_job"]

log = logging.getLogger("flowapi")

#: Typical generation times in seconds by model (POST /videos: "60-180 seconds depending
#: on model and mode"; POST /images: "10-20 seconds"; upscale "30-60 seconds").
EXPECTED_SECONDS: Mapping[str, float] = MappingProxyType({
    "veo-3.1-fast": 90.0,
    "veo-3.1-lite": 75.0,
    "veo-3.1-lite-low-priority": 90.0,
    "veo-3.1-quality": 180.0,
    "omni-flash": 90.0,
    "omni-flash-1.2": 90.0,
    "upscale": 45.0,
    "image": 15.0,
    "video": 90.0,
})


@dataclass(frozen=True, slots=True)
class PollPolicy:
    """A per-job polling schedule, in seconds.

    The first poll comes at up to ``first_fraction × expected`` after submit (jittered
    earlier by up to ``jitter``; ``expected`` is the
    account's ``videoGenerationTimeSeconds`` for the model when the caller knows it — the
    :class:`~flowapi.JobWatcher` reads it once per account — else :data:`EXPECTED_SECONDS`;
    an entry in :attr:`expected` overrides both). After that, a poll every ``interval``
    (±``jitter``) while the job is younger than ``late_after × expected``; a job older than
    that is late (stuck, or a slow account), so each further interval grows by ``growth``
    up to ``max_interval``. Without an ``expected`` time (legacy callers) the interval grows
    by ``growth`` from the first poll on.

    Typical cost with the defaults, for a job that takes its expected time E: polls from
    ~0.63·E to E every ~5 s, i.e. ``1 + 0.37·E / 5`` requests (≈ 8 for a 90 s video) for a
    detection lag of ~2.5 s on average — a fixed 15 s poller needs ``E / 15`` (6) requests
    for 7.5 s, a fixed 1 s poller 90 requests for 0.5 s.

    Attributes:
        first_fraction: fraction of the expected time before the first poll, default 0.7.
        min_first_delay: floor for the first poll, default 2 s.
        interval: interval after the first poll, default 5 s.
        growth: interval multiplier per poll once the job is late, default 1.3.
        max_interval: cap, default 10 s.
        jitter: ± fraction randomised, default 0.2 (so many jobs never poll in lockstep).
        late_after: multiple of the expected time after which a job counts as late,
            default 1.5.
        expected: overrides of :data:`EXPECTED_SECONDS` (and of server hints) by model or
            job kind.
    """

    first_fraction: float = 0.7
    min_first_delay: float = 2.0
    interval: float = 5.0
    growth: float = 1.3
    max_interval: float = 10.0
    jitter: float = 0.2
    late_after: float = 1.5
    expected: Mapping[str, float] = field(default_factory=dict)

    def expected_seconds(self, model: str | None, kind: str = "video",
                         hint: float | None = None) -> float:
        """Expected generation time in seconds: an override in :attr:`expected` for
        ``model``, else the server's ``hint`` (``videoGenerationTimeSeconds``), else the
        documented typical time of ``model``, else of the job ``kind``."""
        if model is not None and model in self.expected:
            return self.expected[model]
        if hint is not None and hint > 0:
            return hint
        if model is not None and model in EXPECTED_SECONDS:
            return EXPECTED_SECONDS[model]
        return self.expected.get(kind, EXPECTED_SECONDS.get(kind, 90.0))

    def first_delay(self, model: str | None, kind: str = "video",
                    rng: random.Random | None = None, *, hint: float | None = None) -> float:
        """Seconds from submit to the first poll (``hint``: the server's expected time).

        Jittered downwards only (by up to ``jitter``): a first poll after the job finished
        is pure detection lag, one a little early costs one request.
        """
        base = max(self.min_first_delay,
                   self.first_fraction * self.expected_seconds(model, kind, hint))
        if not self.jitter:
            return base
        r = (rng.uniform if rng is not None else random.uniform)(0.0, self.jitter)
        return max(self.min_first_delay, base * (1 - r))

    def earliest_first_delay(self, model: str | None, kind: str = "video", *,
                             hint: float | None = None) -> float:
        """The earliest :meth:`first_delay` can return: when a shared listing starts to
        watch the job (the watcher's listing mode)."""
        base = max(self.min_first_delay,
                   self.first_fraction * self.expected_seconds(model, kind, hint))
        return max(self.min_first_delay, base * (1 - self.jitter))

    def next_delay(self, polls: int, rng: random.Random | None = None, *,
                   elapsed: float | None = None, expected: float | None = None) -> float:
        """Seconds until the next poll after ``polls`` polls (``polls`` ≥ 1).

        With ``elapsed`` (seconds since submit) and ``expected`` (seconds), the interval
        stays at :attr:`interval` until the job is late, then grows per :attr:`growth`;
        without them it grows from the first poll on.
        """
        if elapsed is not None and expected is not None and expected > 0:
            late_at = self.late_after * expected
            if elapsed < late_at:
                return self._jittered(min(self.max_interval, self.interval), rng)
            steps = (elapsed - late_at) / max(self.interval, 1e-9)
            base = backoff_delay(steps + 1, base=self.interval, cap=self.max_interval,
                                 factor=self.growth)
            return self._jittered(base, rng)
        base = backoff_delay(polls, base=self.interval, cap=self.max_interval,
                             factor=self.growth)
        return self._jittered(base, rng)

    def _jittered(self, value: float, rng: random.Random | None) -> float:
        if not self.jitter:
            return max(0.0, value)
        r = (rng.uniform if rng is not None else random.uniform)(-self.jitter, self.jitter)
        return max(0.0, value * (1 + r))


def failure_of(job: Job) -> JobFailedError:
    """The :class:`~flowapi.JobFailedError` describing a job whose status is ``failed``."""
    reason = job.reason
    detail = job.message_text or "no error text"
    moderated = is_content_policy(reason) or is_content_policy(detail)
    captcha = job.is_captcha_failure
    if moderated:
        hint = ("moderated: rephrase, change references or model, or resubmit (moderation "
                "varies between attempts)")
    elif captcha:
        hint = ("Google rejected the captcha token: resubmit with captchaRetry 5+ or more "
                "captcha providers (POST /accounts/captcha-providers, captchaOrder)")
    else:
        hint = "see job.error / job.response; the job id stays readable for 7 days"
    return JobFailedError(
        f"job {job.jobid} failed: {detail}" + (f" [{reason}]" if reason else "") + f". {hint}.",
        jobid=job.jobid, job=job, reason=reason or detail, moderated=moderated,
        captcha_rejected=captcha)


async def wait_for_job(get: Callable[[str], Awaitable[Job]], jobid: str, *, clock: Clock,
                       policy: PollPolicy, timeout: float | None, model: str | None = None,
                       kind: str = "video", already_elapsed: float = 0.0,
                       hint: float | None = None) -> Job:
    """Read ``get(jobid)`` at once, then poll it until the job completes; return it.

    The first read is immediate, so a job that already finished (the documented recovery
    path after a timeout) costs one request and no sleep. A job still running is then
    polled on ``policy``'s schedule, counted from the job's ``created`` time when the
    record has one (else from now minus ``already_elapsed``).

    Args:
        get: coroutine function returning the job record.
        jobid: the job id.
        clock: time source for sleeps and the deadline.
        policy: the schedule.
        timeout: seconds from now before giving up, or ``None`` to wait forever.
        model: the job's model, to pick the expected time.
        kind: ``"video"`` or ``"image"``.
        already_elapsed: seconds since submit (shortens the first wait).
        hint: the server's expected generation time (``videoGenerationTimeSeconds``).

    Raises:
        JobFailedError: the job ended ``failed``.
        JobTimeoutError: ``timeout`` passed first (the job may still finish).
    """
    rng = random.Random()
    deadline = None if timeout is None else clock.now() + timeout
    expected = policy.expected_seconds(model, kind, hint)
    if deadline is None:
        job = await get(jobid)
    else:  # the deadline holds for the first read too
        done, first = await run_within(clock, deadline - clock.now(), lambda: get(jobid))
        if not done or first is None:
            raise JobTimeoutError(
                f"job {jobid}: the first read did not answer within the {timeout}s deadline; "
                "it may still finish: call flow.jobs.wait(jobid) again later", jobid=jobid)
        job = first
    polls = 1
    last_status: str | None = job.status
    log.debug("first read of %s: %s", jobid, job.status)
    if job.is_finished:
        if job.status == "completed":
            return job
        raise failure_of(job)
    already_elapsed = max(already_elapsed, _age(job, clock))
    start = clock.now() - already_elapsed
    delay = max(0.0, policy.first_delay(model, kind, rng, hint=hint) - already_elapsed)
    while True:
        if deadline is not None:
            remaining = deadline - clock.now()
            if remaining <= 0:
                raise JobTimeoutError(
                    f"job {jobid} still {last_status or 'unknown'} after the {timeout}s "
                    "deadline; it may still finish: call flow.jobs.wait(jobid) again later",
                    jobid=jobid, last_status=last_status)
            delay = min(delay, remaining)
        await clock.sleep(delay)
        if deadline is None:
            job = await get(jobid)
        else:  # the deadline holds while the read is in flight too
            done, answer = await run_within(clock, deadline - clock.now(), lambda: get(jobid))
            if not done or answer is None:
                raise JobTimeoutError(
                    f"job {jobid} still {last_status or 'unknown'} at the {timeout}s deadline "
                    "(the last read did not answer in time); it may still finish: call "
                    "flow.jobs.wait(jobid) again later", jobid=jobid, last_status=last_status)
            job = answer
        polls += 1
        last_status = job.status
        log.debug("poll %d of %s: %s", polls, jobid, job.status)
        if job.is_finished:
            if job.status == "completed":
                return job
            raise failure_of(job)
        delay = policy.next_delay(polls, rng, elapsed=clock.now() - start, expected=expected)


def _age(job: Job, clock: Clock) -> float:
    """Seconds since the job's ``created`` time on ``clock`` (0 when unknown or ahead)."""
    created = job.created_at
    if created is None:
        return 0.0
    return max(0.0, clock.time() - created.timestamp())
