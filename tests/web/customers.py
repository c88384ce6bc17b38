"""A customer with two accounts and time deposits, for the data API tests."""

from __future__ import annotations

JIRO = """
  - id: jiro
    name_kanji: 鈴木 次郎
    name_kana: ｽｽﾞｷ ｼﾞﾛｳ
    birth_date: "1975-03-03"
    phone: "080-2222-3333"
    email: jiro@example.jp
    accounts:
      - branch: "001"
        type: ordinary
        number: "3333333"
        pin: "3333"
        balance: 800000
        time_deposits:
          - {certificate_number: "2001", deposit_date: "2026-04-01",
             maturity_date: "2027-04-01", principal: 1000000, rate_percent: 0.2}
      - branch: "002"
        type: savings
        number: "4444444"
        pin: "3333"
        balance: 250000
        time_deposits:
          - {certificate_number: "2002", deposit_date: "2026-01-10",
             maturity_date: "2026-07-10", principal: 300000, rate_percent: 0.05,
             kind: 大口定期}
"""
JIRO_REFS = ("001-ordinary-3333333", "002-savings-4444444")
