"""Statements derived from a seed and the clock, so fixtures never go stale.

Model. Each account has a monthly *cycle* that starts with its salary (給与, the 25th or the
business day before) and ends the day before the next salary. Inside a cycle come rent,
utilities and the card bill by 口座振替, ATM withdrawals, transfers out and in (振込), interest
(利息, February and August) and, last, a sweep to installment savings (定期積金) that takes
whatever the cycle brought in and the other items did not spend. So every cycle's net flow is
exactly zero and, within a cycle, the running net ``g`` never drops below zero (the salary
comes first and the other outflows stay below it).

The balance at any moment is ``base + g``, where ``base`` is fixed by the anchor: the account
balance ``anchor_balance`` at the scenario start ``anchor_time`` (including every line posted
at or before it). ``base = anchor_balance - g(anchor_time) >= 0`` because when the nominal
``g(anchor_time)`` exceeds ``anchor_balance`` every amount of the account is scaled by
``anchor_balance / g(anchor_time)`` (inflows rounded down, outflows up; a cycle whose salary
no longer covers its outflows is left empty). Hence no balance is ever negative, before or
after the anchor, and an account with 0 yen mid-cycle is simply dormant.

Everything is lazy and a pure function of ``(seed, account_seed, cycle, anchor)``; cycles are
cached in bounded LRU caches. Days when banks are closed (weekends, Japanese public holidays
and December 31 - January 3, see ``bank_days``) move the salary back and 口座振替 forward;
transfers (振込) and the closing sweep happen on business days; ATMs work every day.
"""

from __future__ import annotations

import calendar
import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from functools import lru_cache
from operator import attrgetter
from typing import Literal

from sandbox.clock import JST, jst_date, to_jst
from sandbox.domain.bank_days import on_or_after, on_or_before

TransactionType = Literal["deposit", "withdrawal"]
_CACHE_SIZE = 4096
_OUTFLOW_SHARE = Decimal("0.85")  # other outflows never exceed this share of the salary

_EMPLOYERS = (
    "ｶ)ｸﾞﾝﾏｼｮｳｼﾞ",
    "ｶ)ﾀｶｻｷｾｲｷ",
    "ﾕ)ﾏｴﾊﾞｼｼｮｳﾃﾝ",
    "ｶ)ｷﾘｭｳｵﾘﾓﾉ",
    "ｲ)ｼﾝﾜｶｲ",
    "ｸﾞﾝﾏｹﾝ",
)
_PEOPLE = (
    "ﾔﾏﾀﾞ ﾀﾛｳ",
    "ｻﾄｳ ﾊﾅｺ",
    "ｽｽﾞｷ ｲﾁﾛｳ",
    "ﾀｶﾊｼ ﾐｷ",
    "ﾀﾅｶ ｹﾝｼﾞ",
    "ｲﾄｳ ﾕｳｺ",
    "ﾜﾀﾅﾍﾞ ｼﾝｲﾁ",
    "ｺﾊﾞﾔｼ ｱｲ",
)


@dataclass(frozen=True, slots=True)
class Transaction:
    """One line of a deposit/withdrawal statement (入出金明細)."""

    transaction_id: str
    transaction_date: date
    value_date: date
    posted_at: datetime
    type: TransactionType
    amount: int
    description: str
    balance_after: int

    def __hash__(self) -> int:
        # The id names the line (equal lines have equal ids); hashing every field, a zoned
        # datetime among them, costs more than the view cached under the hash.
        return hash(self.transaction_id)


@dataclass(frozen=True, slots=True)
class _Item:
    """A nominal cycle item before scaling; ``index`` keeps transaction ids stable."""

    index: int
    posted_at: datetime
    type: TransactionType
    amount: int
    description: str


_POSTED_THEN_INDEX = attrgetter("posted_at", "index")  # a cycle's order
_ATM_AMOUNTS = (10_000, 20_000, 30_000, 50_000)


@dataclass(frozen=True, slots=True)
class _Profile:
    """What stays the same for an account from month to month."""

    salary: int
    employer: str
    rent: int
    electricity_day: int
    gas_day: int
    water_day: int
    payees: tuple[str, ...]


def _rng(*parts: object) -> random.Random:
    """A generator seeded from ``parts`` (str seeds are stable across processes)."""
    return random.Random(":".join(str(p) for p in parts))


@lru_cache(maxsize=_CACHE_SIZE)
def _profile(seed: int, account_seed: str) -> _Profile:
    """The account's salary, rent, debit days and usual payees."""
    rng = _rng(seed, account_seed, "profile")
    bits = rng.getrandbits
    salary = _between(bits, 180_000, 450_000)  # randrange(180_000, 450_001)
    return _Profile(
        salary=salary,
        employer=_EMPLOYERS[_below(bits, len(_EMPLOYERS))],
        rent=round(salary * rng.uniform(0.22, 0.33) / 1000) * 1000,
        electricity_day=(5, 8, 12, 16)[_below(bits, 4)],
        gas_day=(6, 9, 13, 17)[_below(bits, 4)],
        water_day=(4, 11, 18)[_below(bits, 3)],
        payees=tuple(rng.sample(_PEOPLE, 3)),
    )


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    """``(year, month)`` moved by ``months`` calendar months."""
    total = year * 12 + (month - 1) + months
    return total // 12, total % 12 + 1


@lru_cache(maxsize=_CACHE_SIZE)
def salary_date(year: int, month: int) -> date:
    """Pay day: the 25th, or the business day before when banks are closed on it."""
    return on_or_before(date(year, month, 25))


def _debit_date(day: date) -> date:
    """A direct debit (口座振替) on a day banks are closed moves to the next business day."""
    return on_or_after(day)


def _transfer_date(day: date, first: date, last: date) -> date:
    """A transfer (振込) on the business day on or after ``day`` (else before), in range."""
    later = on_or_after(day)
    if later <= last:
        return later
    earlier = on_or_before(day)
    return earlier if earlier >= first else day


def _cycle_of(day: date) -> tuple[int, int]:
    """The salary cycle ``(year, month)`` that contains ``day``."""
    if day >= salary_date(day.year, day.month):
        return day.year, day.month
    return _add_months(day.year, day.month, -1)


def _below(bits: Callable[[int], int], n: int) -> int:
    """``rng._randbelow(n)`` for ``n > 0``, as random.Random draws it for randrange, randint
    and choice: the fewest bits that hold the range, drawn again while out of it. With
    :func:`_between` it gives a statement the very numbers those calls give, without the
    two or three Python calls each of them makes (every line draws several)."""
    if n <= 0:
        raise ValueError("empty range")  # as randrange and randint refuse it
    width = n.bit_length()
    drawn = bits(width)
    while drawn >= n:
        drawn = bits(width)
    return drawn


def _between(bits: Callable[[int], int], low: int, high: int) -> int:
    """``rng.randint(low, high)``, drawn as it draws it."""
    return low + _below(bits, high - low + 1)


def _at(day: date, rng: random.Random, first_hour: int, last_hour: int) -> datetime:
    """A deterministic time of day between ``first_hour``:00 and ``last_hour``:59:59: the
    numbers of ``time(rng.randint(first_hour, last_hour), rng.randrange(60),
    rng.randrange(60))``."""
    bits = rng.getrandbits
    hour = _between(bits, first_hour, last_hour)
    minute, second = _below(bits, 60), _below(bits, 60)  # randrange(60), twice
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=JST)


@lru_cache(maxsize=_CACHE_SIZE)
def _nominal_cycle(seed: int, account_seed: str, year: int, month: int) -> tuple[_Item, ...]:
    """The cycle's items before scaling, salary first, without the closing sweep."""
    profile = _profile(seed, account_seed)
    rng = _rng(seed, account_seed, year, month)
    start = salary_date(year, month)
    next_year, next_month = _add_months(year, month, 1)
    last = salary_date(next_year, next_month) - timedelta(days=1)
    last = on_or_before(last)  # the closing sweep happens on a business day
    bits = rng.getrandbits  # randint and choice are drawn with _between and _below
    salary = round(profile.salary * rng.uniform(0.95, 1.05))
    budget = int(salary * _OUTFLOW_SHARE)
    items = [_Item(0, _at(start, rng, 5, 7), "deposit", salary, f"給与 {profile.employer}")]

    def outflow(day: date, amount: int, description: str, hours: tuple[int, int]) -> None:
        nonlocal budget
        posted = _at(day, rng, *hours)
        if 0 < amount <= budget:
            budget -= amount
            items.append(_Item(len(items), posted, "withdrawal", amount, description))

    def next_month_day(day: int) -> date:
        return date(next_year, next_month, day)

    winter = next_month in (1, 2, 3, 12)
    outflow(_debit_date(date(year, month, 27)), profile.rent, "口座振替 家賃", (6, 9))
    electricity = _between(bits, 4_000, 9_000) * (2 if winter or next_month in (7, 8) else 1)
    outflow(
        _debit_date(next_month_day(profile.electricity_day)), electricity, "口座振替 電気", (6, 9)
    )
    gas = _between(bits, 2_500, 5_000) * (2 if winter else 1)
    outflow(_debit_date(next_month_day(profile.gas_day)), gas, "口座振替 ガス", (6, 9))
    if next_month % 2 == 0:
        water = _between(bits, 4_000, 8_000)
        outflow(_debit_date(next_month_day(profile.water_day)), water, "口座振替 水道", (6, 9))
    card = round(salary * rng.uniform(0.05, 0.2))
    outflow(_debit_date(next_month_day(10)), card, "カード", (6, 9))
    span = (last - start).days - 1  # random days fall strictly between pay day and the sweep
    for _ in range(_between(bits, 1, 4)):
        day = start + timedelta(days=_between(bits, 1, span))
        outflow(day, _ATM_AMOUNTS[_below(bits, len(_ATM_AMOUNTS))], "ATM", (8, 20))
    first_day, last_day = start + timedelta(days=1), last - timedelta(days=1)
    for _ in range(_between(bits, 0, 2)):
        day = _transfer_date(start + timedelta(days=_between(bits, 1, span)), first_day, last_day)
        amount = _between(bits, 30, 300) * 100
        payee = profile.payees[_below(bits, len(profile.payees))]
        outflow(day, amount, f"振込 {payee}", (9, 14))
    if rng.random() < 0.25:
        day = _transfer_date(start + timedelta(days=_between(bits, 1, span)), first_day, last_day)
        posted = _at(day, rng, 9, 14)
        amount = _between(bits, 5, 50) * 1_000
        sender = _PEOPLE[_below(bits, len(_PEOPLE))]
        items.append(_Item(len(items), posted, "deposit", amount, f"振込 {sender}"))
    if next_month in (2, 8):
        posted = _at(next_month_day(15), rng, 0, 2)
        items.append(_Item(len(items), posted, "deposit", _between(bits, 1, 300), "利息"))
    sweep_at = _at(last, rng, 10, 15)
    items.append(_Item(len(items), sweep_at, "withdrawal", 0, "口座振替 定期積金"))
    return tuple(sorted(items, key=_POSTED_THEN_INDEX))


def _scale(amount: int, kind: TransactionType, num: int, den: int) -> int:
    """Scale by ``num/den``: inflows rounded down, outflows rounded up."""
    if num == den:
        return amount
    return amount * num // den if kind == "deposit" else -(-amount * num // den)


@lru_cache(maxsize=_CACHE_SIZE)
def _scaled_cycle(
    seed: int, account_seed: str, year: int, month: int, num: int, den: int
) -> tuple[tuple[_Item, int], ...]:
    """The cycle's items scaled by ``num/den``, each with the running net after it."""
    nominal = _nominal_cycle(seed, account_seed, year, month)
    if num == den:  # unscaled: the items themselves
        body = list(nominal[:-1])
    else:
        body = [
            _Item(i.index, i.posted_at, i.type, _scale(i.amount, i.type, num, den), i.description)
            for i in nominal[:-1]
        ]
    salary = body[0].amount
    inflow = sum(i.amount for i in body if i.type == "deposit")
    outflow = sum(i.amount for i in body if i.type == "withdrawal")
    if salary <= outflow:
        return ()
    sweep = nominal[-1]
    body.append(
        _Item(sweep.index, sweep.posted_at, "withdrawal", inflow - outflow, sweep.description)
    )
    running = 0
    result = []
    for item in body:
        if item.amount == 0:
            continue
        running += item.amount if item.type == "deposit" else -item.amount
        result.append((item, running))
    return tuple(result)


def _net_at(cycle: tuple[tuple[_Item, int], ...], moment: datetime) -> int:
    """The running net of ``cycle`` after every item posted at or before ``moment``."""
    net = 0
    for item, running in cycle:
        if item.posted_at > moment:
            break
        net = running
    return net


@lru_cache(maxsize=_CACHE_SIZE)
def _anchor(seed: int, account_seed: str, balance: int, at: datetime) -> tuple[int, int, int]:
    """``(num, den, base)`` for an account whose balance is ``balance`` at ``at``."""
    if balance < 0:
        raise ValueError("anchor_balance must not be negative")
    year, month = _cycle_of(at.date())
    nominal = _net_at(_scaled_cycle(seed, account_seed, year, month, 1, 1), at)
    num, den = (1, 1) if nominal <= balance else (balance, nominal)
    base = balance - _net_at(_scaled_cycle(seed, account_seed, year, month, num, den), at)
    return num, den, base


def _transaction_id(seed: int, account_seed: str, year: int, month: int, item: _Item) -> str:
    """A stable id: posting date plus a digest of the account, cycle and item."""
    key = f"{seed}:{account_seed}:{year}-{month}:{item.index}".encode()
    return f"{item.posted_at:%Y%m%d}-{hashlib.blake2b(key, digest_size=6).hexdigest()}"


@lru_cache(maxsize=_CACHE_SIZE)
def _cycle_transactions(
    seed: int, account_seed: str, year: int, month: int, anchor: tuple[int, int, int]
) -> tuple[Transaction, ...]:
    """The statement lines of one cycle for an anchored account."""
    num, den, base = anchor
    return tuple(
        Transaction(
            transaction_id=_transaction_id(seed, account_seed, year, month, item),
            transaction_date=item.posted_at.date(),
            value_date=item.posted_at.date(),
            posted_at=item.posted_at,
            type=item.type,
            amount=item.amount,
            description=item.description,
            balance_after=base + running,
        )
        for item, running in _scaled_cycle(seed, account_seed, year, month, num, den)
    )


@lru_cache(maxsize=1024)  # a statement request asks it for the same few days
def add_months(day: date, months: int) -> date:
    """``day`` moved by calendar months, clamped to the month's last day (Mar 31 - 1 = Feb 28)."""
    year, month = _add_months(day.year, day.month, months)
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


_RangeKey = tuple[str, int, datetime, date, date]
_MAX_RANGES = 256  # statements kept per ledger; past it, it starts afresh


@dataclass(frozen=True, slots=True)
class _Range:
    """A statement's lines, and the moments they hold for: from ``newest`` (the last line's
    posting) until ``next_due`` (the posting of the range's next line), not included."""

    lines: tuple[Transaction, ...]
    newest: datetime | None  # None: no line yet
    next_due: datetime | None  # None: every line of the range is posted

    def holds_at(self, moment: datetime) -> bool:
        return (self.newest is None or self.newest <= moment) and (
            self.next_due is None or moment < self.next_due
        )


class Ledger:
    """Deterministic statements and balances for any number of accounts, computed lazily."""

    def __init__(self, seed: int, statement_months: int = 3) -> None:
        if statement_months < 1:
            raise ValueError("statement_months must be at least 1")
        self.seed = seed
        self.statement_months = statement_months
        # (account, anchor, first day, last day) -> the lines and the moments they hold for.
        self._ranges: dict[_RangeKey, _Range] = {}

    def held_from(self, now: datetime) -> date:
        """The first day whose lines the bank still holds (today minus ``statement_months``)."""
        return add_months(jst_date(now), -self.statement_months)

    def balance_at(
        self, account_seed: str, anchor_balance: int, anchor_time: datetime, now: datetime
    ) -> int:
        """The balance at ``now``, after every line posted at or before it."""
        at, moment = to_jst(anchor_time), to_jst(now)
        num, den, base = _anchor(self.seed, account_seed, anchor_balance, at)
        year, month = _cycle_of(moment.date())
        return base + _net_at(_scaled_cycle(self.seed, account_seed, year, month, num, den), moment)

    def transactions(
        self,
        account_seed: str,
        anchor_balance: int,
        anchor_time: datetime,
        date_from: date,
        date_to: date,
        now: datetime,
    ) -> list[Transaction]:
        """Lines dated ``date_from..date_to`` (inclusive), held at ``now``, oldest first."""
        moment = to_jst(now)
        first = max(date_from, self.held_from(moment))
        last = min(date_to, moment.date())
        if first > last:
            return []
        # A statement asked for again, while no line of its range has been posted since
        # and the clock has not gone back before its newest: the same lines.
        key = (account_seed, anchor_balance, anchor_time, first, last)
        kept = self._ranges.get(key)
        if kept is not None and kept.holds_at(moment):
            return list(kept.lines)
        anchor = _anchor(self.seed, account_seed, anchor_balance, to_jst(anchor_time))
        lines: list[Transaction] = []
        next_due: datetime | None = None  # the first line of the range still to be posted
        year, month = _cycle_of(first)
        while salary_date(year, month) <= last:
            cycle = _cycle_transactions(self.seed, account_seed, year, month, anchor)
            # A cycle's lines are in posting order: one wholly inside the range and already
            # posted is taken as it is, the others line by line.
            if cycle and (
                first <= cycle[0].transaction_date
                and cycle[-1].transaction_date <= last
                and cycle[-1].posted_at <= moment
            ):
                lines.extend(cycle)
            else:
                for line in cycle:
                    if first <= line.transaction_date <= last:
                        if line.posted_at <= moment:
                            lines.append(line)
                        elif next_due is None or line.posted_at < next_due:
                            next_due = line.posted_at
            year, month = _add_months(year, month, 1)
        if len(self._ranges) >= _MAX_RANGES:
            self._ranges.clear()
        newest = max((line.posted_at for line in lines), default=None)
        self._ranges[key] = _Range(tuple(lines), newest, next_due)
        return lines


def time_deposit_interest(
    principal: int, rate_percent: float, deposit_date: date, maturity_date: date
) -> int:
    """Interest paid at maturity: simple, per 365 days, after 20.315% tax, yen floored.

    The gross interest is floored to the yen; the national (15.315%) and local (5%) taxes
    are each floored and withheld, as Japanese banks do.
    """
    days = (maturity_date - deposit_date).days
    if principal <= 0 or days <= 0 or rate_percent <= 0:
        return 0
    rate = Decimal(str(rate_percent)) / 100
    gross = int((principal * rate * days / 365).to_integral_value(ROUND_FLOOR))
    national = int((gross * Decimal("0.15315")).to_integral_value(ROUND_FLOOR))
    local = int((gross * Decimal("0.05")).to_integral_value(ROUND_FLOOR))
    return gross - national - local
