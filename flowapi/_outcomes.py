"""The values a :class:`~flowapi.JobWatcher` yields: one per submitted params, exactly once."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeAlias

import anyio
from typing_extensions import TypeVar

from flowapi._errors import FlowError

if TYPE_CHECKING:
    from flowapi.journal import FailureCategory
    from flowapi.resources.jobs import SubmitParams
    from flowapi.types.jobs import Job

TagT = TypeVar("TagT", default=Any)
"""The type of the ``tag=`` values of a :class:`~flowapi.JobWatcher` (``JobWatcher[str]``
yields ``JobSucceeded[str]`` / ``JobFailed[str]``); ``Any`` when not given."""

__all__ = ["JobFailed", "JobSucceeded", "Outcome", "OutcomeQueue"]


@dataclass(frozen=True, slots=True)
class JobSucceeded(Generic[TagT]):
    """A job completed.

    Attributes:
        job: the final job record (``job.media`` holds the results).
        key: the watcher's key for this submission (stable across resumes).
        tag: whatever was passed as ``tag=`` to :meth:`~flowapi.JobWatcher.submit`.
        params: the params that were submitted (the last attempt's).
        attempts: submissions it took (> 1 only with ``resubmit_moderated``).
        resumed: ``True`` when an earlier run — or, on a shared journal, another worker —
            recorded this outcome and it is yielded from the journal without a request.
    """

    job: Job
    key: str
    tag: TagT | None = None
    params: SubmitParams | None = None
    attempts: int = 1
    resumed: bool = False

    @property
    def jobid(self) -> str:
        """The job id."""
        return self.job.jobid


@dataclass(frozen=True, slots=True)
class JobFailed(Generic[TagT]):
    """A job (or its submission) failed; the error says why and what to do.

    Attributes:
        error: a :class:`~flowapi.FlowError` — e.g. :class:`~flowapi.JobFailedError`
            (``failed`` status), :class:`~flowapi.JobTimeoutError` (deadline),
            :class:`~flowapi.InvalidParamsError` or an API error from the submit,
            :class:`~flowapi.AmbiguousSubmitError`.
        key: the watcher's key for this submission.
        tag: whatever was passed as ``tag=``.
        params: the params that were submitted.
        jobid: the job id if the server created a job, else ``None``.
        job: the last job record seen, if any.
        attempts: submissions made.
        category: why it failed, as the journal records it (``moderated``, ``captcha``,
            ``in_doubt`` — the job may have been created and paid —, ``timeout``,
            ``rejected``, ``job_failed``, ``unreadable``, ``account``); ``None`` only for
            outcomes built by hand.
        resumed: ``True`` when an earlier run — or, on a shared journal, another worker —
            recorded this outcome and it is yielded from the journal without a request.
    """

    error: FlowError
    key: str
    tag: TagT | None = None
    params: SubmitParams | None = None
    jobid: str | None = None
    job: Job | None = None
    attempts: int = 1
    category: FailureCategory | None = None
    resumed: bool = False


Outcome: TypeAlias = JobSucceeded[TagT] | JobFailed[TagT]
"""What :class:`~flowapi.JobWatcher` yields."""


class OutcomeQueue:
    """The watcher's outcome buffer: unbounded, one ``put`` per outcome, any number of
    consumers. Cheaper than an anyio memory stream (no checkpoint per item, no backend
    lookups): a waiting consumer is woken by one ``anyio.Event``.

    After :meth:`close`, consumers drain what is buffered and then get
    ``anyio.EndOfStream``.
    """

    __slots__ = ("_closed", "_items", "_waiter")

    def __init__(self) -> None:
        self._items: deque[Outcome[Any]] = deque()
        self._waiter: anyio.Event | None = None
        self._closed = False

    def put(self, outcome: Outcome[Any]) -> None:
        """Buffer ``outcome`` and wake a waiting consumer."""
        self._items.append(outcome)
        self._wake()

    def close(self) -> None:
        """No more outcomes will come (idempotent)."""
        self._closed = True
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            waiter.set()

    async def get(self) -> Outcome[Any]:
        """The next outcome (buffered ones first).

        Raises:
            anyio.EndOfStream: closed and drained.
        """
        while True:
            if self._items:
                return self._items.popleft()
            if self._closed:
                raise anyio.EndOfStream
            if self._waiter is None:
                self._waiter = anyio.Event()
            await self._waiter.wait()

    def __len__(self) -> int:
        return len(self._items)
