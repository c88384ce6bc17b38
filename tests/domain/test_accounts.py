"""Views of the data API: ids, statement queries and pages, 移管 planning."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta

import pytest

from sandbox.clock import JST
from sandbox.domain import accounts as views
from sandbox.domain.bank import Account, AccountType, Customer, TimeDeposit
from sandbox.domain.directory import Directory, account_ref
from sandbox.domain.ledger import Ledger, Transaction
from sandbox.errors import SandboxError

TODAY = date(2026, 11, 25)
HELD_FROM = date(2026, 8, 25)
NOW = datetime(2026, 11, 25, 10, 0, 5, 123456, tzinfo=JST)


def query(*pairs: tuple[str, str], max_days: int = 92) -> views.StatementQuery:
    return views.parse_statement_query(
        list(pairs), today=TODAY, held_from=HELD_FROM, max_days=max_days
    )


def error_of(*pairs: tuple[str, str], max_days: int = 92) -> SandboxError:
    with pytest.raises(SandboxError) as info:
        query(*pairs, max_days=max_days)
    return info.value


def customer() -> Customer:
    return Customer(
        customer_id="taro",
        name_kanji="データ 太郎",
        name_kana="ﾃﾞｰﾀ ﾀﾛｳ",
        birth_date=date(1980, 1, 1),
        phone="09012345678",
        email="taro@example.jp",
        accounts=[
            Account("001", AccountType.ORDINARY, "1234567", "1234", 500_000),
            Account("002", AccountType.SAVINGS, "7654321", "0000", 10_000),
        ],
    )


def test_account_id_is_stable_opaque_and_bank_specific() -> None:
    ref = "001-ordinary-1234567"
    expected = hashlib.sha256(b"2011:001-ordinary-1234567").hexdigest()[:20]
    assert views.account_id("2011", ref) == expected
    assert views.account_id("2012", ref) != expected
    assert views.looks_like_id(expected)
    assert not views.looks_like_id(ref)


def test_parse_ref_round_trips_and_rejects_garbage() -> None:
    assert views.parse_ref("002-savings-7654321") == ("002", AccountType.SAVINGS, "7654321")
    for bad in ["", "001-ordinary-123456", "001-fixed-1234567", "００１-ordinary-1234567"]:
        assert views.parse_ref(bad) is None


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
        "account_id": views.account_id("2011", "002-savings-7654321"),
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


def test_default_query_is_the_held_period_up_to_today_within_max_days() -> None:
    assert query() == views.StatementQuery(TODAY - timedelta(days=91), TODAY, 0, 100)
    assert query(max_days=400) == views.StatementQuery(HELD_FROM, TODAY, 0, 100)
    only_to = query(("date_to", "2026-10-01"))
    assert (only_to.date_from, only_to.date_to) == (HELD_FROM, date(2026, 10, 1))


def test_explicit_range_and_future_date_to_is_clamped() -> None:
    q = query(("date_from", "2026-11-01"), ("date_to", "2026-12-31"), ("limit", "7"))
    assert (q.date_from, q.date_to, q.limit) == (date(2026, 11, 1), TODAY, 7)


@pytest.mark.parametrize(
    ("pairs", "needle"),
    [
        ((("date_from", "2026/11/01"),), "YYYY-MM-DD"),
        ((("date_from", "20261101"),), "YYYY-MM-DD"),
        ((("date_from", "２０２６-11-01"),), "YYYY-MM-DD"),
        ((("date_to", "2026-02-30"),), "not a valid calendar date"),
        ((("date_from", "2026-11-20"), ("date_to", "2026-11-10")), "after date_to"),
        ((("date_from", "2026-11-26"),), "in the future"),
        ((("foo", "1"),), "unknown query parameter 'foo'"),
        ((("access_token", "x"),), "unknown query parameter"),
        ((("date_from", "2026-11-01"), ("date_from", "2026-11-02")), "more than once"),
        ((("limit", "0"),), "limit"),
        ((("limit", "501"),), "limit"),
        ((("limit", "-1"),), "limit"),
        ((("limit", "9" * 50),), "limit"),
        ((("cursor", "!!!"),), "cursor"),
        ((("cursor", "x" * 5000),), "cursor"),
    ],
)
def test_bad_queries_are_invalid_parameter_with_english_detail(
    pairs: tuple[tuple[str, str], ...], needle: str
) -> None:
    error = error_of(*pairs)
    assert error.code == "invalid_parameter"
    assert needle in error.detail


def test_before_held_period_is_period_out_of_range() -> None:
    error = error_of(("date_from", "2026-08-24"))
    assert error.code == "period_out_of_range"
    assert "2026-08-25" in error.detail
    assert error_of(("date_to", "2026-08-01")).code == "period_out_of_range"


def test_range_longer_than_max_days_is_invalid_parameter() -> None:
    assert query(("date_from", "2026-11-01"), max_days=25).date_from == date(2026, 11, 1)
    error = error_of(("date_from", "2026-10-31"), max_days=25)
    assert error.code == "invalid_parameter"
    assert "25 days" in error.detail


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


def test_statement_pages_follow_the_cursor_to_the_end() -> None:
    lines = [_line(n) for n in range(12)]
    first = query(("date_from", "2026-11-01"), ("limit", "5"))
    seen: list[str] = []
    page = views.statement_page("abc", first, lines, NOW)
    pages = 1
    while True:
        seen += [t["transaction_id"] for t in page["transactions"]]
        assert page["count"] == len(page["transactions"])
        if page["next_cursor"] is None:
            break
        following = query(("cursor", page["next_cursor"]), ("limit", "5"))
        assert (following.date_from, following.date_to) == (first.date_from, first.date_to)
        page = views.statement_page("abc", following, lines, NOW)
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


def test_cursor_of_another_range_is_refused() -> None:
    cursor = views.encode_cursor(views.StatementQuery(date(2026, 11, 1), TODAY), 5)
    assert query(("cursor", cursor), ("date_from", "2026-11-01")).offset == 5
    assert "different" in error_of(("cursor", cursor), ("date_from", "2026-11-02")).detail


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


def test_plan_transfer_defaults_to_next_branch_and_a_free_number() -> None:
    c = customer()
    directory = Directory([c])
    branch, number = views.plan_transfer(directory, ["001", "002", "003"], c.accounts[0], {})
    assert branch == "002"
    assert len(number) == 7
    assert number.isdigit()
    assert directory.find_account(branch, AccountType.ORDINARY, number) is None
    again = views.plan_transfer(directory, ["001", "002", "003"], c.accounts[0], {})
    assert again == (branch, number)
    last = views.plan_transfer(directory, ["001", "002"], c.accounts[1], {})
    assert last[0] == "001"


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"branch_code": "9"}, "3-digit"),
        ({"branch_code": 2}, "3-digit"),
        ({"account_number": "12345678"}, "7-digit"),
        ({"branch_code": "009"}, "not a branch"),
        ({"branch_code": "001", "account_number": "1234567"}, "equals the current"),
        ({"branch_code": "002", "account_number": "7654321"}, "already exists"),
        ({"branch": "002"}, "unknown field"),
    ],
)
def test_plan_transfer_rejects_bad_targets(body: dict[str, object], needle: str) -> None:
    c = customer()
    c.accounts[1].account_type = AccountType.ORDINARY  # make 002-ordinary-7654321 taken
    directory = Directory([c])
    with pytest.raises(SandboxError) as info:
        views.plan_transfer(directory, ["001", "002"], c.accounts[0], body)
    assert info.value.code == "invalid_parameter"
    assert needle in info.value.detail


def test_directory_transfer_moves_account_and_keeps_its_history() -> None:
    c = customer()
    directory = Directory([c])
    old = c.accounts[0]
    new = directory.transfer(c, old, "003", "7777777")
    assert old.transferred_to == ("003", "7777777")
    assert not old.eligible
    assert new.eligible
    assert (new.pin, new.balance, new.account_type) == (old.pin, old.balance, old.account_type)
    assert directory.find_account("003", AccountType.ORDINARY, "7777777") == (c, new)
    assert directory.ledger_seed(new) == account_ref(old) == directory.ledger_seed(old)
    newer = directory.transfer(c, new, "001", "8888888")
    assert directory.ledger_seed(newer) == account_ref(old)
    ledger = Ledger(0)
    anchor = datetime(2026, 11, 1, tzinfo=JST)
    assert ledger.balance_at(directory.ledger_seed(newer), newer.balance, anchor, NOW) == (
        ledger.balance_at(account_ref(old), old.balance, anchor, NOW)
    )
