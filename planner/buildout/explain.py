"""Why a buildout has no feasible schedule: which period, which cap, by how much.

Three steps, as for a single period (planner/optimize/explain.py):
1. closed-form checks per period: the peak needs at least X MW even on the most tokens-per-MW
   SKU usable by then; the fleet that cannot retire already draws more than the cap;
2. an elastic re-solve (demand may go unserved, fewest unserved tokens) that says which
   periods fall short and by how much;
3. per cap kind (power_cap, capex_cap) one solve with that cap turned into ``cap + excess[p]``
   in every period at once, minimising the total excess: each period's need, and raising every
   cap to its need makes the schedule feasible (a cap too low everywhere is never tested one
   period at a time with the others still too low). When a single period falls short, also
   raising only its cap, the others as they are; the horizon budget capex_total by itself.
Myopic runs are diagnosed in the period that failed, with the fleet handed to it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

import numpy as np
import pulp

from planner.economics import SECONDS_PER_HOUR
from planner.milp.formulation import Cap, History, build_model, caps, may_retire, ratio
from planner.milp.problem import BuildoutProblem
from planner.milp.reason import CapVerdict, PeriodCheck, PeriodShortfall, Reason
from planner.milp.solve import SolverOptions, solve


def closed_form_checks(problem: BuildoutProblem, window: range, history: History | None) -> list[PeriodCheck]:
    """Lower bounds per period that prove infeasibility without a solver."""
    theta = problem.throughput
    u = problem.max_utilization
    kw = np.array([b.sku.facility_kw_per_gpu for b in problem.skus])
    g = np.array([b.sku.gpus_per_unit for b in problem.skus], dtype=float)
    alive0 = problem.existing_alive()
    out: list[PeriodCheck] = []
    for p in window:
        per = problem.periods[p]
        if per.power_cap_mw is None:
            continue
        usable = [j for j, b in enumerate(problem.skus) if any(b.available[: p + 1]) or alive0[j, p] > 0]
        need = np.zeros(per.curve.peak.shape[1])
        best = set()
        for k in range(len(problem.workloads)):
            with np.errstate(divide="ignore", invalid="ignore"):  # cloud capacity draws none of your power
                ratio_kw = np.array(
                    [
                        theta[j, k] * problem.skus[j].sku.utilization_limit(u) / kw[j] if j in usable else 0.0
                        for j in range(len(problem.skus))
                    ]
                )
            if ratio_kw.max() <= 0:
                continue
            j = int(np.argmax(ratio_kw))
            best.add(problem.skus[j].id)
            need += per.curve.peak[k] / ratio_kw[j]
        t = int(np.argmax(need))
        if need[t] > per.power_cap_mw * 1000 * (1 + 1e-9):
            out.append(
                {
                    "period": per.label,
                    "check": "power_for_peak",
                    "message": f"{per.label}: the peak needs at least {need[t] / 1000:.3f} MW even on the most "
                    f"tokens-per-MW SKU usable by then ({', '.join(sorted(best))}); the cap is {per.power_cap_mw:g} MW",
                    "needed_mw": need[t] / 1000,
                    "cap_mw": per.power_cap_mw,
                }
            )
        fixed = np.array([not may_retire(problem, b) for b in problem.skus])  # reservations: for their term
        if fixed.any():
            forced = alive0[:, p].copy()
            if history is not None and window.start > 0:
                for j, b in enumerate(problem.skus):
                    forced[j] += history.buy[j, max(0, p - b.life_periods + 1) : window.start].sum()
            forced[~fixed] = 0.0
            kw_forced = float((forced * g * kw).sum())
            if kw_forced > per.power_cap_mw * 1000 * (1 + 1e-9):
                out.append(
                    {
                        "period": per.label,
                        "check": "fleet_power",
                        "message": f"{per.label}: units that cannot retire early draw {kw_forced / 1000:.3f} MW; "
                        f"the cap is {per.power_cap_mw:g} MW",
                        "needed_mw": kw_forced / 1000,
                        "cap_mw": per.power_cap_mw,
                    }
                )
    return out


def elastic(
    problem: BuildoutProblem, options: SolverOptions, window: range, history: History | None
) -> dict[str, PeriodShortfall] | None:
    """Fewest unserved tokens the caps allow, per period."""
    model = build_model(problem, window, history, allow_unserved=True)
    res = solve(model, options, model.unserved_tokens, mip=True)
    if not res.ok:
        return None
    out: dict[str, PeriodShortfall] = {}
    for p in window:
        per = problem.periods[p]
        r = ratio(per.curve)
        h = per.curve.slice_hours
        lost = np.zeros_like(per.curve.peak)
        for (k, q, t), var in model.unserved.items():
            if q == p:
                lost[k, t] = max(var.varValue or 0.0, 0.0)
        lost_tokens = float((lost * r * h[None, :]).sum()) * per.weight * SECONDS_PER_HOUR
        demand = float((per.curve.mean * h[None, :]).sum()) * per.weight * SECONDS_PER_HOUR
        if lost.max() > 1e-6 * max(float(per.curve.peak.max()), 1.0):
            out[per.label] = {
                "index": p,
                "unserved_tokens": lost_tokens,
                "unserved_share": lost_tokens / demand if demand > 0 else 0.0,
                "max_unserved_tokens_per_s": float(lost.max()),
            }
    return out


def _cap_rows(problem: BuildoutProblem, field: str, window: range) -> dict[int, Cap]:
    """{period: cap} for the periods of ``window`` where the cap set by ``field`` applies (the cap table)."""
    return {cap.period: cap for cap in caps(problem, window) if cap.field == field and cap.period is not None}


def _families(problem: BuildoutProblem, window: range) -> list[tuple[str, str, str]]:
    """(field, label, unit) of every per-period cap: the buildout's own (power_cap, capex_cap), then per
    site (power_cap@hall-a, rack_positions@hall-a, liquid_cooling@hall-a) and SKU supply (supply@h200)."""
    out: dict[str, tuple[str, str, str]] = {}
    for cap in caps(problem, window):
        if cap.period is None or cap.kind == "budget_cap":
            continue
        label = cap.kind if cap.kind in ("power_cap", "capex_cap") else cap.name.rsplit("_", 1)[0]
        out.setdefault(cap.field, (cap.field, label, cap.unit))
    return list(out.values())


def _terms(cap, model) -> list[tuple[Any, float]]:
    """A cap's left-hand side in ``model`` as (variable, coefficient) pairs. [the cap's unit]"""
    return cap.terms(model.units, model.buy, model.racks, model.window)


def _value(terms) -> float:
    """What a measure comes to in the solved (integer) schedule."""
    return float(sum(round(var.varValue or 0.0) * coef for var, coef in terms))


def _lift(
    problem: BuildoutProblem,
    options: SolverOptions,
    window: range,
    history: History | None,
    field: str,
    lifted: list[int],
) -> dict[int, float] | None:
    """Each lifted period's cap becomes ``cap + excess[p]`` (excess >= 0) and the total excess is
    minimised; every other cap stays. Returns what the schedule found uses in each lifted period
    (raising each cap to at least that makes the buildout feasible), or None if no raise of these
    caps is enough."""
    table = _cap_rows(problem, field, window)
    model = build_model(problem, window, history, caps_off=frozenset(table[p].name for p in lifted))
    excess: list[tuple[Any, float]] = []  # (excess variable, 1)
    rows: list[pulp.LpConstraint] = []
    for p in lifted:
        cap = table[p]
        var = model.prob.add_variable(f"excess_{len(rows)}_{p}", lowBound=0.0)
        model.variables.append(var)
        excess.append((var, 1.0))
        name = f"lifted_{len(rows)}_{p}"
        expr = pulp.LpAffineExpression([*_terms(cap, model), (var, -1.0)])
        rows.append(pulp.LpConstraint(expr, pulp.LpConstraintLE, name, cap.limit))
    res = solve(model, options, pulp.LpAffineExpression(excess), extra=rows, mip=True)
    if not res.ok:
        return None
    return {p: _value(_terms(table[p], model)) for p in lifted}


def relaxations(
    problem: BuildoutProblem, options: SolverOptions, window: range, history: History | None, short: list[int]
) -> list[CapVerdict]:
    """What each cap kind would have to be, per period, for a feasible schedule.

    Per kind (power_cap, capex_cap): the cap is lifted in every period together (one solve),
    which gives the least total raise and each period's share of it. Only when a single period
    falls short is the narrower question asked too: raising only that period's cap, the others
    as they are. The horizon budget is one row, lifted by itself.
    """
    out: list[CapVerdict] = []
    for field, kind, unit in _families(problem, window):
        limits = {p: cap.limit for p, cap in _cap_rows(problem, field, window).items()}
        if not limits:
            continue
        every = sorted(limits)
        used = _lift(problem, options, window, history, field, every)
        if used is None:
            out.append(_row("every period", kind, unit, None, None, "all"))
        else:
            for p in every:
                out.append(_row(problem.periods[p].label, kind, unit, limits[p], max(used[p], limits[p]), "all"))
        # raising only the one short period's cap: asked when lifting them all together is enough
        # but raises other periods too (if lifting them all is not enough, neither is one)
        raised = [] if used is None else [p for p in every if used[p] > _tol(limits[p])]
        if used is not None and len(short) == 1 and short[0] in limits and raised != short:
            p = short[0]
            alone = _lift(problem, options, window, history, field, [p])
            needed = None if alone is None else max(alone[p], limits[p])
            out.append(_row(problem.periods[p].label, kind, unit, limits[p], needed, "only"))
    out += lead_times(problem, options, window, history)
    if problem.total_capex_budget_usd is not None:
        spent = history.capex_spent_usd if history is not None and window.start > 0 else 0.0
        model = build_model(problem, window, history, caps_off=frozenset({"capex_total"}))
        terms = _terms(next(c for c in model.caps if c.kind == "capex_total"), model)
        res = solve(model, options, pulp.LpAffineExpression(terms), mip=True)
        needed = _value(terms) + spent if res.ok else None
        if needed is not None:
            needed = max(needed, problem.total_capex_budget_usd)
        out.append(_row("horizon", "capex_total", "$", problem.total_capex_budget_usd, needed, "only"))
    return out


def lead_times(
    problem: BuildoutProblem, options: SolverOptions, window: range, history: History | None
) -> list[CapVerdict]:
    """Per SKU with a lead time: the longest lead (in periods) that would make the schedule feasible,
    every other input as it is (one row each; ``needed`` None when even no lead time is enough)."""
    out: list[CapVerdict] = []
    months = problem.periods[1].months_from_start if len(problem.periods) > 1 else 0.0
    for sku_id in dict.fromkeys(b.sku.base_id for b in problem.skus if b.lead_periods > 0):
        current = max(b.lead_periods for b in problem.skus if b.sku.base_id == sku_id)
        needed = None
        for lead in range(current - 1, -1, -1):
            skus = tuple(b.with_lead(lead) if b.sku.base_id == sku_id else b for b in problem.skus)
            trial = replace(problem, skus=skus)
            if solve(build_model(trial, window, history), options, mip=True).ok:
                needed = lead
                break
        row = _row("horizon", f"lead_time@{sku_id}", "months", current * months, None, "only")
        row["needed"] = None if needed is None else needed * months
        row["short_by"] = None if needed is None else (current - needed) * months
        row["feasible_when_raised"] = needed is not None
        row["field"] = f"skus.{sku_id}.lead_time_months"  # a new key: last, after the verdict's
        out.append(row)
    return out


def _tol(current: float) -> float:
    """The value above which a cap counts as short."""
    return current + max(1e-9 * abs(current), 1e-9)


def _row(
    period: str, cap: str, unit: str, current: float | None, needed: float | None, scope: Literal["all", "only"]
) -> CapVerdict:
    """One cap's verdict. scope "all": the cap kind lifted in every period together; "only": this
    period's (or the horizon's) cap alone, the others as they are."""
    short_by = None  # short: needed above the cap by more than the tolerance
    if needed is not None and current is not None and needed > _tol(current):
        short_by = max(needed - current, 0.0)
    return {
        "period": period,
        "cap": cap,
        "unit": unit,
        "scope": scope,
        "current": current,
        "needed": needed,
        "short_by": short_by,
        "feasible_when_raised": needed is not None,
    }


def _money(value: float, unit: str) -> str:
    return f"${value:,.0f}" if unit == "$" else f"{value:,.6g} {unit}"


def _bare(value: float, unit: str) -> str:
    return f"${value:,.0f}" if unit == "$" else f"{value:,.6g}"


def _line(r: CapVerdict) -> str | None:
    """The summary line of one relaxation row (None when the cap is not short)."""
    if r["cap"].startswith("lead_time@"):
        sku = r["cap"].split("@", 1)[1]
        if r["needed"] is None:
            return f"{sku}'s lead time ({r['current']:g} months): even no lead time cannot make it feasible"
        return (
            f"{sku}'s lead time: {r['current']:g} months; {r['needed']:g} months would make it feasible "
            f"(short by {r['short_by']:g} months; order earlier or find faster supply)"
        )
    if r["needed"] is None:
        if r["scope"] == "all":
            return f"raising {r['cap']} in every period cannot make it feasible"
        if r["period"] == "horizon":
            return f"raising only the horizon {r['cap']} cannot make it feasible"
        return f"raising only {r['period']}'s {r['cap']} cannot make it feasible"
    current, short_by = r["current"], r["short_by"]
    if short_by is None or current is None:  # short_by is None whenever current is
        return None
    text = (
        f"{r['cap']} needs {_money(r['needed'], r['unit'])} (cap {_bare(current, r['unit'])}, short by "
        f"{_money(short_by, r['unit'])})"
    )
    if r["scope"] == "all":
        return f"{r['period']}: {text}"
    if r["period"] == "horizon":
        return f"horizon: {text}"
    return f"{r['period']}: raising only its {text}"


def diagnose(
    problem: BuildoutProblem,
    options: SolverOptions,
    mode: str,
    failed_period: int | None = None,
    history: History | None = None,
) -> Reason:
    """A diagnosis in words and numbers (the JSON `reason`)."""
    if mode == "myopic" and failed_period is not None:
        window = range(failed_period, failed_period + 1)
    else:
        window = range(len(problem.periods))
        history = None
    checks = closed_form_checks(problem, window, history)
    el = elastic(problem, options, window, history) or {}
    short = [d["index"] for d in el.values()]
    relax = relaxations(problem, options, window, history, short)
    lines = [c["message"] for c in checks]
    for label, d in el.items():
        lines.append(
            f"{label}: with the caps as they are, {d['unserved_share']:.1%} of its tokens go unserved "
            f"(up to {d['max_unserved_tokens_per_s']:,.0f} tokens/s at the peak)"
        )
    lines += [line for line in map(_line, relax) if line is not None]
    if mode == "myopic" and failed_period is not None:
        lines.insert(0, f"myopic planning fails in {problem.periods[failed_period].label} with the fleet it inherits")
    if not lines:
        lines.append("the solver proved infeasibility; no single cap explains it")
    first = min(short) if short else (failed_period if failed_period is not None else None)
    return Reason(
        summary="\n".join(lines),
        lines=lines,
        first_infeasible_period=None if first is None else problem.periods[first].label,
        checks=list(checks),
        unserved=el,
        relaxations=relax,
        # raising every cap kind's periods together: the "all" rows (and the horizon budget)
        caps_needed=(
            [r for r in relax if r["short_by"] is not None and (r["scope"] == "all" or r["period"] == "horizon")]
        ),
        mode=mode,
    )
