"""Statement queries: date ranges, paging cursors, the held period."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from sandbox.domain import statements
from sandbox.errors import SandboxError

TODAY = date(2026, 11, 25)
HELD_FROM = date(2026, 8, 25)


def query(*pairs: tuple[str, str], max_days: int = 92) -> statements.StatementQuery:
    return statements.parse_statement_query(
        list(pairs), today=TODAY, held_from=HELD_FROM, max_days=max_days
    )


def error_of(*pairs: tuple[str, str], max_days: int = 92) -> SandboxError:
    with pytest.raises(SandboxError) as info:
        query(*pairs, max_days=max_days)
    return info.value


def test_default_query_is_the_held_period_up_to_today_within_max_days() -> None:
    assert query() == statements.StatementQuery(TODAY - timedelta(days=91), TODAY, 0, 100)
    assert query(max_days=400) == statements.StatementQuery(HELD_FROM, TODAY, 0, 100)
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


def test_cursor_of_another_range_is_refused() -> None:
    cursor = statements.encode_cursor(statements.StatementQuery(date(2026, 11, 1), TODAY), 5)
    assert query(("cursor", cursor), ("date_from", "2026-11-01")).offset == 5
    assert "different" in error_of(("cursor", cursor), ("date_from", "2026-11-02")).detail
