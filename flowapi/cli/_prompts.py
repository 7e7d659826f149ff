"""Reading the vendor's ``prompts.json`` (the tutorial's batch format) for ``flowapi batch``.

The file is a JSON list of objects in the API's own field names (POST /videos body), e.g.
``{"model": "veo-3.1-fast", "prompt": "…", "startImage": "./first.jpeg"}``. Keys starting
with ``__`` are comments. ``startImage``, ``endImage``, ``referenceImage_N`` and
``referenceVideo_1`` may be local file paths (relative to the prompts file) instead of
``mediaGenerationId`` values; they are uploaded once each before submitting.

Loading never raises for one bad entry: each entry becomes a :class:`PromptSpec` that is
either usable or carries its error, so the rest of the batch runs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowapi.journal import canonical_params, content_key

__all__ = ["FILE_FIELDS", "PromptFileError", "PromptSpec", "load_prompts", "parse_prompts"]

FILE_FIELDS_FIXED = ("startImage", "endImage", "referenceVideo_1")
FILE_FIELDS = (*FILE_FIELDS_FIXED, *(f"referenceImage_{i}" for i in range(1, 8)))
"""Fields whose value may be a local file to upload."""

_ID_PREFIX = "user:"


class PromptFileError(Exception):
    """The prompts file as a whole is unusable (missing, not JSON, not a list)."""


@dataclass(slots=True)
class PromptSpec:
    """One entry of the prompts file.

    Attributes:
        index: 1-based position in the file.
        raw: the entry as written (comments removed), or ``None`` if it was not an object.
        files: field → resolved local path, for values to upload.
        key: the entry's idempotency key: a content key over the entry as written (local
            files by the SHA-256 of their bytes, so moving a file changes nothing and
            editing it is new work) plus its occurrence number among identical entries.
            Reordering, inserting or deleting other entries never changes it.
        legacy_key: the key flowapi 0.1 gave this entry (``index:hash``), to find rows of
            a migrated 0.1 journal.
        error: why the entry cannot run, or ``None``.
    """

    index: int
    raw: dict[str, Any] | None
    files: dict[str, Path] = field(default_factory=dict)
    key: str = ""
    legacy_key: str = ""
    error: str | None = None

    @property
    def prompt_text(self) -> str:
        """The prompt, or ``""``."""
        value = (self.raw or {}).get("prompt")
        return value if isinstance(value, str) else ""

    @property
    def model(self) -> str:
        """The model, or the default ``veo-3.1-fast``."""
        value = (self.raw or {}).get("model")
        return value if isinstance(value, str) else "veo-3.1-fast"


def is_media_id(value: str) -> bool:
    """Whether a field value is an API reference id rather than a file path."""
    return value.startswith(_ID_PREFIX)


def load_prompts(path: str | Path) -> list[PromptSpec]:
    """Read and parse a prompts file.

    Raises:
        PromptFileError: the file is missing, unreadable, not valid JSON or not a list —
            the message says where and how to fix it.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise PromptFileError(f"{p}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PromptFileError(f"{p}: cannot read it ({exc})") from exc
    return parse_prompts(text, base_dir=p.parent, source=str(p))


def parse_prompts(text: str, *, base_dir: Path, source: str = "prompts") -> list[PromptSpec]:
    """Parse prompts-file text; file paths resolve against ``base_dir``.

    Raises:
        PromptFileError: not valid JSON, or not a non-empty JSON list.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PromptFileError(f"{source}: not valid JSON at line {exc.lineno} column "
                              f"{exc.colno}: {exc.msg}. The file must be a JSON list of "
                              "objects, e.g. [{\"prompt\": \"A fox in snow\"}]") from None
    except RecursionError:
        raise PromptFileError(f"{source}: JSON nested too deeply") from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise PromptFileError(f"{source}: expected a JSON list of objects, got "
                              f"{type(data).__name__}")
    if not data:
        raise PromptFileError(f"{source}: the list is empty; add at least one "
                              "{\"prompt\": ...} object")
    specs = [_spec(i, item, base_dir) for i, item in enumerate(data, start=1)]
    occurrences: dict[str, int] = {}
    for spec in specs:
        if spec.error is None and spec.raw is not None:
            canonical = _canonical_entry(spec)
            occurrences[canonical] = occurrences.get(canonical, 0) + 1
            spec.key = content_key("prompt", canonical, occurrences[canonical])
    return specs


def _canonical_entry(spec: PromptSpec) -> str:
    """The entry as written, local files replaced by the SHA-256 of their bytes."""
    raw = dict(spec.raw or {})
    for name, path in spec.files.items():
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        raw[name] = f"file-sha256:{digest.hexdigest()}"
    return canonical_params(raw)


def _spec(index: int, item: Any, base_dir: Path) -> PromptSpec:
    if not isinstance(item, dict):
        return PromptSpec(index=index, raw=None, key=f"invalid-{index}",
                          error=f"entry #{index} is a {type(item).__name__}, not an object")
    raw = {k: v for k, v in item.items() if isinstance(k, str) and not k.startswith("__")}
    digest = hashlib.sha256(json.dumps(raw, sort_keys=True, ensure_ascii=True,
                                       default=str).encode()).hexdigest()[:16]
    spec = PromptSpec(index=index, raw=raw, key=f"invalid-{index}",
                      legacy_key=f"{index}:{digest}")
    prompt = raw.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        spec.error = f"entry #{index}: \"prompt\" is required and must be a non-empty string"
        return spec
    for name in FILE_FIELDS:
        value = raw.get(name)
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            spec.error = f"entry #{index}: {name} must be a file path or a mediaGenerationId"
            return spec
        if is_media_id(value):
            continue
        try:
            path = (base_dir / Path(value).expanduser()).resolve()
            exists = path.is_file()
        except (OSError, ValueError, RuntimeError):
            spec.error = f"entry #{index}: {name} is not a usable file path: {value!r}"
            return spec
        if not exists:
            spec.error = f"entry #{index}: {name} file not found: {value} (looked at {path})"
            return spec
        try:
            with path.open("rb"):
                pass
        except OSError as exc:
            spec.error = f"entry #{index}: {name} cannot be read: {value} ({exc.strerror})"
            return spec
        spec.files[name] = path
    return spec
