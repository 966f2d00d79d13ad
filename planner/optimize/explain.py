"""Why no fleet fits: closed-form checks first, then an elastic re-solve and the smallest
relaxation of each cap that would make the problem feasible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pulp

from planner.milp.evaluate import purchases
from planner.milp.formulation import SECONDS_PER_HOUR, _ratio, build_fleet_model, caps, single_period
from planner.milp.problem import FleetProblem
from planner.milp.reason import (
    CapNeed,
    CapRelaxation,
    Check,
    Elastic,
    Reason,
    Shortfall,
    SupplyRelaxation,
)
from planner.milp.solve import SolverOptions, solve


@dataclass(frozen=True, kw_only=True)
class Relaxations:
    """Each cap relaxed alone, and the supply limits lifted (None: the plan has none)."""

    caps: dict[str, CapRelaxation]  # by relax_key: power_cap_mw, sites.hall-a.liquid_cooling_mw, ...
    without_supply_limits: bool | None = None

    def document(self) -> dict[str, CapRelaxation | SupplyRelaxation]:
        """The JSON reason's ``relaxations``: the caps, then ``max_units`` when there are supply limits."""
        out: dict[str, CapRelaxation | SupplyRelaxation] = dict(self.caps)
        if self.without_supply_limits is not None:
            out["max_units"] = {"feasible_without_supply_limits": self.without_supply_limits}
        return out


@dataclass(frozen=True, kw_only=True)
class JointRaise:
    """A cap that must rise when every cap rises together by the least total relative amount."""

    cap: str  # the cap's name (power_cap, budget_cap, ...)
    current: float  # [unit]
    needed: float  # [unit]
    unit: str


def _hours(problem: FleetProblem, mask: np.ndarray) -> list[str]:
    """Compact hour ranges where mask is true, e.g. ['14-17', '38']."""
    starts = problem.curve.start_hours
    step = problem.curve.slice_hours
    idx = np.flatnonzero(mask)
    ranges: list[str] = []
    if not len(idx):
        return ranges
    a = b = idx[0]
    for i in idx[1:]:
        if i == b + 1 and abs(starts[i] - (starts[b] + step[b])) < 1e-9:  # consecutive in time too
            b = i
            continue
        ranges.append(_fmt_range(starts[a], starts[b] + step[b]))
        a = b = i
    ranges.append(_fmt_range(starts[a], starts[b] + step[b]))
    return ranges


def _fmt_range(a: float, b: float) -> str:
    return f"{a:g}-{b:g}"


def closed_form_checks(problem: FleetProblem) -> list[Check]:
    """Lower bounds that prove infeasibility without a solver."""
    c = problem.curve
    u = problem.utilization_caps()  # (S,) on-demand capacity may run at 1
    theta = problem.throughput
    kw = problem.column("facility_kw_per_gpu")
    cost = problem.column("cost_usd_per_gpu_hour") + problem.column("busy_usd_per_gpu_hour")
    g = np.array([s.gpus_per_unit for s in problem.skus], dtype=float)
    n0 = np.array([s.min_units for s in problem.skus], dtype=float)
    out: list[Check] = []

    def per_slice_need(per_gpu: np.ndarray) -> tuple[np.ndarray, list[str]]:
        # cheapest resource per token/s for each workload, continuous, supply ignored
        need = np.zeros(c.peak.shape[1])
        best = []
        for k, _w in enumerate(problem.workloads):
            with np.errstate(divide="ignore", invalid="ignore"):  # cloud capacity draws none of your power
                ratio = np.where(theta[:, k] > 0, theta[:, k] * u / per_gpu, 0.0)
            if ratio.max() <= 0 or c.peak[k].max() <= 0:
                continue  # no demand, or no SKU serves it (an input error caught earlier)
            j = int(np.argmax(ratio))
            best.append(problem.skus[j].id)
            need += c.peak[k] / ratio[j]
        return need, best

    if problem.power_cap_mw is not None:
        need_kw, best = per_slice_need(kw)
        t = int(np.argmax(need_kw))
        existing_kw = float((n0 * g * kw).sum())
        if need_kw[t] > problem.power_cap_mw * 1000 * (1 + 1e-9):
            out.append(
                {
                    "check": "power_for_peak",
                    "message": f"peak demand at hour {c.start_hours[t]:g} needs at least {need_kw[t] / 1000:.3f} MW "
                    f"even on the most tokens-per-MW SKU ({', '.join(sorted(set(best)))}); the cap is "
                    f"{problem.power_cap_mw:g} MW",
                    "needed_mw": need_kw[t] / 1000,
                    "cap_mw": problem.power_cap_mw,
                }
            )
        if existing_kw > problem.power_cap_mw * 1000 * (1 + 1e-9):
            out.append(
                {
                    "check": "existing_power",
                    "message": f"the existing fleet alone draws {existing_kw / 1000:.3f} MW; the cap is "
                    f"{problem.power_cap_mw:g} MW",
                    "needed_mw": existing_kw / 1000,
                    "cap_mw": problem.power_cap_mw,
                }
            )
    if problem.budget_usd_per_hour is not None:
        need_usd, best = per_slice_need(cost)
        t = int(np.argmax(need_usd))
        existing_usd = float((n0 * g * cost).sum())
        if need_usd[t] > problem.budget_usd_per_hour * (1 + 1e-9):
            out.append(
                {
                    "check": "budget_for_peak",
                    "message": f"peak demand at hour {c.start_hours[t]:g} needs at least ${need_usd[t]:,.0f}/h "
                    f"even on the cheapest SKU per token ({', '.join(sorted(set(best)))}); the budget is "
                    f"${problem.budget_usd_per_hour:,.0f}/h",
                    "needed_usd_per_hour": need_usd[t],
                    "budget_usd_per_hour": problem.budget_usd_per_hour,
                }
            )
        if existing_usd > problem.budget_usd_per_hour * (1 + 1e-9):
            out.append(
                {
                    "check": "existing_budget",
                    "message": f"the existing fleet alone costs ${existing_usd:,.0f}/h; the budget is "
                    f"${problem.budget_usd_per_hour:,.0f}/h",
                    "needed_usd_per_hour": existing_usd,
                    "budget_usd_per_hour": problem.budget_usd_per_hour,
                }
            )
    for k, w in enumerate(problem.workloads):
        servers = [j for j in range(len(problem.skus)) if theta[j, k] > 0]
        if servers and all(math.isfinite(problem.skus[j].max_units) for j in servers):
            most = sum(problem.skus[j].max_units * g[j] * u[j] * theta[j, k] for j in servers)
            t = int(np.argmax(c.peak[k]))
            if c.peak[k, t] > most * (1 + 1e-9):
                out.append(
                    {
                        "check": "supply",
                        "message": f"workload '{w}' peaks at {c.peak[k, t]:,.0f} tokens/s (hour {c.start_hours[t]:g}) but "
                        f"every available unit together serves at most {most:,.0f} tokens/s",
                        "workload": w,
                        "peak_tokens_per_s": float(c.peak[k, t]),
                        "max_tokens_per_s": most,
                    }
                )
    return out


def elastic(problem: FleetProblem, options: SolverOptions) -> Elastic | None:
    """Serve as much as the caps allow: how much goes unserved, of what, when."""
    model = build_fleet_model(problem, allow_unserved=True)
    res = solve(model, options, model.unserved_tokens)
    if not res.ok:
        return None
    r = _ratio(problem)
    c = problem.curve
    per: dict[str, Shortfall] = {}
    for k, w in enumerate(problem.workloads):
        lost = np.array([model.unserved[k, t].varValue or 0.0 for t in range(c.peak.shape[1])])
        mask = lost > 1e-6 * max(float(c.peak[k].max()), 1.0)
        if not mask.any():
            continue
        per[w] = {
            "unserved_tokens": float((lost * r[k] * c.slice_hours * SECONDS_PER_HOUR).sum()),
            "unserved_share": float(
                (lost * r[k] * c.slice_hours).sum() / max((c.mean[k] * c.slice_hours).sum(), 1e-12)
            ),
            "max_unserved_tokens_per_s": float(lost.max()),
            "hours": _hours(problem, mask)[:12],
            "slices_short": int(mask.sum()),
        }
    units = [round(v.varValue or 0.0) for v in model.units]
    return {"unserved": per, "fleet": {s.id: int(n) for s, n in zip(problem.skus, units, strict=True)}}


def relax_key(cap) -> str:
    """A cap's key in the relaxations: the plan's own caps by name (power_cap_mw, ...), site and
    supply caps by their scenario field (sites.hall-a.liquid_cooling_mw, skus.h200.max_units)."""
    return cap.field.rsplit(".", 1)[-1] if cap.field.startswith("constraints.") else cap.field


def _use_expression(model, cap) -> pulp.LpAffineExpression:
    """A cap's use in a single-period model, as an expression of its variables. [cap unit]"""
    m = model.period_model
    return pulp.LpAffineExpression(cap.terms(m.units, m.buy, m.racks, m.window))


def smallest_relaxations(problem: FleetProblem, options: SolverOptions) -> Relaxations:
    """For each cap of the cap table: the least value of it alone that makes the problem feasible (MILP)."""
    out: dict[str, CapRelaxation] = {}
    for cap in caps(single_period(problem)):
        model = build_fleet_model(problem.with_cap(cap.field, None), allow_unserved=False)
        res = solve(model, options, _use_expression(model, cap))
        out[relax_key(cap)] = {
            "current": cap.limit,
            "needed": res.objective if res.ok else None,
            "unit": cap.unit,
            "feasible_by_itself": res.ok,
            "site": cap.site,
            "resource": cap.kind,
        }
    if any(math.isfinite(s.max_units) or math.isfinite(s.sku_max_units) for s in problem.skus):
        unlimited = tuple(
            replace(s, max_units=math.inf if s.procurement != "existing" else s.max_units, sku_max_units=math.inf)
            for s in problem.skus
        )
        res = solve(build_fleet_model(replace(problem, skus=unlimited), allow_unserved=False), options)
        return Relaxations(caps=out, without_supply_limits=res.ok)
    return Relaxations(caps=out)


def joint_relaxation(problem: FleetProblem, options: SolverOptions) -> dict[str, JointRaise] | None:
    """The smallest change of every cap together that makes the problem feasible (when none alone does).

    Each cap row of the cap table becomes ``use <= limit + excess`` (excess >= 0) and the sum of
    ``excess / limit`` (the relative relaxation) is minimised, units integer as in the plan. Returns
    ``{field: JointRaise}`` for the caps that must rise, or None when raising every
    cap together is not enough (supply limits, or a workload no SKU can serve).
    """
    table = caps(single_period(problem))
    if len(table) < 2:
        return None
    freed = problem
    for c in table:
        freed = freed.with_cap(c.field, None)
    model = build_fleet_model(freed, allow_unserved=False)
    rows, objective, excess = [], [], {}
    for i, cap in enumerate(table):
        var = model.prob.add_variable(f"excess_{i}", lowBound=0.0)
        model.variables.append(var)
        excess[cap.name] = var
        objective.append((var, 1.0 / cap.limit if cap.limit > 0 else 1.0))  # a cap of 0: its raise in its unit
        expr = pulp.LpAffineExpression([*_use_expression(model, cap).items(), (var, -1.0)])
        rows.append(pulp.LpConstraint(expr, pulp.LpConstraintLE, f"joint_{i}", cap.limit))
    res = solve(model, options, pulp.LpAffineExpression(objective), extra=rows)
    if not res.ok:
        return None
    out: dict[str, JointRaise] = {}
    units = np.array(
        [
            [v.varValue or 0.0 if s.continuous else round(v.varValue or 0.0)]
            for v, s in zip(model.units, problem.skus, strict=True)
        ],
        dtype=float,
    )
    buy = purchases(problem, units[:, 0])[:, None]
    for cap in table:
        used = cap.use(units, buy)
        if used > cap.limit * (1 + 1e-9):
            out[relax_key(cap)] = JointRaise(cap=cap.name, current=cap.limit, needed=used, unit=cap.unit)
    return out


def _amount(value: float, unit: str) -> str:
    return f"${value:,.6g}" if unit == "$" else (f"${value:,.6g}/h" if unit == "$/h" else f"{value:,.6g} {unit}")


def diagnose(problem: FleetProblem, options: SolverOptions) -> Reason:
    """A diagnosis in words and numbers (the JSON `reason`)."""
    checks = closed_form_checks(problem)
    el = elastic(problem, options)
    relax = smallest_relaxations(problem, options)
    lines = [c["message"] for c in checks]
    if el and el["unserved"]:
        for w, d in el["unserved"].items():
            lines.append(
                f"with the caps as they are, {d['unserved_share']:.1%} of '{w}' tokens go unserved "
                f"({d['unserved_tokens']:.4g} tokens, up to {d['max_unserved_tokens_per_s']:,.0f} tokens/s, "
                f"hours {', '.join(d['hours'])})"
            )
    for name, r in relax.caps.items():
        if r["feasible_by_itself"]:
            if r["needed"] is not None and r["needed"] > r["current"] * (1 + 1e-9):
                lines.append(
                    f"raising {name} from {r['current']:,.6g} to {r['needed']:,.6g} {r['unit']} would make it feasible"
                )
        else:
            lines.append(f"raising {name} alone cannot make it feasible")
    if relax.without_supply_limits:
        lines.append("without the supply limits (max_units, on-demand max_gpus) the demand could be served")
    caps_alone = list(relax.caps.values())
    together = None
    if len(caps_alone) >= 2 and not any(r["feasible_by_itself"] for r in caps_alone):
        together = joint_relaxation(problem, options)
        if together:
            lines.append(
                "raising "
                + " and ".join(f"{name} to {_amount(j.needed, j.unit)}" for name, j in together.items())
                + " together would make it feasible (the least total relative raise)"
            )
        else:
            lines.append("raising every cap together cannot make it feasible")
    if not lines:
        lines.append("the solver proved infeasibility; no single cap or supply limit explains it")
    kinds = {relax_key(c): c.name for c in caps(single_period(problem))}
    needed: list[CapNeed] = [
        {
            "period": "plan",
            "cap": kinds[name],
            "unit": r["unit"],
            "scope": "only",
            "current": r["current"],
            "needed": r["needed"],
            "short_by": max(r["needed"] - r["current"], 0.0),
            "feasible_when_raised": True,
        }
        for name, r in relax.caps.items()
        if name in kinds
        and r["feasible_by_itself"]
        and r["needed"] is not None
        and r["needed"] > r["current"] * (1 + 1e-9)
    ]
    needed += [
        {
            "period": "plan",
            "cap": j.cap,
            "unit": j.unit,
            "scope": "together",
            "current": j.current,
            "needed": j.needed,
            "short_by": j.needed - j.current,
            "feasible_when_raised": True,
        }
        for j in (together or {}).values()
    ]
    return Reason(
        summary="; ".join(lines),
        lines=lines,
        checks=list(checks),
        unserved=el["unserved"] if el is not None else {},
        caps_needed=needed,
        relaxations=relax.document(),
        elastic=el,
    )
