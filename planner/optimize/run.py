"""Solve a FleetProblem for its objective, then explain the answer.

``plan_fleet`` returns a FleetPlan: the optimal fleet (within the MIP gap), what each cap
is worth (re-solves with the cap relaxed by a step, and LP-relaxation duals labelled as
such), the best single-SKU fleet, or, when nothing fits, a diagnosis (see explain.py).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pulp

import planner.progress as progress
from planner.errors import SolverError
from planner.milp.aggregate import AggregationReport, dispatch_fleet, should_aggregate
from planner.milp.evaluate import Dispatch, PlanFigures, evaluate, extract_decision, purchases, violations
from planner.milp.formulation import build_fleet_model, caps, single_period
from planner.milp.problem import FleetProblem
from planner.milp.solve import SolveResult, SolverOptions, solve, solver_info
from planner.milp.status import Status
from planner.optimize.plan import (
    CapUse,
    FleetPlan,
    Iteration,
    SingleSkuFleet,
    assemble_plan,
    infeasible_plan,
)

DINKELBACH_MAX_ITER = 30
DEFAULT_TOKEN_GROUPS = 96  # first grouping of slices for max_tokens and min_cost_per_token


@dataclass(kw_only=True)
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
    iterations: list[Iteration] = field(default_factory=list)
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

    def add_times(self, other: Outcome) -> None:
        """Fold in the build and solve times of an earlier stage."""
        self.build_s += other.build_s
        self.handoff_s += other.handoff_s
        self.solve_s += other.solve_s


def _finish(out: Outcome, model, res: SolveResult) -> Outcome:
    out.status = res.status
    if res.ok:
        out.units, out.dispatch = extract_decision(model)
    return out


def solve_min_cost(problem: FleetProblem, options: SolverOptions, *, relax: bool = False) -> Outcome:
    model = build_fleet_model(problem, relax=relax, allow_unserved=False)
    res = solve(model, options, mip=not relax)
    out = Outcome(status=res.status)
    out.add(model.build_seconds, res)
    return _finish(out, model, res)


SERVICE_FLOOR_RTOL = 1e-6  # the second stage may give up this share of the first stage's tokens [1]


def token_tolerance(problem: FleetProblem, options: SolverOptions) -> float:
    """Token figures at or below this are solver noise (the relative MIP gap of the demand). [tokens]"""
    return max(options.mip_rel_gap * float(problem.curve.tokens().sum()), 1.0)


def _served_floor_row(model, tokens: float, name: str) -> pulp.LpConstraint:
    """tokens served >= ``tokens``, scaled by them (coefficients and right-hand side near 1). [1]"""
    return pulp.LpConstraint(model.tokens_served * (1.0 / tokens), pulp.LpConstraintGE, name, 1.0)


def _most_tokens(model, out: Outcome, options: SolverOptions) -> float | None:
    """First stage: the most tokens the caps allow [tokens], or None if the solve found nothing.

    Solved as "minimise minus tokens served / the LP relaxation's most" (values near -1): the
    relative MIP gap then applies to the tokens served, and the objective stays well above the
    solver's tolerances even when demand is 1e8 times what fits.
    """
    bound = solve(model, options, model.tokens_served * -1.0, mip=False)  # the same model, integrality dropped
    out.add(0.0, bound)
    if not bound.ok:
        out.status = bound.status
        return None
    most = -bound.objective
    if most <= 0:
        out.status = "optimal"
        return 0.0
    first = solve(model, options, model.tokens_served * (-1.0 / most))
    out.add(0.0, first)
    out.status = first.status
    if not first.ok:
        return None
    served = float(pulp.value(model.tokens_served) or 0.0)
    out.iterations.append({"stage": "max_served", "tokens_served": served, "lp_relaxation_tokens": most})
    return served


def solve_max_tokens(problem: FleetProblem, options: SolverOptions) -> Outcome:
    """Lexicographic: the most tokens the caps allow, then the cheapest fleet that serves them.

    When the first stage leaves no more unserved than the solver's tolerance, the demand is
    servable: the plan is the min_cost plan (nothing unserved, no tolerance noise).
    """
    model = build_fleet_model(problem, allow_unserved=True)
    out = Outcome(status="infeasible", build_s=model.build_seconds)
    served = _most_tokens(model, out, options)
    if served is None:
        return out
    demanded = float(problem.curve.tokens().sum())
    if demanded - served <= token_tolerance(problem, options):
        everything = solve_min_cost(problem, options)
        if everything.units is not None:
            everything.iterations = out.iterations + everything.iterations
            everything.add_times(out)
            return everything
    floors = [] if served <= 0 else [_served_floor_row(model, served * (1.0 - SERVICE_FLOOR_RTOL), "max_tokens_floor")]
    second = solve(model, options, model.cost, extra=floors)
    out.add(0.0, second)
    _finish(out, model, second)
    if out.units is not None:
        # the floor lets the second stage give up 1e-6 of the tokens; the fleet's own dispatch gives none up
        out.dispatch = dispatch_fleet(problem, out.units, options, allow_unserved=True) or out.dispatch
    return out


def service_floor_tokens(problem: FleetProblem, options: SolverOptions) -> tuple[float | None, Outcome | None]:
    """min_cost_per_token's floor [tokens] and, when it is the most the caps allow, that plan.

    ``constraints.min_served_fraction`` x demand when set; otherwise the tokens the max_tokens
    plan serves (so min_cost_per_token never serves less than max_tokens), and the whole demand
    when that plan serves it all. (None, outcome) when no fleet serves anything.
    """
    demanded = float(problem.curve.tokens().sum())
    if problem.min_served_fraction is not None:
        return problem.min_served_fraction * demanded, None
    most = solve_max_tokens(problem, options)
    if most.units is None:
        return None, most
    served = evaluate(problem, most.units, most.dispatch).tokens_served
    if demanded - served <= token_tolerance(problem, options) and not most.dispatch.unserved.any():
        return demanded, most
    return served * (1.0 - SERVICE_FLOOR_RTOL), most


def solve_min_cost_per_token(problem: FleetProblem, options: SolverOptions) -> Outcome:
    """Dinkelbach on the least cost per token served, subject to the service floor.

    With lambda the best ratio so far, minimise cost - lambda x tokens served over fleets that
    serve at least the floor; a negative optimum gives a better ratio, a zero optimum (within
    the gap) proves lambda optimal. The start is the cheapest fleet that meets the floor (the
    max_tokens plan when the floor is what the caps allow). A floor of the whole demand is
    min_cost: the tokens are fixed, so the cheapest fleet has the lowest cost per token.
    """
    floor, most = service_floor_tokens(problem, options)
    demanded = float(problem.curve.tokens().sum())
    if floor is None:
        return most
    if floor >= demanded:
        whole = most if most is not None else solve_min_cost(problem, options)
        whole.iterations = [*whole.iterations, {"stage": "service_floor", "tokens": demanded}]
        return whole
    model = build_fleet_model(problem, allow_unserved=True)
    out = Outcome(status="infeasible", build_s=model.build_seconds)
    row = _served_floor_row(model, floor, "service_floor")
    statuses = []
    if most is not None:
        out.add_times(most)
        out.iterations += most.iterations
        out.units, out.dispatch, out.mip_gap = most.units, most.dispatch, most.mip_gap
        statuses.append(most.status)
    else:
        start = solve(model, options, model.cost, extra=[row])
        out.add(0.0, start)
        statuses.append(start.status)
        if not start.ok:
            out.status = start.status
            return out
        out.units, out.dispatch = extract_decision(model)
    out.iterations.append({"stage": "service_floor", "tokens": floor})
    best = evaluate(problem, out.units, out.dispatch)
    for i in range(DINKELBACH_MAX_ITER):
        if best.tokens_served <= 0:
            break
        lam = best.total_cost_usd / best.tokens_served
        # the optimum of cost - lambda tokens is near 0, where a relative gap means nothing:
        # stop on an absolute gap of rel_gap x cost, the same tolerance as the stopping test
        res = solve(
            model,
            options,
            model.cost - lam * model.tokens_served,
            extra=[row],
            abs_gap=options.mip_rel_gap * best.total_cost_usd,
        )
        out.add(0.0, res)
        statuses.append(res.status)
        if not res.ok:
            raise SolverError(f"Dinkelbach iteration {i}: solver status {res.status}")
        units, dispatch = extract_decision(model)
        ev = evaluate(problem, units, dispatch)
        f_value = ev.total_cost_usd - lam * ev.tokens_served
        out.iterations.append({"iteration": i, "lambda_usd_per_million_tokens": lam * 1e6, "f_usd": f_value})
        if f_value >= -options.mip_rel_gap * best.total_cost_usd or ev.tokens_served <= 0:
            break
        out.units, out.dispatch, best = units, dispatch, ev
    out.status = Status.OPTIMAL if all(st == Status.OPTIMAL for st in statuses) else Status.TIME_LIMIT
    return out


SOLVERS = {"min_cost": solve_min_cost, "max_tokens": solve_max_tokens, "min_cost_per_token": solve_min_cost_per_token}


def _cap_uses(problem: FleetProblem, ev: PlanFigures) -> list[CapUse]:
    """Each cap of the plan's cap table with what the fleet uses of it."""
    units = np.asarray(ev.units, dtype=float)[:, None]
    buy = purchases(problem, units[:, 0])[:, None]
    return [
        CapUse(cap.name, cap.unit, cap.limit, cap.use(units, buy), kind=cap.kind, site=cap.site, field=cap.field)
        for cap in caps(single_period(problem))
    ]


def _relaxed(problem: FleetProblem, cap: str, limit: float) -> FleetProblem:
    """The problem with cap ``cap``'s limit set to ``limit`` (the field the cap table names)."""
    return problem.with_cap(next(c.field for c in caps(single_period(problem)) if c.name == cap), limit)


def cap_kind(problem: FleetProblem, name: str) -> str:
    """The kind of the plan's cap ``name`` (power_cap, site_power, rack_positions, ...)."""
    return next(c.kind for c in caps(single_period(problem)) if c.name == name)


def marginal_values(
    problem: FleetProblem, options: SolverOptions, base_units, base_dispatch, steps: dict[str, float]
) -> tuple[list[CapUse], float]:
    """Relax each cap by its step and re-solve; report what that saves. Returns (caps, seconds)."""
    start = time.perf_counter()
    ev = evaluate(problem, base_units, base_dispatch)
    base_cost = ev.total_cost_usd
    lp = lp_relaxation(problem, options)
    duals = {} if lp is None else lp.duals
    years = ev.span_hours / 8760.0
    # what relaxing a cap gains, with anything within the solver's tolerance taken as zero
    cost_tol = 2 * options.mip_rel_gap * abs(base_cost) + 1e-9
    out = []
    for cap in _cap_uses(problem, ev):
        step = steps.get(cap.name) or steps[cap_kind(problem, cap.name)]  # a cap's own step, else its kind's
        dual = duals.get(cap.name)
        # min_cost: when the LP bound of the relaxed problem leaves no saving beyond the tolerance,
        # the re-solve could only report 0: skip it (a supply cap also moves column bounds: always solved)
        bound = None if lp is None or cap.kind == "supply" else lp.bound_when_relaxed(cap.name, step)
        if bound is not None and base_cost - bound <= cost_tol:
            gain = {"binding": False, **_savings(0.0, cap.name, step, years, ev.tokens_served)}
            out.append(replace(cap, **gain, step=step, lp_relaxation_dual=None if dual is None else dual / years))
            continue
        relaxed = _relaxed(problem, cap.name, cap.limit + step)
        res = SOLVERS[problem.objective](relaxed, options)
        if res.units is None:
            out.append(replace(cap, step=step, lp_relaxation_dual=None if dual is None else dual / years))
            continue
        new_ev = evaluate(relaxed, res.units, res.dispatch)
        saving = _beyond(base_cost - new_ev.total_cost_usd, cost_tol)
        extra = _beyond(new_ev.tokens_served - ev.tokens_served, token_tolerance(problem, options))
        if problem.objective == "min_cost_per_token":
            base_ratio, new_ratio = ev.cost_per_million_tokens, new_ev.cost_per_million_tokens
            lower = _beyond(base_ratio - new_ratio, 2 * options.mip_rel_gap * abs(base_ratio) + 1e-12)
            gain = {"binding": lower > 0, "saving_usd_per_million_tokens": lower}
        elif problem.objective == "max_tokens":
            # lexicographic: more tokens, or as many for less money
            gain = {"binding": extra > 0 or saving > 0, "extra_tokens": extra}
            if extra == 0 and saving > 0:
                gain |= _savings(saving, cap.name, step, years, ev.tokens_served)
        else:
            gain = {"binding": saving > 0, **_savings(saving, cap.name, step, years, ev.tokens_served)}
        out.append(replace(cap, **gain, step=step, lp_relaxation_dual=None if dual is None else dual / years))
    return out, time.perf_counter() - start


def _beyond(value: float, tolerance: float) -> float:
    """``value`` if it exceeds ``tolerance``, else 0 (solver noise is not a finding)."""
    return float(value) if value > tolerance else 0.0


def _savings(saving: float, cap: str, step: float, years: float, tokens: float) -> dict[str, float | None]:
    """A cap's saving over the span, per year (per unit of step, except capex), per million tokens."""
    return {
        "saving_usd": saving,
        "saving_usd_per_year": saving / years / step if not cap.startswith("capex_cap") else saving / years,
        "saving_usd_per_million_tokens": saving / tokens * 1e6 if tokens > 0 else None,
    }


@dataclass(frozen=True, kw_only=True)
class LpRelaxation:
    """The LP relaxation (units continuous) of a min_cost plan: its optimum and the caps' duals."""

    objective_usd: float  # [$ over the span]; a lower bound on every fleet's cost
    duals: dict[str, float]  # cap name -> |dual| [$ over the span per cap unit: MW, $/h, $, racks, units]

    def bound_when_relaxed(self, cap: str, step: float) -> float | None:
        """A lower bound on the cost once cap ``cap`` is raised by ``step`` [$], or None if unknown.

        The LP optimum is convex in a row's limit and the dual is its slope, so raising the limit
        by ``step`` lowers the LP optimum by at most ``dual x step``; the MILP optimum is above it.
        """
        dual = self.duals.get(cap)
        return None if dual is None else self.objective_usd - dual * step


def lp_relaxation(problem: FleetProblem, options: SolverOptions) -> LpRelaxation | None:
    """The LP relaxation of a min_cost problem with its caps' duals; None for other objectives or if
    it does not solve to optimality.

    Only meaningful as LP-relaxation values: the duals of a MILP are zero by construction.
    """
    if problem.objective != "min_cost":
        return None
    model = build_fleet_model(problem, relax=True, allow_unserved=False)
    rows = model.period_model.cap_rows  # cap name -> its row's solver label (planner.milp.names)
    res = solve(model, options, mip=False, duals=frozenset(rows.values()))
    if res.status != Status.OPTIMAL:
        return None
    duals = {
        cap.name: abs(res.row_duals[rows[cap.name]]) * cap.row_scale  # rows are in unit x row_scale
        for cap in model.caps
        if rows.get(cap.name) in res.row_duals
    }
    return LpRelaxation(objective_usd=res.objective, duals=duals)


def lp_relaxation_duals(problem: FleetProblem, options: SolverOptions) -> dict[str, float]:
    """Duals of the caps in the LP relaxation (units continuous). [$ over the span per MW, per $/h, per $]"""
    lp = lp_relaxation(problem, options)
    return {} if lp is None else lp.duals


def single_sku_fleets(problem: FleetProblem, options: SolverOptions) -> list[SingleSkuFleet]:
    """Best fleet buying only one SKU (others kept at their existing units), for each SKU."""
    rows: list[SingleSkuFleet] = []
    # a placed SKU is all its columns (sites and procurement kinds); otherwise one column each
    candidates: dict[str, list[int]] = {}
    for j, s in enumerate(problem.skus):
        if s.throughput:
            candidates.setdefault(s.base_id if s.procurement is not None else s.id, []).append(j)
    for sku_id, cols in candidates.items():
        # the other SKUs keep their existing units; a column with none is left out of the model
        # (units and busy GPUs all 0: the same optimum from a model a fraction of the size)
        kept = [j for j, x in enumerate(problem.skus) if j in cols or x.min_units > 0]
        skus = tuple(
            problem.skus[j] if j in cols else replace(problem.skus[j], max_units=float(problem.skus[j].min_units))
            for j in kept
        )
        alt = replace(problem, skus=skus)
        res = SOLVERS[problem.objective](alt, options)
        if res.units is None:
            rows.append({"sku": sku_id, "status": res.status, "total_cost_usd": None, "cost_per_million_tokens": None})
            continue
        ev = evaluate(alt, res.units, res.dispatch)
        total = float(sum(res.units[i] for i, j in enumerate(kept) if j in cols))
        rows.append(
            {
                "sku": sku_id,
                "status": res.status,
                "units": int(round(total)) if total == round(total) else total,
                "total_cost_usd": ev.total_cost_usd,
                "tokens_served": ev.tokens_served,
                "cost_per_million_tokens": ev.cost_per_million_tokens,
                "power_mw": ev.power_kw / 1000.0,
            }
        )
    return rows


def best_single_sku(objective: str, rows: list[SingleSkuFleet]) -> SingleSkuFleet | None:
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


def _solve_aggregated(problem: FleetProblem, options: SolverOptions) -> tuple[Outcome, AggregationReport, FleetProblem]:
    """Aggregate, solve, dispatch the fleet at full resolution; refine until the bound is met."""
    from planner.milp.aggregate import (
        DEFAULT_GROUPS,
        MAX_REFINEMENTS,
        TARGET_ERROR,
        aggregate,
        dispatch_full_resolution,
        group_gaps,
        refine,
        summary,
    )

    start = time.perf_counter()
    groups = min(DEFAULT_GROUPS, max(4, len(problem.curve.start_hours) // 8))
    total = Outcome(status="infeasible")
    refinements = 0
    agg = aggregate(problem, groups)
    for refinements in progress.track(  # noqa: B007 (reported after the loop)
        range(MAX_REFINEMENTS + 1), "time aggregation: solve, check the bound, refine"
    ):
        reduced = replace(problem, curve=agg.curve)
        out = solve_min_cost(reduced, options)
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
            info: AggregationReport = {
                "mode": "aggregated",
                "original_slices": len(c.start_hours),
                "seconds": time.perf_counter() - start,
                "summary": "infeasible on the aggregated model, a relaxation: so infeasible at full resolution",
            }
            return total, info, replace(problem, curve=cap_curve)
        dispatch = dispatch_full_resolution(problem, out.units, agg, options)
        if dispatch is None:
            raise SolverError("the aggregated fleet could not be dispatched at full resolution (numerical trouble)")
        upper = evaluate(problem, out.units, dispatch).total_cost_usd
        lower = min(out.dual_bound, upper) if math.isfinite(out.dual_bound) else upper * (1 - out.mip_gap)
        error = (upper - lower) / upper if upper > 0 else 0.0
        if error <= TARGET_ERROR or agg.groups == 0 or refinements == MAX_REFINEMENTS:
            break
        # split the groups where the fleet's full-resolution cost exceeds its aggregated cost most
        finer = refine(problem.curve, agg, group_gaps(problem, agg, out.dispatch, dispatch))
        if finer is None:  # every group is one distinct slice, or the rest of the error is the MIP gap
            break
        agg = finer
    total.status = out.status
    total.units = out.units
    total.dispatch = dispatch
    total.explain_dispatch = out.dispatch
    info = summary(problem, agg, lower, upper, time.perf_counter() - start, refinements)
    return total, info, reduced


def _solve_aggregated_tokens(
    problem: FleetProblem, options: SolverOptions
) -> tuple[Outcome, AggregationReport, FleetProblem]:
    """max_tokens and min_cost_per_token on aggregated time, with a certified bound.

    A servable scenario (the aggregated min_cost plan exists) is answered by that plan: it is
    max_tokens' answer, and min_cost_per_token's under the default floor. Otherwise the slices
    are grouped by ``aggregate_tokens`` (a relaxation: its optimum bounds the exact one), the
    fleet found is dispatched at full resolution (a feasible point), and the groups are refined
    until the two are within the target.
    """
    start = time.perf_counter()
    everything = problem.min_served_fraction is not None and problem.min_served_fraction >= 1.0
    if problem.objective == "max_tokens" or problem.min_served_fraction is None or everything:
        out, info, explained = _solve_aggregated(replace(problem, objective="min_cost"), options)
        if out.units is not None:
            info["summary"] = "everything is served: the min_cost plan; " + info["summary"]
            return out, info, replace(explained, objective=problem.objective)
        if everything:  # a floor of the whole demand that the caps cannot serve
            return out, info, replace(explained, objective=problem.objective)
    if problem.objective == "max_tokens":
        return _refine_tokens(problem, options, start)
    most, info, reduced = _refine_tokens(replace(problem, objective="max_tokens"), options, start)
    if most.units is None:
        return most, info, replace(reduced, objective=problem.objective)
    if problem.min_served_fraction is None:
        return _ratio_at_most_tokens(problem, options, most, info, reduced, start)
    out, info, reduced = _refine_tokens(problem, options, start, fallback=most)
    out.add_times(most)
    return out, info, reduced


def _ratio_at_most_tokens(
    problem: FleetProblem, options: SolverOptions, most: Outcome, info: AggregationReport, reduced, start: float
):
    """min_cost_per_token under the default floor (what the max_tokens plan serves), aggregated.

    Every fleet meeting the floor F serves at most S_up tokens (max_tokens' certified upper
    bound) and costs at least C_lo, the aggregated (relaxed) least cost of serving F; so its
    cost per token is at least C_lo / S_up. The max_tokens plan meets the floor at full
    resolution: its cost per token is the upper bound, and the plan.
    """
    full = evaluate(problem, most.units, most.dispatch)
    floor = full.tokens_served * (1.0 - SERVICE_FLOOR_RTOL)
    upper = full.total_cost_usd / full.tokens_served
    ratio = replace(reduced, objective="min_cost_per_token", min_served_fraction=None)
    cost_low = -math.inf
    for relax in (False, True):  # the MILP's bound; if it cannot give one in time, the LP relaxation's
        model = build_fleet_model(ratio, relax=relax, allow_unserved=True)
        try:
            res = solve(
                model, options, model.cost, extra=[_served_floor_row(model, floor, "service_floor")], mip=not relax
            )
        except SolverError:
            continue
        most.add(model.build_seconds, res)
        if res.ok:
            cost_low = res.dual_bound if math.isfinite(res.dual_bound) else res.objective * (1 - options.mip_rel_gap)
            break
    lower = cost_low / info["upper_bound_tokens"]
    most.iterations = [*most.iterations, {"stage": "service_floor", "tokens": floor}]
    most.explain_dispatch = dispatch_fleet(ratio, most.units, options, allow_unserved=True)
    info = _token_info(
        replace(problem, objective="min_cost_per_token"), ratio, (lower, upper), start, info["refinements"]
    )
    return most, info, ratio


def _refine_tokens(
    problem: FleetProblem, options: SolverOptions, start: float, fallback: Outcome | None = None
) -> tuple[Outcome, AggregationReport, FleetProblem]:
    """Aggregate, solve the objective, dispatch at full resolution, refine until the bound holds.

    Bounds: max_tokens, the most tokens [tokens] (the aggregated optimum within its gap is an
    upper bound, the fleet's full-resolution tokens a lower); min_cost_per_token, the cost per
    token [$/token] (the aggregated Dinkelbach ratio less its gap a lower bound, the fleet's
    full-resolution ratio an upper one, if that fleet meets the floor; else ``fallback``).
    """
    from planner.milp.aggregate import MAX_REFINEMENTS, TARGET_ERROR, aggregate_tokens

    T = len(problem.curve.start_hours)
    demanded = float(problem.curve.tokens().sum())
    groups = min(DEFAULT_TOKEN_GROUPS, max(4, T // 8))
    total = Outcome(status="infeasible")
    best: tuple[float, np.ndarray, Dispatch, str] | None = None  # (upper, units, dispatch, status)
    lower = -math.inf
    for refinements in progress.track(  # noqa: B007 (reported after the loop)
        range(MAX_REFINEMENTS + 1), "time aggregation: solve, check the bound, refine"
    ):
        agg = aggregate_tokens(problem, groups)
        reduced = replace(problem, curve=agg.curve)
        out = SOLVERS[problem.objective](reduced, options)
        total.add_times(out)
        total.mip_gap = out.mip_gap
        total.iterations = out.iterations
        if out.units is None:
            if best is None and fallback is None:
                total.status = out.status
                return total, _token_info(problem, reduced, "infeasible", start, refinements), reduced
            break
        dispatch = dispatch_fleet(problem, out.units, options, allow_unserved=True)
        if dispatch is None:
            raise SolverError("the aggregated fleet could not be dispatched at full resolution (numerical trouble)")
        full = evaluate(problem, out.units, dispatch)
        gap = options.mip_rel_gap
        if problem.objective == "max_tokens":
            most = max(it.get("tokens_served", 0.0) for it in out.iterations if it.get("stage") == "max_served")
            lower = max(lower, -most * (1 + gap) - SERVICE_FLOOR_RTOL * most)  # minus the most tokens
            upper = -full.tokens_served
        else:
            ev = evaluate(reduced, out.units, out.dispatch)
            lam = ev.total_cost_usd / ev.tokens_served
            floor = problem.min_served_fraction * demanded
            lower = max(lower, lam - 2 * gap * ev.total_cost_usd / floor)
            units, dispatch, full = _meet_floor(problem, options, reduced, out, dispatch, full, floor, total)
            meets = full.tokens_served >= floor * (1 - 1e-9)
            upper = full.total_cost_usd / full.tokens_served if meets else math.inf
            out = replace(out, units=units) if units is not out.units else out
        if best is None or upper < best[0]:
            best = (upper, out.units, dispatch, out.status)
        if _relative(best[0], lower) <= TARGET_ERROR or groups >= T:
            break
        groups *= 4
    if (best is None or not math.isfinite(best[0])) and fallback is not None:
        full = evaluate(problem, fallback.units, fallback.dispatch)
        best = (full.total_cost_usd / full.tokens_served, fallback.units, fallback.dispatch, fallback.status)
    total.status = best[3]
    total.units, total.dispatch = best[1], best[2]
    total.explain_dispatch = out.dispatch if out.units is not None else None
    info = _token_info(problem, reduced, (lower, best[0]), start, refinements)
    return total, info, reduced


FLOOR_CORRECTIONS = 3  # re-solves that raise the aggregated floor until the fleet meets the real one


def _meet_floor(
    problem,
    options: SolverOptions,
    reduced,
    out: Outcome,
    dispatch: Dispatch,
    full: PlanFigures,
    floor: float,
    total,
):
    """A fleet of the aggregated model that serves the floor at full resolution.

    The aggregated model counts at least the tokens a fleet serves, so its fleet may fall short
    of the floor at full resolution. Raise the aggregated floor by the shortfall (1 % more) and
    re-solve, a few times; returns (units, full-resolution dispatch, its evaluation).
    """
    demanded = float(problem.curve.tokens().sum())
    raised = floor
    units = out.units
    for _ in range(FLOOR_CORRECTIONS):
        short = floor - full.tokens_served
        if short <= floor * 1e-9:
            break
        raised = min(raised + 1.01 * short, demanded)
        again = solve_min_cost_per_token(replace(reduced, min_served_fraction=raised / demanded), options)
        total.add_times(again)
        if again.units is None:
            break
        d = dispatch_fleet(problem, again.units, options, allow_unserved=True)
        if d is None:
            break
        units, dispatch, full = again.units, d, evaluate(problem, again.units, d)
    return units, dispatch, full


def _relative(upper: float, lower: float) -> float:
    """(upper - lower) / |upper|: the certified relative error of a minimisation. [1]"""
    if not math.isfinite(upper):
        return math.inf
    return max(upper - lower, 0.0) / abs(upper) if upper else 0.0


def _token_info(problem: FleetProblem, reduced: FleetProblem, bounds, start: float, rounds: int) -> AggregationReport:
    """The ``aggregation`` section for a token-counting objective (``reduced``: the grouped problem)."""
    T = len(problem.curve.start_hours)
    groups = len(reduced.curve.start_hours)
    info: AggregationReport = {
        "mode": "aggregated",
        "original_slices": T,
        "model_slices": groups,
        "capacity_slices": 0,
        "energy_groups": groups,
        "refinements": rounds,
        "seconds": time.perf_counter() - start,
    }
    if bounds == "infeasible":
        info["summary"] = (
            f"infeasible on the aggregated model ({T} slices -> {groups} groups), a relaxation: so infeasible at full resolution"
        )
        return info
    lower, upper = bounds
    error = _relative(upper, lower)
    if problem.objective == "max_tokens":
        info |= {"lower_bound_tokens": -upper, "upper_bound_tokens": -lower}
        what = "tokens served within {:.3%} of the exact maximum"
    else:
        info |= {"lower_bound_usd_per_million_tokens": lower * 1e6, "upper_bound_usd_per_million_tokens": upper * 1e6}
        what = "cost per token within {:.3%} of the exact optimum"
    info["error_bound"] = error
    info["summary"] = f"{T} slices -> {groups} groups (mean, and the largest mean/peak ratio, per group); " + (
        what.format(error) + " (certified bound)"
        if math.isfinite(error)
        else "no fleet of the aggregated model meets the floor at full resolution"
    )
    return info


def plan_fleet(
    problem: FleetProblem,
    options: SolverOptions,
    *,
    explain: bool = True,
    power_step_mw: float = 1.0,
    budget_step_usd_per_hour: float | None = None,
    capex_step_usd: float | None = None,
) -> FleetPlan:
    """Solve ``problem`` for its objective with ``options`` and explain the result."""
    from planner.optimize.explain import diagnose

    t0 = time.perf_counter()
    aggregation_info = None
    explained = problem
    if should_aggregate(problem, problem.aggregation):
        aggregated = _solve_aggregated if problem.objective == "min_cost" else _solve_aggregated_tokens
        out, aggregation_info, explained = aggregated(problem, options)
    else:
        with progress.task(f"plan: solving ({len(problem.curve.start_hours)} slices, {problem.objective})"):
            out = SOLVERS[problem.objective](problem, options)
    timings = {"build_s": out.build_s, "handoff_s": out.handoff_s, "solve_s": out.solve_s}
    if aggregation_info is not None:
        timings["aggregation_s"] = aggregation_info["seconds"]
    solver = solver_info(options, out.status, out.mip_gap)
    if out.units is None:
        with progress.task("plan: infeasible; diagnosing which caps and how much"):
            reason = diagnose(explained, options)
        if aggregation_info is not None:
            n = len(explained.curve.start_hours)
            reason = replace(
                reason,
                scope=f"the {n} capacity-setting peak slices (time aggregation)",
                summary=f"measured on the {n} capacity-setting peak slices of the aggregated model, which is a "
                f"relaxation, so the full problem is infeasible too: {reason.summary}",
            )
        timings["explain_s"] = time.perf_counter() - t0 - sum(timings.values())
        timings["total_s"] = time.perf_counter() - t0
        return infeasible_plan(problem, reason, solver, timings)

    broken = violations(problem, out.units, out.dispatch)
    if broken:
        raise SolverError("the solver's answer breaks constraints beyond tolerance: " + "; ".join(broken))
    caps: list[CapUse] = _cap_uses(problem, evaluate(problem, out.units, out.dispatch))
    single: list[SingleSkuFleet] = []
    saving = None
    if explain:
        steps = {
            "power_cap": power_step_mw,
            "budget_cap": budget_step_usd_per_hour or max(1.0, round((problem.budget_usd_per_hour or 0) * 0.01, 2)),
            "capex_cap": capex_step_usd or max(1.0, round((problem.capex_budget_usd or 0) * 0.01, 0)),
            "site_power": power_step_mw,
            "liquid_cooling": power_step_mw,
            "rack_positions": 1.0,
            "supply": 1.0,
        }
        # an on-demand quota: 1 % of it, at least one unit's GPUs (a GPU more is rarely worth a unit less)
        for cap in caps:
            if cap.kind == "quota":
                g = next(
                    s.gpus_per_unit
                    for s in problem.skus
                    if s.procurement == "on_demand" and cap.field == f"skus.{s.base_id}.procurement.on_demand.max_gpus"
                )
                steps[cap.name] = float(max(g, round(0.01 * cap.limit)))
        with progress.task("plan: marginal values of the caps (a re-solve per cap)"):
            caps, marginal_s = marginal_values(
                explained, options, out.units, out.explain_dispatch or out.dispatch, steps
            )
        caps = _with_full_resolution_use(problem, caps, out)
        t1 = time.perf_counter()
        with progress.task("plan: single-SKU fleets (a solve per SKU)"):
            single = single_sku_fleets(explained, options)
        best = best_single_sku(problem.objective, single)
        if best is not None and problem.objective == "min_cost":
            mix_cost = evaluate(explained, out.units, out.explain_dispatch or out.dispatch).total_cost_usd
            saving = best["total_cost_usd"] - mix_cost
        timings["marginal_s"] = marginal_s
        timings["single_sku_s"] = time.perf_counter() - t1
    binding = [c.name for c in caps if c.binding]
    for j, s in enumerate(problem.skus):
        if math.isfinite(s.max_units) and out.units[j] >= s.max_units and s.max_units > s.min_units:
            binding.append(f"max_units[{s.id}]")
    timings["total_s"] = time.perf_counter() - t0
    status = Status.OPTIMAL if out.status == Status.OPTIMAL else out.status
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


@dataclass(frozen=True, kw_only=True)
class TradeoffPoint:
    """The least cost per token at one service floor (``planner plan --served-fraction a:b:step``)."""

    served_fraction: float  # floor: share of the demanded tokens served at least [1]
    status: str  # optimal | time_limit | infeasible
    cost_per_million_tokens: float | None  # [$/M tokens]
    total_cost_usd: float | None  # [$ over the span]
    tokens_served: float | None  # [tokens]
    served_share: float | None  # tokens served / demanded [1]
    power_mw: float | None  # facility [MW]
    fleet: dict[str, int] | None  # units per SKU

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def served_fraction_tradeoff(
    problem: FleetProblem, options: SolverOptions, fractions: tuple[float, ...]
) -> list[TradeoffPoint]:
    """min_cost_per_token at each service floor: $/M tokens against the share of demand served."""
    out = []
    for f in fractions:
        plan = plan_fleet(
            replace(problem, objective="min_cost_per_token", min_served_fraction=f), options, explain=False
        )
        ok = plan.status != Status.INFEASIBLE
        out.append(
            TradeoffPoint(
                served_fraction=f,
                status=plan.status,
                cost_per_million_tokens=plan.cost_per_million_tokens if ok else None,
                total_cost_usd=plan.total_cost_usd if ok else None,
                tokens_served=plan.tokens_served if ok else None,
                served_share=plan.tokens_served / plan.tokens_demanded if ok else None,
                power_mw=plan.power_mw if ok else None,
                fleet={f.sku: f.units for f in plan.fleet if f.units} if ok else None,
            )
        )
    return out
