"""``flow.accounts``: Google Flow accounts (POST/GET/DELETE /accounts)."""

from __future__ import annotations

from typing import Unpack

from flowapi._errors import InvalidParamsError
from flowapi._options import RequestOptions
from flowapi._transport import encode_email
from flowapi.resources._base import Resource
from flowapi.types.accounts import Account, AccountCreated, AccountDeleted, AccountSummary

__all__ = ["Accounts"]


class Accounts(Resource):
    """Configure, list, inspect and delete Google Flow accounts."""

    async def create(self, cookies: str, **options: Unpack[RequestOptions]) -> AccountCreated:
        """POST /accounts: add (201) or update (200) an account from its cookie table.

        Args:
            cookies: the tab-separated cookie table copied from the browser's DevTools
                (see *Setup Google Flow*).

        Raises:
            BadRequestError: the cookies failed validation.
        """
        if not cookies.strip():
            raise InvalidParamsError("cookies is empty: paste the accounts.google.com cookie "
                                     "table", field="cookies",
                                     doc_section="POST /accounts › Request Body")
        return await self._t.request("POST", ("accounts",), AccountCreated,
                                     json={"cookies": cookies}, **options)

    async def list(self, **options: Unpack[RequestOptions]) -> dict[str, AccountSummary]:
        """GET /accounts: every configured account, keyed by email (``{}`` when none)."""
        return await self._t.request("GET", ("accounts",), dict[str, AccountSummary],
                                     **options)

    async def get(self, email: str, **options: Unpack[RequestOptions]) -> Account:
        """GET /accounts/{email}: health, credits and video models (with
        ``videoGenerationTimeSeconds``; ``credits``/``models`` only when health is OK).

        Raises:
            NotFoundError: the account is not configured.
        """
        return await self._t.request("GET", ("accounts", encode_email(_email(email))), Account,
                                     **options)

    async def delete(self, email: str, **options: Unpack[RequestOptions]) -> AccountDeleted:
        """DELETE /accounts/{email}: remove an account (cannot be undone).

        Raises:
            NotFoundError: the account is not configured.
        """
        return await self._t.request("DELETE", ("accounts", encode_email(_email(email))),
                                     AccountDeleted, **options)


def _email(email: str) -> str:
    if not email or not email.strip():
        raise InvalidParamsError("email is empty", field="email")
    return email.strip()
