"""The bank's reference data: branches, customers, accounts and time deposits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from sandbox.domain.postings import Posting


class AccountType(StrEnum):
    """科目: the account types the credit union knows."""

    ORDINARY = "ordinary"  # 普通
    SAVINGS = "savings"  # 貯蓄
    CURRENT = "current"  # 当座

    @property
    def japanese(self) -> str:
        return _TYPE_NAMES[self]

    @property
    def code(self) -> str:
        """The two-digit 科目 code Japanese banks use (01 普通, 02 当座, 04 貯蓄)."""
        return _TYPE_CODES[self]


_TYPE_NAMES = {
    AccountType.ORDINARY: "普通",
    AccountType.SAVINGS: "貯蓄",
    AccountType.CURRENT: "当座",
}
_TYPE_CODES = {
    AccountType.ORDINARY: "01",
    AccountType.CURRENT: "02",
    AccountType.SAVINGS: "04",
}
# Account types the linkage screens accept (screen ① offers only these).
LINKABLE_TYPES = frozenset({AccountType.ORDINARY, AccountType.SAVINGS})


@dataclass(frozen=True, slots=True)
class TimeDeposit:
    """定期預金: one certificate."""

    certificate_number: str
    deposit_date: date
    maturity_date: date
    principal: int
    rate_percent: float
    kind: str = "スーパー定期"


@dataclass(slots=True)
class Account:
    """口座: one account of a customer. ``balance`` is the balance at the scenario start."""

    branch_code: str
    account_type: AccountType
    number: str
    pin: str
    balance: int
    cash_card: bool = True
    passbook_withdrawal: bool = False
    time_deposits: tuple[TimeDeposit, ...] = ()
    # Set when the account was moved to another branch (移管): (new branch, new number).
    transferred_to: tuple[str, str] | None = None
    # A magic account: the catalog code it answers at its step (sandbox.domain.magic).
    triggers: str | None = None
    # Statement lines the scenario lists for it, beside the generated ones.
    postings: tuple[Posting, ...] = ()

    @property
    def key(self) -> tuple[str, AccountType, str]:
        return (self.branch_code, self.account_type, self.number)

    @property
    def eligible(self) -> bool:
        """Usable for API linkage: 普通 or 貯蓄 with a cash card (shared/DOMAIN.md §3)."""
        return (
            self.account_type in LINKABLE_TYPES and self.cash_card and self.transferred_to is None
        )


@dataclass(slots=True)
class Customer:
    """お客様: an individual with one or more accounts."""

    customer_id: str
    name_kanji: str
    name_kana: str  # half-width katakana, e.g. "ﾃﾞｰﾀ ﾀﾛｳ"
    birth_date: date
    phone: str  # digits only, e.g. "0272123456" or "09012345678"
    email: str
    accounts: list[Account] = field(default_factory=list)


def normalize_phone(text: str) -> str:
    """Digits of a phone number without hyphens, spaces or brackets."""
    return "".join(ch for ch in text if ch.isdigit())


def is_valid_phone(digits: str) -> bool:
    """A Japanese phone number: 0 + 9 digits (fixed line) or 0[5789]0 + 8 digits (mobile, IP)."""
    if not digits.isascii() or not digits.isdigit() or not digits.startswith("0"):
        return False
    if len(digits) == 11:
        return digits[:3] in {"050", "070", "080", "090"}
    return len(digits) == 10 and digits[1] != "0"
