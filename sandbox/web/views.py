"""The data API's JSON views: accounts, statement pages and term deposits."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson

from sandbox.clock import to_jst
from sandbox.domain.bank import Account, Customer, TimeDeposit
from sandbox.domain.directory import account_ref
from sandbox.domain.ledger import Transaction
from sandbox.domain.refs import account_id
from sandbox.domain.statements import StatementQuery, encode_cursor

CURRENCY = "JPY"


def base_stamp(now: datetime) -> tuple[str, str, str]:
    """(base_date, base_time, base_date_time) of ``now`` in Japan time."""
    global _last_now, _last_second, _last_stamp
    if now is _last_now:  # the same moment again (one request stamps its answer twice)
        return _last_stamp
    second = math.floor(now.timestamp()) if now.tzinfo is not None else None
    if second is not None and second == _last_second:
        _last_now = now
        return _last_stamp
    local = to_jst(now).replace(microsecond=0)
    stamp = (
        local.date().isoformat(),
        f"{local.hour:02d}:{local.minute:02d}:{local.second:02d}+09:00",
        local.isoformat(),
    )
    if second is not None:  # every response of that second shares it
        _last_now, _last_second, _last_stamp = now, second, stamp
    return stamp


# The last moment and second stamped (epoch seconds) and its stamp.
_last_now: datetime | None = None
_last_second: int | None = None
_last_stamp: tuple[str, str, str] = ("", "", "")


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


def transaction_json(line: Transaction) -> dict[str, Any]:
    """One statement line as the data API shows it."""
    return {
        "transaction_id": line.transaction_id,
        "transaction_date": line.transaction_date.isoformat(),
        "value_date": line.value_date.isoformat(),
        "transaction_type": line.type,
        "amount": line.amount,
        "description": line.description,
        "balance_after": line.balance_after,
    }


def statement_page(
    acc_id: str,
    query: StatementQuery,
    lines: Sequence[Transaction],
    now: datetime,
) -> dict[str, Any]:
    """One page of a statement, ascending, with ``next_cursor`` when more lines follow
    (its ``transactions`` already encoded: see transactions_json)."""
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
        "transactions": transactions_json(page),
    }


def transactions_json(lines: Sequence[Transaction]) -> orjson.Fragment:
    """The lines as one encoded JSON array, encoded once for the same line objects.

    A statement asked again is the same objects (the ledger keeps its ranges), so the page
    is looked up by the lines' identities. The kept entry holds the lines themselves, so no
    other object can take an identity it is kept under; lines are frozen, so their JSON
    cannot change. A line made anew (a posting shifted its balance) is another key.

    A page is kept only once each of its lines has been shown before as the same object:
    lines made anew for every request (an account with postings) would only push the
    other pages out.
    """
    global _page_bytes
    key = tuple(map(id, lines))
    kept = _PAGES.get(key)
    if kept is not None:
        return kept[1]
    rows, again = transaction_rows(lines)
    # A copy: orjson's own result keeps its working buffer (4 KiB at least) allocated.
    encoded = bytes(memoryview(orjson.dumps(rows)))
    fragment = orjson.Fragment(encoded)
    if again:
        cost = len(encoded) + _ENTRY_BYTES + 64 * len(lines)  # the bytes, ids and lines held
        if _page_bytes + cost > _MAX_PAGE_BYTES:
            _PAGES.clear()
            _page_bytes = 0
        _PAGES[key] = (tuple(lines), fragment)
        _page_bytes += cost
    return fragment


# The lines' identities -> (the lines, their encoded array); at most about _MAX_PAGE_BYTES
# held (a 500-line page is about 100 KB), then it starts afresh.
_PAGES: dict[tuple[int, ...], tuple[tuple[Transaction, ...], orjson.Fragment]] = {}
_page_bytes = 0
_MAX_PAGE_BYTES = 8 * 1024 * 1024
_ENTRY_BYTES = 400  # an entry's dict slot, tuples and fragment, beside its bytes


def transaction_rows(lines: Sequence[Transaction]) -> tuple[list[dict[str, Any]], bool]:
    """The lines' JSON, each made once (callers must not mutate the dicts), and whether every
    line was the very object shown before.

    Kept by transaction id with the line it was made from: a statement's lines are the same
    objects from one request to the next (the ledger keeps its cycles), so the usual check is
    one identity test; an equal line made anew still matches (and is kept from then on, so
    that transactions_json sees it shown again), a changed one is made again.
    """
    rows: list[dict[str, Any]] = []
    made = _ROWS
    again = True
    for line in lines:
        kept = made.get(line.transaction_id)
        if kept is None or kept[0] is not line:
            again = False
            if kept is None or kept[0] != line:
                if len(made) >= _MAX_ROWS:
                    made.clear()
                kept = (line, transaction_json(line))
            else:
                kept = (line, kept[1])
            made[line.transaction_id] = kept
        rows.append(kept[1])
    return rows, again


# Transaction id -> (the line, its JSON); at most _MAX_ROWS, then it starts afresh.
_ROWS: dict[str, tuple[Transaction, dict[str, Any]]] = {}
_MAX_ROWS = 16384
