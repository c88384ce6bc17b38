"""Rule conditions that can never hold on their step are warned about, with line:column."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.__main__ import main
from sandbox.scenario.loader import scenario_warnings

TEXT = """name: w
bank: {code: "2011"}
rules:
  - on: identity
    when: {endpoint: transactions}
    error: congestion
  - on: authorize
    when:
      account: "001-1234567"
    error: congestion
  - on: api
    when: {endpoint: transaction}
    error: congestion
  - on: api
    when: {endpoint: transactions, account: "001-1234567"}
    error: congestion
"""


def test_each_rule_that_can_never_fire_is_named_with_its_place() -> None:
    warnings = scenario_warnings(TEXT, "w.yaml")
    assert [(w.line, w.column, w.field) for w in warnings] == [
        (5, 12, "rules[0].when.endpoint"),
        (9, 7, "rules[1].when.account"),
        (12, 12, "rules[2].when.endpoint"),
    ]
    assert "only matches on: api" in warnings[0].message
    assert "use one of accounts, transactions, term_deposits" in warnings[2].message


def test_validate_prints_the_warnings_and_still_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(TEXT, encoding="utf-8")
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.count("warning: ") == 3
    assert f"warning: {path}:9:7: rules[1].when.account" in out
