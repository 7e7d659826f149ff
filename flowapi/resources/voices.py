"""``flow.voices``: system presets and custom voices (POST/GET/DELETE /voices)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Unpack

from flowapi._capabilities import validate
from flowapi._errors import InvalidParamsError
from flowapi._options import RequestOptions, request_options
from flowapi._transport import encode_email
from flowapi.resources._base import Resource, build_params
from flowapi.types._fields import VoiceFields
from flowapi.types.voices import Voice, VoiceDeleted, VoiceList, VoiceParams

__all__ = ["Voices"]


class Voices(Resource):
    """Voices for ``referenceAudio_N`` and characters."""

    async def create(self, params: VoiceParams | None = None, *,
                     extra_body: Mapping[str, Any] | None = None,
                     extra_query: Mapping[str, str] | None = None,
                     extra_headers: Mapping[str, str] | None = None,
                     **fields: Unpack[VoiceFields]) -> Voice:
        """POST /voices: create a custom voice (captcha required); returns its reference id
        in ``voice`` and a fresh ``audioUrl``."""
        p = build_params(VoiceParams, params, fields)
        if self._session.validate:
            validate(p)
        return await self._t.request("POST", ("voices",), Voice, json=p.to_wire(),
                                     read_timeout=self._t.timeouts.generation_read,
                                     email=p.email,
                                     **request_options(extra_body, extra_query, extra_headers))

    async def list(self, email: str, *, source: Literal["system", "user"] | None = None,
                   **options: Unpack[RequestOptions]) -> VoiceList:
        """GET /voices?email=…[&source=system|user]: the 30 presets and/or user voices."""
        if not email:
            raise InvalidParamsError("email is required", field="email",
                                     doc_section="GET /voices")
        params = {"email": email}
        if source is not None:
            if source not in ("system", "user"):
                raise InvalidParamsError("source must be 'system' or 'user'", field="source")
            params["source"] = source
        return await self._t.request("GET", ("voices",), VoiceList, params=params,
                                     **options)

    async def get(self, ref: str, **options: Unpack[RequestOptions]) -> Voice:
        """GET /voices/{ref}: a system preset (by name) or a user voice (fresh ``audioUrl``)."""
        return await self._t.request("GET", ("voices", encode_email(_ref(ref))), Voice,
                                     **options)

    async def delete(self, ref: str, **options: Unpack[RequestOptions]) -> VoiceDeleted:
        """DELETE /voices/{ref}: delete a user voice (system presets cannot be deleted)."""
        return await self._t.request("DELETE", ("voices", encode_email(_ref(ref))),
                                     VoiceDeleted, **options)


def _ref(ref: str) -> str:
    if not ref:
        raise InvalidParamsError("voice reference is empty", field="ref")
    return ref
