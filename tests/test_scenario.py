"""Scenario files: the issue's exact form works; every bad input gets a clear exit-2 message."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from planner.cli.main import app
from planner.errors import ScenarioError
from planner.pipeline import run_plan
from planner.scenario.load import load_scenario

ISSUE_FORM = """
name: two-skus
skus:                          # inline SKUs; a plain string names a catalog SKU
  - id: hopper-node
    gpus_per_unit: 8           # GPUs per deployable unit (node or rack)
    power_kw_per_gpu: 1.28     # IT power per GPU at full load [kW]; facility draw = this x PUE
    idle_power_kw_per_gpu: 0.4 # optional [kW]; default is yours, documented
    cost_per_gpu_hour: 1.41    # all-in $ per deployed GPU-hour, busy or idle
    energy_billed: false       # optional; true: electricity is billed on top of cost_per_gpu_hour
    max_units: 50              # optional supply limit [units]
    throughput: {chat: 93.3}   # delivered tokens/s per GPU, per workload, at its service level
  - gb300-nvl72
workloads:
  chat: {catalog: deepseek-r1-8k1k, interactivity: 35}
demand:
  load_curve: curve.csv        # path relative to this file
  slice_hours: 1               # optional; else the spacing of the first column
economics: {pue: 1.3, electricity_usd_per_kwh: 0.08}
constraints: {power_cap_mw: 20, budget_usd_per_hour: 40000, max_utilization: 0.85}
existing: {hopper-node: 4}     # units already deployed: the plan keeps at least these
"""

CURVE = "hour,chat\n0,1000000\n1,2500000\n2,4000000\n3,1500000\n"


def write(tmp_path: Path, scenario: str = ISSUE_FORM, curve: str | None = CURVE) -> Path:
    (tmp_path / "s.yaml").write_text(textwrap.dedent(scenario))
    if curve is not None:
        (tmp_path / "curve.csv").write_text(curve)
    return tmp_path / "s.yaml"


def test_issue_form_plans(tmp_path):
    plan = run_plan(write(tmp_path))
    assert plan.status == "optimal"
    fleet = {f.sku: f for f in plan.fleet}
    assert fleet["hopper-node"].units >= 4
    gb = fleet["gb300-nvl72"]
    # GB300 at 35 tok/s/user from the catalog; peak 4M tok/s at 85 % utilisation
    need = 4_000_000 - 4 * 8 * 93.3 * 0.85
    assert gb.units == -(-need // (72 * gb.throughput["chat"] * 0.85))
    assert plan.power_mw <= 20
    tokens = (1 + 2.5 + 4 + 1.5) * 1e6 * 3600
    assert plan.tokens_served == pytest.approx(tokens)
    assert plan.cost_per_million_tokens == pytest.approx(plan.total_cost_usd / tokens * 1e6)


def test_cli_plan_json_is_one_document(tmp_path, runner):
    result = runner.invoke(app, ["plan", str(write(tmp_path)), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    for key in ("status", "fleet", "total_cost_usd", "tokens_served", "cost_per_million_tokens", "power_mw", "timings"):
        assert key in doc
    assert doc["status"] == "optimal"
    assert {f["sku"] for f in doc["fleet"]} == {"hopper-node", "gb300-nvl72"}
    assert all({"sku", "units", "gpus"} <= set(f) for f in doc["fleet"])


def test_cli_plan_out_and_write_model(tmp_path, runner):
    out = tmp_path / "out"
    model = tmp_path / "model.lp"
    result = runner.invoke(app, ["plan", str(write(tmp_path)), "--out", str(out), "--write-model", str(model)])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "plan.json").read_text())["status"] == "optimal"
    assert (out / "fleet.csv").read_text().startswith("sku,family,chosen,units")
    assert "busy_gpus_at_peak" in (out / "dispatch.csv").read_text().splitlines()[0]
    assert "power_cap" in model.read_text()


def test_cli_overrides_and_infeasible_exit_3(tmp_path, runner):
    path = str(write(tmp_path))
    result = runner.invoke(app, ["plan", path, "--power-cap-mw", "0.2", "--json"])
    assert result.exit_code == 3
    doc = json.loads(result.stdout)
    assert doc["status"] == "infeasible"
    assert "MW" in doc["reason"]["summary"]
    assert doc["reason"]["relaxations"]["power_cap_mw"]["needed"] > 0.2
    out = tmp_path / "o"
    human = runner.invoke(app, ["plan", path, "--set", "constraints.power_cap_mw=0.2", "--out", str(out)])
    assert human.exit_code == 3 and "infeasible" in human.output
    assert json.loads((out / "plan.json").read_text())["status"] == "infeasible"


def test_objectives_from_cli(tmp_path, runner):
    path = str(write(tmp_path))
    for objective in ("max_tokens", "min_cost_per_token"):
        result = runner.invoke(app, ["plan", path, "--objective", objective, "--json", "--no-explain"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["objective"] == objective
    bad = runner.invoke(app, ["plan", path, "--objective", "cheapest"])
    assert bad.exit_code == 2 and "objective" in bad.output


BAD_SCENARIOS = [
    ("constraints: {power_cap_mw: 20", "constraints: {power_cap_mw: lots", "constraints.power_cap_mw"),
    ("cost_per_gpu_hour: 1.41", "cost_per_gpu_hour: -1.41", "skus[0].cost_per_gpu_hour"),
    ("cost_per_gpu_hour: 1.41", "cost_per_gpu_hour: .nan", "cost_per_gpu_hour"),
    ("pue: 1.3", "pue: 0.9", "economics.pue"),
    ("max_units: 50", "max_unit: 50", "did you mean 'max_units'"),
    ("  - gb300-nvl72", "  - gb300-nvl72\n  - gb300-nvl72", "duplicate SKU id"),
    ("  - gb300-nvl72", "  - gb300-nvl27", "unknown SKU 'gb300-nvl27'"),
    ("existing: {hopper-node: 4}", "existing: {hopper: 4}", "existing.hopper"),
    (
        "    throughput: {chat: 93.3}",
        "    throughput: {}\n  - id: typo-sku\n    gpus_per_unit: 8",
        "needs power_kw_per_gpu",
    ),
    ("throughput: {chat: 93.3}", "throughput: {chatt: 93.3}", "throughput.chatt"),
]


@pytest.mark.parametrize(("old", "new", "expected"), BAD_SCENARIOS)
def test_bad_scenarios_exit_2(tmp_path, runner, old, new, expected):
    assert old in ISSUE_FORM
    out = tmp_path / "out"
    path = write(tmp_path, ISSUE_FORM.replace(old, new, 1))
    result = runner.invoke(app, ["plan", str(path), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert expected in result.output.replace("\n", " ") or expected in result.output
    assert "Traceback" not in result.output
    assert not out.exists()  # nothing half-written


BAD_CURVES = [
    (None, "load curve file not found"),
    ("", "is empty"),
    ("hour,chat\n0,1\n1,abc\n", "row 3, column 'chat': not a number"),
    ("hour,chat\n0,1\n1,-5\n", "row 3, column 'chat': negative demand"),
    ("hour,chat\n0,1\n2,1\n1,1\n", "decreasing"),
    ("hour,chat\n0,1\n0,1\n", "duplicated"),
    ("hour,chat\n0,1\n1,1\n3,1\n", "uneven spacing"),
    ("time,chat\n0,1\n", "first column must be 'hour'"),
    ("hour,chat\n0,1\n1,nan\n", "not a finite number"),
    ("hour,chat,chat.peak\n0,10,5\n", "below the mean"),
]


@pytest.mark.parametrize(("curve", "expected"), BAD_CURVES)
def test_bad_curves_exit_2(tmp_path, runner, curve, expected):
    path = write(tmp_path, curve=curve)
    result = runner.invoke(app, ["plan", str(path)])
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert "curve.csv" in result.output
    assert "Traceback" not in result.output


def test_workload_no_sku_can_serve(tmp_path, runner):
    text = ISSUE_FORM.replace("throughput: {chat: 93.3}", "throughput: {}").replace(
        "interactivity: 35", "interactivity: 900"
    )
    result = runner.invoke(app, ["plan", str(write(tmp_path, text))])
    assert result.exit_code == 2
    assert "workload 'chat': no SKU can serve it" in result.output
    assert "measured only up to 116 tok/s/user on deepseek-r1-8k1k, the target is 900" in result.output


def test_missing_and_non_mapping_scenario(tmp_path, runner):
    missing = runner.invoke(app, ["plan", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 2 and "scenario file not found" in missing.output
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    wrong = runner.invoke(app, ["plan", str(tmp_path / "list.yaml")])
    assert wrong.exit_code == 2 and "must be a mapping" in wrong.output


def test_override_paths(tmp_path):
    sf = load_scenario(write(tmp_path), {"skus.gb300-nvl72.max_units": 3, "constraints.power_cap_mw": 5})
    assert sf.scenario.constraints.power_cap_mw == 5
    assert sf.scenario.skus[1].max_units == 3
    with pytest.raises(ScenarioError, match="no SKU 'b200'"):
        load_scenario(write(tmp_path), {"skus.b200.max_units": 3})


def test_zero_demand_is_an_input_error(tmp_path, runner):
    result = runner.invoke(app, ["plan", str(write(tmp_path, curve="hour,chat\n0,0\n1,0\n"))])
    assert result.exit_code == 2 and "nothing to plan" in result.output


def test_excel_bom_curve_reads(tmp_path):
    path = write(tmp_path, curve="\ufeff" + CURVE)
    assert run_plan(path, explain=False).status == "optimal"


def test_interactivity_without_catalog_is_an_error_and_unmapped_column_noted(tmp_path, runner):
    bad = ISSUE_FORM.replace("chat: {catalog: deepseek-r1-8k1k, interactivity: 35}", "chat: {interactivity: 35}")
    result = runner.invoke(app, ["plan", str(write(tmp_path, bad))])
    assert result.exit_code == 2 and "needs a catalog workload" in result.output
    unmapped = ISSUE_FORM.replace("workloads:\n  chat: {catalog: deepseek-r1-8k1k, interactivity: 35}\n", "")
    plan = run_plan(write(tmp_path, unmapped), explain=False)
    assert any("gb300-nvl72 serves no 'chat'" in n for n in plan.notes)


def test_catalog_idle_override_above_full_load(tmp_path, runner):
    text = ISSUE_FORM.replace("  - gb300-nvl72", "  - {id: gb300-nvl72, idle_power_kw_per_gpu: 5}")
    result = runner.invoke(app, ["plan", str(write(tmp_path, text))])
    assert result.exit_code == 2 and "idle_power_kw_per_gpu" in result.output


def test_write_model_errors_and_determinism(tmp_path, runner):
    path = str(write(tmp_path))
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    bad = runner.invoke(app, ["plan", path, "--write-model", str(blocker / "m.lp"), "--no-explain"])
    assert bad.exit_code == 2 and "cannot write" in bad.output and "Traceback" not in bad.output
    ratio = runner.invoke(
        app, ["plan", path, "--write-model", str(tmp_path / "r.lp"), "--objective", "min_cost_per_token"]
    )
    assert ratio.exit_code == 2 and "Dinkelbach" in ratio.output
    first = tmp_path / "a.lp"
    second = tmp_path / "b.lp"
    runner.invoke(app, ["plan", path, "--write-model", str(first), "--no-explain"])
    runner.invoke(app, ["plan", path, "--write-model", str(second), "--no-explain"])
    assert first.read_text() == second.read_text()


def test_out_onto_a_directory_is_exit_2(tmp_path, runner):
    out = tmp_path / "o"
    (out / "plan.json").mkdir(parents=True)
    result = runner.invoke(app, ["plan", str(write(tmp_path)), "--out", str(out), "--no-explain"])
    assert result.exit_code == 2 and "directory" in result.output
    assert not (out / "fleet.csv").exists()  # all or nothing


def test_a_key_given_twice_is_an_error_naming_both_lines(tmp_path, runner):
    path = tmp_path / "twice.yaml"
    text = write(tmp_path).read_text()
    path.write_text(text + "constraints: {power_cap_mw: 99}\n")
    result = runner.invoke(app, ["plan", str(path)])
    first = next(i for i, line in enumerate(text.splitlines(), 1) if line.startswith("constraints:"))
    last = len(text.splitlines()) + 1
    assert result.exit_code == 2
    assert f"key 'constraints' is given twice, at line {first} and line {last}" in result.output
    nested = tmp_path / "nested.yaml"
    nested.write_text(text.replace("power_cap_mw: 20,", "power_cap_mw: 20, power_cap_mw: 21,"))
    result = runner.invoke(app, ["plan", str(nested)])
    assert result.exit_code == 2 and "key 'power_cap_mw' is given twice" in result.output
