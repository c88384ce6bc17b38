"""The Sandbox aggregate: everything one bank (tenant) holds, built from a scenario."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sandbox.clock import VirtualClock
from sandbox.domain.calendar import ServiceCalendar
from sandbox.domain.directory import Directory
from sandbox.domain.ledger import Ledger
from sandbox.domain.linkage import LinkageService
from sandbox.domain.lockout import LockoutBook
from sandbox.domain.oauth import AuthorizationServer, Client
from sandbox.domain.outbox import Outbox
from sandbox.domain.phone import PhoneVerifier
from sandbox.scenario.build import build_directory
from sandbox.scenario.model import Fault, Scenario
from sandbox.scenario.rules import RuleContext, RuleEngine
from sandbox.telemetry import Coverage, Journal


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


class Sandbox:
    """One bank's state. ``reset()`` returns it to the scenario's start."""

    def __init__(self, scenario: Scenario, source: str = "<embedded>") -> None:
        self.scenario = scenario
        self.source = source
        self.lock = threading.RLock()
        policy = scenario.bank.policy
        self.clock = VirtualClock(scenario.clock.start, frozen=scenario.clock.frozen)
        self.anchor_time = self.clock.now()
        self.directory: Directory = build_directory(scenario)
        self.calendar = ServiceCalendar(scenario.service_hours, scenario.maintenance)
        self.lockout = LockoutBook(policy.identity_attempt_limit, policy.pin_attempt_limit)
        self.phone = PhoneVerifier(policy.phone_window_seconds)
        self.outbox = Outbox()
        self.oauth = AuthorizationServer(clients_of(scenario), policy)
        self.ledger = Ledger(
            scenario.generate.seed if scenario.generate else 0, policy.statement_months
        )
        self.rules = RuleEngine(scenario.rules)
        self.journal = Journal()
        self.coverage = Coverage()
        self.linkage = LinkageService(self)

    @property
    def bank_code(self) -> str:
        return self.scenario.bank.code

    def reset(self) -> None:
        """Forget everything that happened since start: locks, codes, tokens, mails, rules."""
        with self.lock:
            self.clock.reset()
            self.anchor_time = self.clock.now()
            self.directory = build_directory(self.scenario)
            self.lockout.reset()
            self.phone.reset()
            self.outbox.reset()
            self.oauth.reset()
            self.rules.reset()
            self.journal.reset()
            self.coverage.reset()
            self.linkage.reset()


class Registry:
    """Sandboxes side by side, one per bank code (tenant)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_bank: dict[str, Sandbox] = {}
        self.default_bank: str | None = None

    def put(self, sandbox: Sandbox) -> Sandbox | None:
        """Add or replace the sandbox of its bank code; returns the one replaced."""
        with self._lock:
            old = self._by_bank.get(sandbox.bank_code)
            self._by_bank[sandbox.bank_code] = sandbox
            if self.default_bank is None:
                self.default_bank = sandbox.bank_code
            return old

    def get(self, bank_code: str) -> Sandbox | None:
        return self._by_bank.get(bank_code)

    def default(self) -> Sandbox:
        assert self.default_bank is not None, "registry is empty"
        return self._by_bank[self.default_bank]

    def __iter__(self) -> Iterator[Sandbox]:
        return iter(list(self._by_bank.values()))

    def __len__(self) -> int:
        return len(self._by_bank)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the gate decided for one step: go on, or serve an error / fault."""

    error: str | None = None
    fault: Fault | None = None
    rule: int | None = None
    retry_after: int | None = None


def gate(
    sandbox: Sandbox,
    step: str,
    now: datetime,
    *,
    account: str | None = None,
    client_id: str | None = None,
    endpoint: str | None = None,
) -> Verdict:
    """Service hours first, then scenario rules, for one step or endpoint."""
    if sandbox.calendar.closed_window(now) is not None:
        return Verdict(error="off_hours", retry_after=sandbox.calendar.retry_after_seconds(now))
    effect = sandbox.rules.match(
        RuleContext(step=step, now=now, endpoint=endpoint, account=account, client_id=client_id)
    )
    if effect is None:
        return Verdict()
    return Verdict(error=effect.error, fault=effect.fault, rule=effect.rule_index)
