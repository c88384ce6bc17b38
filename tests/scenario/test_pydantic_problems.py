"""pydantic errors as problems: at the value's line and column, saying what was expected."""

from __future__ import annotations

import pytest

from tests.scenario.problem_cases import customer_yaml, only_problem


def test_wrong_type() -> None:
    problem = only_problem(customer_yaml(balance='"abc"'))
    assert (problem.line, problem.column) == (11, 18)
    assert problem.field == "customers[0].accounts[0].balance"
    assert "whole number" in problem.message
    assert str(problem).startswith("s.yaml:11:18: customers[0].accounts[0].balance: ")


def test_unknown_key() -> None:
    text = customer_yaml().replace("    email:", "    emial: x\n    email:")
    problem = only_problem(text)
    assert (problem.line, problem.column, problem.field) == (6, 5, "customers[0].emial")
    assert "unknown field 'emial'" in problem.message
    assert "did you mean 'email'" in problem.message
    assert "name_kana" in problem.message  # lists what is allowed


def test_unknown_top_level_key() -> None:
    problem = only_problem("name: x\ncustomer: []\n")
    assert (problem.line, problem.column, problem.field) == (2, 1, "customer")
    assert "allowed: bank, clients, clock" in problem.message


def test_bad_date() -> None:
    problem = only_problem(customer_yaml(birth_date="1980-13-45"))
    assert (problem.line, problem.column) == (4, 17)
    assert problem.field == "customers[0].birth_date"
    assert "YYYY-MM-DD" in problem.message
    assert "1980-13-45" in problem.message


def test_unquoted_pin_is_octal_in_yaml() -> None:
    problem = only_problem(customer_yaml(pin="0123"))
    assert (problem.line, problem.column) == (10, 14)
    assert problem.field == "customers[0].accounts[0].pin"
    assert problem.message == 'must be a quoted string, e.g. pin: "0123"'


@pytest.mark.parametrize(
    ("original", "replacement", "field"),
    [
        ('phone: "090-1234-5678"', "phone: 0272123456", "customers[0].phone"),
        ('number: "1234567"', "number: 1234567", "customers[0].accounts[0].number"),
        ('branch: "001"', "branch: 001", "customers[0].accounts[0].branch"),
    ],
)
def test_unquoted_digits(original: str, replacement: str, field: str) -> None:
    problem = only_problem(customer_yaml().replace(original, replacement))
    assert problem.field == field
    name = field.rsplit(".", 1)[-1]
    value = replacement.split(": ")[1]
    assert problem.message == f'must be a quoted string, e.g. {name}: "{value}"'


def test_unquoted_bank_code() -> None:
    problem = only_problem("bank:\n  code: 2011\n")
    assert (problem.line, problem.column, problem.field) == (2, 9, "bank.code")
    assert problem.message == 'must be a quoted string, e.g. code: "2011"'


def test_missing_field_points_at_its_mapping() -> None:
    text = customer_yaml().replace('        pin: "1234"\n', "")
    problem = only_problem(text)
    assert problem.field == "customers[0].accounts[0].pin"
    assert problem.message == "missing required field 'pin'"
    assert (problem.line, problem.column) == (8, 9)


def test_union_errors_are_merged() -> None:
    problem = only_problem("rules:\n  - on: pin\n    error: off_hours\n    times: sometimes\n")
    assert (problem.line, problem.column, problem.field) == (4, 12, "rules[0].times")
    assert problem.message == "expected 'once' or 'always' or a whole number, got 'sometimes'"


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (
            "bank:\n  policy:\n    identity_attempt_limit: true\n",
            "bank.policy.identity_attempt_limit",
        ),
        ('clock:\n  frozen: "yes"\n', "clock.frozen"),
        ("bank:\n  policy:\n    pin_attempt_limit: 3.5\n", "bank.policy.pin_attempt_limit"),
    ],
)
def test_numbers_and_booleans_are_strict(text: str, field: str) -> None:
    problem = only_problem(text)
    assert problem.field == field
    assert problem.line > 1
