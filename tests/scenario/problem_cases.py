"""Scenario text for the loader tests: one valid customer to break, and what loading reports."""

from __future__ import annotations

import pytest

from sandbox.scenario.loader import load_scenario_text
from sandbox.scenario.problems import Problem, ScenarioError

CUSTOMER = """\
customers:
  - name_kanji: 出田 太郎
    name_kana: ﾃﾞｰﾀ ﾀﾛｳ
    birth_date: {birth_date}
    phone: "090-1234-5678"
    email: taro@example.jp
    accounts:
      - branch: "001"
        number: "1234567"
        pin: {pin}
        balance: {balance}
"""


def customer_yaml(birth_date: str = "1980-01-01", pin: str = '"1234"', balance: str = "100") -> str:
    return CUSTOMER.format(birth_date=birth_date, pin=pin, balance=balance)


def problems_of(text: str) -> list[Problem]:
    with pytest.raises(ScenarioError) as caught:
        load_scenario_text(text, source="s.yaml")
    return caught.value.problems


def only_problem(text: str) -> Problem:
    problems = problems_of(text)
    assert len(problems) == 1, problems
    return problems[0]
