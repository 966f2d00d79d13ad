"""BuildoutProblem: the multi-period optimisation input as plain numbers.

Catalog SKUs are resolved by ``planner.optimize.problem.build_problem`` (facility kW,
$/GPU-hour at the scenario's tier, capex, tokens/s per GPU at each workload's service
level); this module adds what changes with time: periods and their demand, power caps,
budgets, availability windows, price paths, economic lives, existing cohorts and discounting.

Representative time: the scenario's demand curve (e.g. one week of hourly slices) stands
for every period. Each period's curve is that curve scaled by the period's growth: the peak
by the growth reached at the period's end (capacity must hold through the whole period),
the mean by the average growth over the period (tokens and energy). Costs of a period are
the curve's costs times ``weight = period hours / curve span``.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from planner.catalog.load import Catalog, scenario_catalog
from planner.demand.curve import LoadCurve, read_load_curve
from planner.economics import HOURS_PER_YEAR, capital_recovery_factor
from planner.errors import ScenarioError
from planner.milp.problem import BuildoutProblem, BuildoutSku, Cohort, Period, SkuData, electricity_price
from planner.optimize.problem import build_problem
from planner.scenario.buildout import BuildoutSpec, months_to_periods, per_period
from planner.scenario.load import ScenarioFile


def _growth(rate: float, m0: float, m1: float) -> tuple[float, float]:
    """(average, end) growth factor over months [m0, m1]: the factor is (1 + rate)^m at month m (m
    continuous); the average is its integral over [m0, m1] divided by m1 - m0."""
    end = (1.0 + rate) ** m1
    if rate == 0.0:
        return 1.0, 1.0
    k = math.log1p(rate)
    return ((1.0 + rate) ** m1 - (1.0 + rate) ** m0) / (k * (m1 - m0)), end


def _scaled(curve: LoadCurve, mean_factor, peak_factor) -> LoadCurve:
    """The curve with means and peaks multiplied (numbers or (W, 1) arrays)."""
    return replace(
        curve,
        mean=curve.mean * mean_factor,
        peak=curve.peak * peak_factor,
        bands={k: v * peak_factor for k, v in curve.bands.items()},
    )


def _period_curves(sf: ScenarioFile, spec: BuildoutSpec, base: LoadCurve, problems: list[str]) -> list[LoadCurve]:
    d = spec.demand
    if d.curves is None:
        if isinstance(d.scale, dict):
            for w in d.scale:
                if w not in base.workloads:
                    problems.append(
                        f"buildout.demand.scale.{w}: no such workload in the demand ({', '.join(base.workloads)})"
                    )
            scale = np.array([[d.scale.get(w, 1.0)] for w in base.workloads])
        else:
            scale = d.scale
        out = []
        for p in range(spec.periods):
            m0 = p * spec.period_months
            avg, end = _growth(d.growth_per_month, m0, m0 + spec.period_months)
            out.append(_scaled(base, scale * avg, scale * end))
        return out
    out = []
    for i, rel in enumerate(d.curves):
        try:
            c = read_load_curve(sf.resolve(rel))
        except ScenarioError as exc:
            problems.append(f"buildout.demand.curves[{i}]: {exc}")
            continue
        if c.workloads != base.workloads:
            problems.append(
                f"buildout.demand.curves[{i}] ({rel}): workloads {', '.join(c.workloads)} differ from the scenario "
                f"demand's {', '.join(base.workloads)}"
            )
            continue
        out.append(c)
    return out


def _path(value, default: float, periods: int) -> tuple[float, ...]:
    got = per_period(value, periods)
    return tuple(default if v is None else v for v in got)


def discount_rate(scn) -> float:
    """The discount rate a buildout runs at: ``economics.discount_rate`` when given, else
    ``buildout.discount_rate`` (its default). [1/year]"""
    given = scn.economics.discount_rate
    return float(given if given is not None else scn.buildout.discount_rate)


def build_buildout_problem(sf: ScenarioFile, base: LoadCurve, catalog: Catalog | None = None) -> BuildoutProblem:
    """Resolve the scenario's `buildout:` section against the catalog; report every problem at once."""
    scn = sf.scenario
    spec = scn.buildout
    if spec is None:
        raise ScenarioError(
            f"{sf.path}: no 'buildout:' section; add one (see `planner schema`, key buildout) "
            "or plan a single period with `planner plan`"
        )
    catalog = catalog or scenario_catalog(sf)
    single = build_problem(sf, base, catalog)
    problems: list[str] = []
    where = f"{sf.path}: buildout"
    c = scn.constraints
    ids = list(dict.fromkeys(s.base_id for s in single.skus))
    for sku_id in spec.skus:
        if sku_id not in ids:
            problems.append(f"buildout.skus.{sku_id}: not among the scenario's skus ({', '.join(ids)})")
    n = spec.periods
    r = discount_rate(scn)
    given = scn.economics.discount_rate
    if given is not None and "discount_rate" in spec.model_fields_set and spec.discount_rate != given:
        problems.append(
            f"economics.discount_rate ({given:g}) and buildout.discount_rate ({spec.discount_rate:g}) differ; give one"
        )
    default_life = spec.economic_life_years or catalog.economic_life_years
    labels = spec.labels()
    skus: list[BuildoutSku] = []
    notes = list(single.notes)
    placed_cohorts: list[tuple[int, int, float, float]] = []  # (column, units, age months, annuity $/GPU-year)
    single_units = {s.id: s.min_units for s in single.skus}
    for s in single.skus:
        if s.procurement not in (None, "hourly"):
            column = _placed_column(s, spec, len(skus), r, default_life, problems, notes)
            if column is not None:
                b, cohort = column
                skus.append(b)
                if cohort is not None:
                    placed_cohorts.append(cohort)
            continue
        e = spec.skus.get(s.base_id)
        pricing = (e.pricing if e and e.pricing else None) or spec.pricing
        first = spec.period_index(e.available_from) if e and e.available_from is not None else 0
        last = spec.period_index(e.available_until) if e and e.available_until is not None else n - 1
        available = tuple(first <= p <= last for p in range(n))
        capex = _path(e.capex_usd_per_gpu if e else None, s.capex_usd_per_gpu, n)
        hourly = _path(e.cost_per_gpu_hour if e else None, s.cost_usd_per_gpu_hour, n)
        life = (e.economic_life_years if e and e.economic_life_years else None) or default_life
        life_periods = max(1, months_to_periods(life * 12.0, spec.period_months))
        crf = capital_recovery_factor(r, life)
        if pricing == "owned" and math.isnan(capex[first]):
            problems.append(
                f"buildout.skus.{s.id}: owned pricing needs a purchase price; set capex_usd_per_gpu "
                "(or skus[].capex_usd_per_gpu), or pricing: hourly"
            )
            continue
        opex = e.fixed_opex_usd_per_gpu_year if e and e.fixed_opex_usd_per_gpu_year is not None else None
        if pricing == "owned" and opex is None:
            # the tier's $/GPU-hour = capital recovery + full-load energy + fixed opex, at the price of the
            # first period the SKU can be bought
            residual = (
                s.cost_usd_per_gpu_hour * HOURS_PER_YEAR
                - capex[first] * crf
                - s.facility_kw_per_gpu * electricity_price(s, scn.economics.electricity_usd_per_kwh) * HOURS_PER_YEAR
            )
            opex = max(residual, 0.0)
            if residual < 0:
                notes.append(
                    f"{s.id}: capital recovery + energy (${capex[first] * crf / HOURS_PER_YEAR:.3f}/GPU-h + energy) "
                    f"exceeds its ${s.cost_usd_per_gpu_hour:g}/GPU-h tier; fixed opex taken as 0"
                )
        skus.append(
            BuildoutSku(
                sku=replace(s, min_units=0),
                pricing=pricing,
                available=available,
                capex_usd_per_gpu=capex,
                cost_usd_per_gpu_hour=hourly,
                fixed_opex_usd_per_gpu_year=float(opex or 0.0),
                life_years=float(life),
                life_periods=life_periods,
                annuity_usd_per_gpu_year=tuple(q * crf if not math.isnan(q) else 0.0 for q in capex),
                resale_fraction=_resale(e, pricing == "owned"),
            )
        )
        if life_periods * spec.period_months != life * 12.0:
            notes.append(
                f"{s.id}: economic life {life:g} years taken as {life_periods} periods of {spec.period_months:g} months"
            )

    index: dict[str, int] = {}  # SKU id -> its plainly priced column (the one holding its existing units)
    for j, b in enumerate(skus):
        if b.sku.procurement in (None, "hourly") and (b.sku.base_id not in index or single_units.get(b.id)):
            index[b.sku.base_id] = j
    cohorts: list[Cohort] = []
    for j, units, age, annuity in placed_cohorts:
        b = skus[j]
        remaining = months_to_periods(b.life_years * 12.0 - age, spec.period_months)
        if remaining < 1:
            problems.append(
                f"existing.{b.sku.base_id} at {b.sku.site}: age {age / 12:g} years leaves no period of its "
                f"{b.life_years:g}-year life; drop it or lower age_years"
            )
            continue
        cohorts.append(Cohort(j, units, age, remaining, annuity))
    if spec.existing is None:
        raw = [
            (sku_id, units, 0.0, None)
            for sku_id, units in scn.existing.items()
            if isinstance(units, int) and units > 0 and sku_id in index
        ]
    else:
        raw = [(co.sku, co.units, co.age_months, co.capex_usd_per_gpu) for co in spec.existing]
        totals: dict[str, int] = {}
        for sku_id, units, _, _ in raw:
            totals[sku_id] = totals.get(sku_id, 0) + units
        for sku_id, units in scn.existing.items():
            if isinstance(units, int) and units and totals.get(sku_id, 0) != units:
                problems.append(
                    f"existing.{sku_id} = {units} but buildout.existing holds {totals.get(sku_id, 0)} units of it; "
                    "make them agree or drop the top-level existing"
                )
    for i, (sku_id, units, age, paid) in enumerate(raw):
        if sku_id not in index:
            if sku_id not in ids:
                problems.append(f"buildout.existing[{i}].sku: '{sku_id}' is not among the scenario's skus")
            continue
        b = skus[index[sku_id]]
        remaining = months_to_periods(b.life_years * 12.0 - age, spec.period_months)
        if remaining < 1:
            problems.append(
                f"buildout.existing[{i}] ({sku_id}): age {age:g} months leaves no period of its {b.life_years:g}-year "
                "life; drop the cohort or raise economic_life_years"
            )
            continue
        price = paid if paid is not None else b.capex_usd_per_gpu[0]
        annuity = 0.0 if math.isnan(price) else price * capital_recovery_factor(r, b.life_years)
        cohorts.append(Cohort(index[sku_id], int(units), float(age), remaining, annuity))

    curves = _period_curves(sf, spec, base, problems)
    caps = per_period(spec.power_cap_mw, n)
    caps = [c.power_cap_mw if v is None else v for v in caps]
    budgets = per_period(spec.capex_budget_usd, n)
    run_rates = [c.budget_usd_per_hour if v is None else v for v in per_period(spec.budget_usd_per_hour, n)]
    if problems:
        raise ScenarioError(f"{where}: {len(problems)} problem(s) found", problems)
    periods = tuple(
        Period(
            label=labels[p],
            start=spec.period_start(p).isoformat(),
            hours=spec.period_hours,
            months_from_start=p * spec.period_months,
            discount_factor=(1.0 + r) ** (-p * spec.period_months / 12.0),
            curve=curves[p],
            power_cap_mw=caps[p],
            capex_budget_usd=budgets[p],
            budget_usd_per_hour=run_rates[p],
        )
        for p in range(n)
    )
    total = spec.total_capex_budget_usd if spec.total_capex_budget_usd is not None else c.capex_budget_usd
    return BuildoutProblem(
        name=scn.name,
        periods=periods,
        skus=tuple(skus),
        cohorts=tuple(cohorts),
        workloads=base.workloads,
        electricity_usd_per_kwh=scn.economics.electricity_usd_per_kwh,
        max_utilization=c.max_utilization,
        discount_rate=r,
        total_capex_budget_usd=total,
        early_retirement=spec.early_retirement,
        mode=spec.mode,
        end_of_horizon=spec.end_of_horizon,
        aggregation=scn.solver.time_aggregation,
        notes=tuple(notes),
        sites=single.sites,
    )


def _resale(entry, owned: bool) -> float:
    """The share of an early-retired unit's remaining capital it gets back (``buildout.skus.<id>.resale_fraction``)."""
    given = entry.resale_fraction if entry is not None else None
    return float(given) if owned and given is not None else 0.0


def _placed_column(s: SkuData, spec: BuildoutSpec, j: int, r: float, default_life: float, problems, notes):
    """A placed column (owned, reserved, on-demand or existing) over time, and its initial cohort.

    Owned: its procurement entry's capex and life (``buildout.skus`` windows and resale apply);
    reserved: a commitment of ``term_months`` at its rate, billed for the hours of the term in each
    period like an annuity (``usd_per_gpu_hour`` x 8760 a GPU-year; ``upfront``: the whole
    commitment when it starts), its units kept for the whole term; on-demand: continuous GPUs each period (life of one period, no
    lead time); existing: the units already there, capital sunk, retiring at the end of the owned
    entry's life (or early, when they may). Returns None (a problem noted) when it cannot be placed."""
    n = spec.periods
    e = spec.skus.get(s.base_id)
    first = spec.period_index(e.available_from) if e and e.available_from is not None else 0
    last = spec.period_index(e.available_until) if e and e.available_until is not None else n - 1
    offer = s.offer
    lead = months_to_periods(s.lead_time_months, spec.period_months) if s.procurement in ("owned", "reserved") else 0
    if lead and lead * spec.period_months != s.lead_time_months:
        notes.append(
            f"{s.id}: lead time {s.lead_time_months:g} months taken as {lead} periods of {spec.period_months:g} months"
        )
    if lead and spec.mode == "myopic":
        problems.append(
            f"skus.{s.base_id}.lead_time_months: a myopic buildout decides one period at a time and cannot order "
            "ahead; use mode: perfect_foresight or drop the lead time"
        )
    # buy[s,p] are arrivals: ordered in p - lead, inside the order window, at that period's price
    window = tuple(first <= q <= last for q in range(n))
    nan = (math.nan,) * n
    if s.procurement == "owned":
        crf = capital_recovery_factor(r, offer.life_years)
        b = BuildoutSku(
            sku=replace(s, min_units=0),
            pricing="owned",
            available=window,
            capex_usd_per_gpu=nan,
            cost_usd_per_gpu_hour=(0.0,) * n,
            fixed_opex_usd_per_gpu_year=offer.fixed_opex_usd_per_gpu_hour * HOURS_PER_YEAR,
            life_years=offer.life_years,
            life_periods=max(1, months_to_periods(offer.life_years * 12.0, spec.period_months)),
            annuity_usd_per_gpu_year=(0.0,) * n,
            order_available=window,
            order_capex_usd_per_gpu=_path(e.capex_usd_per_gpu if e else None, offer.capex_usd_per_gpu, n),
            crf=crf,
            resale_fraction=_resale(e, True),
        )
        return b.with_lead(lead), None
    if s.procurement == "reserved":
        term = offer.term_months
        b = BuildoutSku(
            sku=replace(s, min_units=0),
            pricing="owned",  # committed for its term, like an annuity; no purchase price
            available=window,
            capex_usd_per_gpu=nan,
            cost_usd_per_gpu_hour=(0.0,) * n,
            fixed_opex_usd_per_gpu_year=0.0,
            life_years=term / 12.0,
            life_periods=max(1, months_to_periods(term, spec.period_months)),
            annuity_usd_per_gpu_year=(offer.usd_per_gpu_hour * HOURS_PER_YEAR,) * n,
            committed_usd_per_gpu=(offer.usd_per_gpu_hour * term * HOURS_PER_YEAR / 12.0,) * n
            if offer.upfront
            else None,
            order_available=window,
        )
        cohort = (j, s.min_units, 0.0, offer.usd_per_gpu_hour * HOURS_PER_YEAR) if s.min_units else None
        return b.with_lead(lead), cohort
    if s.procurement == "on_demand":
        b = BuildoutSku(
            sku=s,
            pricing="hourly",
            available=(True,) * n,
            capex_usd_per_gpu=nan,
            cost_usd_per_gpu_hour=(0.0,) * n,
            fixed_opex_usd_per_gpu_year=0.0,
            life_years=spec.period_months / 12.0,
            life_periods=1,
            annuity_usd_per_gpu_year=(0.0,) * n,
        )
        return b, None
    # existing owned units: capital sunk, opex and site energy while kept
    life = offer.life_years if offer is not None else default_life
    owned = offer is not None
    b = BuildoutSku(
        sku=replace(s, min_units=0),
        pricing="owned" if owned else "hourly",
        available=(False,) * n,
        capex_usd_per_gpu=nan,
        cost_usd_per_gpu_hour=(s.cost_usd_per_gpu_hour,) * n,
        fixed_opex_usd_per_gpu_year=s.cost_usd_per_gpu_hour * HOURS_PER_YEAR if owned else 0.0,
        life_years=float(life),
        life_periods=max(1, months_to_periods(life * 12.0, spec.period_months)),
        annuity_usd_per_gpu_year=(0.0,) * n,
    )
    return b, (j, s.min_units, s.age_years * 12.0, 0.0)
