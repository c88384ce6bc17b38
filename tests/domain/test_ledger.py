"""Ledger: deterministic statements that move with the clock and never go negative."""

from __future__ import annotations

import itertools
import json
import os
import random
import subprocess
import sys
from datetime import date, datetime, timedelta

import pytest

from sandbox.clock import JST
from sandbox.domain.bank_days import is_business_day, on_or_after, on_or_before
from sandbox.domain.ledger import (
    Ledger,
    Transaction,
    add_months,
    salary_date,
    time_deposit_interest,
)

ACCOUNT = "2011-001-ordinary-1234567"
ANCHOR = datetime(2026, 5, 1, 9, 0, tzinfo=JST)
NOW = datetime(2026, 11, 5, 12, 0, tzinfo=JST)
EVER = (date(2000, 1, 1), date(2100, 1, 1))


def statement(
    ledger: Ledger, now: datetime, balance: int = 500_000, account: str = ACCOUNT
) -> list[Transaction]:
    """Every line held at ``now``."""
    return ledger.transactions(account, balance, ANCHOR, *EVER, now)


def check_chain(lines: list[Transaction]) -> None:
    """Oldest first, positive amounts, each balance follows from the one before."""
    for before, line in itertools.pairwise(lines):
        assert before.posted_at <= line.posted_at
        sign = 1 if line.type == "deposit" else -1
        assert line.balance_after == before.balance_after + sign * line.amount
    for line in lines:
        assert line.amount > 0
        assert line.transaction_date == line.posted_at.date()


def test_same_inputs_same_statement_across_instances() -> None:
    first = statement(Ledger(7), NOW)
    assert first == statement(Ledger(7), NOW)
    assert first != statement(Ledger(8), NOW)
    assert first != statement(Ledger(7), NOW, account="2011-001-ordinary-7654321")


_SCRIPT = """
import json, sys
from datetime import date, datetime
from sandbox.clock import JST
from sandbox.domain.ledger import Ledger
lines = Ledger(7).transactions(
    "2011-001-ordinary-1234567", 500000, datetime(2026, 5, 1, 9, tzinfo=JST),
    date(2000, 1, 1), date(2100, 1, 1), datetime(2026, 11, 5, 12, tzinfo=JST))
json.dump([[t.transaction_id, t.posted_at.isoformat(), t.amount, t.balance_after,
            t.description] for t in lines], sys.stdout, ensure_ascii=False)
"""


def test_statement_is_the_same_in_a_fresh_process() -> None:
    env = {**os.environ, "PYTHONHASHSEED": "123", "TZ": "America/Los_Angeles"}
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT], env=env, capture_output=True, text=True, check=True
    )
    here = [
        [t.transaction_id, t.posted_at.isoformat(), t.amount, t.balance_after, t.description]
        for t in statement(Ledger(7), NOW)
    ]
    assert json.loads(done.stdout) == here


def test_lines_chain_and_end_at_the_current_balance() -> None:
    ledger = Ledger(1)
    lines = statement(ledger, NOW)
    assert len(lines) > 20
    check_chain(lines)
    assert all(line.posted_at <= NOW for line in lines)
    assert lines[-1].balance_after == ledger.balance_at(ACCOUNT, 500_000, ANCHOR, NOW)


def test_balance_at_the_anchor_is_the_anchor_balance() -> None:
    ledger = Ledger(1)
    assert ledger.balance_at(ACCOUNT, 500_000, ANCHOR, ANCHOR) == 500_000
    assert ledger.balance_at(ACCOUNT, 0, ANCHOR, ANCHOR) == 0


def test_transaction_ids_are_unique_and_stable() -> None:
    lines = statement(Ledger(3), NOW)
    assert len({line.transaction_id for line in lines}) == len(lines)
    later = statement(Ledger(3), NOW + timedelta(days=20))
    ids_later = {line.transaction_id for line in later}
    held = Ledger(3).held_from(NOW + timedelta(days=20))
    assert {t.transaction_id for t in lines if t.transaction_date >= held} <= ids_later


def test_held_from_is_three_calendar_months_back() -> None:
    ledger = Ledger(1)
    assert ledger.held_from(NOW) == date(2026, 8, 5)
    assert ledger.held_from(datetime(2026, 5, 31, 10, tzinfo=JST)) == date(2026, 2, 28)
    assert ledger.held_from(datetime(2027, 1, 15, 0, 30, tzinfo=JST)) == date(2026, 10, 15)
    # 2026-11-04 16:00 UTC is already 2026-11-05 in Japan.
    assert ledger.held_from(datetime.fromisoformat("2026-11-04T16:00:00+00:00")) == date(2026, 8, 5)
    assert Ledger(1, statement_months=1).held_from(NOW) == date(2026, 10, 5)


def test_add_months_clamps_to_month_end() -> None:
    assert add_months(date(2026, 3, 31), -1) == date(2026, 2, 28)
    assert add_months(date(2028, 3, 31), -1) == date(2028, 2, 29)
    assert add_months(date(2026, 1, 15), -3) == date(2025, 10, 15)


def test_lines_before_held_from_are_not_returned() -> None:
    ledger = Ledger(1)
    lines = statement(ledger, NOW)
    assert min(line.transaction_date for line in lines) >= ledger.held_from(NOW)
    assert (
        ledger.transactions(ACCOUNT, 500_000, ANCHOR, date(2026, 1, 1), date(2026, 6, 30), NOW)
        == []
    )


def test_date_range_is_inclusive() -> None:
    ledger = Ledger(1)
    every = statement(ledger, NOW)
    day = every[len(every) // 2].transaction_date
    lines = ledger.transactions(ACCOUNT, 500_000, ANCHOR, day, day, NOW)
    assert lines == [line for line in every if line.transaction_date == day]
    assert lines


def test_nothing_after_now_is_returned_even_today() -> None:
    ledger = Ledger(1)
    salary = next(t for t in statement(ledger, NOW) if t.description.startswith("給与"))
    just_before = salary.posted_at - timedelta(seconds=1)
    today = ledger.transactions(ACCOUNT, 500_000, ANCHOR, *EVER, just_before)
    assert salary not in today
    assert all(line.posted_at <= just_before for line in today)
    assert salary in ledger.transactions(ACCOUNT, 500_000, ANCHOR, *EVER, salary.posted_at)


def test_any_range_at_any_moment_is_the_held_lines_filtered_one_by_one() -> None:
    ledger = Ledger(9)
    chance = random.Random(9)
    for _ in range(300):
        now = NOW + timedelta(seconds=chance.randrange(-40 * 86_400, 40 * 86_400))
        every = statement(ledger, now)
        first = ledger.held_from(now) + timedelta(days=chance.randrange(-5, 60))
        last = first + timedelta(days=chance.randrange(0, 120))
        expected = [line for line in every if first <= line.transaction_date <= last]
        assert ledger.transactions(ACCOUNT, 500_000, ANCHOR, first, last, now) == expected


def test_a_statement_asked_again_is_what_a_new_ledger_computes_at_every_moment() -> None:
    """Moments across one day in both directions, each second a line is posted and the one
    before it: the kept statement never shows a line early, or misses one."""
    kept = Ledger(3)
    held = statement(Ledger(3), NOW)
    today = held[-1].posted_at.date()  # the last day with lines: moments across it
    postings = sorted({line.posted_at for line in held if line.posted_at.date() == today})
    start = datetime.combine(today, datetime.min.time(), JST)
    moments = [start]
    for posted in postings:
        moments += [posted - timedelta(seconds=1), posted, posted + timedelta(seconds=1)]
    moments += [*reversed(moments), start + timedelta(hours=23, minutes=59)]
    window = (kept.held_from(start), today)
    for moment in moments:
        expected = Ledger(3).transactions(ACCOUNT, 500_000, ANCHOR, *window, moment)
        assert kept.transactions(ACCOUNT, 500_000, ANCHOR, *window, moment) == expected, moment


def test_a_caller_changing_its_statement_changes_no_later_one() -> None:
    ledger = Ledger(4)
    first = statement(ledger, NOW)
    count = len(first)
    first.clear()
    assert len(statement(ledger, NOW)) == count


def test_advancing_the_clock_adds_lines_and_drops_none_in_range() -> None:
    ledger = Ledger(5)
    later = NOW + timedelta(days=31)
    window = (ledger.held_from(later), NOW.date())
    before = ledger.transactions(ACCOUNT, 500_000, ANCHOR, *window, NOW)
    after = ledger.transactions(ACCOUNT, 500_000, ANCHOR, window[0], later.date(), later)
    assert before == after[: len(before)]
    assert len(after) > len(before)
    assert after[-1].posted_at > NOW


def test_a_typical_statement_reads_like_a_japanese_passbook() -> None:
    lines = statement(Ledger(11), NOW)
    texts = [line.description for line in lines]
    assert sum(text.startswith("給与 ") for text in texts) == 3
    assert "口座振替 家賃" in texts
    assert "カード" in texts
    assert any(text.startswith("口座振替 電気") for text in texts)
    for line in lines:
        if line.description.startswith("給与"):
            assert line.type == "deposit"
            assert line.transaction_date == salary_date(line.posted_at.year, line.posted_at.month)
        if line.description == "カード":  # the 10th, or the next business day
            day = line.transaction_date
            assert day == on_or_after(day.replace(day=10))
            assert is_business_day(day)
        if line.description.startswith(("振込", "口座振替")):
            assert is_business_day(line.transaction_date), line


def test_bank_days_follow_japanese_holidays_and_the_year_end_closure() -> None:
    assert not is_business_day(date(2026, 10, 12))  # スポーツの日 (2nd Monday of October)
    assert not is_business_day(date(2026, 11, 23))  # 勤労感謝の日
    assert not is_business_day(date(2026, 5, 6))  # 振替休日 (May 3 was a Sunday)
    assert not is_business_day(date(2026, 12, 31))  # the banks' closure
    assert not is_business_day(date(2027, 1, 3))
    assert is_business_day(date(2027, 1, 4))
    assert is_business_day(date(2026, 12, 30))
    assert on_or_after(date(2026, 12, 31)) == date(2027, 1, 4)
    assert on_or_before(date(2027, 1, 3)) == date(2026, 12, 30)


def test_salary_moves_back_over_a_holiday_too() -> None:
    # 2022-09-25 was a Sunday and the 23rd 秋分の日: pay day is Thursday the 22nd.
    assert salary_date(2022, 9) == date(2022, 9, 22)


def test_salary_moves_to_the_business_day_before_a_weekend() -> None:
    assert salary_date(2026, 11) == date(2026, 11, 25)  # Wednesday
    assert salary_date(2026, 10) == date(2026, 10, 23)  # the 25th is a Sunday
    assert salary_date(2026, 4) == date(2026, 4, 24)  # the 25th is a Saturday


def test_interest_is_credited_in_february_and_august() -> None:
    now = datetime(2027, 3, 1, 12, tzinfo=JST)
    ledger = Ledger(2, statement_months=12)
    lines = ledger.transactions(ACCOUNT, 500_000, ANCHOR, *EVER, now)
    months = {line.transaction_date.month for line in lines if line.description == "利息"}
    assert months == {2, 8}


def test_zero_balance_in_mid_cycle_means_a_dormant_account() -> None:
    ledger = Ledger(1)
    assert statement(ledger, NOW, balance=0) == []
    assert ledger.balance_at(ACCOUNT, 0, ANCHOR, NOW) == 0


def test_zero_balance_just_before_pay_day_keeps_full_activity() -> None:
    ledger = Ledger(1)
    salary = next(t for t in statement(ledger, NOW) if t.description.startswith("給与"))
    anchor = salary.posted_at - timedelta(seconds=1)
    lines = ledger.transactions(ACCOUNT, 0, anchor, *EVER, NOW)
    assert any(line.transaction_id == salary.transaction_id for line in lines)
    assert ledger.balance_at(ACCOUNT, 0, anchor, anchor) == 0
    assert min(line.balance_after for line in lines) >= 0


def test_negative_anchor_balance_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        Ledger(1).balance_at(ACCOUNT, -1, ANCHOR, NOW)


def test_balance_never_goes_negative_over_many_seeds_and_anchors() -> None:
    rng = random.Random(2026)
    balances = [0, 1, 999, 12_345, 80_000, 300_000, 5_000_000, 10**12]
    for seed in range(25):
        ledger = Ledger(seed, statement_months=24)
        account = f"2011-00{seed % 3}-ordinary-{rng.randrange(10**7):07d}"
        for balance in balances:
            anchor = datetime(2026, 1, 1, tzinfo=JST) + timedelta(
                seconds=rng.randrange(400 * 86400)
            )
            now = anchor + timedelta(days=365)
            lines = ledger.transactions(account, balance, anchor, *EVER, now)
            check_chain(lines)
            assert all(line.balance_after >= 0 for line in lines)
            assert ledger.balance_at(account, balance, anchor, anchor) == balance
            if not lines:  # a dormant account: too little money at the anchor
                assert balance < 1_000
                assert ledger.balance_at(account, balance, anchor, now) == balance
                continue
            assert ledger.balance_at(account, balance, anchor, now) == lines[-1].balance_after
            first = lines[0]
            sign = 1 if first.type == "deposit" else -1
            assert first.balance_after - sign * first.amount >= 0


def test_anchor_on_a_posting_second_includes_that_line() -> None:
    ledger = Ledger(4)
    line = statement(ledger, NOW)[5]
    lines = ledger.transactions(ACCOUNT, 400_000, line.posted_at, *EVER, NOW)
    same = next(t for t in lines if t.transaction_id == line.transaction_id)
    assert same.balance_after == 400_000


@pytest.mark.parametrize(
    ("principal", "rate", "start", "end", "expected"),
    [
        (1_000_000, 0.2, date(2025, 4, 1), date(2026, 4, 1), 1_594),  # 2000 - 306 - 100
        (1_000_000, 0.125, date(2025, 4, 1), date(2026, 4, 1), 997),  # 1250 - 191 - 62
        (3_000_000, 0.3, date(2026, 1, 10), date(2026, 7, 10), 3_557),  # 181 days: 4463 - 683 - 223
        (100_000, 0.002, date(2025, 4, 1), date(2026, 4, 1), 2),  # 2 yen: no tax
        (1_000_000, 0.2, date(2026, 4, 1), date(2026, 4, 1), 0),
    ],
)
def test_time_deposit_interest_after_tax(
    principal: int, rate: float, start: date, end: date, expected: int
) -> None:
    assert time_deposit_interest(principal, rate, start, end) == expected


@pytest.mark.parametrize(("first", "last"), [(0, 2), (5, 7), (6, 9), (8, 20), (9, 14), (10, 15)])
def test_times_of_day_are_the_draws_of_randint_and_randrange(first: int, last: int) -> None:
    # A statement's line times are what rng.randint / rng.randrange would give, so they
    # never change between releases; and the generator is left where those leave it.
    from sandbox.domain.ledger import _at

    day = date(2026, 11, 25)
    for seed in range(300):
        ours, theirs = random.Random(f"at:{seed}"), random.Random(f"at:{seed}")
        moment = _at(day, ours, first, last)
        hour, minute, second = (
            theirs.randint(first, last),
            theirs.randrange(60),
            theirs.randrange(60),
        )
        assert moment == datetime(2026, 11, 25, hour, minute, second, tzinfo=JST)
        assert ours.random() == theirs.random()


@pytest.mark.parametrize(("low", "high"), [(0, 0), (0, 2), (1, 4), (30, 300), (180_000, 450_000)])
def test_draws_are_those_of_randint_randrange_and_choice(low: int, high: int) -> None:
    from sandbox.domain.ledger import _below, _between

    options = tuple(range(low, high + 1))[:7]
    for seed in range(200):
        ours, theirs = random.Random(f"draw:{seed}"), random.Random(f"draw:{seed}")
        bits = ours.getrandbits
        assert _between(bits, low, high) == theirs.randint(low, high)
        assert low + _below(bits, high - low + 1) == theirs.randrange(low, high + 1)
        assert options[_below(bits, len(options))] == theirs.choice(options)
        assert ours.random() == theirs.random()
    with pytest.raises(ValueError, match="empty range"):
        _between(random.Random(0).getrandbits, high + 1, high)  # randint refuses it too
