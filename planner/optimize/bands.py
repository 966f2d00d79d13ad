"""Plans that rest on estimated throughput: which numbers are estimated, and the plan at the band's edges.

A curve workload with ``estimate: true`` gives SKUs without a measured point an estimated
throughput with a band (:mod:`planner.throughput.estimate`); the plan uses the edge the
workload names (``throughput_band``, default ``mid``: the estimate). This module re-plans the
same demand at the other edges and says whether the chosen fleet changes.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from planner.errors import ScenarioError
from planner.milp.problem import FleetProblem
from planner.milp.status import Status
from planner.optimize.plan import BandEdge, EstimatedNumber, FleetPlan, ThroughputBand
from planner.optimize.problem import build_problem, solver_options
from planner.scenario.load import ScenarioFile

EDGES = ("low", "mid", "high")


def with_throughput_band(sf: ScenarioFile, band: str) -> ScenarioFile:
    """``at_edge`` for a user's choice: refused when the band is unknown or no workload is estimated."""
    if band not in EDGES:
        raise ScenarioError(f"`throughput_band` {band}: use low, mid or high")
    if not any(e.estimate for e in sf.scenario.workloads.values()):
        raise ScenarioError(
            "`throughput_band` applies to estimated throughput; no workload of this scenario has estimate: true "
            "(a curve workload's option), so it would change nothing"
        )
    return at_edge(sf, band)


def estimated_numbers(problem: FleetProblem) -> list[EstimatedNumber]:
    """Every estimated throughput figure the problem uses: SKU, workload, value, its band's
    low and high, basis. [tokens/s per GPU]"""
    return [
        {
            "sku": s.id,
            "workload": w,
            "tokens_per_s_per_gpu": s.throughput[w],
            "low": s.throughput_range.get(w, (None, None))[0],
            "high": s.throughput_range.get(w, (None, None))[1],
            "basis": b,
        }
        for s in problem.skus
        for w, b in s.throughput_basis.items()
        if b.startswith("estimated")
    ]


def at_edge(sf: ScenarioFile, edge: str) -> ScenarioFile:
    """The scenario with every estimated workload planned on ``edge`` (low | mid | high)."""
    workloads = {
        w: e.model_copy(update={"throughput_band": edge}) if e.estimate else e for w, e in sf.scenario.workloads.items()
    }
    return replace(sf, scenario=sf.scenario.model_copy(update={"workloads": workloads}))


def _fleet(plan: FleetPlan) -> dict[str, float]:
    return {f.sku: f.units for f in plan.fleet if f.units}


def band_report(sf: ScenarioFile, problem: FleetProblem, plan: FleetPlan, **plan_options: Any) -> ThroughputBand | None:
    """None when no number is estimated; else the estimated numbers and, per band edge, the fleet
    and cost per million tokens planned there and whether the fleet is the same as ``plan``'s."""
    from planner.optimize.run import plan_fleet

    numbers = estimated_numbers(problem)
    if not numbers:
        return None
    bands = {e.throughput_band or "mid" for e in sf.scenario.workloads.values() if e.estimate}
    planned_on = bands.pop() if len(bands) == 1 else "mixed"
    edges: dict[str, BandEdge] = {}
    for edge in EDGES:
        if edge == planned_on:
            other = plan
        else:
            other = plan_fleet(
                build_problem(at_edge(sf, edge), problem.curve),
                solver_options(sf.scenario),
                explain=False,
                **plan_options,
            )
        feasible = other.status != Status.INFEASIBLE
        edges[edge] = {
            "status": other.status,
            "fleet": _fleet(other) if feasible else {},
            "cost_per_million_tokens": other.cost_per_million_tokens if feasible else None,
            "same_fleet": feasible and _fleet(other) == _fleet(plan),
        }
    return {
        "planned_on": planned_on,
        "estimated": numbers,
        "estimated_skus": sorted({n["sku"] for n in numbers}),
        "edges": edges,
        "same_fleet_at_edges": all(v["same_fleet"] for v in edges.values()),
    }


def with_band_report(sf: ScenarioFile, problem: FleetProblem, plan: FleetPlan, **plan_options: Any) -> FleetPlan:
    """``plan`` with its ``throughput_band`` section (None when no number is estimated)."""
    if plan.status == Status.INFEASIBLE:
        return plan
    return replace(plan, throughput_band=band_report(sf, problem, plan, **plan_options))


def planned(sf: ScenarioFile, problem: FleetProblem, **plan_options: Any) -> FleetPlan:
    """``problem`` (built from ``sf``) planned, with the report of its estimated throughput's band
    edges when it uses estimates. An infeasible plan of a scenario with a ``buildout:`` section
    notes that its periods are planned by `planner buildout` (a single period reads only
    ``constraints:``)."""
    from planner.optimize.run import plan_fleet  # read at call time: tests stand in for it

    plan = with_band_report(sf, problem, plan_fleet(problem, solver_options(sf.scenario), **plan_options))
    if plan.status == Status.INFEASIBLE and sf.scenario.buildout is not None:
        note = (
            "this scenario has a `buildout:` section, which a single-period plan does not read (it plans "
            "`constraints:` on the demand as one period): plan its periods with `planner buildout`"
        )
        plan = replace(plan, notes=[note, *plan.notes])
    return plan
