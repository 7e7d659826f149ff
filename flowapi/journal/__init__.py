"""The journal: the single source of truth of every submission (DESIGN §7).

One :class:`Journal` protocol with adapters: :class:`MemoryJournal` (default),
:class:`SqliteJournal` (``journal="x.sqlite"``). Rows keyed by a stable idempotency key
move through :class:`SubmissionState` only via :func:`apply`.
"""

from __future__ import annotations

import os

from flowapi.journal._identity import (
    canonical_params,
    content_key,
    join_reply_ref,
    new_marker,
    split_reply_ref,
)
from flowapi.journal._memory import MemoryJournal
from flowapi.journal._protocol import (
    DuplicateJobidError,
    Journal,
    JournalError,
    JournalLockedError,
)
from flowapi.journal._sqlite import SqliteJournal
from flowapi.journal._states import (
    Accepted,
    Attempt,
    Event,
    FailureCategory,
    Finished,
    IllegalTransition,
    InDoubt,
    Refused,
    Retry,
    Submission,
    SubmissionState,
    apply,
)

__all__ = [
    "Accepted",
    "Attempt",
    "DuplicateJobidError",
    "Event",
    "FailureCategory",
    "Finished",
    "IllegalTransition",
    "InDoubt",
    "Journal",
    "JournalError",
    "JournalLockedError",
    "MemoryJournal",
    "Refused",
    "Retry",
    "SqliteJournal",
    "Submission",
    "SubmissionState",
    "apply",
    "canonical_params",
    "content_key",
    "join_reply_ref",
    "new_marker",
    "open_journal",
    "split_reply_ref",
]


def open_journal(journal: Journal | str | os.PathLike[str] | None) -> tuple[Journal, bool]:
    """The journal to use for ``journal=`` and whether the caller owns it (must close it).

    ``None`` → a new :class:`MemoryJournal`; a path → a :class:`SqliteJournal` (owned);
    a :class:`Journal` → itself (not owned: its creator closes it).

    Raises:
        JournalError: a ``postgresql://`` URL (not available in this version).
    """
    if journal is None:
        return MemoryJournal(), True
    if isinstance(journal, str | os.PathLike):
        text = os.fspath(journal)
        if isinstance(text, str) and text.startswith(("postgresql://", "postgres://")):
            raise JournalError("PostgreSQL journals are not available in this version of "
                               "flowapi; use a sqlite path (journal='batch.sqlite')")
        return SqliteJournal(journal), True
    return journal, False
