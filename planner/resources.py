"""Where the shipped data lives: ``models/`` and ``scenarios/`` travel as package data.

In the repository they are the top-level ``models/`` and ``scenarios/`` folders; an
installed package maps them to ``planner.models`` and ``planner.scenarios`` so that
``planner`` works from any directory.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def _package_dir(name: str) -> Path:
    path = Path(str(resources.files(f"planner.{name}")))
    if not path.is_dir():  # pragma: no cover - broken installation
        raise FileNotFoundError(f"package data planner.{name} not found at {path}")
    return path


def models_dir() -> Path:
    """Directory of the shipped hardware and workload catalogs."""
    return _package_dir("models")


def scenarios_dir() -> Path:
    """Directory of the shipped scenarios."""
    return _package_dir("scenarios")
