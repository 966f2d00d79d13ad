"""Demand simulator: profile shape, sampling statistics, events, the SimPy event log, replay, determinism."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from planner.demand.curve import load_curve_csv
from planner.demand.simulate import (
    LogEntry,
    busiest_hour_ratio,
    daily_concentration,
    renewal_arrivals,
    renewal_start,
    run_demand,
    window_requests,
)
from planner.demand.spec import GeneratedDemand
from planner.demand.trace import read_trace
from planner.errors import ScenarioError
from planner.resources import scenarios_dir

TRACES = scenarios_dir() / "traces"
DAY_H = 24


def spec(**fields) -> GeneratedDemand:
    return GeneratedDemand.model_validate(fields)


def smooth(**fields) -> dict:
    """A profile without token lengths: no sampling noise, the curve is the intensity itself."""
    return {"mean_tokens_per_s": 1000.0, **fields}


def hourly(curve, w=0) -> np.ndarray:
    return curve.mean[w].reshape(-1, DAY_H)  # (days, 24)


# ---------------------------------------------------------------- profile shape


@pytest.mark.parametrize("peak_to_mean", [1.0, 1.9, 3.3, 10.0])
def test_daily_concentration_gives_the_busiest_hour_ratio(peak_to_mean):
    k = daily_concentration(peak_to_mean)
    assert busiest_hour_ratio(k) == pytest.approx(peak_to_mean, rel=1e-9)


def test_smooth_profile_matches_spec_exactly():
    s = spec(horizon_days=14, workloads={"chat": smooth(peak_to_mean=1.9, peak_hour=15, weekend_factor=0.55)})
    curve = run_demand(s, Path(".")).curve
    days = hourly(curve)
    assert curve.mean.mean() == pytest.approx(1000.0, rel=1e-6)  # two whole weeks average the weekly mean
    weekday, weekend = days[0], days[5]  # Monday, Saturday
    assert weekday.argmax() == 15
    assert weekday.max() / weekday.mean() == pytest.approx(1.9, rel=1e-6)
    assert weekend.mean() / weekday.mean() == pytest.approx(0.55, rel=1e-6)
    assert weekday.mean() == pytest.approx(1000.0 * 7 / (5 + 2 * 0.55), rel=1e-6)
    assert np.all(curve.peak >= curve.mean)


def test_sampled_profile_matches_spec_within_sampling_error():
    s = spec(
        horizon_days=28,
        seed=3,
        workloads={
            "code": {
                "mean_tokens_per_s": 2.0e5,
                "peak_to_mean": 3.3,
                "peak_hour": 10,
                "weekend_factor": 0.25,
                "burstiness": 2.0,
                "input_tokens": {"mean": 2048, "median": 1469},
                "output_tokens": {"mean": 28, "median": 13},
            }
        },
    )
    run = run_demand(s, Path("."))
    assert run.detail == {"code": "window"}
    days = hourly(run.curve)
    weekdays = days.reshape(4, 7, 24)[:, :5].reshape(-1, 24)
    weekends = days.reshape(4, 7, 24)[:, 5:].reshape(-1, 24)
    assert run.curve.mean.mean() == pytest.approx(2.0e5, rel=0.01)
    ratio = weekdays[:, 10] / weekdays.mean(axis=1)
    assert ratio.mean() == pytest.approx(3.3, rel=0.01)
    assert weekends.mean() / weekdays.mean() == pytest.approx(0.25, rel=0.02)


def test_growth_compounds_per_month():
    s = spec(horizon_days=7 * 9, workloads={"w": smooth(growth_per_month=0.1)})
    weeks = run_demand(s, Path(".")).curve.mean[0].reshape(9, -1).mean(axis=1)
    month_weeks = 365.25 / 12 / 7
    assert weeks[-1] / weeks[0] == pytest.approx(1.1 ** (8 / month_weeks), rel=1e-3)


# ---------------------------------------------------------------- counts and arrivals


def _dispersion(counts: np.ndarray) -> float:
    return float(counts.var(ddof=1) / counts.mean())


@pytest.mark.parametrize("burstiness, index", [(1.0, 1.0), (2.0, 4.0), (0.5, 0.25)])
def test_window_counts_have_the_renewal_dispersion(burstiness, index):
    n = 20_000
    counts = window_requests(np.full(n, 50.0), burstiness, np.random.default_rng(11))
    assert counts.mean() == pytest.approx(50.0, rel=0.01)
    # index of dispersion: (n-1) D / index ~ chi2(n-1), sd of D/index ~ sqrt(2/n); 5 sd
    assert _dispersion(counts) / index == pytest.approx(1.0, abs=5 * math.sqrt(2 / n) + (0.02 if index < 1 else 0))


@pytest.mark.parametrize("burstiness", [1.0, 2.0])
def test_request_level_renewal_counts(burstiness):
    rng = np.random.default_rng(5)
    state = renewal_start(burstiness, rng)
    windows = np.concatenate(
        [np.bincount(renewal_arrivals(np.full(1000, 50.0), burstiness, state, rng), minlength=1000) for _ in range(10)]
    )
    assert windows.mean() == pytest.approx(50.0, rel=0.02)
    # Poisson: exactly 1; Gamma renewal: burstiness^2 asymptotically (windows of 50 arrivals)
    assert _dispersion(windows) == pytest.approx(burstiness**2, rel=0.12)


def test_request_and_window_level_agree_in_mean():
    workload = {
        "mean_tokens_per_s": 5000.0,
        "peak_to_mean": 2.0,
        "burstiness": 1.3,
        "input_tokens": {"mean": 1155, "median": 1020},
        "output_tokens": {"mean": 211, "median": 129},
    }
    fine = run_demand(spec(horizon_days=7, request_level_limit=5_000_000, workloads={"w": workload}), Path("."))
    coarse = run_demand(spec(horizon_days=7, request_level_limit=10, workloads={"w": workload}), Path("."))
    assert fine.detail == {"w": "request"} and coarse.detail == {"w": "window"}
    assert fine.curve.mean.mean() == pytest.approx(5000.0, rel=0.01)
    assert coarse.curve.mean.mean() == pytest.approx(5000.0, rel=0.01)
    assert (fine.curve.peak / fine.curve.mean).mean() == pytest.approx(
        (coarse.curve.peak / coarse.curve.mean).mean(), rel=0.05
    )


# ---------------------------------------------------------------- events


def _pair(events_a=(), events_b=(), days=7):
    base = spec(horizon_days=days, workloads={"a": smooth(peak_to_mean=1.5), "b": smooth(mean_tokens_per_s=400.0)})
    with_events = spec(
        horizon_days=days,
        workloads={
            "a": smooth(peak_to_mean=1.5, events=list(events_a)),
            "b": smooth(mean_tokens_per_s=400.0, events=list(events_b)),
        },
    )
    return run_demand(base, Path(".")).curve, run_demand(with_events, Path(".")).curve


def test_launch_steps_and_ramps():
    # on the flat workload b a slice's ratio is the mean of the linear ramp over it
    base, launched = _pair(events_b=[{"kind": "launch", "day": 2, "multiplier": 1.5, "ramp_days": 2}])
    ratio = launched.mean[1] / base.mean[1]
    assert np.allclose(ratio[: 2 * DAY_H], 1.0)
    assert np.allclose(ratio[4 * DAY_H :], 1.5)
    # the slice starting 1 day into the 2-day ramp: its middle is 24.5 h in, 1 + 0.5 x 24.5 / 48
    assert ratio[3 * DAY_H] == pytest.approx(1 + 0.5 * (24.5 / 48), rel=1e-9)
    assert np.array_equal(launched.mean[0], base.mean[0])


def test_spike_only_inside_its_hours():
    base, spiked = _pair([{"kind": "spike", "day": 1.5, "hours": 3, "multiplier": 4}])
    ratio = spiked.mean[0] / base.mean[0]
    inside = np.zeros(ratio.size, dtype=bool)
    inside[36:39] = True
    assert np.allclose(ratio[inside], 4.0) and np.allclose(ratio[~inside], 1.0)


def test_outage_moves_all_load_and_loses_none():
    base, moved = _pair([{"kind": "outage", "day": 3, "hours": 6, "to": "b"}])
    window = slice(72, 78)
    assert np.all(moved.mean[0, window] == 0)
    assert np.allclose(moved.mean[1, window], base.mean[1, window] + base.mean[0, window])
    assert np.allclose(moved.mean.sum(axis=0), base.mean.sum(axis=0))
    outside = np.ones(base.mean.shape[1], dtype=bool)
    outside[window] = False
    assert np.allclose(moved.mean[:, outside], base.mean[:, outside])


def test_migration_moves_its_share():
    base, moved = _pair(events_b=[{"kind": "migration", "day": 1, "share": 0.2, "source": "a"}])
    after = slice(DAY_H, None)
    assert np.allclose(moved.mean[0, after], 0.8 * base.mean[0, after])
    assert np.allclose(moved.mean[1, after], base.mean[1, after] + 0.2 * base.mean[0, after])
    assert np.allclose(moved.mean[:, :DAY_H], base.mean[:, :DAY_H])


def test_simpy_event_sequence_is_exact():
    s = spec(
        horizon_days=2,
        workloads={
            "a": smooth(
                events=[
                    {"kind": "outage", "day": 1.25, "hours": 3, "to": "b"},
                    {"kind": "spike", "day": 0.5, "hours": 2, "multiplier": 2},
                ]
            ),
            "b": smooth(events=[{"kind": "launch", "day": 0.25, "multiplier": 1.2, "ramp_days": 0.5}]),
        },
    )
    log = run_demand(s, Path(".")).log
    assert log == (
        LogEntry(21600.0, "b", "launch x1.2 starts"),
        LogEntry(43200.0, "a", "spike x2 starts"),
        LogEntry(50400.0, "a", "spike x2 ends"),
        LogEntry(64800.0, "b", "launch x1.2 fully ramped"),
        LogEntry(86400.0, "a", "booked slices 0-23"),
        LogEntry(86400.0, "b", "booked slices 0-23"),
        LogEntry(108000.0, "a", "outage: load moves to b starts"),
        LogEntry(118800.0, "a", "outage: load moves to b ends"),
        LogEntry(172800.0, "a", "booked slices 24-47"),
        LogEntry(172800.0, "b", "booked slices 24-47"),
    )


# ---------------------------------------------------------------- replay


def _trace_tokens(name: str, basis: str = "total") -> int:
    return int(read_trace(TRACES / name).tokens(basis).sum())


def test_replay_of_the_conversation_trace_delivers_exactly_its_tokens():
    s = spec(workloads={"chat": {"trace": "azure2023_conversation.csv"}})
    run = run_demand(s, TRACES)
    assert run.curve.span_hours == 1.0  # no horizon_days: the trace's length
    exact = _trace_tokens("azure2023_conversation.csv")
    assert exact == 26_450_535
    assert run.tokens[0, 0].sum() == exact
    assert run.curve.tokens()[0] == pytest.approx(exact, rel=1e-12)


def test_replay_tiles_and_scales_exactly():
    one = _trace_tokens("azure2023_code.csv")
    tiled = run_demand(spec(horizon_days=3 / 24, workloads={"c": {"trace": "azure2023_code.csv"}}), TRACES)
    assert tiled.tokens[0, 0].tolist() == [one, one, one]
    scaled = run_demand(spec(workloads={"c": {"trace": "azure2023_code.csv", "scale": 3}}), TRACES)
    assert scaled.tokens[0, 0].sum() == 3 * one
    output = run_demand(spec(workloads={"c": {"trace": "azure2023_code.csv", "tokens_basis": "output"}}), TRACES)
    assert output.tokens[0, 0].sum() == _trace_tokens("azure2023_code.csv", "output")
    half = run_demand(spec(workloads={"c": {"trace": "azure2023_code.csv", "scale": 0.5}}), TRACES)
    assert half.tokens[0, 0].sum() == pytest.approx(0.5 * one, rel=0.05)


def test_replay_peak_is_the_busiest_window():
    trace = read_trace(TRACES / "azure2023_code.csv")
    run = run_demand(spec(peak_resolution_s=60, workloads={"c": {"trace": "azure2023_code.csv"}}), TRACES)
    minute = np.bincount((trace.arrived_at_s // 60).astype(int), weights=trace.tokens().astype(float))
    assert run.curve.peak[0, 0] == minute.max() / 60.0


# ---------------------------------------------------------------- determinism and bands


def test_same_seed_same_bytes_other_seed_other_sample():
    s = spec(
        horizon_days=2,
        seed=4,
        replicas=3,
        workloads={
            "w": {
                "mean_tokens_per_s": 3e4,
                "input_tokens": {"mean": 900, "median": 600},
                "output_tokens": {"mean": 200, "median": 100},
            }
        },
    )
    a = run_demand(s, Path(".")).curve
    b = run_demand(s, Path(".")).curve
    c = run_demand(s, Path("."), seed=5).curve
    assert load_curve_csv(a) == load_curve_csv(b)
    assert load_curve_csv(a) != load_curve_csv(c)
    assert (a.seed, c.seed) == (4, 5)
    assert np.all(a.bands["p50"] <= a.bands["p95"]) and np.all(a.bands["p95"] <= a.bands["p99"])
    assert np.array_equal(a.peak, np.maximum(a.bands["p95"], a.mean))
    p99 = run_demand(s, Path("."), sizing_quantile="p99").curve
    assert np.all(p99.peak >= a.peak)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "workload, message",
    [
        ({"mean_tokens_per_s": -5.0}, "greater than 0"),
        ({"mean_tokens_per_s": 5.0, "peak_to_mean": 0.8}, "greater than or equal to 1"),
        ({"mean_tokens_per_s": 5.0, "weekend_factor": -0.1}, "greater than or equal to 0"),
        ({"mean_tokens_per_s": 5.0, "burstiness": 2.0}, "burstiness 2.0 needs input_tokens and output_tokens"),
        ({"trace": "x.csv", "events": [{"kind": "spike", "day": 1, "hours": 1, "multiplier": 2}]}, "profiles only"),
        (
            {"mean_tokens_per_s": 5.0, "events": [{"kind": "outage", "day": 1, "hours": 1, "to": "nope"}]},
            "no workload 'nope'",
        ),
    ],
)
def test_bad_demand_sections_are_rejected(workload, message):
    with pytest.raises(ValueError, match=message):
        spec(workloads={"w": workload})


def test_slice_must_hold_whole_windows():
    with pytest.raises(ValueError, match="not a whole number of peak_resolution_s"):
        spec(slice_minutes=60, peak_resolution_s=7, workloads={"w": smooth()})


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "text, message",
    [
        ("arrived_at,num_prefill_tokens\n0,1\n", "missing column(s) num_decode_tokens"),
        (
            "arrived_at,num_prefill_tokens,num_decode_tokens\n0,1,2\nabc,3,4\n",
            "row 3, column 'arrived_at': not a finite number",
        ),
        ("arrived_at,num_prefill_tokens,num_decode_tokens\n-1,1,2\n", "row 2, column 'arrived_at': negative value -1"),
        (
            "arrived_at,num_prefill_tokens,num_decode_tokens\n0,1,2\n5,1,2\n3,1,2\n",
            "row 4, column 'arrived_at': 3 s is before",
        ),
        ("arrived_at,num_prefill_tokens,num_decode_tokens\n0,1.5,2\n", "not a whole number"),
    ],
)
def test_bad_traces_name_file_row_and_column(tmp_path, text, message):
    path = _write(tmp_path / "t.csv", text)
    with pytest.raises(ScenarioError) as err:
        run_demand(spec(workloads={"w": {"trace": "t.csv"}}), tmp_path, source="s.yaml")
    assert message in str(err.value)
    assert "s.yaml: demand.workloads.w.trace" in str(err.value) and str(path) in str(err.value)


def test_missing_trace(tmp_path):
    with pytest.raises(ScenarioError, match="trace file not found"):
        run_demand(spec(workloads={"w": {"trace": "nope.csv"}}), tmp_path)


def test_fixed_token_lengths_at_window_level_are_exact():
    import numpy as np

    from planner.demand.simulate import window_tokens
    from planner.demand.spec import WorkloadTraffic

    traffic = WorkloadTraffic(
        mean_tokens_per_s=1.0, input_tokens={"mean": 8192, "median": 8192}, output_tokens={"mean": 1024, "median": 1024}
    )
    counts = np.array([0, 3, 50, 1000])
    tokens = window_tokens(traffic, counts, np.random.default_rng(0))
    assert np.isfinite(tokens).all()
    assert tokens == pytest.approx([0.0, 3 * 9216.0, 50 * 9216.0, 1000 * 9216.0], rel=1e-12)
