"""One sweep point: what a worker receives (``PointTask``) and the row it returns (``run_point``).

Shared by the sweep driver (``planner.sweep.run``) and the executors (``planner.sweep.executors``),
which import this module and not each other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from planner.errors import ScenarioError, SolverError
from planner.milp.evaluate import purchases
from planner.milp.formulation import caps, single_period
from planner.milp.problem import FleetProblem
from planner.milp.status import Status
from planner.optimize.plan import FleetPlan
from planner.sweep.grid import Value

Cell = str | int | float | bool | None  # one value of a sweep row
Row = dict[str, Cell]  # one point's row: its overrides and the columns of module planner.sweep.run

SUMMARY_COLUMNS = [
    "status",
    "objective",
    "cost_per_million_tokens",
    "total_cost_usd",
    "fixed_cost_usd",
    "energy_cost_usd",
    "tokens_demanded",
    "tokens_served",
    "power_mw",
    "power_cap_mw",
    "run_rate_usd_per_hour",
    "budget_usd_per_hour",
    "capex_spend_usd",
    "capex_budget_usd",
    "span_hours",
]


@dataclass(frozen=True)
class PointTask:
    """What a worker needs to plan one point (plain, picklable data)."""

    index: int
    scenario_path: str
    overrides: dict[str, Value] = field(default_factory=dict)
    explain: bool = False


def caps_at_limit(problem: FleetProblem, plan: FleetPlan) -> list[str]:
    """Caps (of the cap table) with less headroom than the smallest unit that could still be added.

    A cap at its limit is where the integer fleet stops growing; it is binding in the sense
    of the marginal-value re-solve whenever the plan would use more of it if it could.
    """
    out: list[str] = []
    units = np.array([[f.units] for f in plan.fleet], dtype=float)
    buy = purchases(problem, units[:, 0])[:, None]
    addable = np.array(
        [
            f.units < s.max_units and any(v > 0 for v in s.throughput.values())
            for s, f in zip(problem.skus, plan.fleet, strict=True)
        ]
    )
    for cap in caps(single_period(problem)):
        if cap.decision == "racks":  # no whole position left at a site where a unit could still go
            here = np.array([s.site == cap.site for s in problem.skus])
            if (addable & here).any() and cap.limit - cap.use(units, buy) < 1 - 1e-9:
                out.append(cap.name)
            continue
        per_unit = cap.coefficients[:, 0]
        candidates = per_unit[addable & (per_unit > 0)]
        if candidates.size and cap.limit - cap.use(units, buy) < candidates.min():
            out.append(cap.name)
    for s, f in zip(problem.skus, plan.fleet, strict=True):
        if math.isfinite(s.max_units) and s.max_units > s.min_units and f.units >= s.max_units:
            out.append(f"max_units[{s.id}]")
    return out


def plan_row(problem: FleetProblem, plan: FleetPlan, explain: bool) -> Row:
    """The flat summary of one plan (the non-parameter columns of a sweep row)."""
    row: Row = {k: getattr(plan, k) for k in SUMMARY_COLUMNS}
    feasible = plan.status != Status.INFEASIBLE
    for f in plan.fleet:
        row[f"units.{f.sku}"] = f.units if feasible else None
        row[f"gpus.{f.sku}"] = f.gpus if feasible else None
        row[f"power_mw.{f.sku}"] = f.power_mw if feasible else math.nan
        row[f"run_rate_usd_per_hour.{f.sku}"] = f.cost_usd_per_hour if feasible else math.nan
    row["caps_at_limit"] = ";".join(caps_at_limit(problem, plan)) if feasible else ""
    if explain:
        row["binding"] = ";".join(plan.binding)
        for c in plan.caps:
            row[f"saving_usd_per_year.{c.name}"] = (
                c.saving_usd_per_year if c.saving_usd_per_year is not None else math.nan
            )
    row["mip_gap"] = plan.solver.get("mip_gap", math.nan) if feasible else math.nan
    row["diagnosis"] = plan.reason.summary if plan.reason and not feasible else ""
    return row


def run_point(task: PointTask) -> Row:
    """Plan one point. Input problems and solver failures become a row, not an exception."""
    from planner.milp.highs import silence_banner
    from planner.optimize.problem import scenario_problem, solver_options
    from planner.optimize.run import plan_fleet
    from planner.scenario.load import load_scenario

    silence_banner()
    head: Row = {"point": task.index, **task.overrides}
    try:
        sf = load_scenario(task.scenario_path, task.overrides)
        problem = scenario_problem(sf)
        plan = plan_fleet(problem, solver_options(sf.scenario), explain=task.explain)
    except ScenarioError as exc:
        return {**head, "status": "invalid", "diagnosis": str(exc)}
    except SolverError as exc:
        return {**head, "status": "error", "diagnosis": str(exc)}
    return {**head, **plan_row(problem, plan, task.explain)}
