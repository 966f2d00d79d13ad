"""FleetProblem: the optimisation input as plain arrays, built from a Scenario and a LoadCurve.

This is where catalog SKUs become numbers: $/GPU-hour at the scenario's pricing tier,
facility kW per GPU (all-in as published, or IT x PUE; inline SKUs: IT x PUE), and
tokens/s per GPU at each workload's service level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from planner.catalog.load import Catalog, scenario_catalog, unknown_id_message
from planner.catalog.throughput import max_interactivity, throughput_at
from planner.demand.curve import LoadCurve
from planner.economics import gpu_hour_costs
from planner.errors import ScenarioError
from planner.scenario.load import ScenarioFile, scenario_sha256
from planner.scenario.schema import Scenario, SkuEntry

DEFAULT_IDLE_FRACTION = 0.30  # idle draw / full-load draw for inline SKUs; see models/skus.yaml idle-estimate


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
    mip_rel_gap: float = 1e-4
    time_limit_s: float = 120.0
    threads: int = 1
    backend: str = "highs"
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
        ``constraints.<cap>``, ``sites.<id>.<cap>`` or ``skus.<id>.max_units``."""
        head, _, rest = field_path.partition(".")
        if head == "sites":
            site_id, _, key = rest.rpartition(".")
            sites = tuple(replace(s, **{key: limit}) if s.id == site_id else s for s in self.sites)
            return replace(self, sites=sites)
        if head == "skus":
            sku_id, _, _ = rest.rpartition(".")
            value = math.inf if limit is None else limit
            return replace(
                self,
                skus=tuple(
                    replace(s, sku_max_units=value) if s.base_id == sku_id and s.on_site else s for s in self.skus
                ),
            )
        return replace(self, **{field_path.rsplit(".", 1)[-1]: limit})


def electricity_price(s: SkuData, default: float) -> float:
    """A column's electricity price: its site's, else ``default``. [$/kWh]"""
    return default if s.electricity_usd_per_kwh is None else s.electricity_usd_per_kwh


@dataclass(frozen=True)
class WorkloadSource:
    """Where a demand column's throughput comes from: a catalog workload or a curve file."""

    label: str  # catalog workload id, or "<model> <isl>/<osl> in <curve file>"
    target: float  # interactivity target [tok/s/user]
    series: dict[str, list] | None = None  # curve file: per SKU, its series; None: the catalog's
    estimates: dict[str, Any] = field(default_factory=dict)  # estimate: true: SKU -> EstPoint at the target
    band: str = "mid"  # which of an estimate's figures the plan uses: low | mid | high

    def for_sku(self, catalog: Catalog, sku: str) -> list:
        return self.series.get(sku, []) if self.series is not None else catalog.series(self.label, sku)


def _curve_source(
    sf: ScenarioFile, w: str, entry, problems: list[str], catalog: Catalog, notes: list[str]
) -> WorkloadSource | None:
    from planner.throughput.curves import read_curve_file, series_for, shapes

    path = sf.resolve(entry.curve)
    try:
        cf = read_curve_file(path)
    except ScenarioError as exc:
        problems.append(
            f"workloads.{w}.curve: {exc}" + ("".join(f"; {p}" for p in exc.problems) if exc.problems else "")
        )
        return None
    series = series_for(cf.points, model=entry.model, isl=entry.isl, osl=entry.osl)
    if not series:
        problems.append(
            f"workloads.{w}.curve: {path} holds no point of {entry.model} at {entry.isl}/{entry.osl} "
            f"(it holds {', '.join(shapes(cf.points)) or 'no points'})"
        )
        return None
    src = WorkloadSource(
        f"{entry.model} {entry.isl}/{entry.osl} in {path.name}",
        entry.interactivity,
        series,
        band=entry.throughput_band or "mid",
    )
    if entry.estimate:
        _estimates(sf, w, entry, cf.points, src, catalog, problems, notes)
    return src


def _estimates(sf, w, entry, points, src: WorkloadSource, catalog: Catalog, problems, notes) -> None:
    """``estimate: true``: throughput at the target for each catalog SKU of the scenario the curve
    file has no point for (planner.throughput.estimate), each with its tier and band."""
    from planner.throughput.estimate import estimate, model_config_for

    todo = [e.id for e in sf.scenario.skus if e.id in catalog.skus and e.id not in src.series]
    if not todo:
        problems.append(
            f"workloads.{w}.estimate: every catalog SKU of the scenario has points in the curve file, so nothing "
            "would be estimated; drop estimate: true or add a SKU to estimate"
        )
        return
    try:
        path = sf.resolve(entry.model_config_file) if entry.model_config_file else None
        cfg = model_config_for(entry.model, path)
        est = estimate(
            points,
            cfg,
            model=entry.model,
            isl=entry.isl,
            osl=entry.osl,
            to=todo,
            interactivity=[entry.interactivity],
            catalog=catalog,
        )
    except ScenarioError as exc:
        problems.append(f"workloads.{w}.estimate: {exc}")
        return
    for c in est.curves:
        if c.points:
            src.estimates[c.sku] = c.points[0]
    notes.extend(f"{w}: {n}" for n in est.notes)


def _workload_map(
    scn: Scenario,
    curve: LoadCurve,
    catalog: Catalog,
    problems: list[str],
    sf: ScenarioFile | None = None,
    notes: list[str] | None = None,
) -> dict[str, WorkloadSource]:
    """curve column -> where its throughput comes from and its interactivity target."""
    out: dict[str, WorkloadSource] = {}
    notes = [] if notes is None else notes
    for key in scn.workloads:
        if key not in curve.workloads:
            problems.append(f"workloads.{key}: no such column in the demand (columns: {', '.join(curve.workloads)})")
    for w in curve.workloads:
        entry = scn.workloads.get(w)
        if entry is not None and entry.curve is not None and sf is not None:
            src = _curve_source(sf, w, entry, problems, catalog, notes)
            if src is not None:
                out[w] = src
            continue
        cat_id = (entry.catalog if entry and entry.catalog else None) or (w if w in catalog.workloads else None)
        if cat_id is None:
            if entry is not None and entry.interactivity is not None:
                problems.append(
                    f"workloads.{w}: an interactivity target needs a catalog workload; add catalog: "
                    f"(one of {', '.join(catalog.workloads)})"
                )
            continue
        if cat_id not in catalog.workloads:
            problems.append(f"workloads.{w}.catalog: {unknown_id_message('workload', cat_id, catalog.workloads)}")
            continue
        target = (
            entry.interactivity
            if entry and entry.interactivity
            else catalog.workloads[cat_id].default_interactivity.value
        )
        out[w] = WorkloadSource(cat_id, target)
    return out


def _resolve_sku(
    e: SkuEntry,
    scn: Scenario,
    catalog: Catalog,
    wmap: dict[str, WorkloadSource],
    workloads: tuple[str, ...],
    problems: list[str],
    notes: list[str],
    where: str,
) -> SkuData | None:
    econ = scn.economics
    existing = scn.existing.get(e.id, 0)
    existing = existing if isinstance(existing, int) else 0  # mappings: planner.optimize.placement
    max_units = math.inf if e.max_units is None else float(e.max_units)
    if e.id in catalog.skus:
        c = catalog.skus[e.id]
        it_kw = e.power_kw_per_gpu or c.power.it_kw_per_gpu.value
        if e.power_kw_per_gpu is not None or econ.power_basis == "it":
            fac_kw = it_kw * econ.pue
        else:
            fac_kw = c.power.all_in_kw_per_gpu.value
        if e.idle_power_kw_per_gpu is not None:
            fac_idle = e.idle_power_kw_per_gpu * (fac_kw / it_kw)
        else:
            fac_idle = fac_kw * c.power.idle_fraction.value
        if fac_idle > fac_kw * (1 + 1e-12):
            problems.append(
                f"{where} ('{e.id}').idle_power_kw_per_gpu: {e.idle_power_kw_per_gpu:g} kW is above the full-load "
                f"{it_kw:g} kW per GPU"
            )
        thr: dict[str, float] = {}
        basis: dict[str, str] = {}
        ranges: dict[str, tuple[float, float]] = {}
        for w in workloads:
            if e.throughput and w in e.throughput:
                thr[w], basis[w] = e.throughput[w], "scenario"
                continue
            if w not in wmap:
                notes.append(
                    f"{e.id} serves no '{w}': the column is not mapped to a catalog workload "
                    f"(add workloads: {{{w}: {{catalog: <workload id>}}}} or give {e.id} a throughput for it)"
                )
                continue
            cat_w, target = wmap[w].label, wmap[w].target
            series = wmap[w].for_sku(catalog, e.id)
            if not series and e.id in wmap[w].estimates:
                thr[w], basis[w] = _estimated(wmap[w], e.id)
                est = wmap[w].estimates[e.id]
                ranges[w] = (est.low, est.high)
                continue
            if not series:
                notes.append(f"{e.id} cannot serve {w}: no measurement on {cat_w}")
                continue
            got = _at_target(series, e.id, w, cat_w, target, notes)
            if got is not None:
                thr[w], basis[w] = got
        return SkuData(
            id=e.id,
            family=e.family or c.family,
            gpus_per_unit=e.gpus_per_unit or c.unit.gpus,
            facility_kw_per_gpu=fac_kw,
            facility_idle_kw_per_gpu=fac_idle,
            cost_usd_per_gpu_hour=e.cost_per_gpu_hour or getattr(c.pricing, econ.pricing_tier).value,
            energy_billed=bool(e.energy_billed),
            capex_usd_per_gpu=e.capex_usd_per_gpu or c.capex_usd_per_gpu.mid,
            min_units=existing,
            max_units=max_units,
            throughput=thr,
            throughput_basis=basis,
            throughput_range=ranges,
            mtbf_hours_per_gpu=e.mtbf_hours_per_gpu or c.reliability.mtbf_hours_per_gpu.value,
            mttr_hours=e.mttr_hours or c.reliability.mttr_hours.value,
            gpus_per_failure_domain=int(c.reliability.gpus_per_failure_domain.value),
            origin="catalog",
            reliability_basis="scenario" if e.mtbf_hours_per_gpu or e.mttr_hours else "catalog",
            it_kw_per_gpu=it_kw,
            cooling=e.cooling or c.unit.cooling,
            units_per_rack=e.units_per_rack or (1 if c.unit.kind == "rack" else None),
            lead_time_months=e.lead_time_months or 0.0,
        )
    if e.model_fields_set == {"id"}:
        problems.append(f"{where}: {unknown_id_message('SKU', e.id, catalog.skus)}")
        return None
    from_curves = {w: src for w, src in wmap.items() if src.series is not None and e.id in src.series}
    missing = [
        f
        for f in ("gpus_per_unit", "power_kw_per_gpu", "cost_per_gpu_hour", "throughput")
        if getattr(e, f) is None
        and not (f == "cost_per_gpu_hour" and e.procurement)
        and not (f == "throughput" and from_curves)
    ]
    if missing:
        problems.append(
            f"{where} ('{e.id}'): not a catalog SKU, so an inline SKU, which needs {', '.join(missing)}"
            + (" (or procurement)" if "cost_per_gpu_hour" in missing else "")
            + (f"; or did you mean catalog SKU '{hint}'?" if (hint := _near(e.id, catalog)) else "")
        )
        return None
    for w in e.throughput or {}:
        if w not in workloads:
            problems.append(
                f"{where}.throughput.{w}: no such workload in the demand (workloads: {', '.join(workloads)})"
            )
    idle_it = (
        e.idle_power_kw_per_gpu if e.idle_power_kw_per_gpu is not None else DEFAULT_IDLE_FRACTION * e.power_kw_per_gpu
    )
    default_mtbf, default_mttr, which = default_reliability(catalog, e.family or "other")
    thr = {w: v for w, v in (e.throughput or {}).items() if w in workloads}
    basis = {w: "scenario" for w in thr}
    for w, src in from_curves.items():  # an imported curve of this SKU serves a curve workload
        if w in thr:
            continue
        got = _at_target(src.series[e.id], e.id, w, src.label, src.target, notes)
        if got is not None:
            thr[w], basis[w] = got
    return SkuData(
        id=e.id,
        family=e.family or "other",
        gpus_per_unit=int(e.gpus_per_unit),
        facility_kw_per_gpu=e.power_kw_per_gpu * econ.pue,
        facility_idle_kw_per_gpu=idle_it * econ.pue,
        cost_usd_per_gpu_hour=float(e.cost_per_gpu_hour or 0.0),
        energy_billed=bool(e.energy_billed),
        capex_usd_per_gpu=e.capex_usd_per_gpu if e.capex_usd_per_gpu is not None else math.nan,
        min_units=existing,
        max_units=max_units,
        throughput=thr,
        throughput_basis=basis,
        mtbf_hours_per_gpu=e.mtbf_hours_per_gpu or default_mtbf,
        mttr_hours=e.mttr_hours or default_mttr,
        gpus_per_failure_domain=int(e.gpus_per_unit),
        reliability_basis=_reliability_basis(e, default_mtbf, default_mttr, which),
        it_kw_per_gpu=float(e.power_kw_per_gpu),
        cooling=e.cooling or "air",
        units_per_rack=e.units_per_rack,
        lead_time_months=e.lead_time_months or 0.0,
    )


def _estimated(src: WorkloadSource, sku: str) -> tuple[float, str]:
    """(tokens/s per GPU at the band edge the workload plans on, basis)."""
    p = src.estimates[sku]
    value = {"low": p.low, "mid": p.tokens_per_s_per_gpu, "high": p.high}[src.band]
    return value, (
        f"estimated ({p.tier}, {src.band}: {value:,.1f} of band {p.low:,.1f}-{p.high:,.1f}; estimate "
        f"{p.tokens_per_s_per_gpu:,.1f}) {p.basis}"
    )


def _at_target(series, sku: str, w: str, label: str, target: float, notes: list[str]) -> tuple[float, str] | None:
    """(tokens/s per GPU, basis) of ``sku`` at ``target`` on ``label``'s frontier; None (noted) beyond it."""
    try:
        op = throughput_at(series, target, sku=sku, workload=label)
    except ScenarioError:
        notes.append(
            f"{sku} cannot serve {w}: measured only up to {max_interactivity(series):g} tok/s/user "
            f"on {label}, the target is {target:g}"
        )
        return None
    return op.tokens_per_s_per_gpu, op.basis


def default_reliability(catalog: Catalog, family: str) -> tuple[float, float, str]:
    """An inline SKU's MTBF per GPU and MTTR when the scenario gives none: the median of the
    catalog SKUs of its family (of every catalog SKU when none is of that family). [h, h, which]"""
    same = [c for c in catalog.skus.values() if c.family == family]
    pool = same or list(catalog.skus.values())
    mtbf = float(np.median([c.reliability.mtbf_hours_per_gpu.value for c in pool]))
    mttr = float(np.median([c.reliability.mttr_hours.value for c in pool]))
    return mtbf, mttr, f"the catalog's {family} SKUs" if same else "every catalog SKU"


def _reliability_basis(e: SkuEntry, mtbf: float, mttr: float, which: str) -> str:
    """Where an inline SKU's MTBF and MTTR come from, naming the defaults used."""
    defaults = []
    if not e.mtbf_hours_per_gpu:
        defaults.append(f"{mtbf:g} h MTBF per GPU")
    if not e.mttr_hours:
        defaults.append(f"{mttr:g} h MTTR")
    if not defaults:
        return "scenario"
    return f"default ({' and '.join(defaults)}: the median of {which})"


def _near(given: str, catalog: Catalog) -> str | None:
    import difflib

    near = difflib.get_close_matches(given, list(catalog.skus), n=1, cutoff=0.6)
    return near[0] if near else None


def build_problem(sf: ScenarioFile, curve: LoadCurve, catalog: Catalog | None = None) -> FleetProblem:
    """Resolve SKUs and service levels against the catalog; check the whole input at once.

    A scenario with sites or procurement entries is placed (``planner.optimize.placement``):
    one column per SKU, site and procurement kind."""
    from planner.optimize.placement import is_placed, place

    scn = sf.scenario
    catalog = catalog or scenario_catalog(sf)
    problems: list[str] = []
    notes: list[str] = list(sf.notes)  # inputs the file sets without effect (planner.scenario.effects)
    wmap = _workload_map(scn, curve, catalog, problems, sf, notes)
    resolved: list[tuple[SkuEntry, SkuData]] = []
    for i, entry in enumerate(scn.skus):
        sku = _resolve_sku(entry, scn, catalog, wmap, curve.workloads, problems, notes, f"skus[{i}]")
        if sku is not None:
            resolved.append((entry, sku))
    sites: tuple[SiteData, ...] = ()
    if is_placed(scn):
        skus, sites = place(scn, resolved, problems, notes)
    else:
        skus = [sku for _, sku in resolved]
    ids = scn.sku_ids()
    for sku_id in scn.existing:
        if sku_id not in ids:
            problems.append(f"existing.{sku_id}: not among the scenario's skus ({', '.join(ids)})")
    for s in skus:
        if s.min_units > s.max_units:
            problems.append(f"existing.{s.id}: {s.min_units} units exceed max_units {s.max_units:g}")
    if not problems:
        for j, w in enumerate(curve.workloads):
            if curve.peak[j].max() > 0 and not any(w in s.throughput for s in skus):
                reasons = [n for n in notes if f"cannot serve {w}:" in n]
                problems.append(
                    f"workload '{w}': no SKU can serve it"
                    + (" (" + "; ".join(reasons) + ")" if reasons else "")
                    + ". Map it to a catalog workload under 'workloads:', give an inline SKU a throughput for it, "
                    "or lower its interactivity target."
                )
    if not problems and float(curve.peak.max(initial=0.0)) <= 0:
        problems.append("demand: every workload is zero in every slice; there is nothing to plan")
    if problems:
        raise ScenarioError(f"{sf.path}: {len(problems)} problem(s) found", problems)
    c = scn.constraints
    if c.capex_budget_usd is not None and all(math.isnan(s.capex_usd_per_gpu) for s in skus):
        notes.append("constraints.capex_budget_usd constrains nothing: no SKU has a purchase price (capex_usd_per_gpu)")
    return FleetProblem(
        name=scn.name,
        skus=tuple(skus),
        curve=curve,
        electricity_usd_per_kwh=scn.economics.electricity_usd_per_kwh,
        power_cap_mw=c.power_cap_mw,
        budget_usd_per_hour=c.budget_usd_per_hour,
        capex_budget_usd=c.capex_budget_usd,
        max_utilization=c.max_utilization,
        objective=scn.objective,
        min_served_fraction=c.min_served_fraction,
        mip_rel_gap=scn.solver.mip_rel_gap,
        time_limit_s=scn.solver.time_limit_s,
        threads=scn.solver.threads,
        backend=scn.solver.backend,
        aggregation=scn.solver.time_aggregation,
        notes=tuple(notes),
        scenario_sha256=scenario_sha256(sf),
        sites=sites,
    )
