"""Reading scenario YAML: YAML 1.2 booleans, dates kept as text, duplicate keys, syntax errors."""

from __future__ import annotations

from sandbox.scenario.loader import load_scenario_text
from tests.scenario.problem_cases import customer_yaml, only_problem


def test_duplicate_yaml_key() -> None:
    text = customer_yaml().replace("    email:", '    phone: "080-0000-1111"\n    email:')
    problem = only_problem(text)
    assert (problem.line, problem.column) == (6, 5)
    assert problem.field == "customers[0].phone"
    assert "duplicate key 'phone'" in problem.message


def test_yaml_syntax_error() -> None:
    problem = only_problem('name: x\nclients: [\n  {client_id: "a"\n')
    assert problem.file == "s.yaml"
    assert problem.line == 4
    assert problem.field == ""
    assert "YAML syntax error" in problem.message
    assert str(problem).startswith("s.yaml:4:1: YAML syntax error")


def test_yaml_tab_indentation() -> None:
    problem = only_problem("name: x\n\tbank: {}\n")
    assert (problem.line, problem.column) == (2, 1)


def test_on_and_yes_are_strings_not_booleans() -> None:
    scenario = load_scenario_text(
        "rules:\n  - on: pin\n    error: off_hours\n    description: yes\n"
    )
    assert scenario.rules[0].on == "pin"
    assert scenario.rules[0].description == "yes"


def test_dates_stay_strings_until_pydantic() -> None:
    scenario = load_scenario_text("clock:\n  start: 2025-01-06T02:30:00+09:00\n  frozen: true\n")
    assert scenario.clock.start is not None
    assert scenario.clock.start.isoformat() == "2025-01-06T02:30:00+09:00"


def test_anchors_and_merge_keys() -> None:
    text = """\
clients:
  - &base
    client_id: a
    client_secret: secret-aaaa
    redirect_uris: ["http://127.0.0.1/cb"]
  - <<: *base
    client_id: b
"""
    scenario = load_scenario_text(text)
    assert [c.client_id for c in scenario.clients] == ["a", "b"]
