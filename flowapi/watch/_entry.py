"""One submission in flight inside a :class:`~flowapi.JobWatcher`: its phase (an explicit
state machine with one checked move function) and what the parts need to know about it.

The journal row (:class:`~flowapi.journal.Submission`) is the durable truth; an
:class:`Entry` is the watcher's in-memory view of a key it is working on, dropped when
the key's outcome is emitted.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flowapi.types.jobs import Job

__all__ = ["Entry", "Phase"]


class Phase(enum.Enum):
    """Where a key is inside this watcher."""

    QUEUED = "queued"
    """Waiting for a submit worker."""
    PARKED = "parked"
    """Waiting for a lane (429 cooldown, account busy)."""
    SUBMITTING = "submitting"
    """Its POST is on the wire."""
    RECONCILING = "reconciling"
    """In doubt: being looked up by its markers."""
    RUNNING = "running"
    """Accepted: a job id is known and watched by the status source."""
    FOLLOWING = "following"
    """Another live worker holds the key's lease (a shared journal): watched through the
    journal, without a slot or a request, until it finishes or its worker dies."""
    DONE = "done"
    """Its outcome was emitted."""


_P = Phase
_MOVES: dict[Phase, frozenset[Phase]] = {
    _P.QUEUED: frozenset({_P.PARKED, _P.SUBMITTING, _P.RECONCILING, _P.RUNNING, _P.DONE,
                          _P.FOLLOWING}),  # FOLLOWING: its lease lapsed before the POST
    _P.PARKED: frozenset({_P.QUEUED, _P.SUBMITTING, _P.DONE}),
    # FOLLOWING: its POST's job was recorded by a worker that took the key over
    _P.SUBMITTING: frozenset({_P.QUEUED, _P.PARKED, _P.RECONCILING, _P.RUNNING, _P.DONE,
                              _P.FOLLOWING}),
    # QUEUED: resubmit_in_doubt; FOLLOWING: its lease lapsed, another worker has the key
    _P.RECONCILING: frozenset({_P.QUEUED, _P.RUNNING, _P.DONE, _P.FOLLOWING}),
    _P.RUNNING: frozenset({_P.QUEUED, _P.DONE}),  # QUEUED: resubmission after moderation
    # claimed after its worker died: resumed from its row like any key
    _P.FOLLOWING: frozenset({_P.QUEUED, _P.RECONCILING, _P.RUNNING, _P.DONE}),
    _P.DONE: frozenset(),
}


@dataclass(slots=True, eq=False)
class Entry:
    """The watcher's view of one key (see the module docstring).

    ``seq`` increases on every (re)scheduling: a queued work item or timer carrying an
    older ``seq`` is stale and skipped. ``reading`` makes reads single-flight;
    ``reread`` asks for one more read after the one on the wire (a callback came);
    ``early_callback``: a callback came while the jobid was still being journaled (the job
    is read as soon as it is watched). ``holds_slot``: the key holds one of the
    watcher's ``max_in_flight`` slots (a followed key does not).
    """

    key: str
    params: Any
    tag: Any
    email: str | None
    model: str | None
    kind: str
    user_reply_ref: str | None = None
    phase: Phase = Phase.QUEUED
    jobid: str | None = None
    job: Job | None = None
    marker: str | None = None
    markers: tuple[str, ...] = ()
    attempts: int = 0
    transient: int = 0
    resumed: bool = False
    account: str | None = None
    expected: float = 0.0
    accepted_at: float = 0.0
    last_read: float = 0.0
    deadline: float | None = None
    reads: int = 0
    read_errors: int = 0
    reading: bool = False
    reread: bool = False
    early_callback: bool = False
    holds_slot: bool = True
    seq: int = 0

    def move(self, phase: Phase) -> Phase:
        """Move to ``phase``; returns the previous phase.

        Raises:
            AssertionError: the move is not in the table (a watcher bug).
        """
        old = self.phase
        if phase is not old and phase not in _MOVES[old]:
            raise AssertionError(f"{self.key}: illegal watcher move {old.value} → {phase.value}")
        self.phase = phase
        return old
