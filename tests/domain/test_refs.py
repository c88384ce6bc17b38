"""Account refs and opaque account_ids."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sandbox.clock import JST
from sandbox.domain import refs
from sandbox.domain.bank import AccountType
from sandbox.domain.directory import Directory, account_ref
from sandbox.domain.ledger import Ledger
from tests.domain.customers import customer

NOW = datetime(2026, 11, 25, 10, 0, 5, 123456, tzinfo=JST)


def test_account_id_is_stable_opaque_and_bank_specific() -> None:
    ref = "001-ordinary-1234567"
    expected = hashlib.sha256(b"2011:001-ordinary-1234567").hexdigest()[:20]
    assert refs.account_id("2011", ref) == expected
    assert refs.account_id("2012", ref) != expected
    assert refs.looks_like_id(expected)
    assert not refs.looks_like_id(ref)


def test_parse_ref_round_trips_and_rejects_garbage() -> None:
    assert refs.parse_ref("002-savings-7654321") == ("002", AccountType.SAVINGS, "7654321")
    for bad in ["", "001-ordinary-123456", "001-fixed-1234567", "００１-ordinary-1234567"]:
        assert refs.parse_ref(bad) is None


def test_directory_transfer_moves_account_and_keeps_its_history() -> None:
    c = customer()
    directory = Directory([c])
    old = c.accounts[0]
    new = directory.transfer(c, old, "003", "7777777")
    assert old.transferred_to == ("003", "7777777")
    assert not old.eligible
    assert new.eligible
    assert (new.pin, new.balance, new.account_type) == (old.pin, old.balance, old.account_type)
    assert directory.find_account("003", AccountType.ORDINARY, "7777777") == (c, new)
    assert directory.ledger_seed(new) == account_ref(old) == directory.ledger_seed(old)
    newer = directory.transfer(c, new, "001", "8888888")
    assert directory.ledger_seed(newer) == account_ref(old)
    ledger = Ledger(0)
    anchor = datetime(2026, 11, 1, tzinfo=JST)
    assert ledger.balance_at(directory.ledger_seed(newer), newer.balance, anchor, NOW) == (
        ledger.balance_at(account_ref(old), old.balance, anchor, NOW)
    )


def test_a_string_too_long_for_a_ref_is_refused_and_not_remembered() -> None:
    before = refs._parse_ref.cache_info().currsize
    assert refs.parse_ref("001-ordinary-1234567" + "x" * 8000) is None
    assert refs._parse_ref.cache_info().currsize == before
    assert refs.parse_ref("001-savings-7654321") is not None
