"""Small FleetProblems built directly, for optimiser tests."""

from __future__ import annotations

import dataclasses
import hashlib
import math
from typing import Any

import numpy as np

from planner.demand.curve import LoadCurve
from planner.milp.problem import FleetProblem, SkuData
from planner.milp.solve import SolverOptions


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
    )


OPTIONS = SolverOptions(mip_rel_gap=1e-6, time_limit_s=30)  # how the tests solve the problems built here


def assert_matches_schema(doc: dict, kind: str) -> None:
    """``doc`` is valid against `planner schema KIND` (every key typed, nothing missing)."""
    import jsonschema

    from planner.documents import document_schema

    jsonschema.validate(doc, document_schema(kind))


# ---- what the commands consume (tests/test_effects.py) --------------------------------------------------------------


def model_inputs(sf) -> dict[str, Any]:
    """Everything plan, validate and buildout consume from this scenario, in effective terms."""
    from planner.optimize.problem import solver_options
    from planner.pipeline import scenario_problem
    from planner.validate.arrivals import request_profiles
    from planner.validate.loop import scenario_seed

    problem = scenario_problem(sf)
    fixed, busy = problem.gpu_hour_costs()
    skus = [
        {
            "id": s.id,
            "family": s.family,  # groups the outputs (fleet rows, a buildout's shares by family)
            "gpus_per_unit": s.gpus_per_unit,
            "facility_kw_per_gpu": s.facility_kw_per_gpu,
            "usd_per_gpu_hour": (float(fixed[j]), float(busy[j])),
            "capex_usd_per_gpu": s.capex_usd_per_gpu,
            "units": (s.min_units, s.max_units),
            "throughput": s.throughput,
            "reliability": (s.mtbf_hours_per_gpu, s.mttr_hours, s.gpus_per_failure_domain),
            "placement": (
                s.site,
                s.procurement,
                s.utilization_cap,
                s.continuous,
                s.decommission_usd_per_unit,
                s.sku_max_units,
            ),
        }
        for j, s in enumerate(problem.skus)
    ]
    from planner.milp.formulation import caps, rack_groups, single_period

    one = single_period(problem)
    out: dict[str, Any] = {
        "plan": {
            "skus": skus,
            "curve": problem.curve,
            "caps": (problem.power_cap_mw, problem.budget_usd_per_hour, problem.capex_budget_usd),
            "cap_table": [(c.name, c.limit, c.coefficients) for c in caps(one)],
            "rack_groups": rack_groups(one),
            "max_utilization": problem.max_utilization,
            "objective": (problem.objective, problem.min_served_fraction),
            "solver": (solver_options(sf.scenario), problem.aggregation),
        },
        "validate": {
            "profiles": request_profiles(sf, problem.workloads),
            "seed": scenario_seed(sf),
        },
    }
    if sf.scenario.buildout is not None:
        from planner.buildout.problem import build_buildout_problem
        from planner.pipeline import scenario_curve

        b = build_buildout_problem(sf, scenario_curve(sf))
        elec = b.electricity_usd_per_kwh
        out["buildout"] = {
            "periods": [
                (
                    p.label,
                    p.hours,
                    p.discount_factor,
                    p.curve,
                    p.power_cap_mw,
                    p.capex_budget_usd,
                    p.budget_usd_per_hour,
                )
                for p in b.periods
            ],
            "skus": [
                (
                    s.id,
                    s.sku.facility_kw_per_gpu,
                    s.available,
                    s.capex_usd_per_gpu,
                    s.life_periods,
                    s.annuity_usd_per_gpu_year,
                    [s.gpu_hour_costs(p, elec) for p in range(len(b.periods))],
                    [s.run_rate_usd_per_gpu_hour(p) for p in range(len(b.periods))],
                    s.sku.throughput,
                    s.lead_periods,
                    s.committed_usd_per_gpu,
                    s.resale_fraction,
                )
                for s in b.skus
            ],
            "cap_table": [(c.name, c.limit, c.coefficients) for c in caps(b)],
            "cohorts": b.cohorts,
            "rules": (b.max_utilization, b.total_capex_budget_usd, b.early_retirement, b.mode, b.end_of_horizon),
            "solver": (b.aggregation, solver_options(sf.scenario)),
        }
    return out


def digest(value: Any) -> str:
    """A SHA-256 of a nested value (dataclasses, arrays, floats by their bits). Equal inputs, equal digests."""
    h = hashlib.sha256()

    def feed(v: Any) -> None:
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            h.update(type(v).__name__.encode())
            for f in dataclasses.fields(v):
                h.update(f.name.encode())
                feed(getattr(v, f.name))
        elif isinstance(v, np.ndarray):
            h.update(repr((v.shape, v.dtype.str)).encode())
            h.update(np.ascontiguousarray(v).tobytes())
        elif isinstance(v, dict):
            h.update(b"{")
            for k in sorted(v, key=str):
                feed(k)
                feed(v[k])
            h.update(b"}")
        elif isinstance(v, (list, tuple)):
            h.update(b"[")
            for x in v:
                feed(x)
            h.update(b"]")
        elif isinstance(v, float):
            h.update(b"nan" if math.isnan(v) else float(v).hex().encode())
        else:
            h.update(repr(v).encode())

    feed(value)
    return h.hexdigest()
