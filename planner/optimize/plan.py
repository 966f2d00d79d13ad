"""FleetPlan: what the optimiser decided, every figure recomputed from the decision itself."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from planner.optimize.formulation import FleetModel, _ratio, evaluate_period, single_period
from planner.optimize.formulation import violations as check_violations
from planner.optimize.problem import FleetProblem
from planner.optimize.reason import Reason
from planner.optimize.status import Status


@dataclass(frozen=True)
class SkuResult:
    sku: str
    family: str
    chosen: bool
    units: int | None  # None when infeasible
    gpus: int | None
    gpus_per_unit: int
    existing_units: int
    new_units: int | None
    max_units: float | None
    power_mw: float | None  # facility, full load [MW]
    cost_usd_per_hour: float | None  # run-rate [$/h]
    token_share: float | None  # share of tokens served [1]
    mean_utilization: float | None  # average busy share of its GPUs [1]
    throughput: dict[str, float]  # tokens/s per GPU by workload


@dataclass(frozen=True)
class CapUse:
    name: str  # power_cap | budget_cap | capex_cap
    unit: str
    limit: float
    used: float
    binding: bool | None = None
    step: float | None = None
    saving_usd: float | None = None  # cost saved over the span by relaxing the cap by `step`
    saving_usd_per_year: float | None = None  # the same, per year of operation, per unit of step
    saving_usd_per_million_tokens: float | None = None
    extra_tokens: float | None = None  # max_tokens: tokens gained over the span by relaxing the cap
    lp_relaxation_dual: float | None = None  # $ per year per unit of cap (per MW, per $/h, per $), LP relaxation only


@dataclass(frozen=True)
class Dispatch:
    """busy GPUs per SKU, workload and slice at the slice's peak. (S, W, T)"""

    busy: np.ndarray
    unserved: np.ndarray  # (W, T) peak tokens/s not served


@dataclass(frozen=True)
class FleetPlan:
    scenario: str
    objective: str
    status: Status
    fleet: list[SkuResult]
    total_cost_usd: float
    fixed_cost_usd: float
    energy_cost_usd: float
    tokens_demanded: float
    tokens_served: float
    unserved_tokens: dict[str, float]
    cost_per_million_tokens: float
    power_mw: float
    power_cap_mw: float | None
    run_rate_usd_per_hour: float
    budget_usd_per_hour: float | None
    capex_spend_usd: float
    capex_budget_usd: float | None
    span_hours: float
    slices: int
    caps: list[CapUse] = field(default_factory=list)
    binding: list[str] = field(default_factory=list)
    single_sku: list[dict[str, Any]] = field(default_factory=list)
    mix_saving_usd: float | None = None
    solver: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    reason: Reason | None = None
    aggregation: dict[str, Any] | None = None
    iterations: list[dict[str, Any]] = field(default_factory=list)
    scenario_sha256: str = ""  # content hash of the scenario planned (overrides applied)
    dispatch: Dispatch | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (dispatch arrays excluded; see dispatch_rows)."""
        d = asdict(self)
        d.pop("dispatch")
        for f in d["fleet"]:
            if f["max_units"] is not None and math.isinf(f["max_units"]):
                f["max_units"] = None
        return d


def infeasible_plan(problem: FleetProblem, reason: Reason, solver: dict[str, Any], timings) -> FleetPlan:
    c = problem.curve
    fleet = [
        SkuResult(  # no fleet was chosen: units unknown (null), existing units as given
            s.id,
            s.family,
            False,
            None,
            None,
            s.gpus_per_unit,
            s.min_units,
            None,
            None if math.isinf(s.max_units) else s.max_units,
            None,
            None,
            None,
            None,
            dict(s.throughput),
        )
        for s in problem.skus
    ]
    return FleetPlan(
        scenario=problem.name,
        objective=problem.objective,
        status=Status.INFEASIBLE,
        fleet=fleet,
        total_cost_usd=float("nan"),
        fixed_cost_usd=float("nan"),
        energy_cost_usd=float("nan"),
        tokens_demanded=float(c.tokens().sum()),
        tokens_served=0.0,
        unserved_tokens={},
        cost_per_million_tokens=float("nan"),
        power_mw=float("nan"),
        power_cap_mw=problem.power_cap_mw,
        run_rate_usd_per_hour=float("nan"),
        budget_usd_per_hour=problem.budget_usd_per_hour,
        capex_spend_usd=float("nan"),
        capex_budget_usd=problem.capex_budget_usd,
        span_hours=c.span_hours,
        slices=len(c.start_hours),
        solver=solver,
        timings=timings,
        notes=list(problem.notes),
        reason=reason,
        scenario_sha256=problem.scenario_sha256,
    )


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
    return units, Dispatch(busy, unserved)


def evaluate(problem: FleetProblem, units: np.ndarray, dispatch: Dispatch) -> dict[str, Any]:
    """Every reported figure, computed from units and dispatch alone (no solver objective): the one
    evaluation (``planner.optimize.formulation.evaluate_period``) of the plan as one period."""
    existing = np.array([s.min_units for s in problem.skus], dtype=float)
    units = np.asarray(units, dtype=float)
    f = evaluate_period(
        single_period(problem), 0, (units - existing)[:, None], units[:, None], dispatch.busy, dispatch.unserved
    )
    g = np.array([s.gpus_per_unit for s in problem.skus], dtype=float)
    served = f.tokens_served
    total = f.cost_usd
    return {
        "units": units,
        "gpus": g * units,
        "fixed_cost_usd": f.fixed_usd,
        "energy_cost_usd": f.energy_usd,
        "total_cost_usd": total,
        "tokens_demanded": f.tokens_demanded,
        "tokens_served": served,
        "unserved_tokens": {w: float(f.unserved_tokens[k]) for k, w in enumerate(problem.workloads)},
        "cost_per_million_tokens": total / served * 1e6 if served > 0 else float("nan"),
        "power_kw": f.power_kw,
        "run_rate_usd_per_hour": f.run_rate_usd_per_hour,
        "capex_spend_usd": f.capex_usd,
        "tokens_by_sku": f.tokens_by_sku,
        "utilization": f.utilization,
        "span_hours": float(problem.curve.slice_hours.sum()),
    }


def violations(problem: FleetProblem, units: np.ndarray, dispatch: Dispatch, rtol: float = 1e-6) -> list[str]:
    """Constraints the decision breaks by more than ``rtol`` (relative), recomputed from scratch:
    the one check of ``planner.optimize.formulation.violations`` on the plan as one period."""
    existing = np.array([s.min_units for s in problem.skus], dtype=float)
    return check_violations(
        single_period(problem),
        (units - existing)[:, None],
        np.asarray(units, dtype=float)[:, None],
        (dispatch.busy,),
        (dispatch.unserved,),
        rtol=rtol,
    )


def assemble_plan(problem: FleetProblem, units: np.ndarray, dispatch: Dispatch, status: str, **extra) -> FleetPlan:
    ev = evaluate(problem, units, dispatch)
    served = ev["tokens_served"]
    fleet = []
    for j, s in enumerate(problem.skus):
        n = int(units[j])
        fleet.append(
            SkuResult(
                sku=s.id,
                family=s.family,
                chosen=n > 0,
                units=n,
                gpus=n * s.gpus_per_unit,
                gpus_per_unit=s.gpus_per_unit,
                existing_units=s.min_units,
                new_units=n - s.min_units,
                max_units=None if math.isinf(s.max_units) else s.max_units,
                power_mw=n * s.gpus_per_unit * s.facility_kw_per_gpu / 1000.0,
                cost_usd_per_hour=n * s.gpus_per_unit * s.cost_usd_per_gpu_hour,
                token_share=float(ev["tokens_by_sku"][j] / served) if served > 0 else 0.0,
                mean_utilization=float(ev["utilization"][j]),
                throughput=dict(s.throughput),
            )
        )
    c = problem.curve
    return FleetPlan(
        scenario=problem.name,
        objective=problem.objective,
        status=Status(status),
        fleet=fleet,
        total_cost_usd=ev["total_cost_usd"],
        fixed_cost_usd=ev["fixed_cost_usd"],
        energy_cost_usd=ev["energy_cost_usd"],
        tokens_demanded=ev["tokens_demanded"],
        tokens_served=served,
        unserved_tokens=ev["unserved_tokens"],
        cost_per_million_tokens=ev["cost_per_million_tokens"],
        power_mw=ev["power_kw"] / 1000.0,
        power_cap_mw=problem.power_cap_mw,
        run_rate_usd_per_hour=ev["run_rate_usd_per_hour"],
        budget_usd_per_hour=problem.budget_usd_per_hour,
        capex_spend_usd=ev["capex_spend_usd"],
        capex_budget_usd=problem.capex_budget_usd,
        span_hours=ev["span_hours"],
        slices=len(c.start_hours),
        notes=list(problem.notes),
        dispatch=dispatch,
        scenario_sha256=problem.scenario_sha256,
        **extra,
    )


def dispatch_rows(problem: FleetProblem, plan: FleetPlan) -> list[dict[str, Any]]:
    """Long-form dispatch: one row per slice, workload and SKU that serves it."""
    if plan.dispatch is None:
        return []
    c = problem.curve
    r = _ratio(problem)
    theta = problem.throughput
    rows = []
    for t in range(len(c.start_hours)):
        for k, w in enumerate(problem.workloads):
            for j, s in enumerate(problem.skus):
                if theta[j, k] <= 0:
                    continue
                b = float(plan.dispatch.busy[j, k, t])
                rows.append(
                    {
                        "hour": float(c.start_hours[t]),
                        "slice_hours": float(c.slice_hours[t]),
                        "workload": w,
                        "sku": s.id,
                        "busy_gpus_at_peak": b,
                        "busy_gpus_mean": b * float(r[k, t]),
                        "tokens_per_s_at_peak": b * float(theta[j, k]),
                        "demand_peak_tokens_per_s": float(c.peak[k, t]),
                        "demand_mean_tokens_per_s": float(c.mean[k, t]),
                        "unserved_peak_tokens_per_s": float(plan.dispatch.unserved[k, t]),
                    }
                )
    return rows
