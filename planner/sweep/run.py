"""Run a sweep: each point is a full plan of the scenario with that point's overrides.

``run_point`` is the task shipped to workers (a small picklable ``PointTask`` in, a flat
dict out: parameters, never PuLP models, cross process boundaries). ``run_sweep`` fans the
points out on an executor and returns one tidy ``pandas.DataFrame``, one row per point, in
point order whichever executor ran it.

Columns: ``point``; one column per swept path (``constraints.power_cap_mw``, ...);
``status`` (optimal | time_limit | infeasible | invalid | error); ``objective``;
``cost_per_million_tokens`` [$/M tokens]; ``total_cost_usd``, ``fixed_cost_usd``,
``energy_cost_usd`` [$ over the span]; ``tokens_demanded``, ``tokens_served`` [tokens];
``power_mw`` (facility) and ``power_cap_mw`` [MW]; ``run_rate_usd_per_hour`` and
``budget_usd_per_hour`` [$/h]; ``capex_spend_usd`` and ``capex_budget_usd`` [$];
``span_hours`` [h]; per SKU ``units.<sku>``, ``gpus.<sku>``, ``power_mw.<sku>`` [MW] and
``run_rate_usd_per_hour.<sku>`` [$/h]; ``caps_at_limit`` (caps with less headroom than the
smallest unit that could still be added, ``;``-separated); with ``explain``: ``binding``
(caps whose relaxation by a step improves the objective) and ``saving_usd_per_year.<cap>``;
``mip_gap``; ``diagnosis`` (why an infeasible point has no fleet, or the input problem).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from planner.errors import ScenarioError, SolverError
from planner.optimize.plan import FleetPlan
from planner.optimize.problem import FleetProblem
from planner.sweep.grid import SweepSpec

SUMMARY_COLUMNS = [
    "status",
    "objective",
    "cost_per_million_tokens",
    "total_cost_usd",
    "fixed_cost_usd",
    "energy_cost_usd",
    "tokens_demanded",
    "tokens_served",
    "power_mw",
    "power_cap_mw",
    "run_rate_usd_per_hour",
    "budget_usd_per_hour",
    "capex_spend_usd",
    "capex_budget_usd",
    "span_hours",
]
PER_SKU = ("units", "gpus", "power_mw", "run_rate_usd_per_hour")
INTEGER_PREFIXES = ("units.", "gpus.")


@dataclass(frozen=True)
class PointTask:
    """What a worker needs to plan one point (plain, picklable data)."""

    index: int
    scenario_path: str
    overrides: dict[str, Any] = field(default_factory=dict)
    explain: bool = False


def caps_at_limit(problem: FleetProblem, plan: FleetPlan) -> list[str]:
    """Caps with less headroom than the smallest unit that could still be added.

    A cap at its limit is where the integer fleet stops growing; it is binding in the sense
    of the marginal-value re-solve whenever the plan would use more of it if it could.
    """
    out: list[str] = []
    addable = [
        (s, f)
        for s, f in zip(problem.skus, plan.fleet, strict=True)
        if f.units < s.max_units and any(v > 0 for v in s.throughput.values())
    ]
    if problem.power_cap_mw is not None and addable:
        unit_mw = min(s.gpus_per_unit * s.facility_kw_per_gpu / 1000.0 for s, _ in addable)
        if problem.power_cap_mw - plan.power_mw < unit_mw:
            out.append("power_cap")
    if problem.budget_usd_per_hour is not None and addable:
        unit_usd = min(s.gpus_per_unit * s.cost_usd_per_gpu_hour for s, _ in addable)
        if problem.budget_usd_per_hour - plan.run_rate_usd_per_hour < unit_usd:
            out.append("budget_cap")
    priced = [(s, f) for s, f in addable if not math.isnan(s.capex_usd_per_gpu)]
    if problem.capex_budget_usd is not None and priced:
        unit_capex = min(s.gpus_per_unit * s.capex_usd_per_gpu for s, _ in priced)
        if problem.capex_budget_usd - plan.capex_spend_usd < unit_capex:
            out.append("capex_cap")
    for s, f in zip(problem.skus, plan.fleet, strict=True):
        if math.isfinite(s.max_units) and s.max_units > s.min_units and f.units >= s.max_units:
            out.append(f"max_units[{s.id}]")
    return out


def plan_row(problem: FleetProblem, plan: FleetPlan, explain: bool) -> dict[str, Any]:
    """The flat summary of one plan (the non-parameter columns of a sweep row)."""
    row: dict[str, Any] = {k: getattr(plan, k) for k in SUMMARY_COLUMNS}
    feasible = plan.status != "infeasible"
    for f in plan.fleet:
        row[f"units.{f.sku}"] = f.units if feasible else None
        row[f"gpus.{f.sku}"] = f.gpus if feasible else None
        row[f"power_mw.{f.sku}"] = f.power_mw if feasible else math.nan
        row[f"run_rate_usd_per_hour.{f.sku}"] = f.cost_usd_per_hour if feasible else math.nan
    row["caps_at_limit"] = ";".join(caps_at_limit(problem, plan)) if feasible else ""
    if explain:
        row["binding"] = ";".join(plan.binding)
        for c in plan.caps:
            row[f"saving_usd_per_year.{c.name}"] = (
                c.saving_usd_per_year if c.saving_usd_per_year is not None else math.nan
            )
    row["mip_gap"] = plan.solver.get("mip_gap", math.nan) if feasible else math.nan
    row["diagnosis"] = (plan.reason or {}).get("summary", "") if not feasible else ""
    return row


def run_point(task: PointTask) -> dict[str, Any]:
    """Plan one point. Input problems and solver failures become a row, not an exception."""
    from planner.optimize.highs import silence_banner
    from planner.optimize.run import plan_fleet
    from planner.pipeline import scenario_problem
    from planner.scenario.load import load_scenario

    silence_banner()
    head: dict[str, Any] = {"point": task.index, **task.overrides}
    try:
        problem = scenario_problem(load_scenario(task.scenario_path, task.overrides))
        plan = plan_fleet(problem, explain=task.explain)
    except ScenarioError as exc:
        return {**head, "status": "invalid", "diagnosis": str(exc)}
    except SolverError as exc:
        return {**head, "status": "error", "diagnosis": str(exc)}
    return {**head, **plan_row(problem, plan, task.explain)}


def sweep_tasks(spec: SweepSpec, explain: bool = False) -> list[PointTask]:
    return [PointTask(i, str(spec.scenario_path), dict(point), explain) for i, point in enumerate(spec.points)]


def results_frame(spec: SweepSpec, rows: list[dict[str, Any]]) -> pd.DataFrame:
    """One tidy table from the worker rows, in point order, with a fixed column order."""
    rows = sorted(rows, key=lambda r: r["point"])
    skus: list[str] = []
    extra: list[str] = []
    for r in rows:
        for k in r:
            if k.startswith("units.") and k[6:] not in skus:
                skus.append(k[6:])
            if (k.startswith("saving_usd_per_year.") or k == "binding") and k not in extra:
                extra.append(k)
    columns = ["point", *spec.paths, *SUMMARY_COLUMNS]
    columns += [f"{p}.{s}" for p in PER_SKU for s in skus]
    columns += ["caps_at_limit", *sorted(extra), "mip_gap", "diagnosis"]
    df = pd.DataFrame([{c: r.get(c) for c in columns} for r in rows], columns=columns)
    for c in columns:
        if c.startswith(INTEGER_PREFIXES) or c == "point":
            df[c] = df[c].astype("Int64")
        elif c in ("status", "objective", "caps_at_limit", "binding", "diagnosis"):
            df[c] = df[c].fillna("").astype(str)
        elif (
            c in SUMMARY_COLUMNS
            or c.startswith(("power_mw.", "run_rate_usd_per_hour.", "saving_usd_per_year."))
            or c == "mip_gap"
        ):
            df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    return df


def run_sweep(
    spec: SweepSpec,
    executor: Any | None = None,
    *,
    explain: bool = False,
    on_done: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Plan every point of ``spec`` on ``executor`` (default: in this process, one by one).

    ``on_done(done, total)`` is called in this process as points finish (for a progress bar).
    """
    from planner.sweep.executors import SerialExecutor

    tasks = sweep_tasks(spec, explain)
    rows = (executor or SerialExecutor()).run(tasks, on_done)
    return results_frame(spec, rows)


def table_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready rows: NaN and NA become None, numpy scalars plain Python."""
    out = []
    for rec in df.astype(object).to_dict(orient="records"):
        clean = {}
        for k, v in rec.items():
            if v is None or v is pd.NA or (isinstance(v, float) and not math.isfinite(v)):
                clean[k] = None
            elif isinstance(v, np.generic):
                clean[k] = v.item()
            else:
                clean[k] = v
        out.append(clean)
    return out


def table_csv(df: pd.DataFrame) -> str:
    """CSV text with a fixed float format (byte-stable for the same results)."""
    return df.to_csv(index=False, float_format="%.10g", lineterminator="\n")
