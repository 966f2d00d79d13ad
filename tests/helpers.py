"""Small FleetProblems built directly, for optimiser tests."""

from __future__ import annotations

import math

import numpy as np

from planner.demand.curve import LoadCurve
from planner.optimize.problem import FleetProblem, SkuData


def sku(
    id: str,
    *,
    g: int = 8,
    kw: float = 1.0,
    idle: float = 0.3,
    cost: float = 1.0,
    thr: dict[str, float] | float = 100.0,
    billed: bool = False,
    capex: float = math.nan,
    existing: int = 0,
    max_units: float = math.inf,
) -> SkuData:
    throughput = thr if isinstance(thr, dict) else {"w": float(thr)}
    return SkuData(
        id=id,
        family="other",
        gpus_per_unit=g,
        facility_kw_per_gpu=kw,
        facility_idle_kw_per_gpu=idle,
        cost_usd_per_gpu_hour=cost,
        energy_billed=billed,
        capex_usd_per_gpu=capex,
        min_units=existing,
        max_units=max_units,
        throughput=throughput,
        throughput_basis={w: "test" for w in throughput},
    )


def curve(demand, workloads=("w",), peak=None, slice_hours=1.0) -> LoadCurve:
    mean = np.atleast_2d(np.asarray(demand, dtype=float))
    pk = mean.copy() if peak is None else np.atleast_2d(np.asarray(peak, dtype=float))
    t = mean.shape[1]
    return LoadCurve(tuple(workloads), np.arange(t) * slice_hours, np.full(t, float(slice_hours)), mean, pk)


def problem(
    skus,
    demand,
    *,
    workloads=("w",),
    peak=None,
    power_mw=None,
    budget=None,
    capex_budget=None,
    util=1.0,
    objective="min_cost",
    price=0.1,
    slice_hours=1.0,
) -> FleetProblem:
    return FleetProblem(
        name="test",
        skus=tuple(skus),
        curve=curve(demand, workloads, peak, slice_hours),
        electricity_usd_per_kwh=price,
        power_cap_mw=power_mw,
        budget_usd_per_hour=budget,
        capex_budget_usd=capex_budget,
        max_utilization=util,
        objective=objective,
        mip_rel_gap=1e-6,
        time_limit_s=30,
    )


def assert_matches_schema(doc: dict, kind: str) -> None:
    """``doc`` is valid against `planner schema KIND` (every key typed, nothing missing)."""
    import jsonschema

    from planner.documents import document_schema

    jsonschema.validate(doc, document_schema(kind))
