"""The bundled scenarios: one per documented error, each valid, described and mirrored."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.errors import CATALOG
from sandbox.scenario.loader import bundled_scenario_text, bundled_scenarios, load_scenario_text
from sandbox.state import Sandbox

ROOT = Path(__file__).resolve().parents[2]
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
def test_bundled_scenario_loads_and_is_described(name: str) -> None:
    text = bundled_scenario_text(name)
    assert text.startswith("# yaml-language-server: $schema=./schema.json\n")
    scenario = load_scenario_text(text, source=f"{name}.yaml")
    assert scenario.name == name
    description = dict(bundled_scenarios())[name]
    assert description
    assert "\n" not in description
    assert scenario.clients, "a vendor needs a client to start a linkage"
    Sandbox(scenario)  # builds without surprises


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
def test_frozen_clock_is_open_unless_about_off_hours(name: str) -> None:
    sandbox = Sandbox(load_scenario_text(bundled_scenario_text(name)))
    assert sandbox.calendar.is_open(sandbox.clock.now()) == (name != "off_hours")


@pytest.mark.parametrize("name", NAMES)
def test_top_level_copy_matches_the_packaged_one(name: str) -> None:
    copy = ROOT / "scenarios" / f"{name}.yaml"
    assert copy.read_text(encoding="utf-8") == bundled_scenario_text(name)


def test_no_top_level_scenario_is_missing_from_the_package() -> None:
    top = sorted(p.stem for p in (ROOT / "scenarios").glob("*.yaml"))
    assert top == sorted(NAMES)
