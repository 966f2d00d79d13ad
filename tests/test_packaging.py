"""What a non-editable install ships: every subpackage and every shipped data folder."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_subpackage_is_listed():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "planner").rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"


def test_every_shipped_scenario_folder_is_package_data():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    patterns = data["planner.scenarios"]
    for sub in (ROOT / "scenarios").iterdir():
        if sub.is_dir() and sub.name != "__pycache__":
            assert any(p.startswith(f"{sub.name}/") for p in patterns), f"scenarios/{sub.name} is not package data"
