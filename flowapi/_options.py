"""Per-call escape hatch: ``extra_body``, ``extra_query``, ``extra_headers`` (issue 10 §4).

Every session method accepts them (like openai's SDK): the API adds fields monthly, and a
user should not wait for a release to send one. They are sent as-is, after local
validation, so ``validate=True`` never refuses a field it does not know yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict

__all__ = ["RequestOptions", "request_options"]


class RequestOptions(TypedDict, total=False):
    """Keyword options every session method accepts.

    Attributes:
        extra_body: keys merged into the JSON body (they win over the SDK's own keys);
            refused on GET requests and raw uploads (``InvalidParamsError``).
        extra_query: query parameters added to the URL (they win over the SDK's own).
        extra_headers: headers added to the request; ``Authorization``, ``Host`` and
            ``Content-Length`` cannot be set this way.
    """

    extra_body: Mapping[str, Any]
    extra_query: Mapping[str, str]
    extra_headers: Mapping[str, str]


def request_options(extra_body: Mapping[str, Any] | None = None,
                    extra_query: Mapping[str, str] | None = None,
                    extra_headers: Mapping[str, str] | None = None) -> RequestOptions:
    """A :class:`RequestOptions` holding only the options that were given."""
    out = RequestOptions()
    if extra_body is not None:
        out["extra_body"] = extra_body
    if extra_query is not None:
        out["extra_query"] = extra_query
    if extra_headers is not None:
        out["extra_headers"] = extra_headers
    return out
