"""Multi-period buildout: hand-computed optimum, windows, caps and budgets, agreement with
`planner plan`, infeasibility diagnosis, myopia, and the `planner buildout` command."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import yaml

from planner.buildout.run import plan_buildout, run_buildout
from planner.cli.main import app
from planner.milp.problem import BuildoutProblem, BuildoutSku, Cohort, Period
from planner.milp.solve import SolverOptions
from planner.optimize.problem import solver_options
from planner.optimize.run import plan_fleet
from planner.pipeline import scenario_problem
from planner.resources import scenarios_dir
from planner.scenario.load import load_scenario

from helpers import OPTIONS, assert_matches_schema, curve
from helpers import sku as single_sku

HOURS_PER_YEAR = 8760.0


def bsku(id, *, thr, kw_mw, annuity_usd_per_hour, opex_usd_per_hour=0.0, available=(True, True), life=2):
    """A 1-GPU owned SKU; prices per GPU-hour turned into the per-year figures the model takes."""
    base = single_sku(id, g=1, kw=kw_mw * 1000.0, idle=0.0, thr=thr)
    n = len(available)
    return BuildoutSku(
        sku=base,
        pricing="owned",
        available=tuple(available),
        capex_usd_per_gpu=(1000.0,) * n,
        cost_usd_per_gpu_hour=(0.0,) * n,
        fixed_opex_usd_per_gpu_year=opex_usd_per_hour * HOURS_PER_YEAR,
        life_years=life,
        life_periods=life,
        annuity_usd_per_gpu_year=(annuity_usd_per_hour * HOURS_PER_YEAR,) * n,
    )


def two_period(early_retirement=True, caps=(None, 2.5), budgets=(None, None), mode="perfect_foresight"):
    periods = tuple(
        Period(f"P{p + 1}", "2026-01-01", 1.0, float(p), 1.0, curve([[d]]), caps[p], budgets[p])
        for p, d in enumerate((150.0, 250.0))
    )
    skus = (
        bsku("a", thr=100, kw_mw=1.0, annuity_usd_per_hour=1.0, opex_usd_per_hour=0.5),
        bsku("b", thr=300, kw_mw=1.0, annuity_usd_per_hour=1.2, available=(False, True)),
    )
    return BuildoutProblem(
        name="two",
        periods=periods,
        skus=skus,
        cohorts=(),
        workloads=("w",),
        electricity_usd_per_kwh=0.0,
        max_utilization=1.0,
        discount_rate=0.0,
        total_capex_budget_usd=None,
        early_retirement=early_retirement,
        mode=mode,
        end_of_horizon="annuities",
    )


def test_two_period_hand_computed_optimum():
    # P1 (1 h): 150 tok/s needs 2 units of a (100 tok/s each); b cannot be bought yet.
    #   cost P1 = 2 x ($1.0 annuity + $0.5 opex) = $3.0
    # P2 (1 h): 250 tok/s under a 2.5 MW cap (1 MW per unit): 3 a would draw 3 MW. Options:
    #   keep 2 a + buy 1 b: 3 MW, over the cap; keep 1 a + 1 b: 2 + 0.5 + 1.2 = $3.7;
    #   retire both a (they pay their remaining capital, P2's annuity: $2.0) + 1 b ($1.2): $3.2  <- optimal
    plan = plan_buildout(two_period(), OPTIONS)
    assert plan.status == "optimal"
    p1, p2 = plan.periods
    assert p1.purchases == {"a": 2, "b": 0} and p2.purchases == {"a": 0, "b": 1}
    assert p2.fleet == {"a": 0, "b": 1} and p2.retirements == {"a": 2, "b": 0}
    assert p2.retirements_end_of_life == {"a": 0, "b": 0}  # early: life is 2 periods
    assert p1.cost_usd == pytest.approx(2 * (1.0 + 0.5))
    assert p2.cost_usd == pytest.approx(2 * 1.0 + 1.2)
    assert plan.totals["cost_usd"] == pytest.approx(3.0 + 3.2)
    assert p2.cost_per_million_tokens == pytest.approx(3.2 / (250 * 3600) * 1e6)
    assert p2.cost_breakdown_usd["early_retirement"] == pytest.approx(2.0)
    assert p2.cost_breakdown_usd["capital"] == pytest.approx(1.2)
    assert plan.story["early_retirements"] == [
        {"period": "P2", "sku": "a", "family": "other", "units": 2, "charge_usd": pytest.approx(2.0)}
    ]


def test_no_early_retirement_is_infeasible_and_diagnosed():
    # without early retirement both a stay in P2: 2 MW + 1 b = 3 MW > 2.5 MW (2 a alone serve only 200)
    plan = plan_buildout(two_period(early_retirement=False), OPTIONS)
    assert plan.status == "infeasible"
    reason = plan.reason
    assert reason.first_infeasible_period == "P2"
    need = {(r["period"], r["cap"]): r for r in reason.caps_needed}
    assert need["P2", "power_cap"]["needed"] == pytest.approx(3.0)
    assert need["P2", "power_cap"]["short_by"] == pytest.approx(3.0 - 2.5)
    assert "P2: power_cap needs 3 MW (cap 2.5, short by 0.5 MW)" in reason.summary
    assert reason.unserved["P2"]["unserved_share"] == pytest.approx(50 / 250)


def test_capex_budget_per_period_diagnosed():
    # P2 needs one b ($1,000 a GPU); a $600 budget is $400 short
    plan = plan_buildout(two_period(budgets=(None, 600.0)), OPTIONS)
    assert plan.status == "infeasible"
    need = {(r["period"], r["cap"]): r for r in plan.reason.caps_needed}
    assert need["P2", "capex_cap"]["short_by"] == pytest.approx(400.0)


def test_myopic_on_the_two_period_instance_and_never_cheaper():
    perfect = plan_buildout(two_period(), OPTIONS)
    myopic = plan_buildout(two_period(), OPTIONS, "myopic", compare_myopia=True)
    assert myopic.mode == "myopic"
    assert myopic.totals["present_value_usd"] >= perfect.totals["present_value_usd"] * (1 - 1e-6)
    assert myopic.myopia["cost_of_myopia_usd"] >= -1e-6


def test_life_ends_retire_units():
    # life 1 period: units bought in P1 are gone in P2 and must be bought again
    p = two_period(caps=(None, None))
    p = replace(p, skus=(replace(p.skus[0], life_periods=1), p.skus[1]))
    plan = plan_buildout(p, OPTIONS)
    assert plan.periods[1].retirements_end_of_life["a"] == plan.periods[0].fleet["a"]
    assert plan.periods[1].fleet["a"] <= plan.periods[1].purchases["a"]


def test_cohorts_count_and_retire_at_end_of_life():
    p = two_period(caps=(None, None))
    p = replace(p, cohorts=(Cohort(sku=0, units=3, age_months=0, remaining_periods=1, annuity_usd_per_gpu_year=0.0),))
    plan = plan_buildout(p, OPTIONS)
    p1, p2 = plan.periods
    assert p1.purchases["a"] == 0 and p1.fleet["a"] <= 3  # the cohort serves P1
    assert p2.retirements_end_of_life["a"] == p1.fleet["a"]


# ---- the shipped scenario (solved once) ----------------------------------------------------
@pytest.fixture(scope="module")
def shipped():
    sf = load_scenario(scenarios_dir() / "buildout.yaml")
    from planner.buildout.run import buildout_problem_from

    problem = buildout_problem_from(sf)
    return problem, plan_buildout(problem, solver_options(sf.scenario), compare_myopia=True)


def test_shipped_every_period_feasible_and_caps_hold(shipped):
    problem, plan = shipped
    assert plan.status == "optimal" and len(plan.periods) == 8
    kw = {s["sku"]: s["facility_kw_per_gpu"] for s in plan.skus}
    spent = 0.0
    for per, r in zip(problem.periods, plan.periods, strict=True):
        mw = sum(r.gpus[s] * kw[s] for s in kw) / 1000.0  # recomputed from the schedule
        assert mw == pytest.approx(r.power_mw)
        assert mw <= per.power_cap_mw * (1 + 1e-9)
        capex = sum(
            r.purchases[b.id] * b.sku.gpus_per_unit * b.capex_usd_per_gpu[problem.periods.index(per)]
            for b in problem.skus
        )
        assert capex == pytest.approx(r.capex_usd)
        assert capex <= per.capex_budget_usd * (1 + 1e-9)
        spent += capex
        assert r.cost_per_million_tokens == pytest.approx(r.cost_usd / r.tokens * 1e6)
    assert spent <= problem.total_capex_budget_usd * (1 + 1e-9)


def test_shipped_fleet_balance_and_availability(shipped):
    problem, plan = shipped
    prev = {b.id: 0 for b in problem.skus}
    for c in problem.cohorts:
        prev[problem.skus[c.sku].id] += c.units
    for p, r in enumerate(plan.periods):
        for b in problem.skus:
            assert r.fleet[b.id] == prev[b.id] + r.purchases[b.id] - r.retirements[b.id]
            if not b.available[p]:
                assert r.purchases[b.id] == 0, (r.period, b.id)
        prev = dict(r.fleet)
    gb300 = [r.purchases["gb300-nvl72"] for r in plan.periods]
    assert gb300[:4] == [0, 0, 0, 0] and sum(gb300) > 0  # ships in 2027Q3, and is bought
    assert all(r.purchases["h200-sxm"] == 0 for r in plan.periods[2:])  # sold until 2026Q4


def test_shipped_story_blackwell_displaces_hopper(shipped):
    _, plan = shipped
    h200 = [r.fleet["h200-sxm"] for r in plan.periods]
    assert h200[-1] < h200[0] < 512  # Hopper retired early, under the 10 MW cap and as GB300 ships
    early = plan.story["early_retirements"]
    assert any(e["family"] == "hopper" for e in early)
    expected = [
        (r.period, s, r.retirements[s] - r.retirements_end_of_life[s])
        for r in plan.periods
        for s in r.fleet
        if r.retirements[s] > r.retirements_end_of_life[s]
    ]
    assert [(e["period"], e["sku"], e["units"]) for e in early] == expected  # every SKU, not only Hopper
    assert plan.story["cost_per_million_tokens_last"] < plan.story["cost_per_million_tokens_first"]


def test_shipped_myopia_costs_something_never_negative(shipped):
    _, plan = shipped
    m = plan.myopia
    assert m["present_value_myopic_usd"] >= m["present_value_perfect_foresight_usd"] * (1 - 2 * m["mip_gap"])


# ---- single period equals `planner plan` ---------------------------------------------------
def single_period_scenario(tmp_path: Path) -> Path:
    data = yaml.safe_load((scenarios_dir() / "default.yaml").read_text())
    data["demand"]["load_curve"] = str(scenarios_dir() / "default-demand.csv")
    data["buildout"] = {
        "start": "2026-07-01",
        "period_months": 168 / 730,  # one week: the span of the curve
        "periods": 1,
        "pricing": "hourly",
        "early_retirement": False,
        "discount_rate": 0.1,
    }
    path = tmp_path / "single.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_single_period_buildout_equals_plan(tmp_path):
    sf = load_scenario(single_period_scenario(tmp_path))
    plan = plan_fleet(scenario_problem(sf), solver_options(sf.scenario), explain=False)
    bo = run_buildout(sf)
    gap = 2e-4
    assert bo.totals["cost_usd"] == pytest.approx(plan.total_cost_usd, rel=gap)
    assert bo.totals["tokens"] == pytest.approx(plan.tokens_served, rel=1e-9)
    assert bo.periods[0].power_mw <= 10.0 + 1e-9
    assert bo.periods[0].fleet["h200-sxm"] == 32  # existing kept, as `plan` keeps it


# ---- CLI -----------------------------------------------------------------------------------
def small_scenario(tmp_path: Path, **changes) -> Path:
    data = yaml.safe_load((scenarios_dir() / "buildout.yaml").read_text())
    data["demand"]["load_curve"] = str(scenarios_dir() / "default-demand.csv")
    b = data["buildout"]
    b.update(periods=3, power_cap_mw=[10, 10, 15], start="2027-01-01")
    b["skus"] = {
        "h200-sxm": {"available_until": 1},
        "gb300-nvl72": {"available_from": "2027Q3", "capex_usd_per_gpu": [55600, 55600, 52800]},
    }
    for key, value in changes.items():
        b[key] = value
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_cli_json(runner, tmp_path):
    result = runner.invoke(app, ["buildout", str(small_scenario(tmp_path)), "--json", "--compare-myopia"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["status"] == "optimal"
    assert [p["period"] for p in doc["periods"]] == ["2027Q1", "2027Q2", "2027Q3"]
    assert_matches_schema(doc, "buildout")
    keys = {"period", "fleet", "purchases", "retirements", "power_mw", "capex_usd", "cost_usd", "tokens"}
    assert keys | {"cost_per_million_tokens"} <= set(doc["periods"][0])
    assert doc["periods"][0]["purchases"]["gb300-nvl72"] == 0
    assert doc["totals"]["cost_usd"] == pytest.approx(sum(p["cost_usd"] for p in doc["periods"]))
    assert doc["myopia"]["cost_of_myopia_usd"] >= -1e-6 * doc["myopia"]["present_value_perfect_foresight_usd"]


def test_cli_table_and_out(runner, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["buildout", str(small_scenario(tmp_path)), "--out", str(out), "--mode", "myopic"])
    assert result.exit_code == 0, result.output
    for text in ("mode myopic", "2027Q3", "MW / cap", "cost per million tokens"):
        assert text in result.stdout
    assert sorted(p.name for p in out.iterdir()) == [
        ".planner-files",
        "buildout.json",
        "periods.csv",
        "recommendation.csv",
        "recommendation.xlsx",
        "schedule.csv",
        "schedule.png",
    ]
    assert (out / "schedule.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = (out / "schedule.csv").read_text().splitlines()
    assert rows[0] == "period,sku,installed,gpus,bought,retired,retired_end_of_life,token_share"
    assert len(rows) == 1 + 3 * 4


def test_cli_infeasible_exit_3(runner, tmp_path):
    path = small_scenario(tmp_path, power_cap_mw=[10, 2, 15])
    out = tmp_path / "never"
    result = runner.invoke(app, ["buildout", str(path), "--out", str(out)])
    assert result.exit_code == 3
    assert "2027Q2" in result.stderr and "power_cap needs" in result.stderr and "cap 2" in result.stderr
    assert "buildout over 3 periods" in result.stdout
    assert not out.exists()


def test_cap_too_low_everywhere_is_diagnosed_per_period_and_the_needs_suffice(runner, tmp_path):
    # a 2 MW cap in every period: lifting one period's cap with the others still at 2 MW never helps,
    # so the diagnosis lifts them together and says what each period needs
    result = runner.invoke(app, ["buildout", str(small_scenario(tmp_path, power_cap_mw=[2, 2, 2])), "--json"])
    assert result.exit_code == 3
    reason = json.loads(result.stdout)["reason"]
    need = {r["period"]: r for r in reason["caps_needed"] if r["cap"] == "power_cap"}
    assert sorted(need) == ["2027Q1", "2027Q2", "2027Q3"]
    assert all(r["needed"] > 2 and r["short_by"] == pytest.approx(r["needed"] - 2) for r in need.values())
    lines = reason["summary"].split("\n")
    assert lines == reason["lines"]
    assert f"2027Q3: power_cap needs {need['2027Q3']['needed']:,.6g} MW (cap 2, short by" in lines[-3]
    assert not any("power_cap" in line and "cannot" in line for line in lines)
    assert [line.strip() for line in result.stderr.splitlines()[1:]] == lines  # one item per line
    caps = [need[label]["needed"] for label in ("2027Q1", "2027Q2", "2027Q3")]
    raised = run_buildout(load_scenario(small_scenario(tmp_path, power_cap_mw=caps)))
    assert raised.status in ("optimal", "time_limit")
    assert all(r.power_mw <= c * (1 + 1e-9) for r, c in zip(raised.periods, caps, strict=True))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--mode", "hindsight"], "unknown mode"),
        (["--set", "buildout.periods=0"], "buildout.periods"),
        (["--set", "buildout.power_cap_mw=[10, 20]"], "power_cap_mw has 2 values"),
        (["--set", "buildout.skus.mi999={}"], "mi999"),
        (["--set", "buildout.skus.b200-sxm.available_from=2031Q1"], "unknown period '2031Q1'"),
        (["--set", "buildout.existing=[{sku: h200-sxm, units: 512, age_months: 60}]"], "no period"),
    ],
)
def test_cli_bad_input_exit_2(runner, tmp_path, args, message):
    result = runner.invoke(app, ["buildout", str(small_scenario(tmp_path)), *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_cli_no_buildout_section_and_missing_file(runner, tmp_path):
    result = runner.invoke(app, ["buildout", str(scenarios_dir() / "default.yaml")])
    assert result.exit_code == 2 and "no 'buildout:' section" in result.stderr
    result = runner.invoke(app, ["buildout", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2 and "not found" in result.stderr


def test_growth_scales_peak_at_period_end_and_mean_on_average(tmp_path):
    from planner.buildout.run import buildout_problem_from

    sf = load_scenario(small_scenario(tmp_path))
    problem = buildout_problem_from(sf)
    base = problem.periods[0].curve
    later = problem.periods[2].curve
    g = 1.05
    # period 3 spans months 6-9: peak x g^9 / g^3 against period 1; mean by the average of g^m over the period
    assert later.peak.max() / base.peak.max() == pytest.approx(g**9 / g**3)
    avg = lambda a, b: (g**b - g**a) / (math.log(g) * (b - a))  # noqa: E731
    assert later.mean.sum() / base.mean.sum() == pytest.approx(avg(6, 9) / avg(0, 3))
    assert np.all(later.peak >= later.mean)


def test_aggregated_buildout_within_its_bound_of_exact(shipped):
    # the shipped buildout (8 quarters x 168 slices, energy billed) planned on aggregated time
    problem, exact = shipped
    fast = plan_buildout(replace(problem, aggregation="on"), SolverOptions())  # the scenario's
    info = fast.aggregation
    assert info["mode"] == "aggregated" and info["model_slices"] < info["original_slices"] == 8 * 168
    pv, truth = fast.totals["present_value_usd"], exact.totals["present_value_usd"]
    gap = 2e-4  # both MILPs within 1e-4
    assert info["lower_bound_usd"] <= truth * (1 + gap)
    assert truth * (1 - gap) <= pv <= truth * (1 + info["error_bound"] + gap)
    assert pv == pytest.approx(info["upper_bound_usd"])
    # the schedule is checked at full resolution: every period's dispatch has the full curve's slices
    assert all(b.shape[2] == 168 for b in fast.decision.busy)
    assert exact.aggregation == {"mode": "exact", "original_slices": 8 * 168}


def test_aggregated_cost_of_myopia_compares_like_with_like(shipped):
    problem, _ = shipped
    plan = plan_buildout(replace(problem, aggregation="on"), SolverOptions(), compare_myopia=True)
    m = plan.myopia
    assert plan.aggregation["mode"] == "aggregated"
    # both schedules costed at full resolution; myopia never cheaper beyond the gaps and the bound
    tolerance = (2 * m["mip_gap"] + plan.aggregation["error_bound"]) * m["present_value_perfect_foresight_usd"]
    assert m["cost_of_myopia_usd"] >= -tolerance


def test_shipped_scenario_comment_matches_its_data():
    text = (scenarios_dir() / "buildout.yaml").read_text()
    data = yaml.safe_load(text)
    b = data["buildout"]
    caps = ", ".join(f"{v:g}" for v in b["power_cap_mw"])
    assert f"energised in phases to {b['power_cap_mw'][-1]:g} MW ({caps} MW)" in text
    units = b["existing"][0]["units"]
    assert f"# - {units} HGX H200 nodes ({units * 8:,} GPUs, {units * 8 * 1.73 / 1000:.1f} MW all-in)" in text
    assert f"{b['existing'][0]['age_months']} months old" in text
    assert data["existing"]["h200-sxm"] == units
