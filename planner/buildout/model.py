r"""The multi-period buildout model, built with PuLP. One ``define_*`` function per family.

Sets: SKUs ``s``, periods ``p`` (a window of the horizon: all of it under perfect
foresight, one period at a time when myopic), workloads ``w``, slices ``t`` of period p's
representative curve.

Data: ``g_s`` GPUs per unit; ``k_s`` / ``i_s`` facility kW per GPU at full load / idle;
``theta_sw`` tokens/s per busy GPU; ``u`` utilisation cap; ``N_s`` supply limit [units];
``a_sp`` = 1 if s can be bought in p; ``q_sp`` purchase price [$/GPU] (NaN: none);
``L_s`` life [periods]; ``A_sv = q_sv CRF(r, life_s)`` annuity of a unit bought in v
[$/GPU-year]; ``f_sp`` cost per installed GPU-hour (owned: fixed opex / 8760 + idle energy;
hourly: the $/GPU-hour price + idle energy if billed) [$/GPU-h]; ``x_s`` busy-energy
increment (``(k_s - i_s) price`` if energy is billed, else 0) [$/GPU-h]; ``H_p`` period hours;
``h_pt`` slice hours of the representative curve and ``m_p = H_p / sum_t h_pt`` its weight;
``D_pwt`` / ``M_pwt`` peak / mean demand and ``r_pwt = M/D``; ``P_p`` power cap [MW];
``C_p`` capex budget per period, ``C`` over the horizon [$]; ``delta_p = (1+r)^-(years to the
start of p)``; ``E_sp`` units of the initial cohorts still inside their life in p, ``E_s``
units installed before the first period. Decisions before the window (myopic) are data.

Variables:
  buy[s,p]          integer >= 0; 0 where a_sp = 0; units bought at the start of p
  units[s,p]        integer, 0 <= units[s,p] <= N_s; units installed during p
  busy[s,w,p,t]     >= 0, GPUs serving w at the slice's peak (where theta_sw > 0)
  unserved[w,p,t]   >= 0 (diagnosis only: the elastic model)

Constraints:
  fleet_balance[s,p]  units[s,p] <= units[s,p-1] + buy[s,p]          (units[s,-1] = E_s)
                      retirements[s,p] = units[s,p-1] + buy[s,p] - units[s,p] >= 0; a retired
                      unit never returns
  vintage_life[s,p]   units[s,p] <= E_sp + sum_{v = p-L_s+1..p} buy[s,v]
                      (end-of-life retirement; "=" when early retirement is off). With these
                      two rows the oldest units retire first and nothing outlives its life.
  capacity[s,p,t]     sum_w busy[s,w,p,t] <= u g_s units[s,p]
  serve_demand[w,p,t] sum_s theta_sw busy[s,w,p,t] (+ unserved[w,p,t]) = D_pwt
  power_cap[p]        sum_s g_s k_s units[s,p] <= 1000 P_p                     [kW]
  capex_cap[p]        sum_{s: q_sp known} g_s q_sp buy[s,p] <= C_p              [$]
  capex_total         sum_{s,p} g_s q_sp buy[s,p] <= C (less what history spent) [$]

Cost of period p [$] (reported undiscounted; the objective discounts it by delta_p):
  cost_p = sum_s g_s units[s,p] f_sp H_p
         + sum_{s,w,t} x_s m_p h_pt r_pwt busy[s,w,p,t]
         + capital_p
  capital_p (owned SKUs) = sum_s g_s sum_{v <= p < v + L_s} A_sv buy[s,v] H_p / 8760
                           (+ the initial cohorts' annuities while inside their life: a constant)
End-of-horizon treatment ``annuities`` (default): a purchase is charged only the annuities that
fall inside the horizon (inside the window, when myopic); the unpaid rest is the value handed
to the next horizon. ``purchase``: capital_p = sum_s g_s q_sp buy[s,p] (full price when bought,
no residual value). Capital is committed: retiring a unit early stops its opex and energy, not
its annuity. Objective: minimise sum_p delta_p cost_p.

With one period, hourly pricing, no early retirement and the period as long as the curve,
this is exactly the single-period model of ``planner.optimize.formulation``.
"""

from __future__ import annotations

import gc
import math
import time
from dataclasses import dataclass, field

import numpy as np
import pulp

from planner.buildout.problem import BuildoutProblem
from planner.economics import HOURS_PER_YEAR


@dataclass(frozen=True)
class History:
    """Decisions fixed before the window (myopic runs)."""

    buy: np.ndarray  # (S, P) units bought; only columns before the window are read
    units: np.ndarray  # (S,) units installed in the period before the window
    capex_spent_usd: float  # purchases before the window [$]


@dataclass
class BuildoutModel:
    """A built PuLP model and handles on its variables (what ``solve_highs`` reads)."""

    problem: BuildoutProblem
    window: range
    prob: pulp.LpProblem
    buy: dict[tuple[int, int], pulp.LpVariable]
    units: dict[tuple[int, int], pulp.LpVariable]
    busy: dict[tuple[int, int, int, int], pulp.LpVariable]
    unserved: dict[tuple[int, int, int], pulp.LpVariable]
    variables: list[pulp.LpVariable]
    cost: pulp.LpAffineExpression  # discounted cost of the window [$]
    unserved_tokens: pulp.LpAffineExpression  # [tokens]
    build_seconds: float = 0.0
    rows: list[str] = field(default_factory=list)


def ratio(curve) -> np.ndarray:
    """(W, T) mean / peak (0 where the peak is 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(curve.peak > 0, curve.mean / curve.peak, 0.0)


def _before(problem: BuildoutProblem, window: range, history: History | None) -> tuple[np.ndarray, np.ndarray]:
    """(buy history (S, P), units installed just before the window (S,))."""
    S, P = len(problem.skus), len(problem.periods)
    if history is None or window.start == 0:
        return np.zeros((S, P)), problem.existing_units()
    return history.buy, history.units


def define_buy(prob, problem: BuildoutProblem, window: range, relax: bool) -> dict[tuple[int, int], pulp.LpVariable]:
    """buy[s,p]: units bought at the start of p; fixed at 0 outside the SKU's window."""
    cat = "Continuous" if relax else "Integer"
    out = {}
    for j, b in enumerate(problem.skus):
        for p in window:
            ub = 0.0 if not b.available[p] else (None if math.isinf(b.sku.max_units) else float(b.sku.max_units))
            out[j, p] = prob.add_variable(f"buy_{j}_{p}", lowBound=0.0, upBound=ub, cat=cat)
    return out


def define_units(prob, problem: BuildoutProblem, window: range, relax: bool) -> dict[tuple[int, int], pulp.LpVariable]:
    """units[s,p]: units installed during p, within the supply limit."""
    cat = "Continuous" if relax else "Integer"
    out = {}
    for j, b in enumerate(problem.skus):
        ub = None if math.isinf(b.sku.max_units) else float(b.sku.max_units)
        for p in window:
            out[j, p] = prob.add_variable(f"units_{j}_{p}", lowBound=0.0, upBound=ub, cat=cat)
    return out


def define_busy(prob, problem: BuildoutProblem, window: range) -> dict[tuple[int, int, int, int], pulp.LpVariable]:
    """busy[s,w,p,t] >= 0 where SKU s can serve workload w."""
    theta = problem.throughput
    out = {}
    for p in window:
        T = len(problem.periods[p].curve.start_hours)
        for j in range(len(problem.skus)):
            for k in range(len(problem.workloads)):
                if theta[j, k] > 0:
                    for t in range(T):
                        out[j, k, p, t] = prob.add_variable(f"busy_{j}_{k}_{p}_{t}", lowBound=0.0)
    return out


def define_unserved(prob, problem: BuildoutProblem, window: range) -> dict[tuple[int, int, int], pulp.LpVariable]:
    """unserved[w,p,t] >= 0, at most the peak demand."""
    out = {}
    for p in window:
        peak = problem.periods[p].curve.peak
        for k in range(len(problem.workloads)):
            for t in range(peak.shape[1]):
                out[k, p, t] = prob.add_variable(f"unserved_{k}_{p}_{t}", lowBound=0.0, upBound=float(peak[k, t]))
    return out


def define_fleet_balance(prob, problem, window, units, buy, history) -> None:
    """fleet_balance[s,p]: the fleet grows only by purchases (retired units never return)."""
    _, before = _before(problem, window, history)
    rows = {}
    for j in range(len(problem.skus)):
        for p in window:
            terms = [(units[j, p], 1.0), (buy[j, p], -1.0)]
            rhs = 0.0
            if p - 1 in window:
                terms.append((units[j, p - 1], -1.0))
            else:
                rhs = float(before[j])
            name = f"fleet_balance_{j}_{p}"
            rows[name] = pulp.LpConstraint(pulp.LpAffineExpression(terms), pulp.LpConstraintLE, name, rhs)
    prob.extend(rows)


def define_vintage_life(prob, problem, window, units, buy, history) -> None:
    """vintage_life[s,p]: installed units are at most those still inside their life."""
    past, _ = _before(problem, window, history)
    alive0 = problem.existing_alive()
    sense = pulp.LpConstraintLE if problem.early_retirement else pulp.LpConstraintEQ
    rows = {}
    for j, b in enumerate(problem.skus):
        for p in window:
            terms = [(units[j, p], 1.0)]
            rhs = float(alive0[j, p])
            for v in range(max(0, p - b.life_periods + 1), p + 1):
                if v in window:
                    terms.append((buy[j, v], -1.0))
                else:
                    rhs += float(past[j, v])
            name = f"vintage_life_{j}_{p}"
            rows[name] = pulp.LpConstraint(pulp.LpAffineExpression(terms), sense, name, rhs)
    prob.extend(rows)


def define_capacity(prob, problem, window, units, busy) -> None:
    """capacity[s,p,t]: busy GPUs of a SKU within u x its installed GPUs."""
    W = len(problem.workloads)
    rows = {}
    for j, b in enumerate(problem.skus):
        cap = -problem.max_utilization * b.sku.gpus_per_unit
        for p in window:
            served = [k for k in range(W) if (j, k, p, 0) in busy]
            if not served:
                continue
            for t in range(len(problem.periods[p].curve.start_hours)):
                terms = [(busy[j, k, p, t], 1.0) for k in served]
                terms.append((units[j, p], cap))
                name = f"capacity_{j}_{p}_{t}"
                rows[name] = pulp.LpConstraint(pulp.LpAffineExpression(terms), pulp.LpConstraintLE, name, 0.0)
    prob.extend(rows)


def define_serve_demand(prob, problem, window, busy, unserved) -> None:
    """serve_demand[w,p,t]: throughput of busy GPUs (+ unserved) covers the peak."""
    theta = problem.throughput
    rows = {}
    for p in window:
        peak = problem.periods[p].curve.peak
        for k in range(len(problem.workloads)):
            sources = [j for j in range(len(problem.skus)) if theta[j, k] > 0]
            for t in range(peak.shape[1]):
                d = float(peak[k, t])
                if d <= 0:
                    continue
                terms = [(busy[j, k, p, t], float(theta[j, k])) for j in sources]
                if unserved:
                    terms.append((unserved[k, p, t], 1.0))
                name = f"serve_demand_{k}_{p}_{t}"
                rows[name] = pulp.LpConstraint(pulp.LpAffineExpression(terms), pulp.LpConstraintEQ, name, d)
    prob.extend(rows)


def define_power_cap(prob, problem, window, units, caps_off) -> None:
    """power_cap[p]: facility power at full load of every installed GPU. [kW]"""
    rows = {}
    for p in window:
        cap = problem.periods[p].power_cap_mw
        name = f"power_cap_{p}"
        if cap is None or name in caps_off:
            continue
        terms = [(units[j, p], b.sku.gpus_per_unit * b.sku.facility_kw_per_gpu) for j, b in enumerate(problem.skus)]
        rows[name] = pulp.LpConstraint(pulp.LpAffineExpression(terms), pulp.LpConstraintLE, name, cap * 1000.0)
    prob.extend(rows)


def capex_terms(problem, p: int, buy) -> list[tuple[pulp.LpVariable, float]]:
    """Purchase money of period p as (buy variable, $ per unit) pairs."""
    out = []
    for j, b in enumerate(problem.skus):
        q = b.capex_usd_per_gpu[p]
        if b.available[p] and not math.isnan(q):
            out.append((buy[j, p], b.sku.gpus_per_unit * q))
    return out


def define_capex_cap(prob, problem, window, buy, history, caps_off) -> None:
    """capex_cap[p] per period and capex_total over the horizon. [$]"""
    rows = {}
    for p in window:
        cap = problem.periods[p].capex_budget_usd
        name = f"capex_cap_{p}"
        if cap is None or name in caps_off:
            continue
        rows[name] = pulp.LpConstraint(
            pulp.LpAffineExpression(capex_terms(problem, p, buy)), pulp.LpConstraintLE, name, cap
        )
    total = problem.total_capex_budget_usd
    if total is not None and "capex_total" not in caps_off:
        spent = history.capex_spent_usd if history is not None and window.start > 0 else 0.0
        terms = [pair for p in window for pair in capex_terms(problem, p, buy)]
        rows["capex_total"] = pulp.LpConstraint(
            pulp.LpAffineExpression(terms), pulp.LpConstraintLE, "capex_total", total - spent
        )
    prob.extend(rows)


def cost_terms(problem, window, units, buy, busy) -> list[tuple[pulp.LpVariable, float]]:
    """The window's discounted cost as (variable, $ per unit of it) pairs; constants left out."""
    price = problem.electricity_usd_per_kwh
    terms: list[tuple[pulp.LpVariable, float]] = []
    for p in window:
        per = problem.periods[p]
        delta = per.discount_factor
        for j, b in enumerate(problem.skus):
            g = b.sku.gpus_per_unit
            terms.append((units[j, p], delta * g * b.fleet_usd_per_gpu_hour(p, price) * per.hours))
            if b.pricing != "owned" or not b.available[p]:
                continue
            if problem.end_of_horizon == "purchase":
                terms.append((buy[j, p], delta * g * b.capex_usd_per_gpu[p]))
                continue
            annuity = g * b.annuity_usd_per_gpu_year[p] / HOURS_PER_YEAR
            charged = [q for q in range(p, min(p + b.life_periods, len(problem.periods))) if q in window]
            coef = annuity * sum(problem.periods[q].discount_factor * problem.periods[q].hours for q in charged)
            if coef:
                terms.append((buy[j, p], coef))
        r = ratio(per.curve)
        hours = per.curve.slice_hours
        for j, b in enumerate(problem.skus):
            x = b.busy_usd_per_gpu_hour(price)
            if not x:
                continue
            for k in range(len(problem.workloads)):
                if (j, k, p, 0) not in busy:
                    continue
                for t in range(len(hours)):
                    coef = delta * x * per.weight * float(hours[t]) * float(r[k, t])
                    if coef:
                        terms.append((busy[j, k, p, t], coef))
    return terms


def build_model(
    problem: BuildoutProblem,
    window: range | None = None,
    history: History | None = None,
    *,
    relax: bool = False,
    allow_unserved: bool = False,
    caps_off: frozenset[str] = frozenset(),
) -> BuildoutModel:
    """Build the model of ``window`` (default: the whole horizon); ``caps_off`` names rows left out."""
    start = time.perf_counter()
    window = window if window is not None else range(len(problem.periods))
    gc_was = gc.isenabled()
    gc.disable()
    try:
        prob = pulp.LpProblem("buildout", pulp.LpMinimize)
        buy = define_buy(prob, problem, window, relax)
        units = define_units(prob, problem, window, relax)
        busy = define_busy(prob, problem, window)
        unserved = define_unserved(prob, problem, window) if allow_unserved else {}
        define_fleet_balance(prob, problem, window, units, buy, history)
        define_vintage_life(prob, problem, window, units, buy, history)
        define_capacity(prob, problem, window, units, busy)
        define_serve_demand(prob, problem, window, busy, unserved)
        define_power_cap(prob, problem, window, units, caps_off)
        define_capex_cap(prob, problem, window, buy, history, caps_off)
        cost = pulp.LpAffineExpression(cost_terms(problem, window, units, buy, busy))
        lost = []
        for (k, p, t), var in unserved.items():
            curve = problem.periods[p].curve
            r = ratio(curve)
            lost.append((var, float(r[k, t] * curve.slice_hours[t]) * problem.periods[p].weight * 3600.0))
        prob.setObjective(cost)
    finally:
        if gc_was:
            gc.enable()
    variables = [*buy.values(), *units.values(), *busy.values(), *unserved.values()]
    return BuildoutModel(
        problem=problem,
        window=window,
        prob=prob,
        buy=buy,
        units=units,
        busy=busy,
        unserved=unserved,
        variables=variables,
        cost=cost,
        unserved_tokens=pulp.LpAffineExpression(lost),
        build_seconds=time.perf_counter() - start,
    )
