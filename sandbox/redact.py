"""Redaction of secrets (PINs, codes, tokens, client secrets) before anything is logged."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

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


def redacted_query(params: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    """Parameters with every secret value replaced; long values cut."""
    items = params.items() if isinstance(params, Mapping) else params
    out: dict[str, str] = {}
    for key, value in items:
        out[key] = REDACTED if key.lower() in SECRET_KEYS else value[:200]
    return out


_IN_TEXT = re.compile(
    r"(?i)\b(" + "|".join(sorted(SECRET_KEYS, key=len, reverse=True)) + r")=([^&\s'\"\\]+)"
)
_AUTH_HEADER = re.compile(r"(?i)\b(Basic|Bearer)\s+[A-Za-z0-9._~+/=-]+")


def redact_text(text: str) -> str:
    """Free text (a log message, a traceback) with ``secret=value`` and credentials masked."""
    text = _IN_TEXT.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
    return _AUTH_HEADER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
