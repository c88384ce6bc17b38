"""The SQL schema of the store (SQLAlchemy Core), shared by SQLite and PostgreSQL.

One row per record: ``records`` holds every kind of per-bank state as JSON under
(bank, kind, key), with ``tag`` for the one lookup each kind needs besides its key (a
linkage's public id, a pending challenge's phone, a token's grant) and ``forget_at`` for
sweeping. The journal and the outbox are append-only tables with their own sequence.
Migrations: sandbox/store/migrations (Alembic); this module is their reference.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()
KEY = 48  # a bank's key: its code, or "workspace/code" in hosted mode

banks = Table(
    "banks",
    metadata,
    Column("code", String(KEY), primary_key=True),  # the bank's key
    Column("scenario", Text, nullable=False),  # the Scenario model as JSON
    Column("source", Text, nullable=False),
    Column("generation", Integer, nullable=False),
    Column("loaded_seq", BigInteger, nullable=False),  # load order
    Column("workspace", String(32), nullable=False, server_default=""),
    Index("banks_by_workspace", "workspace", "loaded_seq"),
)

workspaces = Table(
    "workspaces",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("key_hash", String(64), nullable=False, unique=True),  # SHA-256 of the API key
    Column("created", Float, nullable=False),
)

records = Table(
    "records",
    metadata,
    Column("bank", String(KEY), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("tag", String(128), nullable=True),
    Column("owner", String(128), nullable=True),  # a linkage's client (per-client quota)
    Column("forget_at", Float, nullable=True),  # seconds since the epoch
    Column("created", Float, nullable=False),  # wall clock: past a cap the oldest go first
    Column("version", BigInteger, nullable=False, server_default="0"),
    Column("data", Text, nullable=False),
    Index("records_by_tag", "bank", "kind", "tag"),
    Index("records_by_forget_at", "bank", "kind", "forget_at"),
    Index("records_by_owner", "bank", "kind", "owner"),
)

journal = Table(
    "journal",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("bank", String(KEY), nullable=False),
    Column("data", Text, nullable=False),
    Index("journal_by_bank", "bank", "seq"),
)

mails = Table(
    "mails",
    metadata,
    Column(
        "mail_id",
        BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("bank", String(KEY), nullable=False),
    Column("recipient", Text, nullable=False),
    Column("data", Text, nullable=False),
    Index("mails_by_bank", "bank", "mail_id"),
)
