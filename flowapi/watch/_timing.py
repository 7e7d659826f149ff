"""Expected generation times of the jobs in flight: the documented times, refined by each
account's ``videoGenerationTimeSeconds`` (``GET /accounts/{email}``, read once per
account) so first checks land near the real finish (DESIGN §6)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from flowapi._errors import FlowError
from flowapi._polling import PollPolicy

if TYPE_CHECKING:
    from anyio.abc import TaskGroup

    from flowapi._session import FlowSession
    from flowapi.types.accounts import Account
    from flowapi.watch._entry import Entry
    from flowapi.watch._tracker import WatcherStats

__all__ = ["GenerationTimes", "account_in_jobid"]

log = logging.getLogger("flowapi")

#: The API's default video model (POST /videos › model), for server generation-time hints.
DEFAULT_VIDEO_MODEL = "veo-3.1-fast"
_JOBID_EMAIL = re.compile(r"-email:(.+?)-bot:")


def account_in_jobid(jobid: str) -> str | None:
    """The account email a job id names (``…-email:{email}-bot:…``), unless masked."""
    m = _JOBID_EMAIL.search(jobid)
    if m is None or "*" in m.group(1) or "@" not in m.group(1):
        return None
    return m.group(1)


class GenerationTimes:
    """Expected seconds per job, learning accounts' times in the background.

    Args:
        session: the open session.
        policy: the poll policy (documented times and overrides).
        stats: counters (``accounts_read``).
        learn: read ``GET /accounts/{email}`` once per account (default on).
        on_learned: called with the entries of an account whose times were just learned
            (their first checks may be re-planned).
    """

    def __init__(self, session: FlowSession, policy: PollPolicy, stats: WatcherStats, *,
                 learn: bool, on_learned: Callable[[list[Entry]], None]) -> None:
        self._session = session
        self.policy = policy
        self._stats = stats
        self._learn = learn
        self._on_learned = on_learned
        self._accounts: dict[str, Account | None] = {}
        self._hints: dict[tuple[str, str], float | None] = {}
        self._learning: dict[str, list[Entry]] = {}
        self.task_group: TaskGroup | None = None

    def expected(self, entry: Entry) -> float:
        """Expected generation seconds of ``entry``'s job (and start learning its account)."""
        account = entry.account
        if self._learn and account is not None and account not in self._accounts:
            waiting = self._learning.get(account)
            if waiting is None:
                self._learning[account] = [entry]
                if self.task_group is not None:
                    self.task_group.start_soon(self._read_account, account)
            else:
                waiting.append(entry)
        return self.policy.expected_seconds(entry.model, entry.kind, self.hint(entry))

    def hint(self, entry: Entry) -> float | None:
        """The account's ``videoGenerationTimeSeconds`` for the entry's model, if known."""
        if entry.account is None or entry.kind != "video":
            return None
        model = entry.model or DEFAULT_VIDEO_MODEL
        key = (entry.account, model)
        if key in self._hints:
            return self._hints[key]
        account = self._accounts.get(entry.account)
        if account is None:
            return None  # not learned (yet): do not cache
        seconds = account.generation_time_seconds(model)
        hint = float(seconds) if seconds else None
        self._hints[key] = hint
        return hint

    async def _read_account(self, email: str) -> None:
        account: Account | None = None
        try:
            self._stats.accounts_read += 1
            account = await self._session.accounts.get(email)
        except FlowError as exc:  # documented times then; never fatal here
            log.debug("could not read account %s for generation times: %s", email, exc)
        self._accounts[email] = account
        waiting = self._learning.pop(email, [])
        if account is not None and waiting:
            self._on_learned(waiting)
