"""Hosted workspaces: a workspace per bank, wider bank keys, the workspaces and their keys,
and a linkage's client beside it (the per-client quota counts them).

A bank's key is its code locally and ``workspace/code`` in hosted mode (see
``sandbox.store.base.tenant_key``), so stores made by 0001 keep every row as it is.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

KEY_LENGTH = 48
_KEYED = (("banks", "code"), ("records", "bank"), ("journal", "bank"), ("mails", "bank"))


def upgrade() -> None:
    # SQLite ignores VARCHAR lengths; PostgreSQL needs the columns widened.
    if op.get_bind().dialect.name != "sqlite":
        for table, column in _KEYED:
            op.alter_column(table, column, type_=sa.String(KEY_LENGTH), existing_nullable=False)
    op.add_column("banks", sa.Column("workspace", sa.String(32), nullable=False, server_default=""))
    op.create_index("banks_by_workspace", "banks", ["workspace", "loaded_seq"])
    op.add_column("records", sa.Column("owner", sa.String(128), nullable=True))
    op.create_index("records_by_owner", "records", ["bank", "kind", "owner"])
    op.create_table(
        "workspaces",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("workspaces")
    op.drop_index("records_by_owner", "records")
    with op.batch_alter_table("records") as batch:
        batch.drop_column("owner")
    op.drop_index("banks_by_workspace", "banks")
    with op.batch_alter_table("banks") as batch:
        batch.drop_column("workspace")
    if op.get_bind().dialect.name != "sqlite":
        for table, column in _KEYED:
            op.alter_column(table, column, type_=sa.String(8), existing_nullable=False)
