"""`planner diff A B`: fleet changes, key figures, caps and the verdict, from plan files or scenarios."""

from __future__ import annotations

import copy
import json

import pytest
import yaml

from planner.cli.main import app
from planner.diff import Side, diff_plans, read_side
from planner.pipeline import run_plan
from planner.resources import scenarios_dir


@pytest.fixture(scope="module")
def plans():
    a = run_plan("default").to_dict()
    b = run_plan("default", {"constraints.power_cap_mw": 12}).to_dict()
    return a, b


def write(tmp_path, name, doc):
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def test_the_diff_of_two_plans_recomputes_from_their_fleets(plans):
    a, b = plans
    d = diff_plans(Side("A", "plan file", a), Side("B", "plan file", b))
    ua = {f["sku"]: f["units"] for f in a["fleet"]}
    ub = {f["sku"]: f["units"] for f in b["fleet"]}
    for c in d.fleet:
        assert c.delta_units == ub.get(c.sku, 0) - ua.get(c.sku, 0)
        assert c.delta_gpus == pytest.approx(c.gpus_b - c.gpus_a)
    fig = {f.key: f for f in d.figures}
    cpm = fig["cost_per_million_tokens"]
    assert cpm.delta == pytest.approx(b["cost_per_million_tokens"] - a["cost_per_million_tokens"])
    assert cpm.relative == pytest.approx(cpm.delta / a["cost_per_million_tokens"])
    assert d.binding["a"] == ["power_cap"] and "power_cap" in d.binding["removed"]
    assert not d.same_fleet
    changed = [c for c in d.fleet if c.delta_units]
    assert d.verdict.startswith("B: ")
    for c in changed:
        assert f"{c.delta_units:+,.0f} {c.sku} " in d.verdict
    assert "MW" in d.verdict and "/M tokens" in d.verdict and " %)" in d.verdict


def test_the_same_plan_has_no_differences(plans):
    a, _ = plans
    near = copy.deepcopy(a)
    near["cost_per_million_tokens"] *= 1 + 1e-12  # below the tolerance: zero, not a finding
    d = diff_plans(Side("A", "plan file", a), Side("B", "plan file", near))
    assert d.same_fleet and d.verdict == "B: same fleet, same cost per token"
    assert all(f.delta in (0, None) for f in d.figures)


def test_an_infeasible_side_is_said(plans):
    a, _ = plans
    inf = {**copy.deepcopy(a), "status": "infeasible", "fleet": []}
    assert diff_plans(Side("A", "f", a), Side("B", "f", inf)).verdict == "B: infeasible (A is optimal)"


def test_cli_plan_files_folders_and_scenarios(runner, tmp_path, plans):
    a, b = plans
    pa, pb = write(tmp_path, "a.json", a), write(tmp_path, "b.json", b)
    result = runner.invoke(app, ["diff", str(pa), str(pb), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert set(doc) >= {"a", "b", "fleet", "figures", "caps", "binding", "verdict", "same_fleet"}
    human = runner.invoke(app, ["diff", str(pa), str(pb)])
    assert human.exit_code == 0 and doc["verdict"] in human.stdout
    # a scenario planned on the spot, against a plan folder
    folder = tmp_path / "out"
    assert runner.invoke(app, ["plan", "default", "--out", str(folder)]).exit_code == 0
    data = yaml.safe_load((scenarios_dir() / "default.yaml").read_text())
    data["constraints"]["power_cap_mw"] = 12
    data["demand"]["load_curve"] = str(scenarios_dir() / "default-demand.csv")
    scn = tmp_path / "wider.yaml"
    scn.write_text(yaml.safe_dump(data))
    both = runner.invoke(app, ["diff", str(folder), str(scn), "--json"])
    assert both.exit_code == 0, both.output
    got = json.loads(both.stdout)
    assert got["b"]["source"] == "scenario (planned now)" and got["verdict"] == doc["verdict"]
    same = runner.invoke(app, ["diff", "default", str(folder / "plan.json"), "--json"])
    assert json.loads(same.stdout)["same_fleet"] is True


def test_cli_refuses_what_is_not_a_plan(runner, tmp_path, plans):
    a, _ = plans
    pa = write(tmp_path, "a.json", a)
    bo = write(tmp_path, "buildout.json", {"periods": [], "scenario": "x"})
    r = runner.invoke(app, ["diff", str(pa), str(bo)])
    assert r.exit_code == 2 and "buildout document" in r.stderr
    r = runner.invoke(app, ["diff", str(pa), str(tmp_path / "missing.json")])
    assert r.exit_code == 2 and "missing.json" in r.stderr
    (tmp_path / "empty").mkdir()
    r = runner.invoke(app, ["diff", str(pa), str(tmp_path / "empty")])
    assert r.exit_code == 2 and "plan.json" in r.stderr
    bad = write(tmp_path, "bad.json", {**a, "cost_per_million_tokens": "cheap"})
    r = runner.invoke(app, ["diff", str(pa), str(bad)])
    assert r.exit_code == 2 and "cost_per_million_tokens" in r.stderr
    assert "Traceback" not in r.output
    assert read_side(pa).source == "plan file"
