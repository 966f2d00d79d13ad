"""One call from a scenario (and optionally a plan file) to a FleetSimResult."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from planner.milp.problem import FleetProblem
from planner.milp.status import Status
from planner.optimize.plan import FleetPlan, assemble_plan
from planner.scenario.load import ScenarioFile
from planner.validate.arrivals import request_profiles
from planner.validate.metrics import FleetSimResult
from planner.validate.planfile import plan_for_units, read_plan_dispatch, read_plan_units
from planner.validate.sim import ValidationOptions, simulate_fleet


def validate_scenario(
    sf: ScenarioFile,
    plan_path: Path | None = None,
    options: ValidationOptions = ValidationOptions(),
    *,
    burstiness: float | None = None,
) -> tuple[FleetProblem, FleetPlan, FleetSimResult]:
    """Plan the scenario (or read ``plan_path``) and simulate the fleet against its demand.

    With ``plan_path``, the dispatch is the plan's own (``dispatch.csv`` beside it) when that
    file is there, else re-solved for the plan's fleet (see planfile.py).
    """
    from planner.optimize.problem import scenario_problem, solver_options
    from planner.optimize.run import plan_fleet

    options.check()
    problem = scenario_problem(sf)
    profiles = request_profiles(sf, problem.workloads, burstiness=burstiness)
    if plan_path is None:
        plan = plan_fleet(problem, solver_options(sf.scenario), explain=False)
    else:
        units, doc = read_plan_units(plan_path, problem)
        status = doc.get("status") if isinstance(doc.get("status"), str) else "optimal"
        # an infeasible plan's dispatch.csv is empty: re-solve for its fleet then
        dispatch = None if status == Status.INFEASIBLE else read_plan_dispatch(plan_path, problem, units)
        if dispatch is None:
            plan = plan_for_units(problem, units, solver_options(sf.scenario))
        else:
            n = np.array([units[s.id] for s in problem.skus], dtype=float)
            plan = assemble_plan(problem, n, dispatch, status)
        planned = doc.get("cost_per_million_tokens")
        if isinstance(planned, (int, float)):
            plan = replace(plan, cost_per_million_tokens=float(planned))
    return problem, plan, simulate_fleet(problem, plan, profiles, options)


def simulate_plan(
    sf: ScenarioFile,
    problem: FleetProblem,
    plan: FleetPlan,
    options: ValidationOptions = ValidationOptions(),
    *,
    burstiness: float | None = None,
) -> FleetSimResult:
    """Simulate a plan already in hand (its problem built from ``sf``) against the demand."""
    options.check()
    return simulate_fleet(problem, plan, request_profiles(sf, problem.workloads, burstiness=burstiness), options)
