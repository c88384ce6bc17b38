"""Where all mutable state lives: the store interface and its backends."""

from __future__ import annotations

from sandbox.store.base import BankRecord, Store, StoreError, TenantStore
from sandbox.store.memory import MemoryStore

__all__ = ["BankRecord", "Store", "StoreError", "TenantStore", "is_sql", "open_store"]


def open_store(url: str = "memory") -> Store:
    """The store a URL names: ``memory``, ``sqlite:///path.db`` or ``postgresql://...``.

    Call ``await store.open()`` before use (a SQL store migrates or checks its schema).
    """
    if url == "memory":
        return MemoryStore()
    if url.startswith(("sqlite:", "postgresql:", "postgres:")):
        from sandbox.store.sql import SqlStore

        return SqlStore(url.replace("postgres://", "postgresql://", 1))
    raise StoreError(
        f"unknown store {url[:60]!r}: use memory, sqlite:///path/to/file.db or "
        "postgresql://user@host/db"
    )


def is_sql(url: str) -> bool:
    """Whether ``url`` names a SQL store (state that outlives the process)."""
    return url != "memory"
