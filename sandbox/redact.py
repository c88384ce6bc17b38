"""Redaction of secrets (PINs, codes, tokens, client secrets) before anything is logged."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping

SECRET_KEYS = frozenset(
    {
        "pin",
        "code",
        "code_verifier",
        "client_secret",
        "access_token",
        "refresh_token",
        "token",
        "password",
        "csrf_token",
        "authorization",
        "cookie",
    }
)
REDACTED = "[redacted]"


# Parameters whose values are never secret (what a journal reader wants to see).
PLAIN_KEYS = frozenset(
    {
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "code_challenge",
        "code_challenge_method",
        "grant_type",
        "token_type_hint",
        "date_from",
        "date_to",
        "limit",
        "bank",
        "since",
        "to",
        "iss",
        "error",
        "error_description",
    }
)
# What the sandbox's own secrets look like, whatever name carries them: codes, tokens and
# CSRF values are 24+ URL-safe characters (secrets.token_urlsafe), PINs four digits.
_SECRET_SHAPE = re.compile(r"[A-Za-z0-9_-]{20,}|\d{4}")


def redacted_query(
    params: Mapping[str, str] | Iterable[tuple[str, str]], held: Collection[str] = ()
) -> dict[str, str]:
    """Parameters with every secret value replaced, by name and by value; long values cut.

    A value is redacted when its name says secret, when it has the shape of a code, token,
    CSRF value or PIN (unless the name is one of PLAIN_KEYS), or when it is one of ``held``
    (for example the bank's client secrets).
    """
    items = params.items() if isinstance(params, Mapping) else params
    out: dict[str, str] = {}
    for key, value in items:
        name = key.lower()
        secret = (
            name in SECRET_KEYS
            or value in held
            or (name not in PLAIN_KEYS and _SECRET_SHAPE.fullmatch(value) is not None)
        )
        out[key] = REDACTED if secret else value[:200]
    return out


_IN_TEXT = re.compile(
    r"(?i)\b(" + "|".join(sorted(SECRET_KEYS, key=len, reverse=True)) + r")=([^&\s'\"\\]+)"
)
_AUTH_HEADER = re.compile(r"(?i)\b(Basic|Bearer)\s+[A-Za-z0-9._~+/=-]+")


def redact_text(text: str) -> str:
    """Free text (a log message, a traceback) with ``secret=value`` and credentials masked."""
    text = _IN_TEXT.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
    return _AUTH_HEADER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
