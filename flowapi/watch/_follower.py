"""Keys another worker holds, and callbacks other workers received — a watcher's view of
a :class:`~flowapi.journal.SharedJournal` (DESIGN §11).

When ``submit(params, key=k)`` finds ``k``'s lease held by another live worker, the key is
*followed*: watched through the journal, never through the API (no request, no slot).
The :class:`Follower` re-reads its followed rows when the journal hints that one changed
(``NOTIFY``) and every ``resync_interval`` seconds (hints can be lost):

* a row that finished and is not held → its recorded outcome is yielded;
* an unfinished row whose lease lapsed (its worker died) or was released → claimed, and
  the key is resumed from its row like any other (:meth:`JobWatcher._resume`: the jobid
  adopted, an in-doubt submit looked up by its marker, a pending one submitted).

Callbacks a webhook receiver on another worker recorded (``Change("callback")``) are read
with one cursor query and passed to the watcher's ``notify``: the job's own watcher wakes.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import anyio
import msgspec

from flowapi.journal import Change, SharedJournal, Submission
from flowapi.types.jobs import Job
from flowapi.watch._entry import Entry, Phase

if TYPE_CHECKING:
    from anyio.abc import TaskGroup

    from flowapi.watch._scheduler import Timers

__all__ = ["Follower"]

log = logging.getLogger("flowapi")
_JOB = msgspec.json.Decoder(Job)


class Follower:
    """Followed keys and the shared callback feed of one watcher (module docstring).

    Args:
        journal: the shared journal.
        timers: the watcher's timers (pace the resync).
        finished: called with a followed entry and its finished row (yield its outcome).
        claimed: called with a followed entry whose row this worker just claimed (resume).
        callback: called with each callback job other workers recorded.
        on_fatal: ends the watcher (a journal that cannot be read).
    """

    def __init__(self, journal: SharedJournal, timers: Timers,
                 finished: Callable[[Entry, Submission], None],
                 claimed: Callable[[Entry, Submission], Awaitable[None]],
                 callback: Callable[[Job], None],
                 on_fatal: Callable[[BaseException], None]) -> None:
        self._journal = journal
        self._timers = timers
        self._finished = finished
        self._claimed = claimed
        self._callback = callback
        self._on_fatal = on_fatal
        self.entries: dict[str, Entry] = {}
        self._dirty: set[str] = set()
        self._everything = False
        self._callbacks_dirty = False
        self._cursor = 0
        self._wake = anyio.Event()
        self._unsubscribe: Callable[[], None] | None = None

    async def start(self, task_group: TaskGroup) -> None:
        """Subscribe to the journal's hints and run the resync loop in ``task_group``."""
        self._cursor = await self._journal.callback_cursor()
        self._unsubscribe = self._journal.subscribe(self._hint)
        task_group.start_soon(self._run)

    def stop(self) -> None:
        """Unsubscribe (the loop ends with its task group)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def follow(self, entry: Entry) -> None:
        """Watch ``entry``'s row through the journal (it is in ``FOLLOWING``)."""
        self.entries[entry.key] = entry
        self._dirty.add(entry.key)  # it may have finished between the claim and now
        self._wake.set()

    def _hint(self, change: Change) -> None:
        if change.kind == "row":
            if change.ident not in self.entries:
                return
            self._dirty.add(change.ident)
        elif change.kind == "callback":
            self._callbacks_dirty = True
        else:
            self._everything = self._callbacks_dirty = True
        self._wake.set()

    def _resync(self) -> None:
        """Every ``resync_interval``: re-read everything (hints may have been lost)."""
        self._everything = self._callbacks_dirty = True
        self._wake.set()
        self._timers.call_after(self._journal.resync_interval, self._resync)

    async def _run(self) -> None:
        self._timers.call_after(self._journal.resync_interval, self._resync)
        while True:
            await self._wake.wait()
            self._wake = anyio.Event()
            try:
                await self._sync()
            except Exception as exc:  # a journal that cannot be read ends the watcher
                self._on_fatal(exc)
                return

    async def _sync(self) -> None:
        if self._callbacks_dirty:
            self._callbacks_dirty = False
            self._cursor, found = await self._journal.callbacks_since(self._cursor)
            for jobid, body in found:
                try:
                    job = _JOB.decode(body)
                except msgspec.MsgspecError:
                    log.debug("journal: undecodable callback of %s ignored", jobid)
                    continue
                self._callback(job)
        keys = list(self.entries) if self._everything else \
            [k for k in self._dirty if k in self.entries]
        self._everything = False
        self._dirty.clear()
        if keys:
            await self._check(keys)

    async def _check(self, keys: list[str]) -> None:
        lapsed: list[str] = []
        for row, held in await self._journal.peek_held(keys):
            entry = self.entries.get(row.key)
            if entry is None or held:
                continue
            if row.state.finished:
                del self.entries[row.key]
                self._finished(entry, row)
            else:
                lapsed.append(row.key)
        for row in await self._journal.claim_lapsed(lapsed):
            entry = self.entries.pop(row.key, None)
            if entry is None or entry.phase is not Phase.FOLLOWING:
                continue
            log.info("journal: took over %s from a worker that stopped (%s)", row.key,
                     row.state.value)
            await self._claimed(entry, row)
