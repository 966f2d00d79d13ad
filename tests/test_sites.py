"""Sites, racks, liquid cooling, procurement kinds and retirement (issue 13): hand-worked optima,
every cap recomputed per site from the plan, a brute-force oracle over two sites and three
procurement kinds, and one site with one procurement giving exactly the plan without sites."""

from __future__ import annotations

import copy
import csv
import io
import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.buildout.problem import build_buildout_problem
from planner.buildout.run import plan_buildout
from planner.cli.main import app
from planner.demand.curve import LoadCurve
from planner.economics import capital_recovery_factor
from planner.errors import ScenarioError
from planner.milp.solve import SolverOptions
from planner.optimize.problem import build_problem, solver_options
from planner.optimize.run import plan_fleet
from planner.pipeline import scenario_curve
from planner.scenario.load import load_scenario, scenario_file

from helpers import assert_matches_schema

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "scenarios" / "default.yaml"  # relative paths of the inline scenarios resolve here


def curve(peaks, mean=None, hours=1.0) -> LoadCurve:
    pk = np.atleast_2d(np.asarray(peaks, dtype=float))
    mn = pk.copy() if mean is None else np.atleast_2d(np.asarray(mean, dtype=float))
    t = pk.shape[1]
    return LoadCurve(("w",), np.arange(t) * hours, np.full(t, hours), mn, pk)


def scenario(skus, sites=None, **extra) -> dict:
    d = {"name": "t", "skus": skus, "demand": {"load_curve": "unused.csv"}, "solver": {"mip_rel_gap": 1e-6}}
    if sites is not None:
        d["sites"] = sites
    d.update(extra)
    return d


def node(id="n", *, g=1, kw=1.0, thr=1.0, procurement=None, **fields) -> dict:
    out = {"id": id, "gpus_per_unit": g, "power_kw_per_gpu": kw, "idle_power_kw_per_gpu": 0.0, "throughput": {"w": thr}}
    out["procurement"] = procurement
    out.update(fields)
    return {k: v for k, v in out.items() if v is not None}


def plan(data: dict, c: LoadCurve):
    sf = scenario_file(data, HERE)
    problem = build_problem(sf, c)
    return problem, plan_fleet(problem, solver_options(sf.scenario), explain=False)


def units(p) -> dict[str, float]:
    return {f.sku: f.units for f in p.fleet if f.units}


# ---- hand-worked optima -----------------------------------------------------------------------


def test_a_density_cap_halves_a_rack():
    # 10 kW IT nodes, 4 to a position, but the site feeds 20 kW per position: 2 a rack
    site = {"id": "s", "pue": 1.0, "electricity_usd_per_kwh": 0.0, "rack_positions": 6, "max_kw_per_rack": 20}
    sku = node(
        g=8,
        kw=1.25,
        thr=1.0,
        units_per_rack=4,
        procurement=[{"kind": "reserved", "usd_per_gpu_hour": 1.0, "term_months": 12}],
    )
    problem, p = plan(scenario([sku], [site]), curve([[96.0]]))  # 96 tokens/s: 12 nodes
    assert units(p) == {"n@s:reserved": 12}
    row = next(f for f in p.fleet if f.units)
    assert row.racks == 6  # ceil(12 / 2), not ceil(12 / 4)
    assert p.sites[0]["racks"] == 6
    # one node more does not fit: 13 nodes need 7 positions, the diagnosis says so
    _, p = plan(scenario([sku], [site]), curve([[104.0]]))
    assert p.status == "infeasible"
    need = p.reason.relaxations["sites.s.rack_positions"]
    assert need["feasible_by_itself"] and need["needed"] == pytest.approx(7)
    assert need["site"] == "s" and need["resource"] == "rack_positions"
    assert "sites.s.rack_positions from 6 to 7 racks" in p.reason.summary


def test_a_rack_denser_than_its_position_is_not_placed():
    site = {"id": "s", "max_kw_per_rack": 40}
    big = node(
        "big",
        g=72,
        kw=1.9,
        units_per_rack=1,
        procurement=[{"kind": "reserved", "usd_per_gpu_hour": 1.0, "term_months": 1}],
    )
    small = node(
        "small",
        g=8,
        kw=1.28,
        units_per_rack=4,
        procurement=[{"kind": "reserved", "usd_per_gpu_hour": 1.0, "term_months": 1}],
    )
    problem, p = plan(scenario([big, small], [site]), curve([[10.0]]))
    assert [s.id for s in problem.skus] == ["small@s:reserved"]
    assert any("big cannot be placed at s" in n and "136.8 kW" in n for n in problem.notes)


def test_liquid_cooling_binds():
    # liquid racks are 5x cheaper per token; the loop takes 2 of them (2 x 100 kW IT), the rest goes on air
    site = {"id": "s", "pue": 1.0, "electricity_usd_per_kwh": 0.0, "liquid_cooling_mw": 0.25}
    liquid = node(
        "liq",
        g=10,
        kw=10.0,
        thr=10.0,
        cooling="liquid",
        procurement=[{"kind": "reserved", "usd_per_gpu_hour": 1.0, "term_months": 1}],
    )
    air = node(
        "air",
        g=1,
        kw=1.0,
        thr=2.0,
        cooling="air",
        procurement=[{"kind": "reserved", "usd_per_gpu_hour": 1.0, "term_months": 1}],
    )
    _, p = plan(scenario([liquid, air], [site]), curve([[300.0]]))
    # 2 racks serve 200 tokens/s; 100 more on air GPUs serving 2 each: 50 GPUs
    assert units(p) == {"liq@s:reserved": 2, "air@s:reserved": 50}
    assert p.sites[0]["liquid_mw"] == pytest.approx(0.2)
    assert p.total_cost_usd == pytest.approx(20 * 1.0 + 50 * 1.0)
    sf = scenario_file(scenario([liquid, air], [site]), HERE)
    full = plan_fleet(build_problem(sf, curve([[300.0]])), solver_options(sf.scenario), explain=True)
    cap = next(c for c in full.caps if c.name == "liquid_cooling@s")
    assert cap.binding and cap.kind == "liquid_cooling" and cap.site == "s"
    # one more MW of liquid loop takes 10 racks (all 300 tokens/s): 30 GPU-h instead of 70
    assert cap.saving_usd == pytest.approx(70.0 - 30.0)


@pytest.mark.parametrize(("peak_hours", "burst"), [(4, True), (6, False)])
def test_burst_against_reserve_breaks_even_at_the_price_ratio(peak_hours, burst):
    # base 10 tokens/s for 10 hours, 14 in `peak_hours` of them; 1 token/s per GPU. Reserving the 4
    # peak GPUs costs 2 x 10 h each; bursting them 4 x peak_hours. Burst wins below 2/4 = 50 % of hours.
    offers = [
        {"kind": "reserved", "usd_per_gpu_hour": 2.0, "term_months": 12},
        {"kind": "on_demand", "usd_per_gpu_hour": 4.0},
    ]
    site = {"id": "s", "pue": 1.0, "electricity_usd_per_kwh": 0.0}
    peaks = [14.0 if t < peak_hours else 10.0 for t in range(10)]
    _, p = plan(scenario([node(procurement=offers)], [site]), curve([peaks]))
    got = units(p)
    if burst:
        assert got["n@s:reserved"] == 10 and got["n@cloud:on_demand"] == pytest.approx(4.0)
        assert p.total_cost_usd == pytest.approx(2.0 * 10 * 10 + 4.0 * 4 * peak_hours)
        burst_row = next(r for r in p.procurement if r["kind"] == "on_demand")
        assert burst_row["gpu_hours"] == pytest.approx(4.0 * peak_hours)
        assert sum(s["cost_usd"] for s in burst_row["by_slice"]) == pytest.approx(p.burst_cost_usd)
        assert [s["peak_gpus"] for s in burst_row["by_slice"]] == pytest.approx(
            [4.0 if t < peak_hours else 0 for t in range(10)]
        )
    else:
        assert got == {"n@s:reserved": 14}
        assert p.total_cost_usd == pytest.approx(2.0 * 14 * 10)


def test_on_demand_is_bounded_by_max_gpus_in_every_slice():
    offers = [
        {"kind": "reserved", "usd_per_gpu_hour": 2.0, "term_months": 12},
        {"kind": "on_demand", "usd_per_gpu_hour": 4.0, "max_gpus": 3},
    ]
    site = {"id": "s", "pue": 1.0, "electricity_usd_per_kwh": 0.0}
    _, p = plan(scenario([node(procurement=offers)], [site]), curve([[14.0] + [10.0] * 9]))
    assert units(p) == {"n@s:reserved": 11, "n@cloud:on_demand": pytest.approx(3.0)}


@pytest.mark.parametrize(("decommission", "retired"), [(100.0, True), (1000.0, False)])
def test_retirement_is_worth_it_or_not(decommission, retired):
    # 5 existing owned nodes idle at $0.5/GPU-h fixed opex over 100 h (8 GPUs): keeping one costs $400;
    # the cheaper reserved SKU serves everything. Retire when decommissioning costs less than $400.
    site = {"id": "s", "pue": 1.0, "electricity_usd_per_kwh": 0.0}
    old = node(
        "old",
        g=8,
        thr=1.0,
        procurement=[{"kind": "owned", "capex_usd_per_gpu": 1e6, "life_years": 5, "fixed_opex_usd_per_gpu_hour": 0.5}],
    )
    new = node("new", g=1, thr=10.0, procurement=[{"kind": "reserved", "usd_per_gpu_hour": 0.1, "term_months": 12}])
    existing = {"old": {"units": 5, "may_retire": True, "decommission_usd_per_unit": decommission}}
    c = curve([[100.0] * 100])
    _, p = plan(scenario([old, new], [site], existing=existing), c)
    row = next(f for f in p.fleet if f.sku == "old@s:existing")
    if retired:
        assert row.units == 0 and row.decommissioned_units == 5
        assert p.decommission_cost_usd == pytest.approx(500.0)
        assert p.total_cost_usd == pytest.approx(500.0 + 10 * 0.1 * 100)
    else:
        assert row.units == 5 and row.decommissioned_units == 0
        # kept, they serve (their busy hours cost nothing more): 40 tokens/s, the rest on 6 new GPUs
        assert p.total_cost_usd == pytest.approx(5 * 8 * 0.5 * 100 + 6 * 0.1 * 100)


def test_existing_units_that_may_not_retire_are_kept_and_their_capital_is_sunk():
    site = {"id": "s", "pue": 1.0, "electricity_usd_per_kwh": 0.0}
    old = node(
        "old",
        g=1,
        procurement=[
            {"kind": "owned", "capex_usd_per_gpu": 8760.0, "life_years": 1, "fixed_opex_usd_per_gpu_hour": 0.5}
        ],
    )
    _, p = plan(
        scenario([old], [site], existing={"old": {"units": 3}}, economics={"discount_rate": 0.0}), curve([[5.0]])
    )
    assert units(p) == {"old@s:existing": 3, "old@s:owned": 2}
    # existing: opex only; new: annuity 8760 x CRF(0, 1) / 8760 = $1/h + opex
    assert p.total_cost_usd == pytest.approx(3 * 0.5 + 2 * (1.0 + 0.5))


# ---- the form of the issue, recomputed ---------------------------------------------------------


@pytest.fixture(scope="module")
def two_sites():
    sf = load_scenario(ROOT / "scenarios" / "two-sites.yaml")
    problem = build_problem(sf, scenario_curve(sf))
    return sf, problem, plan_fleet(problem, solver_options(sf.scenario))


def test_two_sites_tells_its_story(two_sites):
    _, _, p = two_sites
    got = units(p)
    assert p.status == "optimal"
    assert got["gb300-rack@hall-a:owned"] == 102  # as many as the 14 MW liquid loop cools
    assert got["h200-node@colo-b:existing"] == 40  # kept
    assert got["h200-node@cloud:on_demand"] > 0  # the peaks burst
    share = {r["kind"]: r["token_share"] for r in p.procurement}
    assert share["owned"] > 0.99 and share["on_demand"] > 0
    assert "liquid_cooling@hall-a" in p.binding
    liquid = next(c for c in p.caps if c.name == "liquid_cooling@hall-a")
    assert liquid.saving_usd > 0 and liquid.saving_usd_per_year > 0
    hall = next(s for s in p.sites if s["site"] == "hall-a")
    assert hall["liquid_cooling"]["binding"] and hall["liquid_cooling"]["saving_usd"] == liquid.saving_usd


def test_every_cap_per_site_recomputed_from_the_plan(two_sites):
    sf, problem, p = two_sites
    scn = sf.scenario
    sites = {s.id: s for s in scn.sites}
    skus = {e.id: e for e in scn.skus}
    power = dict.fromkeys(sites, 0.0)
    liquid = dict.fromkeys(sites, 0.0)
    per_rack: dict[tuple[str, str], float] = {}
    for f in p.fleet:
        if not f.units or f.site == "cloud":
            continue
        e = skus[f.placed_sku]
        it_kw = f.units * e.gpus_per_unit * e.power_kw_per_gpu
        power[f.site] += it_kw * sites[f.site].pue
        if e.cooling == "liquid":
            liquid[f.site] += it_kw
        per_rack[f.site, e.id] = per_rack.get((f.site, e.id), 0.0) + f.units
    for sid, s in sites.items():
        assert power[sid] <= s.power_cap_mw * 1000 * (1 + 1e-9)
        assert liquid[sid] <= s.liquid_cooling_mw * 1000 * (1 + 1e-9)
        racks = 0
        for (site, sku_id), n in per_rack.items():
            if site != sid:
                continue
            e = skus[sku_id]
            fit = min(e.units_per_rack, math.floor(s.max_kw_per_rack / (e.gpus_per_unit * e.power_kw_per_gpu)))
            racks += math.ceil(n / fit)
        assert racks <= s.rack_positions
        row = next(x for x in p.sites if x["site"] == sid)
        assert row["racks"] == racks
        assert row["power_mw"] == pytest.approx(power[sid] / 1000)
        assert row["liquid_mw"] == pytest.approx(liquid[sid] / 1000)
    # on-demand within max_gpus in every slice
    cloud = next(r for r in p.procurement if r["kind"] == "on_demand")
    assert max(s["peak_gpus"] for s in cloud["by_slice"]) <= 1600 * (1 + 1e-9)


def test_the_cost_recomputed_from_the_scenario_figures(two_sites):
    sf, problem, p = two_sites
    scn = sf.scenario
    c = problem.curve
    span = float(c.slice_hours.sum())
    sites = {s.id: s for s in scn.sites}
    skus = {e.id: e for e in scn.skus}
    r = scn.economics.discount_rate
    total = 0.0
    for j, f in enumerate(p.fleet):
        if not f.units:
            continue
        e = skus[f.placed_sku]
        offers = {o.kind: o for o in e.procurement}
        gpus = f.units * e.gpus_per_unit
        if f.procurement == "on_demand":
            busy_hours = (p.dispatch.busy[j].sum(axis=0) * (c.mean[0] / c.peak[0]) * c.slice_hours).sum()
            total += busy_hours * offers["on_demand"].usd_per_gpu_hour
            continue
        site = sites[f.site]
        o = offers["owned"]
        hourly = o.fixed_opex_usd_per_gpu_hour
        if f.procurement == "owned":
            hourly += o.capex_usd_per_gpu * capital_recovery_factor(r, o.life_years) / 8760
        # idle power is 30 % of full load (inline default); busy hours add the rest
        idle_kw = 0.3 * e.power_kw_per_gpu * site.pue
        full_kw = e.power_kw_per_gpu * site.pue
        busy_hours = (p.dispatch.busy[j].sum(axis=0) * (c.mean[0] / c.peak[0]) * c.slice_hours).sum()
        total += gpus * span * (hourly + idle_kw * site.electricity_usd_per_kwh)
        total += busy_hours * (full_kw - idle_kw) * site.electricity_usd_per_kwh
    assert p.total_cost_usd == pytest.approx(total, rel=1e-9)


def test_the_form_of_the_issue_plans_explains_and_writes(runner, tmp_path):
    data = yaml.safe_load((ROOT / "scenarios" / "two-sites.yaml").read_text())
    data.pop("buildout")
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(data))
    r = runner.invoke(app, ["plan", str(tmp_path / "s.yaml"), "--json", "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert_matches_schema(doc, "plan")
    assert {s["site"] for s in doc["sites"]} == {"hall-a", "colo-b"}
    assert {x["kind"] for x in doc["procurement"]} == {"owned", "existing", "reserved", "on_demand"}
    # the plan notes what applies to a buildout only
    assert any("lead_time_months applies to `planner buildout`" in n for n in doc["notes"])
    assert any("age_years applies to `planner buildout`" in n for n in doc["notes"])
    rows = list(csv.DictReader((tmp_path / "out" / "fleet.csv").read_text().splitlines()))
    assert {"site", "procurement", "placed_sku", "racks", "liquid_mw"} <= set(rows[0])
    assert {row["site"] for row in rows} == {"hall-a", "colo-b", "cloud"}
    r = runner.invoke(app, ["plan", str(tmp_path / "s.yaml")])
    assert r.exit_code == 0 and "site hall-a:" in r.stdout and "liquid_cooling@hall-a +1 MW" in r.stdout


def test_an_infeasible_site_plan_names_site_and_resource(runner, tmp_path):
    data = yaml.safe_load((ROOT / "scenarios" / "two-sites.yaml").read_text())
    data.pop("buildout")
    data["demand"]["workloads"]["chat"]["mean_tokens_per_s"] = 8.6e7
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(data))
    r = runner.invoke(app, ["plan", str(tmp_path / "s.yaml"), "--json"])
    assert r.exit_code == 3, r.output
    reason = json.loads(r.stdout)["reason"]
    liquid = reason["relaxations"]["sites.hall-a.liquid_cooling_mw"]
    assert liquid["site"] == "hall-a" and liquid["resource"] == "liquid_cooling" and liquid["feasible_by_itself"]
    assert liquid["needed"] > 14
    assert "sites.hall-a.liquid_cooling_mw from 14 to" in reason["summary"]


# ---- the buildout: lead times and sites ---------------------------------------------------------


@pytest.fixture(scope="module")
def two_sites_buildout():
    sf = load_scenario(ROOT / "scenarios" / "two-sites.yaml")
    problem = build_buildout_problem(sf, scenario_curve(sf))
    return problem, plan_buildout(problem, solver_options(sf.scenario))


def test_buildout_honours_lead_times_and_sites(two_sites_buildout):
    problem, plan = two_sites_buildout
    assert plan.status == "optimal"
    gb = "gb300-rack@hall-a:owned"
    fleet = [r.fleet[gb] for r in plan.periods]
    assert fleet[0] == fleet[1] == 0 and fleet[2] > 0  # ordered in the first quarter, racked two later
    # the bridge is H200 capacity, then GB300 racks take over
    bridge = [
        sum(n for k, n in r.fleet.items() if k.startswith("h200-node@") and "cloud" not in k) for r in plan.periods
    ]
    assert bridge[0] > bridge[-1]
    for r in plan.periods:  # site caps hold in every period
        h200 = sum(n for k, n in r.fleet.items() if k.startswith("h200-node@hall-a"))
        racks = math.ceil(h200 / 4) + r.fleet[gb]
        assert racks <= 120


def test_buildout_sites_per_period_recomputed_from_the_schedule(two_sites_buildout):
    """Each period's per-site power, rack positions, liquid cooling, GPUs and token share, from the
    installed units and the scenario's own figures; the sites and the cloud share every token."""
    from planner.report.workbook import buildout_cap_rows

    problem, plan = two_sites_buildout
    scn = load_scenario(ROOT / "scenarios" / "two-sites.yaml").scenario
    sites = {s.id: s for s in scn.sites}
    skus = {e.id: e for e in scn.skus}
    info = {s["sku"]: s for s in plan.skus}
    for r in plan.periods:
        assert [x["site"] for x in r.sites] == list(sites)
        for row in r.sites:
            sid = row["site"]
            power = liquid = gpus = share = 0.0
            per_sku: dict[str, int] = {}
            for col, n in r.fleet.items():
                if info[col]["site"] != sid:
                    continue
                e = skus[info[col]["placed_sku"]]
                it_kw = n * e.gpus_per_unit * e.power_kw_per_gpu
                power += it_kw * sites[sid].pue
                liquid += it_kw if e.cooling == "liquid" else 0.0
                gpus += n * e.gpus_per_unit
                share += r.token_share_by_sku[col]
                per_sku[e.id] = per_sku.get(e.id, 0) + n
            s = sites[sid]
            racks = sum(
                math.ceil(n / min(skus[k].units_per_rack, math.floor(s.max_kw_per_rack / (skus[k].gpus_per_unit * skus[k].power_kw_per_gpu))))
                for k, n in per_sku.items()
            )  # fmt: skip
            assert row["power_mw"] == pytest.approx(power / 1000) and row["power_mw"] <= s.power_cap_mw * (1 + 1e-9)
            assert row["liquid_mw"] == pytest.approx(liquid / 1000)
            assert row["liquid_mw"] <= s.liquid_cooling_mw * (1 + 1e-9) + 1e-12
            assert row["racks"] == racks <= s.rack_positions
            assert row["gpus"] == gpus and row["token_share"] == pytest.approx(share)
            assert (row["power_cap_mw"], row["rack_positions"], row["liquid_cooling_mw"]) == (
                s.power_cap_mw, s.rack_positions, s.liquid_cooling_mw,
            )  # fmt: skip
            assert set(row["at_limit"]) <= set(r.at_limit)
        cloud_share = sum(v for k, v in r.token_share_by_sku.items() if info[k]["site"] == "cloud")
        assert sum(x["token_share"] for x in r.sites) + cloud_share == pytest.approx(1.0)
        assert sum(x["power_mw"] for x in r.sites) == pytest.approx(r.power_mw)  # the cloud draws none of yours
    limited = []  # rack positions are at their limit where none is left and a unit was bought there
    for r in plan.periods:
        hall = next(x for x in r.sites if x["site"] == "hall-a")
        bought = any(n and info[c]["site"] == "hall-a" for c, n in r.purchases.items())
        assert ("rack_positions" in hall["at_limit"]) == (bought and hall["racks"] == hall["rack_positions"])
        limited += ["rack_positions" in hall["at_limit"]]
    assert any(limited)
    # the workbook's Caps sheet has every site cap of every period, at its limit where the schedule says so
    rows = [c for c in buildout_cap_rows(plan) if "@" in c["cap"]]
    assert len(rows) == 3 * len(sites) * len(plan.periods)
    assert {c["cap"] for c in rows if c["at_limit"] == "yes"} == {"rack_positions@hall-a"}
    # --out writes them long-form to sites.csv
    from planner.buildout.report import buildout_files

    rows = list(csv.DictReader(io.StringIO(buildout_files(plan, Path("out"))[Path("out") / "sites.csv"])))
    assert len(rows) == len(sites) * len(plan.periods)
    q1 = plan.periods[0]
    assert rows[0]["period"] == q1.period and rows[0]["site"] == "hall-a"
    at = {(r["period"], r["site"]): r["at_limit"] for r in rows}
    for r in plan.periods:
        for x in r.sites:
            assert at.get((r.period, x["site"]), "") == ", ".join(x["at_limit"])
    assert float(rows[1]["power_mw"]) == pytest.approx(q1.sites[1]["power_mw"])
    # and the CLI prints the table
    from typer.testing import CliRunner

    res = CliRunner().invoke(app, ["buildout", str(ROOT / "scenarios" / "two-sites.yaml")])
    assert "sites: used / cap per period" in res.stdout and "120 / 120" in res.stdout


def test_buildout_diagnosis_names_the_lead_time(tmp_path):
    data = yaml.safe_load((ROOT / "scenarios" / "two-sites.yaml").read_text())
    data["buildout"]["demand"]["scale"] = 0.1
    sf = scenario_file(data, ROOT / "scenarios" / "two-sites.yaml")
    problem = build_buildout_problem(sf, scenario_curve(sf))
    plan = plan_buildout(problem, solver_options(sf.scenario))
    assert plan.status == "infeasible"
    lead = next(r for r in plan.reason.relaxations if r["cap"] == "lead_time@gb300-rack")
    assert lead["current"] == 6 and lead["needed"] is not None and lead["needed"] < 6
    assert "gb300-rack's lead time" in plan.reason.summary


def test_a_myopic_buildout_with_a_lead_time_is_refused():
    data = yaml.safe_load((ROOT / "scenarios" / "two-sites.yaml").read_text())
    data["buildout"]["mode"] = "myopic"
    sf = scenario_file(data, ROOT / "scenarios" / "two-sites.yaml")
    with pytest.raises(ScenarioError) as err:
        build_buildout_problem(sf, scenario_curve(sf))
    assert "lead_time_months" in str(err.value.problems)


# ---- one site, one procurement: today's plan ------------------------------------------------------


def test_one_site_one_procurement_gives_todays_plan():
    skus = [
        {
            "id": "a",
            "gpus_per_unit": 8,
            "power_kw_per_gpu": 1.0,
            "cost_per_gpu_hour": 2.0,
            "energy_billed": True,
            "throughput": {"w": 100.0},
        },
        {
            "id": "b",
            "gpus_per_unit": 72,
            "power_kw_per_gpu": 1.5,
            "cost_per_gpu_hour": 3.0,
            "energy_billed": True,
            "throughput": {"w": 450.0},
        },
    ]
    c = curve([[4.0e4, 9.0e4, 6.5e4, 1.2e5]])
    econ = {"pue": 1.3, "electricity_usd_per_kwh": 0.1}
    today = scenario(copy.deepcopy(skus), economics=econ, constraints={"power_cap_mw": 0.7})
    _, base = plan(today, c)
    # the same hall as one site
    site = {"id": "hall", "power_cap_mw": 0.7, "pue": 1.3, "electricity_usd_per_kwh": 0.1}
    _, one = plan(scenario(copy.deepcopy(skus), [site]), c)
    # and each SKU's price as its one procurement entry
    priced = copy.deepcopy(skus)
    for e in priced:
        e["procurement"] = [{"kind": "reserved", "usd_per_gpu_hour": e.pop("cost_per_gpu_hour"), "term_months": 12}]
        e.pop("energy_billed")
    _, reserved = plan(scenario(priced, [site]), c)
    assert base.status == one.status == reserved.status == "optimal"
    assert [f.units for f in base.fleet] == [f.units for f in one.fleet] == [f.units for f in reserved.fleet]
    assert one.total_cost_usd == pytest.approx(base.total_cost_usd, rel=1e-12)
    assert reserved.total_cost_usd == pytest.approx(base.total_cost_usd, rel=1e-12)
    assert base.fleet[0].site is None and one.fleet[0].site == "hall"


# ---- brute force over two sites and three procurement kinds ----------------------------------------


def brute_force(problem) -> float | None:
    """Cheapest plan by enumerating every integer column (single workload; greedy dispatch by busy $
    per token is exact), caps recomputed from the SKU and site figures, not the cap table."""
    sites = {s.id: s for s in problem.sites}
    c = problem.curve
    r = np.where(c.peak[0] > 0, c.mean[0] / c.peak[0], 0.0)
    span = float(c.slice_hours.sum())
    fixed, busy = problem.gpu_hour_costs()
    theta = problem.throughput[:, 0]
    cols = list(range(len(problem.skus)))
    integer = [j for j in cols if not problem.skus[j].continuous]
    ranges = []
    for j in integer:
        s = problem.skus[j]
        low = 0 if s.decommission_usd_per_unit is not None else s.min_units
        high = int(min(s.max_units, 4))
        ranges.append(range(low, high + 1))
    best = None
    for pick in itertools.product(*ranges):
        n = np.zeros(len(cols))
        n[integer] = pick
        ok = True
        for sid, site in sites.items():
            at = [j for j in integer if problem.skus[j].site == sid]
            kw = sum(n[j] * problem.skus[j].gpus_per_unit * problem.skus[j].it_kw_per_gpu for j in at)
            liquid = sum(
                n[j] * problem.skus[j].gpus_per_unit * problem.skus[j].it_kw_per_gpu
                for j in at
                if problem.skus[j].cooling == "liquid"
            )
            if site.power_cap_mw is not None and kw * site.pue > site.power_cap_mw * 1000 * (1 + 1e-9):
                ok = False
            if site.liquid_cooling_mw is not None and liquid > site.liquid_cooling_mw * 1000 * (1 + 1e-9):
                ok = False
            if site.rack_positions is not None:
                groups: dict[str, list[int]] = {}
                for j in at:
                    groups.setdefault(problem.skus[j].base_id, []).append(j)
                racks = sum(
                    math.ceil(sum(n[j] for j in g) / problem.skus[g[0]].units_per_rack - 1e-9) for g in groups.values()
                )
                ok = ok and racks <= site.rack_positions
        for base in {s.base_id for s in problem.skus}:
            on_site = [j for j in integer if problem.skus[j].base_id == base]
            limit = problem.skus[on_site[0]].sku_max_units if on_site else math.inf
            ok = ok and sum(n[j] for j in on_site) <= limit
        if not ok:
            continue
        cap = np.array(
            [
                (s.max_units if s.continuous else n[j]) * s.gpus_per_unit * s.utilization_limit(problem.max_utilization)
                for j, s in enumerate(problem.skus)
            ]
        )
        cost = float((np.array([s.gpus_per_unit for s in problem.skus]) * n * fixed).sum() * span)
        for j, s in enumerate(problem.skus):
            if s.decommission_usd_per_unit is not None:
                cost += s.decommission_usd_per_unit * (s.min_units - n[j])
        per_token = np.where(theta > 0, busy / np.where(theta > 0, theta, 1.0), np.inf)
        order = [j for j in np.argsort(per_token, kind="stable") if theta[j] > 0]
        feasible = True
        for t in range(c.peak.shape[1]):
            left = c.peak[0, t]
            for j in order:
                take = min(left, cap[j] * theta[j])
                cost += per_token[j] * take * r[t] * c.slice_hours[t]
                left -= take
            if left > 1e-9 * max(c.peak[0, t], 1.0):
                feasible = False
                break
        if feasible and (best is None or cost < best):
            best = cost
    return best


@st.composite
def instances(draw):
    site = lambda i: {  # noqa: E731
        "id": f"s{i}",
        "power_cap_mw": draw(st.sampled_from([None, 0.03, 0.06])),
        "pue": draw(st.sampled_from([1.1, 1.4])),
        "electricity_usd_per_kwh": draw(st.sampled_from([0.05, 0.2])),
        "rack_positions": draw(st.sampled_from([None, 1, 2, 3])),
        "max_kw_per_rack": draw(st.sampled_from([None, 20.0, 45.0])),
        "liquid_cooling_mw": draw(st.sampled_from([None, 0.0, 0.02])),
    }
    offers = [
        {
            "kind": "owned",
            "capex_usd_per_gpu": draw(st.sampled_from([20000.0, 30000.0])),
            "life_years": 4,
            "fixed_opex_usd_per_gpu_hour": 0.2,
        },
        {"kind": "reserved", "usd_per_gpu_hour": draw(st.sampled_from([1.5, 2.5])), "term_months": 12},
        {
            "kind": "on_demand",
            "usd_per_gpu_hour": draw(st.sampled_from([3.0, 6.0])),
            "max_gpus": draw(st.sampled_from([4.0, 16.0])),
        },
    ]
    air = node("air", g=4, kw=1.25, thr=100.0, units_per_rack=2, cooling="air", procurement=offers, max_units=4)
    liquid = node(
        "liq",
        g=8,
        kw=2.0,
        thr=400.0,
        units_per_rack=1,
        cooling="liquid",
        max_units=4,
        procurement=[
            {"kind": "owned", "capex_usd_per_gpu": 50000.0, "life_years": 4, "fixed_opex_usd_per_gpu_hour": 0.3}
        ],
    )
    peaks = draw(st.lists(st.floats(200.0, 6000.0), min_size=2, max_size=4))
    existing = {}
    if draw(st.booleans()):
        existing = {"air": {"units": 1, "site": "s1", "may_retire": draw(st.booleans())}}
        if existing["air"]["may_retire"]:
            existing["air"]["decommission_usd_per_unit"] = draw(st.sampled_from([0.0, 5000.0]))
    data = scenario([air, liquid], [site(0), site(1)], existing=existing, economics={"discount_rate": 0.08})
    return data, curve([peaks], mean=[[p * 0.7 for p in peaks]], hours=24.0)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(instances())
def test_brute_force_two_sites_three_procurement_kinds(case):
    data, c = case
    sf = scenario_file(data, HERE)
    problem = build_problem(sf, c)
    p = plan_fleet(problem, solver_options(sf.scenario), explain=False)
    expected = brute_force(problem)
    if expected is None:
        assert p.status == "infeasible"
        return
    assert p.status == "optimal"
    assert p.total_cost_usd == pytest.approx(expected, rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("decommission", [100.0, 1000.0])
def test_a_placed_plan_file_replays_at_its_cost(tmp_path, decommission):
    # on-demand GPUs (fractional units) and decommissioned existing units survive a plan.json round trip
    from planner.validate.planfile import plan_for_units, read_plan_units

    site = {"id": "s", "pue": 1.0, "electricity_usd_per_kwh": 0.0}
    old = node(
        "old",
        g=8,
        procurement=[{"kind": "owned", "capex_usd_per_gpu": 1e6, "life_years": 5, "fixed_opex_usd_per_gpu_hour": 0.5}],
    )
    new = node(
        "new",
        thr=10.0,
        procurement=[
            {"kind": "reserved", "usd_per_gpu_hour": 0.1, "term_months": 12},
            {"kind": "on_demand", "usd_per_gpu_hour": 0.3},
        ],
    )
    existing = {"old": {"units": 5, "may_retire": True, "decommission_usd_per_unit": decommission}}
    c = curve([[100.0] * 90 + [125.0] * 10])
    problem, p = plan(scenario([old, new], [site], existing=existing), c)
    burst = next(f for f in p.fleet if f.procurement == "on_demand")
    assert burst.units == pytest.approx(2.5)  # 25 tokens/s over the reserved base, 10 tokens/s per GPU
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(p.to_dict()))
    got, _ = read_plan_units(path, problem)
    again = plan_for_units(problem, got, SolverOptions(mip_rel_gap=1e-6))  # as plan() solved it
    assert again.total_cost_usd == pytest.approx(p.total_cost_usd, rel=1e-9)


def test_two_existing_cohorts_at_one_site_are_two_columns():
    site = {"id": "s", "pue": 1.0, "electricity_usd_per_kwh": 0.0, "rack_positions": 2}
    owned = {"kind": "owned", "capex_usd_per_gpu": 8760.0, "life_years": 5, "fixed_opex_usd_per_gpu_hour": 0.1}
    old = node("old", g=1, units_per_rack=4, procurement=[owned])
    existing = {"old": [{"units": 3, "age_years": 1}, {"units": 2, "age_years": 3, "may_retire": True}]}
    problem, p = plan(scenario([old], [site], existing=existing), curve([[1.0]]))
    ids = [s.id for s in problem.skus]
    assert len(ids) == len(set(ids))
    assert units(p) == {"old@s:existing-1": 3}  # the cohort that may retire goes (free to retire, $0.1/GPU-h to keep)
    assert p.sites[0]["racks"] == 1  # both cohorts share the SKU's positions


def test_the_on_demand_quota_is_a_cap_with_its_value(runner):
    """Issue 26 item 1: two-sites' 1,600-GPU on-demand quota is a row of the cap table: used, binding,
    what one step saves (recomputed by planning with the quota raised) and its LP-relaxation dual."""
    import json

    from planner.cli.main import app
    from planner.pipeline import run_plan
    from planner.resources import scenarios_dir

    path = scenarios_dir() / "two-sites.yaml"
    plan = run_plan(path)
    quota = next(c for c in plan.caps if c.kind == "quota")
    assert quota.name == "quota@h200-node" and quota.unit == "GPUs" and quota.limit == 1600.0
    assert quota.field == "skus.h200-node.procurement.on_demand.max_gpus"
    on_demand = next(f for f in plan.fleet if f.sku == "h200-node@cloud:on_demand")
    assert quota.used == pytest.approx(on_demand.units * 8)
    assert quota.binding and quota.name in plan.binding and quota.step == 16.0
    raised = run_plan(path, {quota.field: 1600 + quota.step})
    assert quota.saving_usd == pytest.approx(plan.total_cost_usd - raised.total_cost_usd, rel=1e-9)
    assert quota.saving_usd > 0 and quota.lp_relaxation_dual > 0
    # much more quota: less owned capacity (the issue's 4,000 GPUs)
    wide = run_plan(path, {quota.field: 4000})
    assert wide.total_cost_usd < plan.total_cost_usd - quota.saving_usd
    human = runner.invoke(app, ["plan", "two-sites"])
    assert "quota@h200-node +16 GPUs: saves" in human.stdout and "binding: liquid_cooling@hall-a, quota@h200-node" in (
        human.stdout
    )
    doc = json.loads(runner.invoke(app, ["plan", "two-sites", "--json"]).stdout)
    assert any(c["name"] == "quota@h200-node" and c["binding"] for c in doc["caps"])


def test_the_quota_reaches_the_workbook_and_the_report(runner, tmp_path):
    import openpyxl

    from planner.cli.main import app

    assert runner.invoke(app, ["plan", "two-sites", "--out", str(tmp_path / "d")]).exit_code == 0
    wb = openpyxl.load_workbook(tmp_path / "d" / "recommendation.xlsx")
    rows = [r for r in wb["Caps"].iter_rows(values_only=True) if r and r[0] == "quota@h200-node"]
    assert rows and rows[0][1:4] == ("skus.h200-node.procurement.on_demand.max_gpus", "GPUs", 1600)
    summary = {r[0]: r[1] for r in wb["Summary"].iter_rows(values_only=True) if r and r[0]}
    assert "quota@h200-node" in summary["binding caps"]
    assert runner.invoke(app, ["report", "two-sites", "--out", str(tmp_path / "r.html")]).exit_code == 0
    assert "quota@h200-node" in (tmp_path / "r.html").read_text()


def test_a_skus_max_units_is_a_cap_with_its_value_in_plan_and_buildout(runner):
    """Issue 26 item 1: `skus.<id>.max_units` on a SKU's one column is a supply cap: in caps, binding,
    the saving of one more unit (recomputed by planning with it), its dual; per period in a buildout."""
    import json

    from planner.cli.main import app
    from planner.pipeline import run_plan

    over = {"skus.gb300-nvl72.max_units": 20, "constraints.power_cap_mw": 12}
    plan = run_plan(None, over)
    supply = next(c for c in plan.caps if c.kind == "supply")
    assert (supply.name, supply.field, supply.limit, supply.used) == (
        "supply@gb300-nvl72",
        "skus.gb300-nvl72.max_units",
        20.0,
        20.0,
    )
    assert supply.binding and "supply@gb300-nvl72" in plan.binding and supply.lp_relaxation_dual > 0
    more = run_plan(None, {**over, "skus.gb300-nvl72.max_units": 21})
    assert supply.saving_usd == pytest.approx(plan.total_cost_usd - more.total_cost_usd, rel=1e-9)
    human = runner.invoke(app, ["plan", "--set", "skus.gb300-nvl72.max_units=20", "--power-cap-mw", "12"]).stdout
    assert "binding: supply@gb300-nvl72, max_units[gb300-nvl72]" in human
    r = runner.invoke(app, ["buildout", "buildout", "--set", "skus.gb300-nvl72.max_units=10", "--json"])
    periods = json.loads(r.stdout)["periods"]
    full = [p for p in periods if p["fleet"]["gb300-nvl72"] == 10]
    assert full and all("supply" in p["at_limit"] for p in full if p["purchases"]["gb300-nvl72"] > 0)
    assert all(p["fleet"]["gb300-nvl72"] <= 10 for p in periods)


def test_per_column_racks_add_up_to_the_sites():
    """Issue 26 item 5: columns sharing a site's positions (owned and existing H200 at colo-b) get
    shares of them that add up to the site's racks, each at least its full racks."""
    import math

    import numpy as np

    from planner.milp.formulation import RackGroup, column_racks
    from planner.pipeline import run_plan
    from planner.resources import scenarios_dir

    plan = run_plan(scenarios_dir() / "two-sites.yaml")
    for site in plan.sites:
        if site["racks"] is not None:
            assert sum(f.racks or 0 for f in plan.fleet if f.site == site["site"]) == site["racks"]
    grp = RackGroup("s", "x", 4, (0, 1, 2))
    for units in ([3, 3, 3], [4, 0, 1], [5, 6, 7], [0, 0, 0], [1, 1, 1]):
        shares = column_racks((grp,), np.array(units, dtype=float))
        assert sum(shares.values()) == math.ceil(sum(units) / 4)
        assert all(shares[j] >= units[j] // 4 and shares[j] <= math.ceil(units[j] / 4) for j in range(3))
