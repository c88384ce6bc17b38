"""Deterministic Japanese customers, derived on demand from (seed, index); nothing is stored."""

from __future__ import annotations

import bisect
import functools
import random
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from typing import Any

import jaconv

from sandbox.domain.bank import Account, AccountType, Customer, TimeDeposit

AccountKey = tuple[str, AccountType, str]

NUMBER_SPACE = 10**7  # account numbers have 7 digits
CACHE_SIZE = 4096
_MASK = (1 << 64) - 1
_BIRTH_FIRST = date(1940, 1, 1)
_BIRTH_DAYS = (date(2005, 12, 31) - _BIRTH_FIRST).days
_DEPOSIT_FIRST = date(2020, 1, 6)
_MAIL_DOMAINS = ("example.jp", "example.com", "mail.example.jp", "example.co.jp")
_FIXED_PREFIXES = ("0272", "0273", "0274", "0275", "0276", "0277", "0278", "0279")
_MOBILE_PREFIXES = ("090", "080", "070")


def _mix(*values: int) -> int:
    """A stable 64-bit hash of integers (splitmix64 steps; unlike hash() it is not salted)."""
    state = 0x9E3779B97F4A7C15
    for value in values:
        state = (state ^ (value & _MASK)) & _MASK
        state = (state + 0x9E3779B97F4A7C15) & _MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        state = z ^ (z >> 31)
    return state


@functools.cache
def _faker() -> Any:
    """The one Faker('ja_JP') instance, created on first use (importing faker takes ~0.1 s)."""
    from faker import Faker

    return Faker("ja_JP")


def half_width(kana: str) -> str:
    """Full-width katakana -> half-width (ASCII and digits untouched)."""
    return str(jaconv.z2h(kana, kana=True, ascii=False, digit=False))


def _is_number(text: str) -> bool:
    """Whether ``text`` has the shape of an account number: seven ASCII digits."""
    return len(text) == 7 and text.isascii() and text.isdigit()


def _multiplier(seed: int) -> int:
    """A multiplier coprime to 10, so ``(a*i + b) mod 10**7`` is a bijection."""
    a = _mix(seed, 1) % NUMBER_SPACE
    while a % 2 == 0 or a % 5 == 0 or a < 1000:
        a = (a + 1) % NUMBER_SPACE
    return a


class GeneratedPopulation:
    """``count`` customers with one account each; customer i is computed from (seed, i)."""

    def __init__(
        self,
        count: int,
        seed: int,
        branches: list[str],
        reserved: Iterable[AccountKey] = (),
        *,
        cache_size: int = CACHE_SIZE,
    ) -> None:
        if not branches:
            raise ValueError("a generated population needs at least one branch")
        if not 0 <= count <= NUMBER_SPACE // 2:
            raise ValueError(f"count must be between 0 and {NUMBER_SPACE // 2}")
        self.count = count
        self.seed = seed
        self._branches = list(branches)
        self._branch_set = frozenset(self._branches)
        self._a = _multiplier(seed)
        self._a_inverse = pow(self._a, -1, NUMBER_SPACE)
        self._b = _mix(seed, 2) % NUMBER_SPACE
        self._skipped = sorted({s for key in reserved if (s := self._slot_of(key)) is not None})
        self._prefix = f"g{seed}-"
        self._build: Callable[[int], Customer] = functools.lru_cache(maxsize=cache_size)(
            self._materialise
        )
        # Screens and data calls look the same few accounts up again and again (nine times
        # in one linkage): the answer to each, not only its customer, is remembered.
        self._found: Callable[[str, AccountType, str], tuple[Customer, Account] | None] = (
            functools.lru_cache(maxsize=cache_size)(self._find_account)
        )

    # -- slots: position j in the number space; customer i uses the i-th slot not reserved --

    def _slot_key(self, slot: int) -> AccountKey:
        branch = self._branches[slot % len(self._branches)]
        kind = AccountType.SAVINGS if _mix(self.seed, slot, 3) % 8 == 0 else AccountType.ORDINARY
        number = (self._a * slot + self._b) % NUMBER_SPACE
        return branch, kind, f"{number:07d}"

    def _slot_of(self, key: AccountKey) -> int | None:
        """The slot whose account key is ``key``, if any (O(1): invert the bijection)."""
        number = key[2]
        if not _is_number(number):
            return None
        slot = ((int(number) - self._b) * self._a_inverse) % NUMBER_SPACE
        return slot if self._slot_key(slot) == key else None

    def _slot_for(self, index: int) -> int:
        slot = index
        for skipped in self._skipped:
            if skipped > slot:
                break
            slot += 1
        return slot

    def _index_for(self, slot: int) -> int | None:
        position = bisect.bisect_left(self._skipped, slot)
        if position < len(self._skipped) and self._skipped[position] == slot:
            return None
        index = slot - position
        return index if 0 <= index < self.count else None

    # -- the Population protocol ------------------------------------------------------------

    def __len__(self) -> int:
        return self.count

    def customer(self, index: int) -> Customer:
        """Customer number ``index`` (0-based)."""
        if not 0 <= index < self.count:
            raise IndexError(index)
        return self._build(index)

    def find_account(
        self, branch_code: str, account_type: AccountType, number: str
    ) -> tuple[Customer, Account] | None:
        """The generated customer holding this account, if any."""
        if branch_code not in self._branch_set or not _is_number(number):
            return None  # never a generated account: not remembered (it may be typed input)
        return self._found(branch_code, account_type, number)

    def _find_account(
        self, branch_code: str, account_type: AccountType, number: str
    ) -> tuple[Customer, Account] | None:
        slot = self._slot_of((branch_code, account_type, number))
        index = self._index_for(slot) if slot is not None else None
        if index is None:
            return None
        customer = self._build(index)
        return customer, customer.accounts[0]

    def get_customer(self, customer_id: str) -> Customer | None:
        """The generated customer with id ``g{seed}-{index}``, if any."""
        text = customer_id.removeprefix(self._prefix)
        if text == customer_id or not text.isascii() or not text.isdigit():
            return None
        if text != str(int(text)):
            return None
        index = int(text)
        return self._build(index) if index < self.count else None

    def sample(self, limit: int) -> list[Customer]:
        """The first ``limit`` customers."""
        return [self._build(i) for i in range(min(max(limit, 0), self.count))]

    # -- materialising one customer -----------------------------------------------------------

    def _materialise(self, index: int) -> Customer:
        personal_seed = _mix(self.seed, index)
        rng = random.Random(personal_seed)
        fake = _faker()
        fake.seed_instance(personal_seed)
        last = fake.last_name_pair()
        female = rng.random() < 0.5
        first = fake.first_name_female_pair() if female else fake.first_name_male_pair()
        branch, kind, number = self._slot_key(self._slot_for(index))
        account = Account(
            branch_code=branch,
            account_type=kind,
            number=number,
            pin=f"{rng.randrange(10_000):04d}",
            balance=_balance(rng),
            passbook_withdrawal=rng.random() < 0.3,
            time_deposits=_time_deposits(rng, index),
        )
        return Customer(
            customer_id=f"{self._prefix}{index}",
            name_kanji=f"{last[0]} {first[0]}",
            name_kana=f"{half_width(last[1])} {half_width(first[1])}",
            birth_date=_BIRTH_FIRST + timedelta(days=rng.randrange(_BIRTH_DAYS + 1)),
            phone=_phone(rng),
            email=_email(rng, first[2], last[2]),
            accounts=[account],
        )


def _balance(rng: random.Random) -> int:
    """Mostly modest balances, a few large ones, in yen."""
    return int(rng.lognormvariate(12.5, 1.2)) // 100 * 100


def _phone(rng: random.Random) -> str:
    """A valid Japanese number: 090/080/070 mobile (11 digits) or a Gunma 027x fixed line."""
    if rng.random() < 0.75:
        return rng.choice(_MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
    return rng.choice(_FIXED_PREFIXES) + f"{rng.randrange(2, 10)}{rng.randrange(10**5):05d}"


def _email(rng: random.Random, first_romaji: str, last_romaji: str) -> str:
    """An ASCII address on a reserved example domain, built from the romanised name."""
    local = _ascii_letters(first_romaji)
    separator = rng.choice((".", "_", ""))
    local = f"{local}{separator}{_ascii_letters(last_romaji)}{rng.randrange(1, 1000)}"
    return f"{local}@{rng.choice(_MAIL_DOMAINS)}"


def _ascii_letters(text: str) -> str:
    letters = "".join(ch for ch in text.lower() if ch.isascii() and ch.isalpha())
    return letters or "user"


def _time_deposits(rng: random.Random, index: int) -> tuple[TimeDeposit, ...]:
    """About a third of customers hold one to three time deposits."""
    if rng.random() >= 0.35:
        return ()
    deposits = []
    for n in range(rng.randint(1, 3)):
        start = _DEPOSIT_FIRST + timedelta(days=rng.randrange(5 * 365))
        years = rng.choice((1, 2, 3, 5))
        deposits.append(
            TimeDeposit(
                certificate_number=f"{index % 10**7:07d}{n + 1:02d}",
                deposit_date=start,
                maturity_date=_add_years(start, years),
                principal=rng.choice((10, 30, 50, 100, 300, 500)) * 10_000,
                rate_percent=rng.choice((0.002, 0.025, 0.1, 0.125, 0.2, 0.3)),
            )
        )
    return tuple(deposits)


def _add_years(day: date, years: int) -> date:
    """The same day ``years`` later (29 February becomes 28 February)."""
    if (day.month, day.day) == (2, 29):
        day = day.replace(day=28)
    return day.replace(year=day.year + years)
