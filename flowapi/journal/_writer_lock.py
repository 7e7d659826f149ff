"""One writer per journal file, within one process and across processes (issue 8, defect 8).

Two layers, both needed:

* a **process-wide registry** of the resolved paths this process holds, so a second journal
  object on the same file (however the path is spelled) is refused at once, on every OS;
* an **advisory** ``fcntl.flock`` on ``<journal>.lock`` beside the file (POSIX). A ``flock``
  belongs to the open file description, so two opens conflict even inside one process,
  and closing a descriptor that never got the lock releases nothing. (``fcntl.lockf`` locks
  belong to the *process* and are dropped when *any* descriptor of the file is closed:
  that was flowapi 0.1's defect.) The OS releases it when the process ends, even by
  ``kill -9``.

Once the ``flock`` is held, a ``lockf`` lock is taken on the same file too, only so that a
still-running flowapi 0.1 (which locks with ``lockf``) is refused as well; the ``flock``
alone decides between journals of this version.

The lock file is created with mode 0600 and never deleted (deleting it would let two
processes lock two different files of the same name).
"""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path

from flowapi.journal._protocol import JournalError, JournalLockedError

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: the registry alone
    fcntl = None  # type: ignore[assignment]

__all__ = ["WriterLock", "lock_path_of"]

_held: set[str] = set()
_held_guard = threading.Lock()


def lock_path_of(path: Path) -> Path:
    """The lock file beside journal ``path``: ``<name>.lock``."""
    return path.with_name(path.name + ".lock")


class WriterLock:
    """The exclusive writer lock of one journal file (``acquire`` once, ``release`` once).

    Args:
        path: the journal database file (need not exist yet; its directory must).
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._key: str | None = None
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._key is not None

    def acquire(self) -> None:
        """Take the lock; no-op if this object holds it already.

        Raises:
            JournalLockedError: another journal object of this process, or another
                process, holds it.
            JournalError: the lock file cannot be created (permissions, read-only
                directory).
        """
        if self._key is not None:
            return
        key = os.path.realpath(self._path)
        with _held_guard:
            if key in _held:
                raise JournalLockedError(
                    f"the journal {self._path} is already in use in this process (another "
                    "journal object on the same file: another flow.watch(journal=...) or "
                    "SqliteJournal still open). Two writers would submit the same prompts "
                    "twice: close the other one first, or use another journal path.")
            _held.add(key)
        try:
            self._fd = self._flock(Path(key))
        except BaseException:
            with _held_guard:
                _held.discard(key)
            raise
        self._key = key

    def release(self) -> None:
        """Release the lock; no-op if this object does not hold it."""
        key, self._key = self._key, None
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # ends this open file description: its flock goes with it
        if key is not None:
            with _held_guard:
                _held.discard(key)

    def _flock(self, resolved: Path) -> int | None:
        if fcntl is None:  # pragma: no cover - not POSIX
            return None
        lock_path = lock_path_of(resolved)
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise JournalError(
                f"cannot create the journal's lock file {lock_path} ({exc.strerror}): make "
                "its directory writable, or pass another --journal path") from exc
        try:
            for lock, by in ((fcntl.flock, "another process (another `flowapi batch` or "
                              "program with the same --journal?)"),
                             (fcntl.lockf, "a flowapi 0.1 process")):
                try:
                    lock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError as exc:
                    if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                        raise JournalError(
                            f"cannot lock the journal's lock file {lock_path} "
                            f"({exc.strerror}); a network file system may not support "
                            "locks: put the journal on a local disk") from exc
                    raise JournalLockedError(
                        f"the journal {self._path} is in use by {by}. Running both would "
                        "submit the same prompts twice: wait for it to finish or stop it, "
                        "then run again.") from exc
        except BaseException:
            os.close(fd)
            raise
        return fd
