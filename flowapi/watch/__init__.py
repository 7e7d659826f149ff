"""The JobWatcher and its parts (DESIGN §6); the public names are re-exported by
:mod:`flowapi`."""

from flowapi.watch._tracker import WatcherStats
from flowapi.watch._watcher import JobWatcher, WatchMode

__all__ = ["JobWatcher", "WatchMode", "WatcherStats"]
