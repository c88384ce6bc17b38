"""The README stays true: its two commands, the error catalog, the CI script."""

from __future__ import annotations

import re
from pathlib import Path

from sandbox.errors import CATALOG
from sandbox.scenario.bundled import bundled_scenarios
from sandbox.scenario.loader import load_scenario_text, scenario_warnings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _first_commands() -> list[str]:
    block = re.search(r"```sh\n(.*?)```", README, re.S)
    assert block is not None
    return block.group(1).strip().splitlines()


def test_readme_opens_with_serve_and_test_commands() -> None:
    serve, test = _first_commands()
    assert serve.endswith("pip install . && sandbox serve")
    assert test.endswith("pip install -e '.[test]' && pytest")
    assert README.index("```sh") < README.index("## ")


def test_ci_runs_the_readme_test_install() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "pip install --quiet -e '.[test]'" in ci
    assert "pytest" in ci


def test_every_catalog_code_is_documented() -> None:
    for code, entry in CATALOG.items():
        assert f"`{code}`" in README, code
        if entry.documented:
            assert entry.message in README, code


def test_every_bundled_scenario_is_named() -> None:
    for name, _ in bundled_scenarios():
        assert f"`{name}`" in README, name


def test_the_scenario_reference_loads_and_every_rule_can_fire() -> None:
    start = README.index("```yaml\n") + len("```yaml\n")
    text = README[start : README.index("```", start)]
    scenario = load_scenario_text(text, "README.md")
    assert len(scenario.rules) == 2
    assert scenario_warnings(text, "README.md") == []


def test_the_demo_apps_size_is_current() -> None:
    found = re.search(r"It is a (\d+)-line budgeting app", README)
    assert found is not None
    lines = len((ROOT / "examples" / "demo_client.py").read_text(encoding="utf-8").splitlines())
    assert abs(lines - int(found[1])) <= lines * 0.1, lines


def test_the_performance_figures_are_those_of_the_recorded_runs() -> None:
    """Every figure in the Performance tables is in the bench output it cites: the timings
    in docs/bench-outside.txt, the instruction counts in docs/bench-instructions.txt."""
    section = README[README.index("## Performance") : README.index("## Architecture")]
    docs = ROOT / "docs"
    outside = (docs / "bench-outside.txt").read_text(encoding="utf-8")
    instructions = (docs / "bench-instructions.txt").read_text(encoding="utf-8")
    assert "python bench/outside.py" in section
    assert "bench/instructions.py" in section
    assert outside.split(" · ")[0] in section  # the run's date and time
    rows: dict[str, list[str]] = {"outside": [], "instructions": []}
    table = "outside"
    for line in section.splitlines():
        if line.startswith("| instructions per request"):
            table = "instructions"
        elif line.startswith("| `"):
            rows[table].append(line)
    for name, recorded in (("outside", outside), ("instructions", instructions)):
        figures = [n for line in rows[name] for n in re.findall(r"\b\d{1,3}(?:,\d{3})+\b", line)]
        assert len(figures) >= 6, name
        for figure in figures:
            assert figure in recorded, (name, figure)
