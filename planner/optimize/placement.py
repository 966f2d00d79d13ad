"""Placements: each SKU becomes one column of the model per (site, procurement kind).

A scenario with ``sites:``, ``procurement:`` entries, workload ``sites`` or existing units given
as mappings is placed: every SKU is offered at each of your sites once per on-site procurement
kind (owned, reserved, or its plain ``cost_per_gpu_hour``), at ``cloud`` once when it has an
``on_demand`` entry, and its existing units sit in their own column (their capital is sunk).
The formulation (``planner.milp.formulation``) sees columns only; the site caps, rack
positions, liquid cooling and the SKU's supply limit are entries of its one cap table.

Column ids: ``<sku>@<site>:<kind>`` (``<sku>@<site>`` for a plainly priced SKU), ``<sku>:<kind>``
without ``sites:``, and ``<sku>@cloud:on_demand``. Pricing of a column, per GPU-hour:

- owned: ``capex x CRF(discount_rate, life_years) / 8760 + fixed_opex_usd_per_gpu_hour``, plus
  site energy; its purchase price counts against ``constraints.capex_budget_usd``;
- reserved: ``usd_per_gpu_hour`` for every hour, busy or idle, plus site energy;
- on_demand (cloud): ``usd_per_gpu_hour`` per busy GPU-hour only, energy included, GPUs
  continuous up to ``max_gpus`` in every slice, no power, racks or cooling of yours;
- existing (owned units already installed): the fixed opex of the SKU's owned entry (or its plain
  price) plus site energy; kept, or (``may_retire``) decommissioned unit by unit at
  ``decommission_usd_per_unit``.

With sites, a SKU's facility power is its IT power x the site's PUE; without, it is as without
placement (``economics.power_basis``).
"""

from __future__ import annotations

import math
from dataclasses import replace

from planner.economics import HOURS_PER_YEAR, capital_recovery_factor
from planner.milp.problem import SiteData, SkuData
from planner.scenario.schema import ExistingEntry, Scenario, SkuEntry

DEFAULT_DISCOUNT_RATE = 0.08  # economics.discount_rate when neither it nor buildout.discount_rate is set [1/year]
CLOUD = "cloud"
IMPLICIT_SITE = "site"  # the one site of a scenario without `sites:` (workloads' sites may name it)


def is_placed(scn: Scenario) -> bool:
    """Whether the scenario needs placements (else: one column per SKU, as without sites)."""
    return (
        scn.sites is not None
        or any(e.procurement for e in scn.skus)
        or any(not isinstance(v, int) for v in scn.existing.values())
        or any(w.sites for w in scn.workloads.values())
    )


def discount_rate(scn: Scenario) -> float:
    """The cost of capital of owned procurement. [1/year]"""
    if scn.economics.discount_rate is not None:
        return scn.economics.discount_rate
    if scn.buildout is not None and "discount_rate" in scn.buildout.model_fields_set:
        return scn.buildout.discount_rate
    return DEFAULT_DISCOUNT_RATE


def site_table(scn: Scenario) -> tuple[SiteData, ...]:
    """The scenario's sites with economics' PUE and electricity price filled in (() without `sites:`)."""
    econ = scn.economics
    return tuple(
        SiteData(
            id=s.id,
            power_cap_mw=s.power_cap_mw,
            pue=econ.pue if s.pue is None else s.pue,
            electricity_usd_per_kwh=econ.electricity_usd_per_kwh
            if s.electricity_usd_per_kwh is None
            else s.electricity_usd_per_kwh,
            rack_positions=s.rack_positions,
            max_kw_per_rack=s.max_kw_per_rack,
            liquid_cooling_mw=s.liquid_cooling_mw,
        )
        for s in scn.sites or []
    )


def rack_fit(b: SkuData, site: SiteData) -> int | None:
    """Units of ``b`` one position of ``site`` holds: units_per_rack, fewer when the rack's IT load
    would exceed max_kw_per_rack (possibly 0); None when the site limits neither. [units]"""
    if site.max_kw_per_rack is None:
        return b.units_per_rack
    by_kw = int(math.floor(site.max_kw_per_rack / (b.gpus_per_unit * b.it_kw_per_gpu) * (1 + 1e-12)))
    return by_kw if b.units_per_rack is None else min(b.units_per_rack, by_kw)


def place(
    scn: Scenario,
    base: list[tuple[SkuEntry, SkuData]],
    problems: list[str],
    notes: list[str],
) -> tuple[list[SkuData], tuple[SiteData, ...]]:
    """The columns of a placed scenario and its sites; problems and notes are appended to."""
    sites = site_table(scn)
    explicit = bool(sites)
    on_site = sites or (
        SiteData(
            IMPLICIT_SITE,
            None,
            scn.economics.pue,
            scn.economics.electricity_usd_per_kwh,
            None,
            None,
            None,
        ),
    )
    site_ids = [s.id for s in on_site]
    allowed: dict[str, set[str]] = {}
    for w, entry in scn.workloads.items():
        if entry.sites is None:
            continue
        for name in entry.sites:
            if name not in site_ids and name != CLOUD:
                problems.append(f"workloads.{w}.sites: unknown site '{name}' (sites: {', '.join([*site_ids, CLOUD])})")
        allowed[w] = set(entry.sites)
    r = discount_rate(scn)
    out: list[SkuData] = []
    for i, (e, b) in enumerate(base):
        where = f"skus[{i}] ('{e.id}')"
        offers = list(e.procurement or [None])
        owned = next((o for o in offers if o is not None and o.kind == "owned"), None)
        entries = scn.existing_entries(e.id)
        columns: list[SkuData] = []

        def serves(site_id: str, b: SkuData = b) -> tuple[dict[str, float], dict[str, str]]:
            thr = {w: v for w, v in b.throughput.items() if w not in allowed or site_id in allowed[w]}
            return thr, {w: b.throughput_basis[w] for w in thr}

        placed_existing = _existing_at(entries, on_site, offers, where, problems)
        for site in on_site:
            fit = rack_fit(b, site)
            if site.rack_positions is not None and fit is None:
                problems.append(
                    f"{where}.units_per_rack: site '{site.id}' counts rack positions; say how many units one "
                    "position holds (or give the site max_kw_per_rack)"
                )
                continue
            here = [x for x in placed_existing if x[1] == site.id]
            if fit == 0:
                msg = (
                    f"{e.id} cannot be placed at {site.id}: one unit draws {b.gpus_per_unit * b.it_kw_per_gpu:g} kW "
                    f"IT, above its max_kw_per_rack {site.max_kw_per_rack:g} kW"
                )
                (problems if here else notes).append(f"existing.{e.id}: {msg}" if here else msg)
                continue
            if explicit:
                fac_kw = b.it_kw_per_gpu * site.pue
                fac_idle = b.facility_idle_kw_per_gpu * (fac_kw / b.facility_kw_per_gpu)
            else:
                fac_kw, fac_idle = b.facility_kw_per_gpu, b.facility_idle_kw_per_gpu
            thr, basis = serves(site.id if explicit else IMPLICIT_SITE)
            common = {
                "sku": e.id,
                "site": site.id if explicit else None,
                "facility_kw_per_gpu": fac_kw,
                "facility_idle_kw_per_gpu": fac_idle,
                "electricity_usd_per_kwh": site.electricity_usd_per_kwh,
                "units_per_rack": fit,
                "throughput": thr,
                "throughput_basis": basis,
                "min_units": 0,
                "max_units": math.inf,
            }
            at = f"@{site.id}" if explicit else ""
            plain_existing = isinstance(scn.existing.get(e.id), int) and offers == [None]
            units_here = {
                kind: sum(x[0].units for x in here if x[0].procurement == kind) for kind in ("owned", "reserved")
            }
            for offer in offers:
                if offer is None:  # priced per installed GPU-hour (cost_per_gpu_hour), as without sites
                    columns.append(
                        replace(
                            b,
                            id=f"{e.id}{at}",
                            procurement="hourly",
                            **{**common, "min_units": units_here["owned"] if plain_existing else 0},
                        )
                    )
                elif offer.kind == "owned":
                    annuity = offer.capex_usd_per_gpu * capital_recovery_factor(r, offer.life_years)
                    columns.append(
                        replace(
                            b,
                            id=f"{e.id}{at}:owned",
                            procurement="owned",
                            offer=offer,
                            cost_usd_per_gpu_hour=annuity / HOURS_PER_YEAR + offer.fixed_opex_usd_per_gpu_hour,
                            energy_billed=True,
                            capex_usd_per_gpu=offer.capex_usd_per_gpu,
                            **common,
                        )
                    )
                elif offer.kind == "reserved":
                    columns.append(
                        replace(
                            b,
                            id=f"{e.id}{at}:reserved",
                            procurement="reserved",
                            offer=offer,
                            cost_usd_per_gpu_hour=offer.usd_per_gpu_hour,
                            energy_billed=True,
                            capex_usd_per_gpu=math.nan,
                            **{**common, "min_units": units_here["reserved"]},
                        )
                    )
            owned_here = [entry for entry, _ in here if entry.procurement == "owned" and not plain_existing]
            for n, entry in enumerate(owned_here):
                suffix = "" if len(owned_here) == 1 else f"-{n + 1}"  # several cohorts at one site: one column each
                if owned is not None:
                    price, billed = owned.fixed_opex_usd_per_gpu_hour, True
                elif offers == [None]:
                    price, billed = b.cost_usd_per_gpu_hour, b.energy_billed
                else:
                    problems.append(
                        f"existing.{e.id}: owned units cost their SKU's owned fixed opex; give {where}.procurement "
                        "an owned entry, or say procurement: reserved"
                    )
                    continue
                columns.append(
                    replace(
                        b,
                        id=f"{e.id}{at}:existing{suffix}",
                        procurement="existing",
                        offer=owned,
                        cost_usd_per_gpu_hour=price,
                        energy_billed=billed,
                        capex_usd_per_gpu=math.nan,
                        decommission_usd_per_unit=(entry.decommission_usd_per_unit or 0.0)
                        if entry.may_retire
                        else None,
                        age_years=entry.age_years,
                        **{**common, "min_units": entry.units, "max_units": float(entry.units)},
                    )
                )
        for offer in offers:
            if offer is not None and offer.kind == "on_demand":
                thr, basis = serves(CLOUD)
                columns.append(
                    replace(
                        b,
                        id=f"{e.id}@{CLOUD}:on_demand",
                        sku=e.id,
                        site=CLOUD,
                        procurement="on_demand",
                        offer=offer,
                        facility_kw_per_gpu=0.0,
                        facility_idle_kw_per_gpu=0.0,
                        cost_usd_per_gpu_hour=0.0,
                        busy_usd_per_gpu_hour=offer.usd_per_gpu_hour,
                        energy_billed=False,
                        capex_usd_per_gpu=math.nan,
                        utilization_cap=1.0,
                        continuous=True,
                        units_per_rack=None,
                        min_units=0,
                        max_units=math.inf if offer.max_gpus is None else offer.max_gpus / b.gpus_per_unit,
                        throughput=thr,
                        throughput_basis=basis,
                        lead_time_months=0.0,
                    )
                )
        # the SKU's supply limit: on its one on-site column as without sites, else a cap over its on-site columns
        onsite = [c for c in columns if c.on_site and c.procurement != "existing"]
        if len(onsite) == 1 and len([c for c in columns if c.on_site]) == 1:
            columns = [replace(c, max_units=b.max_units) if c is onsite[0] else c for c in columns]
        elif math.isfinite(b.max_units):
            columns = [replace(c, sku_max_units=b.max_units) if c.on_site else c for c in columns]
        out.extend(columns)
    return out, sites


def _existing_at(
    entries: list[ExistingEntry], on_site: tuple[SiteData, ...], offers, where: str, problems: list[str]
) -> list[tuple[ExistingEntry, str]]:
    """Each existing entry with the site it sits at (the only site when it names none)."""
    ids = [s.id for s in on_site]
    out = []
    for entry in entries:
        site = entry.site
        if site is None:
            if len(ids) > 1:
                problems.append(f"existing: {where} has units at no named site; say site: (one of {', '.join(ids)})")
                continue
            site = ids[0]
        if site not in ids:
            problems.append(f"existing: {where} at unknown site '{site}' (sites: {', '.join(ids)})")
            continue
        if entry.procurement == "reserved" and not any(o is not None and o.kind == "reserved" for o in offers):
            problems.append(f"existing: {where} has reserved units but no reserved procurement entry to price them")
            continue
        out.append((entry, site))
    return out
