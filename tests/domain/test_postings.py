"""Postings on top of the ledger: the balance moves by them, the chain of balances holds."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta

import pytest

from sandbox.clock import JST
from sandbox.domain.ledger import Ledger, Transaction
from sandbox.domain.postings import InsufficientBalance, Posting, Statements, new_posting

SEED = "001-ordinary-1234567"
START = datetime(2026, 11, 1, 9, 0, tzinfo=JST)
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=JST)
EVER = (date(2000, 1, 1), date(2100, 1, 1))
LEDGER = Ledger(3)


def posting(at: datetime, amount: int, *, listed: bool = False, pid: str = "p") -> Posting:
    if amount > 0:
        return Posting(pid, SEED, at, "deposit", amount, "ﾃｽﾄ", listed)
    return Posting(pid, SEED, at, "withdrawal", -amount, "ﾃｽﾄ", listed)


def chain_holds(lines: list[Transaction]) -> None:
    for before, after in itertools.pairwise(lines):
        signed = after.amount if after.type == "deposit" else -after.amount
        assert after.balance_after == before.balance_after + signed


def test_without_postings_it_is_the_ledger() -> None:
    statements = Statements(LEDGER)
    assert statements.balance_at(SEED, 100_000, START, NOW) == LEDGER.balance_at(
        SEED, 100_000, START, NOW
    )
    assert statements.transactions(SEED, 100_000, START, *EVER, NOW) == LEDGER.transactions(
        SEED, 100_000, START, *EVER, NOW
    )


def test_a_listed_line_before_the_start_is_in_the_start_balance() -> None:
    early = posting(START - timedelta(days=3), 5_000, listed=True)
    statements = Statements(LEDGER, [early])
    assert statements.balance_at(SEED, 100_000, START, START) == 100_000
    lines = statements.transactions(SEED, 100_000, START, *EVER, NOW)
    assert any(line.amount == 5_000 and line.transaction_id[9] == "p" for line in lines)
    chain_holds(lines)
    assert lines[-1].balance_after == statements.balance_at(SEED, 100_000, START, NOW)


def test_a_posted_line_is_new_money_even_at_the_starts_second() -> None:
    ledger_now = LEDGER.balance_at(SEED, 100_000, START, START)
    statements = Statements(LEDGER, [posting(START, 700), posting(START, -200, pid="q")])
    assert statements.balance_at(SEED, 100_000, START, START) == ledger_now + 500
    lines = statements.transactions(SEED, 100_000, START, *EVER, START)
    assert [line.amount for line in lines[-2:]] == [700, 200]
    chain_holds(lines)
    assert lines[-1].balance_after == ledger_now + 500


def test_a_future_line_waits_for_its_time() -> None:
    later = posting(NOW + timedelta(hours=1), 900, listed=True)
    statements = Statements(LEDGER, [later])
    assert statements.balance_at(SEED, 100_000, START, NOW) == LEDGER.balance_at(
        SEED, 100_000, START, NOW
    )
    after = NOW + timedelta(hours=2)
    assert statements.balance_at(SEED, 100_000, START, after) == (
        LEDGER.balance_at(SEED, 100_000, START, after) + 900
    )


def test_a_withdrawal_beyond_the_balance_is_refused() -> None:
    with pytest.raises(InsufficientBalance):
        new_posting(SEED, "withdrawal", 1_001, "x", NOW, 1_000)
    assert new_posting(SEED, "withdrawal", 1_000, "x", NOW, 1_000).signed == -1_000
    with pytest.raises(ValueError, match="amount"):
        new_posting(SEED, "deposit", True, "x", NOW, 0)
