"""Schema migrations: a store made by an older revision upgrades and keeps its banks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from sandbox.scenario.bundled import default_scenario
from sandbox.store import migrations
from sandbox.store.sql import SqlStore
from tests.stores import drop_database, empty_postgres_database


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SqlStore]:
    """A SQL store with no schema yet."""
    if request.param == "sqlite":
        store = SqlStore(f"sqlite:///{tmp_path / 'old.db'}")
        yield store
        await store.close()
        return
    url = await empty_postgres_database()
    store = SqlStore(url)
    try:
        yield store
    finally:
        await store.close()
        await drop_database(url)


async def test_a_0001_store_upgrades_and_keeps_its_banks_and_records(empty: SqlStore) -> None:
    await migrations.upgrade(empty.engine, "0001")
    scenario = default_scenario()
    async with empty.engine.begin() as conn:  # what a 0001 store held: bank 2011 and a lock
        await conn.execute(
            text(
                "INSERT INTO banks (code, scenario, source, generation, loaded_seq) "
                "VALUES ('2011', :scenario, '<embedded>', 3, 1)"
            ),
            {"scenario": scenario.model_dump_json()},
        )
        await conn.execute(
            text(
                "INSERT INTO records (bank, kind, key, created, version, data) "
                "VALUES ('2011', 'lock', 'k', 0, 0, 'x')"
            )
        )
    await migrations.upgrade(empty.engine)
    assert await migrations.current(empty.engine) == migrations.head()
    (record,) = await empty.banks()
    assert (record.key, record.code, record.workspace, record.generation) == ("2011", "2011", "", 3)
    assert record.scenario == scenario
    assert await empty.banks("acme") == []
    async with empty.engine.connect() as conn:
        kept = (await conn.execute(text("SELECT bank, owner FROM records"))).all()
    assert [tuple(row) for row in kept] == [("2011", None)]
    # Hosted keys are longer than a bank code: the widened column takes them.
    await empty.put_bank("a-workspace-name-of-32-characters/2011", scenario, "<t>", "acme")
    assert [r.key for r in await empty.banks("acme")] == ["a-workspace-name-of-32-characters/2011"]


async def test_the_newest_revision_downgrades_to_0001(empty: SqlStore) -> None:
    await migrations.upgrade(empty.engine)
    await migrations.downgrade(empty.engine, "0001")
    assert await migrations.current(empty.engine) == "0001"
    await migrations.upgrade(empty.engine)
    assert await migrations.current(empty.engine) == migrations.head()
