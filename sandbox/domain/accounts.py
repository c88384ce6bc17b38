"""Views of the bank data API: account JSON, statement pages, term deposits, 移管 planning."""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sandbox.clock import to_jst
from sandbox.domain.bank import Account, AccountType, Customer, TimeDeposit
from sandbox.domain.directory import Directory, account_ref
from sandbox.domain.ledger import Transaction
from sandbox.errors import SandboxError

CURRENCY = "JPY"
DEFAULT_LIMIT = 100
MAX_LIMIT = 500
STATEMENT_PARAMS = frozenset({"date_from", "date_to", "limit", "cursor"})
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_DIGITS_RE = re.compile(r"\d{1,6}", re.ASCII)
_REF_RE = re.compile(r"(\d{3})-(ordinary|savings|current)-(\d{7})", re.ASCII)
_ID_RE = re.compile(r"[0-9a-f]{20}", re.ASCII)
_NUMBER_RE = re.compile(r"\d{7}", re.ASCII)
_BRANCH_RE = re.compile(r"\d{3}", re.ASCII)


def account_id(bank_code: str, ref: str) -> str:
    """The opaque, stable account_id of ``ref`` at ``bank_code`` (20 hex digits)."""
    return hashlib.sha256(f"{bank_code}:{ref}".encode()).hexdigest()[:20]


def parse_ref(ref: str) -> tuple[str, AccountType, str] | None:
    """``001-ordinary-1234567`` -> (branch, type, number); None when malformed."""
    match = _REF_RE.fullmatch(ref)
    if match is None:
        return None
    return match[1], AccountType(match[2]), match[3]


def looks_like_id(text: str) -> bool:
    """Whether ``text`` has the shape of an account_id."""
    return _ID_RE.fullmatch(text) is not None


def resolve_ref(bank_code: str, refs: Iterable[str], wanted: str) -> str | None:
    """The ref among ``refs`` whose account_id (or the ref itself) is ``wanted``."""
    for ref in refs:
        if wanted == ref or account_id(bank_code, ref) == wanted:
            return ref
    return None


def base_stamp(now: datetime) -> tuple[str, str, str]:
    """(base_date, base_time, base_date_time) of ``now`` in Japan time."""
    local = to_jst(now).replace(microsecond=0)
    return local.date().isoformat(), local.strftime("%H:%M:%S+09:00"), local.isoformat()


def account_json(
    *,
    bank_code: str,
    customer: Customer,
    account: Account,
    branch_name: str,
    balance: int,
    now: datetime,
) -> dict[str, Any]:
    """One account as the data API shows it."""
    base_date, base_time, _ = base_stamp(now)
    return {
        "account_id": account_id(bank_code, account_ref(account)),
        "branch_code": account.branch_code,
        "branch_name": branch_name,
        "account_type_code": account.account_type.code,
        "account_type_name": account.account_type.japanese,
        "account_number": account.number,
        "account_name_kana": customer.name_kana,
        "currency_code": CURRENCY,
        "balance": balance,
        "withdrawable_amount": max(balance, 0),
        "base_date": base_date,
        "base_time": base_time,
    }


def term_deposit_json(acc_id: str, deposit: TimeDeposit, interest: int) -> dict[str, Any]:
    """One time deposit certificate (interest after tax, at maturity)."""
    return {
        "account_id": acc_id,
        "certificate_number": deposit.certificate_number,
        "kind": deposit.kind,
        "currency_code": CURRENCY,
        "deposit_date": deposit.deposit_date.isoformat(),
        "maturity_date": deposit.maturity_date.isoformat(),
        "principal": deposit.principal,
        "rate_percent": deposit.rate_percent,
        "interest_at_maturity": interest,
    }


@functools.lru_cache(maxsize=16384)
def transaction_json(line: Transaction) -> dict[str, Any]:
    """One statement line (cached per line: callers must not mutate the dict)."""
    return {
        "transaction_id": line.transaction_id,
        "transaction_date": line.transaction_date.isoformat(),
        "value_date": line.value_date.isoformat(),
        "transaction_type": line.type,
        "amount": line.amount,
        "description": line.description,
        "balance_after": line.balance_after,
    }


@dataclass(frozen=True, slots=True)
class StatementQuery:
    """A validated statement request: an inclusive date range and a page."""

    date_from: date
    date_to: date
    offset: int = 0
    limit: int = DEFAULT_LIMIT


def _bad(detail: str) -> SandboxError:
    return SandboxError("invalid_parameter", detail)


def _parse_date(name: str, text: str) -> date:
    if _DATE_RE.fullmatch(text) is None:
        raise _bad(f"{name} must be a date in YYYY-MM-DD format")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _bad(f"{name} is not a valid calendar date") from None


def encode_cursor(query: StatementQuery, offset: int) -> str:
    """An opaque cursor continuing ``query`` at ``offset``."""
    raw = f"{query.date_from.isoformat()}|{query.date_to.isoformat()}|{offset}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(text: str) -> tuple[date, date, int]:
    try:
        if len(text) > 64 or not text.isascii():
            raise ValueError
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
        first, last, offset = raw.split("|")
        if _DATE_RE.fullmatch(first) is None or _DATE_RE.fullmatch(last) is None:
            raise ValueError
        if _DIGITS_RE.fullmatch(offset) is None:
            raise ValueError
        return date.fromisoformat(first), date.fromisoformat(last), int(offset)
    except (ValueError, binascii.Error, UnicodeError):
        raise _bad("cursor is not a value this API returned as next_cursor") from None


def parse_statement_query(
    params: Sequence[tuple[str, str]],
    *,
    today: date,
    held_from: date,
    max_days: int,
) -> StatementQuery:
    """Validate the query string of ``/transactions`` (SandboxError on any problem)."""
    seen: dict[str, str] = {}
    for name, value in params:
        if name not in STATEMENT_PARAMS:
            shown = name if len(name) <= 40 else name[:40] + "..."
            raise _bad(
                f"unknown query parameter {shown!r}; allowed: {', '.join(sorted(STATEMENT_PARAMS))}"
            )
        if name in seen:
            raise _bad(f"query parameter {name!r} is given more than once")
        seen[name] = value
    given_from = _parse_date("date_from", seen["date_from"]) if "date_from" in seen else None
    given_to = _parse_date("date_to", seen["date_to"]) if "date_to" in seen else None
    limit = DEFAULT_LIMIT
    if "limit" in seen:
        text = seen["limit"]
        if _DIGITS_RE.fullmatch(text) is None or not 1 <= int(text) <= MAX_LIMIT:
            raise _bad(f"limit must be an integer from 1 to {MAX_LIMIT}")
        limit = int(text)
    offset = 0
    if "cursor" in seen:
        cursor_from, cursor_to, offset = _decode_cursor(seen["cursor"])
        if (given_from is not None and given_from != cursor_from) or (
            given_to is not None and given_to != cursor_to
        ):
            raise _bad("cursor belongs to a different date_from/date_to")
        given_from, given_to = cursor_from, cursor_to
    date_to = min(given_to, today) if given_to is not None else today
    if given_from is None:
        date_from = max(held_from, date_to - timedelta(days=max_days - 1))
        if date_from > date_to:
            date_from = date_to
    else:
        date_from = given_from
    if date_from > today:
        raise _bad(f"date_from {date_from.isoformat()} is in the future (today is {today})")
    if given_to is not None and date_from > given_to:
        raise _bad("date_from must not be after date_to")
    if date_from < held_from:
        raise SandboxError(
            "period_out_of_range",
            f"statements are held from {held_from.isoformat()} only (about 3 months)",
        )
    if (date_to - date_from).days + 1 > max_days:
        raise _bad(f"the range date_from..date_to must not exceed {max_days} days")
    return StatementQuery(date_from, date_to, offset, limit)


def statement_page(
    acc_id: str,
    query: StatementQuery,
    lines: Sequence[Transaction],
    now: datetime,
) -> dict[str, Any]:
    """One page of a statement, ascending, with ``next_cursor`` when more lines follow."""
    page = lines[query.offset : query.offset + query.limit]
    end = query.offset + len(page)
    return {
        "account_id": acc_id,
        "date_from": query.date_from.isoformat(),
        "date_to": query.date_to.isoformat(),
        "base_date_time": base_stamp(now)[2],
        "count": len(page),
        "limit": query.limit,
        "next_cursor": encode_cursor(query, end) if end < len(lines) else None,
        "transactions": [transaction_json(line) for line in page],
    }


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
