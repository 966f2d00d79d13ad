"""planner sweep: VALUES parsing, path checks, the tidy table, frontiers, executors and the CLI."""

from __future__ import annotations

import json
import math
import multiprocessing
import re
import time

import numpy as np
import pandas as pd
import pytest

from planner.cli import progress as progress_cli
from planner.cli import sweep_cmd
from planner.cli.main import app
from planner.errors import ScenarioError, SolverError
from planner.scenario.load import load_scenario
from planner.sweep import grid
from planner.sweep.executors import DaskExecutor, ProcessExecutor, SerialExecutor, make_executor
from planner.sweep.frontier import frontier, frontier_charts, frontier_figure
from planner.sweep.grid import build_sweep, grid_points, parse_params, parse_values, sample_points, valid_paths
from planner.sweep.run import run_sweep, table_csv

from helpers import assert_matches_schema

CAP = "constraints.power_cap_mw"
UTIL = "constraints.max_utilization"


# ---- VALUES and paths ---------------------------------------------------------------------


def test_values_ranges_lists_and_integer_ranges():
    assert parse_values(CAP, "5:20:5").values == (5, 10, 15, 20)
    assert parse_values("economics.pue", "1.1:1.3:0.1").values == (1.1, 1.2, 1.3)  # no 1.2000000000000002
    assert parse_values("demand.seed", "1:4").values == (1, 2, 3, 4)
    assert parse_values("skus.gb300-nvl72.cost_per_gpu_hour", "2.0,2.65,3.5").values == (2.0, 2.65, 3.5)
    assert parse_values("objective", "min_cost,max_tokens").values == ("min_cost", "max_tokens")
    cont = parse_values("economics.pue", "1.1:1.5")
    assert cont.continuous and (cont.low, cont.high) == (1.1, 1.5)


def test_grid_is_the_product_last_parameter_fastest():
    params = parse_params([f"{CAP}=10,20", "economics.pue=1.1,1.2,1.3"])
    points = grid_points(params)
    assert len(points) == 2 * 3
    assert points[0] == {CAP: 10, "economics.pue": 1.1}
    assert points[1] == {CAP: 10, "economics.pue": 1.2}
    assert points[3] == {CAP: 20, "economics.pue": 1.1}


def test_samples_are_seeded_and_inside_their_ranges():
    params = parse_params(["economics.pue=1.1:1.5", "demand.seed=1:10", f"{CAP}=10,20"])
    a = sample_points(params, 50, np.random.default_rng(7))
    b = sample_points(params, 50, np.random.default_rng(7))
    c = sample_points(params, 50, np.random.default_rng(8))
    assert a == b and a != c
    assert all(1.1 <= p["economics.pue"] <= 1.5 for p in a)
    assert {p["demand.seed"] for p in a} <= set(range(1, 11))
    assert {p[CAP] for p in a} == {10, 20}


def test_valid_paths_come_from_the_schema_and_the_scenario_skus():
    paths = valid_paths(load_scenario().scenario)
    for p in (
        CAP,
        "economics.pue",
        "demand.seed",
        "skus.gb300-nvl72.cost_per_gpu_hour",
        "existing.h200-sxm",
        "workloads.chat.interactivity",
        "skus.b200-sxm.throughput.fast",
        "solver.mip_rel_gap",
    ):
        assert p in paths
    assert "skus.gb300-nvl72.id" not in paths and "name" not in paths


@pytest.mark.parametrize(
    "item, expect",
    [
        ("constraints.power_cap=5:10:1", "did you mean 'constraints.power_cap_mw'"),
        ("skus.b300.cost_per_gpu_hour=1,2", "unknown path 'skus.b300.cost_per_gpu_hour'"),
        ("economics.pue=0.5,1.2", "economics.pue=0.5"),
        (f"{CAP}=abc", "unable to parse string as a number"),
        (f"{CAP}=10:5:1", "below its start"),
        (f"{CAP}=5:10:0", "step must be positive"),
        ("economics.pue=1.1:1.5", "needs a step"),
        (f"{CAP}", "expects PATH=VALUES"),
    ],
)
def test_bad_params_are_rejected_with_the_valid_paths(item, expect):
    with pytest.raises(ScenarioError) as err:
        build_sweep(None, [item])
    assert expect in str(err.value)


def test_cli_bad_path_exit_2_lists_valid_paths(runner):
    result = runner.invoke(app, ["sweep", "-p", "constraints.powercap_mw=5,10"])
    assert result.exit_code == 2
    err = result.stderr
    assert "unknown path 'constraints.powercap_mw'" in err and "did you mean 'constraints.power_cap_mw'" in err
    assert "valid paths:" in err and "economics.pue" in err and "demand.seed" in err
    assert "skus.<id>.<field>" in err and "gb300-nvl72" in err and "cost_per_gpu_hour" in err
    assert "Traceback" not in result.output


def test_cli_bad_value_exit_2(runner):
    result = runner.invoke(app, ["sweep", "-p", f"{CAP}=10,-3", "-w", "1"])
    assert result.exit_code == 2
    assert f"{CAP}=-3" in result.stderr and "greater than 0" in result.stderr and "valid paths:" in result.stderr


def test_cli_usage_errors_exit_2(runner, tmp_path):
    assert runner.invoke(app, ["sweep"]).exit_code == 2  # no --param
    r = runner.invoke(app, ["sweep", "-p", f"{CAP}=10", "--out", str(tmp_path / "r.txt")])
    assert r.exit_code == 2 and ".csv or .parquet" in r.stderr
    r = runner.invoke(app, ["sweep", "-p", f"{CAP}=10", "--scheduler", "tcp://127.0.0.1:1"])
    assert r.exit_code == 2 and "--executor dask" in r.stderr
    r = runner.invoke(app, ["sweep", "-p", f"{CAP}=10", "--executor", "ray"])
    assert r.exit_code == 2
    assert not list(tmp_path.iterdir())


def test_parquet_needs_pyarrow(runner, tmp_path, monkeypatch):
    monkeypatch.setattr(sweep_cmd.importlib.util, "find_spec", lambda name: None)
    out = tmp_path / "r.parquet"
    r = runner.invoke(app, ["sweep", "-p", f"{CAP}=10", "-w", "1", "--out", str(out)])
    assert r.exit_code == 2 and "needs pyarrow" in r.stderr and "results.csv" in r.stderr
    assert not out.exists()


def test_grid_and_samples_above_the_point_limit_are_refused():
    items = [f"{CAP}=10:20:1", f"{UTIL}=0.8,0.9"]  # 22 points
    assert len(build_sweep(None, items, max_points=22).points) == 22
    with pytest.raises(ScenarioError) as err:
        build_sweep(None, items, max_points=21)
    assert "22 points" in str(err.value) and "limit of 21" in str(err.value) and "--max-points 22" in str(err.value)
    with pytest.raises(ScenarioError, match="--samples 30 has 30 points"):
        build_sweep(None, [f"{CAP}=10:20:1"], samples=30, max_points=25)
    assert grid.DEFAULT_MAX_POINTS == 2_000
    with pytest.raises(ScenarioError, match="2,000"):
        build_sweep(None, [f"{CAP}=1:100:1", f"{UTIL}=0.8:1:0.01"])  # 2,100 points


def test_each_distinct_value_is_validated_once(monkeypatch):
    calls = []
    real = grid.load_scenario

    def counting(path=None, overrides=None):
        calls.append(dict(overrides or {}))
        return real(path, overrides)

    monkeypatch.setattr(grid, "load_scenario", counting)
    spec = build_sweep(None, [f"{CAP}=10,12,14", f"{UTIL}=0.8,0.9", "existing.h200-sxm=32,32"])
    assert len(spec.points) == 12
    assert calls[0] == {}  # the base scenario
    assert sorted(map(str, calls[1:])) == sorted(
        map(
            str,
            [
                {CAP: 10},
                {CAP: 12},
                {CAP: 14},
                {UTIL: 0.8},
                {UTIL: 0.9},
                {"existing.h200-sxm": 32},
            ],
        )
    )


def test_cli_point_limit_exit_2_before_running(runner):
    r = runner.invoke(app, ["sweep", "-p", f"{CAP}=10,11,12", "-w", "1", "--max-points", "2"])
    assert r.exit_code == 2
    assert "3 points" in r.stderr and "--max-points 3" in r.stderr and "(grid)" not in r.stderr


def test_cli_prints_the_point_count_before_running(runner, monkeypatch):
    seen = []

    def fake_run_sweep(spec, executor, **kwargs):
        seen.append(len(spec.points))
        raise SolverError("stop here")

    monkeypatch.setattr("planner.sweep.run.run_sweep", fake_run_sweep)
    r = runner.invoke(app, ["sweep", "-p", f"{CAP}=10,11,12", "-w", "1"])
    assert seen == [3] and r.exit_code == 1
    assert r.stderr.startswith("3 points (grid) on serial\n")


def test_cli_a_field_the_scenario_does_not_use_is_exit_2(runner):
    # the default scenario reads its demand from a load_curve CSV: demand.seed has no effect
    r = runner.invoke(app, ["sweep", "-p", "demand.seed=1,2", "-w", "1"])
    assert r.exit_code == 2
    err = r.stderr
    assert "demand.seed cannot be swept in this scenario (every value is rejected)" in err
    assert "only apply to generated demand" in err and "load_curve" in err
    assert err.count("only apply to generated demand") == 1 and "(grid)" not in err and "Traceback" not in r.output


@pytest.mark.parametrize(
    "opts, expect",
    [
        (
            ["--out", "{d}/afile/sub/r.csv"],
            "--out {d}/afile/sub/r.csv: cannot write into {d}/afile/sub: {d}/afile is a file, not a folder",
        ),
        (["--out", "{d}/adir.csv"], "--out {d}/adir.csv: it is a directory"),
        (
            ["--plot", "{d}/afile"],
            "--plot {d}/afile: cannot use it as the charts folder: {d}/afile is a file, not a folder",
        ),
        (["--plot", "{d}/afile/plots"], "--plot {d}/afile/plots: cannot use it as the charts folder"),
    ],
)
def test_cli_bad_output_paths_exit_2_before_running(runner, tmp_path, opts, expect):
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    (tmp_path / "adir.csv").mkdir()
    before = sorted(tmp_path.rglob("*"))
    r = runner.invoke(app, ["sweep", "-p", f"{CAP}=10,12", "-w", "1", *[o.format(d=tmp_path) for o in opts]])
    assert r.exit_code == 2, r.output
    assert expect.format(d=tmp_path) in r.stderr.replace("\n", "")
    assert "(grid)" not in r.stderr  # refused before any point ran
    assert sorted(tmp_path.rglob("*")) == before


def test_cli_all_bad_output_paths_at_once(runner, tmp_path):
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    r = runner.invoke(
        app,
        ["sweep", "-p", f"{CAP}=10", "--out", str(tmp_path / "afile" / "r.csv"), "--plot", str(tmp_path / "afile")],
    )
    assert r.exit_code == 2 and "bad output paths" in r.stderr
    assert "--out " in r.stderr and "--plot " in r.stderr


# ---- results ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cap_sweep():
    """The default scenario over power caps (min_cost): infeasible below ~9.82 MW."""
    spec = build_sweep(None, [f"{CAP}=9.5,9.9,10,10.5,12,20"])
    return spec, run_sweep(spec, SerialExecutor())


def test_frontier_is_monotone_in_the_power_cap(cap_sweep):
    spec, df = cap_sweep
    assert list(df[CAP]) == [9.5, 9.9, 10, 10.5, 12, 20]
    assert df.loc[0, "status"] == "infeasible"
    ok = df[df["status"] == "optimal"].sort_values(CAP)
    assert len(ok) == 5
    cost = ok["cost_per_million_tokens"].to_numpy()
    total = ok["total_cost_usd"].to_numpy()
    # a larger cap never raises the optimal cost (within the MIP gap)
    assert (np.diff(total) <= 1e-4 * total[:-1]).all(), total
    assert (np.diff(cost) <= 1e-4 * cost[:-1]).all(), cost
    assert (ok["power_mw"] <= ok[CAP] + 1e-9).all()
    fr = frontier(df, CAP, spec.paths)
    mv = fr["marginal_usd_per_year"].dropna()
    assert len(mv) == 4 and (mv >= -1e-4 * total.max() * 8760 / 168).all()
    # the marginal value is the cost difference per MW, annualised: hand-check the first step
    step = fr[fr[CAP] == 10].iloc[0]
    before = df[df[CAP] == 9.9].iloc[0]
    expect = -(step["total_cost_usd"] - before["total_cost_usd"]) / (10 - 9.9) / (168 / 8760)
    assert math.isclose(step["marginal_usd_per_year"], expect, rel_tol=1e-9, abs_tol=1e-6)


def test_table_columns_and_infeasible_diagnosis(cap_sweep):
    _, df = cap_sweep
    for c in (
        "point",
        CAP,
        "status",
        "cost_per_million_tokens",
        "power_mw",
        "run_rate_usd_per_hour",
        "capex_spend_usd",
        "units.gb300-nvl72",
        "gpus.b200-sxm",
        "power_mw.h200-sxm",
        "caps_at_limit",
        "diagnosis",
    ):
        assert c in df.columns
    bad = df.iloc[0]
    assert bad["status"] == "infeasible" and "power_cap_mw" in bad["diagnosis"]
    assert pd.isna(bad["units.gb300-nvl72"]) and math.isnan(bad["cost_per_million_tokens"])
    at10 = df[df[CAP] == 10].iloc[0]
    assert "power_cap" in at10["caps_at_limit"].split(";")
    assert df[df[CAP] == 20].iloc[0]["caps_at_limit"] == ""
    units = [f"units.{s}" for s in ("h200-sxm", "b200-sxm", "gb200-nvl72", "gb300-nvl72")]
    assert int(at10["units.h200-sxm"]) >= 32  # existing units are kept
    assert all(pd.api.types.is_integer_dtype(df[c]) for c in units)


def test_frontier_chart_is_a_png(cap_sweep):
    spec, df = cap_sweep
    charts = frontier_charts(df, spec.paths)
    assert list(charts) == ["frontier_constraints_power_cap_mw.png"]
    png = charts["frontier_constraints_power_cap_mw.png"]
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_frontier_cost_axis_starts_at_zero_and_infeasible_points_are_missing(cap_sweep):
    spec, df = cap_sweep
    fig = frontier_figure(df, CAP, spec.paths)
    ax = fig.axes[0]
    assert ax.get_ylim()[0] == 0  # a 0.05 % change does not look like a cliff
    (line,) = [ln for ln in ax.get_lines() if len(ln.get_xdata()) == len(df)]
    xs, ys = np.asarray(line.get_xdata(), dtype=float), np.asarray(line.get_ydata(), dtype=float)
    assert math.isnan(ys[xs == 9.5][0])  # the infeasible cap: a break in the line, not a zero
    assert np.isfinite(ys[xs != 9.5]).all()
    spans = [p for p in ax.patches if p.get_label() == "infeasible: no plan"]
    assert len(spans) == 1
    x0, x1 = spans[0].get_x(), spans[0].get_x() + spans[0].get_width()
    assert x0 < 9.5 < x1 and x1 < 9.9
    ok = df[df["status"] == "optimal"]["cost_per_million_tokens"]
    spread = (ok.max() - ok.min()) / ok.min()
    (label,) = [t.get_text() for t in ax.texts]
    assert f"{spread:.2%} above lowest" in label


def test_input_errors_inside_a_point_become_invalid_rows():
    spec = build_sweep(None, ["workloads.fast.interactivity=164,400"])
    df = run_sweep(spec)
    assert list(df["status"])[0] == "optimal"
    assert df.loc[1, "status"] == "invalid" and "fast" in df.loc[1, "diagnosis"]


# ---- executors ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dask_client():
    from distributed import Client, LocalCluster

    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        yield client


def test_local_processes_and_dask_give_the_same_table(dask_client):
    spec = build_sweep(None, [f"{CAP}=9.5,10,11", "skus.gb300-nvl72.cost_per_gpu_hour=2.65,3.5"])
    serial = table_csv(run_sweep(spec, SerialExecutor()))
    local = table_csv(run_sweep(spec, ProcessExecutor(workers=2, point_timeout_s=120)))
    seen = []
    dask = table_csv(
        run_sweep(spec, DaskExecutor(client=dask_client, point_timeout_s=120), on_done=lambda d, t: seen.append((d, t)))
    )
    assert serial == local == dask
    assert seen[-1] == (6, 6)
    assert "infeasible" in serial and serial.count("\n") == 7


def test_process_pool_timeout_stops_stuck_points():
    before = set(multiprocessing.active_children())
    ex = ProcessExecutor(workers=2, point_timeout_s=0.5, startup_s=0.5, fn=time.sleep)
    t0 = time.perf_counter()
    with pytest.raises(SolverError, match="sweep timed out: 0 of 3 points finished"):
        ex.run([60.0, 60.0, 60.0])  # three points that would each take a minute
    assert time.perf_counter() - t0 < 20  # not the 60 s a stuck worker would hold a waiting shutdown
    assert set(multiprocessing.active_children()) <= before  # the pool's workers are gone


def test_make_executor():
    assert isinstance(make_executor("local", 1), SerialExecutor)
    assert isinstance(make_executor("local", 2), ProcessExecutor)
    ex = make_executor("dask", 2, "tcp://10.0.0.5:8786")
    assert isinstance(ex, DaskExecutor) and ex.address == "tcp://10.0.0.5:8786"


# ---- CLI ----------------------------------------------------------------------------------


def test_cli_json_is_one_document(runner):
    r = runner.invoke(app, ["sweep", "-p", f"{CAP}=9,12", "-w", "1", "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["params"] == [{"path": CAP, "values": "9,12"}] and doc["points"] == 2 and doc["mode"] == "grid"
    assert [row["status"] for row in doc["rows"]] == ["infeasible", "optimal"]
    assert doc["rows"][0]["cost_per_million_tokens"] is None and doc["rows"][0]["diagnosis"]
    assert doc["rows"][1]["units.gb300-nvl72"] > 0
    assert_matches_schema(doc, "sweep")


def test_cli_out_csv_and_plots(runner, tmp_path):
    out, plots = tmp_path / "res.csv", tmp_path / "plots"
    r = runner.invoke(app, ["sweep", "-p", f"{CAP}=10,12", "-w", "1", "--out", str(out), "--plot", str(plots)])
    assert r.exit_code == 0, r.output
    df = pd.read_csv(out)
    assert list(df[CAP]) == [10, 12] and set(df["status"]) == {"optimal"}
    assert (plots / "frontier_constraints_power_cap_mw.png").read_bytes()[:4] == b"\x89PNG"
    assert "sweep of default.yaml: 2 points" in r.stdout and "gb300-nvl72" in r.stdout


def test_cli_samples(runner):
    args = [
        "sweep",
        "-p",
        "skus.gb300-nvl72.cost_per_gpu_hour=2.5:3.0",
        "--samples",
        "2",
        "--seed",
        "3",
        "-w",
        "1",
        "--json",
    ]
    a, b = runner.invoke(app, args), runner.invoke(app, args)
    assert a.exit_code == 0 and a.stdout == b.stdout
    doc = json.loads(a.stdout)
    assert doc["mode"] == "samples" and doc["seed"] == 3
    assert all(2.5 <= row["skus.gb300-nvl72.cost_per_gpu_hour"] <= 3.0 for row in doc["rows"])


def test_no_progress_output_when_stderr_is_not_a_terminal(runner):
    r = runner.invoke(app, ["sweep", "-p", f"{CAP}=10,12", "-w", "1", "--json"])
    assert r.exit_code == 0
    assert "\x1b[" not in r.stderr and "━" not in r.stderr and "\r" not in r.stderr
    assert r.stderr.startswith("2 points (grid) on serial\n2 points in")


def test_progress_bar_when_stderr_is_a_terminal(runner, monkeypatch):
    monkeypatch.setattr(progress_cli, "stderr_is_terminal", lambda: True)
    r = runner.invoke(app, ["sweep", "-p", f"{CAP}=10,12", "-w", "1", "--json"])
    assert r.exit_code == 0
    assert "sweep: points on serial" in r.stderr and re.search(r"\d/2\b", r.stderr)
    json.loads(r.stdout)  # progress never reaches stdout
    quiet = runner.invoke(app, ["sweep", "-p", f"{CAP}=10,12", "-w", "1", "--json", "--quiet"])
    assert "sweep: points" not in quiet.stderr
