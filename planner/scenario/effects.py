"""No input without effect: scenario fields that the chosen options make inert are refused.

A field set by ``--set``, by a sweep parameter or in the scenario file either changes what
a command computes or is an error (exit 2) naming the field, why it has no effect and what
would give it one (one exception below). The cases, each checked on the scenario as planned
(overrides applied):

* ``economics.pue`` under ``power_basis: all_in`` when no SKU gives its own IT power: the
  catalog's all-in kW per GPU already include facility overhead (PUE is never applied to them
  again); ``power_basis: it`` uses the catalog's IT power x this PUE.
* ``economics.electricity_usd_per_kwh`` when no SKU pays for its electricity: hourly prices
  include it unless ``energy_billed: true``; a buildout's owned SKUs always pay it.
* ``economics.pricing_tier`` when every SKU gives its own ``cost_per_gpu_hour``.
* ``skus.<id>.idle_power_kw_per_gpu`` when that SKU's electricity is not billed: idle draw
  prices only energy (the power cap is at full load).
* ``buildout.skus.<id>.cost_per_gpu_hour`` for a SKU priced ``owned`` (it pays capex and
  fixed opex), ``buildout.skus.<id>.fixed_opex_usd_per_gpu_year`` for one priced ``hourly``.

Only the electricity price and idle power are accepted in a file (with a note): the
scenario form of the first issue states them for a facility that bills no energy. Every
other case is an error wherever it is set.

Rules that need nothing but the scenario live in the schema (``scenario/schema.py``,
``demand/spec.py``: generator-only demand fields with a load curve, a service floor under
another objective). ``model_inputs`` is what the commands consume, in effective terms (prices
after energy, facility power, curves, caps, request profiles, reliability, the buildout's
periods): the test that walks every schema field checks each one moves it or is refused here.
"""

from __future__ import annotations

from dataclasses import dataclass

from planner.scenario.schema import Scenario


def _billed(scn: Scenario, sku_id: str) -> bool:
    """Does this SKU pay for its electricity in some command?"""
    entry = next(e for e in scn.skus if e.id == sku_id)
    if entry.energy_billed or any(o.kind in ("owned", "reserved") for o in entry.procurement or []):
        return True  # owned and reserved capacity pays its site's energy
    b = scn.buildout
    if b is None:
        return False
    spec = b.skus.get(sku_id)
    pricing = (spec.pricing if spec is not None and spec.pricing else None) or b.pricing
    return pricing == "owned"  # a buildout's owned units pay their electricity


@dataclass(frozen=True)
class Inert:
    """A field set in a scenario that no command would use."""

    path: str  # dotted, as --set takes it
    message: str  # why, and a fix
    in_file: bool = False  # an error even when the scenario file (not an override) sets it


def no_effect(scn: Scenario) -> list[Inert]:
    """The fields set in ``scn`` that no command would use, each with why and a fix."""
    problems: list[Inert] = []
    econ = scn.economics
    given = econ.model_fields_set
    problems += _placement_inert(scn)
    if (
        "pue" in given
        and scn.sites is None
        and econ.power_basis == "all_in"
        and not any(e.power_kw_per_gpu for e in scn.skus)
    ):
        problems.append(
            Inert(
                "economics.pue",
                "economics.pue has no effect: with power_basis all_in every SKU's facility power is "
                "the catalog's all-in kW per GPU, which already includes facility overhead; set "
                "economics.power_basis: it to use the catalog's IT power x PUE, or remove pue",
                in_file=True,
            )
        )
    every_site_prices = scn.sites is not None and all(x.electricity_usd_per_kwh is not None for x in scn.sites)
    if "electricity_usd_per_kwh" in given and every_site_prices:
        problems.append(
            Inert(
                "economics.electricity_usd_per_kwh",
                "economics.electricity_usd_per_kwh has no effect: every site gives its own electricity_usd_per_kwh; "
                "remove it, or a site's price to use it there",
                in_file=True,
            )
        )
    elif "electricity_usd_per_kwh" in given and not any(_billed(scn, e.id) for e in scn.skus):
        problems.append(
            Inert(
                "economics.electricity_usd_per_kwh",
                "economics.electricity_usd_per_kwh has no effect: no SKU pays for "
                "its electricity (hourly prices include it); set energy_billed: true on the SKUs that pay it, or "
                "remove it",
            )
        )
    if "pricing_tier" in given and all(e.cost_per_gpu_hour is not None for e in scn.skus):
        problems.append(
            Inert(
                "economics.pricing_tier",
                "economics.pricing_tier has no effect: every SKU gives its own "
                "cost_per_gpu_hour; remove pricing_tier, or a SKU's cost_per_gpu_hour to price it at the tier",
                in_file=True,
            )
        )
    b = scn.buildout
    for sku_id, spec in (b.skus if b is not None else {}).items():
        pricing = spec.pricing or b.pricing
        wrong = "cost_per_gpu_hour" if pricing == "owned" else "fixed_opex_usd_per_gpu_year"
        if getattr(spec, wrong) is not None:
            what = "an owned unit pays capex and fixed opex" if pricing == "owned" else "an hourly unit pays its price"
            problems.append(
                Inert(
                    f"buildout.skus.{sku_id}.{wrong}",
                    f"buildout.skus.{sku_id}.{wrong} has no effect: {sku_id} is priced {pricing} ({what}); set "
                    f"buildout.skus.{sku_id}.pricing: {'hourly' if pricing == 'owned' else 'owned'} to use it, or "
                    "remove it",
                    in_file=True,
                )
            )
        if spec.resale_fraction is not None:
            entry = next((e for e in scn.skus if e.id == sku_id), None)
            offers = entry.procurement if entry is not None else None
            owned = any(o.kind == "owned" for o in offers) if offers is not None else pricing == "owned"
            why = (
                "the buildout retires no unit early (early_retirement: false)"
                if not b.early_retirement
                else f"{sku_id} is not owned (nothing bought to resell)"
                if not owned
                else ""
            )
            if why:
                problems.append(
                    Inert(
                        f"buildout.skus.{sku_id}.resale_fraction",
                        f"buildout.skus.{sku_id}.resale_fraction has no effect: {why}; remove it",
                        in_file=True,
                    )
                )
    for e in scn.skus:
        if e.idle_power_kw_per_gpu is not None and not _billed(scn, e.id):
            problems.append(
                Inert(
                    f"skus.{e.id}.idle_power_kw_per_gpu",
                    f"skus.{e.id}.idle_power_kw_per_gpu has no effect: idle draw prices "
                    f"only electricity, and {e.id}'s is not billed (the power cap counts full load); set "
                    "energy_billed: true or remove it",
                )
            )
    return problems


def _placement_inert(scn: Scenario) -> list[Inert]:
    """Sites, racks, cooling, procurement and lead times set where nothing uses them."""
    out: list[Inert] = []
    econ = scn.economics
    given = econ.model_fields_set
    sites = scn.sites
    if sites is not None:
        if "pue" in given and all(x.pue is not None for x in sites):
            out.append(
                Inert(
                    "economics.pue",
                    "economics.pue has no effect: every site gives its own pue; remove it, or a site's pue to use "
                    "it there",
                    in_file=True,
                )
            )
        if "power_basis" in given:
            out.append(
                Inert(
                    "economics.power_basis",
                    "economics.power_basis has no effect with sites: every SKU draws its IT power x its site's PUE; "
                    "remove it",
                    in_file=True,
                )
            )
    owned = any(o.kind == "owned" for e in scn.skus for o in e.procurement or [])
    if "discount_rate" in given and not owned and scn.buildout is None:
        out.append(
            Inert(
                "economics.discount_rate",
                "economics.discount_rate has no effect: no SKU has an owned procurement entry and there is no "
                "buildout; add {kind: owned, ...} to a SKU's procurement, or remove it",
                in_file=True,
            )
        )
    for i, e in enumerate(scn.skus):
        fields = e.model_fields_set
        if sites is None:
            for name in ("units_per_rack", "cooling"):
                if name in fields:
                    out.append(
                        Inert(
                            f"skus[{i}].{name}",
                            f"skus[{i}] ('{e.id}').{name} has no effect without sites (no racks or liquid loop to "
                            "count); add sites:, or remove it",
                            in_file=True,
                        )
                    )
        for k, o in enumerate(e.procurement or []):
            if o.kind == "reserved" and o.upfront and scn.buildout is None:
                out.append(
                    Inert(
                        f"skus[{i}].procurement[{k}].upfront",
                        f"skus[{i}] ('{e.id}').procurement[{k}].upfront applies to `planner buildout` (when the "
                        "commitment is charged); a single-period plan bills a reservation for every hour of its span",
                    )
                )
            if o.kind == "reserved" and scn.buildout is None:
                out.append(
                    Inert(
                        f"skus[{i}].procurement[{k}].term_months",
                        f"skus[{i}] ('{e.id}').procurement[{k}].term_months applies to `planner buildout` (the "
                        "commitment's length); a single-period plan bills a reservation for every hour of its span",
                    )
                )
        if e.lead_time_months:
            kinds = {o.kind for o in e.procurement or []}
            if e.procurement is not None and not kinds & {"owned", "reserved"}:
                out.append(
                    Inert(
                        f"skus[{i}].lead_time_months",
                        f"skus[{i}] ('{e.id}').lead_time_months has no effect: only owned and reserved capacity waits "
                        "for delivery; remove it",
                        in_file=True,
                    )
                )
            elif scn.buildout is None:
                out.append(
                    Inert(
                        f"skus[{i}].lead_time_months",
                        f"skus[{i}] ('{e.id}').lead_time_months applies to `planner buildout` (a single-period plan "
                        "has no order dates); add a buildout: section to use it",
                    )
                )
    for sku_id in scn.existing:
        for entry in scn.existing_entries(sku_id):
            if entry.age_years and scn.buildout is None:
                out.append(
                    Inert(
                        f"existing.{sku_id}.age_years",
                        f"existing.{sku_id}.age_years applies to `planner buildout` (what is left of the units' life); "
                        "a single-period plan keeps or retires them whatever their age",
                    )
                )
    return out


STATED_ECONOMICS = ("pue", "electricity_usd_per_kwh", "pricing_tier", "power_basis")


def unused_economics(scn) -> set[str]:
    """The economics fields among ``STATED_ECONOMICS`` that no figure of ``scn`` uses, by the rules
    that refuse them when set (``planner.scenario.effects.no_effect``), applied as if each were set."""
    econ = scn.economics
    explicit = scn.model_copy(
        update={"economics": econ.model_copy(update={k: getattr(econ, k) for k in STATED_ECONOMICS})}
    )
    return {i.path.removeprefix("economics.") for i in no_effect(explicit) if i.path.startswith("economics.")}
