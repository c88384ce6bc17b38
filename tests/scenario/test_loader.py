"""The scenario loader: YAML -> Scenario, with file:line:column for every problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandbox.domain.bank import AccountType
from sandbox.scenario.loader import (
    Problem,
    ScenarioError,
    bundled_scenarios,
    default_scenario,
    load_scenario,
    load_scenario_text,
    schema_text,
)

ROOT = Path(__file__).resolve().parents[2]

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


def test_default_scenario_loads() -> None:
    scenario = default_scenario()
    assert scenario.bank.code == "2011"
    assert scenario.bank.name == "ぐんまみらい信用組合"
    assert len(scenario.bank.branches) == 3
    assert scenario.clock.start is None
    assert not scenario.clock.frozen
    assert [c.client_id for c in scenario.clients] == ["demo-app", "pkce-app"]
    assert scenario.clients[0].client_secret == "demo-secret-please-change"
    assert scenario.clients[1].pkce == "required"
    assert scenario.generate is not None
    assert (scenario.generate.count, scenario.generate.seed) == (1000, 1)
    taro = scenario.customers[0]
    assert taro.name_kana == "ﾃﾞｰﾀ ﾀﾛｳ"
    assert str(taro.birth_date) == "1980-01-01"
    assert taro.phone == "090-1234-5678"
    assert (taro.accounts[0].branch, taro.accounts[0].number) == ("001", "1234567")
    assert taro.accounts[0].pin == "1234"
    accounts = [a for c in scenario.customers for a in c.accounts]
    assert any(a.type == AccountType.SAVINGS for a in accounts)
    assert any(a.type == AccountType.CURRENT for a in accounts)
    assert any(not a.cash_card for a in accounts)


def test_default_file_starts_with_schema_comment() -> None:
    text = (ROOT / "scenarios" / "default.yaml").read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=./schema.json\n")


def test_committed_schema_is_current() -> None:
    path = ROOT / "scenarios" / "schema.json"
    assert path.read_text(encoding="utf-8") == schema_text(), "run: sandbox schema -o " + str(path)
    assert json.loads(schema_text())["title"]


def test_every_bundled_scenario_is_valid() -> None:
    names = [name for name, _ in bundled_scenarios()]
    assert "default" in names
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        load_scenario(path)


def test_valid_customer_text() -> None:
    scenario = load_scenario_text(customer_yaml())
    assert scenario.customers[0].accounts[0].balance == 100


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


def test_duplicate_account_points_at_the_second_number() -> None:
    second = """\
  - name_kanji: 出田 花子
    name_kana: ﾃﾞｰﾀ ﾊﾅｺ
    birth_date: 1985-05-05
    phone: "080-1111-2222"
    email: hanako@example.jp
    accounts:
      - branch: "001"
        number: "1234567"
        pin: "9999"
"""
    problem = only_problem(customer_yaml() + second)
    assert (problem.line, problem.column) == (19, 17)
    assert problem.field == "customers[1].accounts[0].number"
    assert "duplicate account 001-ordinary-1234567" in problem.message
    assert "customers[0].accounts[0]" in problem.message


def test_unknown_branch_is_a_consistency_problem() -> None:
    problem = only_problem(customer_yaml().replace('branch: "001"', 'branch: "009"'))
    assert (problem.line, problem.field) == (8, "customers[0].accounts[0].branch")
    assert "009" in problem.message


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


def test_empty_file_is_refused() -> None:
    # An empty PUT /_sandbox/scenario must not replace a bank with one that has nobody in it.
    for text in ("", "# only a comment\n", "{}\n"):
        problem = only_problem(text)
        assert (problem.line, problem.column) == (1, 1)
        assert "empty" in problem.message


def test_not_a_mapping() -> None:
    problem = only_problem("- 1\n- 2\n")
    assert "mapping" in problem.message


def test_load_scenario_from_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(customer_yaml(pin="0123"), encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert caught.value.problems[0].file == str(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read file"):
        load_scenario(tmp_path / "nope.yaml")


MIXED = """\
bank:
  code: "2011"
  branches:
    - {code: "001", name: a}
    - {code: "001", name: b}
clients:
  - {client_id: x, client_secret: "12345678", redirect_uris: ["https://a.example/cb"]}
customers:
  - id: c1
    name_kanji: 太郎
    name_kana: ﾀﾛｳ
    birth_date: "1980-13-01"
    phone: "090-1234-5678"
    email: a@example.jp
    accounts:
      - {branch: "001", number: "1234567", pin: 1234}
      - {branch: "009", number: "1234567", pin: "1234"}
  - id: c1
    name_kanji: 花子
    name_kana: ﾊﾅｺ
    birth_date: "1980-01-01"
    phone: "090-1234-5678"
    email: b@example.jp
    accounts:
      - {branch: "001", number: "1234567", pin: "1234"}
rules:
  - {on: identity, when: {client: nobody}, error: congestion}
"""


def test_type_errors_and_cross_field_problems_come_in_one_pass() -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario_text(MIXED, source="mixed.yaml")
    found = {(p.line, p.field) for p in caught.value.problems}
    assert found == {
        (5, "bank.branches[1].code"),
        (12, "customers[0].birth_date"),
        (16, "customers[0].accounts[0].pin"),
        (17, "customers[0].accounts[1].branch"),
        (18, "customers[1].id"),
        (25, "customers[1].accounts[0].number"),
        (27, "rules[0].when.client"),
    }


@pytest.mark.parametrize(
    ("uri", "needle"),
    [
        ("/callback", "absolute"),
        ("https://app.example/cb#frag", "fragment"),
        ("https://user@app.example/cb", "user info"),
        ("https:///cb", "absolute"),
    ],
)
def test_redirect_uris_must_be_absolute_without_fragment_or_userinfo(uri: str, needle: str) -> None:
    text = f"""\
clients:
  - client_id: a
    client_secret: "12345678"
    redirect_uris: ["{uri}"]
"""
    problem = only_problem(text)
    assert problem.line == 4
    assert problem.field.startswith("clients[0].redirect_uris")
    assert needle in problem.message


def test_app_scheme_redirect_uri_is_allowed() -> None:
    text = """\
clients:
  - client_id: a
    client_secret: "12345678"
    redirect_uris: ["com.example.budget:/oauth/cb", "http://127.0.0.1:8765/cb"]
"""
    assert load_scenario_text(text).clients[0].redirect_uris[0] == "com.example.budget:/oauth/cb"


def test_rule_window_must_be_ordered() -> None:
    text = """\
rules:
  - on: identity
    when: {after: "2026-11-25T11:00:00+09:00", before: "2026-11-25T10:00:00+09:00"}
    error: congestion
"""
    problem = only_problem(text)
    assert "before must be later than after" in problem.message


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
