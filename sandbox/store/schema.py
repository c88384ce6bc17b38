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

banks = Table(
    "banks",
    metadata,
    Column("code", String(8), primary_key=True),
    Column("scenario", Text, nullable=False),  # the Scenario model as JSON
    Column("source", Text, nullable=False),
    Column("generation", Integer, nullable=False),
    Column("loaded_seq", BigInteger, nullable=False),  # load order
)

records = Table(
    "records",
    metadata,
    Column("bank", String(8), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("tag", String(128), nullable=True),
    Column("forget_at", Float, nullable=True),  # seconds since the epoch
    Column("created", Float, nullable=False),  # wall clock: past a cap the oldest go first
    Column("version", BigInteger, nullable=False, server_default="0"),
    Column("data", Text, nullable=False),
    Index("records_by_tag", "bank", "kind", "tag"),
    Index("records_by_forget_at", "bank", "kind", "forget_at"),
)

journal = Table(
    "journal",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("bank", String(8), nullable=False),
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
    Column("bank", String(8), nullable=False),
    Column("recipient", Text, nullable=False),
    Column("data", Text, nullable=False),
    Index("mails_by_bank", "bank", "mail_id"),
)
