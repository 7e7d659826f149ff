"""Shared base of the resource namespaces."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from flowapi._errors import InvalidParamsError

if TYPE_CHECKING:
    from flowapi._session import FlowSession
    from flowapi._transport import Transport

__all__ = ["Resource", "build_params"]

P = TypeVar("P", bound=msgspec.Struct)


class Resource:
    """A namespace of endpoint methods bound to an open session's transport."""

    def __init__(self, transport: Transport, session: FlowSession) -> None:
        self._t = transport
        self._session = session

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._session!r}>"


def build_params(cls: type[P], params: P | None, fields: Mapping[str, Any]) -> P:
    """Return ``params`` or build ``cls(**fields)``; not both.

    Raises:
        InvalidParamsError: both were given, or a field is unknown / of the wrong type.
    """
    if params is not None:
        if fields:
            raise InvalidParamsError(
                f"pass either a {cls.__name__} or keyword fields, not both "
                f"(got {sorted(fields)})")
        if not isinstance(params, cls):
            raise InvalidParamsError(f"expected {cls.__name__}, got {type(params).__name__}")
        return params
    try:
        return cls(**fields)
    except TypeError as exc:
        raise InvalidParamsError(f"{cls.__name__}: {exc}") from exc
