"""Problems and ScenarioError: every problem, one per line, in file order."""

from __future__ import annotations

import pytest

from sandbox.scenario.loader import load_scenario_text
from sandbox.scenario.problems import ScenarioError
from tests.scenario.problem_cases import customer_yaml, problems_of


def test_every_problem_is_reported_in_file_order() -> None:
    text = customer_yaml(birth_date="1980-13-45", pin="0123", balance='"abc"')
    text = text.replace("    email:", "    emial: x\n    email:")
    problems = problems_of(text)
    assert [(p.line, p.field) for p in problems] == [
        (4, "customers[0].birth_date"),
        (6, "customers[0].emial"),
        (11, "customers[0].accounts[0].pin"),
        (12, "customers[0].accounts[0].balance"),
    ]


def test_error_str_lists_one_problem_per_line() -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario_text(customer_yaml(pin="0123", balance="-1"), source="x.yaml")
    lines = str(caught.value).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("x.yaml:10:14: customers[0].accounts[0].pin: ")
    assert lines[1].startswith("x.yaml:11:18: customers[0].accounts[0].balance: ")
