"""移管 (account transfer): where an account moves to, and which account a request names."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sandbox.domain.bank import Account, AccountType, Customer
from sandbox.domain.directory import Directory, account_ref
from sandbox.domain.refs import looks_like_id, parse_ref, resolve_ref
from sandbox.errors import SandboxError

_NUMBER_RE = re.compile(r"\d{7}", re.ASCII)
_BRANCH_RE = re.compile(r"\d{3}", re.ASCII)


def _bad(detail: str) -> SandboxError:
    return SandboxError("invalid_parameter", detail)


def _fresh_number(directory: Directory, branch: str, kind: AccountType, seed: str) -> str:
    """A deterministic 7-digit number not used at ``branch`` for ``kind``."""
    digest = int(hashlib.sha256(seed.encode()).hexdigest(), 16)
    for step in range(10_000):
        number = f"{(digest + step * 7919) % 9_000_000 + 1_000_000:07d}"
        if directory.find_account(branch, kind, number) is None:
            return number
    raise SandboxError("system_error", "no free account number")  # pragma: no cover


def plan_transfer(
    directory: Directory,
    branch_codes: Sequence[str],
    account: Account,
    body: Mapping[str, Any],
) -> tuple[str, str]:
    """The (branch, number) an account moves to: from ``body`` or the next branch, a new number."""
    unknown = set(body) - {"branch_code", "account_number"}
    if unknown:
        raise _bad(f"unknown field(s) {sorted(unknown)}; allowed: branch_code, account_number")
    branch = body.get("branch_code")
    number = body.get("account_number")
    if branch is not None and (not isinstance(branch, str) or not _BRANCH_RE.fullmatch(branch)):
        raise _bad("branch_code must be a 3-digit string")
    if number is not None and (not isinstance(number, str) or not _NUMBER_RE.fullmatch(number)):
        raise _bad("account_number must be a 7-digit string")
    if branch is None:
        here = (
            branch_codes.index(account.branch_code) if account.branch_code in branch_codes else -1
        )
        branch = branch_codes[(here + 1) % len(branch_codes)]
    elif branch not in branch_codes:
        raise _bad(f"branch_code {branch} is not a branch of this bank {list(branch_codes)}")
    if number is None:
        number = _fresh_number(directory, branch, account.account_type, account_ref(account))
    elif (branch, number) == (account.branch_code, account.number):
        raise _bad("the new branch_code/account_number equals the current one")
    elif directory.find_account(branch, account.account_type, number) is not None:
        raise _bad(f"account {branch}-{account.account_type.value}-{number} already exists")
    return branch, number


class AlreadyTransferred(SandboxError):
    """The account was moved before; ``moved_to`` is its new (branch, number)."""

    def __init__(self, moved_to: tuple[str, str]) -> None:
        super().__init__("account_transferred", f"already moved to {moved_to[0]}-{moved_to[1]}")
        self.moved_to = moved_to


def named_account(
    directory: Directory, bank_code: str, linked_refs: Iterable[str], wanted: str
) -> tuple[Customer, Account] | None:
    """The account ``wanted`` names: a ref ``001-ordinary-1234567``, or the account_id of
    an explicit customer's account or of one of ``linked_refs``; None if none."""
    key = parse_ref(wanted)
    if key is None and looks_like_id(wanted):
        refs = [account_ref(a) for c in directory.explicit() for a in c.accounts]
        ref = resolve_ref(bank_code, [*refs, *linked_refs], wanted)
        key = parse_ref(ref) if ref is not None else None
    return directory.find_account(*key) if key is not None else None


def find_for_transfer(
    directory: Directory, bank_code: str, linked_refs: Iterable[str], wanted: str
) -> tuple[Customer, Account]:
    """The account named by its ref or account_id (explicit or linked accounts)."""
    found = named_account(directory, bank_code, linked_refs, wanted)
    if found is None:
        raise SandboxError(
            "account_not_found", "no such account; use the account_id or the ref branch-type-number"
        )
    if found[1].transferred_to is not None:
        raise AlreadyTransferred(found[1].transferred_to)
    return found
