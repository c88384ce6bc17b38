"""The rule engine of one bank: what a rule matches on, how often it fires, its counters."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sandbox.clock import JST
from sandbox.scenario.model import RuleModel, Scenario
from sandbox.scenario.rules import RuleContext
from sandbox.steps import Step
from sandbox.store import open_store
from sandbox.store.base import Store
from sandbox.tenant.rules import RuleEngine

NOON = datetime(2026, 11, 25, 12, 0, tzinfo=JST)
BANK = "2011"


def rule(**fields: Any) -> RuleModel:
    return RuleModel.model_validate({"error": "congestion", **fields})


def ctx(step: Step | str = Step.IDENTITY, **fields: Any) -> RuleContext:
    return RuleContext(step=Step(step), now=fields.pop("now", NOON), **fields)


async def fresh_store() -> Store:
    store = open_store("memory")
    await store.put_bank(BANK, Scenario(), "<test>")
    return store


async def engine_of(*rules: RuleModel, store: Store | None = None) -> RuleEngine:
    """An engine over a fresh bank's store (or ``store``): counters start at zero."""
    held = store if store is not None else await fresh_store()
    return RuleEngine(list(rules), held.tenant(BANK))


async def fired(engine: RuleEngine, context: RuleContext, calls: int = 1) -> list[bool]:
    return [await engine.match(context) is not None for _ in range(calls)]


# Matching ---------------------------------------------------------------------------


async def test_step_must_match_and_any_matches_every_step() -> None:
    engine = await engine_of(rule(on="identity"))
    assert await fired(engine, ctx("account")) == [False]
    assert await fired(engine, ctx("identity")) == [True]
    everywhere = await engine_of(rule(on="any"))
    for step in ("authorize", "account", "identity", "phone", "pin", "consent", "token", "api"):
        assert await fired(everywhere, ctx(step)) == [True], step


async def test_account_is_branch_dash_number() -> None:
    engine = await engine_of(rule(on="identity", when={"account": "001-1234567"}))
    assert await fired(engine, ctx(account="001-1234567")) == [True]
    assert await fired(engine, ctx(account="002-1234567")) == [False]
    assert await fired(engine, ctx(account=None)) == [False]


async def test_client_and_endpoint() -> None:
    engine = await engine_of(rule(on="api", when={"client": "app-1", "endpoint": "transactions"}))
    assert await fired(engine, ctx("api", client_id="app-1", endpoint="transactions")) == [True]
    assert await fired(engine, ctx("api", client_id="app-2", endpoint="transactions")) == [False]
    assert await fired(engine, ctx("api", client_id="app-1", endpoint="accounts")) == [False]


async def test_time_window_after_inclusive_before_exclusive_in_japan_time() -> None:
    engine = await engine_of(
        rule(
            on="identity",
            when={"after": "2026-11-25T12:00:00+09:00", "before": "2026-11-25T13:00:00+09:00"},
        )
    )
    assert await fired(engine, ctx(now=NOON - timedelta(seconds=1))) == [False]
    assert await fired(engine, ctx(now=NOON)) == [True]
    assert await fired(engine, ctx(now=NOON + timedelta(minutes=59, seconds=59))) == [True]
    assert await fired(engine, ctx(now=NOON + timedelta(hours=1))) == [False]
    # The same instant in UTC is the same instant.
    utc_noon_jst = datetime.fromisoformat("2026-11-25T03:00:00+00:00")
    assert await fired(engine, ctx(now=utc_noon_jst)) == [True]


async def test_first_matching_rule_wins_and_an_exhausted_one_steps_aside() -> None:
    engine = await engine_of(
        rule(on="identity", error="system_error", times="once"),
        rule(on="identity", error="congestion"),
    )
    first, second = await engine.match(ctx()), await engine.match(ctx())
    assert first is not None
    assert second is not None
    assert (first.error, first.rule_index) == ("system_error", 0)
    assert (second.error, second.rule_index) == ("congestion", 1)


async def test_effect_carries_fault_and_description() -> None:
    engine = await engine_of(
        RuleModel.model_validate(
            {"on": "pin", "fault": {"delay_ms": 5}, "description": "slow host"}
        )
    )
    effect = await engine.match(ctx("pin"))
    assert effect is not None
    assert effect.error is None
    assert effect.fault is not None
    assert effect.fault.delay_ms == 5
    assert effect.description == "slow host"


# How often ------------------------------------------------------------------------


async def test_times_once_n_and_always() -> None:
    assert await fired(await engine_of(rule(on="pin", times="once")), ctx("pin"), 3) == [
        True,
        False,
        False,
    ]
    assert await fired(await engine_of(rule(on="pin", times=2)), ctx("pin"), 4) == [
        True,
        True,
        False,
        False,
    ]
    assert await fired(await engine_of(rule(on="pin")), ctx("pin"), 5) == [True] * 5


async def test_nth_fires_from_the_nth_matching_call_up_to_times() -> None:
    once = await engine_of(rule(on="pin", when={"nth": 3}, times="once"))
    assert await fired(once, ctx("pin"), 5) == [False, False, True, False, False]
    always = await engine_of(rule(on="pin", when={"nth": 2}))
    assert await fired(always, ctx("pin"), 4) == [False, True, True, True]


async def test_nth_counts_only_calls_that_match() -> None:
    engine = await engine_of(rule(on="pin", when={"nth": 2, "account": "001-1234567"}, times=1))
    other, mine = ctx("pin", account="002-7654321"), ctx("pin", account="001-1234567")
    assert [await engine.match(c) is not None for c in (other, mine, other, other, mine)] == [
        False,
        False,
        False,
        False,
        True,
    ]


async def _sequence(seed: int, calls: int = 40) -> list[bool]:
    engine = await engine_of(rule(on="identity", when={"probability": 0.5}, seed=seed))
    return await fired(engine, ctx(), calls)


async def test_probability_is_reproducible_with_a_seed() -> None:
    first, second = await _sequence(7), await _sequence(7)
    assert first == second
    assert True in first
    assert False in first
    assert await _sequence(8) != first


async def test_probability_and_times_together_stop_after_the_limit() -> None:
    engine = await engine_of(rule(on="identity", when={"probability": 0.5}, seed=3, times=2))
    assert sum(await fired(engine, ctx(), 50)) == 2


# Counters, run-time rules, reset -----------------------------------------------------


async def test_describe_counts_matched_and_fired() -> None:
    engine = await engine_of(rule(on="pin", when={"nth": 2}, times="once"))
    await fired(engine, ctx("pin"), 4)
    await fired(engine, ctx("identity"), 2)  # other steps are not counted
    (described,) = await engine.describe()
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


async def test_runtime_rules_come_after_scenario_rules_and_reset_drops_them() -> None:
    store = await fresh_store()
    engine = await engine_of(rule(on="pin", times="once"), store=store)
    index = await engine.add(rule(on="identity", error="system_error"))
    assert index == 1
    assert [r["runtime"] for r in await engine.describe()] == [False, True]
    assert [r.on for r in await engine.all()] == [Step.PIN, Step.IDENTITY]
    await fired(engine, ctx("pin"))
    await store.reset_bank(BANK)  # a reset is a fresh store state
    (only,) = await engine.describe()
    assert (only["matched"], only["fired"], only["exhausted"]) == (0, 0, False)
    assert await fired(engine, ctx("identity")) == [False]
    assert await fired(engine, ctx("pin")) == [True]  # the scenario's once-rule is armed again


async def test_clear_runtime_keeps_scenario_rules_and_their_counters() -> None:
    engine = await engine_of(rule(on="pin"))
    await engine.add(rule(on="identity"))
    await fired(engine, ctx("pin"), 2)
    await fired(engine, ctx("identity"))
    await engine.clear_runtime()
    (only,) = await engine.describe()
    assert only["fired"] == 2
    # A rule armed after the clear starts with fresh counters at the freed index.
    assert await engine.add(rule(on="identity", times="once")) == 1
    assert await fired(engine, ctx("identity"), 2) == [True, False]


async def test_reset_restarts_the_random_stream() -> None:
    store = await fresh_store()
    engine = await engine_of(rule(on="identity", when={"probability": 0.3}, seed=11), store=store)
    before = await fired(engine, ctx(), 30)
    await store.reset_bank(BANK)
    assert await fired(engine, ctx(), 30) == before
    # A fresh engine on a fresh store draws the same sequence too.
    again = await engine_of(rule(on="identity", when={"probability": 0.3}, seed=11))
    assert await fired(again, ctx(), 30) == before
