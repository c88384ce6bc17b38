"""Rule fields that can never apply to the rule's ``on:`` (warnings, not errors: the file is
valid, but the rule would never fire and nothing would say why)."""

from __future__ import annotations

from typing import Any

from sandbox.scenario.model import Loc

ENDPOINTS = ("accounts", "transactions", "term_deposits")  # what ``when.endpoint`` matches


def rule_warnings(data: Any) -> list[tuple[Loc, str]]:
    """``(where, why)`` for each rule condition that can never hold on its step."""
    rules = data.get("rules") if isinstance(data, dict) else None
    if not isinstance(rules, list):
        return []
    out: list[tuple[Loc, str]] = []
    for index, rule in enumerate(rules):
        if not isinstance(rule, dict) or not isinstance(rule.get("when"), dict):
            continue
        on, when = rule.get("on", "any"), rule["when"]
        where: Loc = ("rules", index, "when")
        endpoint = when.get("endpoint")
        if endpoint is not None and on not in ("api", "any"):
            out.append(
                (
                    (*where, "endpoint"),
                    f"when.endpoint only matches on: api, so this rule (on: {on}) never fires",
                )
            )
        elif isinstance(endpoint, str) and endpoint not in ENDPOINTS:
            out.append(
                (
                    (*where, "endpoint"),
                    f"no endpoint is called {endpoint!r}: use one of {', '.join(ENDPOINTS)}",
                )
            )
        if when.get("account") is not None and on == "authorize":
            out.append(
                (
                    (*where, "account"),
                    "at authorize no account is known yet, so this rule never fires "
                    "(use on: account, the step where it is entered)",
                )
            )
    return out
