"""Time aggregation: certified bounds hold, lossless cases are exact, peaks are never dropped."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.milp.aggregate import aggregate, pareto_maximal, should_aggregate
from planner.optimize.run import plan_fleet

from helpers import OPTIONS, problem, sku


def two_workload_problem(seed: int, hours: int, billed: bool, power_mw=None):
    rng = np.random.default_rng(seed)
    t = np.arange(hours)
    chat = 4000 * (1 + 0.8 * np.cos(2 * np.pi * (t - 15) / 24)) * rng.lognormal(0, 0.1, hours)
    code = 1500 * (1 + 0.9 * np.cos(2 * np.pi * (t - 11) / 24)) * rng.lognormal(0, 0.1, hours)
    skus = [
        sku("node", g=8, kw=2.0, idle=0.6, cost=1.0, thr={"chat": 100, "code": 60}, billed=billed),
        sku("rack", g=72, kw=1.4, idle=0.4, cost=1.5, thr={"chat": 160, "code": 110}, billed=billed),
        sku("old", g=8, kw=1.7, idle=0.5, cost=0.6, thr={"chat": 40}, billed=billed),
    ]
    mean = np.vstack([chat, code])
    return problem(skus, mean, workloads=("chat", "code"), peak=mean * 1.2, power_mw=power_mw, price=0.15)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), hours=st.integers(24, 72), billed=st.booleans(), capped=st.booleans())
def test_aggregated_within_reported_error_of_exact(seed, hours, billed, capped):
    p = two_workload_problem(seed, hours, billed)
    if capped:
        free = plan_fleet(replace(p, aggregation="off"), OPTIONS, explain=False)
        p = replace(p, power_cap_mw=free.power_mw * 0.97)
    exact = plan_fleet(replace(p, aggregation="off"), OPTIONS, explain=False)
    agg = plan_fleet(replace(p, aggregation="on"), OPTIONS, explain=False)
    assert agg.status == exact.status
    if exact.status != "optimal":
        return
    info = agg.aggregation
    assert info["mode"] == "aggregated" and info["capacity_slices"] <= hours
    gap = 2e-6  # both MILPs are solved to a relative gap of 1e-6 in these tests
    # the aggregated fleet is feasible at full resolution: never below the exact optimum
    assert agg.total_cost_usd >= exact.total_cost_usd * (1 - gap)
    # and within the certified bound of it
    assert agg.total_cost_usd <= exact.total_cost_usd * (1 + info["error_bound"] + gap)
    assert info["lower_bound_usd"] <= exact.total_cost_usd * (1 + gap)
    assert agg.tokens_served == pytest.approx(exact.tokens_served)


def test_lossless_without_energy_billing_is_exact():
    p = two_workload_problem(3, 96, billed=False)
    exact = plan_fleet(replace(p, aggregation="off"), OPTIONS, explain=False)
    agg = plan_fleet(replace(p, aggregation="on"), OPTIONS, explain=False)
    assert agg.total_cost_usd == pytest.approx(exact.total_cost_usd, rel=2e-6)
    assert agg.aggregation["energy_groups"] == 0
    assert agg.aggregation["error_bound"] <= 2e-6


def test_repeated_days_merge_exactly():
    one = two_workload_problem(5, 24, billed=True)
    week = replace(
        one,
        curve=replace(
            one.curve,
            start_hours=np.arange(24 * 7, dtype=float),
            slice_hours=np.ones(24 * 7),
            mean=np.tile(one.curve.mean, 7),
            peak=np.tile(one.curve.peak, 7),
        ),
    )
    day = plan_fleet(replace(one, aggregation="off"), OPTIONS, explain=False)
    agg = plan_fleet(replace(week, aggregation="on"), OPTIONS, explain=False)
    assert agg.total_cost_usd == pytest.approx(7 * day.total_cost_usd, rel=1e-3)
    assert [f.units for f in agg.fleet] == [f.units for f in day.fleet]


@settings(max_examples=50, deadline=None)
@given(data=st.lists(st.lists(st.floats(0, 1e6), min_size=3, max_size=3), min_size=1, max_size=60))
def test_pareto_keeps_every_workload_peak_and_dominates_all(data):
    peak = np.array(data).T
    kept = pareto_maximal(peak)
    assert np.allclose(peak[:, kept].max(axis=1), peak.max(axis=1))
    # every slice is dominated by a kept slice
    dom = (peak[:, :, None] <= peak[:, kept][:, None, :]).all(axis=0)
    assert dom.any(axis=1).all()


def test_aggregate_conserves_hours_and_tokens():
    p = two_workload_problem(1, 72, billed=True)
    agg = aggregate(p, groups=6)
    assert agg.curve.span_hours == pytest.approx(p.curve.span_hours)
    assert agg.curve.tokens() == pytest.approx(p.curve.tokens())
    assert set(range(72)) >= set(agg.capacity_slices.tolist())


def test_refine_splits_only_the_groups_holding_the_error_and_nests_in_them():
    from planner.milp.aggregate import REFINE_SHARE, refine

    p = two_workload_problem(2, 96, billed=True)
    agg = aggregate(p, groups=6)
    gaps = np.zeros(int(agg.labels.max()) + 1)
    gaps[agg.group_ids[0]], gaps[agg.group_ids[3]], gaps[agg.group_ids[5]] = 100.0, 900.0, 1.0
    assert (900.0 + 100.0) / 1001.0 >= REFINE_SHARE > 900.0 / 1001.0  # the two largest hold the share
    finer = refine(p.curve, agg, gaps)
    assert finer is not None
    # every new group lies inside one old group; only the two groups that hold the error are split
    pairs = set(zip(finer.labels.tolist(), agg.labels.tolist(), strict=True))
    assert len({new for new, _ in pairs}) == len(pairs)
    pieces = {old: sum(1 for _, o in pairs if o == old) for _, old in pairs}
    split = {g for g, k in pieces.items() if k > 1}
    assert split == {int(agg.group_ids[0]), int(agg.group_ids[3])}
    assert all(pieces[g] == 4 for g in split)
    assert finer.groups == agg.groups + 6
    assert finer.curve.span_hours == pytest.approx(p.curve.span_hours)
    assert finer.curve.tokens() == pytest.approx(p.curve.tokens())
    np.testing.assert_array_equal(finer.capacity_slices, agg.capacity_slices)
    # nothing to gain (no positive gap) or nothing left to split: no refinement
    assert refine(p.curve, agg, np.zeros_like(gaps)) is None
    whole = aggregate(p, groups=96)  # every distinct slice its own group
    assert refine(p.curve, whole, np.ones(int(whole.labels.max()) + 1)) is None


def test_group_gaps_add_up_to_the_full_resolution_cost_over_the_aggregated_one(monkeypatch):
    import planner.milp.aggregate as aggregation
    from planner.milp.aggregate import dispatch_fleet, group_gaps
    from planner.milp.evaluate import evaluate
    from planner.optimize.run import solve_min_cost

    p = two_workload_problem(5, 72, billed=True)
    agg = aggregate(p, groups=4)
    reduced = replace(p, curve=agg.curve)
    out = solve_min_cost(reduced, OPTIONS)
    full = dispatch_fleet(p, out.units, OPTIONS)
    gaps = group_gaps(p, agg, out.dispatch, full)
    excess = evaluate(p, out.units, full).total_cost_usd - evaluate(reduced, out.units, out.dispatch).total_cost_usd
    assert gaps.sum() == pytest.approx(excess, rel=1e-9, abs=1e-6)
    assert (gaps >= -1e-6 * max(excess, 1.0)).all()  # averaging never costs more (convexity)
    # forced to refine (no error is small enough), every round keeps the exact optimum within its bound
    monkeypatch.setattr(aggregation, "TARGET_ERROR", 0.0)
    exact = plan_fleet(replace(p, aggregation="off"), OPTIONS, explain=False)
    plan = plan_fleet(replace(p, aggregation="on"), OPTIONS, explain=False)
    info = plan.aggregation
    assert info["refinements"] >= 1
    assert info["lower_bound_usd"] <= exact.total_cost_usd * (1 + 2e-6)
    assert exact.total_cost_usd * (1 - 2e-6) <= plan.total_cost_usd <= info["upper_bound_usd"] * (1 + 1e-9)


def test_auto_threshold_and_objectives():
    small = two_workload_problem(1, 48, billed=True)
    assert not should_aggregate(small, "auto")
    assert should_aggregate(small, "on")
    assert should_aggregate(replace(small, objective="max_tokens"), "on")  # every objective aggregates
    big = replace(
        small,
        curve=replace(
            small.curve,
            start_hours=np.arange(5000.0),
            slice_hours=np.ones(5000),
            mean=np.ones((2, 5000)),
            peak=np.ones((2, 5000)),
        ),
    )
    assert should_aggregate(big, "auto") and not should_aggregate(big, "off")


def test_cli_exact_flag_and_report(runner):
    import json

    from planner.cli.main import app

    on = runner.invoke(app, ["plan", "--json", "--no-explain", "--set", "solver.time_aggregation=on"])
    off = runner.invoke(app, ["plan", "--json", "--no-explain", "--exact"])
    assert on.exit_code == 0 and off.exit_code == 0, on.output + off.output
    a, b = json.loads(on.stdout), json.loads(off.stdout)
    assert a["aggregation"]["mode"] == "aggregated" and b["aggregation"]["mode"] == "exact"
    assert a["total_cost_usd"] == pytest.approx(b["total_cost_usd"], rel=1e-4)


def test_full_year_default_plans_in_seconds_with_its_error_stated():
    from planner.pipeline import run_plan
    from planner.resources import scenarios_dir

    plan = run_plan(scenarios_dir() / "default-year.yaml", explain=False)
    assert plan.status == "optimal"
    agg = plan.aggregation
    assert agg["mode"] == "aggregated" and agg["original_slices"] >= 8700
    assert 0 <= agg["error_bound"] <= 1e-3
    assert agg["lower_bound_usd"] <= plan.total_cost_usd <= agg["upper_bound_usd"] * (1 + 1e-9)
    assert plan.power_mw <= plan.power_cap_mw


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), hours=st.integers(48, 96), billed=st.booleans(), cut=st.floats(0.5, 0.95))
def test_token_objectives_aggregated_within_their_bound_of_exact(seed, hours, billed, cut):
    # a power cap below what the demand needs: tokens are given up, so the token groups are used
    p = two_workload_problem(seed, hours, billed)
    free = plan_fleet(replace(p, aggregation="off"), OPTIONS, explain=False)
    p = replace(p, power_cap_mw=free.power_mw * cut)
    gap = 2e-6
    most = plan_fleet(replace(p, objective="max_tokens", aggregation="off"), OPTIONS, explain=False)
    agg = plan_fleet(replace(p, objective="max_tokens", aggregation="on"), OPTIONS, explain=False)
    info = agg.aggregation
    if "upper_bound_tokens" in info:  # token groups (not answered by the min_cost plan)
        # the aggregated fleet's tokens are real (full-resolution dispatch): never above the exact maximum
        assert agg.tokens_served <= most.tokens_served * (1 + gap)
        assert info["upper_bound_tokens"] >= most.tokens_served * (1 - gap)
        assert agg.tokens_served >= most.tokens_served * (1 - info["error_bound"] - gap)
    assert agg.tokens_served + sum(agg.unserved_tokens.values()) == pytest.approx(agg.tokens_demanded)
    for fraction in (None, 0.6 * cut):
        q = replace(p, objective="min_cost_per_token", min_served_fraction=fraction)
        approx = plan_fleet(replace(q, aggregation="on"), OPTIONS, explain=False)
        if fraction is None:
            # the default floor is what max_tokens serves in the same mode: never less than that plan
            assert approx.tokens_served >= agg.tokens_served * (1 - 1e-6)
            if "upper_bound_tokens" in info:  # compare with the exact optimum at that same floor
                floor_tokens = next(it["tokens"] for it in approx.iterations if it.get("stage") == "service_floor")
                q = replace(q, min_served_fraction=floor_tokens / approx.tokens_demanded)
        exact = plan_fleet(replace(q, aggregation="off"), OPTIONS, explain=False)
        assert approx.status == exact.status
        if exact.status == "infeasible":
            continue
        floor = (fraction or 0) * approx.tokens_demanded
        assert approx.tokens_served >= floor * (1 - 1e-6)
        bound = approx.aggregation.get("error_bound", 0.0)
        assert approx.cost_per_million_tokens >= exact.cost_per_million_tokens * (1 - 1e-4)
        assert approx.cost_per_million_tokens <= exact.cost_per_million_tokens * (1 + bound + 1e-4)


def test_a_floor_of_everything_is_min_cost_aggregated_too():
    p = two_workload_problem(5, 72, billed=True)
    cheapest = plan_fleet(replace(p, aggregation="on"), OPTIONS, explain=False)
    whole = plan_fleet(
        replace(p, objective="min_cost_per_token", min_served_fraction=1.0, aggregation="on"), OPTIONS, explain=False
    )
    assert whole.status == "optimal" and whole.tokens_served == whole.tokens_demanded
    assert whole.total_cost_usd == pytest.approx(cheapest.total_cost_usd)
    capped = replace(p, power_cap_mw=cheapest.power_mw * 0.5)
    assert (
        plan_fleet(
            replace(capped, objective="min_cost_per_token", min_served_fraction=1.0, aggregation="on"),
            OPTIONS,
            explain=False,
        ).status
        == "infeasible"
    )
