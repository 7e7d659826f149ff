"""``flow.characters``: reusable characters (POST/GET/DELETE /characters)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Unpack

from flowapi._capabilities import validate
from flowapi._errors import InvalidParamsError
from flowapi._options import RequestOptions, request_options
from flowapi._transport import encode_email
from flowapi.resources._base import Resource, build_params
from flowapi.types._fields import CharacterFields
from flowapi.types.characters import Character, CharacterDeleted, CharacterList, CharacterParams

__all__ = ["Characters"]


class Characters(Resource):
    """Characters bundle 1–2 reference images and an optional voice for ``character_N``."""

    async def create(self, params: CharacterParams | None = None, *,
                     extra_body: Mapping[str, Any] | None = None,
                     extra_query: Mapping[str, str] | None = None,
                     extra_headers: Mapping[str, str] | None = None,
                     **fields: Unpack[CharacterFields]) -> Character:
        """POST /characters (no captcha); the account comes from ``imageReference_1``."""
        p = build_params(CharacterParams, params, fields)
        if self._session.validate:
            validate(p)
        return await self._t.request("POST", ("characters",), Character, json=p.to_wire(),
                                     **request_options(extra_body, extra_query, extra_headers))

    async def list(self, email: str, **options: Unpack[RequestOptions]) -> CharacterList:
        """GET /characters?email=…: the account's characters (no preview URLs)."""
        if not email:
            raise InvalidParamsError("email is required", field="email",
                                     doc_section="GET /characters")
        return await self._t.request("GET", ("characters",), CharacterList,
                                     params={"email": email}, **options)

    async def get(self, ref: str, **options: Unpack[RequestOptions]) -> Character:
        """GET /characters/{ref}: one character with preview and audio URLs."""
        return await self._t.request("GET", ("characters", encode_email(_ref(ref))), Character,
                                     **options)

    async def delete(self, ref: str, **options: Unpack[RequestOptions]) -> CharacterDeleted:
        """DELETE /characters/{ref}: delete a character (its voice is kept)."""
        return await self._t.request("DELETE", ("characters", encode_email(_ref(ref))),
                                     CharacterDeleted, **options)


def _ref(ref: str) -> str:
    if not ref:
        raise InvalidParamsError("character reference is empty", field="ref")
    return ref
