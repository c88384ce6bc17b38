"""YAML -> Scenario; every problem carries file:line:column and a dotted field path."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from sandbox.scenario.consistency import consistency_problems
from sandbox.scenario.model import Scenario, json_schema
from sandbox.scenario.problems import Problem, ScenarioError, dotted
from sandbox.scenario.pydantic_problems import pydantic_problems
from sandbox.scenario.rule_warnings import rule_warnings
from sandbox.scenario.yaml_source import MAX_NODES, parse


def load_scenario_text(text: str, source: str = "<string>", max_nodes: int = MAX_NODES) -> Scenario:
    """Parse and validate scenario YAML; raise ScenarioError listing every problem."""
    data, positions = parse(text, source, max_nodes)
    problems = [
        Problem(source, *mark, dotted(loc), f"duplicate key {loc[-1]!r} (YAML keeps only the last)")
        for loc, mark in positions.duplicates
    ]
    if not isinstance(data, dict):
        line, column = positions.values.get((), (1, 1))
        problems.append(Problem(source, line, column, "", "a scenario must be a YAML mapping"))
        raise ScenarioError(problems)
    if not data:
        problems.append(
            Problem(
                source,
                1,
                1,
                "",
                "the scenario is empty: give at least bank, clients and "
                "customers (or generate); see scenarios/default.yaml",
            )
        )
        raise ScenarioError(problems)
    for loc, message in consistency_problems(data):
        line, column = positions.mark_of(loc, key=False)
        problems.append(Problem(source, line, column, dotted(loc), message))
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        problems += pydantic_problems(exc.errors(), data, positions, source)
        raise ScenarioError(problems) from None
    if problems:
        raise ScenarioError(problems)
    return scenario


def load_scenario(path: str | Path) -> Scenario:
    """Load and validate a scenario file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError([Problem(str(path), 1, 1, "", f"cannot read file: {exc}")]) from None
    return load_scenario_text(text, source=str(path))


def scenario_warnings(text: str, source: str = "<string>") -> list[Problem]:
    """What a valid scenario holds that can never take effect (rule conditions that never
    apply to their step), each with line:column."""
    data, positions = parse(text, source)
    warnings = []
    for loc, message in rule_warnings(data):
        line, column = positions.mark_of(loc, key=True)
        warnings.append(Problem(source, line, column, dotted(loc), message))
    return warnings


def schema_text() -> str:
    """scenarios/schema.json as committed: the model's JSON Schema, 2-space indented."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
