"""Buildout speed: the shipped 8-quarter buildout against the single-period plan of one quarter.

    .venv/bin/python benchmarks/bench_buildout.py

Baseline (measured in the same run): `planner plan` on the same scenario's first quarter
(one period, the same 168-slice representative week). Printed: wall time of each stage
(build, solve) for perfect foresight, myopic (8 small models), and the baseline, and the
ratios against the baseline. Printed, never asserted.
"""

from __future__ import annotations

from planner.buildout.run import buildout_problem_from, plan_buildout
from planner.optimize.problem import solver_options
from planner.optimize.run import plan_fleet
from planner.pipeline import scenario_problem
from planner.resources import scenarios_dir
from planner.scenario.load import load_scenario

from instances import timed


def main() -> None:
    sf = load_scenario(scenarios_dir() / "buildout.yaml")
    problem = buildout_problem_from(sf)
    opts = solver_options(sf.scenario)
    base_s, base = timed(lambda: plan_fleet(scenario_problem(sf), opts, explain=False))
    pf_s, pf = timed(lambda: plan_buildout(problem, opts, "perfect_foresight"))
    my_s, my = timed(lambda: plan_buildout(problem, opts, "myopic"))
    slices = len(problem.periods[0].curve.start_hours)
    print(f"shipped buildout: {len(problem.periods)} periods x {slices} slices, {len(problem.skus)} SKUs")
    print(f"{'run':<28}{'wall s':>9}{'build s':>9}{'solve s':>9}{'x baseline':>12}  (best of 2)")
    rows = [
        ("plan, one period (baseline)", base_s, base.timings.get("build_s", 0.0), base.timings.get("solve_s", 0.0)),
        ("buildout perfect foresight", pf_s, pf.timings["build_s"], pf.timings["solve_s"]),
        ("buildout myopic", my_s, my.timings["build_s"], my.timings["solve_s"]),
    ]
    for name, wall, build, solve in rows:
        print(f"{name:<28}{wall:>9.2f}{build:>9.2f}{solve:>9.2f}{wall / base_s:>12.1f}")
    cost = my.totals["present_value_usd"] - pf.totals["present_value_usd"]
    print(f"cost of myopia: ${cost:,.0f} ({cost / pf.totals['present_value_usd']:.2%})")


if __name__ == "__main__":
    main()
