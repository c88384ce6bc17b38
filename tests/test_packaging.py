"""pyproject's package list: every package under sandbox/, plus scenarios/ as sandbox.scenarios."""

from __future__ import annotations

import tomllib
from pathlib import Path

import sandbox

ROOT = Path(__file__).resolve().parents[1]
SETUPTOOLS = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
    "setuptools"
]


def test_every_folder_under_sandbox_is_listed() -> None:
    # packages.find would not see the sandbox.scenarios mapping, so the list is written out;
    # a folder missing from it is left out of the wheel (setuptools only warns).
    root = ROOT / "sandbox"
    found = {"sandbox"} | {
        ".".join(folder.relative_to(ROOT).parts)
        for folder in root.rglob("*")
        if folder.is_dir() and "__pycache__" not in folder.parts
    }
    assert set(SETUPTOOLS["packages"]) == found | {"sandbox.scenarios"}


def test_scenarios_are_installed_as_package_data() -> None:
    assert SETUPTOOLS["package-dir"] == {"sandbox.scenarios": "scenarios"}
    assert not (ROOT / "sandbox" / "scenarios").exists(), "scenarios/ is the only copy"
    patterns = SETUPTOOLS["package-data"]["sandbox.scenarios"]
    shipped = {p.name for pattern in patterns for p in (ROOT / "scenarios").glob(pattern)}
    assert shipped == {p.name for p in (ROOT / "scenarios").iterdir() if p.is_file()}


def test_version_is_read_from_the_package() -> None:
    assert SETUPTOOLS["dynamic"]["version"] == {"attr": "sandbox.__version__"}
    assert sandbox.__version__.count(".") == 2
