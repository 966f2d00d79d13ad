"""The fleet MILP: hand-computed optima, recomputed constraints, objectives, diagnosis."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from planner.milp.evaluate import evaluate
from planner.optimize.run import plan_fleet

from helpers import OPTIONS, problem, sku


def test_single_sku_hand_computed():
    # demand 1,000 tok/s for 2 hours; 100 tok/s/GPU, 8 GPUs/unit -> ceil(10/8) = 2 units = 16 GPUs
    p = problem([sku("a", g=8, cost=2.0, thr=100)], [[1000, 1000]])
    plan = plan_fleet(p, OPTIONS)
    assert plan.status == "optimal"
    assert plan.fleet[0].units == 2
    assert plan.total_cost_usd == pytest.approx(16 * 2.0 * 2)
    tokens = 1000 * 2 * 3600
    assert plan.tokens_served == pytest.approx(tokens)
    assert plan.cost_per_million_tokens == pytest.approx(64 / tokens * 1e6)


def test_mix_beats_single_sku_by_granularity():
    # big: 72 GPUs x 100 tok/s, $1/GPU-h -> $72/h per 7,200 tok/s; small: 8 GPUs x 50 tok/s, $1/GPU-h
    # demand 7,600: one big unit + one small unit (400 tok/s) = $80/h; two big = $144/h; 19 small = $152/h
    p = problem([sku("big", g=72, thr=100), sku("small", g=8, thr=50)], [[7600]])
    plan = plan_fleet(p, OPTIONS)
    assert [f.units for f in plan.fleet] == [1, 1]
    assert plan.total_cost_usd == pytest.approx(80.0)
    assert plan.mix_saving_usd == pytest.approx(144.0 - 80.0)


def test_energy_billing_hand_computed():
    # 1 unit of 8 GPUs, 2 kW full, 0.5 kW idle, $0.10/kWh billed; demand 400 tok/s at 100 tok/s/GPU
    # busy GPUs = 4: energy/h = (8 x 0.5 + 4 x 1.5) x 0.1 = $1.0/h; fixed 8 x $1 = $8/h; 3 hours
    p = problem([sku("a", g=8, kw=2.0, idle=0.5, cost=1.0, thr=100, billed=True)], [[400, 400, 400]], price=0.1)
    plan = plan_fleet(p, OPTIONS)
    assert plan.total_cost_usd == pytest.approx(3 * (8 * 1.0 + (8 * 0.5 + 4 * 1.5) * 0.1))
    assert plan.energy_cost_usd == pytest.approx(3 * 1.0)


def test_peak_sizes_capacity_mean_prices_energy():
    # peak 800 needs 8 GPUs; mean 400 keeps 4 busy on average for energy
    p = problem([sku("a", g=8, kw=2.0, idle=0.5, cost=1.0, thr=100, billed=True)], [[400]], peak=[[800]], price=0.1)
    plan = plan_fleet(p, OPTIONS)
    assert plan.fleet[0].units == 1
    assert plan.total_cost_usd == pytest.approx(8 + (8 * 0.5 + 4 * 1.5) * 0.1)
    assert plan.tokens_served == pytest.approx(400 * 3600)


def test_existing_units_are_kept():
    p = problem([sku("old", thr=10, existing=3), sku("new", thr=100)], [[800]])
    plan = plan_fleet(p, OPTIONS)
    assert plan.fleet[0].units == 3
    # old serves 3 x 8 x 10 = 240; new needs ceil(560 / 800) = 1 unit
    assert plan.fleet[1].units == 1


def test_power_cap_changes_the_mix_and_is_binding():
    # cheap but power-hungry vs dear and frugal, 800 tok/s demand
    cheap = sku("cheap", g=8, kw=2.0, cost=1.0, thr=100)  # 1 unit = 800 tok/s, 16 kW, $8/h
    frugal = sku("frugal", g=8, kw=1.0, cost=1.5, thr=100)  # 1 unit = 800 tok/s, 8 kW, $12/h
    free = plan_fleet(problem([cheap, frugal], [[800]]), OPTIONS)
    assert [f.units for f in free.fleet] == [1, 0]
    capped = plan_fleet(problem([cheap, frugal], [[800]], power_mw=0.010), OPTIONS, power_step_mw=0.010)
    assert [f.units for f in capped.fleet] == [0, 1]
    assert "power_cap" in capped.binding
    power = next(c for c in capped.caps if c.name == "power_cap")
    assert power.saving_usd == pytest.approx(12.0 - 8.0)


def test_budget_and_capex_caps():
    a = sku("a", g=8, cost=1.0, thr=100, capex=1000.0)
    plan = plan_fleet(problem([a], [[1600]], budget=16.0, capex_budget=16_000.0), OPTIONS)
    assert plan.status == "optimal" and plan.fleet[0].units == 2
    assert plan.capex_spend_usd == pytest.approx(16 * 1000.0)
    tight = plan_fleet(problem([a], [[1600]], capex_budget=15_999.0), OPTIONS)
    assert tight.status == "infeasible"
    assert tight.reason.relaxations["capex_budget_usd"]["needed"] == pytest.approx(16_000.0)


def test_capex_excludes_existing_units():
    a = sku("a", g=8, cost=1.0, thr=100, capex=1000.0, existing=1)
    plan = plan_fleet(problem([a], [[1600]], capex_budget=8_000.0), OPTIONS)
    assert plan.fleet[0].units == 2 and plan.capex_spend_usd == pytest.approx(8_000.0)


def test_utilization_cap():
    # 800 tok/s at 100 tok/s/GPU needs 8 busy GPUs; at 50 % utilisation 16 GPUs = 2 units
    plan = plan_fleet(problem([sku("a", thr=100)], [[800]], util=0.5), OPTIONS)
    assert plan.fleet[0].units == 2


def test_infeasible_power_diagnosis():
    p = problem([sku("a", g=8, kw=1.0, thr=100)], [[100, 1600, 100]], power_mw=0.008)
    plan = plan_fleet(p, OPTIONS)
    assert plan.status == "infeasible"
    r = plan.reason
    assert r.checks[0]["check"] == "power_for_peak"
    assert r.checks[0]["needed_mw"] == pytest.approx(16 / 1000)
    assert r.relaxations["power_cap_mw"]["needed"] == pytest.approx(0.016)
    lost = r.elastic["unserved"]["w"]
    assert lost["hours"] == ["1-2"]
    assert lost["unserved_tokens"] == pytest.approx(800 * 3600)
    assert "16" in r.summary or "0.016" in r.summary
    # one typed reason: the same fields as a buildout's, the cap that is short among caps_needed
    assert r.lines and r.unserved == r.elastic["unserved"]
    assert [(c["cap"], c["scope"]) for c in r.caps_needed] == [("power_cap", "only")]
    assert r.caps_needed[0]["needed"] == pytest.approx(0.016) and r.caps_needed[0]["short_by"] == pytest.approx(0.008)


def test_infeasible_supply_diagnosis():
    p = problem([sku("a", g=8, thr=100, max_units=1)], [[1600]])
    plan = plan_fleet(p, OPTIONS)
    assert plan.status == "infeasible"
    assert plan.reason.checks[0]["check"] == "supply"
    assert plan.reason.relaxations["max_units"]["feasible_without_supply_limits"]


def test_max_tokens_serves_what_fits_then_cheapest():
    a = sku("a", g=8, kw=1.0, cost=1.0, thr=100)
    p = problem([a], [[800, 1600]], power_mw=0.008, objective="max_tokens")
    plan = plan_fleet(p, OPTIONS)
    assert plan.status == "optimal" and plan.fleet[0].units == 1
    assert plan.unserved_tokens["w"] == pytest.approx(800 * 3600)
    assert plan.tokens_served == pytest.approx(1600 * 3600)


def test_min_cost_per_token_dinkelbach():
    # fixed cost per unit; serving the 2nd hour's extra demand needs a second unit at low utilisation
    a = sku("a", g=8, cost=1.0, thr=100)
    # floor 90 %: 0.9 x 1700 = 1530 tok/s-h; one unit serves 1600 of them
    p = problem([a], [[800, 900]], objective="min_cost_per_token").with_changes(min_served_fraction=0.9)
    plan = plan_fleet(p, OPTIONS)
    # one unit: cost 16, tokens (800 + 800) x 3600 -> 2.78e-6 $/token;
    # two units: cost 32, tokens 1700 x 3600 -> 5.2e-6 $/token
    assert plan.fleet[0].units == 1
    assert plan.cost_per_million_tokens == pytest.approx(16 / (1600 * 3600) * 1e6)


def test_min_cost_per_token_serves_what_the_caps_allow_by_default():
    # no cap: everything can be served, so the floor is the whole demand (two units, $32 for 1700 x 3600)
    a = sku("a", g=8, cost=1.0, thr=100)
    plan = plan_fleet(problem([a], [[800, 900]], objective="min_cost_per_token"), OPTIONS)
    assert plan.fleet[0].units == 2 and plan.unserved_tokens["w"] == 0
    assert plan.cost_per_million_tokens == pytest.approx(32 / (1700 * 3600) * 1e6)
    # a 1-unit power cap: the floor is what max_tokens serves (1600 x 3600), never less
    capped = plan_fleet(problem([a], [[800, 900]], power_mw=0.008, objective="min_cost_per_token"), OPTIONS)
    assert capped.fleet[0].units == 1 and capped.tokens_served == pytest.approx(1600 * 3600)
    # a floor of 95 % cannot be met under that cap (1615 > 1600): infeasible
    floor = plan_fleet(
        problem([a], [[800, 900]], power_mw=0.008, objective="min_cost_per_token").with_changes(
            min_served_fraction=0.95
        ),
        OPTIONS,
    )
    assert floor.status == "infeasible"


def test_min_cost_per_token_never_serves_less_than_the_floor():
    # a cheap slow SKU and a dear fast one: the ratio alone would serve only the cheapest sliver
    slow = sku("slow", g=8, cost=1.0, thr=100, max_units=1)
    fast = sku("fast", g=8, cost=5.0, thr=150)
    demand = [[800, 2400, 4000]]
    tokens = sum(demand[0]) * 3600
    for fraction in (0.5, 0.8, 1.0):
        p = problem([slow, fast], demand, objective="min_cost_per_token").with_changes(min_served_fraction=fraction)
        plan = plan_fleet(p, OPTIONS, explain=False)
        assert plan.status == "optimal"
        assert plan.tokens_served >= fraction * tokens * (1 - 1e-6)
        ev = evaluate(p, np.array([f.units for f in plan.fleet], dtype=float), plan.dispatch)
        assert ev.cost_per_million_tokens == pytest.approx(plan.cost_per_million_tokens)
        # brute force: a fleet serves min(demand, its capacity) each hour, and costs its fixed $/h
        best = math.inf
        for n_slow in (0, 1):
            for n_fast in range(6):
                served = sum(min(d, 800 * n_slow + 1200 * n_fast) for d in demand[0]) * 3600
                if served >= fraction * tokens * (1 - 1e-9) and served > 0:
                    best = min(best, 3 * (8 * n_slow + 40 * n_fast) / served * 1e6)
        assert plan.cost_per_million_tokens == pytest.approx(best, rel=1e-6)


def test_report_recomputes_every_constraint():
    skus = [
        sku("a", g=8, kw=1.5, idle=0.4, cost=1.2, thr={"x": 100, "y": 40}, billed=True, capex=900),
        sku("b", g=72, kw=1.1, idle=0.3, cost=2.0, thr={"x": 400}, capex=2000, existing=1),
    ]
    demand = np.array([[3000, 9000, 20000, 5000], [100, 400, 300, 50]])
    p = problem(skus, demand, workloads=("x", "y"), peak=demand * 1.3, power_mw=0.5, budget=900, util=0.9)
    plan = plan_fleet(p, OPTIONS)
    assert plan.status == "optimal"
    units = np.array([f.units for f in plan.fleet], dtype=float)
    busy = plan.dispatch.busy
    g = np.array([8, 72])
    # capacity per SKU and slice
    assert (busy.sum(axis=1) <= 0.9 * (g * units)[:, None] + 1e-6).all()
    # demand served at the peak
    theta = p.throughput
    served = (theta[:, :, None] * busy).sum(axis=0)
    assert np.allclose(served, p.curve.peak, rtol=1e-7)
    # caps
    assert (g * units * np.array([1.5, 1.1])).sum() <= 500 + 1e-6
    assert (g * units * np.array([1.2, 2.0])).sum() <= 900 + 1e-6
    assert units[1] >= 1
    # objective recomputed by hand
    r = p.curve.mean / p.curve.peak
    fixed = ((g * units * np.array([1.2, 2.0])).sum() + 8 * units[0] * 0.4 * 0.1) * 4
    busy_energy = ((1.5 - 0.4) * 0.1 * busy[0] * r).sum()
    assert plan.total_cost_usd == pytest.approx(fixed + busy_energy, rel=1e-9)
    assert evaluate(p, units, plan.dispatch).total_cost_usd == pytest.approx(plan.total_cost_usd)
    assert plan.tokens_served == pytest.approx(p.curve.mean.sum() * 3600)


def test_time_limit_is_not_reported_optimal(monkeypatch):
    # A tiny time limit on a large-ish MILP: either optimal (fast machine) or time_limit, never a lie
    skus = [sku(f"s{i}", g=8 * (i + 1), cost=1 + 0.1 * i, thr=50 + 13 * i) for i in range(5)]
    rng = np.random.default_rng(0)
    p = problem(skus, rng.uniform(1e3, 5e4, size=(1, 300)))
    from planner.errors import SolverError

    try:
        plan = plan_fleet(p, replace(OPTIONS, time_limit_s=0.001), explain=False)
    except SolverError:
        return
    assert plan.status in ("optimal", "time_limit")
    if plan.status == "time_limit":
        assert plan.solver["mip_gap"] > 0 or math.isinf(plan.solver["mip_gap"])


def test_min_cost_per_token_reports_optimal_with_a_sane_gap():
    a = sku("a", g=8, cost=1.0, thr=100)
    plan = plan_fleet(problem([a], [[800, 900]], objective="min_cost_per_token"), OPTIONS)
    assert plan.status == "optimal"
    assert plan.solver["mip_gap"] <= 1e-4


def test_max_tokens_marginal_value_is_tokens_and_single_sku_ranked_by_tokens():
    a = sku("a", g=8, kw=1.0, cost=1.0, thr=100)
    b = sku("b", g=8, kw=2.0, cost=0.5, thr=100)
    plan = plan_fleet(
        problem([a, b], [[800, 1600]], power_mw=0.008, objective="max_tokens"), OPTIONS, power_step_mw=0.008
    )
    power = next(c for c in plan.caps if c.name == "power_cap")
    assert power.saving_usd is None
    assert power.extra_tokens == pytest.approx(800 * 3600)
    assert plan.mix_saving_usd is None  # a $ saving means nothing when tokens are maximised
    from planner.optimize.run import best_single_sku

    best = best_single_sku("max_tokens", plan.single_sku)
    assert best["sku"] == "a" and best["tokens_served"] > 0


def test_infeasible_plan_reports_unknown_units_and_existing_units():
    p = problem([sku("a", g=8, kw=1.0, thr=100, existing=1)], [[1600]], power_mw=0.008)
    plan = plan_fleet(p, OPTIONS)
    assert plan.status == "infeasible"
    f = plan.to_dict()["fleet"][0]
    assert f["units"] is None and f["existing_units"] == 1


def test_one_violations_check_rechecks_every_cap_capex_included():
    from planner.milp.evaluate import Dispatch, violations

    a = sku("a", g=8, kw=1.0, cost=2.0, thr=100, capex=1000, existing=1)
    p = problem([a], [[800]], power_mw=0.1, budget=100, capex_budget=8000)
    busy = np.zeros((1, 1, 1))
    busy[0, 0, 0] = 8.0
    ok = violations(p, np.array([2.0]), Dispatch(busy, np.zeros((1, 1))))
    assert ok == []
    # 3 units: 2 new x 8 GPUs x $1000 = $16,000 > $8,000; 48 $/h > 100? no; 24 kW < 100 kW
    broken = violations(p, np.array([3.0]), Dispatch(busy, np.zeros((1, 1))))
    assert broken == ["capex_cap exceeded: 16,000 $ > 8,000 $"]
    over = violations(
        p.with_changes(budget_usd_per_hour=20.0, power_cap_mw=0.01), np.array([2.0]), Dispatch(busy, np.zeros((1, 1)))
    )
    assert over == ["power_cap exceeded: 0.016 MW > 0.01 MW", "budget_cap exceeded: 32 $/h > 20 $/h"]
    fewer = violations(p, np.array([0.0]), Dispatch(np.zeros((1, 1, 1)), np.zeros((1, 1))))
    assert any("fewer units than the existing fleet" in v for v in fewer)
    assert any("serve_demand[w,0]" in v for v in fewer)


def test_a_solver_error_is_retried_once_without_presolve(monkeypatch):
    import highspy

    calls = []

    class Flaky(highspy.Highs):
        """Reports a solve error after the first run, as HiGHS did on a badly scaled max_tokens."""

        def getModelStatus(self):  # noqa: N802 (highspy's name)
            value = self.getOptionValue("presolve")  # (status, value) in some highspy versions
            calls.append(value[-1] if isinstance(value, tuple) else value)
            if len(calls) == 1:
                return highspy.HighsModelStatus.kSolveError
            return super().getModelStatus()

    monkeypatch.setattr(highspy, "Highs", Flaky)
    plan = plan_fleet(problem([sku("a", g=8, cost=2.0, thr=100)], [[1000, 1000]]), OPTIONS, explain=False)
    assert plan.status == "optimal" and plan.fleet[0].units == 2
    assert calls[:2] == ["choose", "off"]


def test_a_limit_with_no_answer_is_exit_4_not_a_defect(monkeypatch, runner):
    import highspy

    from planner.cli.main import app
    from planner.errors import SolverLimitError
    from planner.milp.formulation import build_fleet_model
    from planner.milp.solve import solve
    from planner.optimize import run

    class Stopped(highspy.Highs):
        def getModelStatus(self):  # noqa: N802 (highspy's name)
            return highspy.HighsModelStatus.kTimeLimit

    monkeypatch.setattr(highspy, "Highs", Stopped)
    model = build_fleet_model(problem([sku("a", thr=100)], [[800]]), relax=True)
    with pytest.raises(SolverLimitError, match="time limit \\(30 s\\).*no feasible answer") as err:
        solve(model, OPTIONS, mip=False)
    assert err.value.exit_code == 4
    monkeypatch.undo()

    def stopped(*_, **__):
        raise SolverLimitError("HiGHS stopped at its time limit (0.5 s) with no feasible answer yet")

    monkeypatch.setattr(run, "plan_fleet", stopped)
    result = runner.invoke(app, ["plan", "--no-explain"])
    assert result.exit_code == 4 and "time limit" in result.output and "Traceback" not in result.output


def test_joint_relaxation_when_no_cap_alone_suffices():
    # two units serve the 1,600 tok/s; a: 16 kW and $8/h a unit, b: 8 kW and $16/h a unit
    # caps 15 kW and $15.5/h: (2a) needs $16/h, (2b) 16 kW, (a+b) both; neither cap alone is enough.
    # least relative raise: (2b) 1/15 + 16.5/15.5 = 1.131 < (a+b) 9/15 + 8.5/15.5 = 1.148 < (2a) 1.166
    a = sku("a", g=8, kw=2.0, cost=1.0, thr=100)
    b = sku("b", g=8, kw=1.0, cost=2.0, thr=100)
    plan = plan_fleet(problem([a, b], [[1600]], power_mw=0.015, budget=15.5), OPTIONS)
    r = plan.reason
    assert plan.status == "infeasible"
    assert not r.relaxations["power_cap_mw"]["feasible_by_itself"]
    assert not r.relaxations["budget_usd_per_hour"]["feasible_by_itself"]
    together = {c["cap"]: c for c in r.caps_needed if c["scope"] == "together"}
    assert together["power_cap"]["needed"] == pytest.approx(0.016)
    assert together["budget_cap"]["needed"] == pytest.approx(32.0)
    assert "raising power_cap_mw to 0.016 MW and budget_usd_per_hour to $32/h together" in r.summary


def test_a_screened_marginal_value_equals_the_re_solved_one(monkeypatch):
    """marginal_values skips a re-solve when the LP bound leaves no saving; the answer is the re-solve's."""
    import planner.optimize.run as run

    from helpers import OPTIONS, problem, sku

    # the LP relaxation is integral here (1,000 units, the power cap at 500 of each): a loose budget is screened
    skus = [sku("hot", kw=1.0, cost=1.0, thr=100.0), sku("cool", kw=0.5, cost=1.5, thr=100.0)]
    p = problem(skus, [800_000.0, 600_000.0], power_mw=6.0, budget=1e6)
    solves = []
    real = run.SOLVERS["min_cost"]
    monkeypatch.setitem(run.SOLVERS, "min_cost", lambda q, o, **k: solves.append(1) or real(q, o, **k))
    screened = run.plan_fleet(p, OPTIONS)
    screened_solves = len(solves)
    solves.clear()
    monkeypatch.setattr(run.LpRelaxation, "bound_when_relaxed", lambda self, cap, step: None)
    resolved = run.plan_fleet(p, OPTIONS)
    assert screened_solves == len(solves) - 1  # the budget was screened, not re-solved
    by_name = {c.name: c for c in screened.caps}
    assert by_name["power_cap"].binding and by_name["power_cap"].saving_usd > 0
    assert not by_name["budget_cap"].binding
    assert [c.name for c in screened.caps] == [c.name for c in resolved.caps]
    for a, b in zip(screened.caps, resolved.caps, strict=True):
        fields = ("binding", "saving_usd", "saving_usd_per_year", "saving_usd_per_million_tokens", "step")
        assert [getattr(a, f) for f in fields] == [getattr(b, f) for f in fields], a.name
        assert a.lp_relaxation_dual == b.lp_relaxation_dual
