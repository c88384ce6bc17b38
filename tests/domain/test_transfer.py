"""移管 planning: where an account moves to."""

from __future__ import annotations

import pytest

from sandbox.domain import transfer
from sandbox.domain.bank import AccountType
from sandbox.domain.directory import Directory
from sandbox.errors import SandboxError
from tests.domain.customers import customer


def test_plan_transfer_defaults_to_next_branch_and_a_free_number() -> None:
    c = customer()
    directory = Directory([c])
    branch, number = transfer.plan_transfer(directory, ["001", "002", "003"], c.accounts[0], {})
    assert branch == "002"
    assert len(number) == 7
    assert number.isdigit()
    assert directory.find_account(branch, AccountType.ORDINARY, number) is None
    again = transfer.plan_transfer(directory, ["001", "002", "003"], c.accounts[0], {})
    assert again == (branch, number)
    last = transfer.plan_transfer(directory, ["001", "002"], c.accounts[1], {})
    assert last[0] == "001"


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"branch_code": "9"}, "3-digit"),
        ({"branch_code": 2}, "3-digit"),
        ({"account_number": "12345678"}, "7-digit"),
        ({"branch_code": "009"}, "not a branch"),
        ({"branch_code": "001", "account_number": "1234567"}, "equals the current"),
        ({"branch_code": "002", "account_number": "7654321"}, "already exists"),
        ({"branch": "002"}, "unknown field"),
    ],
)
def test_plan_transfer_rejects_bad_targets(body: dict[str, object], needle: str) -> None:
    c = customer()
    c.accounts[1].account_type = AccountType.ORDINARY  # make 002-ordinary-7654321 taken
    directory = Directory([c])
    with pytest.raises(SandboxError) as info:
        transfer.plan_transfer(directory, ["001", "002"], c.accounts[0], body)
    assert info.value.code == "invalid_parameter"
    assert needle in info.value.detail
