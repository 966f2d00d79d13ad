"""Shared fixtures: the shipped catalog, a CLI runner, and a writable copy of models/."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner.catalog.load import shipped_catalog
from planner.resources import models_dir


@pytest.fixture(scope="session")
def catalog():
    return shipped_catalog()


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture()
def models_copy(tmp_path: Path) -> Path:
    """A writable copy of the shipped catalog directory."""
    dest = tmp_path / "models"
    dest.mkdir()
    for name in ("skus.yaml", "workloads.yaml"):
        shutil.copy(models_dir() / name, dest / name)
    return dest
