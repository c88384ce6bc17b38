"""Finding customers and accounts: explicit ones plus a lazily generated population."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from sandbox.domain.bank import Account, AccountType, Customer


class Population(Protocol):
    """A source of customers that need not be held in memory (see scenario/generate.py)."""

    def __len__(self) -> int: ...

    def find_account(
        self, branch_code: str, account_type: AccountType, number: str
    ) -> tuple[Customer, Account] | None: ...

    def get_customer(self, customer_id: str) -> Customer | None: ...

    def sample(self, limit: int) -> list[Customer]: ...


class Directory:
    """All customers of one bank. Explicit customers win over generated ones."""

    def __init__(self, customers: list[Customer], population: Population | None = None) -> None:
        self._population = population
        self._customers: dict[str, Customer] = {}
        self._accounts: dict[tuple[str, AccountType, str], tuple[Customer, Account]] = {}
        # 移管: new account key -> ref of the original account (its statement history).
        self._origins: dict[tuple[str, AccountType, str], str] = {}
        for customer in customers:
            self.add(customer)

    def add(self, customer: Customer) -> None:
        """Hold ``customer`` in memory (explicit, or generated and then changed)."""
        self._customers[customer.customer_id] = customer
        for account in customer.accounts:
            self._accounts[account.key] = (customer, account)

    def find_account(
        self, branch_code: str, account_type: AccountType, number: str
    ) -> tuple[Customer, Account] | None:
        """The customer and account with this branch, type and number, if any."""
        found = self._accounts.get((branch_code, account_type, number))
        if found is None and self._population is not None:
            found = self._population.find_account(branch_code, account_type, number)
            if found is not None and found[0].customer_id in self._customers:
                # A generated customer already materialised (and maybe changed): use that copy.
                customer = self._customers[found[0].customer_id]
                for account in customer.accounts:
                    if account.key == (branch_code, account_type, number):
                        return customer, account
                return None
        return found

    def get_customer(self, customer_id: str) -> Customer | None:
        """The customer with this id, if any."""
        customer = self._customers.get(customer_id)
        if customer is None and self._population is not None:
            customer = self._population.get_customer(customer_id)
        return customer

    def pin_customer(self, customer: Customer) -> None:
        """Keep a (generated) customer in memory so that changes to it persist."""
        if customer.customer_id not in self._customers:
            self.add(customer)

    def transfer(
        self, customer: Customer, account: Account, new_branch: str, new_number: str
    ) -> Account:
        """Move ``account`` to ``new_branch``/``new_number`` (移管); returns the new account."""
        self.pin_customer(customer)
        held = self._customers[customer.customer_id]
        old = next((a for a in held.accounts if a.key == account.key), account)
        new = Account(
            branch_code=new_branch,
            account_type=old.account_type,
            number=new_number,
            pin=old.pin,
            balance=old.balance,
            cash_card=old.cash_card,
            passbook_withdrawal=old.passbook_withdrawal,
            time_deposits=old.time_deposits,
        )
        old.transferred_to = (new_branch, new_number)
        held.accounts.append(new)
        self._accounts[new.key] = (held, new)
        self._origins[new.key] = self.ledger_seed(old)
        return new

    def ledger_seed(self, account: Account) -> str:
        """The ref whose statement history ``account`` continues (itself unless moved in)."""
        return self._origins.get(account.key, account_ref(account))

    def explicit(self) -> Iterator[Customer]:
        """Customers held in memory."""
        return iter(list(self._customers.values()))

    def __len__(self) -> int:
        return len(self._customers) + (len(self._population) if self._population else 0)

    def sample(self, limit: int = 20) -> list[Customer]:
        """A few customers to show (explicit first)."""
        out = list(self._customers.values())[:limit]
        if self._population is not None and len(out) < limit:
            out += self._population.sample(limit - len(out))
        return out


def account_ref(account: Account) -> str:
    """``branch-type-number``, e.g. ``001-ordinary-1234567``."""
    return f"{account.branch_code}-{account.account_type.value}-{account.number}"
