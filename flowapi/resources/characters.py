"""``flow.characters``: reusable characters (POST/GET/DELETE /characters)."""

from __future__ import annotations

from typing import Unpack

from flowapi._capabilities import validate
from flowapi._errors import InvalidParamsError
from flowapi._transport import encode_email
from flowapi.resources._base import Resource, build_params
from flowapi.types._fields import CharacterFields
from flowapi.types.characters import Character, CharacterDeleted, CharacterList, CharacterParams

__all__ = ["Characters"]


class Characters(Resource):
    """Characters bundle 1–2 reference images and an optional voice for ``character_N``."""

    async def create(self, params: CharacterParams | None = None,
                     **fields: Unpack[CharacterFields]) -> Character:
        """POST /characters (no captcha); the account comes from ``imageReference_1``."""
        p = build_params(CharacterParams, params, fields)
        if self._session.validate:
            validate(p)
        return await self._t.request("POST", ("characters",), Character, json=p.to_wire())

    async def list(self, email: str) -> CharacterList:
        """GET /characters?email=…: the account's characters (no preview URLs)."""
        if not email:
            raise InvalidParamsError("email is required", field="email",
                                     doc_section="GET /characters")
        return await self._t.request("GET", ("characters",), CharacterList,
                                     params={"email": email})

    async def get(self, ref: str) -> Character:
        """GET /characters/{ref}: one character with preview and audio URLs."""
        return await self._t.request("GET", ("characters", encode_email(_ref(ref))), Character)

    async def delete(self, ref: str) -> CharacterDeleted:
        """DELETE /characters/{ref}: delete a character (its voice is kept)."""
        return await self._t.request("DELETE", ("characters", encode_email(_ref(ref))),
                                     CharacterDeleted)


def _ref(ref: str) -> str:
    if not ref:
        raise InvalidParamsError("character reference is empty", field="ref")
    return ref
