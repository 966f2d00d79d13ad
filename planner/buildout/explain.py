"""Why a buildout has no feasible schedule: which period, which cap, by how much.

Three steps, as for a single period (planner/optimize/explain.py):
1. closed-form checks per period: the peak needs at least X MW even on the most tokens-per-MW
   SKU usable by then; the fleet that cannot retire already draws more than the cap;
2. an elastic re-solve (demand may go unserved, fewest unserved tokens) that says which
   periods fall short and by how much;
3. for each short period and each cap that applies to it (power_cap[p], capex_cap[p],
   capex_total): the model with that cap alone removed, minimising what the cap measures,
   gives the least value of the cap that would make the schedule feasible.
Myopic runs are diagnosed in the period that failed, with the fleet handed to it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pulp

from planner.buildout.model import History, build_model, capex_terms, ratio
from planner.buildout.problem import BuildoutProblem
from planner.economics import SECONDS_PER_HOUR
from planner.optimize.solve import solve


def closed_form_checks(problem: BuildoutProblem, window: range, history: History | None) -> list[dict[str, Any]]:
    """Lower bounds per period that prove infeasibility without a solver."""
    theta = problem.throughput
    u = problem.max_utilization
    kw = np.array([b.sku.facility_kw_per_gpu for b in problem.skus])
    g = np.array([b.sku.gpus_per_unit for b in problem.skus], dtype=float)
    alive0 = problem.existing_alive()
    out = []
    for p in window:
        per = problem.periods[p]
        if per.power_cap_mw is None:
            continue
        usable = [j for j, b in enumerate(problem.skus) if any(b.available[: p + 1]) or alive0[j, p] > 0]
        need = np.zeros(per.curve.peak.shape[1])
        best = set()
        for k in range(len(problem.workloads)):
            ratio_kw = np.array([theta[j, k] * u / kw[j] if j in usable else 0.0 for j in range(len(problem.skus))])
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
        if not problem.early_retirement:
            forced = alive0[:, p].copy()
            if history is not None and window.start > 0:
                for j, b in enumerate(problem.skus):
                    forced[j] += history.buy[j, max(0, p - b.life_periods + 1) : window.start].sum()
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


def elastic(problem: BuildoutProblem, window: range, history: History | None) -> dict[str, dict[str, Any]] | None:
    """Fewest unserved tokens the caps allow, per period."""
    model = build_model(problem, window, history, allow_unserved=True)
    res = solve(model, model.unserved_tokens, mip=True)  # type: ignore[arg-type]
    if not res.ok:
        return None
    out: dict[str, dict[str, Any]] = {}
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


def _needed(problem, window, history, cap_name: str, measure) -> float | None:
    """Least value of one cap (its row removed, what it measures minimised), or None if that is not enough."""
    model = build_model(problem, window, history, caps_off=frozenset({cap_name}))
    res = solve(model, pulp.LpAffineExpression(measure(model)), mip=True)  # type: ignore[arg-type]
    return float(res.objective) if res.ok else None


def relaxations(
    problem: BuildoutProblem, window: range, history: History | None, short: list[int]
) -> list[dict[str, Any]]:
    """For each short period's caps (and the horizon budget): the value that would make it feasible."""
    out: list[dict[str, Any]] = []
    for p in short:
        per = problem.periods[p]
        if per.power_cap_mw is not None:
            needed = _needed(
                problem,
                window,
                history,
                f"power_cap_{p}",
                lambda m, p=p: [
                    (m.units[j, p], b.sku.gpus_per_unit * b.sku.facility_kw_per_gpu / 1000.0)
                    for j, b in enumerate(problem.skus)
                ],
            )
            out.append(_row(per.label, "power_cap", "MW", per.power_cap_mw, needed))
        if per.capex_budget_usd is not None:
            needed = _needed(problem, window, history, f"capex_cap_{p}", lambda m, p=p: capex_terms(problem, p, m.buy))
            out.append(_row(per.label, "capex_cap", "$", per.capex_budget_usd, needed))
    if problem.total_capex_budget_usd is not None:
        spent = history.capex_spent_usd if history is not None and window.start > 0 else 0.0
        needed = _needed(
            problem,
            window,
            history,
            "capex_total",
            lambda m: [pair for p in window for pair in capex_terms(problem, p, m.buy)],
        )
        out.append(
            _row(
                "horizon",
                "capex_total",
                "$",
                problem.total_capex_budget_usd,
                None if needed is None else needed + spent,
            )
        )
    return out


def _row(period: str, cap: str, unit: str, current: float, needed: float | None) -> dict[str, Any]:
    return {
        "period": period,
        "cap": cap,
        "unit": unit,
        "current": current,
        "needed": needed,
        "short_by": None if needed is None else max(needed - current, 0.0),
        "feasible_by_itself": needed is not None,
    }


def diagnose(
    problem: BuildoutProblem, mode: str, failed_period: int | None = None, history: History | None = None
) -> dict[str, Any]:
    """A diagnosis in words and numbers (the JSON `reason`)."""
    if mode == "myopic" and failed_period is not None:
        window = range(failed_period, failed_period + 1)
    else:
        window = range(len(problem.periods))
        history = None
    checks = closed_form_checks(problem, window, history)
    el = elastic(problem, window, history) or {}
    short = [d["index"] for d in el.values()]
    relax = relaxations(problem, window, history, short)
    lines = [c["message"] for c in checks]
    for label, d in el.items():
        lines.append(
            f"{label}: with the caps as they are, {d['unserved_share']:.1%} of its tokens go unserved "
            f"(up to {d['max_unserved_tokens_per_s']:,.0f} tokens/s at the peak)"
        )
    for r in relax:
        if r["needed"] is None:
            lines.append(f"{r['period']}: raising {r['cap']} alone cannot make it feasible")
        elif r["short_by"] > max(1e-9 * abs(r["current"]), 1e-9):
            lines.append(
                f"{r['period']}: {r['cap']} needs {r['needed']:,.6g} {r['unit']} (cap {r['current']:,.6g}, short by "
                f"{r['short_by']:,.6g} {r['unit']})"
            )
    if mode == "myopic" and failed_period is not None:
        lines.insert(0, f"myopic planning fails in {problem.periods[failed_period].label} with the fleet it inherits")
    if not lines:
        lines.append("the solver proved infeasibility; no single cap explains it")
    first = min(short) if short else (failed_period if failed_period is not None else None)
    return {
        "summary": "; ".join(lines),
        "first_infeasible_period": None if first is None else problem.periods[first].label,
        "checks": checks,
        "unserved": el,
        "relaxations": [r for r in relax if r["needed"] is None or r["short_by"] > 0] or relax,
        "caps_needed": [r for r in relax if r["needed"] is not None and r["short_by"] > 0],
        "mode": mode,
    }
