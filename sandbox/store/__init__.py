"""Where all mutable state lives: the store interface and its backends."""

from __future__ import annotations

from sandbox.store.base import BankRecord, Store, StoreError, TenantStore
from sandbox.store.memory import MemoryStore

__all__ = ["BankRecord", "Store", "StoreError", "TenantStore", "open_store"]


def open_store(url: str = "memory") -> Store:
    """The store a URL names; ``memory`` is the only backend so far."""
    if url == "memory":
        return MemoryStore()
    raise StoreError(f"unknown store {url[:60]!r}: use memory")
