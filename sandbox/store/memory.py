"""The in-memory store: plain dicts per bank, for local use and CI (the default).

Each operation runs without an ``await`` inside, so on the event loop it is atomic. Growth is
bounded: linkages are capped per bank, the journal and outbox keep their newest entries, and
codes, grants and phone challenges are swept (amortised) once they can be forgotten.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from sandbox.clock import ClockState
from sandbox.copies import replace
from sandbox.domain.linkage import Linkage
from sandbox.domain.lockout import LockRecord
from sandbox.domain.oauth.tokens import CodeRecord, GrantRecord
from sandbox.domain.phone import PhoneChallenge
from sandbox.domain.postings import Posting
from sandbox.domain.records import JournalEntry, Mail, RuleCount, Transfer
from sandbox.scenario.model import RuleModel, Scenario
from sandbox.store.base import BankRecord, StoreError, WorkspaceRecord

R = TypeVar("R")
V = TypeVar("V")
LINKAGE_CAP = 10_000  # linkages held per bank; past it the oldest is dropped
JOURNAL_CAP = 5_000  # newest journal entries kept per bank
OUTBOX_CAP = 10_000  # newest mails kept per bank
SWEEP_MIN = 1024  # records a table may hold before its first sweep
# Codes, grants (with their tokens) and phone challenges kept per bank at most: under a
# frozen clock nothing expires, so past the cap the oldest is forgotten (a code or token
# that old then answers like an unknown one).
RECORD_CAP = 10_000


class _Swept(Generic[V]):
    """A dict whose entries are forgotten once ``forget_at(value)`` has passed (amortised),
    and that never holds more than ``cap`` (the oldest go first)."""

    def __init__(self, forget_at: Callable[[V], datetime], cap: int = RECORD_CAP) -> None:
        self.items: dict[str, V] = {}
        self._forget_at = forget_at
        self._cap = cap
        self._sweep_at = SWEEP_MIN

    def put(self, key: str, value: V, now: datetime) -> list[V]:
        """Insert ``value``; returns the records forgotten to make room."""
        gone: list[V] = []
        if len(self.items) >= self._sweep_at:
            for stale in [k for k, v in self.items.items() if self._forget_at(v) < now]:
                gone.append(self.items.pop(stale))
            self._sweep_at = max(SWEEP_MIN, 2 * len(self.items))
        self.items[key] = value
        while len(self.items) > self._cap:
            gone.append(self.items.pop(next(iter(self.items))))
        return gone


@dataclass
class _BankState:
    """Everything one bank holds, rebuilt empty by reset."""

    clock: ClockState | None = None
    linkages: dict[str, Linkage] = field(default_factory=dict)  # by key, oldest first
    linkage_ids: dict[str, str] = field(default_factory=dict)  # public id -> key
    client_linkages: Counter[str] = field(default_factory=Counter)  # client id -> held
    locks: dict[str, LockRecord] = field(default_factory=dict)
    record_cap: int = RECORD_CAP
    journal_cap: int = JOURNAL_CAP
    outbox_cap: int = OUTBOX_CAP
    challenges: _Swept[PhoneChallenge] = field(init=False)
    codes: _Swept[CodeRecord] = field(init=False)
    grants: _Swept[GrantRecord] = field(init=False)
    token_grants: dict[str, str] = field(default_factory=dict)  # token hash -> grant id
    runtime_rules: list[RuleModel] = field(default_factory=list)
    rule_counts: dict[int, RuleCount] = field(default_factory=dict)
    journal: deque[JournalEntry] = field(init=False)
    journal_seq: int = 0
    mails: deque[Mail] = field(init=False)
    mail_seq: int = 0
    served: Counter[tuple[str, str]] = field(default_factory=Counter)
    transfers: list[Transfer] = field(default_factory=list)
    postings: list[Posting] = field(default_factory=list)

    def __post_init__(self) -> None:
        cap = self.record_cap
        self.journal = deque(maxlen=self.journal_cap)
        self.mails = deque(maxlen=self.outbox_cap)
        self.challenges = _Swept(lambda c: c.forget_at, cap)
        self.codes = _Swept(lambda c: c.forget_at, cap)
        self.grants = _Swept(lambda g: g.forget_at, cap)


def _apply(table: dict[str, V], key: str, change: Callable[[V | None], tuple[V | None, R]]) -> R:
    """One read-modify-write of ``table[key]`` (None from ``change`` deletes)."""
    record, result = change(table.get(key))
    if record is None:
        table.pop(key, None)
    else:
        table[key] = record
    return result


class MemoryTenantStore:
    """One bank's state in a :class:`MemoryStore` (looked up afresh, so reset is seen)."""

    def __init__(self, store: MemoryStore, code: str) -> None:
        self._store = store
        self.code = code

    @property
    def _s(self) -> _BankState:
        try:
            return self._store.states[self.code]
        except KeyError:
            raise StoreError(f"bank {self.code} is not loaded") from None

    # clock
    async def get_clock(self) -> ClockState | None:
        return self._s.clock

    async def update_clock(self, change: Callable[[ClockState | None], ClockState]) -> ClockState:
        state = self._s
        state.clock = change(state.clock)
        return state.clock

    # linkages
    async def add_linkage(
        self, linkage: Linkage, now: datetime, per_client: int | None = None
    ) -> bool:
        state = self._s
        # Oldest first: every linkage of a bank has the same window, so this is also the
        # order they time out in; after the loop every linkage held is live.
        while state.linkages:
            oldest = next(iter(state.linkages.values()))
            if now < oldest.expires_at and len(state.linkages) < self._store.linkage_cap:
                break
            self._forget_linkage(state, oldest)
        client = linkage.client_id
        if per_client is not None and state.client_linkages[client] >= per_client:
            return False
        state.linkages[linkage.key] = linkage
        state.linkage_ids[linkage.linkage_id] = linkage.key
        state.client_linkages[client] += 1
        return True

    @staticmethod
    def _forget_linkage(state: _BankState, linkage: Linkage) -> None:
        if state.linkages.pop(linkage.key, None) is not None:
            state.client_linkages[linkage.client_id] -= 1
            if state.client_linkages[linkage.client_id] <= 0:
                del state.client_linkages[linkage.client_id]
        state.linkage_ids.pop(linkage.linkage_id, None)

    async def find_linkage(self, linkage_id: str) -> Linkage | None:
        state = self._s
        key = state.linkage_ids.get(linkage_id)
        return state.linkages.get(key) if key is not None else None

    async def save_linkage(self, linkage: Linkage) -> Linkage | None:
        state = self._s
        stored = state.linkages.get(linkage.key)
        if stored is None or stored.version != linkage.version:
            return None
        saved = replace(linkage, version=linkage.version + 1)
        state.linkages[linkage.key] = saved
        if stored.linkage_id != saved.linkage_id:
            state.linkage_ids.pop(stored.linkage_id, None)
            state.linkage_ids[saved.linkage_id] = saved.key
        return saved

    async def drop_linkage(self, key: str) -> None:
        state = self._s
        stored = state.linkages.get(key)
        if stored is not None:
            self._forget_linkage(state, stored)

    async def linkages(self) -> list[Linkage]:
        return list(self._s.linkages.values())

    # lockout
    async def get_lock(self, key: str) -> LockRecord | None:
        return self._s.locks.get(key)

    async def update_lock(
        self, key: str, change: Callable[[LockRecord | None], tuple[LockRecord | None, R]]
    ) -> R:
        return _apply(self._s.locks, key, change)

    # phone
    async def put_challenge(self, challenge: PhoneChallenge) -> None:
        self._s.challenges.items.pop(challenge.challenge_id, None)
        self._s.challenges.put(challenge.challenge_id, challenge, challenge.started_at)

    async def get_challenge(self, challenge_id: str) -> PhoneChallenge | None:
        return self._s.challenges.items.get(challenge_id)

    async def pending_challenges(self, phone: str) -> list[PhoneChallenge]:
        return [
            c
            for c in self._s.challenges.items.values()
            if c.registered_phone == phone and c.pending
        ]

    async def update_challenge(
        self, challenge_id: str, change: Callable[[PhoneChallenge], PhoneChallenge]
    ) -> PhoneChallenge | None:
        items = self._s.challenges.items
        current = items.get(challenge_id)
        if current is None:
            return None
        items[challenge_id] = updated = change(current)
        return updated

    async def drop_challenge(self, challenge_id: str) -> bool:
        return self._s.challenges.items.pop(challenge_id, None) is not None

    # codes, grants, tokens
    async def put_code(self, hashed: str, record: CodeRecord, now: datetime) -> None:
        self._s.codes.put(hashed, record, now)

    async def get_code(self, hashed: str) -> CodeRecord | None:
        return self._s.codes.items.get(hashed)

    async def update_code(
        self, hashed: str, change: Callable[[CodeRecord | None], tuple[CodeRecord | None, R]]
    ) -> R:
        return _apply(self._s.codes.items, hashed, change)

    @staticmethod
    def _index(state: _BankState, record: GrantRecord) -> None:
        gid = record.grant.grant_id
        for hashed in record.tokens:
            state.token_grants.setdefault(hashed, gid)

    async def get_grant(self, grant_id: str) -> GrantRecord | None:
        return self._s.grants.items.get(grant_id)

    async def grant_of_token(self, hashed: str) -> GrantRecord | None:
        state = self._s
        gid = state.token_grants.get(hashed)
        return state.grants.items.get(gid) if gid is not None else None

    async def update_grant(
        self,
        grant_id: str,
        change: Callable[[GrantRecord | None], tuple[GrantRecord | None, R]],
    ) -> R:
        state = self._s
        old = state.grants.items.get(grant_id)
        record, result = change(old)
        if record is None:
            state.grants.items.pop(grant_id, None)
        elif old is None:
            for forgotten in state.grants.put(grant_id, record, record.grant.auth_time):
                for hashed in forgotten.tokens:  # their tokens are forgotten with them
                    state.token_grants.pop(hashed, None)
        else:
            state.grants.items[grant_id] = record
        for gone in set(old.tokens) - set(record.tokens if record else ()) if old else ():
            state.token_grants.pop(gone, None)
        if record is not None:
            self._index(state, record)
        return result

    async def grants(self) -> list[GrantRecord]:
        return list(self._s.grants.items.values())

    # rules
    async def runtime_rules(self) -> list[RuleModel]:
        return list(self._s.runtime_rules)

    async def add_rule(self, rule: RuleModel) -> int:
        rules = self._s.runtime_rules
        rules.append(rule)
        return len(rules)

    async def clear_runtime_rules(self, first_index: int) -> None:
        state = self._s
        state.runtime_rules.clear()
        state.rule_counts = {i: c for i, c in state.rule_counts.items() if i < first_index}

    async def rule_counts(self) -> dict[int, RuleCount]:
        return dict(self._s.rule_counts)

    async def update_rule_count(
        self, index: int, change: Callable[[RuleCount], tuple[RuleCount, R]]
    ) -> R:
        counts = self._s.rule_counts
        counts[index], result = change(counts.get(index, RuleCount()))
        return result

    # records
    async def record_request(self, entry: JournalEntry) -> JournalEntry:
        state = self._s
        state.journal_seq += 1
        entry.seq = state.journal_seq
        state.journal.append(entry)
        return entry

    async def journal(self, since: int = 0) -> list[JournalEntry]:
        return [e for e in self._s.journal if e.seq > since]

    async def send_mail(self, mail: Mail) -> Mail:
        state = self._s
        state.mail_seq += 1
        stored = replace(mail, mail_id=state.mail_seq)
        state.mails.append(stored)
        return stored

    async def mails(self, to: str | None = None) -> list[Mail]:
        return [m for m in self._s.mails if to is None or m.to == to]

    async def count_served(self, code: str, client_id: str | None) -> None:
        self._s.served[(code, client_id or "")] += 1

    async def served(self) -> dict[tuple[str, str], int]:
        return dict(self._s.served)

    def _rebuild(self) -> None:
        """The bank's tenant is rebuilt from its scenario, transfers and postings."""
        record = self._store.records[self.code]
        self._store.records[self.code] = replace(record, generation=record.generation + 1)

    async def add_transfer(self, transfer: Transfer) -> None:
        self._s.transfers.append(transfer)
        self._rebuild()

    async def transfers(self) -> list[Transfer]:
        return list(self._s.transfers)

    async def add_posting(self, posting: Posting) -> None:
        self._s.postings.append(posting)
        self._rebuild()

    async def postings(self) -> list[Posting]:
        return list(self._s.postings)


class MemoryStore:
    """Banks and their state in this process; gone when it exits."""

    def __init__(
        self,
        *,
        linkage_cap: int = LINKAGE_CAP,
        record_cap: int = RECORD_CAP,
        journal_cap: int = JOURNAL_CAP,
        outbox_cap: int = OUTBOX_CAP,
    ) -> None:
        self.records: dict[str, BankRecord] = {}
        self.states: dict[str, _BankState] = {}
        self.workspace_records: dict[str, WorkspaceRecord] = {}
        self._by_key_hash: dict[str, WorkspaceRecord] = {}
        self.linkage_cap = linkage_cap
        self.record_cap = record_cap
        self.journal_cap = journal_cap
        self.outbox_cap = outbox_cap

    async def open(self) -> None:
        """Nothing to do: the store lives in this process."""

    async def banks(self, workspace: str = "") -> list[BankRecord]:
        return [r for r in self.records.values() if r.workspace == workspace]

    async def bank(self, key: str) -> BankRecord | None:
        return self.records.get(key)

    async def put_bank(
        self, key: str, scenario: Scenario, source: str, workspace: str = ""
    ) -> BankRecord | None:
        old = self.records.get(key)
        generation = old.generation + 1 if old is not None else 0
        self.records[key] = BankRecord(key, scenario, source, generation, workspace)
        self.states[key] = self._fresh()
        return old

    async def reset_bank(self, key: str) -> BankRecord:
        old = self.records.get(key)
        if old is None:
            raise StoreError(f"bank {key} is not loaded")
        self.records[key] = record = replace(old, generation=old.generation + 1)
        self.states[key] = self._fresh()
        return record

    async def update_scenario(self, key: str, change: Callable[[Scenario], Scenario]) -> BankRecord:
        old = self.records.get(key)
        if old is None:
            raise StoreError(f"bank {key} is not loaded")
        self.records[key] = record = replace(
            old, scenario=change(old.scenario), generation=old.generation + 1
        )
        return record

    def _fresh(self) -> _BankState:
        return _BankState(
            record_cap=self.record_cap, journal_cap=self.journal_cap, outbox_cap=self.outbox_cap
        )

    def tenant(self, key: str) -> MemoryTenantStore:
        return MemoryTenantStore(self, key)

    async def add_workspace(self, record: WorkspaceRecord) -> bool:
        if record.name in self.workspace_records:
            return False
        self.workspace_records[record.name] = self._by_key_hash[record.key_hash] = record
        return True

    async def workspace_of_key(self, key_hash: str) -> WorkspaceRecord | None:
        return self._by_key_hash.get(key_hash)

    async def workspaces(self) -> list[WorkspaceRecord]:
        return list(self.workspace_records.values())

    async def close(self) -> None:
        self.records.clear()
        self.states.clear()
