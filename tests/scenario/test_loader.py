"""The scenario loader: YAML -> Scenario, with file:line:column for every problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandbox.scenario.loader import load_scenario, load_scenario_text, schema_text
from sandbox.scenario.problems import ScenarioError
from tests.scenario.problem_cases import customer_yaml, only_problem

ROOT = Path(__file__).resolve().parents[2]


def test_committed_schema_is_current() -> None:
    path = ROOT / "scenarios" / "schema.json"
    assert path.read_text(encoding="utf-8") == schema_text(), "run: sandbox schema -o " + str(path)
    assert json.loads(schema_text())["title"]


def test_valid_customer_text() -> None:
    scenario = load_scenario_text(customer_yaml())
    assert scenario.customers[0].accounts[0].balance == 100


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
