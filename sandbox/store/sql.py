"""The SQL store: one implementation for SQLite (embedded, durable) and PostgreSQL (shared).

SQLAlchemy 2 Core on its async engine, over aiosqlite and asyncpg. Every ``update_*`` is one
transaction that reads the record (``FOR UPDATE`` on PostgreSQL; SQLite transactions begin
``IMMEDIATE``, so writers take turns), applies the pure change and writes it back. Two
writers racing to create the same record collide on the primary key; the loser retries the
whole transaction, which is why a change must have no side effects. ``save_linkage`` is a
compare-and-set on the version column. Growth is bounded as in the memory store: linkages
capped per bank, journal and outbox trimmed to their newest entries, and codes, grants,
challenges and locks swept once they can be forgotten.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, and_, delete, func, insert, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from sandbox.clock import ClockState, wall_seconds
from sandbox.copies import replace
from sandbox.domain.linkage import Linkage
from sandbox.domain.lockout import LockRecord
from sandbox.domain.oauth.tokens import CodeRecord, GrantRecord
from sandbox.domain.phone import PhoneChallenge
from sandbox.domain.postings import Posting
from sandbox.domain.records import JournalEntry, Mail, RuleCount, Transfer
from sandbox.scenario.model import RuleModel, Scenario
from sandbox.store import codec, queries
from sandbox.store.base import BankRecord, StoreError, WorkspaceRecord
from sandbox.store.memory import JOURNAL_CAP, LINKAGE_CAP, OUTBOX_CAP, RECORD_CAP
from sandbox.store.schema import banks, journal, mails, records, workspaces

# aiosqlite logs every statement with its parameters at DEBUG: stored records hold CSRF
# tokens and e-mail addresses, so it never logs below INFO, whatever the root level.
logging.getLogger("aiosqlite").setLevel(logging.INFO)

R = TypeVar("R")
V = TypeVar("V")
RETRIES = 8
SWEEP_EVERY = 256  # inserts of a kind between two sweeps of that kind (per process)


def engine_url(url: str) -> str:
    """The SQLAlchemy URL with its async driver: sqlite+aiosqlite, postgresql+asyncpg."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            raise StoreError("a SQLite store needs a file: sqlite:///path/to/sandbox.db")
        return str(parsed.set(drivername="sqlite+aiosqlite"))
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise StoreError(
        f"unknown store {parsed.drivername!r}: use memory, sqlite:/// or postgresql://"
    )


def _inserted_id(result: Any) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _epoch(moment: datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()


def _retryable(exc: DBAPIError) -> bool:
    """A primary-key race, a busy SQLite file, or a PostgreSQL serialization/deadlock."""
    if isinstance(exc, IntegrityError):
        return True
    text = str(exc.orig).lower() if exc.orig is not None else str(exc).lower()
    return any(word in text for word in ("database is locked", "busy", "deadlock", "serializ"))


class SqlStore:
    """Banks and their state in a SQL database."""

    def __init__(
        self,
        url: str,
        *,
        linkage_cap: int = LINKAGE_CAP,
        record_cap: int = RECORD_CAP,
        journal_cap: int = JOURNAL_CAP,
        outbox_cap: int = OUTBOX_CAP,
    ) -> None:
        self.url = url
        self.dialect = make_url(url).get_backend_name()
        self.engine: AsyncEngine = create_async_engine(engine_url(url))
        # Writes go through this engine: on SQLite they begin IMMEDIATE (one writer at a time).
        self._writer = self.engine.execution_options(sandbox_write=True)
        # Reads are single statements: no transaction to begin and roll back around each.
        self._reader = (
            self.engine.execution_options(isolation_level="AUTOCOMMIT")
            if self.dialect == "postgresql"
            else self.engine
        )
        self.linkage_cap = linkage_cap
        self.record_cap = record_cap
        self.journal_cap = journal_cap
        self.outbox_cap = outbox_cap
        self._records: dict[tuple[str, int], BankRecord] = {}
        self._inserts: dict[tuple[str, str], itertools.count[int]] = {}
        if self.dialect == "sqlite":
            _sqlite_immediate(self.engine)

    # Opening, migrations ---------------------------------------------------------

    async def open(self) -> None:
        """SQLite: create or upgrade the schema. PostgreSQL: check it is current."""
        from sandbox.store import migrations

        if self.dialect == "sqlite":
            await migrations.upgrade(self.engine)
        elif not await migrations.is_current(self.engine):
            raise StoreError(
                "the database schema is not current: run `sandbox db upgrade` "
                "(with the same SANDBOX_STORE) first"
            )

    async def close(self) -> None:
        await self.engine.dispose()

    async def atomic(self, work: Callable[[AsyncConnection], Awaitable[R]]) -> R:
        """Run ``work`` in one transaction; retry it when a concurrent writer won a race."""
        for attempt in range(RETRIES):
            try:
                async with self._writer.begin() as conn:
                    return await work(conn)
            except DBAPIError as exc:
                if attempt == RETRIES - 1 or not _retryable(exc):
                    raise
                await asyncio.sleep(0.002 * (attempt + 1))
        raise AssertionError("unreachable")  # pragma: no cover

    async def single(self, work: Callable[[AsyncConnection], Awaitable[R]]) -> R:
        """Run ``work`` (statements each atomic on their own) in autocommit, no transaction."""
        async with self._reader.connect() as conn:
            result = await work(conn)
            await conn.commit()
            return result

    async def read(self, query: Select[Any], params: Mapping[str, Any] | None = None) -> list[Any]:
        async with self._reader.connect() as conn:
            return list((await conn.execute(query, params)).all())

    def due_for_sweep(self, bank: str, kind: str) -> bool:
        counter = self._inserts.setdefault((bank, kind), itertools.count(1))
        return next(counter) % SWEEP_EVERY == 0

    # Banks -----------------------------------------------------------------------

    async def banks(self, workspace: str = "") -> list[BankRecord]:
        rows = await self.read(
            select(banks.c.code).where(banks.c.workspace == workspace).order_by(banks.c.loaded_seq)
        )
        out = []
        for (key,) in rows:
            record = await self.bank(key)
            if record is not None:
                out.append(record)
        return out

    async def bank(self, key: str) -> BankRecord | None:
        rows = await self.read(queries.GENERATION, {"code": key})
        if not rows:
            return None
        generation = int(rows[0][0])
        cached = self._records.get((key, generation))
        if cached is not None:
            return cached
        rows = await self.read(
            select(banks.c.scenario, banks.c.source, banks.c.generation, banks.c.workspace).where(
                banks.c.code == key
            )
        )
        if not rows:
            return None
        text, source, generation, workspace = rows[0]
        record = BankRecord(
            key, Scenario.model_validate_json(text), source, int(generation), workspace
        )
        self._records = {k: v for k, v in self._records.items() if k[0] != key}
        self._records[(key, record.generation)] = record
        return record

    async def put_bank(
        self, key: str, scenario: Scenario, source: str, workspace: str = ""
    ) -> BankRecord | None:
        old = await self.bank(key)

        async def work(conn: AsyncConnection) -> None:
            row = (
                await conn.execute(
                    select(banks.c.generation, banks.c.loaded_seq)
                    .where(banks.c.code == key)
                    .with_for_update()
                )
            ).first()
            await _forget_state(conn, key)
            text = scenario.model_dump_json()
            if row is None:
                top = (await conn.execute(select(func.max(banks.c.loaded_seq)))).scalar()
                await conn.execute(
                    insert(banks).values(
                        code=key,
                        scenario=text,
                        source=source,
                        generation=0,
                        loaded_seq=(top or 0) + 1,
                        workspace=workspace,
                    )
                )
            else:
                await conn.execute(
                    update(banks)
                    .where(banks.c.code == key)
                    .values(scenario=text, source=source, generation=row.generation + 1)
                )

        await self.atomic(work)
        return old

    async def reset_bank(self, key: str) -> BankRecord:
        async def work(conn: AsyncConnection) -> bool:
            await _forget_state(conn, key)
            done = await conn.execute(
                update(banks).where(banks.c.code == key).values(generation=banks.c.generation + 1)
            )
            return bool(done.rowcount)

        if not await self.atomic(work):
            raise StoreError(f"bank {key} is not loaded")
        record = await self.bank(key)
        assert record is not None
        return record

    async def update_scenario(self, key: str, change: Callable[[Scenario], Scenario]) -> BankRecord:
        async def work(conn: AsyncConnection) -> bool:
            row = (
                await conn.execute(
                    select(banks.c.scenario).where(banks.c.code == key).with_for_update()
                )
            ).first()
            if row is None:
                return False
            new = change(Scenario.model_validate_json(row.scenario))
            await conn.execute(
                update(banks)
                .where(banks.c.code == key)
                .values(scenario=new.model_dump_json(), generation=banks.c.generation + 1)
            )
            return True

        if not await self.atomic(work):
            raise StoreError(f"bank {key} is not loaded")
        record = await self.bank(key)
        assert record is not None
        return record

    def tenant(self, key: str) -> SqlTenantStore:
        return SqlTenantStore(self, key)

    # Workspaces ------------------------------------------------------------------

    async def add_workspace(self, record: WorkspaceRecord) -> bool:
        async def work(conn: AsyncConnection) -> bool:
            taken = (
                await conn.execute(
                    select(workspaces.c.name).where(workspaces.c.name == record.name)
                )
            ).first()
            if taken is not None:
                return False
            await conn.execute(
                insert(workspaces).values(
                    name=record.name, key_hash=record.key_hash, created=record.created
                )
            )
            return True

        try:
            return await self.atomic(work)
        except IntegrityError:  # another worker created it between the check and the insert
            return False

    async def workspace_of_key(self, key_hash: str) -> WorkspaceRecord | None:
        rows = await self.read(
            select(workspaces.c.name, workspaces.c.key_hash, workspaces.c.created).where(
                workspaces.c.key_hash == key_hash
            )
        )
        return WorkspaceRecord(rows[0][0], rows[0][1], float(rows[0][2])) if rows else None

    async def workspaces(self) -> list[WorkspaceRecord]:
        rows = await self.read(
            select(workspaces.c.name, workspaces.c.key_hash, workspaces.c.created).order_by(
                workspaces.c.created, workspaces.c.name
            )
        )
        return [WorkspaceRecord(name, key_hash, float(t)) for name, key_hash, t in rows]


async def _forget_state(conn: AsyncConnection, code: str) -> None:
    for table in (records, journal, mails):
        await conn.execute(delete(table).where(table.c.bank == code))


def _sqlite_immediate(engine: AsyncEngine) -> None:
    """SQLite: WAL, a busy timeout, writes ``BEGIN IMMEDIATE`` (one writer), reads no lock."""
    from sqlalchemy import event

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy, not the driver, begins
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        # A write takes the lock up front; a read runs without a transaction (WAL snapshot
        # per statement), so readers never wait for writers.
        if conn.get_execution_options().get("sandbox_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")


class SqlTenantStore:
    """One bank's state in a :class:`SqlStore`."""

    def __init__(self, store: SqlStore, code: str) -> None:
        self._store = store
        self.code = code

    # Generic record access ---------------------------------------------------------

    def _where(self, kind: str) -> Any:
        return and_(records.c.bank == self.code, records.c.kind == kind)

    def _one(self, kind: str, key: str) -> dict[str, str]:
        """The parameters naming one record (queries.RECORD, LOCKED_RECORD, DELETE_RECORD)."""
        return {"bank": self.code, "kind": kind, "key": key}

    async def _get(self, kind: str, key: str, cls: type[V]) -> V | None:
        rows = await self._store.read(queries.RECORD, self._one(kind, key))
        return codec.loads(cls, rows[0][0]) if rows else None

    async def _all(self, kind: str, cls: type[V], *, tag: str | None = None) -> list[V]:
        if tag is None:
            rows = await self._store.read(queries.RECORDS, {"bank": self.code, "kind": kind})
        else:
            params = {"bank": self.code, "kind": kind, "tag": tag}
            rows = await self._store.read(queries.TAGGED, params)
        return [codec.loads(cls, row[0]) for row in rows]

    async def _by_key(self, kind: str) -> list[str]:
        """The data of every record of ``kind``, in key order."""
        rows = await self._store.read(queries.BY_KEY, {"bank": self.code, "kind": kind})
        return [row[0] for row in rows]

    async def _update(
        self,
        kind: str,
        key: str,
        cls: type[V],
        change: Callable[[V | None], tuple[V | None, R]],
        *,
        tag: Callable[[V], str | None] | None = None,
        forget_at: Callable[[V], datetime] | None = None,
        after: Callable[[AsyncConnection, V | None, V | None], Awaitable[None]] | None = None,
    ) -> R:
        """Read, change and write one record in one transaction."""

        where = self._one(kind, key)

        async def work(conn: AsyncConnection) -> R:
            row = (await conn.execute(queries.LOCKED_RECORD, where)).first()
            old = codec.loads(cls, row[0]) if row is not None else None
            new, result = change(old)
            if new is None:
                if row is not None:
                    await conn.execute(queries.DELETE_RECORD, where)
            else:
                data = codec.dumps(new)
                new_tag = tag(new) if tag else None
                new_forget_at = _epoch(forget_at(new)) if forget_at else None
                if row is None:
                    await conn.execute(
                        queries.INSERT_RECORD,
                        {
                            **where,
                            "created": wall_seconds(),
                            "data": data,
                            "tag": new_tag,
                            "forget_at": new_forget_at,
                        },
                    )
                else:
                    await conn.execute(
                        queries.UPDATE_RECORD,
                        {
                            "where_bank": self.code,
                            "where_kind": kind,
                            "where_key": key,
                            "new_data": data,
                            "new_tag": new_tag,
                            "new_forget_at": new_forget_at,
                        },
                    )
            if after is not None:
                await after(conn, old, new)
            return result

        return await self._store.atomic(work)

    async def _insert(
        self,
        kind: str,
        key: str,
        value: object,
        *,
        tag: str | None = None,
        forget_at: datetime | None = None,
        now: datetime | None = None,
        replace_existing: bool = False,
    ) -> None:
        where = self._one(kind, key)

        async def work(conn: AsyncConnection) -> None:
            if replace_existing:
                await conn.execute(queries.DELETE_RECORD, where)
            await conn.execute(
                queries.INSERT_RECORD,
                {
                    **where,
                    "tag": tag,
                    "forget_at": _epoch(forget_at),
                    "created": wall_seconds(),
                    "data": codec.dumps(value),
                },
            )
            if now is not None and self._store.due_for_sweep(self.code, kind):
                await self._sweep(conn, kind, now)

        await self._store.atomic(work)

    # Clock -------------------------------------------------------------------------

    async def get_clock(self) -> ClockState | None:
        return await self._get("clock", "", ClockState)

    async def update_clock(self, change: Callable[[ClockState | None], ClockState]) -> ClockState:
        def apply(old: ClockState | None) -> tuple[ClockState | None, ClockState]:
            new = change(old)
            return new, new

        return await self._update("clock", "", ClockState, apply)

    # Linkages ----------------------------------------------------------------------

    async def add_linkage(
        self, linkage: Linkage, now: datetime, per_client: int | None = None
    ) -> bool:
        cap = self._store.linkage_cap

        async def work(conn: AsyncConnection) -> bool:
            live = self._where("linkage")
            await conn.execute(delete(records).where(live, records.c.forget_at <= now.timestamp()))
            if per_client is not None:
                # One writer per bank while counting (PostgreSQL reads committed rows only;
                # SQLite already begins IMMEDIATE), so two workers cannot both pass the quota.
                await conn.execute(
                    select(banks.c.code).where(banks.c.code == self.code).with_for_update()
                )
                held_by_client = (
                    await conn.execute(
                        select(func.count()).where(live, records.c.owner == linkage.client_id)
                    )
                ).scalar() or 0
                if held_by_client >= per_client:
                    return False
            held = (await conn.execute(select(func.count()).where(live))).scalar() or 0
            if held >= cap:
                oldest = (
                    select(records.c.key)
                    .where(live)
                    .order_by(records.c.created, records.c.key)
                    .limit(held - cap + 1)
                )
                await conn.execute(delete(records).where(live, records.c.key.in_(oldest)))
            await conn.execute(
                insert(records).values(
                    bank=self.code,
                    kind="linkage",
                    key=linkage.key,
                    tag=linkage.linkage_id,
                    owner=linkage.client_id,
                    forget_at=linkage.expires_at.timestamp(),
                    created=wall_seconds(),
                    version=linkage.version,
                    data=codec.dumps(linkage),
                )
            )
            return True

        return await self._store.atomic(work)

    async def find_linkage(self, linkage_id: str) -> Linkage | None:
        found = await self._all("linkage", Linkage, tag=linkage_id)
        return found[0] if found else None

    async def save_linkage(self, linkage: Linkage) -> Linkage | None:
        saved = replace(linkage, version=linkage.version + 1)

        async def work(conn: AsyncConnection) -> bool:
            done = await conn.execute(
                queries.SAVE_LINKAGE,
                {
                    "where_bank": self.code,
                    "where_kind": "linkage",
                    "where_key": linkage.key,
                    "where_version": linkage.version,
                    "new_version": saved.version,
                    "new_tag": saved.linkage_id,
                    "new_forget_at": saved.expires_at.timestamp(),
                    "new_data": codec.dumps(saved),
                },
            )
            return bool(done.rowcount)

        return saved if await self._store.atomic(work) else None

    async def drop_linkage(self, key: str) -> None:
        where = self._one("linkage", key)
        await self._store.atomic(lambda conn: conn.execute(queries.DELETE_RECORD, where))

    async def linkages(self) -> list[Linkage]:
        return await self._all("linkage", Linkage)

    # Lockout -----------------------------------------------------------------------

    async def get_lock(self, key: str) -> LockRecord | None:
        return await self._get("lock", key, LockRecord)

    async def update_lock(
        self, key: str, change: Callable[[LockRecord | None], tuple[LockRecord | None, R]]
    ) -> R:
        return await self._update(
            "lock", key, LockRecord, change, forget_at=lambda record: record.forget_at()
        )

    # Phone -------------------------------------------------------------------------

    @staticmethod
    def _phone_tag(challenge: PhoneChallenge) -> str | None:
        return challenge.registered_phone if challenge.pending else None

    async def put_challenge(self, challenge: PhoneChallenge) -> None:
        await self._insert(
            "challenge",
            challenge.challenge_id,
            challenge,
            tag=self._phone_tag(challenge),
            forget_at=challenge.forget_at,
            now=challenge.started_at,
            replace_existing=True,
        )

    async def get_challenge(self, challenge_id: str) -> PhoneChallenge | None:
        return await self._get("challenge", challenge_id, PhoneChallenge)

    async def pending_challenges(self, phone: str) -> list[PhoneChallenge]:
        found = await self._all("challenge", PhoneChallenge, tag=phone)
        return [c for c in found if c.pending]

    async def update_challenge(
        self, challenge_id: str, change: Callable[[PhoneChallenge], PhoneChallenge]
    ) -> PhoneChallenge | None:
        def apply(
            old: PhoneChallenge | None,
        ) -> tuple[PhoneChallenge | None, PhoneChallenge | None]:
            if old is None:
                return None, None
            new = change(old)
            return new, new

        return await self._update(
            "challenge",
            challenge_id,
            PhoneChallenge,
            apply,
            tag=self._phone_tag,
            forget_at=lambda c: c.forget_at,
        )

    async def drop_challenge(self, challenge_id: str) -> bool:
        async def work(conn: AsyncConnection) -> bool:
            done = await conn.execute(queries.DELETE_RECORD, self._one("challenge", challenge_id))
            return bool(done.rowcount)

        return await self._store.atomic(work)

    # Codes, grants, tokens ---------------------------------------------------------

    async def put_code(self, hashed: str, record: CodeRecord, now: datetime) -> None:
        await self._insert("code", hashed, record, forget_at=record.forget_at, now=now)

    async def get_code(self, hashed: str) -> CodeRecord | None:
        return await self._get("code", hashed, CodeRecord)

    async def update_code(
        self, hashed: str, change: Callable[[CodeRecord | None], tuple[CodeRecord | None, R]]
    ) -> R:
        return await self._update(
            "code", hashed, CodeRecord, change, forget_at=lambda r: r.forget_at
        )

    async def get_grant(self, grant_id: str) -> GrantRecord | None:
        return await self._get("grant", grant_id, GrantRecord)

    async def grant_of_token(self, hashed: str) -> GrantRecord | None:
        rows = await self._store.read(queries.GRANT_OF_TOKEN, {"bank": self.code, "token": hashed})
        return codec.loads(GrantRecord, rows[0][0]) if rows else None

    async def update_grant(
        self,
        grant_id: str,
        change: Callable[[GrantRecord | None], tuple[GrantRecord | None, R]],
    ) -> R:
        async def index(
            conn: AsyncConnection, old: GrantRecord | None, new: GrantRecord | None
        ) -> None:
            before = set(old.tokens) if old is not None else set()
            after = set(new.tokens) if new is not None else set()
            gone = before - after
            if gone:
                await conn.execute(
                    delete(records).where(self._where("token"), records.c.key.in_(gone))
                )
            for hashed in sorted(after - before):
                await conn.execute(
                    insert(records).values(
                        bank=self.code,
                        kind="token",
                        key=hashed,
                        tag=grant_id,
                        forget_at=_epoch(new.forget_at) if new is not None else None,
                        created=wall_seconds(),
                        data=grant_id,
                    )
                )
            if old is None and new is not None and self._store.due_for_sweep(self.code, "grant"):
                await self._sweep_grants(conn, new.grant.auth_time)

        return await self._update(
            "grant", grant_id, GrantRecord, change, forget_at=lambda g: g.forget_at, after=index
        )

    async def _sweep_grants(self, conn: AsyncConnection, now: datetime) -> None:
        gone = await self._sweep(conn, "grant", now)
        if gone:
            await conn.execute(delete(records).where(self._where("token"), records.c.tag.in_(gone)))

    async def _sweep(self, conn: AsyncConnection, kind: str, now: datetime) -> list[str]:
        """Forget records of ``kind`` past their time, and the oldest past RECORD_CAP."""
        where = self._where(kind)
        stale = select(records.c.key).where(where, records.c.forget_at < now.timestamp())
        gone = [row[0] for row in (await conn.execute(stale)).all()]
        held = (await conn.execute(select(func.count()).where(where))).scalar() or 0
        excess = held - len(gone) - self._store.record_cap
        if excess > 0:
            oldest = (
                select(records.c.key)
                .where(where, records.c.forget_at >= now.timestamp())
                .order_by(records.c.created, records.c.key)
                .limit(excess)
            )
            gone += [row[0] for row in (await conn.execute(oldest)).all()]
        for start in range(0, len(gone), 500):
            await conn.execute(
                delete(records).where(where, records.c.key.in_(gone[start : start + 500]))
            )
        return gone

    async def grants(self) -> list[GrantRecord]:
        return await self._all("grant", GrantRecord)

    # Rules -------------------------------------------------------------------------

    async def runtime_rules(self) -> list[RuleModel]:
        return [RuleModel.model_validate_json(data) for data in await self._by_key("rule")]

    async def add_rule(self, rule: RuleModel) -> int:
        async def work(conn: AsyncConnection) -> int:
            held = (
                await conn.execute(select(func.count()).where(self._where("rule")))
            ).scalar() or 0
            await conn.execute(
                insert(records).values(
                    bank=self.code,
                    kind="rule",
                    key=f"{held:08d}",
                    created=wall_seconds(),
                    data=rule.model_dump_json(),
                )
            )
            return int(held) + 1

        return await self._store.atomic(work)

    async def clear_runtime_rules(self, first_index: int) -> None:
        async def work(conn: AsyncConnection) -> None:
            await conn.execute(delete(records).where(self._where("rule")))
            await conn.execute(
                delete(records).where(
                    self._where("rule_count"), records.c.key >= f"{first_index:08d}"
                )
            )

        await self._store.atomic(work)

    async def rule_counts(self) -> dict[int, RuleCount]:
        rows = await self._store.read(queries.KEYED, {"bank": self.code, "kind": "rule_count"})
        return {int(key): codec.loads(RuleCount, data) for key, data in rows}

    async def update_rule_count(
        self, index: int, change: Callable[[RuleCount], tuple[RuleCount, R]]
    ) -> R:
        def apply(old: RuleCount | None) -> tuple[RuleCount | None, R]:
            return change(old or RuleCount())

        return await self._update("rule_count", f"{index:08d}", RuleCount, apply)

    # Journal, outbox, coverage, 移管 ---------------------------------------------------

    async def record_request(self, entry: JournalEntry) -> JournalEntry:
        async def work(conn: AsyncConnection) -> int:
            done = await conn.execute(
                queries.JOURNAL_INSERT, {"bank": self.code, "data": codec.dumps(entry)}
            )
            seq = int(_inserted_id(done))
            if self._store.due_for_sweep(self.code, "journal"):
                await conn.execute(
                    delete(journal).where(
                        journal.c.bank == self.code, journal.c.seq <= seq - self._store.journal_cap
                    )
                )
            return seq

        # One INSERT is atomic by itself: no transaction around it (autocommit), which saves
        # the BEGIN and COMMIT round trips on the one write every request makes.
        entry.seq = await self._store.single(work)
        return entry

    async def journal(self, since: int = 0) -> list[JournalEntry]:
        rows = await self._store.read(
            select(journal.c.seq, journal.c.data)
            .where(journal.c.bank == self.code, journal.c.seq > since)
            .order_by(journal.c.seq.desc())
            .limit(self._store.journal_cap)
        )
        return [
            _numbered(codec.loads(JournalEntry, data), int(seq)) for seq, data in reversed(rows)
        ]

    async def send_mail(self, mail: Mail) -> Mail:
        async def work(conn: AsyncConnection) -> int:
            done = await conn.execute(
                insert(mails).values(bank=self.code, recipient=mail.to, data=codec.dumps(mail))
            )
            mail_id = int(_inserted_id(done))
            if self._store.due_for_sweep(self.code, "mail"):
                await conn.execute(
                    delete(mails).where(
                        mails.c.bank == self.code,
                        mails.c.mail_id <= mail_id - self._store.outbox_cap,
                    )
                )
            return mail_id

        return replace(mail, mail_id=await self._store.atomic(work))

    async def mails(self, to: str | None = None) -> list[Mail]:
        query = select(mails.c.mail_id, mails.c.data).where(mails.c.bank == self.code)
        if to is not None:
            query = query.where(mails.c.recipient == to)
        rows = await self._store.read(
            query.order_by(mails.c.mail_id.desc()).limit(self._store.outbox_cap)
        )
        return [replace(codec.loads(Mail, data), mail_id=int(i)) for i, data in reversed(rows)]

    async def count_served(self, code: str, client_id: str | None) -> None:
        key = f"{code}\x1f{client_id or ''}"

        def bump(old: int | None) -> tuple[int, None]:
            return (old or 0) + 1, None

        await self._update("served", key, int, bump)

    async def served(self) -> dict[tuple[str, str], int]:
        rows = await self._store.read(queries.KEYED, {"bank": self.code, "kind": "served"})
        out: dict[tuple[str, str], int] = {}
        for key, data in rows:
            code, _, client = key.partition("\x1f")
            out[(code, client)] = int(data)
        return out

    async def _add_rebuilding(self, kind: str, name: str, value: object) -> None:
        """Keep ``value`` in the bank's history (transfers, postings) and bump the bank's
        generation, in one transaction: every worker rebuilds the bank with it."""

        async def work(conn: AsyncConnection) -> None:
            # Keyed by wall time, then a name of its own: in order, never equal.
            now = wall_seconds()
            await conn.execute(
                insert(records).values(
                    bank=self.code,
                    kind=kind,
                    key=f"{now:020.6f}-{name}"[:128],
                    created=now,
                    data=codec.dumps(value),
                )
            )
            await conn.execute(
                update(banks)
                .where(banks.c.code == self.code)
                .values(generation=banks.c.generation + 1)
            )

        await self._store.atomic(work)

    async def add_transfer(self, transfer: Transfer) -> None:
        await self._add_rebuilding("transfer", transfer.ref, transfer)

    async def add_posting(self, posting: Posting) -> None:
        await self._add_rebuilding("posting", posting.posting_id, posting)

    async def postings(self) -> list[Posting]:
        return [codec.loads(Posting, data) for data in await self._by_key("posting")]

    async def transfers(self) -> list[Transfer]:
        return [codec.loads(Transfer, data) for data in await self._by_key("transfer")]


def _numbered(entry: JournalEntry, seq: int) -> JournalEntry:
    entry.seq = seq
    return entry
