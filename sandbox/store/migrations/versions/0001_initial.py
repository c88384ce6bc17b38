"""The first schema: banks, records, journal, mails.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "banks",
        sa.Column("code", sa.String(8), primary_key=True),
        sa.Column("scenario", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("loaded_seq", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "records",
        sa.Column("bank", sa.String(8), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("tag", sa.String(128), nullable=True),
        sa.Column("forget_at", sa.Float(), nullable=True),
        sa.Column("created", sa.Float(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("data", sa.Text(), nullable=False),
    )
    op.create_index("records_by_tag", "records", ["bank", "kind", "tag"])
    op.create_index("records_by_forget_at", "records", ["bank", "kind", "forget_at"])
    op.create_table(
        "journal",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("bank", sa.String(8), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
    )
    op.create_index("journal_by_bank", "journal", ["bank", "seq"])
    op.create_table(
        "mails",
        sa.Column("mail_id", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("bank", sa.String(8), nullable=False),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
    )
    op.create_index("mails_by_bank", "mails", ["bank", "mail_id"])


def downgrade() -> None:
    for table in ("mails", "journal", "records", "banks"):
        op.drop_table(table)
