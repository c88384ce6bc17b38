"""Fresh stores of every backend for tests: memory, a SQLite file, a PostgreSQL database."""

from __future__ import annotations

import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg

from sandbox.store.base import Store
from sandbox.store.memory import RECORD_CAP, MemoryStore
from sandbox.store.sql import SqlStore
from tests.servers import postgres_url

_TEMPLATES: dict[str, str] = {}
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="sandbox-test-stores-"))


async def sqlite_template() -> Path:
    """A migrated SQLite file to copy (migrating once per test session is enough)."""
    path = _SESSION_DIR / "template.db"
    if not path.exists():  # migrating once per test session is enough
        store = SqlStore(f"sqlite:///{path}")
        await store.open()
        await store.close()
    return path


def sqlite_copy(template: Path, directory: Path, record_cap: int = RECORD_CAP) -> SqlStore:
    """A store on a new SQLite file in ``directory``, a copy of the migrated ``template``."""
    path = directory / f"store-{secrets.token_hex(4)}.db"
    shutil.copyfile(template, path)
    return SqlStore(f"sqlite:///{path}", record_cap=record_cap)


async def sqlite_store(directory: Path, record_cap: int = RECORD_CAP) -> SqlStore:
    """A store on a new, migrated SQLite file in ``directory``."""
    return sqlite_copy(await sqlite_template(), directory, record_cap)


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(postgres_url())
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def postgres_database() -> str:
    """A new, migrated database on the test PostgreSQL server (from a migrated template)."""
    base = postgres_url().rsplit("/", 1)[0]
    if "postgresql" not in _TEMPLATES:
        template = f"sandbox_template_{secrets.token_hex(4)}"
        await _admin(f'CREATE DATABASE "{template}"')
        store = SqlStore(f"{base}/{template}")
        from sandbox.store import migrations

        await migrations.upgrade(store.engine)
        await store.close()
        _TEMPLATES["postgresql"] = template
    name = f"sandbox_{secrets.token_hex(6)}"
    await _admin(f'CREATE DATABASE "{name}" TEMPLATE "{_TEMPLATES["postgresql"]}"')
    return f"{base}/{name}"


async def empty_postgres_database() -> str:
    """A new database with no schema at all (for migration tests)."""
    name = f"sandbox_empty_{secrets.token_hex(6)}"
    await _admin(f'CREATE DATABASE "{name}"')
    return f"{postgres_url().rsplit('/', 1)[0]}/{name}"


async def drop_database(url: str) -> None:
    await _admin(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


@asynccontextmanager
async def fresh_store(
    kind: str, directory: Path, record_cap: int = RECORD_CAP
) -> AsyncIterator[Store]:
    """An empty, opened store of backend ``kind`` (memory, sqlite, postgresql)."""
    url = None
    if kind == "memory":
        store: Store = MemoryStore(record_cap=record_cap)
    elif kind == "sqlite":
        store = await sqlite_store(directory, record_cap)
    else:
        url = await postgres_database()
        store = SqlStore(url, record_cap=record_cap)
    await store.open()
    try:
        yield store
    finally:
        await store.close()
        if url is not None:
            await drop_database(url)
