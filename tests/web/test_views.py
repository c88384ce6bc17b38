"""The data API JSON views: accounts, statement pages, term deposits."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta
from typing import Any

import orjson
import pytest

from sandbox.clock import JST
from sandbox.domain import refs, statements
from sandbox.domain.bank import TimeDeposit
from sandbox.domain.ledger import Transaction
from sandbox.web import views
from tests.domain.customers import customer

TODAY = date(2026, 11, 25)
HELD_FROM = date(2026, 8, 25)
NOW = datetime(2026, 11, 25, 10, 0, 5, 123456, tzinfo=JST)


def query(*pairs: tuple[str, str], max_days: int = 92) -> statements.StatementQuery:
    return statements.parse_statement_query(
        list(pairs), today=TODAY, held_from=HELD_FROM, max_days=max_days
    )


def _line(n: int) -> Transaction:
    day = date(2026, 11, 1) + timedelta(days=n)
    return Transaction(
        transaction_id=f"t{n}",
        transaction_date=day,
        value_date=day,
        posted_at=datetime(day.year, day.month, day.day, 9, tzinfo=JST),
        type="deposit",
        amount=100,
        description="振込 ﾃｽﾄ",
        balance_after=1000 + 100 * n,
    )


def test_account_json_shows_codes_names_and_japan_base_time() -> None:
    c = customer()
    body = views.account_json(
        bank_code="2011",
        customer=c,
        account=c.accounts[1],
        branch_name="前橋支店",
        balance=12_345,
        now=NOW,
    )
    assert body == {
        "account_id": refs.account_id("2011", "002-savings-7654321"),
        "branch_code": "002",
        "branch_name": "前橋支店",
        "account_type_code": "04",
        "account_type_name": "貯蓄",
        "account_number": "7654321",
        "account_name_kana": "ﾃﾞｰﾀ ﾀﾛｳ",
        "currency_code": "JPY",
        "balance": 12_345,
        "withdrawable_amount": 12_345,
        "base_date": "2026-11-25",
        "base_time": "10:00:05+09:00",
    }


def _page(*args: Any) -> Any:
    """A statement page as a client reads it (its lines come encoded)."""
    return orjson.loads(orjson.dumps(views.statement_page(*args)))


def test_statement_pages_follow_the_cursor_to_the_end() -> None:
    lines = [_line(n) for n in range(12)]
    first = query(("date_from", "2026-11-01"), ("limit", "5"))
    seen: list[str] = []
    page = _page("abc", first, lines, NOW)
    pages = 1
    while True:
        seen += [t["transaction_id"] for t in page["transactions"]]
        assert page["count"] == len(page["transactions"])
        if page["next_cursor"] is None:
            break
        following = query(("cursor", page["next_cursor"]), ("limit", "5"))
        assert (following.date_from, following.date_to) == (first.date_from, first.date_to)
        page = _page("abc", following, lines, NOW)
        pages += 1
    assert pages == 3
    assert seen == [f"t{n}" for n in range(12)]
    assert page["transactions"][-1] == {
        "transaction_id": "t11",
        "transaction_date": "2026-11-12",
        "value_date": "2026-11-12",
        "transaction_type": "deposit",
        "amount": 100,
        "description": "振込 ﾃｽﾄ",
        "balance_after": 2100,
    }


def test_term_deposit_json() -> None:
    deposit = TimeDeposit("1001", date(2024, 4, 1), date(2025, 4, 1), 1_000_000, 0.125)
    assert views.term_deposit_json("abc", deposit, 996) == {
        "account_id": "abc",
        "certificate_number": "1001",
        "kind": "スーパー定期",
        "currency_code": "JPY",
        "deposit_date": "2024-04-01",
        "maturity_date": "2025-04-01",
        "principal": 1_000_000,
        "rate_percent": 0.125,
        "interest_at_maturity": 996,
    }


def test_base_stamp_is_japan_time_to_the_second_in_any_zone_and_order() -> None:
    from datetime import UTC

    late = datetime(2026, 12, 1, 23, 59, 59, 999_999, tzinfo=JST)
    assert views.base_stamp(late) == (
        "2026-12-01",
        "23:59:59+09:00",
        "2026-12-01T23:59:59+09:00",
    )
    assert views.base_stamp(late.astimezone(UTC)) == views.base_stamp(late)
    nextday = late + timedelta(microseconds=1)
    assert views.base_stamp(nextday)[0] == "2026-12-02"
    assert views.base_stamp(late)[1] == "23:59:59+09:00"  # back again: not the last stamp
    naive = datetime(2026, 12, 1, 8, 0)  # noqa: DTZ001 - a naive moment is Japan time
    assert views.base_stamp(naive)[2] == "2026-12-01T08:00:00+09:00"


def test_base_stamps_around_the_epoch_keep_their_own_second() -> None:
    from datetime import UTC

    before = datetime(1969, 12, 31, 23, 59, 59, 500_000, tzinfo=UTC)
    after = datetime(1970, 1, 1, 0, 0, 0, 400_000, tzinfo=UTC)
    assert views.base_stamp(before)[1] == "08:59:59+09:00"
    assert views.base_stamp(after)[1] == "09:00:00+09:00"


def test_a_statement_row_is_made_once_and_again_when_its_line_changes() -> None:
    first = views.transaction_rows([_line(1), _line(2)])[0]
    again = views.transaction_rows([_line(1), _line(2)])[0]  # equal lines, made anew
    assert again == first
    assert again[0] is first[0]  # the JSON made for the first request is reused
    # A posting shifts the balances after it: same transaction id, another line.
    shifted = dataclasses.replace(_line(2), balance_after=_line(2).balance_after + 500)
    changed = views.transaction_rows([_line(1), shifted])[0]
    assert changed[1]["balance_after"] == first[1]["balance_after"] + 500
    assert views.transaction_rows([_line(2)])[0][0]["balance_after"] == first[1]["balance_after"]


def _rows(lines: list[Transaction]) -> Any:
    return orjson.loads(orjson.dumps(views.transactions_json(lines)))


@pytest.fixture
def fresh_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(views, "_PAGES", {})
    monkeypatch.setattr(views, "_page_bytes", 0)


@pytest.mark.usefixtures("fresh_pages")
def test_a_page_asked_again_is_encoded_once_and_anew_when_a_line_changes() -> None:
    lines = [_line(n) for n in range(3)]
    views.transactions_json(lines)  # its lines are seen
    kept = views.transactions_json(list(lines))  # the same line objects again: kept
    assert views.transactions_json(list(lines)) is kept
    assert _rows(lines) == [views.transaction_json(line) for line in lines]
    # A posting shifts the balances after it: the same transaction ids, new line objects.
    shifted = [*lines[:2], dataclasses.replace(lines[2], balance_after=9_999)]
    assert _rows(shifted)[2]["balance_after"] == 9_999
    assert _rows(lines)[2]["balance_after"] == lines[2].balance_after
    assert _rows(lines[1:]) == [views.transaction_json(line) for line in lines[1:]]
    assert _rows([]) == []


@pytest.mark.usefixtures("fresh_pages")
def test_lines_made_anew_for_every_request_keep_no_page() -> None:
    line = _line(1)
    for balance in range(50):  # an account with postings: new line objects each time
        fresh = dataclasses.replace(line, balance_after=balance)
        assert _rows([fresh])[0]["balance_after"] == balance
    assert views._PAGES == {}


@pytest.mark.usefixtures("fresh_pages")
def test_a_kept_page_is_never_the_answer_for_another_line_with_its_identity(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(views, "_ROWS", {})
    for balance in range(300):
        line = dataclasses.replace(_line(1), balance_after=balance)
        assert _rows([line])[0]["balance_after"] == balance
        assert _rows([line])[0]["balance_after"] == balance  # kept now
        # Only the kept page holds the line: if it did not, the next line could be made at
        # the same address, and its identity would find this page.
        views._ROWS.clear()
        del line


@pytest.mark.usefixtures("fresh_pages")
def test_kept_pages_start_afresh_past_their_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(views, "_MAX_PAGE_BYTES", 2_000)
    pages = [[_line(n), _line(n + 1)] for n in range(10)]  # about 900 bytes each, held
    for page in pages:
        for _ in range(2):  # the second time it is kept
            assert _rows(page) == [views.transaction_json(line) for line in page]
        assert views._page_bytes <= 2_000
    assert 1 <= len(views._PAGES) <= 2
    assert _rows(pages[0]) == [views.transaction_json(line) for line in pages[0]]
