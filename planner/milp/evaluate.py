"""A decision's figures and violations, recomputed from units and dispatch alone (no solver objective)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from planner.milp.formulation import FEASIBILITY_RTOL, CostBreakdown, FleetModel, evaluate_period, single_period
from planner.milp.formulation import violations as check_violations
from planner.milp.problem import FleetProblem


@dataclass(frozen=True)
class Dispatch:
    """busy GPUs per SKU, workload and slice at the slice's peak. (S, W, T)"""

    busy: np.ndarray
    unserved: np.ndarray  # (W, T) peak tokens/s not served


@dataclass(frozen=True, kw_only=True)
class PlanFigures:
    """Every figure of a single-period decision, recomputed from its units and dispatch."""

    column_cost_usd: np.ndarray  # (S,) each column's cost over the span [$]
    burst_cost_usd: float  # on-demand busy GPU-hours x their rate [$]
    decommission_cost_usd: float  # existing units decommissioned [$]
    cost_breakdown_usd: CostBreakdown  # total_cost_usd by name (the parts sum to it) [$]
    busy_gpu_hours: np.ndarray | None  # (S,) average busy GPUs x hours [GPU-h]
    units: np.ndarray  # (S,) [units]
    gpus: np.ndarray  # (S,) [GPUs]
    fixed_cost_usd: float  # hourly price or fixed opex [$]
    energy_cost_usd: float  # electricity billed [$]
    total_cost_usd: float  # [$]
    tokens_demanded: float  # [tokens]
    tokens_served: float  # [tokens]
    unserved_tokens: dict[str, float]  # per workload [tokens]
    cost_per_million_tokens: float  # NaN when nothing is served [$/M tokens]
    power_kw: float  # facility at full load [kW]
    run_rate_usd_per_hour: float  # what the run-rate budget counts [$/h]
    capex_spend_usd: float  # purchases [$]
    tokens_by_sku: np.ndarray  # (S,) [tokens]
    utilization: np.ndarray  # (S,) average busy share [1]
    span_hours: float  # hours the curve spans [h]


def extract_decision(model: FleetModel) -> tuple[np.ndarray, Dispatch]:
    """Units per SKU (rounded integers) and dispatch arrays from solved variables."""
    p = model.problem
    units = np.array([round(v.varValue or 0.0) for v in model.units], dtype=float)
    S, W, T = len(p.skus), len(p.workloads), len(p.curve.start_hours)
    busy = np.zeros((S, W, T))
    for (j, k, t), var in model.busy.items():
        busy[j, k, t] = max(var.varValue or 0.0, 0.0)
    unserved = np.zeros((W, T))
    for (k, t), var in model.unserved.items():
        unserved[k, t] = max(var.varValue or 0.0, 0.0)
    busy[busy < 1e-9] = 0.0  # solver noise, not busy GPUs
    for j, s in enumerate(p.skus):
        if s.continuous:  # on-demand: what the busiest slice uses (its units cost nothing while idle)
            units[j] = float(busy[j].sum(axis=0).max(initial=0.0)) / (s.gpus_per_unit * s.utilization_limit(1.0))
    return units, Dispatch(busy, unserved)


def purchases(problem: FleetProblem, units) -> np.ndarray:
    """(S,) units bought: units - existing, none where existing units were decommissioned instead."""
    existing = np.array([s.min_units for s in problem.skus], dtype=float)
    bought = np.asarray(units, dtype=float) - existing
    retiring = np.array([s.decommission_usd_per_unit is not None for s in problem.skus])
    return np.where(retiring, np.maximum(bought, 0.0), bought)


def evaluate(problem: FleetProblem, units: np.ndarray, dispatch: Dispatch) -> PlanFigures:
    """Every reported figure, computed from units and dispatch alone (no solver objective): the one
    evaluation (``planner.milp.formulation.evaluate_period``) of the plan as one period."""
    units = np.asarray(units, dtype=float)
    f = evaluate_period(
        single_period(problem), 0, purchases(problem, units)[:, None], units[:, None], dispatch.busy, dispatch.unserved
    )
    g = np.array([s.gpus_per_unit for s in problem.skus], dtype=float)
    served = f.tokens_served
    total = f.cost_usd
    per_column = column_costs(problem, units, f)
    return PlanFigures(
        column_cost_usd=per_column,
        burst_cost_usd=f.burst_usd,
        decommission_cost_usd=f.decommission_usd,
        cost_breakdown_usd=f.breakdown(),
        busy_gpu_hours=f.busy_gpu_hours,
        units=units,
        gpus=g * units,
        fixed_cost_usd=f.fixed_usd,
        energy_cost_usd=f.energy_usd,
        total_cost_usd=total,
        tokens_demanded=f.tokens_demanded,
        tokens_served=served,
        unserved_tokens={w: float(f.unserved_tokens[k]) for k, w in enumerate(problem.workloads)},
        cost_per_million_tokens=total / served * 1e6 if served > 0 else float("nan"),
        power_kw=f.power_kw,
        run_rate_usd_per_hour=f.run_rate_usd_per_hour,
        capex_spend_usd=f.capex_usd,
        tokens_by_sku=f.tokens_by_sku,
        utilization=f.utilization,
        span_hours=float(problem.curve.slice_hours.sum()),
    )


def column_costs(problem: FleetProblem, units: np.ndarray, f) -> np.ndarray:
    """(S,) each column's cost over the span: installed GPU-hours at its fixed rate, its busy GPU-hours
    at its busy rate, and its decommissioning (the parts of ``evaluate``'s total). [$]"""
    fixed, busy = problem.gpu_hour_costs()
    g = np.array([s.gpus_per_unit for s in problem.skus], dtype=float)
    span = float(problem.curve.slice_hours.sum())
    out = g * units * fixed * span + busy * f.busy_gpu_hours
    for j, s in enumerate(problem.skus):
        if s.decommission_usd_per_unit:
            out[j] += s.decommission_usd_per_unit * max(s.min_units - units[j], 0.0)
    return out


def violations(
    problem: FleetProblem, units: np.ndarray, dispatch: Dispatch, rtol: float = FEASIBILITY_RTOL
) -> list[str]:
    """Constraints the decision breaks by more than ``rtol`` (relative), recomputed from scratch:
    the one check of ``planner.milp.formulation.violations`` on the plan as one period."""
    return check_violations(
        single_period(problem),
        purchases(problem, units)[:, None],
        np.asarray(units, dtype=float)[:, None],
        (dispatch.busy,),
        (dispatch.unserved,),
        rtol=rtol,
    )
