"""Command-line options generated from a params class (``VideoParams``, ``ImageParams``, ...).

One ``--<wireName>`` option per plain field, typed from its annotation (``str``, ``int``,
``float``, ``bool``), one ``--<prefix>N`` option per numbered slot up to the documented
maximum, and ``--json BODY`` / ``--json @file.json`` for a whole body in the API's own
field names. The flags win over the JSON body; the result goes through the class's own
``from_wire`` so the rules live in one place. Help texts come from the fields' attribute
docstrings, so nothing here is maintained per field.
"""

from __future__ import annotations

import argparse
import ast
import functools
import inspect
import itertools
import re
import sys
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from flowapi._capabilities import IMAGE_MODELS, VIDEO_MODELS
from flowapi.types._base import UnsetType, WireParams

__all__ = [
    "SLOT_MAXIMUM",
    "UsageError",
    "add_params_options",
    "build_params",
    "load_json_argument",
    "slot_maximum",
]

P = TypeVar("P", bound=WireParams)

_DEST_PREFIX = "wire__"

SLOT_MAXIMUM: dict[str, int] = {
    # referenceImage_N: the largest R2V image budget of any model (omni-flash-1.2: 10).
    "referenceImage_": max(spec.max_images_r2v for spec in VIDEO_MODELS.values()),
    # character_N: POST /videos › Characters, POST /images: character_1..7.
    "character_": 7,
    # referenceAudio_N: the largest voice budget of any model (omni-flash: 5).
    "referenceAudio_": max(spec.max_voices_r2v for spec in VIDEO_MODELS.values()),
    # reference_N: POST /images reference_1..10.
    "reference_": max(spec.max_references for spec in IMAGE_MODELS.values()),
    # imageReference_N: POST /characters takes 1-2 images.
    "imageReference_": 2,
}
"""Numbered-slot wire prefix → highest slot number offered as a flag."""

_DEFAULT_SLOT_MAXIMUM = 10


class UsageError(ValueError):
    """Bad command-line input (exit code 2)."""


def slot_maximum(prefix: str) -> int:
    """The highest slot number offered for ``prefix`` (10 for a prefix not in the table)."""
    return SLOT_MAXIMUM.get(prefix, _DEFAULT_SLOT_MAXIMUM)


def _dest(wire: str) -> str:
    return _DEST_PREFIX + wire


# ---------------------------------------------------------------------------------------------
# Help texts from attribute docstrings
# ---------------------------------------------------------------------------------------------

_ROLE = re.compile(r":[a-z:]+:`~?(?:[^`<]*<)?([^`>]+)>?`")
_LITERAL = re.compile(r"``([^`]*)``")


def _clean_doc(text: str, wire_names: dict[str, str] | None = None) -> str:
    """One line of plain text from an RST-flavoured docstring, safe for argparse help.

    ``wire_names`` maps Python field names to wire names, so a literal ``start_image`` in
    a docstring reads ``startImage`` on the command line.
    """
    names = wire_names or {}
    text = _ROLE.sub(lambda m: m.group(1).rsplit(".", 1)[-1], text)
    text = _LITERAL.sub(lambda m: names.get(m.group(1), m.group(1)), text)
    return " ".join(text.split()).replace("%", "%%")


@functools.cache
def _module_tree(module_name: str) -> ast.Module | None:
    module = sys.modules.get(module_name)
    if module is None:
        return None
    try:
        return ast.parse(inspect.getsource(module))
    except (OSError, TypeError, SyntaxError):
        return None  # no sources (frozen app): the options simply have no help text


def _class_docs(klass: type) -> dict[str, str]:
    tree = _module_tree(klass.__module__)
    if tree is None:
        return {}
    docs: dict[str, str] = {}
    for node in tree.body:
        if not (isinstance(node, ast.ClassDef) and node.name == klass.__name__):
            continue
        body = node.body
        for stmt, after in itertools.pairwise(body):
            if (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)
                    and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
                    and isinstance(after.value.value, str)):
                docs[stmt.target.id] = after.value.value
    return docs


@functools.cache
def attribute_docs(cls: type) -> dict[str, str]:
    """Field name → attribute docstring (raw), over ``cls`` and its flowapi bases."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if klass.__module__.startswith("flowapi."):
            docs.update(_class_docs(klass))
    return docs


# ---------------------------------------------------------------------------------------------
# Option generation
# ---------------------------------------------------------------------------------------------


def _json_value(text: str) -> Any:
    """Parse a flag value as JSON (for fields that are not plain scalars)."""
    try:
        return msgspec.json.decode(text.encode())
    except msgspec.DecodeError:
        return text


def _scalar_type(annotation: Any) -> type | None:
    """``str``/``int``/``float``/``bool`` from ``X | UnsetType`` annotations, else ``None``."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = typing.get_args(annotation)
    else:
        args = (annotation,)
    kinds = {a for a in args if a is not UnsetType and a is not type(None)}
    if kinds == {int, float}:
        return float
    if len(kinds) == 1:
        (only,) = kinds
        if only in (str, int, float, bool):
            return typing.cast(type, only)
    return None


_METAVARS: dict[type | None, str] = {str: "TEXT", int: "N", float: "X", None: "JSON"}


def _ordered_fields(cls: type[WireParams]) -> list[msgspec.structs.FieldInfo]:
    """The class's own fields first (in definition order), inherited ones after."""
    own = set(inspect.get_annotations(cls))
    fields = list(msgspec.structs.fields(cls))
    return sorted(fields, key=lambda f: 0 if f.name in own else 1)


def add_params_options(parser: argparse.ArgumentParser, cls: type[WireParams]) -> None:
    """Add one option per wire field of ``cls`` plus ``--json`` to ``parser``.

    The parser remembers the class and the generated options; :func:`build_params` turns
    the parsed namespace back into a ``cls`` instance.
    """
    docs = attribute_docs(cls)
    slots = cls._numbered_slots
    wire_names = {f.name: (f"{slots[f.name]}N" if f.name in slots else f.encode_name)
                  for f in msgspec.structs.fields(cls)}
    group = parser.add_argument_group(
        f"request body ({cls.__name__}; the API's own field names)",
        "Every field of the body as a flag. Flags override the same field given in --json.")
    wires: list[str] = []
    for info in _ordered_fields(cls):
        doc = _clean_doc(docs.get(info.name, ""), wire_names)
        if info.required and not doc.startswith("Required"):
            doc = f"Required. {doc}".rstrip()
        prefix = slots.get(info.name)
        if prefix is not None:
            top = slot_maximum(prefix)
            for n in range(1, top + 1):
                wire = f"{prefix}{n}"
                text = doc if n == 1 else f"slot {n} of {prefix}1..{top} (see --{prefix}1)"
                group.add_argument(f"--{wire}", dest=_dest(wire), metavar="REF", default=None,
                                   help=text)
                wires.append(wire)
            continue
        wire = info.encode_name
        scalar = _scalar_type(info.type)
        if scalar is bool:
            group.add_argument(f"--{wire}", dest=_dest(wire), default=None,
                               action=argparse.BooleanOptionalAction, help=doc)
        else:
            convert: Callable[[str], Any] = scalar if scalar is not None else _json_value
            group.add_argument(f"--{wire}", dest=_dest(wire), type=convert, default=None,
                               metavar=_METAVARS.get(scalar, "VALUE"), help=doc)
        wires.append(wire)
    group.add_argument("--json", dest="json_body", metavar="BODY", default=None,
                       help="the request body as JSON in wire names, or @file.json (@- reads "
                            "stdin); flags are merged over it")
    parser.set_defaults(params_class=cls, params_wires=tuple(wires))


def load_json_argument(text: str | None) -> dict[str, Any]:
    """Parse ``--json``: a JSON object literal, ``@path`` to a file, or ``@-`` for stdin.

    Raises:
        UsageError: unreadable file, invalid JSON, or not an object.
    """
    if text is None:
        return {}
    source = "--json"
    if text.startswith("@"):
        name = text[1:]
        source = name
        try:
            data = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
        except OSError as exc:
            raise UsageError(f"--json: cannot read {name}: {exc.strerror}") from exc
    else:
        data = text.encode()
    try:
        body = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise UsageError(f"{source}: not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise UsageError(f"{source}: expected a JSON object (a request body), got "
                         f"{type(body).__name__}")
    return body


def build_params(args: argparse.Namespace, cls: type[P]) -> P:
    """Build ``cls`` from ``--json`` and the generated flags of the parsed ``args``.

    Raises:
        UsageError: bad ``--json``, an unknown field, a missing required field, a gap in the
            numbered slots, or a value of the wrong type (the message names the field).
    """
    body = load_json_argument(getattr(args, "json_body", None))
    for wire in getattr(args, "params_wires", ()):
        value = getattr(args, _dest(wire), None)
        if value is not None:
            body[wire] = value
    try:
        return cls.from_wire(body)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
