r"""The single-period fleet model, built with PuLP. One ``define_*`` function per family.

Sets: SKUs ``s``, workloads ``w``, slices ``t``.

Data: ``g_s`` GPUs per unit; ``k_s`` / ``i_s`` facility kW per GPU at full load / idle;
``c_s`` $ per GPU-hour; ``e_s`` = 1 if electricity is billed on top; ``p`` $/kWh;
``q_s`` capex per GPU (NaN: rented); ``h_t`` hours of slice t, ``H = sum_t h_t``;
``D_wt`` peak and ``M_wt`` mean demand [tokens/s]; ``r_wt = M_wt / D_wt`` (0 where
``D_wt = 0``); ``theta_sw`` tokens/s per busy GPU (0: cannot serve); ``u`` utilisation cap;
``n0_s`` existing units, ``N_s`` supply limit.

Variables:
  units[s]          integer, n0_s <= units[s] <= N_s
  busy[s,w,t]       >= 0, GPUs serving w in slice t at the slice's peak (only where theta_sw > 0)
  unserved[w,t]     >= 0, peak tokens/s not served (objectives max_tokens, min_cost_per_token)

Constraints:
  capacity[s,t]       sum_w busy[s,w,t] <= u g_s units[s]
  serve_demand[w,t]   sum_s theta_sw busy[s,w,t] + unserved[w,t] = D_wt
                      (">=" in the statement of the problem; "=" gives the same fleets and cost,
                      since busy GPUs can always be reduced, and makes the dispatch exact)
  power_cap           sum_s g_s k_s units[s] <= 1000 P                           [kW]
  budget_cap          sum_s g_s c_s units[s] <= B                                [$/h]
  capex_cap           sum_{s: q_s known} g_s q_s (units[s] - n0_s) <= C            [$]

Load splits across SKUs in the same proportion at the peak and on average within a slice,
so GPUs busy on average are ``r_wt busy[s,w,t]``; with no peak data (``D = M``) this is
exactly the serve-the-curve model.

Cost over the span [$]:
  cost = sum_s g_s units[s] (c_s + e_s i_s p) H
       + sum_{s,w,t} e_s (k_s - i_s) p h_t r_wt busy[s,w,t]
Tokens served [tokens] = sum_{s,w,t} 3600 h_t r_wt theta_sw busy[s,w,t]
                       = sum_{w,t} 3600 h_t (M_wt - r_wt unserved[w,t]).

Objectives: min_cost (serve everything; unserved absent); max_tokens (lexicographic:
maximise tokens served, scaled by the LP relaxation's maximum so that the objective is near
-1 and the MIP gap applies to the tokens served; then the least cost serving at least
(1 - 1e-6) of them; the min_cost plan when everything can be served); min_cost_per_token
(minimise cost / tokens served subject to ``service_floor``: tokens served >= F, with F =
min_served_fraction x demand, default the most the caps allow; exactly, by Dinkelbach
iterations on ``cost - lambda tokens``).
"""

from __future__ import annotations

import gc
import math
from dataclasses import dataclass

import numpy as np
import pulp

from planner.optimize.problem import FleetProblem

SECONDS_PER_HOUR = 3600.0


@dataclass
class FleetModel:
    """A built PuLP model and handles on its variables, in index order."""

    problem: FleetProblem
    prob: pulp.LpProblem
    units: list[pulp.LpVariable]
    busy: dict[tuple[int, int, int], pulp.LpVariable]
    unserved: dict[tuple[int, int], pulp.LpVariable]
    variables: list[pulp.LpVariable]
    cost: pulp.LpAffineExpression
    tokens_served: pulp.LpAffineExpression
    unserved_tokens: pulp.LpAffineExpression
    build_seconds: float = 0.0


def _ratio(problem: FleetProblem) -> np.ndarray:
    c = problem.curve
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(c.peak > 0, c.mean / c.peak, 0.0)
    return r


def define_units(prob: pulp.LpProblem, problem: FleetProblem, relax: bool) -> list[pulp.LpVariable]:
    """units[s]: deployed units, integer between the existing fleet and the supply limit."""
    out = []
    for j, s in enumerate(problem.skus):
        ub = None if math.isinf(s.max_units) else float(s.max_units)
        cat = "Continuous" if relax else "Integer"
        out.append(prob.add_variable(f"units_{j}", lowBound=float(s.min_units), upBound=ub, cat=cat))
    return out


def define_busy(prob: pulp.LpProblem, problem: FleetProblem) -> dict[tuple[int, int, int], pulp.LpVariable]:
    """busy[s,w,t] >= 0 where SKU s can serve workload w."""
    theta = problem.throughput
    T = len(problem.curve.start_hours)
    busy = {}
    for j in range(len(problem.skus)):
        for k in range(len(problem.workloads)):
            if theta[j, k] > 0:
                for t in range(T):
                    busy[j, k, t] = prob.add_variable(f"busy_{j}_{k}_{t}", lowBound=0.0)
    return busy


def define_unserved(prob: pulp.LpProblem, problem: FleetProblem) -> dict[tuple[int, int], pulp.LpVariable]:
    """unserved[w,t] >= 0, at most the peak demand."""
    peak = problem.curve.peak
    return {
        (k, t): prob.add_variable(f"unserved_{k}_{t}", lowBound=0.0, upBound=float(peak[k, t]))
        for k in range(len(problem.workloads))
        for t in range(peak.shape[1])
    }


def define_capacity(prob, problem, units, busy) -> None:
    """capacity[s,t]: busy GPUs of a SKU within u x its GPUs."""
    T = len(problem.curve.start_hours)
    W = len(problem.workloads)
    rows = {}
    for j, s in enumerate(problem.skus):
        cap = -problem.max_utilization * s.gpus_per_unit
        served = [k for k in range(W) if (j, k, 0) in busy]
        if not served:
            continue
        for t in range(T):
            terms = [(busy[j, k, t], 1.0) for k in served]
            terms.append((units[j], cap))
            rows[f"capacity_{j}_{t}"] = pulp.LpConstraint(
                pulp.LpAffineExpression(terms), pulp.LpConstraintLE, f"capacity_{j}_{t}", 0.0
            )
    prob.extend(rows)


def define_serve_demand(prob, problem, busy, unserved) -> None:
    """serve_demand[w,t]: throughput of busy GPUs (+ unserved) covers the peak."""
    theta = problem.throughput
    peak = problem.curve.peak
    rows = {}
    for k in range(len(problem.workloads)):
        sources = [j for j in range(len(problem.skus)) if theta[j, k] > 0]
        coefs = [float(theta[j, k]) for j in sources]
        for t in range(peak.shape[1]):
            d = float(peak[k, t])
            if d <= 0:
                continue
            terms = [(busy[j, k, t], c) for j, c in zip(sources, coefs, strict=True)]
            if unserved:
                terms.append((unserved[k, t], 1.0))
            rows[f"serve_demand_{k}_{t}"] = pulp.LpConstraint(
                pulp.LpAffineExpression(terms), pulp.LpConstraintEQ, f"serve_demand_{k}_{t}", d
            )
    prob.extend(rows)


def define_power_cap(prob, problem, units) -> None:
    """power_cap: facility power at full load of every deployed GPU. [kW]"""
    if problem.power_cap_mw is None:
        return
    terms = [(units[j], s.gpus_per_unit * s.facility_kw_per_gpu) for j, s in enumerate(problem.skus)]
    prob.extend(
        {
            "power_cap": pulp.LpConstraint(
                pulp.LpAffineExpression(terms), pulp.LpConstraintLE, "power_cap", problem.power_cap_mw * 1000.0
            )
        }
    )


def define_budget_cap(prob, problem, units) -> None:
    """budget_cap: hourly run-rate of every deployed GPU. [$/h]"""
    if problem.budget_usd_per_hour is None:
        return
    terms = [(units[j], s.gpus_per_unit * s.cost_usd_per_gpu_hour) for j, s in enumerate(problem.skus)]
    prob.extend(
        {
            "budget_cap": pulp.LpConstraint(
                pulp.LpAffineExpression(terms), pulp.LpConstraintLE, "budget_cap", problem.budget_usd_per_hour
            )
        }
    )


def define_capex_cap(prob, problem, units) -> None:
    """capex_cap: purchase money for new units of SKUs with a capex price. [$]"""
    if problem.capex_budget_usd is None:
        return
    priced = [(j, s) for j, s in enumerate(problem.skus) if not math.isnan(s.capex_usd_per_gpu)]
    terms = [(units[j], s.gpus_per_unit * s.capex_usd_per_gpu) for j, s in priced]
    existing = sum(s.min_units * s.gpus_per_unit * s.capex_usd_per_gpu for _, s in priced)
    prob.extend(
        {
            "capex_cap": pulp.LpConstraint(
                pulp.LpAffineExpression(terms),
                pulp.LpConstraintLE,
                "capex_cap",
                problem.capex_budget_usd + existing,
            )
        }
    )


def cost_expression(problem, units, busy) -> pulp.LpAffineExpression:
    """Total cost over the span. [$]"""
    c = problem.curve
    span = float(c.slice_hours.sum())
    p = problem.electricity_usd_per_kwh
    r = _ratio(problem)
    terms = []
    for j, s in enumerate(problem.skus):
        per_gpu = s.cost_usd_per_gpu_hour + (s.facility_idle_kw_per_gpu * p if s.energy_billed else 0.0)
        terms.append((units[j], s.gpus_per_unit * per_gpu * span))
    hours = c.slice_hours
    for (j, k, t), var in busy.items():
        s = problem.skus[j]
        if s.energy_billed:
            coef = (s.facility_kw_per_gpu - s.facility_idle_kw_per_gpu) * p * float(hours[t]) * float(r[k, t])
            if coef:
                terms.append((var, coef))
    return pulp.LpAffineExpression(terms)


def tokens_expressions(problem, busy, unserved) -> tuple[pulp.LpAffineExpression, pulp.LpAffineExpression]:
    """(tokens served, tokens unserved) over the span. [tokens]

    Served tokens are written from the busy GPUs (``sum theta_sw r_wt h_t 3600 busy``), not as
    demand minus unserved: when demand is 1e8 times what fits, the difference of two huge
    numbers would be below the solver's tolerances.
    """
    c = problem.curve
    r = _ratio(problem)
    theta = problem.throughput
    hours = c.slice_hours
    served = [
        (var, float(theta[j, k] * r[k, t] * hours[t] * SECONDS_PER_HOUR))
        for (j, k, t), var in busy.items()
        if r[k, t] > 0 and hours[t] > 0
    ]
    lost = [(var, float(r[k, t] * hours[t] * SECONDS_PER_HOUR)) for (k, t), var in unserved.items()]
    return pulp.LpAffineExpression(served), pulp.LpAffineExpression(lost)


def build_model(problem: FleetProblem, *, relax: bool = False, allow_unserved: bool | None = None) -> FleetModel:
    """Build the PuLP model of ``problem``; ``relax`` makes units continuous (LP relaxation)."""
    import time

    if allow_unserved is None:
        allow_unserved = problem.objective != "min_cost"
    start = time.perf_counter()
    gc_was = gc.isenabled()
    gc.disable()
    try:
        prob = pulp.LpProblem("fleet", pulp.LpMinimize)
        units = define_units(prob, problem, relax)
        busy = define_busy(prob, problem)
        unserved = define_unserved(prob, problem) if allow_unserved else {}
        define_capacity(prob, problem, units, busy)
        define_serve_demand(prob, problem, busy, unserved)
        define_power_cap(prob, problem, units)
        define_budget_cap(prob, problem, units)
        define_capex_cap(prob, problem, units)
        cost = cost_expression(problem, units, busy)
        served, lost = tokens_expressions(problem, busy, unserved)
        prob.setObjective(cost)
    finally:
        if gc_was:
            gc.enable()
    variables = [*units, *busy.values(), *unserved.values()]
    return FleetModel(
        problem=problem,
        prob=prob,
        units=units,
        busy=busy,
        unserved=unserved,
        variables=variables,
        cost=cost,
        tokens_served=served,
        unserved_tokens=lost,
        build_seconds=time.perf_counter() - start,
    )
