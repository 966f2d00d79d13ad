"""Issue 26 item 8: a run that ends in exit 3 writes only its diagnosis, absurd sweep ranges and
overlong traces are exit 2 naming what to fix, `planner --version`, a buildout scenario whose
single period is infeasible says to plan its periods with `planner buildout`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from planner.cli.main import app

ROOT = Path(__file__).resolve().parents[1]


def test_version(runner):
    from planner import __version__

    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0 and r.stdout.strip() == f"planner {__version__}"


def test_an_infeasible_plan_writes_only_its_diagnosis(runner, tmp_path):
    out = tmp_path / "d"
    r = runner.invoke(app, ["plan", "two-sites", "--power-cap-mw", "0.5", "--out", str(out), "--no-explain"])
    assert r.exit_code == 3, r.output
    written = sorted(p.name for p in out.iterdir() if p.name != ".planner-files")
    assert written == ["plan.json"]
    doc = json.loads((out / "plan.json").read_text())
    assert doc["status"] == "infeasible" and doc["reason"]["summary"]


def test_a_sweep_range_with_absurd_bounds_is_exit_2_naming_the_parameter(runner):
    for values in ("1e-300:1e300:1e-300", "0:1e20:1", "1:5:1e-30"):
        r = runner.invoke(app, ["sweep", "default", "-p", f"constraints.power_cap_mw={values}", "--json"])
        assert r.exit_code == 2, (values, r.output)
        assert f"constraints.power_cap_mw={values}" in r.output and "values; at most" in r.output
        assert "Traceback" not in r.output


def test_a_trace_too_long_for_the_slices_names_its_file(runner, tmp_path):
    shutil.copy(ROOT / "scenarios" / "conversation-replay.yaml", tmp_path / "s.yaml")
    (tmp_path / "traces").mkdir()
    lines = (ROOT / "scenarios" / "traces" / "azure2023_conversation.csv").read_text().splitlines()
    trace = tmp_path / "traces" / "azure2023_conversation.csv"
    trace.write_text("\n".join([*lines[:50], "1000000000000.0,374,44"]) + "\n")
    r = runner.invoke(app, ["demand", str(tmp_path / "s.yaml"), "--json"])
    assert r.exit_code == 2, r.output
    assert str(trace) in r.output and "workloads.chat" in r.output and "1e+12 s" in r.output


def test_planning_a_buildout_scenario_as_one_period_says_so(runner):
    r = runner.invoke(app, ["plan", "buildout", "--json", "--no-explain"])
    notes = json.loads(r.stdout)["notes"]
    assert any("`buildout:` section" in n and "planner buildout" in n for n in notes)
    human = runner.invoke(app, ["plan", "buildout", "--no-explain"])
    assert "planner buildout" in human.stdout
    # a feasible single period of such a scenario is a plan like any other
    for name in ("default", "two-sites"):
        plain = json.loads(runner.invoke(app, ["plan", name, "--json", "--no-explain"]).stdout)["notes"]
        assert not any("`buildout:` section" in n for n in plain), name


def test_no_internal_name_or_unrounded_count_reaches_a_user(runner, tmp_path):
    """Issue 26 item 5: a buildout's at-limit lines name the cap (its site or SKU), not its row in a
    period (rack_positions@hall-a_0); the report gives on-demand capacity as whole GPUs."""
    import re

    human = runner.invoke(app, ["buildout", "two-sites"]).stdout
    lines = [x for x in human.splitlines() if " at limit: " in x]
    assert any("rack_positions@hall-a: " in x for x in lines) and any("quota@h200-node: " in x for x in lines)
    assert not any(re.search(r"@[\w-]+_\d+:", x) for x in lines)
    doc = json.loads(runner.invoke(app, ["buildout", "two-sites", "--json"]).stdout)
    assert all(not re.search(r"_\d+:", b) for p in doc["periods"] for b in p["binding"])
    out = tmp_path / "r.html"
    assert runner.invoke(app, ["report", "two-sites", "--single-period", "--out", str(out)]).exit_code == 0
    text = out.read_text()
    assert "1,595 GPUs of h200-node@cloud:on_demand on demand at the busiest hour" in text
    assert not re.search(r"\d\.\d{6,} ×", text)


def test_buildout_tables_fit_columns_and_never_cut_a_name():
    """Issue 26 item 5: the tables are laid out for COLUMNS; never wider, never cut with '…', and
    every column id is printed whole (a table too wide is pivoted: columns x periods, as many
    periods a table as fit); the at-limit column names each cap with its site or SKU."""
    import os
    import subprocess
    import sys

    ids = [
        "h200-node@hall-a:owned",
        "h200-node@hall-a:reserved",
        "h200-node@colo-b:owned",
        "h200-node@colo-b:reserved",
        "h200-node@colo-b:existing",
        "h200-node@cloud:on_demand",
        "gb300-rack@hall-a:owned",
    ]
    for width in (60, 100, 200):
        env = {**os.environ, "COLUMNS": str(width)}
        out = subprocess.run(
            [sys.executable, "-m", "planner.cli.main", "buildout", "two-sites"],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        ).stdout
        tables = [line for line in out.splitlines() if line[:1] in "┏┃┡│└"]
        assert tables and max(len(line) for line in tables) <= width
        assert "…" not in out
        assert all(any(i in line for line in tables) for i in ids), out
        assert "(456 term ended)" in " ".join(out.split())
        assert any("rack_positions@hall-a" in line for line in tables) or width < 100  # else in the lines below
        assert "2027Q4 at limit: rack_positions@hall-a: 0 positions spare" in out
