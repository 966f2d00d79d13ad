"""FleetProblem: the optimisation input as plain arrays, built from a Scenario and a LoadCurve.

This is where catalog SKUs become numbers: $/GPU-hour at the scenario's pricing tier,
facility kW per GPU (all-in as published, or IT x PUE; inline SKUs: IT x PUE), and
tokens/s per GPU at each workload's service level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from planner.catalog.load import Catalog, scenario_catalog, unknown_id_message
from planner.catalog.throughput import max_interactivity, throughput_at
from planner.demand.curve import LoadCurve, read_load_curve
from planner.errors import ScenarioError
from planner.milp.problem import FleetProblem, SiteData, SkuData
from planner.milp.solve import SolverOptions
from planner.scenario.load import ScenarioFile, scenario_sha256
from planner.scenario.schema import Scenario, SkuEntry

if TYPE_CHECKING:
    from planner.throughput.estimate import EstPoint

DEFAULT_IDLE_FRACTION = 0.30  # idle draw / full-load draw for inline SKUs; see models/skus.yaml idle-estimate


@dataclass(frozen=True)
class WorkloadSource:
    """Where a demand column's throughput comes from: a catalog workload or a curve file."""

    label: str  # catalog workload id, or "<model> <isl>/<osl> in <curve file>"
    target: float  # interactivity target [tok/s/user]
    series: dict[str, list] | None = None  # curve file: per SKU, its series; None: the catalog's
    estimates: dict[str, EstPoint] = field(default_factory=dict)  # estimate: true: SKU -> EstPoint at the target
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
        aggregation=scn.solver.time_aggregation,
        notes=tuple(notes),
        scenario_sha256=scenario_sha256(sf),
        sites=sites,
    )


def scenario_curve(sf: ScenarioFile) -> LoadCurve:
    """The scenario's load curve: read from its CSV, or generated by the demand simulator."""
    demand = sf.scenario.demand
    if demand.load_curve:
        return read_load_curve(sf.resolve(demand.load_curve), demand.slice_hours)
    from planner.demand.simulate import simulate_scenario_demand

    return simulate_scenario_demand(sf)


def solver_options(scn: Scenario) -> SolverOptions:
    """The scenario's ``solver:`` section (CLI flags such as ``--gap`` set it) as solve()'s options."""
    s = scn.solver
    return SolverOptions(backend=s.backend, mip_rel_gap=s.mip_rel_gap, time_limit_s=s.time_limit_s, threads=s.threads)


def scenario_problem(sf: ScenarioFile) -> FleetProblem:
    """The single-period problem of a scenario file, on its load curve."""
    return build_problem(sf, scenario_curve(sf))
