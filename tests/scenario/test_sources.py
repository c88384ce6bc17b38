"""Where served scenarios come from: files, bundled names, --client; served together."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.scenario.bundled import bundled_scenarios
from sandbox.scenario.edit import client_spec
from sandbox.scenario.problems import ScenarioError
from sandbox.scenario.sources import load_source, served_scenarios


def test_a_bundled_name_loads_the_bundled_scenario() -> None:
    for name in ("lockout", "lockout.yaml"):
        scenario, source = load_source(Path(name))
        assert scenario.name == "lockout"
        assert source == "bundled:lockout"


def test_a_file_of_that_name_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("lockout.yaml").write_text('name: mine\nbank: {code: "2999"}\n', encoding="utf-8")
    scenario, source = load_source(Path("lockout.yaml"))
    assert (scenario.name, source) == ("mine", "lockout.yaml")


def test_an_unknown_name_is_a_missing_file() -> None:
    with pytest.raises(ScenarioError, match="cannot read file"):
        load_source(Path("no-such-scenario"))


def test_every_bundled_scenario_can_be_served_together_with_the_demo_client() -> None:
    names = [Path(name) for name, _ in bundled_scenarios()]
    served = served_scenarios(names)
    codes = [scenario.bank.code for scenario, _ in served]
    assert len(set(codes)) == len(names)
    assert codes[names.index(Path("default"))] == "2011"
    for scenario, _ in served:
        assert "demo-app" in [c.client_id for c in scenario.clients], scenario.name


def test_client_specs_are_added_to_every_scenario() -> None:
    spec = client_spec("my-app:my-secret-123:http://127.0.0.1:3000/callback?x=1")
    assert spec.client_id == "my-app"
    assert spec.redirect_uris == ["http://127.0.0.1:3000/callback?x=1"]
    served = served_scenarios([Path("lockout"), Path("congestion")], [spec])
    for scenario, _ in served:
        assert scenario.clients[-1] == spec


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("my-app:secret-only", "give ID:SECRET:REDIRECT_URI"),
        ("my-app::http://x/cb", "give ID:SECRET:REDIRECT_URI"),
        ("my-app:short:http://127.0.0.1/cb", "client_secret"),
        ("my-app:my-secret-123:http://127.0.0.1/cb#frag", "redirect_uris"),
    ],
)
def test_a_bad_client_spec_says_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        client_spec(spec)
