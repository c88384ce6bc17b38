"""The generated population: lazy, deterministic, valid Japanese customers."""

from __future__ import annotations

import re
import unicodedata

import pytest

from sandbox.domain.bank import AccountType, Customer, is_valid_phone
from sandbox.scenario.generate import NUMBER_SPACE, GeneratedPopulation

BRANCHES = ["001", "002", "003"]
HALF_WIDTH_KANA = re.compile(r"^[\uff66-\uff9f]+ [\uff66-\uff9f]+$")
EMAIL = re.compile(r"^[a-z0-9._]+@(example\.jp|example\.com|mail\.example\.jp|example\.co\.jp)$")


def snapshot(customer: Customer) -> tuple[object, ...]:
    account = customer.accounts[0]
    return (
        customer.customer_id,
        customer.name_kanji,
        customer.name_kana,
        customer.birth_date,
        customer.phone,
        customer.email,
        account.key,
        account.pin,
        account.balance,
        account.time_deposits,
    )


def test_same_seed_same_customers() -> None:
    first = GeneratedPopulation(500, 7, BRANCHES)
    second = GeneratedPopulation(500, 7, BRANCHES)
    assert [snapshot(c) for c in first.sample(50)] == [snapshot(c) for c in second.sample(50)]
    assert snapshot(first.customer(499)) == snapshot(second.customer(499))


def test_different_seed_different_customers() -> None:
    one = [snapshot(c)[1:] for c in GeneratedPopulation(50, 1, BRANCHES).sample(50)]
    two = [snapshot(c)[1:] for c in GeneratedPopulation(50, 2, BRANCHES).sample(50)]
    assert one != two
    assert sum(a[5] == b[5] for a, b in zip(one, two, strict=True)) < 5  # account keys


def test_large_population_has_its_count() -> None:
    # How fast it is set up (customers are computed on demand): bench/startup.py.
    population = GeneratedPopulation(100_000, 1, BRANCHES)
    assert len(population) == 100_000


def test_lookup_round_trip_100k() -> None:
    population = GeneratedPopulation(100_000, 1, BRANCHES)
    for index in [*range(0, 100_000, 97), 99_999]:
        customer = population.customer(index)
        assert customer.customer_id == f"g1-{index}"
        found = population.find_account(*customer.accounts[0].key)
        assert found is not None
        assert found[0].customer_id == customer.customer_id
        assert found[1] is customer.accounts[0]
        assert population.get_customer(customer.customer_id) is customer


def test_a_remembered_lookup_answers_as_a_fresh_one() -> None:
    # Lookups are remembered (a linkage makes nine); past the cache's size they are made
    # again, with the same answers, misses included.
    population = GeneratedPopulation(1_000, 4, BRANCHES, cache_size=8)
    keys = [population.customer(i).accounts[0].key for i in range(40)]
    first = [population.find_account(*key) for key in keys]
    again = [population.find_account(*key) for key in reversed(keys)][::-1]
    assert all(found is not None for found in first)
    assert [(f[0].customer_id, f[1].key) for f in first if f] == [
        (f[0].customer_id, f[1].key) for f in again if f
    ]
    assert len([f for f in again if f]) == len(keys)
    missing = (keys[0][0], keys[0][1], "0000000" if keys[0][2] != "0000000" else "0000001")
    assert population.find_account(*missing) == population.find_account(*missing)


def test_account_numbers_are_distinct() -> None:
    population = GeneratedPopulation(20_000, 3, BRANCHES, cache_size=16)
    numbers = {population._slot_key(population._slot_for(i))[2] for i in range(20_000)}
    assert len(numbers) == 20_000
    assert all(len(n) == 7 and n.isdigit() for n in numbers)


def test_unknown_accounts_and_ids() -> None:
    population = GeneratedPopulation(100, 1, BRANCHES)
    key = population.customer(0).accounts[0].key
    other_type = AccountType.CURRENT
    assert population.find_account(key[0], other_type, key[2]) is None
    assert population.find_account("999", key[1], key[2]) is None
    assert population.find_account(key[0], key[1], "12345") is None
    assert population.find_account(key[0], key[1], "abcdefg") is None
    for bad in ("g1-100", "g1--1", "g1-01", "g2-0", "c1", "g1-", "g1-x"):
        assert population.get_customer(bad) is None


def test_customers_beyond_count_are_not_found() -> None:
    big = GeneratedPopulation(200, 1, BRANCHES)
    small = GeneratedPopulation(100, 1, BRANCHES)
    key = big.customer(150).accounts[0].key
    assert small.find_account(*key) is None


def test_reserved_accounts_are_skipped() -> None:
    plain = GeneratedPopulation(100, 5, BRANCHES)
    taken = [plain.customer(i).accounts[0].key for i in (0, 10, 11)]
    population = GeneratedPopulation(100, 5, BRANCHES, reserved=set(taken))
    for key in taken:
        assert population.find_account(*key) is None
    keys = [population.customer(i).accounts[0].key for i in range(100)]
    assert not set(keys) & set(taken)
    assert len(set(keys)) == 100
    for index, key in enumerate(keys):
        found = population.find_account(*key)
        assert found is not None
        assert found[0].customer_id == f"g5-{index}"


def test_generated_data_is_valid() -> None:
    population = GeneratedPopulation(2_000, 11, BRANCHES)
    kinds = set()
    for customer in population.sample(2_000):
        assert is_valid_phone(customer.phone), customer.phone
        assert customer.phone[:3] in {"090", "080", "070"} or customer.phone.startswith("027")
        assert HALF_WIDTH_KANA.match(customer.name_kana), customer.name_kana
        assert all(unicodedata.east_asian_width(ch) != "W" for ch in customer.name_kana)
        assert EMAIL.match(customer.email), customer.email
        assert 1940 <= customer.birth_date.year <= 2005
        account = customer.accounts[0]
        assert account.pin.isdigit()
        assert len(account.pin) == 4
        assert account.balance >= 0
        assert account.branch_code in BRANCHES
        assert account.eligible
        kinds.add(account.account_type)
        for deposit in account.time_deposits:
            assert deposit.maturity_date > deposit.deposit_date
            assert deposit.principal > 0
    assert kinds == {AccountType.ORDINARY, AccountType.SAVINGS}


def test_kana_matches_kanji_reading() -> None:
    customer = GeneratedPopulation(1, 1, BRANCHES).customer(0)
    assert len(customer.name_kanji.split(" ")) == 2
    assert len(customer.name_kana.split(" ")) == 2


def test_sample_and_bounds() -> None:
    population = GeneratedPopulation(3, 1, BRANCHES)
    assert [c.customer_id for c in population.sample(10)] == ["g1-0", "g1-1", "g1-2"]
    assert population.sample(0) == []
    with pytest.raises(IndexError):
        population.customer(3)


def test_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="branch"):
        GeneratedPopulation(1, 1, [])
    with pytest.raises(ValueError, match="count"):
        GeneratedPopulation(NUMBER_SPACE, 1, BRANCHES)
