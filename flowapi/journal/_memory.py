"""The in-memory journal: the watcher's default (one process, lost at exit) and the
reference implementation the sqlite and PostgreSQL journals are tested against."""

from __future__ import annotations

import time

from flowapi.journal._protocol import DuplicateJobidError, JournalError
from flowapi.journal._states import Accepted, Event, Submission, apply

__all__ = ["MemoryJournal"]


class MemoryJournal:
    """A :class:`~flowapi.journal.Journal` held in dicts (no durability, no lock).

    Resume works within one process: a second ``flow.watch(journal=j)`` on the same
    object yields recorded outcomes again and adopts accepted jobs.
    """

    def __init__(self) -> None:
        self._rows: dict[str, Submission] = {}
        self._by_jobid: dict[str, str] = {}
        self._downloads: dict[str, dict[str, tuple[str, int]]] = {}
        self._callbacks: dict[str, bytes] = {}
        self._meta: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"MemoryJournal(rows={len(self._rows)})"

    async def open(self) -> None:
        """Nothing to open."""

    async def close(self) -> None:
        """Nothing to close (the rows stay for a later watcher on this object)."""

    async def get(self, key: str) -> Submission | None:
        """The row for ``key``, or ``None``."""
        return self._rows.get(key)

    async def add(self, key: str, *, kind: str, params: str, tag: str | None) -> Submission:
        """Insert ``key`` as ``pending`` unless present; return the stored row."""
        row = self._rows.get(key)
        if row is None:
            now = time.time()
            row = self._rows[key] = Submission(key=key, kind=kind, params=params, tag=tag,
                                               created=now, updated=now)
        return row

    async def update(self, key: str, event: Event) -> Submission:
        """Apply ``event`` (see :func:`~flowapi.journal.apply`)."""
        row = self._rows.get(key)
        if row is None:
            raise JournalError(f"no journal row for key {key!r}")
        if isinstance(event, Accepted):
            owner = self._by_jobid.get(event.jobid)
            if owner is not None and owner != key:
                raise DuplicateJobidError(
                    f"the server returned jobid {event.jobid} for {key!r}, but the journal "
                    f"already records it for {owner!r}", jobid=event.jobid, owner=owner)
        new = apply(row, event, now=time.time())
        if row.jobid and row.jobid != new.jobid:
            self._by_jobid.pop(row.jobid, None)
        if new.jobid:
            self._by_jobid[new.jobid] = key
        self._rows[key] = new
        return new

    async def rows(self) -> list[Submission]:
        """Every row, in insertion order."""
        return list(self._rows.values())

    async def record_download(self, key: str, name: str, path: str, size: int) -> None:
        """Record a finished download."""
        self._downloads.setdefault(key, {})[name] = (path, size)

    async def downloads(self, key: str) -> dict[str, tuple[str, int]]:
        """Recorded downloads of ``key``."""
        return dict(self._downloads.get(key, {}))

    async def record_callback(self, jobid: str, body: bytes) -> None:
        """Keep the latest callback body of ``jobid``."""
        self._callbacks[jobid] = body

    async def callbacks(self) -> dict[str, bytes]:
        """``jobid → body`` of kept callbacks."""
        return dict(self._callbacks)

    async def get_meta(self, name: str) -> str | None:
        """A stored value or ``None``."""
        return self._meta.get(name)

    async def set_meta(self, name: str, value: str) -> None:
        """Store a value."""
        self._meta[name] = value
