"""Scenario -> domain objects: customers, clients, the bank profile and policies."""

from __future__ import annotations

from datetime import datetime
from datetime import time as dt_time

import jaconv

from sandbox.clock import JST
from sandbox.domain.bank import Account, Customer, TimeDeposit, normalize_phone
from sandbox.domain.directory import Directory
from sandbox.domain.linkage import BankProfile
from sandbox.domain.lockout import Limits
from sandbox.domain.oauth.clients import Client
from sandbox.domain.oauth.policy import OAuthPolicy
from sandbox.domain.postings import Posting
from sandbox.scenario.generate import AccountKey, GeneratedPopulation
from sandbox.scenario.model import (
    AccountModel,
    CustomerModel,
    Scenario,
    StatementLineModel,
    TimeDepositModel,
)


def build_directory(scenario: Scenario) -> Directory:
    """All customers of the scenario's bank (generated ones are derived lazily)."""
    customers = [to_customer(model, i) for i, model in enumerate(scenario.customers)]
    population = build_population(scenario, customers)
    return Directory(customers, population)


def build_population(
    scenario: Scenario, customers: list[Customer] | None = None
) -> GeneratedPopulation | None:
    """The scenario's generated customers, never colliding with the explicit accounts."""
    if scenario.generate is None or scenario.generate.count == 0:
        return None
    if customers is None:
        customers = [to_customer(model, i) for i, model in enumerate(scenario.customers)]
    reserved: set[AccountKey] = {a.key for c in customers for a in c.accounts}
    branches = [branch.code for branch in scenario.bank.branches]
    return GeneratedPopulation(scenario.generate.count, scenario.generate.seed, branches, reserved)


def to_customer(model: CustomerModel, index: int) -> Customer:
    """One explicit customer; its id is the model's ``id`` or ``c{index + 1}``."""
    return Customer(
        customer_id=model.id if model.id is not None else f"c{index + 1}",
        name_kanji=model.name_kanji,
        name_kana=model.name_kana,
        birth_date=model.birth_date,
        phone=normalize_phone(model.phone),
        email=model.email,
        accounts=[to_account(account) for account in model.accounts],
    )


def to_account(model: AccountModel) -> Account:
    """One account with its time deposits."""
    return Account(
        branch_code=model.branch,
        account_type=model.type,
        number=model.number,
        pin=model.pin,
        balance=model.balance,
        cash_card=model.cash_card,
        passbook_withdrawal=model.passbook_withdrawal,
        time_deposits=tuple(to_time_deposit(deposit) for deposit in model.time_deposits),
        triggers=model.triggers,
        postings=tuple(
            to_posting(f"{model.branch}-{model.type.value}-{model.number}", i, line)
            for i, line in enumerate(model.transactions)
        ),
    )


def half_width(text: str) -> str:
    """Katakana (and its long vowel mark) in half width, as bank statements print 摘要."""
    return str(jaconv.z2h(text, kana=True, ascii=False, digit=False))


def to_posting(ref: str, index: int, model: StatementLineModel) -> Posting:
    """A scenario's statement line: its 摘要 in half-width kana, at its date and time (JST)."""
    hour, minute = (int(part) for part in model.time.split(":"))
    return Posting(
        posting_id=f"scenario:{ref}:{index}",
        account=ref,
        posted_at=datetime.combine(model.date, dt_time(hour, minute), tzinfo=JST),
        type=model.type,
        amount=model.amount,
        description=half_width(model.description),
        listed=True,
    )


def to_time_deposit(model: TimeDepositModel) -> TimeDeposit:
    """One time-deposit certificate."""
    return TimeDeposit(
        certificate_number=model.certificate_number,
        deposit_date=model.deposit_date,
        maturity_date=model.maturity_date,
        principal=model.principal,
        rate_percent=model.rate_percent,
        kind=model.kind,
    )


def clients_of(scenario: Scenario) -> list[Client]:
    """Domain clients from the scenario's client list."""
    return [
        Client(
            client_id=c.client_id,
            secret=c.client_secret,
            name=c.name or c.client_id,
            redirect_uris=tuple(c.redirect_uris),
            pkce_required=c.pkce == "required",
            scopes=tuple(c.scopes),
            grant_types=tuple(c.grant_types),
        )
        for c in scenario.clients
    ]


def oauth_policy(scenario: Scenario) -> OAuthPolicy:
    """The authorisation server's lifetimes from the bank policy."""
    policy = scenario.bank.policy
    return OAuthPolicy(
        code_ttl_seconds=policy.code_ttl_seconds,
        access_token_ttl_seconds=policy.access_token_ttl_seconds,
        refresh_token_ttl_seconds=policy.refresh_token_ttl_seconds,
        reauth_period_days=policy.reauth_period_days,
    )


def bank_profile(scenario: Scenario) -> BankProfile:
    """What the linkage screens need to know of the bank."""
    bank = scenario.bank
    return BankProfile(
        code=bank.code,
        name=bank.name,
        auth_phone_number=bank.auth_phone_number,
        mail_from=bank.mail_from,
        branches=tuple((b.code, b.name) for b in bank.branches),
        linkage_ttl_seconds=bank.policy.linkage_ttl_seconds,
        phone_window_seconds=bank.policy.phone_window_seconds,
        call_button=bank.policy.sandbox_call_button,
    )


def lock_limits(scenario: Scenario) -> Limits:
    """How many wrong identities and PINs lock an account."""
    policy = scenario.bank.policy
    return Limits(identity=policy.identity_attempt_limit, pin=policy.pin_attempt_limit)
