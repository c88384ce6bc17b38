"""The scenarios shipped with the package: scenarios/, installed as sandbox/scenarios."""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

import yaml

from sandbox.scenario.loader import load_scenario_text
from sandbox.scenario.model import Scenario
from sandbox.scenario.yaml_source import YamlLoader

PACKAGE_SCENARIOS = "scenarios"
DEFAULT_NAME = "default.yaml"


@functools.cache
def default_scenario() -> Scenario:
    """The scenario embedded in the package (sandbox/scenarios/default.yaml)."""
    return load_scenario_text(
        _package_dir().joinpath(DEFAULT_NAME).read_text(encoding="utf-8"),
        source=f"sandbox/{PACKAGE_SCENARIOS}/{DEFAULT_NAME}",
    )


def _package_dir() -> resources.abc.Traversable:
    """sandbox/scenarios when installed from a wheel, else the checkout's scenarios/ folder.

    The folder exists once, at the project root; pyproject installs it as sandbox/scenarios
    (a package-dir mapping). Editable installs and source checkouts import sandbox from the
    checkout, where no sandbox/scenarios exists, so the root folder is used there.
    """
    packaged = resources.files("sandbox").joinpath(PACKAGE_SCENARIOS)
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / PACKAGE_SCENARIOS


def bundled_scenarios() -> list[tuple[str, str]]:
    """Name and one-line description of every scenario shipped in the package."""
    out = []
    for entry in sorted(_package_dir().iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            out.append((entry.name.removesuffix(".yaml"), _description(entry.read_text("utf-8"))))
    return out


def bundled_scenario_text(name: str) -> str:
    """The YAML text of the bundled scenario ``name`` (without .yaml)."""
    entry = _package_dir().joinpath(f"{name}.yaml")
    if not entry.is_file():
        raise FileNotFoundError(name)
    return entry.read_text(encoding="utf-8")


def _description(text: str) -> str:
    try:
        data = yaml.load(text, Loader=YamlLoader)
    except yaml.YAMLError:
        return "(invalid YAML)"
    description = data.get("description", "") if isinstance(data, dict) else ""
    return str(description).strip().splitlines()[0] if description else ""
