"""Where all mutable state lives: the store interface and its backends."""

from __future__ import annotations

from sandbox.store.base import (
    BankRecord,
    Store,
    StoreError,
    TenantStore,
    WorkspaceRecord,
    tenant_key,
)
from sandbox.store.memory import MemoryStore

__all__ = [
    "BankRecord",
    "Store",
    "StoreError",
    "TenantStore",
    "WorkspaceRecord",
    "is_sql",
    "open_store",
    "tenant_key",
]


def open_store(url: str = "memory", **caps: int) -> Store:
    """The store a URL names: ``memory``, ``sqlite:///path.db`` or ``postgresql://...``.

    ``caps`` bound what one bank holds (``journal_cap``, ``outbox_cap``, ...). Call
    ``await store.open()`` before use (a SQL store migrates or checks its schema).
    """
    if url == "memory":
        return MemoryStore(**caps)
    if url.startswith(("sqlite:", "postgresql:", "postgres:")):
        from sandbox.store.sql import SqlStore

        return SqlStore(url.replace("postgres://", "postgresql://", 1), **caps)
    raise StoreError(
        f"unknown store {url[:60]!r}: use memory, sqlite:///path/to/file.db or "
        "postgresql://user@host/db"
    )


def is_sql(url: str) -> bool:
    """Whether ``url`` names a SQL store (state that outlives the process)."""
    return url != "memory"
