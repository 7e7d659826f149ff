"""Live progress and the summary table of ``flowapi batch`` (rich)."""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from flowapi.cli._batch import BatchResult
from flowapi.watch import JobWatcher

__all__ = ["BatchDisplay", "files_summary", "summary_table"]

_STATE_ORDER = ("queued", "submitting", "parked", "reconciling", "running", "following")


class BatchDisplay:
    """A rich progress bar (done/total) with a live status line; implements ``Reporter``.

    Use as a context manager around the batch run; call :meth:`refresh` periodically.
    """

    def __init__(self, console: Console, total: int) -> None:
        self.console = console
        self.total = total
        self.succeeded = 0
        self.failed = 0
        self.uploads = 0
        self._watcher: JobWatcher | None = None
        self._progress = Progress(
            TextColumn("[bold]jobs"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"), TimeElapsedColumn(),
            console=console, transient=False, refresh_per_second=8)
        self._task = self._progress.add_task("jobs", total=total, status="starting")
        self._started = time.monotonic()

    def __enter__(self) -> BatchDisplay:
        self._progress.__enter__()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.refresh()
        self._progress.__exit__(exc_type, exc, tb)

    def uploaded(self, path: Path, ok: bool) -> None:
        """Reporter: a file was uploaded."""
        if ok:
            self.uploads += 1
        else:
            self.console.print(f"[red]upload failed:[/] {path}")
        self.refresh()

    def finished(self, result: BatchResult) -> None:
        """Reporter: a prompt is done."""
        if result.status == "succeeded":
            self.succeeded += 1
        else:
            self.failed += 1
            self.console.print(f"[red]✗ #{result.spec.index}[/] {result.error}")
        self.refresh()

    def notice(self, text: str) -> None:
        """Reporter: a line for the user (what a rerun resumes, orphaned journal rows)."""
        self.console.print(text, markup=False, highlight=False)

    def watching(self, watcher: JobWatcher | None) -> None:
        """Reporter: the watcher started or stopped."""
        self._watcher = watcher
        self.refresh()

    def refresh(self) -> None:
        """Redraw the status line from the counters and the watcher's states."""
        parts = [f"[green]{self.succeeded} ok[/]", f"[red]{self.failed} failed[/]"]
        if self._watcher is not None:
            states = self._watcher.stats.states
            parts += [f"{states[s]} {s}" for s in _STATE_ORDER if states.get(s)]
        if self.uploads:
            parts.append(f"{self.uploads} uploaded")
        self._progress.update(self._task, completed=self.succeeded + self.failed,
                              status=" · ".join(parts))


def summary_table(results: list[BatchResult], out_dir: Path) -> Table:
    """One line per prompt: #, model, prompt, status, files or error.

    Fits an 80-column terminal: the prompt and the files/error cells are cut with an
    ellipsis instead of wrapping, and a prompt's files are shown as the count per type
    and their common name with ``*`` (``2 mp4, 2 jpg: 004-j1201…-*``); the full paths
    are in the directory printed below the table, errors were printed as they happened.
    """
    table = Table(title=f"flowapi batch — {out_dir}", show_lines=False, expand=True)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("model", no_wrap=True)
    table.add_column("prompt", ratio=2, no_wrap=True, overflow="ellipsis")
    table.add_column("status", no_wrap=True)
    table.add_column("files / error", ratio=3, no_wrap=True, overflow="ellipsis")
    for r in results:
        if r.status == "succeeded":
            status = "[green]ok[/]" + (" (resumed)" if r.resumed else "")
            detail = files_summary(r.files)
        else:
            status = "[red]failed[/]"
            detail = r.error or ""
        table.add_row(str(r.spec.index), r.spec.model, r.spec.prompt_text, status, detail)
    return table


def files_summary(files: list[Path]) -> str:
    """``name`` for one file; ``2 mp4, 2 jpg: <common prefix>*`` for several (the counts
    first, so they survive an ellipsis)."""
    names = [f.name for f in files]
    if len(names) <= 1:
        return names[0] if names else ""
    prefix = os.path.commonprefix(names)  # noqa: RUF071 - file names, not paths
    counts = Counter(f.suffix.lstrip(".") or "file" for f in files)
    return f"{', '.join(f'{n} {ext}' for ext, n in counts.items())}: {prefix}*"
