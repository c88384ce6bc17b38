"""The OAuth endpoints' request bodies: form parsing (RFC 6749 3.1) and client authentication."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import parse_qsl, unquote_plus

from aiohttp import web

from sandbox.domain.oauth.authorize import duplicate_keys
from sandbox.domain.oauth.clients import Client
from sandbox.domain.oauth.errors import TokenError
from sandbox.tenant.tenant import Tenant

FORM_TYPE = "application/x-www-form-urlencoded"

MAX_FIELDS = 50

Form = dict[str, str]


def parse_form(content_type: str, charset: str | None, raw: bytes) -> Form:
    """The form parameters; blank ones count as absent (RFC 6749 3.1)."""
    if content_type != FORM_TYPE:
        raise TokenError("invalid_request", f"the body must be {FORM_TYPE}")
    if charset is not None and charset.lower().replace("_", "-") not in ("utf-8", "utf8"):
        raise TokenError("invalid_request", "the body must be UTF-8")
    try:
        pairs = parse_qsl(
            raw.decode("utf-8"),
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except ValueError:
        raise TokenError("invalid_request", "the body is not valid UTF-8 form data") from None
    dups = duplicate_keys(pairs)
    if dups:
        raise TokenError("invalid_request", f"parameters must not repeat: {', '.join(dups)}")
    return {key: value for key, value in pairs if value != ""}


def required(form: Form, name: str) -> str:
    value = form.get(name)
    if value is None:
        raise TokenError("invalid_request", f"{name} is required")
    return value


def authenticate(request: web.Request, tenant: Tenant, form: Form) -> Client:
    """HTTP Basic (client_secret_basic) or body credentials (client_secret_post), not both."""
    headers = request.headers.getall("Authorization", [])
    if len(headers) > 1:
        raise TokenError("invalid_request", "send one Authorization header")
    header = headers[0] if headers else None
    if header is None:
        return tenant.oauth.authenticate_client(form.get("client_id"), form.get("client_secret"))
    client_id, secret = basic_credentials(header)
    if "client_secret" in form:
        raise TokenError("invalid_request", "use either HTTP Basic or client_secret, not both")
    if form.get("client_id", client_id) != client_id:
        raise TokenError("invalid_request", "client_id differs from the HTTP Basic user")
    try:
        return tenant.oauth.authenticate_client(client_id, secret)
    except TokenError as exc:
        raise TokenError(exc.error, exc.description, basic=True) from None


def carried_client_id(request: web.Request, form: Form) -> str | None:
    """The client id a token request names (HTTP Basic user, else the form's client_id)."""
    headers = request.headers.getall("Authorization", [])
    if len(headers) == 1:
        return basic_credentials(headers[0])[0]
    return form.get("client_id")


def basic_credentials(header: str) -> tuple[str, str]:
    """client_id and secret from an Authorization header (RFC 6749 2.3.1)."""
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        raise TokenError("invalid_client", "use HTTP Basic or client_secret_post", basic=True)
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        client_id, sep, secret = decoded.partition(":")
        if not sep:
            raise ValueError("no colon")
        return unquote_plus(client_id, errors="strict"), unquote_plus(secret, errors="strict")
    except (binascii.Error, ValueError):
        raise TokenError(
            "invalid_request", "Authorization: Basic must be base64 of client_id:client_secret"
        ) from None
