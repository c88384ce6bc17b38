"""The tenants side by side, one per bank code of each workspace, over one store."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from sandbox.scenario.model import Scenario
from sandbox.store.base import Store, tenant_key
from sandbox.tenant.tenant import Tenant


class Registry:
    """Finds a bank's tenant; rebuilds it when the store says the bank was reset or replaced.

    ``workspace`` is "" in local mode (one implicit workspace); in hosted mode every call
    names the workspace, and no call reaches a bank of another.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._tenants: dict[str, Tenant] = {}

    async def load(
        self, scenario: Scenario, source: str, workspace: str = ""
    ) -> tuple[Tenant, bool]:
        """Load (or replace) the bank of ``scenario`` with fresh state; True if replaced."""
        key = tenant_key(workspace, scenario.bank.code)
        replaced = await self.store.put_bank(key, scenario, source, workspace)
        return await self._rebuild(key), replaced is not None

    async def ensure(self, scenario: Scenario, source: str, workspace: str = "") -> str:
        """Load ``scenario`` at start, unless the store already holds its bank.

        A bank the store holds keeps its state (a restart loses nothing); it is replaced only
        when it came from the same ``source`` and that file changed. Returns what was done:
        ``loaded``, ``kept`` or ``replaced``.
        """
        held = await self.store.bank(tenant_key(workspace, scenario.bank.code))
        if held is None:
            await self.load(scenario, source, workspace)
            return "loaded"
        if held.source == source and held.scenario != scenario:
            await self.load(scenario, source, workspace)
            return "replaced"
        return "kept"

    def get(self, code: str, workspace: str = "") -> Coroutine[Any, Any, Tenant | None]:
        """The tenant of bank ``code`` in ``workspace``, if loaded (await it). Every request
        asks: _get's coroutine is handed back rather than wrapped in one more."""
        return self._get(tenant_key(workspace, code))

    async def _get(self, key: str) -> Tenant | None:
        record = await self.store.bank(key)
        if record is None:
            self._tenants.pop(key, None)
            return None
        tenant = self._tenants.get(key)
        if tenant is None or tenant.generation != record.generation:
            tenant = self._tenants[key] = await Tenant.open(record, self.store.tenant(key))
        return tenant

    async def _rebuild(self, key: str) -> Tenant:
        self._tenants.pop(key, None)
        tenant = await self._get(key)
        assert tenant is not None
        return tenant

    async def reset(self, code: str, workspace: str = "") -> Tenant:
        """Forget everything that happened since start: the tenant is rebuilt (moto's reset)."""
        key = tenant_key(workspace, code)
        await self.store.reset_bank(key)
        return await self._rebuild(key)

    async def update_scenario(
        self, code: str, workspace: str, change: Callable[[Scenario], Scenario]
    ) -> Tenant:
        """Change the bank's scenario (e.g. add a client) keeping its state; rebuilt."""
        key = tenant_key(workspace, code)
        await self.store.update_scenario(key, change)
        return await self._rebuild(key)

    async def tenants(self, workspace: str = "") -> list[Tenant]:
        """Every bank loaded in ``workspace``, in load order."""
        out = []
        for record in await self.store.banks(workspace):
            tenant = await self._get(record.key)
            if tenant is not None:
                out.append(tenant)
        return out

    async def default(self, workspace: str = "") -> Tenant | None:
        """The bank loaded first (the one control calls address without ``?bank=``)."""
        banks = await self.store.banks(workspace)
        return await self._get(banks[0].key) if banks else None
