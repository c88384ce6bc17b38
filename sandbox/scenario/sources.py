"""The scenarios a server starts with: files, bundled names, or the embedded default."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sandbox.scenario.bundled import bundled_scenario_text, default_scenario
from sandbox.scenario.edit import with_client
from sandbox.scenario.loader import load_scenario, load_scenario_text, scenario_warnings
from sandbox.scenario.model import ClientModel, Scenario
from sandbox.scenario.problems import Problem

Loaded = tuple[Scenario, str]  # a scenario and where it came from


def bundled_name(path: Path) -> str | None:
    """The bundled scenario ``path`` names (``lockout``, ``lockout.yaml``) when no such file
    exists; None otherwise."""
    if path.exists() or path.parent != Path():
        return None
    name = path.name.removesuffix(".yaml")
    try:
        bundled_scenario_text(name)
    except FileNotFoundError:
        return None
    return name


def load_source(path: Path) -> Loaded:
    """The scenario of a file, or of a bundled name; ScenarioError if invalid."""
    name = bundled_name(path)
    if name is not None:
        source = f"bundled:{name}"
        return load_scenario_text(bundled_scenario_text(name), source=source), source
    return load_scenario(path), str(path)


def source_warnings(path: Path) -> list[Problem]:
    """The warnings of a valid scenario file or bundled name (see scenario_warnings)."""
    name = bundled_name(path)
    if name is not None:
        return scenario_warnings(bundled_scenario_text(name), f"bundled:{name}")
    return scenario_warnings(path.read_text(encoding="utf-8"), str(path))


def served_scenarios(paths: Sequence[Path], clients: Sequence[ClientModel] = ()) -> list[Loaded]:
    """The scenarios of ``paths`` (or the embedded default), one bank code each, each with
    ``clients`` added (``--client``). ValueError when two name one bank code."""
    loaded = [load_source(path) for path in paths] or [(default_scenario(), "<embedded>")]
    seen: dict[str, str] = {}
    out: list[Loaded] = []
    for scenario, source in loaded:
        code = scenario.bank.code
        if code in seen:
            raise ValueError(f"{source}: bank code {code} is already loaded (from {seen[code]})")
        seen[code] = source
        for client in clients:
            scenario, _ = with_client(scenario, client)
        out.append((scenario, source))
    return out
