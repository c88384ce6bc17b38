"""How accounts are named: the ref ``branch-type-number`` and the opaque account_id."""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterable

from sandbox.domain.bank import AccountType

_REF_RE = re.compile(r"(\d{3})-(ordinary|savings|current)-(\d{7})", re.ASCII)
_ID_RE = re.compile(r"[0-9a-f]{20}", re.ASCII)


@functools.lru_cache(maxsize=4096)  # a SHA-256 per linked account per request otherwise
def account_id(bank_code: str, ref: str) -> str:
    """The opaque, stable account_id of ``ref`` at ``bank_code`` (20 hex digits)."""
    return hashlib.sha256(f"{bank_code}:{ref}".encode()).hexdigest()[:20]


def parse_ref(ref: str) -> tuple[str, AccountType, str] | None:
    """``001-ordinary-1234567`` -> (branch, type, number); None when malformed."""
    if len(ref) > _REF_MAX:  # too long to be one (and not worth remembering)
        return None
    return _parse_ref(ref)


_REF_MAX = len("001-ordinary-1234567")


@functools.lru_cache(maxsize=4096)  # every data request parses its grant's refs
def _parse_ref(ref: str) -> tuple[str, AccountType, str] | None:
    match = _REF_RE.fullmatch(ref)
    if match is None:
        return None
    return match[1], AccountType(match[2]), match[3]


def rule_account(ref: str | None) -> str | None:
    """``001-ordinary-1234567`` -> ``001-1234567``, the account as rules name it."""
    key = parse_ref(ref) if ref else None
    return f"{key[0]}-{key[2]}" if key is not None else None


def looks_like_id(text: str) -> bool:
    """Whether ``text`` has the shape of an account_id."""
    return _ID_RE.fullmatch(text) is not None


def resolve_ref(bank_code: str, refs: Iterable[str], wanted: str) -> str | None:
    """The ref among ``refs`` whose account_id (or the ref itself) is ``wanted``."""
    for ref in refs:
        if wanted == ref or account_id(bank_code, ref) == wanted:
            return ref
    return None
