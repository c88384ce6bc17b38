"""The store interface: a few Protocols that every backend implements.

The rules (single-use codes, rotation, locks, the 120 s window, rule counters) live above
the store, in pure functions of one record. What must be atomic is one store operation: an
``update_*`` call applies a pure ``change`` to one record as a single read-modify-write
(memory: no await in between; SQL: one transaction), and ``save_linkage`` checks the
version it was loaded at. ``change`` may be called again by a backend that retries, so it
must have no side effects.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

from sandbox.clock import ClockState
from sandbox.domain.linkage import Linkage
from sandbox.domain.lockout import LockRecord
from sandbox.domain.oauth.tokens import CodeRecord, GrantRecord
from sandbox.domain.phone import PhoneChallenge
from sandbox.domain.postings import Posting
from sandbox.domain.records import JournalEntry, Mail, RuleCount, Transfer
from sandbox.scenario.model import RuleModel, Scenario


class StoreError(Exception):
    """A store cannot be opened or used (bad URL, unreachable database)."""


WORKSPACE_NAME = re.compile(r"[a-z][a-z0-9-]{0,31}", re.ASCII)  # also no "." and no "/"


def tenant_key(workspace: str, code: str) -> str:
    """The store's key of bank ``code`` in ``workspace`` ("" locally: the key is the code)."""
    return f"{workspace}/{code}" if workspace else code


@dataclass(frozen=True, slots=True)
class BankRecord:
    """A loaded bank: its scenario and where it came from; ``generation`` counts resets.

    ``key`` is the store's key of the bank (see :func:`tenant_key`); ``workspace`` the
    hosted workspace it belongs to ("" in local mode).
    """

    key: str
    scenario: Scenario
    source: str
    generation: int = 0
    workspace: str = ""

    @property
    def code(self) -> str:
        """The bank code (4 digits) of the scenario."""
        return self.scenario.bank.code


@dataclass(frozen=True, slots=True)
class WorkspaceRecord:
    """A hosted workspace: its name and the SHA-256 of its API key (never the key)."""

    name: str
    key_hash: str
    created: float


R = TypeVar("R")


class ClockStore(Protocol):
    async def get_clock(self) -> ClockState | None: ...

    async def update_clock(self, change: Callable[[ClockState | None], ClockState]) -> ClockState:
        """Apply ``change`` atomically; returns the stored state."""
        ...


class LinkageStore(Protocol):
    async def add_linkage(
        self, linkage: Linkage, now: datetime, per_client: int | None = None
    ) -> bool:
        """Store a new linkage; timed-out ones (and past the cap, the oldest) are dropped.

        With ``per_client``, nothing is stored (False) if the linkage's client already has
        that many live linkages: the count and the insert are one atomic operation.
        """
        ...

    async def find_linkage(self, linkage_id: str) -> Linkage | None: ...

    async def save_linkage(self, linkage: Linkage) -> Linkage | None:
        """Save if the stored version is ``linkage.version``; the saved one, or None if stale."""
        ...

    async def drop_linkage(self, key: str) -> None: ...

    async def linkages(self) -> list[Linkage]:
        """Linkages held, oldest first."""
        ...


class LockoutStore(Protocol):
    async def get_lock(self, key: str) -> LockRecord | None: ...

    async def update_lock(
        self, key: str, change: Callable[[LockRecord | None], tuple[LockRecord | None, R]]
    ) -> R: ...


class PhoneStore(Protocol):
    async def put_challenge(self, challenge: PhoneChallenge) -> None: ...

    async def get_challenge(self, challenge_id: str) -> PhoneChallenge | None: ...

    async def pending_challenges(self, phone: str) -> list[PhoneChallenge]:
        """Challenges still waiting for a call from ``phone`` (digits)."""
        ...

    async def update_challenge(
        self, challenge_id: str, change: Callable[[PhoneChallenge], PhoneChallenge]
    ) -> PhoneChallenge | None: ...

    async def drop_challenge(self, challenge_id: str) -> bool: ...


class GrantStore(Protocol):
    async def put_code(self, hashed: str, record: CodeRecord, now: datetime) -> None: ...

    async def get_code(self, hashed: str) -> CodeRecord | None: ...

    async def update_code(
        self, hashed: str, change: Callable[[CodeRecord | None], tuple[CodeRecord | None, R]]
    ) -> R: ...

    async def get_grant(self, grant_id: str) -> GrantRecord | None: ...

    async def grant_of_token(self, hashed: str) -> GrantRecord | None:
        """The grant holding the token with this hash."""
        ...

    async def update_grant(
        self,
        grant_id: str,
        change: Callable[[GrantRecord | None], tuple[GrantRecord | None, R]],
    ) -> R:
        """Apply ``change`` (None: no such grant yet); its tokens become findable by hash."""
        ...

    async def grants(self) -> list[GrantRecord]: ...


class RuleStore(Protocol):
    async def runtime_rules(self) -> list[RuleModel]: ...

    async def add_rule(self, rule: RuleModel) -> int:
        """Arm a run-time rule; returns how many run-time rules there are now."""
        ...

    async def clear_runtime_rules(self, first_index: int) -> None:
        """Drop the run-time rules and the counters from ``first_index`` on."""
        ...

    async def rule_counts(self) -> dict[int, RuleCount]: ...

    async def update_rule_count(
        self, index: int, change: Callable[[RuleCount], tuple[RuleCount, R]]
    ) -> R: ...


class RecordStore(Protocol):
    """Append-only records: the journal, the outbox, coverage and 移管."""

    async def record_request(self, entry: JournalEntry) -> JournalEntry: ...

    async def journal(self, since: int = 0) -> list[JournalEntry]: ...

    async def send_mail(self, mail: Mail) -> Mail: ...

    async def mails(self, to: str | None = None) -> list[Mail]: ...

    async def count_served(self, code: str, client_id: str | None) -> None: ...

    async def served(self) -> dict[tuple[str, str], int]: ...

    async def add_transfer(self, transfer: Transfer) -> None: ...

    async def transfers(self) -> list[Transfer]: ...

    async def add_posting(self, posting: Posting) -> None:
        """Keep a statement line posted on demand (the bank is rebuilt: generation + 1)."""
        ...

    async def postings(self) -> list[Posting]:
        """Lines posted on demand, in the order they were posted."""
        ...


class TenantStore(
    ClockStore,
    LinkageStore,
    LockoutStore,
    PhoneStore,
    GrantStore,
    RuleStore,
    RecordStore,
    Protocol,
):
    """Everything one bank holds."""


class WorkspaceStore(Protocol):
    """Hosted mode's workspaces (the unit of isolation) and their hashed API keys."""

    async def add_workspace(self, record: WorkspaceRecord) -> bool:
        """Create a workspace; False if the name is taken (nothing changes then)."""
        ...

    async def workspace_of_key(self, key_hash: str) -> WorkspaceRecord | None: ...

    async def workspaces(self) -> list[WorkspaceRecord]: ...


class Store(WorkspaceStore, Protocol):
    """The banks loaded and each bank's state; banks are keyed by :func:`tenant_key`."""

    async def open(self) -> None:
        """Make the store usable (a SQL store migrates or checks its schema)."""
        ...

    async def banks(self, workspace: str = "") -> list[BankRecord]:
        """The banks of ``workspace``, in load order."""
        ...

    async def bank(self, key: str) -> BankRecord | None: ...

    async def put_bank(
        self, key: str, scenario: Scenario, source: str, workspace: str = ""
    ) -> BankRecord | None:
        """Load (or replace) a bank with fresh state; returns the record replaced."""
        ...

    async def reset_bank(self, key: str) -> BankRecord:
        """Forget all state of the bank; its scenario stays (generation + 1)."""
        ...

    async def update_scenario(self, key: str, change: Callable[[Scenario], Scenario]) -> BankRecord:
        """Apply ``change`` to the bank's scenario atomically, keeping all its state
        (generation + 1, so every worker rebuilds the bank); StoreError if not loaded."""
        ...

    def tenant(self, key: str) -> TenantStore: ...

    async def close(self) -> None: ...
