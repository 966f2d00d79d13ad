"""Solve a FleetProblem for its objective, then explain the answer.

``plan_fleet`` returns a FleetPlan: the optimal fleet (within the MIP gap), what each cap
is worth (re-solves with the cap relaxed by a step, and LP-relaxation duals labelled as
such), the best single-SKU fleet, or, when nothing fits, a diagnosis (see explain.py).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pulp

from planner.errors import SolverError
from planner.optimize.aggregate import should_aggregate
from planner.optimize.formulation import build_model
from planner.optimize.plan import (
    CapUse,
    Dispatch,
    FleetPlan,
    assemble_plan,
    evaluate,
    extract_decision,
    infeasible_plan,
    violations,
)
from planner.optimize.problem import FleetProblem
from planner.optimize.solve import SolveResult, solve

DINKELBACH_MAX_ITER = 30


@dataclass
class Outcome:
    """A solved objective: decision, solver facts and timings."""

    status: str
    units: np.ndarray | None = None
    dispatch: Dispatch | None = None
    mip_gap: float = 0.0
    dual_bound: float = float("nan")
    build_s: float = 0.0
    handoff_s: float = 0.0
    solve_s: float = 0.0
    iterations: list[dict[str, Any]] = field(default_factory=list)
    explain_dispatch: Dispatch | None = None  # dispatch on the aggregated problem (aggregated mode)

    def add(self, model_build: float, res: SolveResult) -> None:
        self.build_s += model_build
        self.handoff_s += res.handoff_seconds
        self.solve_s += res.solve_seconds
        if not math.isfinite(res.mip_gap):
            self.mip_gap = float("nan")  # unknown (CBC) or no bound: reported as null
        elif not math.isnan(self.mip_gap):
            self.mip_gap = max(self.mip_gap, res.mip_gap)
        self.dual_bound = res.dual_bound


def _finish(out: Outcome, model, res: SolveResult) -> Outcome:
    out.status = res.status
    if res.ok:
        out.units, out.dispatch = extract_decision(model)
    return out


def solve_min_cost(problem: FleetProblem, *, relax: bool = False) -> Outcome:
    model = build_model(problem, relax=relax, allow_unserved=False)
    res = solve(model, mip=not relax)
    out = Outcome(res.status)
    out.add(model.build_seconds, res)
    return _finish(out, model, res)


def solve_max_tokens(problem: FleetProblem) -> Outcome:
    """Lexicographic: fewest unserved tokens, then the cheapest fleet that achieves it."""
    model = build_model(problem, allow_unserved=True)
    first = solve(model, model.unserved_tokens)
    out = Outcome(first.status)
    out.add(model.build_seconds, first)
    if not first.ok:
        return out
    best_lost = max(first.objective, 0.0)
    tol = max(1e-6 * best_lost, 1e-3 * float(problem.curve.tokens().sum()) * problem.mip_rel_gap, 1.0)
    cap = pulp.LpConstraint(model.unserved_tokens, pulp.LpConstraintLE, "max_tokens_floor", best_lost + tol)
    second = solve(model, model.cost, extra=[cap])
    out.add(0.0, second)
    out.iterations.append({"stage": "min_unserved", "unserved_tokens": best_lost})
    return _finish(out, model, second)


def solve_min_cost_per_token(problem: FleetProblem) -> Outcome:
    """Dinkelbach: with lambda the best ratio so far, minimise cost - lambda * tokens served;
    a negative optimum gives a better ratio, a zero optimum proves lambda optimal (within the gap).
    """
    start = solve_min_cost(problem)
    if start.status == "infeasible":
        start = solve_max_tokens(problem)
    out = Outcome(
        start.status, start.units, start.dispatch, start.mip_gap, start.build_s, start.handoff_s, start.solve_s
    )
    if start.units is None:
        return out
    model = build_model(problem, allow_unserved=True)
    out.build_s += model.build_seconds
    best = evaluate(problem, start.units, start.dispatch)
    statuses = [start.status]
    for i in range(DINKELBACH_MAX_ITER):
        lam = best["total_cost_usd"] / best["tokens_served"]
        # the optimum of cost - lambda tokens is near 0, where a relative gap means nothing:
        # stop on an absolute gap of rel_gap x cost, the same tolerance as the stopping test
        res = solve(model, model.cost - lam * model.tokens_served, abs_gap=problem.mip_rel_gap * best["total_cost_usd"])
        out.handoff_s += res.handoff_seconds
        out.solve_s += res.solve_seconds
        statuses.append(res.status)
        if not res.ok:
            raise SolverError(f"Dinkelbach iteration {i}: solver status {res.status}")
        units, dispatch = extract_decision(model)
        ev = evaluate(problem, units, dispatch)
        f_value = ev["total_cost_usd"] - lam * ev["tokens_served"]
        out.iterations.append({"iteration": i, "lambda_usd_per_million_tokens": lam * 1e6, "f_usd": f_value})
        if f_value >= -problem.mip_rel_gap * best["total_cost_usd"] or ev["tokens_served"] <= 0:
            break
        out.units, out.dispatch, best = units, dispatch, ev
    out.status = "optimal" if all(st == "optimal" for st in statuses) else "time_limit"
    return out


SOLVERS = {"min_cost": solve_min_cost, "max_tokens": solve_max_tokens, "min_cost_per_token": solve_min_cost_per_token}


def primary_metric(problem: FleetProblem, units, dispatch) -> float:
    """What the objective minimises, recomputed: $ (min_cost), -tokens (max_tokens), $/M tokens."""
    ev = evaluate(problem, units, dispatch)
    if problem.objective == "max_tokens":
        return -ev["tokens_served"]
    if problem.objective == "min_cost_per_token":
        return ev["cost_per_million_tokens"]
    return ev["total_cost_usd"]


def _cap_uses(problem: FleetProblem, ev: dict[str, Any]) -> list[CapUse]:
    caps = []
    if problem.power_cap_mw is not None:
        caps.append(CapUse("power_cap", "MW", problem.power_cap_mw, ev["power_kw"] / 1000.0))
    if problem.budget_usd_per_hour is not None:
        caps.append(CapUse("budget_cap", "$/h", problem.budget_usd_per_hour, ev["run_rate_usd_per_hour"]))
    if problem.capex_budget_usd is not None:
        caps.append(CapUse("capex_cap", "$", problem.capex_budget_usd, ev["capex_spend_usd"]))
    return caps


CAP_FIELD = {"power_cap": "power_cap_mw", "budget_cap": "budget_usd_per_hour", "capex_cap": "capex_budget_usd"}


def marginal_values(
    problem: FleetProblem, base_units, base_dispatch, steps: dict[str, float]
) -> tuple[list[CapUse], float]:
    """Relax each cap by its step and re-solve; report what that saves. Returns (caps, seconds)."""
    start = time.perf_counter()
    ev = evaluate(problem, base_units, base_dispatch)
    base_cost = ev["total_cost_usd"]
    base_metric = primary_metric(problem, base_units, base_dispatch)
    duals = lp_relaxation_duals(problem)
    out = []
    for cap in _cap_uses(problem, ev):
        step = steps[cap.name]
        relaxed = replace(problem, **{CAP_FIELD[cap.name]: cap.limit + step})
        res = SOLVERS[problem.objective](relaxed)
        if res.units is None:
            out.append(replace(cap, step=step, lp_relaxation_dual=duals.get(cap.name)))
            continue
        new_metric = primary_metric(relaxed, res.units, res.dispatch)
        new_ev = evaluate(relaxed, res.units, res.dispatch)
        improvement = base_metric - new_metric
        tolerance = problem.mip_rel_gap * abs(base_metric) * 2 + 1e-9
        years = ev["span_hours"] / 8760.0
        dual = duals.get(cap.name)
        common = {
            "binding": bool(improvement > tolerance),
            "step": step,
            "lp_relaxation_dual": None if dual is None else dual / years,
        }
        if problem.objective == "min_cost":
            saving = base_cost - new_ev["total_cost_usd"]
            out.append(
                replace(
                    cap,
                    **common,
                    saving_usd=saving,
                    saving_usd_per_year=saving / years / step if cap.name != "capex_cap" else saving / years,
                    saving_usd_per_million_tokens=saving / ev["tokens_served"] * 1e6 if ev["tokens_served"] > 0 else None,
                )
            )
        elif problem.objective == "max_tokens":
            out.append(replace(cap, **common, extra_tokens=new_ev["tokens_served"] - ev["tokens_served"]))
        else:
            out.append(replace(cap, **common, saving_usd_per_million_tokens=improvement))
    return out, time.perf_counter() - start


def lp_relaxation_duals(problem: FleetProblem) -> dict[str, float]:
    """Duals of the caps in the LP relaxation (units continuous). [$ over the span per MW, per $/h, per $]

    Only meaningful as LP-relaxation values: the duals of a MILP are zero by construction.
    """
    if problem.objective != "min_cost":
        return {}
    model = build_model(problem, relax=True, allow_unserved=False)
    res = solve(model, mip=False, duals=True)
    if res.status != "optimal":
        return {}
    out = {}
    for name in ("power_cap", "budget_cap", "capex_cap"):
        if name in res.row_duals:
            value = abs(res.row_duals[name])
            out[name] = value * 1000.0 if name == "power_cap" else value
    return out


def single_sku_fleets(problem: FleetProblem) -> list[dict[str, Any]]:
    """Best fleet buying only one SKU (others kept at their existing units), for each SKU."""
    rows = []
    for j, s in enumerate(problem.skus):
        if not s.throughput:
            continue
        skus = tuple(x if x.id == s.id else replace(x, max_units=float(x.min_units)) for x in problem.skus)
        alt = replace(problem, skus=skus)
        res = SOLVERS[problem.objective](alt)
        if res.units is None:
            rows.append({"sku": s.id, "status": res.status, "total_cost_usd": None, "cost_per_million_tokens": None})
            continue
        ev = evaluate(alt, res.units, res.dispatch)
        rows.append(
            {
                "sku": s.id,
                "status": res.status,
                "units": int(res.units[j]),
                "total_cost_usd": ev["total_cost_usd"],
                "tokens_served": ev["tokens_served"],
                "cost_per_million_tokens": ev["cost_per_million_tokens"],
                "power_mw": ev["power_kw"] / 1000.0,
            }
        )
    return rows


def best_single_sku(objective: str, rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The best single-SKU fleet by the objective's own measure (fleets serving nothing excluded)."""
    feasible = [r for r in rows if r.get("total_cost_usd") is not None and r.get("tokens_served", 0) > 0]
    if not feasible:
        return None
    keys = {
        "min_cost": lambda r: r["total_cost_usd"],
        "max_tokens": lambda r: (-r["tokens_served"], r["total_cost_usd"]),
        "min_cost_per_token": lambda r: r["cost_per_million_tokens"],
    }
    return min(feasible, key=keys[objective])


def _with_full_resolution_use(problem: FleetProblem, caps: list[CapUse], out: Outcome) -> list[CapUse]:
    """Cap use recomputed on the full-resolution fleet (marginals may come from the aggregated model)."""
    used = {c.name: c.used for c in _cap_uses(problem, evaluate(problem, out.units, out.dispatch))}
    return [replace(c, used=used.get(c.name, c.used)) for c in caps]


def _solve_aggregated(problem: FleetProblem) -> tuple[Outcome, dict[str, Any], FleetProblem]:
    """Aggregate, solve, dispatch the fleet at full resolution; refine until the bound is met."""
    from planner.optimize.aggregate import (
        DEFAULT_GROUPS,
        MAX_REFINEMENTS,
        TARGET_ERROR,
        aggregate,
        dispatch_full_resolution,
        summary,
    )

    start = time.perf_counter()
    groups = min(DEFAULT_GROUPS, max(4, len(problem.curve.start_hours) // 8))
    total = Outcome("infeasible")
    refinements = 0
    for refinements in range(MAX_REFINEMENTS + 1):  # noqa: B007 (reported after the loop)
        agg = aggregate(problem, groups)
        reduced = replace(problem, curve=agg.curve)
        out = solve_min_cost(reduced)
        total.build_s += out.build_s
        total.handoff_s += out.handoff_s
        total.solve_s += out.solve_s
        total.mip_gap = out.mip_gap
        if out.units is None:
            total.status = out.status
            # diagnose on the capacity-setting slices with their real hours
            c = problem.curve
            idx = agg.capacity_slices
            cap_curve = type(c)(c.workloads, c.start_hours[idx], c.slice_hours[idx], c.mean[:, idx], c.peak[:, idx])
            info = {
                "mode": "aggregated",
                "original_slices": len(c.start_hours),
                "seconds": time.perf_counter() - start,
                "summary": "infeasible on the aggregated model, a relaxation: so infeasible at full resolution",
            }
            return total, info, replace(problem, curve=cap_curve)
        dispatch = dispatch_full_resolution(problem, out.units, agg)
        if dispatch is None:
            raise SolverError("the aggregated fleet could not be dispatched at full resolution (numerical trouble)")
        upper = evaluate(problem, out.units, dispatch)["total_cost_usd"]
        lower = min(out.dual_bound, upper) if math.isfinite(out.dual_bound) else upper * (1 - out.mip_gap)
        error = (upper - lower) / upper if upper > 0 else 0.0
        if error <= TARGET_ERROR or agg.groups == 0 or agg.groups >= len(problem.curve.start_hours):
            break
        groups *= 4
    total.status = out.status
    total.units = out.units
    total.dispatch = dispatch
    total.explain_dispatch = out.dispatch
    info = summary(problem, agg, lower, upper, time.perf_counter() - start, refinements)
    return total, info, reduced


def plan_fleet(
    problem: FleetProblem,
    *,
    explain: bool = True,
    power_step_mw: float = 1.0,
    budget_step_usd_per_hour: float | None = None,
    capex_step_usd: float | None = None,
) -> FleetPlan:
    """Solve ``problem`` for its objective and explain the result."""
    from planner.optimize.explain import diagnose

    t0 = time.perf_counter()
    aggregation_info = None
    explained = problem
    if should_aggregate(problem, problem.aggregation):
        out, aggregation_info, explained = _solve_aggregated(problem)
    else:
        out = SOLVERS[problem.objective](problem)
    timings = {"build_s": out.build_s, "handoff_s": out.handoff_s, "solve_s": out.solve_s}
    if aggregation_info is not None:
        timings["aggregation_s"] = aggregation_info["seconds"]
    solver = {
        "backend": problem.backend,
        "status": out.status,
        "mip_rel_gap": problem.mip_rel_gap,
        "mip_gap": out.mip_gap,
        "time_limit_s": problem.time_limit_s,
    }
    if out.units is None:
        reason = diagnose(explained)
        if aggregation_info is not None:
            n = len(explained.curve.start_hours)
            reason["scope"] = f"the {n} capacity-setting peak slices (time aggregation)"
            reason["summary"] = (
                f"measured on the {n} capacity-setting peak slices of the aggregated model, which is a relaxation, "
                f"so the full problem is infeasible too: {reason['summary']}"
            )
        timings["explain_s"] = time.perf_counter() - t0 - sum(timings.values())
        timings["total_s"] = time.perf_counter() - t0
        return infeasible_plan(problem, reason, solver, timings)

    broken = violations(problem, out.units, out.dispatch)
    if broken:
        raise SolverError("the solver's answer breaks constraints beyond tolerance: " + "; ".join(broken))
    caps: list[CapUse] = _cap_uses(problem, evaluate(problem, out.units, out.dispatch))
    single: list[dict[str, Any]] = []
    saving = None
    if explain:
        steps = {
            "power_cap": power_step_mw,
            "budget_cap": budget_step_usd_per_hour or max(1.0, round((problem.budget_usd_per_hour or 0) * 0.01, 2)),
            "capex_cap": capex_step_usd or max(1.0, round((problem.capex_budget_usd or 0) * 0.01, 0)),
        }
        caps, marginal_s = marginal_values(explained, out.units, out.explain_dispatch or out.dispatch, steps)
        caps = _with_full_resolution_use(problem, caps, out)
        t1 = time.perf_counter()
        single = single_sku_fleets(explained)
        best = best_single_sku(problem.objective, single)
        if best is not None and problem.objective == "min_cost":
            mix_cost = evaluate(explained, out.units, out.explain_dispatch or out.dispatch)["total_cost_usd"]
            saving = best["total_cost_usd"] - mix_cost
        timings["marginal_s"] = marginal_s
        timings["single_sku_s"] = time.perf_counter() - t1
    binding = [c.name for c in caps if c.binding]
    for j, s in enumerate(problem.skus):
        if math.isfinite(s.max_units) and out.units[j] >= s.max_units and s.max_units > s.min_units:
            binding.append(f"max_units[{s.id}]")
    timings["total_s"] = time.perf_counter() - t0
    status = "optimal" if out.status == "optimal" else out.status
    return assemble_plan(
        problem,
        out.units,
        out.dispatch,
        status,
        caps=caps,
        binding=binding,
        single_sku=single,
        mix_saving_usd=saving,
        solver=solver,
        timings=timings,
        iterations=out.iterations,
        aggregation=aggregation_info or {"mode": "exact", "original_slices": len(problem.curve.start_hours)},
    )
