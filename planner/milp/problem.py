"""The fleet model's input as plain numbers: SKU columns, sites, periods, cohorts.

Built from a scenario by ``planner.optimize.problem.build_problem`` (one period) and
``planner.buildout.problem.build_buildout_problem`` (a horizon); the formulation
(``planner.milp.formulation``) reads nothing else."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from planner.demand.curve import LoadCurve
from planner.economics import HOURS_PER_YEAR, gpu_hour_costs


@dataclass(frozen=True)
class SkuData:
    """One SKU as the optimiser sees it."""

    id: str
    family: str
    gpus_per_unit: int
    facility_kw_per_gpu: float  # full load, facility [kW]
    facility_idle_kw_per_gpu: float  # idle, facility [kW]
    cost_usd_per_gpu_hour: float  # [$/GPU-h]
    energy_billed: bool
    capex_usd_per_gpu: float  # NaN: no purchase price (rented) [$/GPU]
    min_units: int  # existing fleet [units]
    max_units: float  # supply limit, inf if none [units]
    throughput: dict[str, float]  # workload -> tokens/s per GPU; absent = cannot serve
    throughput_basis: dict[str, str]  # workload -> how the figure was obtained
    # workload -> (low, high) of an estimated figure's band [tokens/s per GPU]; measured figures have none
    throughput_range: dict[str, tuple[float, float]] = field(default_factory=dict)
    mtbf_hours_per_gpu: float | None = None
    mttr_hours: float | None = None
    gpus_per_failure_domain: int | None = None
    origin: str = "inline"  # "catalog" or "inline"
    reliability_basis: str = "catalog"  # catalog | scenario | default (...): where the MTBF and MTTR come from
    # ---- placement (sites and procurement; planner.optimize.placement). Defaults: one implicit site,
    # the SKU priced per installed GPU-hour as without sites.
    sku: str = ""  # the SKU this column places ("" : id)
    site: str | None = None  # site id; "cloud" for on-demand; None: the one implicit site
    procurement: str | None = None  # owned | reserved | on_demand | existing; None: as priced (no sites)
    it_kw_per_gpu: float = math.nan  # IT power at full load [kW]
    electricity_usd_per_kwh: float | None = None  # its site's price; None: the problem's [$/kWh]
    busy_usd_per_gpu_hour: float = 0.0  # on-demand: the rate per busy GPU-hour [$/GPU-h]
    utilization_cap: float | None = None  # None: the problem's max_utilization; on-demand 1 [1]
    continuous: bool = False  # on-demand: GPUs per slice, not whole units
    cooling: str = "air"  # air | liquid
    units_per_rack: int | None = None  # units one position of its site holds (density included) [units]
    decommission_usd_per_unit: float | None = None  # existing units that may retire: one-off cost; None: kept [$]
    offer: Any = None  # the procurement entry it comes from (planner.scenario.schema.Owned | Reserved | OnDemand)
    lead_time_months: float = 0.0  # buildout: months from order to racked [months]
    sku_max_units: float = math.inf  # the SKU's supply limit over its on-site columns (several columns) [units]
    age_years: float = 0.0  # existing column: age at the start [years]

    @property
    def base_id(self) -> str:
        """The SKU this column places."""
        return self.sku or self.id

    @property
    def on_site(self) -> bool:
        """At one of your sites (not cloud capacity)."""
        return self.site != "cloud"

    @property
    def own_supply_limit(self) -> bool:
        """Whether ``max_units`` is this column's own supply limit, ``skus.<id>.max_units`` on a SKU's
        one column (not an on-demand quota, not the existing units, not a limit over several
        columns): a cap row of the fleet model."""
        return (
            self.procurement not in ("on_demand", "existing")
            and math.isfinite(self.max_units)
            and not math.isfinite(self.sku_max_units)
        )

    def utilization_limit(self, default: float) -> float:
        return default if self.utilization_cap is None else self.utilization_cap


@dataclass(frozen=True)
class SiteData:
    """A facility as the optimiser sees it."""

    id: str
    power_cap_mw: float | None  # facility power at full load [MW]
    pue: float  # [1]
    electricity_usd_per_kwh: float  # [$/kWh]
    rack_positions: int | None  # [racks]
    max_kw_per_rack: float | None  # IT [kW]
    liquid_cooling_mw: float | None  # IT [MW]


@dataclass(frozen=True)
class FleetProblem:
    """Everything the MILP needs. Arrays index SKUs (S), workloads (W) and slices (T)."""

    name: str
    skus: tuple[SkuData, ...]
    curve: LoadCurve
    electricity_usd_per_kwh: float
    power_cap_mw: float | None
    budget_usd_per_hour: float | None
    capex_budget_usd: float | None
    max_utilization: float
    objective: str
    min_served_fraction: float | None = None  # min_cost_per_token's service floor; None: the most the caps allow [1]
    aggregation: str = "auto"  # time aggregation: auto | on | off
    scenario_sha256: str = ""  # content hash of the scenario it was built from (planner.scenario.load)
    notes: tuple[str, ...] = field(default_factory=tuple)
    sites: tuple[SiteData, ...] = ()  # facilities with their own caps; () : one implicit site

    # ---- array views -------------------------------------------------------------
    @property
    def workloads(self) -> tuple[str, ...]:
        return self.curve.workloads

    @property
    def sku_ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.skus)

    @property
    def throughput(self) -> np.ndarray:
        """(S, W) tokens/s per GPU; 0 where a SKU cannot serve a workload."""
        return np.array([[s.throughput.get(w, 0.0) for w in self.workloads] for s in self.skus], dtype=float)

    def column(self, name: str) -> np.ndarray:
        return np.array([getattr(s, name) for s in self.skus], dtype=float)

    def electricity_prices(self) -> np.ndarray:
        """(S,) each column's electricity price: its site's, else the problem's. [$/kWh]"""
        return np.array([electricity_price(s, self.electricity_usd_per_kwh) for s in self.skus], dtype=float)

    def utilization_caps(self) -> np.ndarray:
        """(S,) busy share cap of each column. [1]"""
        return np.array([s.utilization_limit(self.max_utilization) for s in self.skus], dtype=float)

    def gpu_hour_costs(self) -> tuple[np.ndarray, np.ndarray]:
        """(fixed, busy) $ per GPU-hour of each SKU (``planner.economics.gpu_hour_costs``). [$/GPU-h]"""
        return gpu_hour_costs(
            price_usd_per_gpu_hour=self.column("cost_usd_per_gpu_hour"),
            full_kw_per_gpu=self.column("facility_kw_per_gpu"),
            idle_kw_per_gpu=self.column("facility_idle_kw_per_gpu"),
            energy_billed=self.column("energy_billed"),
            electricity_usd_per_kwh=self.electricity_prices(),
            busy_price_usd_per_gpu_hour=self.column("busy_usd_per_gpu_hour"),
        )

    def with_changes(self, **changes) -> FleetProblem:
        return replace(self, **changes)

    def with_cap(self, field_path: str, limit: float | None) -> FleetProblem:
        """The problem with the cap a cap-table ``field`` names set to ``limit`` (None: no cap):
        ``constraints.<cap>``, ``sites.<id>.<cap>``, ``skus.<id>.max_units`` or an on-demand quota,
        ``skus.<id>.procurement.on_demand.max_gpus`` (its column's units: the GPUs / g)."""
        head, _, rest = field_path.partition(".")
        if head == "skus" and rest.endswith(".procurement.on_demand.max_gpus"):
            sku_id = rest.removesuffix(".procurement.on_demand.max_gpus")
            return replace(
                self,
                skus=tuple(
                    replace(s, max_units=math.inf if limit is None else limit / s.gpus_per_unit)
                    if s.base_id == sku_id and s.procurement == "on_demand"
                    else s
                    for s in self.skus
                ),
            )
        if head == "sites":
            site_id, _, key = rest.rpartition(".")
            sites = tuple(_site_with_cap(s, key, limit) if s.id == site_id else s for s in self.sites)
            return replace(self, sites=sites)
        if head == "skus":
            sku_id, _, _ = rest.rpartition(".")
            value = math.inf if limit is None else limit
            ours = [s for s in self.skus if s.base_id == sku_id]
            if any(math.isfinite(s.sku_max_units) for s in ours):  # a limit over several on-site columns
                skus = tuple(replace(s, sku_max_units=value) if s in ours and s.on_site else s for s in self.skus)
            else:  # the SKU's one column that carries max_units itself
                skus = tuple(
                    replace(s, max_units=value) if s.base_id == sku_id and s.own_supply_limit else s for s in self.skus
                )
            return replace(self, skus=skus)
        key = field_path.rsplit(".", 1)[-1]
        if key == "power_cap_mw":
            return replace(self, power_cap_mw=limit)
        if key == "budget_usd_per_hour":
            return replace(self, budget_usd_per_hour=limit)
        if key == "capex_budget_usd":
            return replace(self, capex_budget_usd=limit)
        raise ValueError(f"{field_path} is not a cap of the plan")


def _site_with_cap(site: SiteData, key: str, limit: float | None) -> SiteData:
    """``site`` with its cap ``key`` (a site field of the cap table) set to ``limit``."""
    if key == "power_cap_mw":
        return replace(site, power_cap_mw=limit)
    if key == "liquid_cooling_mw":
        return replace(site, liquid_cooling_mw=limit)
    if key == "rack_positions":
        if limit is not None and not float(limit).is_integer():
            raise ValueError(f"sites.{site.id}.rack_positions counts whole positions, not {limit}")
        return replace(site, rack_positions=None if limit is None else int(limit))
    raise ValueError(f"sites.{site.id}.{key} is not a site cap")


def electricity_price(s: SkuData, default: float) -> float:
    """A column's electricity price: its site's, else ``default``. [$/kWh]"""
    return default if s.electricity_usd_per_kwh is None else s.electricity_usd_per_kwh


@dataclass(frozen=True)
class Period:
    """One period of the horizon."""

    label: str
    start: str  # ISO date
    hours: float  # [h]
    months_from_start: float  # at the period's start [months]
    discount_factor: float  # (1 + r)^(-years from the horizon start to the period start) [1]
    curve: LoadCurve  # representative demand of the period [tokens/s]
    power_cap_mw: float | None  # [MW]
    capex_budget_usd: float | None  # [$]
    budget_usd_per_hour: float | None = None  # run-rate cap [$/h]

    @property
    def weight(self) -> float:
        """Period hours per hour of its representative curve. [1]"""
        return self.hours / self.curve.span_hours


@dataclass(frozen=True)
class BuildoutSku:
    """One SKU over time."""

    sku: SkuData  # resolved figures (min_units 0: the fleet comes from cohorts)
    pricing: str  # owned | hourly
    available: tuple[bool, ...]  # can be bought in period p
    capex_usd_per_gpu: tuple[float, ...]  # purchase price per period (NaN: none) [$/GPU]
    cost_usd_per_gpu_hour: tuple[float, ...]  # hourly pricing, per period [$/GPU-h]
    fixed_opex_usd_per_gpu_year: float  # owned [$/GPU-year]
    life_years: float  # [years]
    life_periods: int  # periods a unit serves after purchase [periods]
    annuity_usd_per_gpu_year: tuple[float, ...]  # capex x CRF(r, life) by purchase period [$/GPU-year]
    lead_periods: int = 0  # a purchase arrives this many periods after its order (buy[s,p]: arrivals in p)
    committed_usd_per_gpu: tuple[float, ...] | None = None  # an upfront reservation: rate x term at its start [$/GPU]
    order_available: tuple[bool, ...] | None = None  # with a lead time: can be ordered in period q
    order_capex_usd_per_gpu: tuple[float, ...] | None = None  # with a lead time: price by order period [$/GPU]
    crf: float = 0.0  # capital recovery factor of its purchases [1/year]
    resale_fraction: float = 0.0  # owned: share of the remaining capital a unit retired early gets back [1]

    def with_lead(self, lead: int) -> BuildoutSku:
        """The same column with another lead time (arrivals shifted; prices those of the order period)."""
        if self.order_available is None:
            return self
        n = len(self.available)
        ordered = [p - lead for p in range(n)]
        available = tuple(q >= 0 and self.order_available[q] for q in ordered)
        if self.order_capex_usd_per_gpu is None:
            return replace(self, available=available, lead_periods=lead)
        capex = tuple(self.order_capex_usd_per_gpu[q] if q >= 0 else math.nan for q in ordered)
        annuity = tuple(0.0 if math.isnan(q) else q * self.crf for q in capex)
        return replace(
            self, available=available, capex_usd_per_gpu=capex, annuity_usd_per_gpu_year=annuity, lead_periods=lead
        )

    @property
    def id(self) -> str:
        return self.sku.id

    @property
    def energy_billed(self) -> bool:
        """Owned units pay their electricity; hourly ones as their price says."""
        return self.pricing == "owned" or self.sku.energy_billed

    def price_usd_per_gpu_hour(self, p: int) -> float:
        """What an installed GPU-hour costs before energy, capital of owned units excluded. [$/GPU-h]"""
        if self.pricing == "owned":
            return self.fixed_opex_usd_per_gpu_year / HOURS_PER_YEAR
        return self.cost_usd_per_gpu_hour[p]

    def run_rate_usd_per_gpu_hour(self, p: int) -> float:
        """The run-rate a GPU installed in p counts against a budget: its hourly price, or (owned)
        the annuity at p's purchase price plus fixed opex, per hour. [$/GPU-h]"""
        if self.pricing == "owned":
            return self.annuity_usd_per_gpu_year[p] / HOURS_PER_YEAR + self.price_usd_per_gpu_hour(p)
        return self.cost_usd_per_gpu_hour[p] + self.sku.busy_usd_per_gpu_hour  # on-demand: its rate at the peak

    def gpu_hour_costs(self, p: int, electricity_usd_per_kwh: float) -> tuple[float, float]:
        """(fixed, busy) $ per installed GPU-hour in p (``planner.economics.gpu_hour_costs``). [$/GPU-h]"""
        return gpu_hour_costs(
            price_usd_per_gpu_hour=self.price_usd_per_gpu_hour(p),
            full_kw_per_gpu=self.sku.facility_kw_per_gpu,
            idle_kw_per_gpu=self.sku.facility_idle_kw_per_gpu,
            energy_billed=self.energy_billed,
            electricity_usd_per_kwh=electricity_price(self.sku, electricity_usd_per_kwh),
            busy_price_usd_per_gpu_hour=self.sku.busy_usd_per_gpu_hour,
        )

    def fleet_usd_per_gpu_hour(self, p: int, electricity_usd_per_kwh: float) -> float:
        """Cost per installed GPU-hour, busy or idle, excluding capital of owned units. [$/GPU-h]"""
        return self.gpu_hour_costs(p, electricity_usd_per_kwh)[0]

    def busy_usd_per_gpu_hour(self, electricity_usd_per_kwh: float) -> float:
        """Extra electricity of a busy GPU over an idle one. [$/GPU-h]"""
        return self.gpu_hour_costs(0, electricity_usd_per_kwh)[1]


@dataclass(frozen=True)
class Cohort:
    """Units installed before the first period."""

    sku: int  # index into BuildoutProblem.skus
    units: int  # [units]
    age_months: float  # [months]
    remaining_periods: int  # periods it still serves (>= 1) [periods]
    annuity_usd_per_gpu_year: float  # owned: still charged while inside its life [$/GPU-year]


@dataclass(frozen=True)
class BuildoutProblem:
    """Everything the multi-period model needs."""

    name: str
    periods: tuple[Period, ...]
    skus: tuple[BuildoutSku, ...]
    cohorts: tuple[Cohort, ...]
    workloads: tuple[str, ...]
    electricity_usd_per_kwh: float  # [$/kWh]
    max_utilization: float  # [1]
    discount_rate: float  # [1/year]
    total_capex_budget_usd: float | None  # [$]
    early_retirement: bool
    mode: str  # perfect_foresight | myopic
    end_of_horizon: str  # annuities | purchase
    aggregation: str = "auto"  # time aggregation of each period's curve: auto | on | off
    notes: tuple[str, ...] = field(default_factory=tuple)
    sites: tuple[SiteData, ...] = ()  # facilities with their own caps (planner.optimize.placement)

    @property
    def sku_ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.skus)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(p.label for p in self.periods)

    @property
    def throughput(self) -> np.ndarray:
        """(S, W) tokens/s per GPU; 0 where a SKU cannot serve a workload."""
        return np.array([[s.sku.throughput.get(w, 0.0) for w in self.workloads] for s in self.skus], dtype=float)

    def existing_units(self) -> np.ndarray:
        """(S,) units installed before the first period."""
        out = np.zeros(len(self.skus))
        for c in self.cohorts:
            out[c.sku] += c.units
        return out

    def existing_alive(self) -> np.ndarray:
        """(S, P) units of the initial cohorts still inside their life in period p."""
        out = np.zeros((len(self.skus), len(self.periods)))
        for c in self.cohorts:
            out[c.sku, : c.remaining_periods] += c.units
        return out

    def hours_and_discount(self, q: int) -> tuple[float, float]:
        """(hours, discount factor) of period q, continued past the horizon with the last period's
        length (what a unit's life after the horizon is valued at). [h], [1]"""
        P = len(self.periods)
        if q < P:
            return self.periods[q].hours, self.periods[q].discount_factor
        last = self.periods[-1]
        months = last.hours * 12.0 / HOURS_PER_YEAR
        return last.hours, last.discount_factor * (1.0 + self.discount_rate) ** (-(q - P + 1) * months / 12.0)

    def with_changes(self, **changes) -> BuildoutProblem:
        return replace(self, **changes)
