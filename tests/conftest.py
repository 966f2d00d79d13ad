"""Shared fixtures: the shipped catalog, a CLI runner, and a writable copy of models/."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

# the CLI lays its tables out for COLUMNS; pytest-xdist's workers inherit a width from the terminal
# that started them: the tests read the tables at the CLI's own width (200) unless they set one
os.environ.pop("COLUMNS", None)

from planner.catalog.load import shipped_catalog  # noqa: E402 (after the width is settled)
from planner.resources import models_dir  # noqa: E402


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


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "integration: needs something beyond python3 and the package index (a browser); skipped with the reason "
        "when it is missing, required when PLANNER_REQUIRE_INTEGRATION=1 (as .ci/run sets)",
    )


@pytest.fixture()
def require():
    """``require(what, found)``: ``found`` if truthy; else skip (fresh machine) or fail (CI requires it)."""

    def check(what: str, found):
        if found:
            return found
        message = f"{what} is not installed; .ci/run installs it (apt-get install -y {what})"
        if os.environ.get("PLANNER_REQUIRE_INTEGRATION") == "1":
            pytest.fail(message + ", and PLANNER_REQUIRE_INTEGRATION=1 requires it")
        pytest.skip(message)

    return check
