"""The CLI starts at once: `--help` imports none of the heavy numeric or solver stack."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("scipy", "pandas", "matplotlib", "simpy", "pulp", "dask", "highspy", "numpy", "openpyxl")

PROBE = """
import json, sys
heavy = json.loads(sys.argv[2])
sys.argv = ["planner", *json.loads(sys.argv[1])]
from planner.cli.main import app
try:
    app()
except SystemExit:
    pass
sys.stderr.write(json.dumps(sorted(m for m in heavy if m in sys.modules)))
"""


def loaded_by(argv: list[str]) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(argv), json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip(), out.stderr  # help was printed
    return json.loads(out.stderr.strip().splitlines()[-1])


def test_importing_the_cli_loads_no_heavy_module():
    out = subprocess.run(
        [sys.executable, "-c", f"import sys, planner.cli.main; print([m for m in {HEAVY!r} if m in sys.modules])"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["plan", "--help"],
        ["buildout", "--help"],
        ["validate", "--help"],
        ["sweep", "--help"],
        ["demand", "--help"],
        ["demand", "fit", "--help"],
        ["compare", "--help"],
        ["report", "--help"],
        ["throughput", "estimate", "--help"],
        ["diff", "--help"],
        ["scenarios", "--help"],
        ["scenarios", "copy", "--help"],
        ["schema", "--help"],
    ],
)
def test_help_loads_no_heavy_module(argv):
    assert loaded_by(argv) == []
