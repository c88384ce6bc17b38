"""Scenario rules: when a step or endpoint matches, answer with a catalog error or a fault."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from datetime import datetime

from sandbox.clock import to_jst
from sandbox.scenario.model import Fault, RuleModel


@dataclass(frozen=True, slots=True)
class RuleContext:
    """What a request is about, as far as rules care."""

    step: str  # authorize, account, identity, phone, pin, consent, token, api
    now: datetime
    endpoint: str | None = None  # e.g. "accounts", "transactions", "term_deposits"
    account: str | None = None  # "branch-number", e.g. "001-1234567"
    client_id: str | None = None


@dataclass(frozen=True, slots=True)
class Effect:
    """What a matching rule makes the sandbox do."""

    rule_index: int
    error: str | None
    fault: Fault | None
    description: str


class _Armed:
    """A rule with its counters."""

    def __init__(self, rule: RuleModel) -> None:
        self.rule = rule
        self.matched = 0
        self.fired = 0
        self.random = random.Random(rule.seed)

    @property
    def limit(self) -> int | None:
        times = self.rule.times
        if times == "always":
            return None
        return 1 if times == "once" else int(times)


class RuleEngine:
    """Scenario rules plus rules added at run time; first matching rule wins."""

    def __init__(self, rules: list[RuleModel]) -> None:
        self._lock = threading.Lock()
        self._scenario_rules = list(rules)
        self._armed = [_Armed(r) for r in self._scenario_rules]

    def add(self, rule: RuleModel) -> int:
        """Arm a run-time rule (cleared by reset); returns its index."""
        with self._lock:
            self._armed.append(_Armed(rule))
            return len(self._armed) - 1

    def clear_runtime(self) -> None:
        """Drop the rules added at run time, keep the scenario's."""
        with self._lock:
            del self._armed[len(self._scenario_rules) :]

    def reset(self) -> None:
        """Scenario rules only, with fresh counters and random streams."""
        with self._lock:
            self._armed = [_Armed(r) for r in self._scenario_rules]

    def match(self, ctx: RuleContext) -> Effect | None:
        """The effect of the first rule that matches and may still fire, if any."""
        with self._lock:
            for index, armed in enumerate(self._armed):
                if not _applies(armed.rule, ctx):
                    continue
                limit = armed.limit
                if limit is not None and armed.fired >= limit:
                    continue
                armed.matched += 1
                when = armed.rule.when
                if when.nth is not None and armed.matched < when.nth:
                    continue
                if when.probability is not None and armed.random.random() >= when.probability:
                    continue
                armed.fired += 1
                rule = armed.rule
                return Effect(index, rule.error, rule.fault, rule.description)
        return None

    def describe(self) -> list[dict[str, object]]:
        """Rules with their counters, for the control API."""
        with self._lock:
            return [
                {
                    "index": i,
                    "runtime": i >= len(self._scenario_rules),
                    "rule": a.rule.model_dump(mode="json", exclude_defaults=True),
                    "matched": a.matched,
                    "fired": a.fired,
                    "exhausted": a.limit is not None and a.fired >= a.limit,
                }
                for i, a in enumerate(self._armed)
            ]


def _applies(rule: RuleModel, ctx: RuleContext) -> bool:
    """Whether the rule's step and static conditions hold (not nth/probability)."""
    if rule.on != "any" and rule.on != ctx.step:
        return False
    when = rule.when
    if when.account is not None and when.account != ctx.account:
        return False
    if when.client is not None and when.client != ctx.client_id:
        return False
    if when.endpoint is not None and when.endpoint != ctx.endpoint:
        return False
    now = to_jst(ctx.now)
    if when.after is not None and now < to_jst(when.after):
        return False
    return not (when.before is not None and now >= to_jst(when.before))
