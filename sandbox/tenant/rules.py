"""Scenario rules plus rules armed at run time, with their counters in the store."""

from __future__ import annotations

from sandbox.domain.records import RuleCount
from sandbox.scenario import rules
from sandbox.scenario.model import RuleModel
from sandbox.scenario.rules import Effect, RuleContext
from sandbox.store.base import RuleStore


class RuleEngine:
    """The first rule that applies and may still fire decides; counters live in the store."""

    def __init__(self, scenario_rules: list[RuleModel], store: RuleStore) -> None:
        self._scenario_rules = list(scenario_rules)
        self._store = store

    async def all(self) -> list[RuleModel]:
        return self._scenario_rules + await self._store.runtime_rules()

    async def add(self, rule: RuleModel) -> int:
        """Arm a run-time rule (cleared by reset); returns its index."""
        return len(self._scenario_rules) + await self._store.add_rule(rule) - 1

    async def clear_runtime(self) -> None:
        """Drop the rules added at run time, keep the scenario's."""
        await self._store.clear_runtime_rules(len(self._scenario_rules))

    async def match(self, ctx: RuleContext) -> Effect | None:
        """The effect of the first rule that matches and may still fire, if any."""
        return await self.match_among(await self.all(), ctx)

    async def match_among(self, armed: list[RuleModel], ctx: RuleContext) -> Effect | None:
        """``match`` over the rules ``all()`` answered (read once by the caller)."""
        for index, rule in enumerate(armed):
            if not rules.applies(rule, ctx):
                continue

            def decide(
                count: RuleCount, rule: RuleModel = rule, index: int = index
            ) -> tuple[RuleCount, bool]:
                return rules.decide(rule, index, count)

            if await self._store.update_rule_count(index, decide):
                return Effect(index, rule.error, rule.fault, rule.description)
        return None

    async def describe(self) -> list[dict[str, object]]:
        """Rules with their counters, for the control API."""
        counts = await self._store.rule_counts()
        out: list[dict[str, object]] = []
        for i, rule in enumerate(await self.all()):
            count = counts.get(i, RuleCount())
            out.append(
                {
                    "index": i,
                    "runtime": i >= len(self._scenario_rules),
                    "rule": rule.model_dump(mode="json", exclude_defaults=True),
                    "matched": count.matched,
                    "fired": count.fired,
                    "exhausted": rules.exhausted(rule, count),
                }
            )
        return out
