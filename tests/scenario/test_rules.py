"""The rule engine: what a rule matches on, how often it fires, and its counters."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from sandbox.clock import JST
from sandbox.scenario.model import RuleModel
from sandbox.scenario.rules import RuleContext, RuleEngine

NOON = datetime(2026, 11, 25, 12, 0, tzinfo=JST)


def rule(**fields: Any) -> RuleModel:
    return RuleModel.model_validate({"error": "congestion", **fields})


def ctx(step: str = "identity", **fields: Any) -> RuleContext:
    return RuleContext(step=step, now=fields.pop("now", NOON), **fields)


def fired(engine: RuleEngine, context: RuleContext, calls: int = 1) -> list[bool]:
    return [engine.match(context) is not None for _ in range(calls)]


# Matching ---------------------------------------------------------------------------


def test_step_must_match_and_any_matches_every_step() -> None:
    engine = RuleEngine([rule(on="identity")])
    assert fired(engine, ctx("account")) == [False]
    assert fired(engine, ctx("identity")) == [True]
    everywhere = RuleEngine([rule(on="any")])
    for step in ("authorize", "account", "identity", "phone", "pin", "consent", "token", "api"):
        assert fired(everywhere, ctx(step)) == [True], step


def test_account_is_branch_dash_number() -> None:
    engine = RuleEngine([rule(on="identity", when={"account": "001-1234567"})])
    assert fired(engine, ctx(account="001-1234567")) == [True]
    assert fired(engine, ctx(account="002-1234567")) == [False]
    assert fired(engine, ctx(account=None)) == [False]


def test_client_and_endpoint() -> None:
    engine = RuleEngine(
        [rule(on="api", when={"client": "app-1", "endpoint": "transactions"})],
    )
    assert fired(engine, ctx("api", client_id="app-1", endpoint="transactions")) == [True]
    assert fired(engine, ctx("api", client_id="app-2", endpoint="transactions")) == [False]
    assert fired(engine, ctx("api", client_id="app-1", endpoint="accounts")) == [False]


def test_time_window_after_inclusive_before_exclusive_in_japan_time() -> None:
    engine = RuleEngine(
        [
            rule(
                on="identity",
                when={"after": "2026-11-25T12:00:00+09:00", "before": "2026-11-25T13:00:00+09:00"},
            )
        ]
    )
    assert fired(engine, ctx(now=NOON - timedelta(seconds=1))) == [False]
    assert fired(engine, ctx(now=NOON)) == [True]
    assert fired(engine, ctx(now=NOON + timedelta(minutes=59, seconds=59))) == [True]
    assert fired(engine, ctx(now=NOON + timedelta(hours=1))) == [False]
    # The same instant in UTC is the same instant.
    utc_noon_jst = datetime.fromisoformat("2026-11-25T03:00:00+00:00")
    assert fired(engine, ctx(now=utc_noon_jst)) == [True]


def test_first_matching_rule_wins_and_an_exhausted_one_steps_aside() -> None:
    engine = RuleEngine(
        [
            rule(on="identity", error="system_error", times="once"),
            rule(on="identity", error="congestion"),
        ]
    )
    first, second = engine.match(ctx()), engine.match(ctx())
    assert first is not None
    assert second is not None
    assert (first.error, first.rule_index) == ("system_error", 0)
    assert (second.error, second.rule_index) == ("congestion", 1)


def test_effect_carries_fault_and_description() -> None:
    engine = RuleEngine(
        [
            RuleModel.model_validate(
                {"on": "pin", "fault": {"delay_ms": 5}, "description": "slow host"}
            )
        ]
    )
    effect = engine.match(ctx("pin"))
    assert effect is not None
    assert effect.error is None
    assert effect.fault is not None
    assert effect.fault.delay_ms == 5
    assert effect.description == "slow host"


# How often ------------------------------------------------------------------------


def test_times_once_n_and_always() -> None:
    assert fired(RuleEngine([rule(on="pin", times="once")]), ctx("pin"), 3) == [
        True,
        False,
        False,
    ]
    assert fired(RuleEngine([rule(on="pin", times=2)]), ctx("pin"), 4) == [
        True,
        True,
        False,
        False,
    ]
    assert fired(RuleEngine([rule(on="pin")]), ctx("pin"), 5) == [True] * 5


def test_nth_fires_from_the_nth_matching_call_up_to_times() -> None:
    once = RuleEngine([rule(on="pin", when={"nth": 3}, times="once")])
    assert fired(once, ctx("pin"), 5) == [False, False, True, False, False]
    always = RuleEngine([rule(on="pin", when={"nth": 2})])
    assert fired(always, ctx("pin"), 4) == [False, True, True, True]


def test_nth_counts_only_calls_that_match() -> None:
    engine = RuleEngine([rule(on="pin", when={"nth": 2, "account": "001-1234567"}, times=1)])
    other, mine = ctx("pin", account="002-7654321"), ctx("pin", account="001-1234567")
    assert [engine.match(c) is not None for c in (other, mine, other, other, mine)] == [
        False,
        False,
        False,
        False,
        True,
    ]


def _sequence(seed: int, calls: int = 40) -> list[bool]:
    engine = RuleEngine([rule(on="identity", when={"probability": 0.5}, seed=seed)])
    return fired(engine, ctx(), calls)


def test_probability_is_reproducible_with_a_seed() -> None:
    first, second = _sequence(7), _sequence(7)
    assert first == second
    assert True in first
    assert False in first
    assert _sequence(8) != first


def test_probability_and_times_together_stop_after_the_limit() -> None:
    engine = RuleEngine([rule(on="identity", when={"probability": 0.5}, seed=3, times=2)])
    assert sum(fired(engine, ctx(), 50)) == 2


# Counters, run-time rules, reset -----------------------------------------------------


def test_describe_counts_matched_and_fired() -> None:
    engine = RuleEngine([rule(on="pin", when={"nth": 2}, times="once")])
    fired(engine, ctx("pin"), 4)
    fired(engine, ctx("identity"), 2)  # other steps are not counted
    (described,) = engine.describe()
    assert described["matched"] == 2
    assert described["fired"] == 1
    assert described["exhausted"] is True
    assert described["runtime"] is False
    assert described["rule"] == {
        "on": "pin",
        "when": {"nth": 2},
        "error": "congestion",
        "times": "once",
    }


def test_runtime_rules_come_after_scenario_rules_and_reset_drops_them() -> None:
    engine = RuleEngine([rule(on="pin", times="once")])
    index = engine.add(rule(on="identity", error="system_error"))
    assert index == 1
    assert [r["runtime"] for r in engine.describe()] == [False, True]
    fired(engine, ctx("pin"))
    engine.reset()
    (only,) = engine.describe()
    assert (only["matched"], only["fired"], only["exhausted"]) == (0, 0, False)
    assert fired(engine, ctx("identity")) == [False]
    assert fired(engine, ctx("pin")) == [True]  # the scenario's once-rule is armed again


def test_clear_runtime_keeps_scenario_rules_and_their_counters() -> None:
    engine = RuleEngine([rule(on="pin")])
    engine.add(rule(on="identity"))
    fired(engine, ctx("pin"), 2)
    engine.clear_runtime()
    (only,) = engine.describe()
    assert only["fired"] == 2


def test_reset_restarts_the_random_stream() -> None:
    engine = RuleEngine([rule(on="identity", when={"probability": 0.3}, seed=11)])
    before = fired(engine, ctx(), 30)
    engine.reset()
    assert fired(engine, ctx(), 30) == before


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
