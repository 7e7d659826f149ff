"""Base classes and helpers shared by every msgspec model (DESIGN §3).

* :class:`RequestStruct` — request bodies. Keyword-only, ``omit_defaults`` so a field left at
  :data:`UNSET` is not sent at all ("not sent" differs from ``None``).
* :class:`ResponseStruct` — response bodies. Keyword-only, frozen, unknown fields ignored
  (msgspec ignores unknown object keys by default), every field the server may omit has a
  default.
* :class:`LenientStrEnum` — ``StrEnum`` helpers for server-owned strings (job status, model
  names, reasons). The wire type stays ``str``; ``parse()`` maps unknown values to
  ``UNKNOWN`` instead of failing, because the API adds values monthly.

Additions (used by every resource module):

* :class:`WireParams` — base of the request-params classes: camelCase wire names,
  ``to_wire()`` (numbered slots expanded from Python lists) and ``from_wire()`` (the API's own
  field names, e.g. a ``prompts.json`` entry).
* :func:`decode` — one cached ``msgspec.json.Decoder`` per type; :data:`encoder` — the shared
  encoder; :func:`convert` and :func:`parse_iso8601` helpers.

Note: msgspec does not inherit ``kw_only`` — every subclass passes ``kw_only=True`` itself
(``frozen``, ``omit_defaults`` and ``rename`` are inherited). A wire field whose Python name
would collide with a unifying accessor is stored as ``raw_<name>`` (``raw_media`` for the wire
``media[]``, ``raw_jobid``/``raw_job_id`` behind the ``jobid`` property).
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, Self, TypeVar

import msgspec
from msgspec import UNSET, UnsetType

__all__ = [
    "IGNORED_WIRE_KEYS",
    "UNSET",
    "LenientStrEnum",
    "OpenStruct",
    "RequestStruct",
    "ResponseStruct",
    "UnsetType",
    "WireParams",
    "convert",
    "decode",
    "encoder",
    "parse_iso8601",
    "to_builtins",
    "wire_builtins",
]


class RequestStruct(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Base of every request body: fields default to ``UNSET`` and are then not sent."""


#: Wire name of :attr:`ResponseStruct.http_status`: never sent by the API; filled by the
#: transport from the HTTP response.
HTTP_STATUS_KEY = "__http_status__"


class ResponseStruct(msgspec.Struct, kw_only=True, frozen=True):
    """Base of every response body: frozen, tolerant of unknown fields."""

    http_status: int | None = msgspec.field(default=None, name=HTTP_STATUS_KEY)
    """HTTP status the body arrived with (e.g. ``201`` created vs ``200`` updated on
    POST /accounts, ``201`` for an async job); ``None`` for structs not read from a
    response (nested objects, hand-built ones)."""


#: Wire name of :attr:`OpenStruct.extra`: a key no API body uses, so the field is only
#: ever filled by :func:`decode` from the keys the model does not name.
_EXTRA_KEY = "__flowapi_extra__"


class OpenStruct(ResponseStruct, kw_only=True, frozen=True):
    """Base of responses whose shape is unpublished (api-update-2026-h2 §2–§4).

    Decoded tolerantly (numbers given as strings and the like are converted, not refused)
    and every key the model does not name is kept in :attr:`extra`, so fields the API adds
    or names differently stay reachable without a new release.
    """

    extra: dict[str, Any] = msgspec.field(default_factory=dict, name=_EXTRA_KEY)
    """Every wire key this model does not name, with its JSON value (``{}`` when none)."""


def _with_extra(obj: Any, data: Any) -> Any:
    """``obj`` (decoded from ``data``) with :attr:`OpenStruct.extra` filled, recursively."""
    if not isinstance(obj, OpenStruct) or not isinstance(data, dict):
        return obj
    fields = _fields_of(type(obj))
    known = {f.encode_name for f in fields} | {HTTP_STATUS_KEY}
    changes: dict[str, Any] = {"extra": {k: v for k, v in data.items() if k not in known}}
    for info in fields:
        value = getattr(obj, info.name)
        raw = data.get(info.encode_name)
        if isinstance(value, OpenStruct):
            changes[info.name] = _with_extra(value, raw)
        elif isinstance(value, list) and isinstance(raw, list) and len(raw) == len(value):
            changes[info.name] = [_with_extra(v, r) for v, r in zip(value, raw, strict=True)]
    return msgspec.structs.replace(obj, **changes)


class LenientStrEnum(enum.StrEnum):
    """A ``StrEnum`` whose :meth:`parse` never fails: unknown strings become ``UNKNOWN``.

    Subclasses must define an ``UNKNOWN`` member.
    """

    @classmethod
    def parse(cls, value: str | None) -> Self:
        """Return the member for ``value``, or ``UNKNOWN`` for ``None`` or an unseen value."""
        if value is None:
            return cls["UNKNOWN"]
        try:
            return cls(value)
        except ValueError:
            return cls["UNKNOWN"]


def to_builtins(obj: Any) -> Any:
    """Convert a Struct (or nested Structs) to plain Python objects, dropping ``UNSET``."""
    return msgspec.to_builtins(obj)


def wire_builtins(obj: Any) -> Any:
    """:func:`to_builtins` with every :attr:`OpenStruct.extra` folded back into its object
    and :attr:`ResponseStruct.http_status` left out, so the result has the wire keys the
    server sent (for printing and re-encoding)."""
    return _fold_extra(msgspec.to_builtins(obj))


def _fold_extra(value: Any) -> Any:
    if isinstance(value, dict):
        extra = value.get(_EXTRA_KEY)
        out = {k: _fold_extra(v) for k, v in value.items()
               if k not in (_EXTRA_KEY, HTTP_STATUS_KEY)}
        if isinstance(extra, dict):
            out.update({k: v for k, v in extra.items() if k not in out})
        return out
    if isinstance(value, list):
        return [_fold_extra(v) for v in value]
    return value


# ---------------------------------------------------------------------------------------------
# Additions: cached codecs, ISO-8601 parsing, and the wire-params base with numbered slots.
# ---------------------------------------------------------------------------------------------

T = TypeVar("T")

encoder = msgspec.json.Encoder()
"""The one shared JSON encoder (``msgspec.json.Encoder``) used for request bodies."""

_decoders: dict[Any, msgspec.json.Decoder[Any]] = {}


def decode(type_: type[T], data: bytes | bytearray | memoryview | str) -> T:
    """Decode JSON ``data`` into ``type_`` with a cached ``msgspec.json.Decoder`` per type.

    ``type_`` may be any msgspec-supported type, including generic aliases such as
    ``dict[str, AccountSummary]`` (the body of ``GET /accounts``). A body the typed
    decoder refuses is tried once more leniently: ``null`` members count as absent (the
    field's default) and numbers/booleans sent as strings are converted. An
    :class:`OpenStruct` is always decoded that way and keeps its unknown keys in ``extra``.
    Raises
    ``msgspec.ValidationError`` / ``msgspec.DecodeError``; the transport wraps them.
    """
    if isinstance(type_, type) and issubclass(type_, OpenStruct):
        raw = msgspec.json.decode(data)
        opened: T = _with_extra(msgspec.convert(_drop_nulls(raw), type_, strict=False), raw)
        return opened
    decoder = _decoders.get(type_)
    if decoder is None:
        decoder = _decoders[type_] = msgspec.json.Decoder(type_)
    try:
        result: T = decoder.decode(data)
    except msgspec.ValidationError:
        # the fast path refused the body: retry leniently before giving up — an explicit
        # ``null`` means "absent" (the field's default), and numbers or booleans sent as
        # strings are converted. Still refused → the original error.
        lenient: T | None = _lenient(type_, data)
        if lenient is None:
            raise
        return lenient
    return result


def _lenient(type_: Any, data: bytes | bytearray | memoryview | str) -> Any:
    try:
        return msgspec.convert(_drop_nulls(msgspec.json.decode(data)), type_, strict=False)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None


def _drop_nulls(value: Any) -> Any:
    """``value`` with every ``null`` object member removed (so the field's default
    applies), recursively; ``null`` list items are kept."""
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def convert(type_: type[T], obj: Any) -> T:
    """Convert already-parsed JSON builtins (``dict``/``list``...) into ``type_`` (wire names)."""
    return msgspec.convert(obj, type_)


def parse_iso8601(value: str | None) -> datetime | None:
    """Parse an ISO-8601 timestamp as the API prints it (``2025-11-17T12:34:56.789Z``).

    Returns an aware ``datetime`` (UTC when the string says ``Z``), or ``None`` for an empty
    or unparseable value — timestamps are informative and never worth failing a decode for.
    """
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


_SLOT_SUFFIX = re.compile(r"[1-9][0-9]*")

#: Wire keys that request bodies may carry but that no params class models: ``async`` is
#: decided by the session (``jobs.submit`` adds ``"async": true``), never by the params.
IGNORED_WIRE_KEYS: frozenset[str] = frozenset({"async"})


class WireParams(RequestStruct, kw_only=True, rename="camel", repr_omit_defaults=True):
    """Base of every request-params class (``VideoParams``, ``ImageParams``, ...).

    * Python names are snake_case; wire names are the API's camelCase (``aspect_ratio`` →
      ``aspectRatio``) unless a field names its wire key explicitly (``referenceVideo_1``).
    * Numbered slots are Python lists: subclasses map list fields to a wire prefix in
      :attr:`_numbered_slots` (``{"reference_images": "referenceImage_"}``) and
      :meth:`to_wire` expands ``["a", "b"]`` to ``referenceImage_1``/``referenceImage_2``.
    * Fields left at ``UNSET`` are not sent.
    """

    _numbered_slots: ClassVar[Mapping[str, str]] = {}
    """List field name → wire key prefix; item *i* (0-based) goes to ``f"{prefix}{i + 1}"``."""

    def to_wire(self) -> dict[str, Any]:
        """Return the JSON-ready body: wire names, numbered slots expanded, UNSET omitted."""
        body: dict[str, Any] = {}
        slots = type(self)._numbered_slots
        for info in _fields_of(type(self)):
            value = getattr(self, info.name)
            if value is UNSET:
                continue
            prefix = slots.get(info.name)
            if prefix is None:
                body[info.encode_name] = msgspec.to_builtins(value)
                continue
            for index, item in enumerate(value, start=1):
                body[f"{prefix}{index}"] = msgspec.to_builtins(item)
        return body

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Self:
        """Build params from a body in the API's own field names (e.g. a ``prompts.json`` entry).

        Numbered keys (``referenceImage_2``) fill the matching list field and must start at
        ``_1`` without gaps (a gap would renumber the slots and break ``@referenceImage_N``
        prompt markers). ``async`` and keys starting with ``__`` (comments, as in the vendor's
        batch script) are ignored. Raises ``ValueError`` naming every unknown key, or the
        ill-typed/missing field.
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"{cls.__name__}: expected a JSON object, got {type(data).__name__}")
        fields = _fields_of(cls)
        slots = cls._numbered_slots
        by_wire = {f.encode_name: f for f in fields if f.name not in slots}
        by_python = {f.name: f for f in fields}
        body: dict[str, Any] = {}
        found: dict[str, dict[int, tuple[str, Any]]] = {}
        unknown: list[str] = []
        for key, value in data.items():
            if not isinstance(key, str):
                unknown.append(repr(key))
                continue
            if key.startswith("__") or key in IGNORED_WIRE_KEYS:
                continue
            if key in by_wire:
                body[key] = value
                continue
            for field_name, prefix in slots.items():
                suffix = key[len(prefix) :]
                if key.startswith(prefix) and _SLOT_SUFFIX.fullmatch(suffix):
                    found.setdefault(field_name, {})[int(suffix)] = (key, value)
                    break
            else:
                unknown.append(key)
        if unknown:
            hints = []
            for key in unknown:
                info = by_python.get(key)
                if info is not None:
                    slot_prefix = slots.get(info.name)
                    wire = f"{slot_prefix}1" if slot_prefix else info.encode_name
                    hints.append(f"{key!r} (did you mean {wire!r}?)")
                else:
                    hints.append(repr(key))
            raise ValueError(f"{cls.__name__}: unknown field(s) {', '.join(hints)}")
        for field_name, items in found.items():
            prefix = slots[field_name]
            indexes = sorted(items)
            for expected, index in enumerate(indexes, start=1):
                if index != expected:
                    raise ValueError(
                        f"{cls.__name__}: {prefix}{index} given without {prefix}{expected}; "
                        f"numbered slots must be filled from {prefix}1 without gaps"
                    )
            values = []
            for index in indexes:
                key, value = items[index]
                if not isinstance(value, str):
                    got = type(value).__name__
                    raise ValueError(f"{cls.__name__}: field {key!r} must be a string, got {got}")
                values.append(value)
            body[by_python[field_name].encode_name] = values
        try:
            return msgspec.convert(body, cls)
        except msgspec.ValidationError as exc:
            raise ValueError(f"{cls.__name__}: {exc}") from exc


@functools.cache
def _fields_of(cls: type[msgspec.Struct]) -> tuple[msgspec.structs.FieldInfo, ...]:
    return msgspec.structs.fields(cls)
