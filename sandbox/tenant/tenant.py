"""The Tenant: one bank, built from its scenario over its store; reset rebuilds it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sandbox.clock import ClockState, wall_seconds
from sandbox.domain import transfer as moving
from sandbox.domain.bank import Account, Customer
from sandbox.domain.calendar import ServiceCalendar
from sandbox.domain.conformance import Report
from sandbox.domain.conformance import report as conformance_report
from sandbox.domain.directory import Directory, account_ref
from sandbox.domain.ledger import Ledger, Transaction
from sandbox.domain.magic import triggered
from sandbox.domain.postings import Posting, Statements, new_posting
from sandbox.domain.records import Transfer, coverage_report
from sandbox.domain.refs import parse_ref
from sandbox.scenario.build import (
    bank_profile,
    build_directory,
    clients_of,
    lock_limits,
    oauth_policy,
)
from sandbox.scenario.model import Fault, Scenario
from sandbox.scenario.rules import RuleContext
from sandbox.steps import Step, rule_step
from sandbox.store.base import BankRecord, TenantStore
from sandbox.tenant.authorization import AuthorizationServer
from sandbox.tenant.clock import TenantClock
from sandbox.tenant.linkages import LinkageService
from sandbox.tenant.lockout import LockoutBook
from sandbox.tenant.phone import PhoneVerifier
from sandbox.tenant.rules import RuleEngine


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the gate decided for one step: go on, or serve an error / fault."""

    error: str | None = None
    fault: Fault | None = None
    rule: int | None = None
    retry_after: int | None = None


@dataclass(frozen=True, slots=True)
class Moved:
    """The outcome of a 移管."""

    customer: Customer
    old: Account
    new: Account
    affected_grants: int  # grants linked to the old account: it answers account_transferred


_GO = Verdict()


def initial_clock(scenario: Scenario) -> ClockState:
    return ClockState.starting(scenario.clock.start, scenario.clock.frozen, wall_seconds())


class Tenant:
    """One bank's rules and services over its state in the store."""

    def __init__(
        self,
        record: BankRecord,
        store: TenantStore,
        directory: Directory,
        postings: Sequence[Posting] = (),
    ) -> None:
        scenario = record.scenario
        self.record = record
        self.scenario = scenario
        self.workspace = record.workspace
        # Hosted mode: the ids this bank hands out (client ids, linkage ids, tokens) start
        # with "<workspace>." so that a bank-facing request finds its workspace.
        self.id_prefix = f"{record.workspace}." if record.workspace else ""
        self.source = record.source
        self.store = store
        self.profile = bank_profile(scenario)
        self.clock = TenantClock(store, initial_clock(scenario))
        self.directory = directory
        # Magic accounts ("branch-number", as rules name accounts) and what each triggers.
        self.magic = {
            f"{a.branch_code}-{a.number}": a.triggers
            for c in directory.explicit()
            for a in c.accounts
            if a.triggers is not None
        }
        self.calendar = ServiceCalendar(scenario.service_hours, scenario.maintenance)
        self.ledger = Ledger(
            scenario.generate.seed if scenario.generate else 0,
            scenario.bank.policy.statement_months,
        )
        # The ledger plus the lines the scenario lists and those posted at run time.
        listed = [p for c in directory.explicit() for a in c.accounts for p in a.postings]
        self.statements = Statements(self.ledger, [*listed, *postings])
        clients = clients_of(scenario)
        self.oauth = AuthorizationServer(
            clients, oauth_policy(scenario), store, id_prefix=self.id_prefix
        )
        # Values the journal and the logs never show, whatever parameter carries them.
        self.secrets = frozenset(c.secret for c in clients)
        self.lockout = LockoutBook(store, lock_limits(scenario))
        self.phone = PhoneVerifier(store, scenario.bank.policy.phone_window_seconds)
        self.rules = RuleEngine(scenario.rules, store)
        self.linkage = LinkageService(
            store,
            self.profile,
            directory,
            lockout=self.lockout,
            phone=self.phone,
            oauth=self.oauth,
            records=store,
            id_prefix=self.id_prefix,
        )

    @classmethod
    async def open(cls, record: BankRecord, store: TenantStore) -> Tenant:
        """The tenant of ``record``: a fresh clock on first use, 移管 so far applied."""
        if await store.get_clock() is None:
            start = initial_clock(record.scenario)
            await store.update_clock(lambda state: state or start)
        directory = build_directory(record.scenario)
        for done in await store.transfers():
            key = parse_ref(done.ref)
            found = directory.find_account(*key) if key is not None else None
            if found is not None:
                directory.transfer(found[0], found[1], done.new_branch, done.new_number)
        return cls(record, store, directory, await store.postings())

    @property
    def bank_code(self) -> str:
        return self.record.code

    @property
    def key(self) -> str:
        """The store's key of this bank (its code, or workspace/code when hosted)."""
        return self.record.key

    @property
    def generation(self) -> int:
        return self.record.generation

    # Per request -------------------------------------------------------------

    async def gate(
        self,
        step: Step,
        now: datetime,
        *,
        account: str | None = None,
        client_id: str | None = None,
        endpoint: str | None = None,
        account_of: Callable[[], Awaitable[str | None]] | None = None,
    ) -> Verdict:
        """Service hours first, then a magic account, then scenario rules.

        ``step`` is the screen itself (④ is ``confirm``); rules see ④ as ``phone``.
        """
        if self.calendar.closed_window(now) is not None:
            return Verdict(error="off_hours", retry_after=self.calendar.retry_after_seconds(now))
        if account is not None and self.magic:
            code = triggered(self.magic.get(account), step)
            if code is not None:
                return Verdict(error=code)
        step = rule_step(step)
        armed = await self.rules.all()
        if not armed:  # most banks arm no rule: no context to build, one read of the store
            return _GO
        if account is None and account_of is not None:  # looked up only when rules may ask
            account = await account_of()
        context = RuleContext(
            step=step, now=now, endpoint=endpoint, account=account, client_id=client_id
        )
        effect = await self.rules.match_among(armed, context)
        if effect is None:
            return Verdict()
        return Verdict(error=effect.error, fault=effect.fault, rule=effect.rule_index)

    async def served(self, code: str, client_id: str | None) -> None:
        """Note that catalog error ``code`` was served (coverage)."""
        await self.store.count_served(code, client_id)

    async def coverage(self) -> dict[str, Any]:
        return coverage_report(await self.store.served())

    async def conformance(self, client_id: str) -> Report:
        """What the journal shows ``client_id`` did, check by check."""
        return conformance_report(client_id, await self.store.journal())

    # Balances and statements ------------------------------------------------

    def balance(self, account: Account, origin: datetime, now: datetime) -> int:
        """The account's balance at ``now`` (the scenario's balance is at ``origin``)."""
        seed = self.directory.ledger_seed(account)
        return self.statements.balance_at(seed, account.balance, origin, now)

    def transactions(
        self, account: Account, origin: datetime, date_from: date, date_to: date, now: datetime
    ) -> list[Transaction]:
        """The account's statement lines dated ``date_from..date_to``, as held at ``now``."""
        seed = self.directory.ledger_seed(account)
        return self.statements.transactions(seed, account.balance, origin, date_from, date_to, now)

    async def find_account(self, wanted: str) -> tuple[Customer, Account]:
        """The account an account_id or ref names (explicit or linked; not one moved away)."""
        linked = [ref for grant in await self.oauth.grants() for ref in grant.account_refs]
        return moving.find_for_transfer(self.directory, self.bank_code, linked, wanted)

    async def post(
        self, account: Account, kind: str, amount: object, description: object, now: datetime
    ) -> tuple[Posting, int]:
        """Post a statement line now (a deposit, or a withdrawal the balance covers); the
        posting and the balance after it."""
        origin = (await self.clock.state()).origin
        balance = self.balance(account, origin, now)
        posting = new_posting(
            self.directory.ledger_seed(account), kind, amount, description, now, balance
        )
        await self.store.add_posting(posting)
        return posting, balance + posting.signed

    # 移管 ---------------------------------------------------------------------

    async def transfer(self, wanted: str, body: Mapping[str, Any], now: datetime) -> Moved:
        """Move an account to a new branch/number (移管).

        Tokens linked to the old account stay valid but answer account_transferred (403)
        for it, which tells the app to link again with the new branch and number.
        """
        customer, account = await self.find_account(wanted)
        new_branch, new_number = moving.plan_transfer(
            self.directory, self.profile.branch_codes, account, body
        )
        ref = account_ref(account)
        await self.store.add_transfer(Transfer(ref, new_branch, new_number, now))
        new = self.directory.transfer(customer, account, new_branch, new_number)
        affected = await self.oauth.grants_linking(ref)
        return Moved(customer, account, new, affected)
