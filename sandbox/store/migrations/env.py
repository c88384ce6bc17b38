"""Alembic's environment: migrate the connection handed over by sandbox.store.migrations."""

from __future__ import annotations

from alembic import context

from sandbox.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `sandbox db upgrade`")
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
