"""The bundled scenarios (scenarios/): one per documented error, each valid and described."""

from __future__ import annotations

import pytest

from sandbox.errors import CATALOG
from sandbox.scenario.loader import bundled_scenario_text, bundled_scenarios, load_scenario_text
from sandbox.store.memory import MemoryStore
from sandbox.tenant.registry import Registry

ERROR_SCENARIOS = (
    "wrong_account",
    "wrong_identity",
    "lockout",
    "locked_retry",
    "off_hours",
    "congestion",
    "system_error",
    "service_unavailable",
    "phone_timeout",
    "pin_lockout",
)
NAMES = [name for name, _ in bundled_scenarios()]


def test_every_error_scenario_is_bundled() -> None:
    assert set(ERROR_SCENARIOS) <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
async def test_bundled_scenario_loads_and_is_described(name: str) -> None:
    text = bundled_scenario_text(name)
    assert text.startswith("# yaml-language-server: $schema=./schema.json\n")
    scenario = load_scenario_text(text, source=f"{name}.yaml")
    assert scenario.name == name
    description = dict(bundled_scenarios())[name]
    assert description
    assert "\n" not in description
    assert scenario.clients, "a vendor needs a client to start a linkage"
    tenant, _ = await Registry(MemoryStore()).load(scenario, f"{name}.yaml")
    assert tenant.bank_code == scenario.bank.code  # builds without surprises


@pytest.mark.parametrize("name", ERROR_SCENARIOS)
def test_error_scenario_has_explicit_customers_and_a_frozen_clock(name: str) -> None:
    scenario = load_scenario_text(bundled_scenario_text(name))
    assert scenario.customers
    assert scenario.generate is None
    assert scenario.clock.frozen
    assert scenario.clock.start is not None
    for client in scenario.clients:
        assert client.redirect_uris


@pytest.mark.parametrize("name", ERROR_SCENARIOS)
def test_error_scenario_names_its_error_code(name: str) -> None:
    description = dict(bundled_scenarios())[name]
    code = description.split()[0].rstrip(":")
    assert code in CATALOG, description


@pytest.mark.parametrize("name", ERROR_SCENARIOS)
async def test_frozen_clock_is_open_unless_about_off_hours(name: str) -> None:
    scenario = load_scenario_text(bundled_scenario_text(name))
    tenant, _ = await Registry(MemoryStore()).load(scenario, f"{name}.yaml")
    assert tenant.calendar.is_open(await tenant.clock.now()) == (name != "off_hours")
