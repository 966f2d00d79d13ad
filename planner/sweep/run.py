"""Run a sweep: each point is a full plan of the scenario with that point's overrides.

``run_point`` (``planner.sweep.point``) is the task shipped to workers (a small picklable ``PointTask`` in, a flat
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
from typing import Any

import numpy as np
import pandas as pd

from planner.sweep.executors import SerialExecutor
from planner.sweep.grid import SweepSpec
from planner.sweep.point import SUMMARY_COLUMNS, Cell, PointTask, Row, caps_at_limit, plan_row, run_point

__all__ = ["SUMMARY_COLUMNS", "PointTask", "caps_at_limit", "plan_row", "run_point", "run_sweep", "table_records"]

PER_SKU = ("units", "gpus", "power_mw", "run_rate_usd_per_hour")
INTEGER_PREFIXES = ("units.", "gpus.")


def sweep_tasks(spec: SweepSpec, explain: bool = False) -> list[PointTask]:
    return [PointTask(i, str(spec.scenario_path), dict(point), explain) for i, point in enumerate(spec.points)]


def _point(row: Row) -> int:
    """The index of a worker row's point (run_point always sets it)."""
    index = row["point"]
    assert isinstance(index, int)
    return index


def results_frame(spec: SweepSpec, rows: list[Row]) -> pd.DataFrame:
    """One tidy table from the worker rows, in point order, with a fixed column order."""
    rows = sorted(rows, key=_point)
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
            values = pd.to_numeric(df[c], errors="coerce").astype(float)
            whole = bool((values.dropna() == values.dropna().round()).all())
            df[c] = values.astype("Int64") if whole else values  # on-demand GPUs are continuous
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
    tasks = sweep_tasks(spec, explain)
    rows = (executor or SerialExecutor()).run(tasks, on_done)
    return results_frame(spec, rows)


def table_records(df: pd.DataFrame) -> list[dict[str, Cell]]:
    """JSON-ready rows: NaN and NA become None, numpy scalars plain Python."""
    out = []
    for rec in df.astype(object).to_dict(orient="records"):
        clean: dict[str, Cell] = {}
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
