"""The journal: the single source of truth of every submission (DESIGN §7).

One :class:`Journal` protocol with adapters: :class:`MemoryJournal` (default),
:class:`SqliteJournal` (``journal="x.sqlite"``) and :class:`PostgresJournal`
(``journal="postgresql://…"``, shared by many workers: :class:`SharedJournal`). Rows keyed
by a stable idempotency key move through :class:`SubmissionState` only via :func:`apply`.
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
from flowapi.journal._postgres import PostgresJournal
from flowapi.journal._protocol import (
    Change,
    DuplicateJobidError,
    Journal,
    JournalError,
    JournalLockedError,
    LeaseLostError,
    SharedJournal,
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
    "JOURNAL_ENV",
    "Accepted",
    "Attempt",
    "Change",
    "DuplicateJobidError",
    "Event",
    "FailureCategory",
    "Finished",
    "IllegalTransition",
    "InDoubt",
    "Journal",
    "JournalError",
    "JournalLockedError",
    "LeaseLostError",
    "MemoryJournal",
    "PostgresJournal",
    "Refused",
    "Retry",
    "SharedJournal",
    "SqliteJournal",
    "Submission",
    "SubmissionState",
    "apply",
    "canonical_params",
    "content_key",
    "is_postgres_url",
    "join_reply_ref",
    "new_marker",
    "open_journal",
    "split_reply_ref",
]


#: The environment variable naming the journal when none is given: a sqlite path or a
#: ``postgresql://`` URL (see :func:`open_journal`).
JOURNAL_ENV = "FLOWAPI_JOURNAL"


def is_postgres_url(text: str) -> bool:
    """Whether ``text`` names a PostgreSQL journal (``postgresql://`` or ``postgres://``)."""
    return text.startswith(("postgresql://", "postgres://"))


def open_journal(journal: Journal | str | os.PathLike[str] | None, *,
                 from_env: bool = True) -> tuple[Journal, bool]:
    """The journal to use for ``journal=`` and whether the caller owns it (must close it).

    * ``None`` → the ``FLOWAPI_JOURNAL`` environment variable when set (and ``from_env``),
      read like a string; else a new :class:`MemoryJournal`;
    * ``"postgresql://…"`` / ``"postgres://…"`` → a :class:`PostgresJournal` (a
      ``namespace=`` query parameter names the namespace, default ``"default"``);
    * another string or path → a :class:`SqliteJournal`;
    * a :class:`Journal` → itself (not owned: its creator closes it).

    Every journal but the one passed in is owned (opened and closed by the caller).
    """
    if journal is None:
        env = os.environ.get(JOURNAL_ENV, "").strip() if from_env else ""
        if not env:
            return MemoryJournal(), True
        journal = env
    if isinstance(journal, str | os.PathLike):
        text = os.fspath(journal)
        if isinstance(text, str) and is_postgres_url(text):
            return PostgresJournal(text), True
        return SqliteJournal(journal), True
    return journal, False
