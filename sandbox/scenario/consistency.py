"""Cross-field checks of a scenario, on the raw YAML data.

They run on the plain data, not the validated model, so that `sandbox validate` reports
duplicate accounts or unknown branches in the same pass as type errors. Values of the
wrong type are skipped here: the model's validation reports those.
"""

from __future__ import annotations

from typing import Any

from sandbox.scenario.model import BankModel, Loc

_DEFAULT_BRANCHES = [b.code for b in BankModel().branches]


def _items(data: Any, key: str) -> list[tuple[int, dict[str, Any]]]:
    """The mappings of the list ``data[key]``, with their indexes."""
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]


def _branches(data: dict[str, Any]) -> list[str]:
    bank = data.get("bank")
    if not isinstance(bank, dict) or "branches" not in bank:
        return _DEFAULT_BRANCHES
    return [b["code"] for _, b in _items(bank, "branches") if isinstance(b.get("code"), str)]


def _first_use(
    seen: dict[Any, Loc], key: Any, where: Loc, problems: list[tuple[Loc, str]], what: str
) -> None:
    """Record ``key`` at ``where``, or a problem naming where it was first used."""
    if key in seen:
        problems.append((where, f"{what} (already at {dotted(seen[key])})"))
    else:
        seen[key] = where


def consistency_problems(data: dict[str, Any]) -> list[tuple[Loc, str]]:
    """Cross-field problems a field validator cannot see, each with its field path."""
    problems: list[tuple[Loc, str]] = []
    bank = data.get("bank")
    branch_seen: dict[Any, Loc] = {}
    for i, entry in _items(bank if isinstance(bank, dict) else {}, "branches"):
        code = entry.get("code")
        if isinstance(code, str):
            where: Loc = ("bank", "branches", i, "code")
            _first_use(branch_seen, code, where, problems, f"branch code {code} is listed twice")
    branches = sorted(set(_branches(data)))
    ids: dict[Any, Loc] = {}
    accounts: dict[Any, Loc] = {}
    for ci, customer in _items(data, "customers"):
        cid = customer.get("id")
        if isinstance(cid, str):
            _first_use(
                ids, cid, ("customers", ci, "id"), problems, f"customer id {cid!r} is used twice"
            )
        for ai, account in _items(customer, "accounts"):
            where = ("customers", ci, "accounts", ai)
            branch, number = account.get("branch"), account.get("number")
            kind = account.get("type", "ordinary")
            if isinstance(branch, str) and branch not in branches:
                problems.append(
                    ((*where, "branch"), f"branch {branch} is not one of bank.branches {branches}")
                )
            if isinstance(branch, str) and isinstance(number, str) and isinstance(kind, str):
                _first_use(
                    accounts,
                    (branch, kind, number),
                    (*where, "number"),
                    problems,
                    f"duplicate account {branch}-{kind}-{number}",
                )
    clients: dict[Any, Loc] = {}
    for i, registered in _items(data, "clients"):
        cid = registered.get("client_id")
        if isinstance(cid, str):
            where = ("clients", i, "client_id")
            _first_use(clients, cid, where, problems, f"client_id {cid!r} is listed twice")
    for i, rule in _items(data, "rules"):
        when = rule.get("when")
        client = when.get("client") if isinstance(when, dict) else None
        if isinstance(client, str) and client not in clients:
            problems.append(
                (
                    ("rules", i, "when", "client"),
                    f"unknown client {client!r}; known: {list(clients)}",
                )
            )
    return problems


def dotted(loc: Loc) -> str:
    """``customers[0].accounts[1].pin`` from its parts."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
