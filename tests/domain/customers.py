"""A customer with an ordinary and a savings account, for the domain and view tests."""

from __future__ import annotations

from datetime import date

from sandbox.domain.bank import Account, AccountType, Customer


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
