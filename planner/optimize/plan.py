"""FleetPlan: what the optimiser decided, every figure recomputed from the decision itself."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import (
    Any,
    Literal,
    NotRequired,  # pydantic reads them: not typing's on 3.11
)

import numpy as np
from typing_extensions import TypedDict

from planner.milp.aggregate import AggregationReport
from planner.milp.evaluate import Dispatch, PlanFigures, evaluate
from planner.milp.formulation import CostBreakdown, _ratio, single_period
from planner.milp.problem import FleetProblem
from planner.milp.reason import Reason
from planner.milp.solve import SolverInfo
from planner.milp.status import Status

# fleet.csv (`planner plan --out`) and the API's PlanResult.fleet: one row per SKU column
FLEET_COLUMNS = [
    "sku",
    "family",
    "chosen",
    "units",
    "gpus",
    "gpus_per_unit",
    "existing_units",
    "new_units",
    "max_units",
    "power_mw",
    "cost_usd_per_hour",
    "token_share",
    "mean_utilization",
    "placed_sku",
    "site",
    "procurement",
    "racks",
    "liquid_mw",
    "decommissioned_units",
    "capex_usd",
    "cost_per_million_tokens",
]


@dataclass(frozen=True)
class SkuResult:
    sku: str
    family: str
    chosen: bool
    units: (
        int | float | None
    )  # None when infeasible; on-demand columns: fractional (GPUs at the busiest slice / gpus_per_unit)
    gpus: int | float | None
    gpus_per_unit: int
    existing_units: int
    new_units: int | float | None
    max_units: float | None
    power_mw: float | None  # facility, full load [MW]
    cost_usd_per_hour: float | None  # run-rate [$/h]
    token_share: float | None  # share of tokens served [1]
    mean_utilization: float | None  # average busy share of its GPUs [1]
    throughput: dict[str, float]  # tokens/s per GPU by workload
    # placement (planner.optimize.placement); None without sites and procurement
    placed_sku: str | None = None  # the SKU this column places (sku is the column id)
    site: str | None = None  # site id; "cloud" for on-demand
    procurement: str | None = None  # owned | reserved | on_demand | existing | hourly
    racks: int | None = (
        None  # its share of the positions its site's rack group fills (shares add up to the site's) [racks]
    )
    liquid_mw: float | None = None  # IT power on the site's liquid loop [MW]
    decommissioned_units: int | None = None  # existing units retired by the plan [units]
    capex_usd: float | None = None  # purchase money of its new units [$]
    cost_per_million_tokens: float | None = None  # its cost over the span / its tokens [$/M tokens]

    def shown(self) -> tuple[str, str, str]:
        """(units, GPUs, existing + new) as people read them: whole counts. An on-demand column's
        fractional units are the whole units its busiest slice needs (rounded up) and its GPUs the
        nearest whole GPU; JSON and CSV keep the exact figures."""
        if self.units is None:
            return "-", "-", "-"
        whole = math.ceil(self.units - 1e-9) if isinstance(self.units, float) else self.units
        new = math.ceil(self.new_units - 1e-9) if isinstance(self.new_units, float) else self.new_units
        return f"{whole:,}", f"{self.gpus:,.0f}", f"{self.existing_units:,}+{new:,}"


@dataclass(frozen=True)
class CapUse:
    name: str  # power_cap | budget_cap | capex_cap | power_cap@<site> | rack_positions@<site> | liquid_cooling@<site> | supply@<sku> | quota@<sku>
    unit: str
    limit: float
    used: float
    binding: bool | None = None
    step: float | None = None
    saving_usd: float | None = None  # cost saved over the span by relaxing the cap by `step`
    saving_usd_per_year: float | None = None  # the same, per year of operation, per unit of step
    saving_usd_per_million_tokens: float | None = None
    extra_tokens: float | None = None  # max_tokens: tokens gained over the span by relaxing the cap
    lp_relaxation_dual: float | None = None  # $ per year per unit of cap (per MW, per $/h, per $), LP relaxation only
    kind: str | None = (
        None  # power_cap | budget_cap | capex_cap | site_power | rack_positions | liquid_cooling | supply
    )
    site: str | None = None  # site caps: the site
    field: str | None = None  # the scenario field that sets the limit


class MaxServedStage(TypedDict):
    """max_tokens' first stage: the most tokens the caps allow."""

    stage: Literal["max_served"]
    tokens_served: float  # [tokens]
    lp_relaxation_tokens: float  # the LP relaxation's most [tokens]


class ServiceFloorStage(TypedDict):
    """min_cost_per_token's floor: the tokens it must serve at least."""

    stage: Literal["service_floor"]
    tokens: float  # [tokens]


class DinkelbachStep(TypedDict):
    """One Dinkelbach iteration of min_cost_per_token: min cost - lambda x tokens."""

    iteration: int
    lambda_usd_per_million_tokens: float
    f_usd: float  # the optimum of cost - lambda x tokens [$]


Iteration = MaxServedStage | ServiceFloorStage | DinkelbachStep  # the plan JSON's ``iterations``


class SingleSkuFleet(TypedDict):
    """The best fleet buying only one SKU (``single_sku`` in the plan JSON); no fleet: figures None."""

    sku: str
    status: str
    units: NotRequired[float]  # whole units are ints
    total_cost_usd: float | None  # [$ over the span]
    tokens_served: NotRequired[float]
    cost_per_million_tokens: float | None
    power_mw: NotRequired[float]


class CapValue(TypedDict):
    """What one site cap is worth (a site row's ``power``, ``rack_positions_cap``, ``liquid_cooling``)."""

    binding: bool | None
    step: float | None
    saving_usd: float | None
    saving_usd_per_year: float | None
    lp_relaxation_dual: float | None


class PlanSite(TypedDict):
    """A site of the plan JSON's ``sites``: its use of each cap, the cap's value, its share."""

    site: str
    power_mw: float
    power_cap_mw: float | None
    power: CapValue | None
    racks: int | None
    rack_positions: int | None
    rack_positions_cap: CapValue | None
    liquid_mw: float
    liquid_cooling_mw: float | None
    liquid_cooling: CapValue | None
    pue: float
    electricity_usd_per_kwh: float
    gpus: float
    token_share: float
    columns: list[str]


class BurstSlice(TypedDict):
    """On-demand GPUs in one slice (``procurement[].by_slice``)."""

    hour: float
    gpu_hours: float
    peak_gpus: float
    cost_usd: float


class ProcurementUse(TypedDict):
    """A procurement kind of the plan JSON's ``procurement``; on-demand adds its GPU-hours per slice."""

    kind: str  # owned | existing | reserved | on_demand | hourly
    gpus: float
    cost_usd: float
    token_share: float
    decommissioned_units: float | None  # existing only
    gpu_hours: NotRequired[float]
    by_slice: NotRequired[list[BurstSlice]]


class PlacementSections(TypedDict):
    sites: list[PlanSite]
    procurement: list[ProcurementUse]


class BandEdge(TypedDict):
    """The plan at one edge of the throughput band."""

    status: str
    fleet: dict[str, float]  # units per SKU
    cost_per_million_tokens: float | None
    same_fleet: bool


class EstimatedNumber(TypedDict):
    """An estimated throughput figure the plan uses, with its band. [tokens/s per GPU]"""

    sku: str
    workload: str
    tokens_per_s_per_gpu: float
    low: float | None
    high: float | None
    basis: str


class ThroughputBand(TypedDict):
    """The plan JSON's ``throughput_band``: the estimated numbers and the plan at each band edge."""

    planned_on: str  # low | mid | high | mixed
    estimated: list[EstimatedNumber]
    estimated_skus: list[str]
    edges: dict[str, BandEdge]
    same_fleet_at_edges: bool


class DispatchRow(TypedDict):
    """dispatch.csv: one slice, workload and SKU that serves it."""

    hour: float
    slice_hours: float
    workload: str
    sku: str
    busy_gpus_at_peak: float
    busy_gpus_mean: float
    tokens_per_s_at_peak: float
    demand_peak_tokens_per_s: float
    demand_mean_tokens_per_s: float
    unserved_peak_tokens_per_s: float


@dataclass(frozen=True)
class FleetPlan:
    scenario: str
    objective: str
    status: Status
    fleet: list[SkuResult]
    total_cost_usd: float
    fixed_cost_usd: float
    energy_cost_usd: float
    tokens_demanded: float
    tokens_served: float
    unserved_tokens: dict[str, float]
    cost_per_million_tokens: float
    power_mw: float
    power_cap_mw: float | None
    run_rate_usd_per_hour: float
    budget_usd_per_hour: float | None
    capex_spend_usd: float
    capex_budget_usd: float | None
    span_hours: float
    slices: int
    caps: list[CapUse] = field(default_factory=list)
    binding: list[str] = field(default_factory=list)
    single_sku: list[SingleSkuFleet] = field(default_factory=list)
    mix_saving_usd: float | None = None
    solver: SolverInfo | None = None
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    reason: Reason | None = None
    aggregation: AggregationReport | None = None
    iterations: list[Iteration] = field(default_factory=list)
    scenario_sha256: str = ""  # content hash of the scenario planned (overrides applied)
    sites: list[PlanSite] = field(default_factory=list)  # per site: power, racks, liquid cooling used of caps
    procurement: list[ProcurementUse] = field(default_factory=list)  # per kind: GPUs, $, share; cloud burst per slice
    decommission_cost_usd: float = 0.0  # existing units decommissioned [$]
    burst_cost_usd: float = 0.0  # on-demand busy GPU-hours x their rate [$]
    cost_breakdown_usd: CostBreakdown | None = None  # total_cost_usd by name: the parts sum to it [$]
    throughput_band: ThroughputBand | None = None  # estimated throughput: which numbers, the plan at the band's edges
    dispatch: Dispatch | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (dispatch arrays excluded; see dispatch_rows)."""
        d = asdict(self)
        d.pop("dispatch")
        for f in d["fleet"]:
            if f["max_units"] is not None and math.isinf(f["max_units"]):
                f["max_units"] = None
        return d


def infeasible_plan(problem: FleetProblem, reason: Reason, solver: SolverInfo, timings) -> FleetPlan:
    c = problem.curve
    fleet = [
        SkuResult(  # no fleet was chosen: units unknown (null), existing units as given
            s.id,
            s.family,
            False,
            None,
            None,
            s.gpus_per_unit,
            s.min_units,
            None,
            None if math.isinf(s.max_units) else s.max_units,
            None,
            None,
            None,
            None,
            dict(s.throughput),
        )
        for s in problem.skus
    ]
    return FleetPlan(
        scenario=problem.name,
        objective=problem.objective,
        status=Status.INFEASIBLE,
        fleet=fleet,
        total_cost_usd=float("nan"),
        fixed_cost_usd=float("nan"),
        energy_cost_usd=float("nan"),
        tokens_demanded=float(c.tokens().sum()),
        tokens_served=0.0,
        unserved_tokens={},
        cost_per_million_tokens=float("nan"),
        power_mw=float("nan"),
        power_cap_mw=problem.power_cap_mw,
        run_rate_usd_per_hour=float("nan"),
        budget_usd_per_hour=problem.budget_usd_per_hour,
        capex_spend_usd=float("nan"),
        capex_budget_usd=problem.capex_budget_usd,
        span_hours=c.span_hours,
        slices=len(c.start_hours),
        solver=solver,
        timings=timings,
        notes=list(problem.notes),
        reason=reason,
        scenario_sha256=problem.scenario_sha256,
    )


def assemble_plan(problem: FleetProblem, units: np.ndarray, dispatch: Dispatch, status: str, **extra) -> FleetPlan:
    ev = evaluate(problem, units, dispatch)
    served = ev.tokens_served
    fleet = []
    placed = any(s.procurement is not None for s in problem.skus)
    from planner.milp.formulation import column_racks, rack_groups

    # each column's share of its site's positions: the columns' racks add up to the site's
    shares = column_racks(rack_groups(single_period(problem)), np.asarray(units, dtype=float)) if placed else {}
    for j, s in enumerate(problem.skus):
        n = float(units[j]) if s.continuous else int(units[j])
        tokens = float(ev.tokens_by_sku[j])
        place = {}
        if placed:
            place = {
                "placed_sku": s.base_id,
                "site": s.site,
                "procurement": s.procurement,
                "racks": shares.get(j, int(math.ceil(n / s.units_per_rack - 1e-9)))
                if s.units_per_rack and s.on_site
                else None,
                "liquid_mw": n * s.gpus_per_unit * s.it_kw_per_gpu / 1000.0
                if s.cooling == "liquid" and s.on_site
                else 0.0,
                "decommissioned_units": int(s.min_units - n) if s.procurement == "existing" else None,
            }
        # every plan: the purchase money of its new units, and its own cost per token
        place["capex_usd"] = (
            0.0 if math.isnan(s.capex_usd_per_gpu) else max(n - s.min_units, 0) * s.gpus_per_unit * s.capex_usd_per_gpu
        )
        place["cost_per_million_tokens"] = float(ev.column_cost_usd[j] / tokens * 1e6) if tokens > 0 else None
        fleet.append(
            SkuResult(
                sku=s.id,
                family=s.family,
                chosen=n > 0,
                units=n,
                gpus=n * s.gpus_per_unit,
                gpus_per_unit=s.gpus_per_unit,
                existing_units=s.min_units,
                new_units=0 if s.procurement == "existing" else n - s.min_units,
                max_units=None if math.isinf(s.max_units) else s.max_units,
                power_mw=n * s.gpus_per_unit * s.facility_kw_per_gpu / 1000.0,
                cost_usd_per_hour=n * s.gpus_per_unit * (s.cost_usd_per_gpu_hour + s.busy_usd_per_gpu_hour),
                token_share=tokens / served if served > 0 else 0.0,
                mean_utilization=float(ev.utilization[j]),
                throughput=dict(s.throughput),
                **place,
            )
        )
    sections = placement_sections(problem, units, dispatch, ev, fleet, extra.get("caps", [])) if placed else {}
    c = problem.curve
    return FleetPlan(
        scenario=problem.name,
        objective=problem.objective,
        status=Status(status),
        fleet=fleet,
        total_cost_usd=ev.total_cost_usd,
        fixed_cost_usd=ev.fixed_cost_usd,
        energy_cost_usd=ev.energy_cost_usd,
        tokens_demanded=ev.tokens_demanded,
        tokens_served=served,
        unserved_tokens=ev.unserved_tokens,
        cost_per_million_tokens=ev.cost_per_million_tokens,
        power_mw=ev.power_kw / 1000.0,
        power_cap_mw=problem.power_cap_mw,
        run_rate_usd_per_hour=ev.run_rate_usd_per_hour,
        budget_usd_per_hour=problem.budget_usd_per_hour,
        capex_spend_usd=ev.capex_spend_usd,
        capex_budget_usd=problem.capex_budget_usd,
        span_hours=ev.span_hours,
        slices=len(c.start_hours),
        notes=list(problem.notes),
        dispatch=dispatch,
        scenario_sha256=problem.scenario_sha256,
        decommission_cost_usd=ev.decommission_cost_usd,
        burst_cost_usd=ev.burst_cost_usd,
        cost_breakdown_usd=ev.cost_breakdown_usd,
        **sections,
        **extra,
    )


def placement_sections(
    problem: FleetProblem, units, dispatch: Dispatch, ev: PlanFigures, fleet, caps
) -> PlacementSections:
    """The plan's ``sites`` and ``procurement`` sections (placed scenarios)."""
    from planner.milp.formulation import rack_groups, racks_needed

    bp = single_period(problem)
    groups = rack_groups(bp)
    racks = racks_needed(groups, np.asarray(units, dtype=float)[:, None])[:, 0] if groups else np.zeros(0)
    by_cap = {c.name: c for c in caps}
    sites: list[PlanSite] = []
    for site in problem.sites:
        cols = [j for j, s in enumerate(problem.skus) if s.site == site.id]
        used_racks = sum(int(racks[g]) for g, grp in enumerate(groups) if grp.site == site.id)

        def cap_of(label: str, site=site) -> CapValue | None:
            c = by_cap.get(f"{label}@{site.id}")
            if c is None:
                return None
            return {
                "binding": c.binding,
                "step": c.step,
                "saving_usd": c.saving_usd,
                "saving_usd_per_year": c.saving_usd_per_year,
                "lp_relaxation_dual": c.lp_relaxation_dual,
            }

        sites.append(
            {
                "site": site.id,
                "power_mw": sum(fleet[j].power_mw for j in cols),
                "power_cap_mw": site.power_cap_mw,
                "power": cap_of("power_cap"),
                "racks": used_racks if site.rack_positions is not None else None,
                "rack_positions": site.rack_positions,
                "rack_positions_cap": cap_of("rack_positions"),
                "liquid_mw": sum(fleet[j].liquid_mw or 0.0 for j in cols),
                "liquid_cooling_mw": site.liquid_cooling_mw,
                "liquid_cooling": cap_of("liquid_cooling"),
                "pue": site.pue,
                "electricity_usd_per_kwh": site.electricity_usd_per_kwh,
                "gpus": sum(fleet[j].gpus for j in cols),
                "token_share": sum(fleet[j].token_share for j in cols),
                "columns": [problem.skus[j].id for j in cols],
            }
        )
    c = problem.curve
    r = _ratio(problem)
    procurement: list[ProcurementUse] = []
    for kind in ("owned", "existing", "reserved", "on_demand", "hourly"):
        cols = [j for j, s in enumerate(problem.skus) if s.procurement == kind]
        if not cols:
            continue
        row: ProcurementUse = {
            "kind": kind,
            "gpus": sum(fleet[j].gpus for j in cols),
            "cost_usd": float(sum(ev.column_cost_usd[j] for j in cols)),
            "token_share": sum(fleet[j].token_share for j in cols),
            "decommissioned_units": sum(fleet[j].decommissioned_units or 0 for j in cols)
            if kind == "existing"
            else None,
        }
        if kind == "on_demand":
            mean_busy = dispatch.busy[cols] * r[None, :, :]  # (C, W, T)
            gpus = mean_busy.sum(axis=(0, 1))
            rate = np.array([problem.skus[j].busy_usd_per_gpu_hour for j in cols])
            cost = (mean_busy.sum(axis=1) * rate[:, None]).sum(axis=0) * c.slice_hours
            row["gpu_hours"] = float((gpus * c.slice_hours).sum())
            row["by_slice"] = [
                {
                    "hour": float(c.start_hours[t]),
                    "gpu_hours": float(gpus[t] * c.slice_hours[t]),
                    "peak_gpus": float(dispatch.busy[cols, :, t].sum()),
                    "cost_usd": float(cost[t]),
                }
                for t in range(len(c.start_hours))
            ]
        procurement.append(row)
    return {"sites": sites, "procurement": procurement}


def dispatch_rows(problem: FleetProblem, plan: FleetPlan) -> list[DispatchRow]:
    """Long-form dispatch: one row per slice, workload and SKU that serves it."""
    if plan.dispatch is None:
        return []
    c = problem.curve
    r = _ratio(problem)
    theta = problem.throughput
    rows: list[DispatchRow] = []
    for t in range(len(c.start_hours)):
        for k, w in enumerate(problem.workloads):
            for j, s in enumerate(problem.skus):
                if theta[j, k] <= 0:
                    continue
                b = float(plan.dispatch.busy[j, k, t])
                rows.append(
                    {
                        "hour": float(c.start_hours[t]),
                        "slice_hours": float(c.slice_hours[t]),
                        "workload": w,
                        "sku": s.id,
                        "busy_gpus_at_peak": b,
                        "busy_gpus_mean": b * float(r[k, t]),
                        "tokens_per_s_at_peak": b * float(theta[j, k]),
                        "demand_peak_tokens_per_s": float(c.peak[k, t]),
                        "demand_mean_tokens_per_s": float(c.mean[k, t]),
                        "unserved_peak_tokens_per_s": float(plan.dispatch.unserved[k, t]),
                    }
                )
    return rows
