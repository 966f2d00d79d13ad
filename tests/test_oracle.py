"""Brute force against the MILP on Hypothesis-generated 2-3 SKU instances, and metamorphic laws."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.optimize.run import plan_fleet

from helpers import OPTIONS, problem, sku

MAX_UNITS = 5


def brute_force(p) -> float | None:
    """Cheapest feasible fleet by enumerating units (single workload; greedy dispatch is exact)."""
    best = None
    ranges = [range(s.min_units, int(min(s.max_units, MAX_UNITS)) + 1) for s in p.skus]
    c = p.curve
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(c.peak > 0, c.mean / c.peak, 0.0)[0]
    for units in itertools.product(*ranges):
        g = np.array([s.gpus_per_unit * n for s, n in zip(p.skus, units, strict=True)], dtype=float)
        if p.power_cap_mw is not None and (g * p.column("facility_kw_per_gpu")).sum() > p.power_cap_mw * 1000 + 1e-9:
            continue
        if (
            p.budget_usd_per_hour is not None
            and (g * p.column("cost_usd_per_gpu_hour")).sum() > p.budget_usd_per_hour + 1e-9
        ):
            continue
        theta = p.throughput[:, 0]
        cap = p.max_utilization * g * theta
        if (c.peak[0] > cap.sum() * (1 + 1e-9)).any():
            continue
        span = c.slice_hours.sum()
        billed = p.column("energy_billed")
        idle = p.column("facility_idle_kw_per_gpu")
        kw = p.column("facility_kw_per_gpu")
        cost = (g * p.column("cost_usd_per_gpu_hour")).sum() * span + (
            billed * g * idle
        ).sum() * p.electricity_usd_per_kwh * span
        # energy per token of each SKU when billed; fill cheapest first (fractional knapsack)
        per_token = np.where(billed > 0, (kw - idle) * p.electricity_usd_per_kwh / theta, 0.0)
        order = np.argsort(per_token, kind="stable")
        for t in range(c.peak.shape[1]):
            left = c.peak[0, t]
            for j in order:
                take = min(left, cap[j])
                cost += per_token[j] * take * r[t] * c.slice_hours[t]
                left -= take
        if best is None or cost < best:
            best = cost
    return best


sku_strategy = st.builds(
    dict,
    g=st.sampled_from([1, 4, 8]),
    kw=st.floats(0.5, 3.0),
    idle_share=st.floats(0.0, 0.9),
    cost=st.floats(0.5, 5.0),
    thr=st.floats(20, 500),
    billed=st.booleans(),
    existing=st.integers(0, 1),
    max_units=st.integers(1, MAX_UNITS),
)


def to_sku(i, d):
    return sku(
        f"s{i}",
        g=d["g"],
        kw=d["kw"],
        idle=d["kw"] * d["idle_share"],
        cost=d["cost"],
        thr=d["thr"],
        billed=d["billed"],
        existing=min(d["existing"], d["max_units"]),
        max_units=d["max_units"],
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    skus=st.lists(sku_strategy, min_size=2, max_size=3),
    demand=st.lists(st.one_of(st.just(0.0), st.floats(1.0, 3000)), min_size=1, max_size=4),
    peak_factor=st.floats(1.0, 1.5),
    power=st.one_of(st.none(), st.floats(0.005, 0.06)),
    budget=st.one_of(st.none(), st.floats(5, 80)),
    util=st.floats(0.5, 1.0),
)
def test_milp_matches_brute_force(skus, demand, peak_factor, power, budget, util):
    mean = np.array([demand])
    p = problem(
        [to_sku(i, d) for i, d in enumerate(skus)],
        mean,
        peak=mean * peak_factor,
        power_mw=power,
        budget=budget,
        util=util,
        price=0.12,
    )
    expected = brute_force(p)
    plan = plan_fleet(p, OPTIONS, explain=False)
    if expected is None:
        assert plan.status == "infeasible"
    else:
        assert plan.status == "optimal"
        assert plan.total_cost_usd == pytest.approx(expected, rel=1e-5, abs=1e-6)


BASE = [sku("a", g=8, kw=1.2, cost=1.4, thr=90, billed=True), sku("b", g=72, kw=2.1, cost=2.6, thr=900)]


def base_problem(**kw):
    return problem(BASE, [[2e4, 6e4, 3.5e4]], **kw)


@settings(max_examples=20, deadline=None)
@given(cap=st.floats(0.3, 2.0), more=st.floats(0.0, 1.0))
def test_looser_power_cap_never_costs_more(cap, more):
    tight = plan_fleet(base_problem(power_mw=cap), OPTIONS, explain=False)
    loose = plan_fleet(base_problem(power_mw=cap + more), OPTIONS, explain=False)
    if tight.status == "optimal":
        assert loose.status == "optimal"
        assert loose.total_cost_usd <= tight.total_cost_usd * (1 + 2e-6)


@settings(max_examples=20, deadline=None)
@given(scale=st.floats(1.0, 3.0))
def test_more_demand_never_costs_less(scale):
    small = plan_fleet(problem(BASE, [[2e4, 6e4, 3.5e4]]), OPTIONS, explain=False)
    big = plan_fleet(problem(BASE, [[2e4 * scale, 6e4 * scale, 3.5e4 * scale]]), OPTIONS, explain=False)
    assert big.total_cost_usd >= small.total_cost_usd * (1 - 2e-6)


def test_adding_a_sku_never_costs_more_and_order_does_not_matter():
    extra = sku("c", g=8, kw=1.0, cost=1.9, thr=200)
    two = plan_fleet(problem(BASE, [[2e4, 6e4, 3.5e4]]), OPTIONS, explain=False)
    three = plan_fleet(problem([*BASE, extra], [[2e4, 6e4, 3.5e4]]), OPTIONS, explain=False)
    shuffled = plan_fleet(problem([extra, BASE[1], BASE[0]], [[2e4, 6e4, 3.5e4]]), OPTIONS, explain=False)
    assert three.total_cost_usd <= two.total_cost_usd * (1 + 2e-6)
    assert shuffled.total_cost_usd == pytest.approx(three.total_cost_usd, rel=2e-6)


@pytest.mark.parametrize("k", [0.5, 3.0])
def test_prices_times_k_give_cost_times_k(k):
    base = problem(BASE, [[2e4, 6e4, 3.5e4]], price=0.1)
    scaled_skus = [replace(s, cost_usd_per_gpu_hour=s.cost_usd_per_gpu_hour * k) for s in BASE]
    scaled = problem(scaled_skus, [[2e4, 6e4, 3.5e4]], price=0.1 * k)
    a = plan_fleet(base, OPTIONS, explain=False)
    b = plan_fleet(scaled, OPTIONS, explain=False)
    assert b.total_cost_usd == pytest.approx(a.total_cost_usd * k, rel=2e-6)
    assert not math.isnan(b.cost_per_million_tokens)
