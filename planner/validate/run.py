"""One call from a scenario (and optionally a plan file) to a FleetSimResult."""

from __future__ import annotations

from pathlib import Path

from planner.optimize.plan import FleetPlan
from planner.optimize.problem import FleetProblem
from planner.scenario.load import ScenarioFile
from planner.validate.arrivals import request_profiles
from planner.validate.metrics import FleetSimResult
from planner.validate.planfile import plan_for_units, read_plan_units
from planner.validate.sim import ValidationOptions, simulate_fleet


def validate_scenario(
    sf: ScenarioFile,
    plan_path: Path | None = None,
    options: ValidationOptions = ValidationOptions(),
    *,
    burstiness: float | None = None,
) -> tuple[FleetProblem, FleetPlan, FleetSimResult]:
    """Plan the scenario (or read ``plan_path``) and simulate the fleet against its demand."""
    from planner.optimize.run import plan_fleet
    from planner.pipeline import scenario_problem

    options.check()
    problem = scenario_problem(sf)
    profiles = request_profiles(sf, problem.workloads, burstiness=burstiness)
    if plan_path is None:
        plan = plan_fleet(problem, explain=False)
    else:
        units, doc = read_plan_units(plan_path, problem)
        plan = plan_for_units(problem, units)
        planned = doc.get("cost_per_million_tokens")
        if isinstance(planned, (int, float)):
            from dataclasses import replace

            plan = replace(plan, cost_per_million_tokens=float(planned))
    return problem, plan, simulate_fleet(problem, plan, profiles, options)
