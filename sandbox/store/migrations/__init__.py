"""Schema migrations of the SQL store (Alembic), run from code: no alembic.ini needed.

``sandbox db upgrade`` runs :func:`upgrade`; a SQLite store runs it itself at start; a
PostgreSQL store only checks :func:`is_current` at start, so that a deploy upgrades once.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

HERE = Path(__file__).parent


def config(connection: Connection | None = None) -> Config:
    """An Alembic configuration for this package's scripts (``connection`` for env.py)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["connection"] = connection
    return cfg


def head() -> str | None:
    return ScriptDirectory.from_config(config()).get_current_head()


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (the newest by default)."""

    def run(connection: Connection) -> None:
        command.upgrade(config(connection), revision)

    async with engine.begin() as conn:
        await conn.run_sync(run)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Take the schema back to ``revision`` (for rolling back a deploy)."""

    def run(connection: Connection) -> None:
        command.downgrade(config(connection), revision)

    async with engine.begin() as conn:
        await conn.run_sync(run)


async def current(engine: AsyncEngine) -> str | None:
    """The revision the database is at (None: no schema yet)."""

    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as conn:
        return await conn.run_sync(read)


async def is_current(engine: AsyncEngine) -> bool:
    return await current(engine) == head()
