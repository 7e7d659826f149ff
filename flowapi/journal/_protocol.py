"""The :class:`Journal` protocol: what the watcher and ``flowapi batch`` need from a
durable store of submissions (DESIGN §7). The watcher depends on this protocol only; the
memory, sqlite and PostgreSQL journals are adapters behind it.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from flowapi._errors import FlowError
from flowapi.journal._states import Event, Submission

__all__ = ["DuplicateJobidError", "Journal", "JournalError", "JournalLockedError"]


class JournalError(FlowError):
    """The journal cannot be used: corrupt, locked, foreign or unreadable file, or a
    write that failed. The message says which and what to do; nothing was submitted
    because of it."""


class JournalLockedError(JournalError):
    """Another writer holds the journal (another process or another journal object on
    the same file in this process). Two writers would submit the same keys twice: wait
    for the other one to finish (or stop it), then run again."""


class DuplicateJobidError(JournalError):
    """The server answered with a jobid that the journal already records for another key.

    Attributes:
        jobid: the job id.
        owner: the key that already holds it.
    """

    def __init__(self, message: str, *, jobid: str, owner: str) -> None:
        super().__init__(message)
        self.jobid = jobid
        self.owner = owner


@runtime_checkable
class Journal(Protocol):
    """A durable record of submissions keyed by their idempotency key.

    Rows change only through :meth:`update`, which applies one
    :class:`~flowapi.journal.Event` with :func:`~flowapi.journal.apply` atomically (read,
    check, write) and commits before returning; ``money`` events are committed durably.
    Every method may raise :class:`JournalError`.
    """

    async def open(self) -> None:
        """Open (create, migrate, lock) the store; idempotent.

        Raises:
            JournalLockedError: another writer holds it.
            JournalError: corrupt, foreign or unreadable.
        """
        ...

    async def close(self) -> None:
        """Release the store (and its lock); idempotent."""
        ...

    async def get(self, key: str) -> Submission | None:
        """The row for ``key``, or ``None``."""
        ...

    async def add(self, key: str, *, kind: str, params: str, tag: str | None) -> Submission:
        """Insert ``key`` as ``pending`` unless it exists; return the stored row (the
        existing one unchanged, if any)."""
        ...

    async def update(self, key: str, event: Event) -> Submission:
        """Apply ``event`` to the row of ``key`` and return the new row.

        Raises:
            IllegalTransition: not allowed in the row's state (nothing written).
            DuplicateJobidError: an ``Accepted`` jobid belongs to another key.
            JournalError: no row for ``key``, or the write failed.
        """
        ...

    async def rows(self) -> list[Submission]:
        """Every row, in insertion order."""
        ...

    async def record_download(self, key: str, name: str, path: str, size: int) -> None:
        """Record a finished download of ``key`` (``name`` e.g. ``"video-1"``;
        ``size`` in bytes)."""
        ...

    async def downloads(self, key: str) -> dict[str, tuple[str, int]]:
        """Recorded downloads of ``key``: ``name → (path, bytes)``."""
        ...

    async def record_callback(self, jobid: str, body: bytes) -> None:
        """Keep a ``replyUrl`` callback body (the latest per jobid) for reconciliation."""
        ...

    async def callbacks(self) -> dict[str, bytes]:
        """The kept callback bodies: ``jobid → body``."""
        ...

    async def get_meta(self, name: str) -> str | None:
        """A free-form value stored with :meth:`set_meta`, or ``None``."""
        ...

    async def set_meta(self, name: str, value: str) -> None:
        """Store a free-form value (e.g. parked lanes)."""
        ...
