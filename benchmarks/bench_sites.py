"""Placement cost: the two-site, three-procurement plan against the same demand on one site.

    .venv/bin/python benchmarks/bench_sites.py

Baseline (measured in the same run): scenarios/two-sites.yaml collapsed to one site (hall-a's
PUE and price, no rack, cooling or power caps) and one procurement kind per SKU (owned), so the
model has one column per SKU as without sites. Printed: columns, variables and integer
variables of each model, wall time of `plan_fleet` (explain off and on: the marginal values
re-solve once per cap), for plan and buildout, and the ratios against the baseline. Printed,
never asserted.
"""

from __future__ import annotations

import copy

from planner.buildout.problem import build_buildout_problem
from planner.buildout.run import plan_buildout
from planner.milp.formulation import build_fleet_model
from planner.optimize.problem import build_problem, solver_options
from planner.optimize.run import plan_fleet
from planner.pipeline import scenario_curve
from planner.resources import scenarios_dir
from planner.scenario.load import load_scenario, scenario_file

from instances import timed


def collapsed(data: dict) -> dict:
    d = copy.deepcopy(data)
    hall = d["sites"][0]
    d["sites"] = [{"id": "hall", "pue": hall["pue"], "electricity_usd_per_kwh": hall["electricity_usd_per_kwh"]}]
    d["workloads"] = {}
    for e in d["skus"]:
        e["procurement"] = [o for o in e["procurement"] if o["kind"] == "owned"]
        e.pop("units_per_rack", None)
        e.pop("cooling", None)
    d["existing"] = {}
    return d


def main() -> None:
    import yaml

    path = scenarios_dir() / "two-sites.yaml"
    sf = load_scenario(path)
    curve = scenario_curve(sf)
    base_sf = scenario_file(collapsed(yaml.safe_load(path.read_text())), path)
    rows = []
    for label, s in (("one site, owned only", base_sf), ("two sites, three kinds", sf)):
        problem = build_problem(s, curve)
        model = build_fleet_model(problem)
        ints = sum(1 for v in model.variables if v.cat == "Integer")
        opts = solver_options(s.scenario)
        quick, _ = timed(lambda problem=problem, opts=opts: plan_fleet(problem, opts, explain=False))
        full, _ = timed(lambda problem=problem, opts=opts: plan_fleet(problem, opts), repeat=1)
        bp = build_buildout_problem(s, curve)
        bo, _ = timed(lambda bp=bp, opts=opts: plan_buildout(bp, opts), repeat=1)
        rows.append((label, len(problem.skus), len(model.variables), ints, quick, full, bo))
    base = rows[0]
    print(f"{'model':24} {'columns':>7} {'vars':>7} {'ints':>5} {'plan s':>8} {'explained s':>11} {'buildout s':>10}")
    for label, cols, nv, ints, quick, full, bo in rows:
        print(f"{label:24} {cols:7d} {nv:7d} {ints:5d} {quick:8.3f} {full:11.3f} {bo:10.3f}")
    _, cols, nv, ints, quick, full, bo = rows[1]
    print(
        f"ratio to one site: plan {quick / base[4]:.1f}x, explained {full / base[5]:.1f}x, buildout {bo / base[6]:.1f}x "
        f"({nv / base[2]:.1f}x the variables)"
    )


if __name__ == "__main__":
    main()
