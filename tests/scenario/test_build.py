"""Scenario -> Directory: explicit customers win, generated ones fill in."""

from __future__ import annotations

from datetime import date

from sandbox.domain.bank import AccountType
from sandbox.scenario.build import build_directory
from sandbox.scenario.bundled import default_scenario
from sandbox.scenario.loader import load_scenario_text


def test_default_directory() -> None:
    directory = build_directory(default_scenario())
    assert len(directory) == 4 + 10 + 1000  # documented, magic, generated
    found = directory.find_account("001", AccountType.ORDINARY, "1234567")
    assert found is not None
    customer, account = found
    assert customer.customer_id == "taro"
    assert customer.phone == "09012345678"
    assert customer.birth_date == date(1980, 1, 1)
    assert account.pin == "1234"
    assert account.eligible
    assert account.time_deposits[0].principal == 1_000_000
    jiro = directory.get_customer("jiro")
    assert jiro is not None
    assert not jiro.accounts[0].eligible
    generated = directory.get_customer("g1-0")
    assert generated is not None
    assert directory.find_account(*generated.accounts[0].key) is not None


def test_customer_ids_default_to_position() -> None:
    text = """\
customers:
  - name_kanji: 出田 太郎
    name_kana: ﾃﾞｰﾀ ﾀﾛｳ
    birth_date: 1980-01-01
    phone: "027-212-3456"
    email: taro@example.jp
    accounts:
      - {branch: "002", type: savings, number: "7654321", pin: "0000"}
"""
    directory = build_directory(load_scenario_text(text))
    customer = directory.get_customer("c1")
    assert customer is not None
    assert customer.phone == "0272123456"
    assert customer.accounts[0].account_type is AccountType.SAVINGS
    assert len(directory) == 1


def test_explicit_accounts_are_reserved_in_the_population() -> None:
    directory = build_directory(default_scenario())
    for number in ("1234567", "2345678", "3456789", "4567890", "4567891"):
        for branch in ("001", "002", "003"):
            for kind in AccountType:
                found = directory.find_account(branch, kind, number)
                assert found is None or not found[0].customer_id.startswith("g")
