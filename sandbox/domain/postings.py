"""Statement lines on demand: lines a scenario lists or a control call posts, on top of the
ledger's generated ones, with balances that stay consistent.

The scenario's balance at its start (the anchor) already includes every line dated at or
before it, the lines the scenario lists too; a line posted at run time is always new money
(even under a frozen clock, at the anchor's very second). So with ``E(t)`` the sum of the
postings at or before ``t`` and ``S`` the sum of the listed ones at or before the anchor, the
balance at ``t`` is the ledger's plus ``E(t) - S``, and each line's ``balance_after``
follows from the line before it, generated or posted. Lines older than the
held period leave the statement as every line does; the balance keeps them.
"""

from __future__ import annotations

import hashlib
import secrets
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sandbox.clock import to_jst
from sandbox.copies import replace
from sandbox.domain.ledger import Ledger, Transaction, TransactionType

MAX_DESCRIPTION = 48  # characters of a 摘要 kept
MAX_YEN = 10**15  # the largest amount or balance a scenario or posting may hold


@dataclass(frozen=True, slots=True)
class Posting:
    """One statement line posted on demand, to the account whose ledger seed is ``account``."""

    posting_id: str
    account: str
    posted_at: datetime
    type: TransactionType
    amount: int
    description: str
    listed: bool = False  # from the scenario (part of its start balance when dated before)

    @property
    def signed(self) -> int:
        return self.amount if self.type == "deposit" else -self.amount

    def line(self, balance_after: int) -> Transaction:
        day = to_jst(self.posted_at).date()
        digest = hashlib.sha256(self.posting_id.encode()).hexdigest()[:11]
        return Transaction(
            transaction_id=f"{day:%Y%m%d}-p{digest}",
            transaction_date=day,
            value_date=day,
            posted_at=to_jst(self.posted_at),
            type=self.type,
            amount=self.amount,
            description=self.description,
            balance_after=balance_after,
        )


def new_posting(
    account: str, kind: str, amount: object, description: object, now: datetime, balance: int
) -> Posting:
    """A line posted now on ``account`` (its ledger seed); ValueError says what is wrong."""
    if kind not in ("deposit", "withdrawal"):
        raise ValueError("type must be deposit or withdrawal")
    if isinstance(amount, bool) or not isinstance(amount, int) or not 1 <= amount <= MAX_YEN:
        raise ValueError(f"amount must be a whole number of yen from 1 to {MAX_YEN:,}")
    if not isinstance(description, str) or not 1 <= len(description) <= MAX_DESCRIPTION:
        raise ValueError(f"description (摘要) must be 1-{MAX_DESCRIPTION} characters")
    if kind == "withdrawal" and amount > balance:
        raise InsufficientBalance(balance)
    return Posting(
        posting_id=secrets.token_hex(8),
        account=account,
        posted_at=to_jst(now),
        type="deposit" if kind == "deposit" else "withdrawal",
        amount=amount,
        description=description,
    )


class InsufficientBalance(ValueError):
    """A withdrawal larger than the balance (the bank refuses it)."""

    def __init__(self, balance: int) -> None:
        super().__init__(f"the balance is {balance:,} yen: a withdrawal may not exceed it")
        self.balance = balance


class _Account:
    """The postings of one account, in posting order, with running sums for ``E(t)``."""

    def __init__(self, postings: Sequence[Posting]) -> None:
        self.items = sorted(postings, key=lambda p: (to_jst(p.posted_at), p.posting_id))
        self.times = [to_jst(p.posted_at) for p in self.items]
        self.sums = [0]
        for posting in self.items:
            self.sums.append(self.sums[-1] + posting.signed)

    def upto(self, moment: datetime) -> int:
        """``E(moment)``: the postings at or before ``moment``."""
        return self.sums[bisect_right(self.times, to_jst(moment))]

    def before(self, moment: datetime) -> int:
        """The postings strictly before ``moment``."""
        return self.sums[bisect_left(self.times, to_jst(moment))]

    def in_start(self, anchor: datetime) -> int:
        """``S``: the listed postings the scenario's start balance already includes."""
        at = to_jst(anchor)
        return sum(
            p.signed for p, t in zip(self.items, self.times, strict=True) if p.listed and t <= at
        )


class Statements:
    """Balances and statement lines of a bank: the ledger's, plus the postings."""

    def __init__(self, ledger: Ledger, postings: Iterable[Posting] = ()) -> None:
        self.ledger = ledger
        grouped: dict[str, list[Posting]] = {}
        for posting in postings:
            grouped.setdefault(posting.account, []).append(posting)
        self._accounts = {seed: _Account(items) for seed, items in grouped.items()}

    def balance_at(self, seed: str, anchor_balance: int, anchor: datetime, now: datetime) -> int:
        """The balance at ``now``, after every line (generated or posted) at or before it."""
        balance = self.ledger.balance_at(seed, anchor_balance, anchor, now)
        posted = self._accounts.get(seed)
        if posted is None:
            return balance
        return balance + posted.upto(now) - posted.in_start(anchor)

    def transactions(
        self,
        seed: str,
        anchor_balance: int,
        anchor: datetime,
        date_from: date,
        date_to: date,
        now: datetime,
    ) -> list[Transaction]:
        """Lines dated ``date_from..date_to``, held at ``now``, oldest first (posted lines
        after the generated ones of the same second)."""
        generated = self.ledger.transactions(seed, anchor_balance, anchor, date_from, date_to, now)
        posted = self._accounts.get(seed)
        if posted is None:
            return generated
        shift = posted.in_start(anchor)
        lines = [
            replace(t, balance_after=t.balance_after + posted.before(t.posted_at) - shift)
            for t in generated
        ]
        moment = to_jst(now)
        first = max(date_from, self.ledger.held_from(moment))
        last = min(date_to, moment.date())
        for index, posting in enumerate(posted.items):
            day = posted.times[index].date()
            if posted.times[index] > moment or not first <= day <= last:
                continue
            before = self.ledger.balance_at(seed, anchor_balance, anchor, posted.times[index])
            after = before + posted.sums[index + 1] - shift
            lines.append(posting.line(after))
        # Stable: generated lines keep their order, postings theirs, postings last in a second.
        lines.sort(key=lambda t: (t.posted_at, t.transaction_id[9:10] == "p"))
        return lines
