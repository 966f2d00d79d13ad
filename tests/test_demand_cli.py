"""`planner demand`, `planner demand fit`, and planning scenarios with a generated demand section."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from planner.cli.main import app
from planner.demand.curve import LoadCurve, read_load_curve
from planner.demand.fit import fit_trace
from planner.demand.simulate import simulate_scenario_demand
from planner.errors import ScenarioError
from planner.optimize.problem import build_problem, solver_options
from planner.optimize.run import plan_fleet
from planner.pipeline import run_plan
from planner.resources import scenarios_dir
from planner.scenario.load import load_scenario

SCENARIOS = scenarios_dir()
TRACES = SCENARIOS / "traces"


def short_scenario(tmp_path: Path, **demand) -> Path:
    """chat-and-code.yaml over one week with the trace path made absolute, in tmp_path."""
    data = yaml.safe_load((SCENARIOS / "chat-and-code.yaml").read_text())
    data["demand"].update({"horizon_days": 7, "replicas": 3, **demand})
    data["demand"]["workloads"]["code"]["trace"] = str(TRACES / "azure2023_code.csv")
    path = tmp_path / "scn.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_demand_summary_csv_round_trip_and_same_plan(runner, tmp_path):
    scenario = short_scenario(tmp_path)
    out = tmp_path / "curve.csv"
    result = runner.invoke(app, ["demand", str(scenario), "--out", str(out)])
    assert result.exit_code == 0, result.output
    for text in (
        "seed 7",
        "3 replica(s)",
        "sizing peak p95",
        "168 slices",
        "chat",
        "code",
        "peak/mean",
        "P50 / P95 / P99",
    ):
        assert text in result.stdout
    read = read_load_curve(out)
    direct = simulate_scenario_demand(load_scenario(scenario))
    assert read.workloads == direct.workloads == ("chat", "code")
    assert np.allclose(read.mean, direct.mean, rtol=1e-9) and np.allclose(read.peak, direct.peak, rtol=1e-9)
    assert set(read.bands) == {"p50", "p95", "p99"}
    # planning from the written CSV gives the plan of the scenario itself
    data = yaml.safe_load(scenario.read_text())
    data["demand"] = {"load_curve": "curve.csv"}
    (tmp_path / "from_csv.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    from_csv = run_plan(tmp_path / "from_csv.yaml", explain=False)
    direct_plan = run_plan(scenario, explain=False)
    assert [f.units for f in from_csv.fleet] == [f.units for f in direct_plan.fleet]
    assert from_csv.total_cost_usd == pytest.approx(direct_plan.total_cost_usd, rel=1e-9)


def test_demand_explicit_curve_subcommand_and_json(runner, tmp_path):
    scenario = short_scenario(tmp_path, replicas=1)
    result = runner.invoke(app, ["demand", "curve", str(scenario), "--json", "--seed", "9"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["seed"] == 9 and doc["replicas"] == 1 and doc["sizing"] == "single"
    assert doc["detail"] == {"chat": "window", "code": "replay"}
    chat = doc["workloads"][0]
    assert chat["workload"] == "chat" and chat["peak_tokens_per_s"] > chat["mean_tokens_per_s"]
    assert chat["total_tokens"] == pytest.approx(chat["mean_tokens_per_s"] * 7 * 86400, rel=1e-9)


def test_demand_is_deterministic_per_seed(runner, tmp_path):
    scenario = short_scenario(tmp_path, replicas=2)
    paths = [tmp_path / f"c{i}.csv" for i in range(3)]
    for path, seed in zip(paths, ("1", "1", "2"), strict=True):
        assert runner.invoke(app, ["demand", str(scenario), "--seed", seed, "--out", str(path)]).exit_code == 0
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert paths[0].read_bytes() != paths[2].read_bytes()
    # the header comes first (pandas and spreadsheets read it as is); the seed is in the sidecar, read back
    assert paths[2].read_text().startswith("hour,chat,code,")
    meta = json.loads((tmp_path / "c2.meta.json").read_text())
    assert meta["seed"] == 2 and meta["workloads"] == ["chat", "code"] and meta["made_by"] == "planner demand"
    assert read_load_curve(paths[2]).seed == 2
    frame = pd.read_csv(paths[2])
    assert list(frame.columns[:3]) == ["hour", "chat", "code"] and len(frame) == 7 * 24


def test_older_curves_with_a_seed_line_still_read(tmp_path):
    old = tmp_path / "old.csv"
    old.write_text("# seed=7\nhour,chat\n0,10\n1,12\n")
    assert read_load_curve(old).seed == 7
    (tmp_path / "old.meta.json").write_text('{"seed": 8}')
    with pytest.raises(ScenarioError, match="disagree"):
        read_load_curve(old)
    (tmp_path / "old.meta.json").write_text("{not json")
    with pytest.raises(ScenarioError, match="old.meta.json: not valid JSON"):
        read_load_curve(old)


def test_a_file_with_only_a_demand_section(runner, tmp_path):
    data = yaml.safe_load(short_scenario(tmp_path).read_text())
    only = tmp_path / "traffic.yaml"
    only.write_text(yaml.safe_dump({"demand": data["demand"]}, sort_keys=False))
    result = runner.invoke(app, ["demand", str(only), "--json", "--seed", "3"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    full = json.loads(runner.invoke(app, ["demand", str(tmp_path / "scn.yaml"), "--json", "--seed", "3"]).stdout)
    assert doc["scenario"] == "traffic" and doc["workloads"] == full["workloads"]
    csv_only = tmp_path / "csv-only.yaml"
    csv_only.write_text(yaml.safe_dump({"name": "w", "demand": {"load_curve": str(SCENARIOS / "default-demand.csv")}}))
    read = runner.invoke(app, ["demand", str(csv_only), "--json"])
    assert read.exit_code == 0 and json.loads(read.stdout)["source"] == "load_curve"
    stray = tmp_path / "stray.yaml"
    stray.write_text(yaml.safe_dump({"demand": data["demand"], "workloads": data["workloads"]}))
    refused = runner.invoke(app, ["demand", str(stray)])
    assert refused.exit_code == 2 and "no skus" in refused.stderr and "workloads" in refused.stderr
    empty = tmp_path / "empty.yaml"
    empty.write_text("name: x\n")
    refused = runner.invoke(app, ["demand", str(empty)])
    assert refused.exit_code == 2 and "demand: section" in refused.stderr
    # a demand file is not a scenario: plan refuses it, naming skus
    assert runner.invoke(app, ["plan", str(only)]).exit_code == 2


def test_demand_default_scenario_reads_its_curve(runner):
    result = runner.invoke(app, ["demand", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["source"] == "load_curve" and [w["workload"] for w in doc["workloads"]] == ["chat", "fast"]
    refused = runner.invoke(app, ["demand", "--seed", "3"])
    assert refused.exit_code == 2 and "apply to a generated demand section" in refused.output


def test_demand_plot(runner, tmp_path):
    scenario = short_scenario(tmp_path, replicas=2)
    png = tmp_path / "curve.png"
    result = runner.invoke(app, ["demand", str(scenario), "--plot", str(png)])
    assert result.exit_code == 0, result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = runner.invoke(app, ["demand", str(scenario), "--plot", str(tmp_path / "curve.jpg")])
    assert bad.exit_code == 2 and "use a .png" in bad.output


def _bad_scenario(tmp_path: Path, chat: dict) -> Path:
    data = yaml.safe_load(short_scenario(tmp_path).read_text())
    data["demand"]["workloads"]["chat"].update(chat)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.parametrize(
    "chat, message",
    [
        ({"mean_tokens_per_s": -1.0}, "demand.workloads.chat.mean_tokens_per_s"),
        ({"peak_to_mean": 0.5}, "demand.workloads.chat.peak_to_mean"),
        ({"weekend_factor": -0.2}, "demand.workloads.chat.weekend_factor"),
    ],
)
def test_demand_bad_input_exit_2_nothing_written(runner, tmp_path, chat, message):
    out = tmp_path / "curve.csv"
    result = runner.invoke(app, ["demand", str(_bad_scenario(tmp_path, chat)), "--out", str(out)])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
    assert not out.exists()


@pytest.mark.parametrize(
    "trace_text, message",
    [
        (None, "trace file not found"),
        (b"\xff\xfe\x00garbage", "cannot read trace"),
        ("arrived_at,num_prefill_tokens,num_decode_tokens\n0,1,2\n-3,1,2\n", "row 3, column 'arrived_at': negative"),
        (
            "arrived_at,num_prefill_tokens,num_decode_tokens\n4,1,2\n2,1,2\n",
            "row 3, column 'arrived_at': 2 s is before",
        ),
    ],
)
def test_demand_bad_trace_exit_2(runner, tmp_path, trace_text, message):
    scenario = short_scenario(tmp_path)
    data = yaml.safe_load(scenario.read_text())
    data["demand"]["workloads"]["code"]["trace"] = "bad.csv"
    scenario.write_text(yaml.safe_dump(data, sort_keys=False))
    if isinstance(trace_text, bytes):
        (tmp_path / "bad.csv").write_bytes(trace_text)
    elif trace_text is not None:
        (tmp_path / "bad.csv").write_text(trace_text)
    result = runner.invoke(app, ["demand", str(scenario), "--out", str(tmp_path / "c.csv")])
    assert result.exit_code == 2, result.output
    assert message in result.output and "demand.workloads.code.trace" in result.output
    assert not (tmp_path / "c.csv").exists()


def test_fit_yaml_and_json(runner):
    trace = TRACES / "azure2023_conversation.csv"
    result = runner.invoke(app, ["demand", "fit", str(trace), "--name", "chat"])
    assert result.exit_code == 0, result.output
    doc = yaml.safe_load(result.stdout)  # the comment line is YAML too
    chat = doc["chat"]
    assert chat["input_tokens"] == {"mean": 1155.0, "median": 1020.0}
    assert chat["output_tokens"] == {"mean": 211.1, "median": 129.0}
    assert chat["burstiness"] == pytest.approx(1.094, abs=1e-3)
    # rate: 26,450,535 tokens over 19,366 mean gaps of (3501.72 s / 19,365)
    assert chat["mean_tokens_per_s"] == pytest.approx(26_450_535 / (3501.721937 * 19366 / 19365), rel=1e-3)
    as_json = runner.invoke(app, ["demand", "fit", str(trace), "--json"])
    assert as_json.exit_code == 0
    assert json.loads(as_json.stdout)["requests"] == 19366


def test_fit_recovers_a_known_burstiness(tmp_path):
    rng = np.random.default_rng(2)
    gaps = rng.gamma(0.25, 4.0 / 10.0, 40_000)  # CV 2, mean 0.1 s
    n = gaps.size
    lines = ["arrived_at,num_prefill_tokens,num_decode_tokens"]
    lines += [
        f"{t:.6f},{a},{b}"
        for t, a, b in zip(
            np.cumsum(gaps), np.rint(rng.lognormal(6, 0.5, n)), np.rint(rng.lognormal(4, 1, n)) + 1, strict=True
        )
    ]
    path = tmp_path / "t.csv"
    path.write_text("\n".join(lines) + "\n")
    fit = fit_trace(path)
    assert fit.burstiness == pytest.approx(2.0, rel=0.05)
    assert fit.requests_per_s == pytest.approx(10.0, rel=0.05)


def test_fit_bad_trace_exit_2(runner, tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("arrived_at,num_prefill_tokens\n0,1\n")
    result = runner.invoke(app, ["demand", "fit", str(path)])
    assert result.exit_code == 2 and "missing column(s) num_decode_tokens" in result.output
    # left-skewed lengths (mean below median) fit no lognormal: said so, with the way out
    path.write_text("arrived_at,num_prefill_tokens,num_decode_tokens\n0,10,5\n1,100,50\n3,101,51\n")
    result = runner.invoke(app, ["demand", "fit", str(path)])
    assert result.exit_code == 2 and "mean 70.33 is below median 100" in result.output
    assert "replay the trace itself" in result.output


def test_plan_sizes_generated_demand_for_its_peaks(tmp_path):
    sf = load_scenario(short_scenario(tmp_path))
    curve = simulate_scenario_demand(sf)
    assert np.all(curve.peak >= curve.mean) and (curve.peak > curve.mean * 1.01).any()
    problem = build_problem(sf, curve)
    plan = plan_fleet(problem, solver_options(sf.scenario), explain=False)
    assert plan.status == "optimal"
    on_means = plan_fleet(
        build_problem(sf, LoadCurve(curve.workloads, curve.start_hours, curve.slice_hours, curve.mean, curve.mean)),
        solver_options(sf.scenario),
        explain=False,
    )
    assert plan.total_cost_usd > on_means.total_cost_usd
    # enough GPUs for the busiest slice's peak of every workload on the GPUs that serve it
    t = int(np.argmax(curve.peak.sum(axis=0)))
    capacity = sum(f.gpus * 0.9 * max(f.throughput.values()) for f in plan.fleet if f.units and f.throughput)
    assert capacity >= curve.peak[:, t].sum() * (1 - 1e-9)


def test_shipped_scenarios_plan(runner):
    result = runner.invoke(app, ["plan", str(SCENARIOS / "conversation-replay.yaml"), "--json", "--no-explain"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["status"] == "optimal" and doc["span_hours"] == 1.0
    # the replay at scale 300 delivers exactly 300 x the trace's tokens
    assert doc["tokens_demanded"] == pytest.approx(300 * 26_450_535, rel=1e-9)
