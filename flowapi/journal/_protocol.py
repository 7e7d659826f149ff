"""The :class:`Journal` protocol: what the watcher and ``flowapi batch`` need from a
durable store of submissions (DESIGN §7). The watcher depends on this protocol only; the
memory, sqlite and PostgreSQL journals are adapters behind it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from flowapi._errors import FlowError
from flowapi.journal._states import Event, Submission

if TYPE_CHECKING:
    from flowapi._clock import Clock

__all__ = [
    "Change",
    "DuplicateJobidError",
    "Journal",
    "JournalError",
    "JournalLockedError",
    "LeaseLostError",
    "SharedJournal",
]


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


class LeaseLostError(JournalError):
    """This worker no longer holds the key's lease (it lapsed — the process stalled for
    longer than the lease — and another worker took the key over). Nothing was written;
    the key is now the other worker's: watch it through the journal, never submit it."""


@dataclass(frozen=True, slots=True)
class Change:
    """A hint from a :class:`SharedJournal` that something changed (never the change
    itself: re-read the journal).

    Attributes:
        kind: ``"row"`` (the row of key ``ident`` finished or its lease was released),
            ``"callback"`` (a ``replyUrl`` callback of jobid ``ident`` was recorded) or
            ``"resync"`` (hints may have been lost, e.g. the listening connection
            dropped: re-read everything watched).
        ident: the key or jobid (empty for ``"resync"``).
    """

    kind: Literal["row", "callback", "resync"]
    ident: str = ""


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


@runtime_checkable
class SharedJournal(Journal, Protocol):
    """A journal several processes (workers, hosts) use at once — the PostgreSQL journal
    (DESIGN §11). On top of :class:`Journal`:

    * **leases**: a worker works on a key (submits it, watches its job, downloads its
      files) only while it holds the key's lease; :meth:`claim` takes it, a heartbeat
      renews it, :meth:`release` gives it back. A dead worker's leases lapse after
      :attr:`lease` seconds and another worker claims its keys — and resumes them from
      their rows (adopts the jobid, or looks an in-doubt submit up by its marker): a key
      is never submitted again because its worker died. An ``Attempt`` (a POST about to
      leave) is written only by the key's lease holder (else :class:`LeaseLostError`).
    * **hints**: :meth:`subscribe` delivers :class:`Change` hints (PostgreSQL
      ``LISTEN``/``NOTIFY``); they may be lost, so a watcher also re-reads what it waits
      for every :attr:`resync_interval` seconds.
    """

    @property
    def worker(self) -> str:
        """This journal object's worker id (``host:pid:random``), the lease holder name."""
        ...

    @property
    def lease(self) -> float:
        """Seconds a lease lasts without a heartbeat (a dead worker's keys are claimable
        at most this long after its last heartbeat)."""
        ...

    @property
    def resync_interval(self) -> float:
        """Seconds between re-reads of the keys and callbacks a watcher waits for (the
        net under lost hints)."""
        ...

    def use_clock(self, clock: Clock) -> None:
        """Measure leases with ``clock.time()`` instead of the server's clock (a fake's
        simulated time in tests and demos; every worker must then use the same clock).
        An implementation may lengthen :attr:`lease` so that it stays a few real seconds
        long on a clock faster than real time."""
        ...

    async def claim(self, key: str) -> Submission | None:
        """Take the lease of ``key`` if it is free, lapsed or already ours; the row, or
        ``None`` when another live worker holds it (or is claiming it right now)."""
        ...

    async def claim_lapsed(self, keys: Sequence[str]) -> list[Submission]:
        """Claim those of ``keys`` whose rows are unfinished and whose lease is free or
        lapsed (rows another transaction has locked are skipped); the claimed rows."""
        ...

    async def release(self, keys: Collection[str]) -> None:
        """Give back this worker's leases of ``keys`` (other workers are hinted)."""
        ...

    async def peek_held(self, keys: Sequence[str]) -> list[tuple[Submission, bool]]:
        """The rows of ``keys`` that exist (one read, any state, no lease taken), each
        with whether another live worker holds its lease."""
        ...

    async def share_listing(self, fetched: float, jobids: Collection[str]) -> None:
        """Publish the executing job ids of a ``GET /jobs?options=executing`` made at
        ``fetched`` (Unix seconds, the lease clock) for the other workers (kept only if
        newer than the one published)."""
        ...

    async def shared_listing(self, since: float) -> tuple[float, frozenset[str]] | None:
        """The latest published listing if it was fetched at ``since`` or later:
        ``(fetched, executing job ids)``, else ``None``."""
        ...

    async def callback_cursor(self) -> int:
        """The cursor of the latest recorded callback (start :meth:`callbacks_since`
        here to see only callbacks that arrive from now on)."""
        ...

    def subscribe(self, listener: Callable[[Change], None]) -> Callable[[], None]:
        """Call ``listener`` (on the event loop, must not block) with each hint; returns
        the function that unsubscribes it."""
        ...

    async def callbacks_since(self, cursor: int) -> tuple[int, list[tuple[str, bytes]]]:
        """Callbacks recorded (or changed) after ``cursor`` (0 = all): the new cursor and
        ``(jobid, body)`` pairs, oldest first."""
        ...
