"""Why no fleet fits: the one typed diagnosis of `planner plan` and `planner buildout`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import (
    Literal,
    NotRequired,  # pydantic reads them (document schemas): not typing's on 3.11
)

from typing_extensions import TypedDict

# a plan's findings (planner.optimize.explain)


class PowerCheck(TypedDict):
    """The peak, or the existing fleet alone, needs more facility power than the cap."""

    check: Literal["power_for_peak", "existing_power"]
    message: str
    needed_mw: float  # [MW]
    cap_mw: float  # [MW]


class BudgetCheck(TypedDict):
    """The peak, or the existing fleet alone, costs more per hour than the run-rate budget."""

    check: Literal["budget_for_peak", "existing_budget"]
    message: str
    needed_usd_per_hour: float  # [$/h]
    budget_usd_per_hour: float  # [$/h]


class SupplyCheck(TypedDict):
    """A workload peaks above what every available unit together serves."""

    check: Literal["supply"]
    message: str
    workload: str
    peak_tokens_per_s: float  # [tokens/s]
    max_tokens_per_s: float  # [tokens/s]


Check = PowerCheck | BudgetCheck | SupplyCheck  # a closed-form check (the JSON reason's ``checks``)


class Shortfall(TypedDict):
    """What the caps leave unserved of one workload (the JSON reason's ``unserved``)."""

    unserved_tokens: float  # [tokens]
    unserved_share: float  # of its tokens [1]
    max_unserved_tokens_per_s: float  # [tokens/s]
    hours: list[str]  # hour ranges short, e.g. '14-17' (the first 12)
    slices_short: int


class Elastic(TypedDict):
    """The elastic re-solve (the JSON reason's ``elastic``): unserved per workload and its fleet."""

    unserved: dict[str, Shortfall]
    fleet: dict[str, int]  # units per SKU column


class CapRelaxation(TypedDict):
    """One cap with the others removed: the least value of it that makes the problem feasible."""

    current: float  # [the cap's unit]
    needed: float | None  # None: not feasible by itself [the cap's unit]
    unit: str
    feasible_by_itself: bool
    site: str | None
    resource: str  # the cap's kind: power_cap, budget_cap, site_power, supply, ...


class SupplyRelaxation(TypedDict):
    """Whether lifting every supply limit (max_units, on-demand max_gpus) makes it feasible."""

    feasible_without_supply_limits: bool


class CapNeed(TypedDict):
    """The value a cap would need (the JSON reason's ``caps_needed``)."""

    period: Literal["plan"]
    cap: str
    unit: str
    scope: Literal["only", "together"]  # that cap alone | every cap raised at once
    current: float
    needed: float
    short_by: float
    feasible_when_raised: bool


# a buildout's findings (planner.buildout.explain)


class PeriodCheck(TypedDict):
    """A period's peak, or its fleet that cannot retire, needs more facility power than the cap
    (the JSON reason's ``checks``)."""

    period: str
    check: Literal["power_for_peak", "fleet_power"]
    message: str
    needed_mw: float  # [MW]
    cap_mw: float  # [MW]


class PeriodShortfall(TypedDict):
    """What the caps leave unserved in one period (the JSON reason's ``unserved``, by period label)."""

    index: int  # the period's position in the horizon
    unserved_tokens: float  # [tokens]
    unserved_share: float  # of the period's tokens [1]
    max_unserved_tokens_per_s: float  # [tokens/s]


class CapVerdict(TypedDict):
    """One cap's verdict (the JSON reason's ``relaxations``; the short ones are its ``caps_needed``)."""

    period: str  # a period label, "every period" or "horizon"
    cap: str  # power_cap, capex_cap, power_cap@<site>, ..., capex_total, lead_time@<sku>
    unit: str
    scope: Literal["all", "only"]  # the cap kind in every period together | this cap alone
    current: float | None
    needed: float | None  # None: no raise of it is enough
    short_by: float | None  # None: not short (or no raise is enough)
    feasible_when_raised: bool
    field: NotRequired[str]  # lead times: the scenario field


@dataclass(frozen=True, kw_only=True)
class Reason:
    """A diagnosis in words and numbers (the JSON ``reason``), the same type for plans and buildouts.

    ``lines`` are the findings, one each (``summary`` joins them); ``checks`` the closed-form
    bounds that prove infeasibility without a solver; ``unserved`` what the caps leave unserved
    (per workload for a plan, per period for a buildout); ``caps_needed`` rows ``{period, cap,
    unit, scope, current, needed, short_by, feasible_when_raised}``: the value each cap would
    need (``scope`` "only": that cap alone, the others as they are; "all": that cap kind raised
    in every period together; "together": every cap of a plan raised at once by the least total
    relative amount, when no cap alone suffices); ``relaxations`` the command's detailed table (a plan: per
    scenario field, and whether the supply limits explain it; a buildout: every row, short or
    not); ``scope`` what the diagnosis ran on when it is not the full problem (time aggregation).
    """

    summary: str
    lines: list[str]
    checks: list[Check] | list[PeriodCheck] = field(default_factory=list)
    unserved: dict[str, Shortfall] | dict[str, PeriodShortfall] = field(default_factory=dict)  # by workload | period
    caps_needed: list[CapNeed] | list[CapVerdict] = field(default_factory=list)
    relaxations: dict[str, CapRelaxation | SupplyRelaxation] | list[CapVerdict] = field(default_factory=dict)
    first_infeasible_period: str | None = None
    scope: str | None = None
    mode: str | None = None
    elastic: Elastic | None = None  # a plan's elastic re-solve: unserved per workload and its fleet
