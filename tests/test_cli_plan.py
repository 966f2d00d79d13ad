"""`planner plan` on the embedded default scenario, from a real subprocess (stdout must stay clean)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from planner.cli.main import app
from planner.optimize.run import plan_fleet

from helpers import OPTIONS, problem, sku

PLANNER = [sys.executable, "-m", "planner.cli.main"]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*PLANNER, *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_default_plan_json_subprocess_is_clean(tmp_path):
    # from another directory: package data must be found; HiGHS' C-level banner must not reach stdout
    result = run("plan", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["status"] == "optimal"
    chosen = [f["sku"] for f in doc["fleet"] if f["units"] > 0]
    assert len(chosen) >= 2  # a mix
    assert "power_cap" in doc["binding"]
    assert doc["power_mw"] <= doc["power_cap_mw"]
    assert set(doc["timings"]) >= {"build_s", "handoff_s", "solve_s", "total_s"}


def test_default_plan_human(runner):
    result = runner.invoke(app, ["plan"])
    assert result.exit_code == 0, result.output
    for text in ("cost per million tokens", "facility power", "binding: power_cap", "gb300-nvl72", "MW-year"):
        assert text in result.stdout


def test_schema_command(runner):
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert "skus" in schema["properties"] and "constraints" in schema["properties"]


def test_cbc_backend_agrees_with_highs():
    import pulp

    if not any(s in pulp.listSolvers(onlyAvailable=True) for s in ("PULP_CBC_CMD", "COIN_CMD")):
        pytest.skip("CBC not installed (PuLP 4 without pulp[cbc])")
    skus = [sku("a", g=8, kw=1.5, cost=1.2, thr=100, billed=True), sku("b", g=72, kw=1.1, cost=2.0, thr=400)]
    base = problem(skus, [[3000, 9000, 20000]], power_mw=0.5)
    highs = plan_fleet(base, OPTIONS, explain=False)
    cbc = plan_fleet(base, replace(OPTIONS, backend="cbc"), explain=False)
    assert cbc.total_cost_usd == pytest.approx(highs.total_cost_usd, rel=1e-4)


@pytest.mark.parametrize(
    ("flag", "value"), [("--power-cap-mw", "-5"), ("--budget-usd-per-hour", "0"), ("--capex-budget-usd", "-1e6")]
)
def test_a_bad_cap_flag_is_named(runner, flag, value):
    result = runner.invoke(app, ["plan", flag, value])
    assert result.exit_code == 2 and f"{flag} {float(value):g}: a cap must be a positive number" in result.output


@pytest.mark.parametrize("command", ["plan", "buildout"])
def test_out_naming_a_file_is_refused_before_work(runner, tmp_path, command):
    target = tmp_path / "results"
    target.write_text("not a folder")
    result = runner.invoke(app, [command, "--out", str(target)])
    assert result.exit_code == 2 and "is a file, not a folder; give a folder" in result.output
    assert target.read_text() == "not a folder"


@pytest.mark.parametrize(
    "args",
    [
        ["diff", "default", "default", "--json"],
        ["validate", "default", "--json", "--windows", "1", "--window-s", "5", "--warmup-s", "5"],
    ],
)
def test_other_json_commands_keep_stdout_clean_at_the_fd_level(tmp_path, args):
    # the CLI no longer makes a HiGHS object at start-up (it would cost --help 0.5 s): the first
    # solve silences the banner, whichever command makes it
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    json.loads(result.stdout)
    assert "HiGHS" not in result.stdout and "Running" not in result.stdout
