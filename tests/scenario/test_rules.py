"""Scenario rules: what a valid rule is, and the pure rules of matching and firing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from pydantic import ValidationError

from sandbox.clock import JST
from sandbox.domain.records import RuleCount
from sandbox.scenario.model import RuleModel
from sandbox.scenario.rules import RuleContext, applies, decide, draw, exhausted, limit
from sandbox.steps import Step

NOON = datetime(2026, 11, 25, 12, 0, tzinfo=JST)


def rule(**fields: Any) -> RuleModel:
    return RuleModel.model_validate({"error": "congestion", **fields})


# The pure rules (the engine over the store is tested in tests/tenant/test_rules.py) ----


def test_on_is_a_step_and_strings_validate() -> None:
    assert rule(on="identity").on is Step.IDENTITY
    assert rule(on=Step.API).on is Step.API
    assert applies(rule(on="identity"), RuleContext(step=Step.IDENTITY, now=NOON))
    assert not applies(rule(on="identity"), RuleContext(step=Step.PIN, now=NOON))
    assert applies(rule(on="any"), RuleContext(step=Step.TOKEN, now=NOON))


def test_limit_and_exhausted() -> None:
    assert [limit(rule(on="pin", times=t)) for t in ("once", 3, "always")] == [1, 3, None]
    assert exhausted(rule(on="pin", times=2), RuleCount(matched=5, fired=2))
    assert not exhausted(rule(on="pin", times=2), RuleCount(matched=5, fired=1))
    assert not exhausted(rule(on="pin"), RuleCount(matched=99, fired=99))


def test_decide_counts_matches_and_fires() -> None:
    nth = rule(on="pin", when={"nth": 2}, times="once")
    count, fires = decide(nth, 0, RuleCount())
    assert (count, fires) == (RuleCount(matched=1, fired=0), False)
    count, fires = decide(nth, 0, count)
    assert (count, fires) == (RuleCount(matched=2, fired=1), True)
    # An exhausted rule no longer counts matches.
    assert decide(nth, 0, count) == (count, False)


def test_draw_is_a_function_of_seed_index_and_match() -> None:
    values = [draw(7, 0, m) for m in range(1, 41)]
    assert values == [draw(7, 0, m) for m in range(1, 41)]
    assert all(0 <= v < 1 for v in values)
    assert values != [draw(8, 0, m) for m in range(1, 41)]
    assert values != [draw(7, 1, m) for m in range(1, 41)]


# Validation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"on": "identity", "error": "no_such_error"}, "error"),
        ({"on": "identity", "error": "not_found"}, "error"),  # in the catalog, not injectable
        ({"on": "identity"}, ""),  # no effect
        ({"on": "somewhere", "error": "congestion"}, "on"),
        ({"on": "identity", "error": "congestion", "times": 0}, "times"),
        ({"on": "identity", "error": "congestion", "times": "twice"}, "times"),
        ({"on": "identity", "error": "congestion", "when": {"nth": 0}}, "when"),
        ({"on": "identity", "error": "congestion", "when": {"account": "1234567"}}, "when"),
        ({"on": "identity", "error": "congestion", "when": {"probability": 1.5}}, "when"),
        ({"on": "identity", "error": "congestion", "fault": {"delay_ms": -1}}, "fault"),
        ({"on": "identity", "error": "congestion", "colour": "red"}, "colour"),
    ],
)
def test_invalid_rules_are_refused(fields: dict[str, Any], where: str) -> None:
    with pytest.raises(ValidationError) as info:
        RuleModel.model_validate(fields)
    locations = [".".join(str(p) for p in e["loc"]) for e in info.value.errors()]
    assert any(loc.startswith(where) for loc in locations), locations
