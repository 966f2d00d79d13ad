"""The cost-per-token table: SKUs side by side on one workload at one service level."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

from planner.catalog.load import Catalog
from planner.catalog.schema import CatalogSku
from planner.catalog.throughput import max_interactivity, throughput_at
from planner.economics import (
    cost_per_million_tokens,
    owned_cost_per_gpu_hour,
    pflops_per_dollar_hour,
    tokens_per_s_per_mw,
)
from planner.errors import ScenarioError

Tier = Literal["hyperscaler", "neocloud", "rental_3yr", "owned"]
PowerBasis = Literal["all_in", "it"]
RATIO_KEYS = (
    "cost_per_gpu_hour",
    "pflops_per_dollar_hour",
    "tokens_per_s_per_gpu",
    "tokens_per_s_per_mw",
    "cost_per_million_tokens",
)


@dataclass(frozen=True)
class Ownership:
    """Inputs of the `owned` pricing tier."""

    rate: float = 0.10  # cost of capital [1/year]; shared REFERENCE.md 4 (suggested default)
    life_years: float | None = None  # economic life [years]; None: the catalog default
    fixed_opex_usd_per_gpu_year: float = 0.0  # colocation, support [$/GPU-year]
    electricity_usd_per_kwh: float = 0.08  # [$/kWh]; shared REFERENCE.md 4 (suggested default)
    pue: float = 1.3  # [1]


@dataclass(frozen=True)
class CompareRow:
    sku: str
    family: str
    workload: str
    interactivity: float  # target [tok/s/user]
    throughput_basis: str
    measured: str
    pricing_tier: str
    cost_per_gpu_hour: float  # [$/GPU-h]
    flops_basis: str
    pflops_per_dollar_hour: float  # [PFLOPS per $/GPU-h]
    tokens_per_s_per_gpu: float  # total tokens [tokens/s]
    power_basis: str
    facility_kw_per_gpu: float  # [kW]
    tokens_per_s_per_mw: float  # [tokens/s per MW facility]
    cost_per_million_tokens: float  # [$/M tokens]
    ratio_to_first: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Comparison:
    title: str
    rows: list[CompareRow]
    skipped: list[str]  # SKUs left out of an `all` selection, with the reason


def gpu_hour_cost(sku: CatalogSku, tier: Tier, ownership: Ownership, default_life: float) -> float:
    """$/GPU-hour of a SKU at a pricing tier. [$/GPU-h]"""
    if tier == "owned":
        return owned_cost_per_gpu_hour(
            capex_usd_per_gpu=sku.capex_usd_per_gpu.mid,
            rate=ownership.rate,
            life_years=ownership.life_years or default_life,
            fixed_opex_usd_per_gpu_year=ownership.fixed_opex_usd_per_gpu_year,
            power_kw_per_gpu=sku.power.it_kw_per_gpu.value,
            pue=ownership.pue,
            electricity_usd_per_kwh=ownership.electricity_usd_per_kwh,
        )
    return getattr(sku.pricing, tier).value


def facility_kw(sku: CatalogSku, basis: PowerBasis, pue: float) -> float:
    """Facility power per GPU at full load: all-in as published, or IT x PUE. [kW]"""
    if basis == "all_in":
        return sku.power.all_in_kw_per_gpu.value
    return sku.power.it_kw_per_gpu.value * pue


def compare(
    catalog: Catalog,
    *,
    preset: str | None = None,
    skus: list[str] | None = None,
    workload: str | None = None,
    interactivity: float | None = None,
    tier: Tier | None = None,
    power_basis: PowerBasis = "all_in",
    ownership: Ownership | None = None,
) -> Comparison:
    """Build the table. With no arguments: the first preset (the NVIDIA comparison).

    ``skus=['all']`` takes every SKU with data on the workload that reaches the target;
    the rest are listed in ``skipped``. Named SKUs that cannot serve the target are errors.
    """
    ownership = ownership or Ownership()
    if preset is not None and preset not in catalog.comparisons:
        raise ScenarioError(f"unknown preset '{preset}' (known: {', '.join(catalog.comparisons)})")
    base = catalog.comparisons[preset] if preset else next(iter(catalog.comparisons.values()))
    custom = workload is not None and workload != base.workload
    wl = catalog.workload(workload or base.workload)
    if interactivity is None:
        interactivity = wl.default_interactivity.value if custom else base.interactivity.value
    tier = tier or base.tier
    title = base.title if not (custom or skus) else f"{wl.model} {wl.input_tokens}/{wl.output_tokens} tokens"
    title += f" at {interactivity:g} tok/s/user, {tier} pricing"

    skipped: list[str] = []
    if skus and skus != ["all"]:
        chosen = list(dict.fromkeys(skus))
        for s in chosen:
            catalog.sku(s)
    elif skus == ["all"]:
        chosen = []
        for s in catalog.skus:
            series = catalog.series(wl.id, s)
            if not series:
                skipped.append(f"{s}: no measurement on {wl.id}")
            elif max_interactivity(series) < interactivity:
                skipped.append(f"{s}: measured only up to {max_interactivity(series):g} tok/s/user")
            else:
                chosen.append(s)
        if not chosen:
            raise ScenarioError(f"no SKU reaches {interactivity:g} tok/s/user on {wl.id}", skipped)
    else:
        chosen = list(base.skus) if not custom else [s for s in base.skus if catalog.series(wl.id, s)]

    problems: list[str] = []
    rows: list[CompareRow] = []
    for sku_id in chosen:
        sku = catalog.sku(sku_id)
        try:
            op = throughput_at(catalog.series(wl.id, sku_id), interactivity, sku=sku_id, workload=wl.id)
        except ScenarioError as exc:
            problems.append(str(exc))
            continue
        cost = gpu_hour_cost(sku, tier, ownership, catalog.economic_life_years)
        kw = facility_kw(sku, power_basis, ownership.pue)
        tflops = sku.peak_tflops.get(op.flops_basis)
        rows.append(
            CompareRow(
                sku=sku_id,
                family=sku.family,
                workload=wl.id,
                interactivity=interactivity,
                throughput_basis=op.basis,
                measured=op.series.measured,
                pricing_tier=tier,
                cost_per_gpu_hour=cost,
                flops_basis=op.flops_basis if tflops else "n/a",
                pflops_per_dollar_hour=pflops_per_dollar_hour(tflops.value, cost) if tflops else float("nan"),
                tokens_per_s_per_gpu=op.tokens_per_s_per_gpu,
                power_basis=power_basis if power_basis == "all_in" else f"it x PUE {ownership.pue:g}",
                facility_kw_per_gpu=kw,
                tokens_per_s_per_mw=tokens_per_s_per_mw(op.tokens_per_s_per_gpu, kw),
                cost_per_million_tokens=cost_per_million_tokens(cost, op.tokens_per_s_per_gpu),
            )
        )
    if problems:
        raise ScenarioError("cannot compare at this service level", problems)
    first = rows[0]
    with_ratios = [
        CompareRow(**{**r.to_dict(), "ratio_to_first": {k: getattr(r, k) / getattr(first, k) for k in RATIO_KEYS}})
        for r in rows
    ]
    return Comparison(title=title, rows=with_ratios, skipped=skipped)
