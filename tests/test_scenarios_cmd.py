"""Shipped scenarios by name: `planner scenarios`, names accepted anywhere, `scenarios copy`."""

from __future__ import annotations

import json
import shutil

from planner.cli.main import app
from planner.pipeline import run_plan
from planner.resources import scenarios_dir
from planner.scenario.load import load_scenario
from planner.scenario.shipped import referenced_files, shipped_scenarios


def test_every_shipped_scenario_is_listed_with_a_description(runner):
    result = runner.invoke(app, ["scenarios", "--json"])
    assert result.exit_code == 0, result.output
    listed = {s["name"]: s for s in json.loads(result.stdout)}
    assert set(listed) == {p.stem for p in scenarios_dir().glob("*.yaml")}
    assert all(s["description"] for s in listed.values())
    assert listed["buildout"]["command"] == "buildout" and listed["default"]["command"] == "plan"
    human = runner.invoke(app, ["scenarios"])
    assert human.exit_code == 0 and "chat-and-code" in human.stdout


def test_a_name_plans_from_any_directory(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    by_name = runner.invoke(app, ["plan", "default", "--json", "--no-explain"])
    assert by_name.exit_code == 0, by_name.output
    doc = json.loads(by_name.stdout)
    assert doc["scenario"] == "deepseek-r1-default" and doc["status"] == "optimal"
    again = json.loads(runner.invoke(app, ["plan", "default.yaml", "--json", "--no-explain"]).stdout)
    assert again["fleet"] == doc["fleet"] and again["cost_per_million_tokens"] == doc["cost_per_million_tokens"]


def test_a_local_file_wins_over_the_shipped_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = (scenarios_dir() / "default.yaml").read_text().replace("name: deepseek-r1-default", "name: mine", 1)
    (tmp_path / "default").write_text(text)
    shutil.copy(scenarios_dir() / "default-demand.csv", tmp_path)
    assert load_scenario("default").scenario.name == "mine"
    assert load_scenario(scenarios_dir() / "default.yaml").scenario.name == "deepseek-r1-default"


def test_an_unknown_name_is_refused_with_the_shipped_names(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["plan", "no-such-scenario"])
    assert result.exit_code == 2
    assert "no-such-scenario" in result.stderr and "chat-and-code" in result.stderr
    assert "Traceback" not in result.output


def test_copy_writes_the_scenario_and_its_files_and_the_copy_plans_the_same(runner, tmp_path):
    for s in shipped_scenarios():
        out = tmp_path / s.name
        result = runner.invoke(app, ["scenarios", "copy", s.name, str(out)])
        assert result.exit_code == 0, result.output
        copied = out / f"{s.name}.yaml"
        assert copied.read_bytes() == s.path.read_bytes()
        want = {f.relative_to(scenarios_dir().resolve()) for f in referenced_files(s.path)}
        assert {f.relative_to(out.resolve()) for f in referenced_files(copied)} == want
    assert (tmp_path / "chat-and-code" / "traces" / "azure2023_code.csv").is_file()
    assert (tmp_path / "qwen3-curve" / "curves" / "qwen3-235b-a22b.yaml").is_file()
    here = run_plan(tmp_path / "default" / "default.yaml", explain=False).to_dict()
    shipped = run_plan("default", explain=False).to_dict()
    assert [f["units"] for f in here["fleet"]] == [f["units"] for f in shipped["fleet"]]
    assert here["cost_per_million_tokens"] == shipped["cost_per_million_tokens"]


def test_copy_does_not_overwrite_without_force(runner, tmp_path):
    assert runner.invoke(app, ["scenarios", "copy", "default", str(tmp_path)]).exit_code == 0
    (tmp_path / "default.yaml").write_text("edited")
    again = runner.invoke(app, ["scenarios", "copy", "default", str(tmp_path)])
    assert again.exit_code == 2 and "--force" in again.stderr
    assert (tmp_path / "default.yaml").read_text() == "edited"  # nothing half-written
    assert runner.invoke(app, ["scenarios", "copy", "default", str(tmp_path), "--force"]).exit_code == 0
    assert (tmp_path / "default.yaml").read_bytes() == (scenarios_dir() / "default.yaml").read_bytes()
    bad = runner.invoke(app, ["scenarios", "copy", "nope", str(tmp_path)])
    assert bad.exit_code == 2 and "chat-and-code" in bad.stderr
