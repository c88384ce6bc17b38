"""The tenants side by side, one per bank code, over one store."""

from __future__ import annotations

from sandbox.scenario.model import Scenario
from sandbox.store.base import Store
from sandbox.tenant.tenant import Tenant


class Registry:
    """Finds a bank's tenant; rebuilds it when the store says the bank was reset or replaced."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._tenants: dict[str, Tenant] = {}

    async def load(self, scenario: Scenario, source: str) -> tuple[Tenant, bool]:
        """Load (or replace) the bank of ``scenario`` with fresh state; True if replaced."""
        code = scenario.bank.code
        replaced = await self.store.put_bank(code, scenario, source)
        return await self._rebuild(code), replaced is not None

    async def ensure(self, scenario: Scenario, source: str) -> str:
        """Load ``scenario`` at start, unless the store already holds its bank.

        A bank the store holds keeps its state (a restart loses nothing); it is replaced only
        when it came from the same ``source`` and that file changed. Returns what was done:
        ``loaded``, ``kept`` or ``replaced``.
        """
        held = await self.store.bank(scenario.bank.code)
        if held is None:
            await self.load(scenario, source)
            return "loaded"
        if held.source == source and held.scenario != scenario:
            await self.load(scenario, source)
            return "replaced"
        return "kept"

    async def get(self, code: str) -> Tenant | None:
        """The tenant of bank ``code``, if loaded."""
        record = await self.store.bank(code)
        if record is None:
            self._tenants.pop(code, None)
            return None
        tenant = self._tenants.get(code)
        if tenant is None or tenant.generation != record.generation:
            tenant = self._tenants[code] = await Tenant.open(record, self.store.tenant(code))
        return tenant

    async def _rebuild(self, code: str) -> Tenant:
        self._tenants.pop(code, None)
        tenant = await self.get(code)
        assert tenant is not None
        return tenant

    async def reset(self, code: str) -> Tenant:
        """Forget everything that happened since start: the tenant is rebuilt (moto's reset)."""
        await self.store.reset_bank(code)
        return await self._rebuild(code)

    async def tenants(self) -> list[Tenant]:
        """Every loaded bank, in load order."""
        out = []
        for record in await self.store.banks():
            tenant = await self.get(record.code)
            if tenant is not None:
                out.append(tenant)
        return out

    async def default(self) -> Tenant | None:
        """The bank loaded first (the one control calls address without ``?bank=``)."""
        banks = await self.store.banks()
        return await self.get(banks[0].code) if banks else None
