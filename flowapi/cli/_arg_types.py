"""Checked command-line values (issue 12 §5): a bad value is a one-line error and exit 2,
never a traceback.

Each function is an ``argparse`` ``type=``: it returns the converted value or raises
``argparse.ArgumentTypeError`` with a message that says what is allowed.
:class:`FlowArgumentParser` prints parse errors as one line (``flowapi batch: error: …``)
and exits 2.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any, NoReturn

__all__ = [
    "FlowArgumentParser",
    "FlowHelpFormatter",
    "directory",
    "fault_spec",
    "file_path",
    "non_negative_int",
    "non_negative_number",
    "port",
    "positive_int",
    "positive_seconds",
    "time_scale",
]


class FlowHelpFormatter(argparse.HelpFormatter):
    """Fills prose as usual but keeps indented lines (examples) exactly as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        out: list[str] = []
        prose: list[str] = []

        def flush() -> None:
            if prose:
                out.append(super(FlowHelpFormatter, self)._fill_text(
                    " ".join(prose), width, indent))
                prose.clear()

        for line in text.splitlines():
            if line.startswith("  "):
                flush()
                out.append(indent + line)
            elif not line.strip():
                flush()
                out.append("")
            else:
                prose.append(line.strip())
        flush()
        return "\n".join(out)


class FlowArgumentParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line on stderr and exit code 2, and whose
    help keeps indented example lines as written (:class:`FlowHelpFormatter`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", FlowHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        """Print ``PROG: error: MESSAGE (see PROG --help)`` and exit 2."""
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        """Write ``message`` (if any) to stderr and exit with ``status``."""
        if message:
            sys.stderr.write(message)
        raise SystemExit(status)


def _number(text: str, kind: type[int] | type[float]) -> float:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not {'an integer' if kind is int else 'a number'}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def positive_int(text: str) -> int:
    """An integer ≥ 1 (e.g. ``--max-in-flight``)."""
    value = int(_number(text, int))
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def non_negative_int(text: str) -> int:
    """An integer ≥ 0 (e.g. ``--resubmit-moderated``)."""
    value = int(_number(text, int))
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def positive_seconds(text: str) -> float:
    """A finite number of seconds > 0 (timeouts, intervals)."""
    value = _number(text, float)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, got {text}")
    return value


def non_negative_number(text: str) -> float:
    """A finite number ≥ 0 (e.g. ``--max-credits``)."""
    value = _number(text, float)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def time_scale(text: str) -> float:
    """Real seconds per simulated second, ``0 < S <= 1`` (0.01 runs 100× faster)."""
    value = _number(text, float)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(
            f"must be more than 0 and at most 1 (0.01 runs simulated time 100× faster), "
            f"got {text}")
    return value


def port(text: str) -> int:
    """A TCP port, 0-65535 (0: any free port)."""
    value = int(_number(text, int))
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be 0-65535 (0: any free port), got {value}")
    return value


def directory(text: str) -> Path:
    """A directory to write into: it may not exist yet, but must not be a file."""
    path = Path(text).expanduser()
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file, not a directory")
    if path.parent.exists() and not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"{path.parent} is a file, not a directory")
    return path


def file_path(text: str) -> Path:
    """A file to write: it may not exist yet, but must not be a directory."""
    path = Path(text).expanduser()
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a directory, not a file")
    return path


def journal_target(text: str) -> Path | str:
    """``--journal``: a ``postgresql://`` URL (kept as text) or a journal file path."""
    from flowapi.journal import is_postgres_url

    if is_postgres_url(text.strip()):
        return text.strip()
    return file_path(text)


def fault_spec(text: str) -> str:
    """A fault spec for the fake (``flowapi.testing.parse_faults``), checked here."""
    from flowapi.testing import parse_faults

    try:
        parse_faults(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text
