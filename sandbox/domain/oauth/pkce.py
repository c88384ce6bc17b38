"""PKCE (RFC 7636): syntax checks and the S256 transformation."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")
_VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")

VERIFIER_RULE = "code_verifier must be 43-128 characters of [A-Za-z0-9-._~] (RFC 7636 4.1)"
CHALLENGE_RULE = "code_challenge must be 43 characters of base64url without padding (S256)"


def is_valid_challenge(challenge: str) -> bool:
    """True if ``challenge`` looks like a base64url SHA-256 digest."""
    return _CHALLENGE.fullmatch(challenge) is not None


def is_valid_verifier(verifier: str) -> bool:
    """True if ``verifier`` has the length and alphabet RFC 7636 requires."""
    return _VERIFIER.fullmatch(verifier) is not None


def s256(verifier: str) -> str:
    """BASE64URL(SHA256(ASCII(verifier))) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def verify(verifier: str, challenge: str) -> bool:
    """True if ``verifier`` is valid and its S256 transformation equals ``challenge``."""
    if not is_valid_verifier(verifier):
        return False
    return hmac.compare_digest(s256(verifier), challenge)
