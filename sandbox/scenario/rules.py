"""Scenario rules as pure functions: does a rule apply, and does it fire this time.

A rule's whole state is a :class:`~sandbox.domain.records.RuleCount` (matched, fired);
a probability draw is a function of (seed, rule index, match count), so it needs no
random stream that lives in a process.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sandbox.clock import to_jst
from sandbox.copies import replace
from sandbox.domain.records import RuleCount
from sandbox.scenario.model import Fault, RuleModel
from sandbox.steps import Step


@dataclass(frozen=True, slots=True)
class RuleContext:
    """What a request is about, as far as rules care."""

    step: Step  # authorize, account, identity, phone, pin, consent, token, api
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


def limit(rule: RuleModel) -> int | None:
    """How often the rule may fire (None: always)."""
    if rule.times == "always":
        return None
    return 1 if rule.times == "once" else int(rule.times)


def exhausted(rule: RuleModel, count: RuleCount) -> bool:
    most = limit(rule)
    return most is not None and count.fired >= most


def applies(rule: RuleModel, ctx: RuleContext) -> bool:
    """Whether the rule's step and static conditions hold (not nth/probability)."""
    if rule.on != Step.ANY and rule.on != ctx.step:
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


def draw(seed: int, index: int, match: int) -> float:
    """A number in [0, 1), the same for the same (seed, rule index, match count)."""
    digest = hashlib.sha256(f"{seed}:{index}:{match}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def decide(rule: RuleModel, index: int, count: RuleCount) -> tuple[RuleCount, bool]:
    """One applicable request: the new count, and whether the rule fires for it."""
    if exhausted(rule, count):
        return count, False
    matched = replace(count, matched=count.matched + 1)
    when = rule.when
    if when.nth is not None and matched.matched < when.nth:
        return matched, False
    if when.probability is not None and draw(rule.seed, index, matched.matched) >= (
        when.probability
    ):
        return matched, False
    return replace(matched, fired=matched.fired + 1), True
