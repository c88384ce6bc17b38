"""Registered client applications and client authentication (RFC 6749 2.3)."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from sandbox.domain.oauth.errors import TokenError


@dataclass(frozen=True, slots=True)
class Client:
    """A registered (confidential) client application."""

    client_id: str
    secret: str
    name: str
    redirect_uris: tuple[str, ...]
    pkce_required: bool
    scopes: tuple[str, ...]
    grant_types: tuple[str, ...] = ("authorization_code", "refresh_token")


def authenticate_client(
    clients: Mapping[str, Client], client_id: str | None, secret: str | None
) -> Client:
    """The client whose id and secret match; TokenError invalid_client otherwise.

    The secret is compared in constant time, also for an unknown client.
    """
    client = clients.get(client_id) if client_id else None
    expected = client.secret if client is not None else "x" * 32
    given = secret if secret is not None else ""
    matches = hmac.compare_digest(
        expected.encode("utf-8", "surrogatepass"), given.encode("utf-8", "surrogatepass")
    )
    if client is None or secret is None or not matches:
        raise TokenError("invalid_client", "client authentication failed")
    return client
