"""The `buildout:` section of a scenario file: a multi-period plan (what to buy when).

Periods run back to back from ``start``, each ``period_months`` long. A period is named by
its 1-based index (``5``) or by its label: ``2027Q3`` when periods are quarters starting in
January, April, July or October, else ``2027-08`` (year and month of its start).

Every per-period figure takes a number (the same in every period) or a list with one value
per period.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, NonNegativeFloat, PositiveFloat, PositiveInt, model_validator

HOURS_PER_MONTH = 730.0  # 8760 / 12 [h]
MAX_PERIODS = 60

PeriodRef = PositiveInt | str
# every figure a scenario gives stays below 1e15 in any unit: beyond that an input is a typo,
# and products with it (GPUs x price x hours) would overflow before the solver could refuse them
Figure = Annotated[float, Field(gt=0, le=1e15)]
FigureOrZero = Annotated[float, Field(ge=0, le=1e15)]
PerPeriod = Figure | list[Figure]
PerPeriodOrZero = FigureOrZero | list[FigureOrZero]


class Strict(BaseModel):
    """Unknown keys are errors; values are immutable; NaN and inf are rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class BuildoutDemand(Strict):
    """Demand per period: the scenario's demand curve scaled by growth, or one curve per period."""

    scale: Annotated[float, Field(gt=0, le=1e6)] | dict[str, Annotated[float, Field(gt=0, le=1e6)]] = Field(
        default=1.0, description="Multiplier on the scenario's demand curve: one number, or one per workload. [1]"
    )
    growth_per_month: float = Field(
        default=0.0,
        ge=-0.5,
        le=1.0,
        description="Demand growth: a factor (1 + g)^m at month m from the start (m continuous). Capacity is sized on the period's last "
        "month (peak x (1+g)^months at the period's end); tokens and energy use the period's average. [1/month]",
    )
    curves: list[str] | None = Field(
        default=None,
        description="One load-curve CSV per period (relative to the scenario), instead of scale and growth.",
    )

    @model_validator(mode="after")
    def _one_source(self) -> BuildoutDemand:
        if self.curves is not None and (self.growth_per_month != 0.0 or self.scale != 1.0):
            raise ValueError("give either curves (one CSV per period) or scale/growth_per_month, not both")
        return self


class BuildoutSku(Strict):
    """When a SKU can be bought and what it costs, period by period."""

    available_from: PeriodRef | None = Field(default=None, description="First period it can be bought.")
    available_until: PeriodRef | None = Field(default=None, description="Last period it can be bought.")
    pricing: Literal["owned", "hourly"] | None = Field(
        default=None,
        description="owned (capex annuity + fixed opex + energy) or hourly ($/GPU-hour); default: buildout.pricing.",
    )
    capex_usd_per_gpu: PerPeriod | None = Field(
        default=None, description="Purchase price path; default: the SKU's capex (catalog mid). [$/GPU]"
    )
    cost_per_gpu_hour: PerPeriod | None = Field(
        default=None, description="All-in price path for hourly pricing; default: the scenario's tier. [$/GPU-h]"
    )
    fixed_opex_usd_per_gpu_year: NonNegativeFloat | None = Field(
        default=None,
        description="Owned: colocation, network, support. Default: the residual of the $/GPU-hour tier after "
        "capital recovery at the price of the first period it can be bought (available_from) and full-load energy. [$/GPU-year]",
    )
    economic_life_years: PositiveFloat | None = Field(
        default=None,
        le=100,
        description="Life after which a unit retires; default: buildout.economic_life_years. [years]",
    )
    resale_fraction: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Owned units bought in the buildout and retired before the end of their life get back this "
        "share of their remaining capital (they pay the rest); default 0. [1]",
    )


class Cohort(Strict):
    """Units already installed at the start, with their age."""

    sku: str = Field(description="SKU id (one of the scenario's skus).")
    units: PositiveInt = Field(description="Installed units. [units]")
    age_months: NonNegativeFloat = Field(default=0.0, description="Age at the start of the first period. [months]")
    capex_usd_per_gpu: PositiveFloat | None = Field(
        default=None, description="What was paid (its remaining annuities are charged); default: first price. [$/GPU]"
    )


class BuildoutSpec(Strict):
    """A multi-period buildout: purchases and retirements period by period."""

    start: dt.date = Field(description="First day of the first period.")
    period_months: PositiveFloat = Field(default=3.0, le=120, description="Length of each period. [months]")
    periods: PositiveInt = Field(le=MAX_PERIODS, description="Number of periods.")
    demand: BuildoutDemand = BuildoutDemand()
    power_cap_mw: PerPeriod | None = Field(
        default=None, description="Facility power energised per period; default: constraints.power_cap_mw. [MW]"
    )
    capex_budget_usd: PerPeriodOrZero | None = Field(default=None, description="Purchase budget per period. [$]")
    budget_usd_per_hour: PerPeriod | None = Field(
        default=None,
        description="Run-rate budget per period (hourly prices; owned: annuity + fixed opex per hour); "
        "default: constraints.budget_usd_per_hour. [$/h]",
    )
    total_capex_budget_usd: NonNegativeFloat | None = Field(
        default=None, description="Purchase budget over the horizon; default: constraints.capex_budget_usd. [$]"
    )
    discount_rate: float = Field(
        default=0.10, ge=0.0, le=1.0, description="Cost of capital: annuities and discounting. [1/year]"
    )
    economic_life_years: PositiveFloat | None = Field(
        default=None, le=100, description="Default economic life; default: the catalog's (4 years). [years]"
    )
    pricing: Literal["owned", "hourly"] = Field(
        default="owned",
        description="Default pricing: owned (capex annuity committed for the life + fixed opex + energy) or "
        "hourly (the scenario's $/GPU-hour tier per installed GPU-hour, as `planner plan`).",
    )
    skus: dict[str, BuildoutSku] = Field(default_factory=dict, description="Per-SKU windows and price paths.")
    existing: list[Cohort] | None = Field(
        default=None, description="Installed cohorts with age; default: the scenario's existing, age 0."
    )
    early_retirement: bool = Field(default=True, description="Units may retire before their end of life.")
    mode: Literal["perfect_foresight", "myopic"] = Field(
        default="perfect_foresight", description="One model over all periods, or period by period."
    )
    end_of_horizon: Literal["annuities", "purchase"] = Field(
        default="annuities",
        description="annuities: only the capital annuities falling inside the horizon are charged (what is left "
        "is the value handed to the next horizon); purchase: the full price is charged when bought.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> BuildoutSpec:
        problems: list[str] = []
        n = self.periods

        def check_len(name: str, value) -> None:
            if isinstance(value, list) and len(value) != n:
                problems.append(f"{name} has {len(value)} values; give one per period ({n}) or a single number")

        check_len("power_cap_mw", self.power_cap_mw)
        check_len("capex_budget_usd", self.capex_budget_usd)
        check_len("budget_usd_per_hour", self.budget_usd_per_hour)
        if self.demand.curves is not None and len(self.demand.curves) != n:
            problems.append(f"demand.curves has {len(self.demand.curves)} files; give one per period ({n})")
        for sku_id, entry in self.skus.items():
            check_len(f"skus.{sku_id}.capex_usd_per_gpu", entry.capex_usd_per_gpu)
            check_len(f"skus.{sku_id}.cost_per_gpu_hour", entry.cost_per_gpu_hour)
            first = last = None
            for key in ("available_from", "available_until"):
                ref = getattr(entry, key)
                if ref is None:
                    continue
                try:
                    idx = self.period_index(ref)
                except ValueError as exc:
                    problems.append(f"skus.{sku_id}.{key}: {exc}")
                    continue
                first, last = (idx, last) if key == "available_from" else (first, idx)
            if first is not None and last is not None and last < first:
                problems.append(
                    f"skus.{sku_id}: available_until {entry.available_until} is before available_from "
                    f"{entry.available_from}"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # ---- periods ---------------------------------------------------------------------
    @property
    def period_hours(self) -> float:
        """Hours in each period. [h]"""
        return self.period_months * HOURS_PER_MONTH

    def period_start(self, p: int) -> dt.date:
        """First day of period p (0-based), to the nearest whole month of the start."""
        months = round(p * self.period_months)
        year, month = divmod(self.start.month - 1 + months, 12)
        return dt.date(self.start.year + year, month + 1, min(self.start.day, 28)) if months else self.start

    def labels(self) -> list[str]:
        """Period names: 2027Q3 for calendar quarters, else 2027-08."""
        quarterly = self.period_months == 3.0 and self.start.day == 1 and self.start.month in (1, 4, 7, 10)
        out = []
        for p in range(self.periods):
            d = self.period_start(p)
            out.append(f"{d.year}Q{(d.month - 1) // 3 + 1}" if quarterly else f"{d.year}-{d.month:02d}")
        if len(set(out)) < len(out):  # periods shorter than a month: number them
            out = [f"P{p + 1}" for p in range(self.periods)]
        return out

    def period_index(self, ref: int | str) -> int:
        """0-based index of a period named by its 1-based number or its label."""
        labels = self.labels()
        if isinstance(ref, int):
            if not 1 <= ref <= self.periods:
                raise ValueError(f"period {ref} is outside 1..{self.periods}")
            return ref - 1
        if ref in labels:
            return labels.index(ref)
        raise ValueError(f"unknown period '{ref}' (periods: {', '.join(labels)}, or 1..{self.periods})")


def per_period(value: float | list[float] | None, periods: int) -> list[float | None]:
    """A per-period figure as a list (None: not set)."""
    if value is None:
        return [None] * periods
    if isinstance(value, list):
        return [float(v) for v in value]
    return [float(value)] * periods


def months_to_periods(months: float, period_months: float) -> int:
    """Whole periods in ``months`` (rounded to the nearest period, at least 0)."""
    return max(0, int(math.floor(months / period_months + 0.5)))
