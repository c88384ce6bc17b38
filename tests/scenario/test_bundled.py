"""The bundled scenarios (scenarios/): one per documented error, each valid and described."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.domain.bank import AccountType
from sandbox.errors import CATALOG
from sandbox.scenario.bundled import bundled_scenario_text, bundled_scenarios, default_scenario
from sandbox.scenario.loader import load_scenario, load_scenario_text
from sandbox.store.memory import MemoryStore
from sandbox.tenant.registry import Registry
from tests.scenario.bundled_cases import ERROR_SCENARIOS

NAMES = [name for name, _ in bundled_scenarios()]
ROOT = Path(__file__).resolve().parents[2]


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


def test_default_scenario_loads() -> None:
    scenario = default_scenario()
    assert scenario.bank.code == "2011"
    assert scenario.bank.name == "ぐんまみらい信用組合"
    assert len(scenario.bank.branches) == 3
    assert scenario.clock.start is None
    assert not scenario.clock.frozen
    assert [c.client_id for c in scenario.clients] == ["demo-app", "pkce-app"]
    assert scenario.clients[0].client_secret == "demo-secret-please-change"
    assert scenario.clients[1].pkce == "required"
    assert scenario.generate is not None
    assert (scenario.generate.count, scenario.generate.seed) == (1000, 1)
    taro = scenario.customers[0]
    assert taro.name_kana == "ﾃﾞｰﾀ ﾀﾛｳ"
    assert str(taro.birth_date) == "1980-01-01"
    assert taro.phone == "090-1234-5678"
    assert (taro.accounts[0].branch, taro.accounts[0].number) == ("001", "1234567")
    assert taro.accounts[0].pin == "1234"
    accounts = [a for c in scenario.customers for a in c.accounts]
    assert any(a.type == AccountType.SAVINGS for a in accounts)
    assert any(a.type == AccountType.CURRENT for a in accounts)
    assert any(not a.cash_card for a in accounts)


def test_default_file_starts_with_schema_comment() -> None:
    text = (ROOT / "scenarios" / "default.yaml").read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=./schema.json\n")


def test_every_bundled_scenario_is_valid() -> None:
    names = [name for name, _ in bundled_scenarios()]
    assert "default" in names
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        load_scenario(path)
