r"""The fleet model, built with PuLP: one formulation for `planner plan` and `planner buildout`.

A problem is SKUs plus a tuple of periods. A single-period plan is one period (weight 1, no
discount, hourly prices, the existing fleet as a cohort that cannot retire, purchases =
units - existing); a buildout has several. One ``define_<family>()`` per constraint family
serves both, over a window of periods (all of them, or one at a time when myopic).

Sets: SKUs ``s``, periods ``p`` of the window, workloads ``w``, slices ``t`` of period p's
representative curve.

Data: ``g_s`` GPUs per unit; ``k_s`` / ``i_s`` facility kW per GPU at full load / idle;
``theta_sw`` tokens/s per busy GPU (0: cannot serve); ``u`` utilisation cap; ``N_s`` supply
limit [units]; ``a_sp`` = 1 if s can be bought in p; ``q_sp`` purchase price [$/GPU] (NaN:
none); ``L_s`` life [periods]; ``A_sv = q_sv CRF(r, life_s)`` annuity of a unit bought in v
[$/GPU-year]; ``f_sp`` / ``x_s`` the fixed and busy $ per GPU-hour of the one cost function
(``planner.economics.gpu_hour_costs``: the hourly price or an owned unit's fixed opex, plus
idle energy where billed / the busy-energy increment where billed); ``c_sp`` run-rate per
GPU-hour (the hourly price; owned: annuity / 8760 + fixed opex); ``H_p`` period hours;
``h_pt`` slice hours of the representative curve and ``m_p = H_p / sum_t h_pt`` its weight;
``D_pwt`` / ``M_pwt`` peak / mean demand [tokens/s] and ``r_pwt = M/D`` (0 where D = 0);
``delta_p = (1+r)^-(years to the start of p)``; ``E_sp`` units of the initial cohorts (the
existing fleet) still inside their life in p, ``E_s`` units installed before the first period.
Decisions before the window (myopic) are data (``History``).

Variables:
  buy[s,p]          integer >= 0; 0 where a_sp = 0; units bought at the start of p
  units[s,p]        integer, 0 <= units[s,p] <= N_s; units installed during p
  busy[s,w,p,t]     >= 0, GPUs serving w at the slice's peak (where theta_sw > 0)
  unserved[w,p,t]   >= 0, <= D_pwt: peak tokens/s not served (objectives that allow it,
                    and the elastic model of the diagnosis)
  kept[s,v,p]       >= 0, v < p < v + L_s: units bought in v still installed in p, for the
                    columns that keep vintages (``tracks_vintages``: owned purchases that may
                    retire early, under annuities or with a resale share); kept[s,p,p] = buy[s,p]
  old[s,p]          0 <= old[s,p] <= E_sp: their initial cohorts' units still installed
                    (both continuous: with buy and units integer, the retirements
                    kept[s,v,p-1] - kept[s,v,p] form a transportation problem, periods to
                    vintages, whose vertices are integral; a solver answer between vertices is
                    solved again with them integer and the rest fixed: ``integral_vintages``)

Constraints:
  vintage_life[s,p]   units[s,p] <= E_sp + sum_{v = p-L_s+1..p} buy[s,v]
                      ("=" when early retirement is off: units retire at end of life only;
                      in one period, units = existing + purchases)
  fleet_balance[s,p]  units[s,p] <= units[s,p-1] + buy[s,p]          (units[s,-1] = E_s)
                      (only with early retirement: a retired unit never returns; without it
                      the row follows from vintage_life). Together the oldest units retire first.
                      A reservation never retires early: its units stay for the whole term.
  vintage_kept[s,v,p] kept[s,v,p] <= kept[s,v,p-1]; cohort_kept[s,p] old[s,p] <= old[s,p-1]
  vintage_units[s,p]  units[s,p] = old[s,p] + buy[s,p] + sum_v kept[s,v,p]
                      (these three replace vintage_life and fleet_balance where vintages are
                      kept: any unit may be the one retired, and each pays for its own vintage)
  capacity[s,p,t]     sum_w busy[s,w,p,t] <= u g_s units[s,p]
  serve_demand[w,p,t] sum_s theta_sw busy[s,w,p,t] (+ unserved[w,p,t]) = D_pwt
                      (">=" in the statement of the problem; "=" gives the same fleets and
                      cost, since busy GPUs can always be reduced, and makes the dispatch exact)
  caps, one row per entry of the cap table (``caps()``; sum coefficient x decision <= limit):
  power_cap[p]        sum_s g_s k_s units[s,p] <= 1000 P_p                     [kW]
  budget_cap[p]       sum_s g_s c_sp units[s,p] <= B_p                         [$/h]
  capex_cap[p]        sum_{s: q_sp known} g_s q_sp buy[s,p] <= C_p              [$]
  capex_total         sum_{s,p} g_s q_sp buy[s,p] <= C (less what history spent) [$]
  site_power, rack_positions, liquid_cooling [site,p]: a site's facility MW, racks, liquid MW
  supply[sku,p]       sum over an SKU's on-site columns of units[s,p] <= its max_units  [units]
  quota[sku,p]        g_s units[s,p] <= Q_s for an on-demand column with a quota (its
                      procurement.on_demand.max_gpus; its units then have no bound N_s)  [GPUs]
  In a single-period plan the rows are named power_cap, budget_cap and capex_cap.

Load splits across SKUs in the same proportion at the peak and on average within a slice,
so GPUs busy on average are ``r_pwt busy[s,w,p,t]``.

Cost of period p [$] (reported undiscounted; the objective discounts it by delta_p):
  cost_p = sum_s g_s units[s,p] f_sp H_p
         + sum_{s,w,t} x_s m_p h_pt r_pwt busy[s,w,p,t]
         + capital_p + early_retirement_p
  capital_p (owned SKUs) = sum_s g_s sum_{v <= p < v + L_s} A_sv buy[s,v] H_p / 8760
                           (+ the initial cohorts' annuities while inside their life: a constant)
End-of-horizon treatment ``annuities`` (default): a purchase is charged only the annuities that
fall inside the horizon (inside the window, when myopic); the unpaid rest is the value handed
to the next horizon. ``purchase``: capital_p = sum_s g_s q_sp buy[s,p] (full price when bought,
no residual value). Capital is committed: retiring a unit early stops its opex and energy, and
where vintages are kept it pays, at the start of the period it leaves, its remaining capital
``W_svp = A_sv sum_{q=p}^{v+L_s-1} H_q delta_q / delta_p / 8760`` (its annuities from p to the end of
its life, past the horizon too, since nothing is handed on; periods past the horizon as long as
the last) less its resale share ``rho_s`` (``buildout.skus.<id>.resale_fraction``):
  early_retirement_p = sum_{s,v} g_s (kept[s,v,p-1] - kept[s,v,p]) (1 - rho_s) W_svp   (annuities)
                     = - sum_{s,v} g_s (kept[s,v,p-1] - kept[s,v,p]) rho_s W_svp        (purchase)
                       (purchase, last period P-1: also - sum_{s,v} g_s kept[s,v,P-1] rho_s W_svP
                       delta_P / delta_{P-1}: what is still installed is sold when the horizon
                       ends, so selling a period early to collect the resale never pays)
and a unit kept pays its annuity only while installed: capital_p sums A_sv kept[s,v,p]. A unit
kept to the horizon's end hands the rest of its life on. The initial cohorts' capital is sunk
(their remaining annuities, with annuities, are charged while inside their life, kept or not).
Reservations (``procurement: reserved``) are billed their rate x GPUs x the hours of the term
inside each period in either mode (annuity = rate x 8760, life = the term); with ``upfront:
true`` the whole commitment (rate x term hours) is charged in the period it starts. Hours of a
term past the horizon are not charged (the capacity serves the next horizon).
Objective (min_cost): minimise sum_p delta_p cost_p.

Tokens served [tokens] = sum_{s,w,p,t} 3600 m_p h_pt r_pwt theta_sw busy[s,w,p,t]
                       = sum_{w,p,t} 3600 m_p h_pt (M_pwt - r_pwt unserved[w,p,t]).
Served tokens are written from the busy GPUs, not as demand minus unserved: when demand is
1e8 times what fits, the difference of two huge numbers would be below the solver's tolerances.

Objectives of a single-period plan (``planner.optimize.run``): min_cost (serve everything;
unserved absent); max_tokens (lexicographic: maximise tokens served, scaled by the LP
relaxation's maximum so that the objective is near -1 and the MIP gap applies to the tokens
served; then the least cost serving at least (1 - 1e-6) of them; the min_cost plan when
everything can be served); min_cost_per_token (minimise cost / tokens served subject to
``service_floor``: tokens served >= F, with F = min_served_fraction x demand, default the
most the caps allow; exactly, by Dinkelbach iterations on ``cost - lambda tokens``). A
buildout minimises the discounted cost, perfect foresight or myopic (``planner.buildout.run``).
"""

from __future__ import annotations

import gc
import math
import time
from dataclasses import dataclass, field, replace

import numpy as np
import pulp
from typing_extensions import TypedDict  # pydantic reads it (document schemas): not typing's on 3.11

from planner.economics import HOURS_PER_YEAR, SECONDS_PER_HOUR
from planner.errors import ScenarioError
from planner.milp.names import Names, escape
from planner.milp.problem import BuildoutProblem, BuildoutSku, Cohort, FleetProblem, Period, SkuData

FEASIBILITY_RTOL = 1e-6  # a decision breaks a row when it exceeds it by this share of the row's scale [1]


@dataclass(frozen=True)
class History:
    """Decisions fixed before the window (myopic runs)."""

    buy: np.ndarray  # (S, P) units bought; only columns before the window are read
    units: np.ndarray  # (S,) units installed in the period before the window
    capex_spent_usd: float  # purchases before the window [$]
    kept: np.ndarray | None = None  # (S, P) units of each purchase period installed just before the window


# ---- the cap table -----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Cap:
    """One cap as data: ``sum_{s,p} coefficients[s, p] x decision[s, p] <= limit``.

    The LP rows, cap use, violations, relaxations and marginal values all read this table.
    """

    name: str  # LP row and report name: power_cap (one period), power_cap_3 (period 3), capex_total
    kind: str  # power_cap | budget_cap | capex_cap | capex_total
    unit: str  # MW | $/h | $
    field: str  # the scenario field that sets the limit
    period: int | None  # the period it applies to; None: the whole horizon
    limit: float  # [unit]; for capex_total, less what history spent
    decision: str  # "units" (installed) or "buy" (purchases)
    coefficients: np.ndarray  # (S, P) [unit per unit of the decision]; racks: (G, P) over rack groups
    row_scale: float = 1.0  # the LP row is in unit x row_scale (power: kW)
    groups: tuple[RackGroup, ...] = ()  # decision "racks": the problem's rack groups
    site: str | None = None  # the site it belongs to (site caps)
    key: tuple[int, ...] = ()  # its row's indices besides the period: (site,) for site caps, (SKU,) for supply
    ids: tuple[str, ...] = ()  # the ids of those indices, for the grammar name (site_power[hall-a])

    def use(self, units: np.ndarray, buy: np.ndarray) -> float:
        """What a decision ((S, P) arrays) uses of the cap. [unit]"""
        if self.decision == "racks":
            return float((self.coefficients * racks_needed(self.groups, units)).sum())
        x = units if self.decision == "units" else buy
        return float((self.coefficients * x).sum())

    def terms(self, units, buy, racks, window: range) -> list[tuple[pulp.LpVariable, float]]:
        """The cap's use as (variable, coefficient) pairs over ``window``. [unit]"""
        decision = {"units": units, "buy": buy, "racks": racks}[self.decision]
        return [
            (decision[j, p], float(self.coefficients[j, p]))
            for j in range(self.coefficients.shape[0])
            for p in window
            if self.coefficients[j, p]
        ]


CAP_UNITS = {
    "power_cap": "MW",
    "budget_cap": "$/h",
    "capex_cap": "$",
    "capex_total": "$",
    "site_power": "MW",
    "rack_positions": "racks",
    "liquid_cooling": "MW",
    "supply": "units",
    "quota": "GPUs",
}


@dataclass(frozen=True)
class RackGroup:
    """The columns of one SKU at one site that counts rack positions: they share its racks."""

    site: str
    sku: str
    fit: int  # units one position holds [units]
    columns: tuple[int, ...]


def rack_groups(problem: BuildoutProblem) -> tuple[RackGroup, ...]:
    """Rack groups: per (site, SKU) whose units per position are known, the columns placed there
    (whether or not the site caps its positions: relaxing that cap keeps the groups)."""
    counted = {s.id for s in problem.sites}
    found: dict[tuple[str, str, int], list[int]] = {}
    for j, b in enumerate(problem.skus):
        if b.sku.site is not None and b.sku.site in counted and b.sku.units_per_rack:
            found.setdefault((b.sku.site, b.sku.base_id, int(b.sku.units_per_rack)), []).append(j)
    return tuple(RackGroup(site, sku, fit, tuple(cols)) for (site, sku, fit), cols in found.items())


def racks_needed(groups: tuple[RackGroup, ...], units: np.ndarray) -> np.ndarray:
    """(G, P) whole positions each group's units fill: ceil(units / fit). [racks]"""
    out = np.zeros((len(groups), units.shape[1]))
    for g, grp in enumerate(groups):
        total = units[list(grp.columns), :].sum(axis=0)
        out[g] = np.ceil(total / grp.fit - 1e-9)
    return np.maximum(out, 0.0)


def column_racks(groups: tuple[RackGroup, ...], units: np.ndarray) -> dict[int, int]:
    """Each grouped column's share of its group's positions in one period (``units`` (S,)): whole
    racks its units fill alone, then the group's remaining positions to the columns with the largest
    part-filled rack, so the columns' racks add up to the group's ``ceil(sum units / fit)``."""
    out: dict[int, int] = {}
    for grp in groups:
        cols = list(grp.columns)
        n = np.maximum(np.asarray([units[j] for j in cols], dtype=float), 0.0)
        full = np.floor(n / grp.fit + 1e-9)
        left = int(math.ceil(n.sum() / grp.fit - 1e-9) - full.sum())
        part = n / grp.fit - full
        for i in np.argsort(-part, kind="stable")[: max(left, 0)]:
            full[i] += 1
        out.update({j: int(r) for j, r in zip(cols, full, strict=True)})
    return out


def capex_per_unit(b: BuildoutSku, p: int) -> float:
    """Purchase money of one unit bought in p (0 where it cannot be bought or has no price). [$]"""
    q = b.capex_usd_per_gpu[p]
    return b.sku.gpus_per_unit * q if b.available[p] and not math.isnan(q) else 0.0


def purchase_price(b: BuildoutSku, p: int) -> float:
    """What end_of_horizon "purchase" charges when a unit arrives in p: its price, or a reservation's
    whole commitment. [$/GPU]"""
    q = b.committed_usd_per_gpu[p] if b.committed_usd_per_gpu is not None else b.capex_usd_per_gpu[p]
    return 0.0 if math.isnan(q) else q


def caps(problem: BuildoutProblem, window: range | None = None, history: History | None = None) -> list[Cap]:
    """The cap table of ``window`` (default: every period). The whole table is built once per
    problem and kept on it (the problem is frozen; ``replace`` makes a new one without it)."""
    whole = window is None and history is None
    if whole and "_cap_table" in problem.__dict__:
        return list(problem.__dict__["_cap_table"])
    table = _cap_table(problem, window, history)
    if whole:
        object.__setattr__(problem, "_cap_table", tuple(table))
    return table


def _cap_table(problem: BuildoutProblem, window: range | None, history: History | None) -> list[Cap]:
    window = window if window is not None else range(len(problem.periods))
    S, P = len(problem.skus), len(problem.periods)
    single = P == 1
    field_of = {
        "power_cap": "constraints.power_cap_mw" if single else "buildout.power_cap_mw",
        "budget_cap": "constraints.budget_usd_per_hour" if single else "buildout.budget_usd_per_hour",
        "capex_cap": "constraints.capex_budget_usd" if single else "buildout.capex_budget_usd",
    }
    out: list[Cap] = []
    for p in window:
        per = problem.periods[p]
        for kind, limit in (
            ("power_cap", per.power_cap_mw),
            ("budget_cap", per.budget_usd_per_hour),
            ("capex_cap", per.capex_budget_usd),
        ):
            if limit is None:
                continue
            coef = np.zeros((S, P))
            for j, b in enumerate(problem.skus):
                g = b.sku.gpus_per_unit
                if kind == "power_cap":
                    coef[j, p] = g * b.sku.facility_kw_per_gpu / 1000.0
                elif kind == "budget_cap":
                    coef[j, p] = g * b.run_rate_usd_per_gpu_hour(p)
                elif p + b.lead_periods < P:  # paid in the period of the order, for units arriving lead periods on
                    coef[j, p + b.lead_periods] = capex_per_unit(b, p + b.lead_periods)
            out.append(
                Cap(
                    name=kind if single else f"{kind}_{p}",
                    kind=kind,
                    unit=CAP_UNITS[kind],
                    field=field_of[kind],
                    period=p,
                    limit=float(limit),
                    decision="buy" if kind == "capex_cap" else "units",
                    coefficients=coef,
                    row_scale=1000.0 if kind == "power_cap" else 1.0,
                )
            )
    out += _site_caps(problem, window, single)
    if problem.total_capex_budget_usd is not None:
        spent = history.capex_spent_usd if history is not None and window.start > 0 else 0.0
        coef = np.zeros((S, P))
        for j, b in enumerate(problem.skus):
            for p in window:
                coef[j, p] = capex_per_unit(b, p)
        out.append(
            Cap(
                name="capex_total",
                kind="capex_total",
                unit="$",
                field="buildout.total_capex_budget_usd",
                period=None,
                limit=float(problem.total_capex_budget_usd) - spent,
                decision="buy",
                coefficients=coef,
            )
        )
    return out


def facility_mw_per_unit(b: SkuData) -> float:
    """Facility power one installed unit draws at its site (IT x the site's PUE). [MW]"""
    return b.gpus_per_unit * b.facility_kw_per_gpu / 1000.0


def liquid_mw_per_unit(b: SkuData) -> float:
    """Liquid-cooling load of one installed unit (its IT power if liquid-cooled, else 0). [MW]"""
    return b.gpus_per_unit * b.it_kw_per_gpu / 1000.0 if b.cooling == "liquid" else 0.0


class SiteUse(TypedDict):
    """What a site's installed units use of its caps in one period (None: not capped)."""

    site: str
    power_mw: float  # facility power [MW]
    power_cap_mw: float | None
    racks: int  # rack positions taken
    rack_positions: int | None
    liquid_mw: float  # liquid-cooled IT power [MW]
    liquid_cooling_mw: float | None
    gpus: int


def site_use(problem: BuildoutProblem, units: np.ndarray) -> list[list[SiteUse]]:
    """Per period, per site: what the installed ``units`` ((S, P)) use of its power, rack positions
    and liquid cooling (the site caps' own coefficients), against each limit (None: not capped)."""
    groups = rack_groups(problem)
    racks = racks_needed(groups, units)
    out = []
    for p in range(len(problem.periods)):
        rows: list[SiteUse] = []
        for site in problem.sites:
            at = [j for j, b in enumerate(problem.skus) if b.sku.site == site.id]
            rows.append(
                {
                    "site": site.id,
                    "power_mw": float(sum(units[j, p] * facility_mw_per_unit(problem.skus[j].sku) for j in at)),
                    "power_cap_mw": site.power_cap_mw,
                    "racks": int(sum(racks[g, p] for g, grp in enumerate(groups) if grp.site == site.id)),
                    "rack_positions": site.rack_positions,
                    "liquid_mw": float(sum(units[j, p] * liquid_mw_per_unit(problem.skus[j].sku) for j in at)),
                    "liquid_cooling_mw": site.liquid_cooling_mw,
                    "gpus": int(round(sum(units[j, p] * problem.skus[j].sku.gpus_per_unit for j in at))),
                }
            )
        out.append(rows)
    return out


def has_supply_row(b: BuildoutSku) -> bool:
    """Whether a column's own supply limit (``SkuData.own_supply_limit``) is a cap row, so its units
    carry no upper bound of their own (a quota is one too: ``has_quota``)."""
    return b.sku.own_supply_limit


def has_quota(b: BuildoutSku) -> bool:
    """Whether a column is on-demand capacity with a quota (``procurement.on_demand.max_gpus``): a
    cap row of its own, so its units carry no upper bound of their own."""
    return b.sku.procurement == "on_demand" and math.isfinite(b.sku.max_units)


def _site_caps(problem: BuildoutProblem, window: range, single: bool) -> list[Cap]:
    """Per site: facility power, rack positions, liquid cooling; per SKU placed in several columns:
    its supply limit over them; per on-demand column with a quota: the GPUs it may rent."""
    S, P = len(problem.skus), len(problem.periods)
    groups = rack_groups(problem)
    out: list[Cap] = []
    for p in window:
        suffix = "" if single else f"_{p}"
        for i, site in enumerate(problem.sites):
            at = [j for j, b in enumerate(problem.skus) if b.sku.site == site.id]
            entries = []
            if site.power_cap_mw is not None:
                coef = np.zeros((S, P))
                for j in at:
                    coef[j, p] = facility_mw_per_unit(problem.skus[j].sku)
                entries.append(("site_power", "power_cap", "power_cap_mw", site.power_cap_mw, "units", coef, 1000.0))
            if site.rack_positions is not None:
                coef = np.zeros((len(groups), P))
                for g, grp in enumerate(groups):
                    if grp.site == site.id:
                        coef[g, p] = 1.0
                entries.append(
                    ("rack_positions", "rack_positions", "rack_positions", site.rack_positions, "racks", coef, 1.0)
                )
            if site.liquid_cooling_mw is not None:
                coef = np.zeros((S, P))
                for j in at:
                    coef[j, p] = liquid_mw_per_unit(problem.skus[j].sku)
                entries.append(
                    (
                        "liquid_cooling",
                        "liquid_cooling",
                        "liquid_cooling_mw",
                        site.liquid_cooling_mw,
                        "units",
                        coef,
                        1000.0,
                    )
                )
            for kind, label, key, limit, decision, coef, scale in entries:
                out.append(
                    Cap(
                        name=f"{label}@{site.id}{suffix}",
                        kind=kind,
                        unit=CAP_UNITS[kind],
                        field=f"sites.{site.id}.{key}",
                        period=p,
                        limit=float(limit),
                        decision=decision,
                        coefficients=coef,
                        row_scale=scale,
                        groups=groups if decision == "racks" else (),
                        site=site.id,
                        key=(i,),
                        ids=(site.id,),
                    )
                )
        supply: dict[str, tuple[float, list[int]]] = {}
        for j, b in enumerate(problem.skus):
            if b.sku.on_site and math.isfinite(b.sku.sku_max_units):
                supply.setdefault(b.sku.base_id, (b.sku.sku_max_units, []))[1].append(j)
        # a SKU's one column with its own max_units: the same cap on that column alone
        single_cols = [j for j, b in enumerate(problem.skus) if has_supply_row(b)]
        bases = [problem.skus[j].sku.base_id for j in single_cols]
        for j in single_cols:
            b = problem.skus[j]
            sku_id = b.sku.base_id if bases.count(b.sku.base_id) == 1 else b.id
            supply.setdefault(sku_id, (b.sku.max_units, []))[1].append(j)
        for sku_id, (limit, cols) in supply.items():
            coef = np.zeros((S, P))
            coef[cols, p] = 1.0
            base = problem.skus[cols[0]].sku.base_id
            out.append(
                Cap(
                    name=f"supply@{sku_id}{suffix}",
                    kind="supply",
                    unit="units",
                    field=f"skus.{base}.max_units",
                    period=p,
                    limit=float(limit),
                    decision="units",
                    coefficients=coef,
                    key=(cols[0],),  # a column belongs to one supply cap at most
                    ids=(sku_id,),
                )
            )
        for j, b in enumerate(problem.skus):
            if has_quota(b):
                g = b.sku.gpus_per_unit
                coef = np.zeros((S, P))
                coef[j, p] = float(g)
                out.append(
                    Cap(
                        name=f"quota@{b.sku.base_id}{suffix}",
                        kind="quota",
                        unit="GPUs",
                        field=f"skus.{b.sku.base_id}.procurement.on_demand.max_gpus",
                        period=p,
                        limit=float(b.sku.max_units) * g,
                        decision="units",
                        coefficients=coef,
                        key=(j,),
                        ids=(b.sku.base_id,),
                    )
                )
    return out


def cap_violations(
    table: list[Cap], units: np.ndarray, buy: np.ndarray, labels, rtol: float = FEASIBILITY_RTOL
) -> list[str]:
    """Caps that a decision ((S, P) arrays) breaks by more than ``rtol``, recomputed from the table."""
    out = []
    for cap in table:
        used = cap.use(units, buy)
        if used > cap.limit + rtol * max(1.0, abs(cap.limit)):
            where = f"{labels[cap.period]}: " if cap.period is not None and len(labels) > 1 else ""
            out.append(f"{where}{cap.name} exceeded: {used:,.6g} {cap.unit} > {cap.limit:,.6g} {cap.unit}")
    return out


# ---- the model ---------------------------------------------------------------------------


@dataclass
class BuildoutModel:
    """A built PuLP model and handles on its variables, in index order."""

    problem: BuildoutProblem
    window: range
    prob: pulp.LpProblem
    buy: dict[tuple[int, int], pulp.LpVariable]
    units: dict[tuple[int, int], pulp.LpVariable]
    busy: dict[tuple[int, int, int, int], pulp.LpVariable]
    unserved: dict[tuple[int, int, int], pulp.LpVariable]
    variables: list[pulp.LpVariable]
    cost: pulp.LpAffineExpression  # discounted cost of the window [$]
    tokens_served: pulp.LpAffineExpression  # [tokens]
    unserved_tokens: pulp.LpAffineExpression  # [tokens]
    names: Names  # the registry of its columns and rows (planner.milp.names)
    cap_rows: dict[str, str]  # cap name -> its row's solver label
    caps: list[Cap] = field(default_factory=list)
    build_seconds: float = 0.0
    racks: dict[tuple[int, int], pulp.LpVariable] = field(default_factory=dict)  # (rack group, period)
    kept: dict[tuple[int, int, int], pulp.LpVariable] = field(default_factory=dict)  # (SKU, vintage, period)
    old: dict[tuple[int, int], pulp.LpVariable] = field(default_factory=dict)  # (SKU, period): initial cohorts


def ratio(curve) -> np.ndarray:
    """(W, T) mean / peak (0 where the peak is 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(curve.peak > 0, curve.mean / curve.peak, 0.0)


def _before(problem: BuildoutProblem, window: range, history: History | None) -> tuple[np.ndarray, np.ndarray]:
    """(buy history (S, P), units installed just before the window (S,))."""
    S, P = len(problem.skus), len(problem.periods)
    if history is None or window.start == 0:
        return np.zeros((S, P)), problem.existing_units()
    return history.buy, history.units


def define_buy(
    prob, names: Names, problem: BuildoutProblem, window: range, relax: bool
) -> dict[tuple[int, int], pulp.LpVariable]:
    """buy[s,p]: units bought at the start of p; fixed at 0 outside the SKU's window."""
    out = {}
    for j, b in enumerate(problem.skus):
        cat = "Continuous" if relax or b.sku.continuous else "Integer"
        for p in window:
            bounded = not (math.isinf(b.sku.max_units) or has_quota(b) or has_supply_row(b))  # else a cap row
            ub = 0.0 if not b.available[p] else (float(b.sku.max_units) if bounded else None)
            label = names.add("buy", (j,), (names.skus[j],), period=p)
            out[j, p] = prob.add_variable(label, lowBound=0.0, upBound=ub, cat=cat)
    return out


def define_units(
    prob, names: Names, problem: BuildoutProblem, window: range, relax: bool
) -> dict[tuple[int, int], pulp.LpVariable]:
    """units[s,p]: units installed during p, within the supply limit."""
    out = {}
    for j, b in enumerate(problem.skus):
        cat = "Continuous" if relax or b.sku.continuous else "Integer"
        capped = math.isinf(b.sku.max_units) or has_quota(b) or has_supply_row(b)  # a cap row bounds it
        ub = None if capped else float(b.sku.max_units)
        for p in window:
            label = names.add("units", (j,), (names.skus[j],), period=p)
            out[j, p] = prob.add_variable(label, lowBound=0.0, upBound=ub, cat=cat)
    return out


def define_busy(
    prob, names: Names, problem: BuildoutProblem, window: range
) -> dict[tuple[int, int, int, int], pulp.LpVariable]:
    """busy[s,w,p,t] >= 0 where SKU s can serve workload w."""
    theta = problem.throughput
    out = {}
    for p in window:
        T = len(problem.periods[p].curve.start_hours)
        for j in range(len(problem.skus)):
            for k in range(len(problem.workloads)):
                if theta[j, k] > 0:
                    ids = (names.skus[j], names.workloads[k])
                    for t, label in enumerate(names.add_slices("busy", (j, k), ids, T, period=p)):
                        out[j, k, p, t] = prob.add_variable(label, lowBound=0.0)
    return out


def define_racks(
    prob, names: Names, problem: BuildoutProblem, window: range, units, relax: bool
) -> dict[tuple[int, int], pulp.LpVariable]:
    """racks[g,p] integer >= 0: positions rack group g fills in p; rack_fit[g,p]: its units fit them."""
    cat = "Continuous" if relax else "Integer"
    out, rows = {}, {}
    for g, grp in enumerate(rack_groups(problem)):
        for p in window:
            ids = (escape(grp.site), escape(grp.sku))
            out[g, p] = var = prob.add_variable(names.add("racks", (g,), ids, period=p), lowBound=0.0, cat=cat)
            terms = [(units[j, p], 1.0) for j in grp.columns] + [(var, -float(grp.fit))]
            name = names.add("rack_fit", (g,), ids, period=p)
            rows[name] = pulp.LpConstraint(pulp.LpAffineExpression(terms), pulp.LpConstraintLE, name, 0.0)
    prob.extend(rows)
    return out


def may_retire(problem: BuildoutProblem, b: BuildoutSku) -> bool:
    """Whether a column's units may leave before their end of life (a reservation stays for its term)."""
    if b.sku.procurement == "reserved":
        return False
    return problem.early_retirement or b.sku.decommission_usd_per_unit is not None


def charged_at_start(problem: BuildoutProblem, b: BuildoutSku) -> bool:
    """Whether an owned column's capital is charged when a unit arrives: end_of_horizon purchase; a
    reservation only when ``upfront`` (else it is billed for the hours of its term in each period)."""
    if b.sku.procurement == "reserved":
        return b.committed_usd_per_gpu is not None
    return problem.end_of_horizon == "purchase"


def tracks_vintages(problem: BuildoutProblem, b: BuildoutSku) -> bool:
    """Whether a column's units are kept by purchase period: owned purchases that may retire before
    the end of their life and then pay their remaining capital (less its resale share)."""
    return (
        b.pricing == "owned"
        and may_retire(problem, b)
        and any(b.available)
        and (not charged_at_start(problem, b) or b.resale_fraction > 0)
    )


def remaining_capital(problem: BuildoutProblem, b: BuildoutSku, v: int, p: int) -> float:
    """What is left at the start of p of a unit bought in v: the annuities of its life from p on
    (past the horizon too), valued at p. [$/GPU]"""
    pv = sum(hours * delta for hours, delta in map(problem.hours_and_discount, range(p, v + b.life_periods)))
    return b.annuity_usd_per_gpu_year[v] * pv / problem.hours_and_discount(p)[1] / HOURS_PER_YEAR


def retirement_charge(problem: BuildoutProblem, b: BuildoutSku, v: int, p: int) -> float:
    """What a unit bought in v and retired at the start of p costs then: its remaining capital less
    the resale share (annuities), or minus the resale share (charged in full at purchase). [$/GPU]"""
    left = remaining_capital(problem, b, v, p)
    return -b.resale_fraction * left if charged_at_start(problem, b) else (1.0 - b.resale_fraction) * left


def define_vintages(prob, names: Names, problem, window, units, buy, history, relax):
    """kept[s,v,p]: units bought in v still installed in p (v < p < v + L_s), for the columns that
    keep vintages; old[s,p]: units of the initial cohorts still installed. Rows: a vintage only
    shrinks (vintage_kept), the cohorts only shrink (cohort_kept), and the installed units are the
    cohorts' plus every vintage's (vintage_units). Returns (kept, old)."""
    kept: dict[tuple[int, int, int], pulp.LpVariable] = {}
    old: dict[tuple[int, int], pulp.LpVariable] = {}
    before_buy, before = _before(problem, window, history)
    before_kept = history.kept if history is not None and history.kept is not None and window.start else None
    alive0 = problem.existing_alive()
    rows = {}
    for j, b in enumerate(problem.skus):
        if not tracks_vintages(problem, b):
            continue
        cat = "Continuous"  # integral at the vertices once buy and units are (``integral_vintages``)
        sid = names.skus[j]
        cohort_before = float(before[j]) - (float(before_kept[j].sum()) if before_kept is not None else 0.0)
        for p in window:
            if alive0[j, p] > 0:
                old[j, p] = prob.add_variable(
                    names.add("old", (j,), (sid,), period=p), lowBound=0.0, upBound=float(alive0[j, p]), cat=cat
                )
                terms = [(old[j, p], 1.0)]
                rhs = cohort_before
                if (j, p - 1) in old:
                    terms.append((old[j, p - 1], -1.0))
                    rhs = 0.0
                name = names.add("cohort_kept", (j,), (sid,), period=p)
                rows[name] = pulp.LpConstraint(pulp.LpAffineExpression(terms), pulp.LpConstraintLE, name, rhs)
            for v in range(max(0, p - b.life_periods + 1), p):
                if v in window:
                    prev: pulp.LpVariable | float = buy[j, v] if v == p - 1 else kept.get((j, v, p - 1), 0.0)
                elif p - 1 in window:
                    prev = kept.get((j, v, p - 1), 0.0)
                else:  # before the window: what history kept of it
                    prev = float(before_kept[j, v]) if before_kept is not None else float(before_buy[j, v])
                if not b.available[v] or (isinstance(prev, float) and prev <= 0):
                    continue
                kept[j, v, p] = var = prob.add_variable(
                    names.add("kept", (j, v), (sid, names.periods[v]), period=p), lowBound=0.0, cat=cat
                )
                terms = [(var, 1.0)]
                rhs = 0.0
                if isinstance(prev, float):
                    rhs = prev
                else:
                    terms.append((prev, -1.0))
                name = names.add("vintage_kept", (j, v), (sid, names.periods[v]), period=p)
                rows[name] = pulp.LpConstraint(pulp.LpAffineExpression(terms), pulp.LpConstraintLE, name, rhs)
            terms = [(units[j, p], 1.0), (buy[j, p], -1.0)]
            terms += [(kept[j, v, p], -1.0) for v in range(max(0, p - b.life_periods + 1), p) if (j, v, p) in kept]
            if (j, p) in old:
                terms.append((old[j, p], -1.0))
            name = names.add("vintage_units", (j,), (sid,), period=p)
            rows[name] = pulp.LpConstraint(pulp.LpAffineExpression(terms), pulp.LpConstraintEQ, name, 0.0)
    prob.extend(rows)
    return kept, old


def vintage_cost_terms(problem, window, buy, kept, history) -> tuple[list[tuple[pulp.LpVariable, float]], float]:
    """The discounted capital of the columns that keep vintages, as (variable, $) pairs and a
    constant: each installed unit's annuity while it is kept (charged at start: its price, on buy),
    and a unit retired at the start of p its ``retirement_charge``. [$]"""
    terms: list[tuple[pulp.LpVariable, float]] = []
    constant = 0.0
    before_buy, _ = _before(problem, window, history)
    before_kept = history.kept if history is not None and history.kept is not None and window.start else None
    for j, b in enumerate(problem.skus):
        if not tracks_vintages(problem, b):
            continue
        g = b.sku.gpus_per_unit
        at_start = charged_at_start(problem, b)
        for p in window:
            per = problem.periods[p]
            if not at_start:  # annuities of the units installed in p, by vintage
                a = per.discount_factor * g * per.hours / HOURS_PER_YEAR
                if b.available[p]:
                    terms.append((buy[j, p], a * b.annuity_usd_per_gpu_year[p]))
                terms += [
                    (kept[j, v, p], a * b.annuity_usd_per_gpu_year[v])
                    for v in range(max(0, p - b.life_periods + 1), p)
                    if (j, v, p) in kept
                ]
            for v in range(max(0, p - b.life_periods + 1), p):
                if not b.available[v]:
                    continue
                c = per.discount_factor * g * retirement_charge(problem, b, v, p)
                if not c:
                    continue
                if (j, v, p) in kept:
                    terms.append((kept[j, v, p], -c))
                if v == p - 1 and v in window:
                    terms.append((buy[j, v], c))
                elif (j, v, p - 1) in kept:
                    terms.append((kept[j, v, p - 1], c))
                elif p - 1 not in window:
                    constant += c * (float(before_kept[j, v]) if before_kept is not None else float(before_buy[j, v]))
        last = len(problem.periods) - 1
        if at_start and last in window:  # sold at the horizon's end: nothing is handed on
            for v in range(max(0, last - b.life_periods + 1), last + 1):
                c = g * horizon_resale(problem, b, v)
                if c and v == last:
                    terms.append((buy[j, v], -c))
                elif c and (j, v, last) in kept:
                    terms.append((kept[j, v, last], -c))
    return terms, constant


def horizon_resale(problem: BuildoutProblem, b: BuildoutSku, v: int) -> float:
    """Under end_of_horizon purchase, what a unit bought in v and still installed in the last period
    gets back when the horizon ends (its resale share of the capital left then), valued at the last
    period's start: its price was charged in full, and nothing is handed on. [$/GPU]"""
    if not charged_at_start(problem, b) or not b.resale_fraction:
        return 0.0
    end = len(problem.periods)
    ratio = problem.hours_and_discount(end)[1] / problem.hours_and_discount(end - 1)[1]
    return b.resale_fraction * remaining_capital(problem, b, v, end) * ratio


def define_unserved(
    prob, names: Names, problem: BuildoutProblem, window: range
) -> dict[tuple[int, int, int], pulp.LpVariable]:
    """unserved[w,p,t] >= 0, at most the peak demand."""
    out = {}
    for p in window:
        peak = problem.periods[p].curve.peak
        for k in range(len(problem.workloads)):
            for t in range(peak.shape[1]):
                label = names.add("unserved", (k, t), (names.workloads[k], str(t)), period=p)
                out[k, p, t] = prob.add_variable(label, lowBound=0.0, upBound=float(peak[k, t]))
    return out


def define_fleet_balance(prob, names: Names, problem, window, units, buy, history) -> None:
    """fleet_balance[s,p]: the fleet grows only by purchases (retired units never return).

    Only with early retirement; without it the row follows from vintage_life (units leave only
    at the end of their life, so what is installed was installed before or bought now)."""
    _, before = _before(problem, window, history)
    rows = {}
    for j, b in enumerate(problem.skus):
        if not may_retire(problem, b) or tracks_vintages(problem, b):  # vintages: define_vintages
            continue
        for p in window:
            terms = [(units[j, p], 1.0), (buy[j, p], -1.0)]
            rhs = 0.0
            if p - 1 in window:
                terms.append((units[j, p - 1], -1.0))
            else:
                rhs = float(before[j])
            name = names.add("fleet_balance", (j,), (names.skus[j],), period=p)
            rows[name] = pulp.LpConstraint(pulp.LpAffineExpression(terms), pulp.LpConstraintLE, name, rhs)
    prob.extend(rows)


def define_vintage_life(prob, names: Names, problem, window, units, buy, history) -> None:
    """vintage_life[s,p]: installed units are at most (without early retirement: exactly) those
    still inside their life."""
    past, _ = _before(problem, window, history)
    alive0 = problem.existing_alive()
    rows = {}
    for j, b in enumerate(problem.skus):
        if tracks_vintages(problem, b):  # define_vintages
            continue
        sense = pulp.LpConstraintLE if may_retire(problem, b) else pulp.LpConstraintEQ
        for p in window:
            terms = [(units[j, p], 1.0)]
            rhs = float(alive0[j, p])
            for v in range(max(0, p - b.life_periods + 1), p + 1):
                if v in window:
                    terms.append((buy[j, v], -1.0))
                else:
                    rhs += float(past[j, v])
            name = names.add("vintage_life", (j,), (names.skus[j],), period=p)
            rows[name] = pulp.LpConstraint(pulp.LpAffineExpression(terms), sense, name, rhs)
    prob.extend(rows)


def define_capacity(prob, names: Names, problem, window, units, busy) -> None:
    """capacity[s,p,t]: busy GPUs of a SKU within u x its installed GPUs."""
    W = len(problem.workloads)
    rows = {}
    for j, b in enumerate(problem.skus):
        cap = -b.sku.utilization_limit(problem.max_utilization) * b.sku.gpus_per_unit
        for p in window:
            served = [k for k in range(W) if (j, k, p, 0) in busy]
            if not served:
                continue
            for t in range(len(problem.periods[p].curve.start_hours)):
                terms = [(busy[j, k, p, t], 1.0) for k in served]
                terms.append((units[j, p], cap))
                name = names.add("capacity", (j, t), (names.skus[j], str(t)), period=p)
                rows[name] = pulp.LpConstraint(pulp.LpAffineExpression(terms), pulp.LpConstraintLE, name, 0.0)
    prob.extend(rows)


def define_serve_demand(prob, names: Names, problem, window, busy, unserved) -> None:
    """serve_demand[w,p,t]: throughput of busy GPUs (+ unserved) covers the peak."""
    theta = problem.throughput
    rows = {}
    for p in window:
        peak = problem.periods[p].curve.peak
        for k in range(len(problem.workloads)):
            sources = [j for j in range(len(problem.skus)) if theta[j, k] > 0]
            for t in range(peak.shape[1]):
                d = float(peak[k, t])
                if d <= 0:
                    continue
                terms = [(busy[j, k, p, t], float(theta[j, k])) for j in sources]
                if unserved:
                    terms.append((unserved[k, p, t], 1.0))
                name = names.add("serve_demand", (k, t), (names.workloads[k], str(t)), period=p)
                rows[name] = pulp.LpConstraint(pulp.LpAffineExpression(terms), pulp.LpConstraintEQ, name, d)
    prob.extend(rows)


def define_caps(
    prob, names: Names, table: list[Cap], window: range, units, buy, racks, caps_off: frozenset[str]
) -> dict[str, str]:
    """One row per cap of the table (power_cap, budget_cap, capex_cap per period; capex_total; site
    and supply caps). Returns each cap's solver label by its name."""
    rows, labels = {}, {}
    for cap in table:
        if cap.name in caps_off:
            continue
        if not math.isfinite(cap.limit * cap.row_scale) or abs(cap.limit * cap.row_scale) > 1e15:
            raise ScenarioError(
                f"{cap.field}: {cap.limit:g} {cap.unit} is far outside any real range (it must stay below "
                f"{1e15 / cap.row_scale:.0e} {cap.unit})"
            )
        terms = [(var, c * cap.row_scale) for var, c in cap.terms(units, buy, racks, window)]
        period = cap.period if names.periodic else None
        labels[cap.name] = label = names.add(cap.kind, cap.key, tuple(escape(i) for i in cap.ids), period=period)
        rows[label] = pulp.LpConstraint(
            pulp.LpAffineExpression(terms), pulp.LpConstraintLE, label, cap.limit * cap.row_scale
        )
    prob.extend(rows)
    return labels


def cost_terms(problem, window, units, buy, busy) -> list[tuple[pulp.LpVariable, float]]:
    """The window's discounted cost as (variable, $ per unit of it) pairs; constants left out."""
    price = problem.electricity_usd_per_kwh
    terms: list[tuple[pulp.LpVariable, float]] = []
    for p in window:
        per = problem.periods[p]
        delta = per.discount_factor
        for j, b in enumerate(problem.skus):
            g = b.sku.gpus_per_unit
            fixed, _ = b.gpu_hour_costs(p, price)
            terms.append((units[j, p], delta * g * fixed * per.hours))
            if b.pricing != "owned" or not b.available[p]:
                continue
            if charged_at_start(problem, b):
                terms.append((buy[j, p], delta * g * purchase_price(b, p)))
                continue
            if tracks_vintages(problem, b):  # vintage_cost_terms
                continue
            annuity = g * b.annuity_usd_per_gpu_year[p] / HOURS_PER_YEAR
            charged = [q for q in range(p, min(p + b.life_periods, len(problem.periods))) if q in window]
            coef = annuity * sum(problem.periods[q].discount_factor * problem.periods[q].hours for q in charged)
            if coef:
                terms.append((buy[j, p], coef))
        r = ratio(per.curve)
        hours = per.curve.slice_hours.tolist()
        weight = per.weight
        for j, b in enumerate(problem.skus):
            _, x = b.gpu_hour_costs(p, price)
            if not x:
                continue
            for k in range(len(problem.workloads)):
                if (j, k, p, 0) not in busy:
                    continue
                rk = r[k].tolist()
                for t in range(len(hours)):
                    coef = delta * x * weight * hours[t] * rk[t]
                    if coef:
                        terms.append((busy[j, k, p, t], coef))
    return terms + decommission_terms(problem, window, units)


def summed(terms: list[tuple[pulp.LpVariable, float]]) -> list[tuple[pulp.LpVariable, float]]:
    """Terms with each variable once, its coefficients added (LpAffineExpression keeps only the last)."""
    out: dict[pulp.LpVariable, float] = {}
    for var, coef in terms:
        out[var] = out.get(var, 0.0) + coef
    return list(out.items())


def retirement_window(problem: BuildoutProblem, j: int) -> int:
    """Periods in which decommissioning column j's existing units costs money: while they are inside
    their life (0 when its units may not retire)."""
    if problem.skus[j].sku.decommission_usd_per_unit is None:
        return 0
    return max((c.remaining_periods for c in problem.cohorts if c.sku == j), default=0)


def decommission_terms(problem, window, units) -> list[tuple[pulp.LpVariable, float]]:
    """Decommissioning ``sum_p delta_p d_s (units[s,p-1] - units[s,p])`` over the periods inside the
    units' life (units never grow in such a column), the constant part left out. [$]"""
    terms = []
    for j, b in enumerate(problem.skus):
        d = b.sku.decommission_usd_per_unit
        last = retirement_window(problem, j)
        for p in window:
            if not d or p >= last:
                continue
            terms.append((units[j, p], -problem.periods[p].discount_factor * d))
            if p + 1 < last and p + 1 in window:
                terms.append((units[j, p], problem.periods[p + 1].discount_factor * d))
    return terms


def decommission_constant(problem, window, history) -> float:
    """The constant of the decommissioning cost: ``delta d x`` units installed before the window. [$]"""
    _, before = _before(problem, window, history)
    total = 0.0
    for j, b in enumerate(problem.skus):
        d = b.sku.decommission_usd_per_unit
        if d and window.start < retirement_window(problem, j):
            total += problem.periods[window.start].discount_factor * d * float(before[j])
    return total


def token_terms(problem, busy, unserved):
    """(served, unserved) tokens as (variable, tokens per unit of it) pairs. [tokens]"""
    theta = problem.throughput
    r = {p: ratio(problem.periods[p].curve) for p in {key[2] for key in busy} | {key[1] for key in unserved}}
    weight = {p: problem.periods[p].weight for p in r}
    served = []
    for (j, k, p, t), var in busy.items():
        per = problem.periods[p]
        coef = float(theta[j, k] * r[p][k, t] * per.curve.slice_hours[t]) * weight[p] * SECONDS_PER_HOUR
        if coef:
            served.append((var, coef))
    lost = []
    for (k, p, t), var in unserved.items():
        per = problem.periods[p]
        lost.append((var, float(r[p][k, t] * per.curve.slice_hours[t]) * per.weight * SECONDS_PER_HOUR))
    return served, lost


def build_model(
    problem: BuildoutProblem,
    window: range | None = None,
    history: History | None = None,
    *,
    relax: bool = False,
    allow_unserved: bool = False,
    caps_off: frozenset[str] = frozenset(),
) -> BuildoutModel:
    """Build the model of ``window`` (default: the whole horizon); ``caps_off`` names cap rows left out."""
    start = time.perf_counter()
    window = window if window is not None else range(len(problem.periods))
    table = caps(problem, window, history)
    gc_was = gc.isenabled()
    gc.disable()
    try:
        prob = pulp.LpProblem("fleet", pulp.LpMinimize)
        names = Names.of(problem.sku_ids, problem.workloads, [s.id for s in problem.sites], problem.labels)
        buy = define_buy(prob, names, problem, window, relax)
        units = define_units(prob, names, problem, window, relax)
        busy = define_busy(prob, names, problem, window)
        racks = define_racks(prob, names, problem, window, units, relax)
        unserved = define_unserved(prob, names, problem, window) if allow_unserved else {}
        kept, old = define_vintages(prob, names, problem, window, units, buy, history, relax)
        define_vintage_life(prob, names, problem, window, units, buy, history)
        define_fleet_balance(prob, names, problem, window, units, buy, history)
        define_capacity(prob, names, problem, window, units, busy)
        define_serve_demand(prob, names, problem, window, busy, unserved)
        cap_rows = define_caps(prob, names, table, window, units, buy, racks, caps_off)
        capital, retired_before = vintage_cost_terms(problem, window, buy, kept, history)
        cost = pulp.LpAffineExpression(
            summed(cost_terms(problem, window, units, buy, busy) + capital),
            constant=decommission_constant(problem, window, history) + retired_before,
        )
        served, lost = token_terms(problem, busy, unserved)
        prob.setObjective(cost)
    except pulp.PulpError as exc:  # inf or NaN from an input far outside any real range
        raise ScenarioError(
            f"the model cannot be built ({exc}): an input is far outside any real range; check the demand, "
            "throughput, power, price and cap figures"
        ) from None
    finally:
        if gc_was:
            gc.enable()
    variables = [
        *buy.values(),
        *units.values(),
        *busy.values(),
        *unserved.values(),
        *racks.values(),
        *kept.values(),
        *old.values(),
    ]
    return BuildoutModel(
        problem=problem,
        window=window,
        prob=prob,
        buy=buy,
        units=units,
        busy=busy,
        unserved=unserved,
        variables=variables,
        cost=cost,
        tokens_served=pulp.LpAffineExpression(served),
        unserved_tokens=pulp.LpAffineExpression(lost),
        caps=table,
        build_seconds=time.perf_counter() - start,
        racks=racks,
        names=names,
        cap_rows=cap_rows,
        kept=kept,
        old=old,
    )


# ---- a single-period plan: one period of the same model -----------------------------------


def single_period(problem: FleetProblem) -> BuildoutProblem:
    """``problem`` as one period: weight 1, no discount, hourly prices, the existing fleet a
    cohort that cannot retire (so purchases = units - existing), the plan's caps as the period's.

    The one-period view is built once per problem and kept on it (the problem is frozen;
    ``replace`` makes a new one without it), with its cap table."""
    if "_one_period" in problem.__dict__:
        one: BuildoutProblem = problem.__dict__["_one_period"]
        return one
    c = problem.curve
    period = Period(
        label="plan",
        start="",
        hours=float(c.slice_hours.sum()),
        months_from_start=0.0,
        discount_factor=1.0,
        curve=c,
        power_cap_mw=problem.power_cap_mw,
        capex_budget_usd=problem.capex_budget_usd,
        budget_usd_per_hour=problem.budget_usd_per_hour,
    )
    skus = tuple(
        BuildoutSku(
            sku=replace(s, min_units=0),
            pricing="hourly",
            available=(s.procurement != "existing",),
            capex_usd_per_gpu=(s.capex_usd_per_gpu,),
            cost_usd_per_gpu_hour=(s.cost_usd_per_gpu_hour,),
            fixed_opex_usd_per_gpu_year=0.0,
            life_years=math.inf,
            life_periods=1,
            annuity_usd_per_gpu_year=(0.0,),
        )
        for s in problem.skus
    )
    cohorts = tuple(
        Cohort(sku=j, units=s.min_units, age_months=0.0, remaining_periods=1, annuity_usd_per_gpu_year=0.0)
        for j, s in enumerate(problem.skus)
        if s.min_units > 0
    )
    one = BuildoutProblem(
        name=problem.name,
        periods=(period,),
        skus=skus,
        cohorts=cohorts,
        workloads=problem.workloads,
        electricity_usd_per_kwh=problem.electricity_usd_per_kwh,
        max_utilization=problem.max_utilization,
        discount_rate=0.0,
        total_capex_budget_usd=None,
        early_retirement=False,
        mode="perfect_foresight",
        end_of_horizon="annuities",
        sites=problem.sites,
    )
    object.__setattr__(problem, "_one_period", one)
    return one


@dataclass
class FleetModel:
    """The one-period model of a FleetProblem, with handles indexed as a single period reads them:
    ``units[s]``, ``busy[s,w,t]``, ``unserved[w,t]`` (the same PuLP variables)."""

    problem: FleetProblem
    prob: pulp.LpProblem
    units: list[pulp.LpVariable]
    buy: list[pulp.LpVariable]  # units - existing
    busy: dict[tuple[int, int, int], pulp.LpVariable]
    unserved: dict[tuple[int, int], pulp.LpVariable]
    variables: list[pulp.LpVariable]
    cost: pulp.LpAffineExpression
    tokens_served: pulp.LpAffineExpression
    unserved_tokens: pulp.LpAffineExpression
    caps: list[Cap]
    build_seconds: float = 0.0
    period_model: BuildoutModel | None = field(default=None, repr=False)  # the same model, period-indexed


def build_fleet_model(problem: FleetProblem, *, relax: bool = False, allow_unserved: bool | None = None) -> FleetModel:
    """Build the model of a single-period ``problem``; ``relax`` makes units continuous (LP relaxation)."""
    if allow_unserved is None:
        allow_unserved = problem.objective != "min_cost"
    m = build_model(single_period(problem), relax=relax, allow_unserved=allow_unserved)
    return FleetModel(
        problem=problem,
        prob=m.prob,
        units=[m.units[j, 0] for j in range(len(problem.skus))],
        buy=[m.buy[j, 0] for j in range(len(problem.skus))],
        busy={(j, k, t): var for (j, k, _, t), var in m.busy.items()},
        unserved={(k, t): var for (k, _, t), var in m.unserved.items()},
        variables=m.variables,
        cost=m.cost,
        tokens_served=m.tokens_served,
        unserved_tokens=m.unserved_tokens,
        caps=m.caps,
        build_seconds=m.build_seconds,
        period_model=m,
    )


Model = FleetModel | BuildoutModel  # a single-period view or the period-indexed model: both solve alike


def periodic(model: Model) -> BuildoutModel:
    """The period-indexed model behind ``model`` (itself, or a single-period view's)."""
    if isinstance(model, FleetModel):
        assert model.period_model is not None
        return model.period_model
    return model


def _ratio(problem: FleetProblem) -> np.ndarray:
    """(W, T) mean / peak of a single-period problem's curve."""
    return ratio(problem.curve)


def violations(
    problem: BuildoutProblem,
    buy: np.ndarray,
    units: np.ndarray,
    busy: tuple[np.ndarray, ...],
    unserved: tuple[np.ndarray, ...] | None = None,
    rtol: float = FEASIBILITY_RTOL,
    kept: np.ndarray | None = None,
) -> list[str]:
    """Every constraint a decision breaks by more than ``rtol``, recomputed from scratch.

    ``buy`` / ``units``: (S, P) units bought / installed; ``busy[p]``: (S, W, T_p) busy GPUs at
    the peak; ``unserved[p]``: (W, T_p) peak tokens/s not served (None: everything served);
    ``kept``: (S, V, P) the purchases kept (None: the oldest retire first).
    Checks purchases against availability, life and the fleet's history, the vintages kept,
    the supply limit, every cap of the cap table (power, run-rate budget, capex per period and
    in total), capacity and demand.
    """
    out: list[str] = []
    if kept is not None:
        out += _vintage_violations(problem, buy, units, kept, rtol)

    def exceeds(value: float, bound: float) -> bool:
        """``value`` above ``bound`` by more than the tolerance at the row's scale (equal is never over)."""
        return value > bound + rtol * max(1.0, abs(bound))

    g = np.array([b.sku.gpus_per_unit for b in problem.skus], dtype=float)
    theta = problem.throughput
    prev = problem.existing_units()
    alive0 = problem.existing_alive()
    labels = problem.labels
    one = len(problem.periods) == 1
    for p, per in enumerate(problem.periods):
        at = "" if one else f"{per.label}: "
        for j, b in enumerate(problem.skus):
            if exceeds(0.0, buy[j, p]):
                out.append(f"{at}buy[{b.id}] = {buy[j, p]:g}: fewer units than the existing fleet")
            if buy[j, p] > 0 and not b.available[p]:
                out.append(f"{at}bought {buy[j, p]:g} units of {b.id} outside its availability window")
            alive = alive0[j, p] + buy[j, max(0, p - b.life_periods + 1) : p + 1].sum()
            if exceeds(units[j, p], alive) or (not may_retire(problem, b) and exceeds(alive, units[j, p])):
                out.append(f"{at}{units[j, p]:g} units of {b.id} installed, {alive:g} inside their life")
            if exceeds(units[j, p], prev[j] + buy[j, p]):
                out.append(f"{at}{b.id} grew beyond its purchases")
            if exceeds(units[j, p], b.sku.max_units):
                out.append(f"{at}units[{b.id}] = {units[j, p]:g} above its supply limit {b.sku.max_units:g}")
        gpus = units[:, p] * g
        u = np.array([b.sku.utilization_limit(problem.max_utilization) for b in problem.skus])
        over = busy[p].sum(axis=1) - (u * gpus)[:, None]
        if (over > rtol * np.maximum(gpus[:, None], 1.0)).any():
            worst = np.unravel_index(int(np.argmax(over)), over.shape)
            out.append(
                f"{at}capacity[{problem.skus[int(worst[0])].id},{int(worst[1])}] exceeded by {over[worst]:.3g} GPUs"
            )
        lost = 0.0 if unserved is None else unserved[p]
        short = per.curve.peak - (theta[:, :, None] * busy[p]).sum(axis=0) - lost
        if (np.abs(short) > rtol * np.maximum(per.curve.peak, 1.0)).any():
            k, t = np.unravel_index(int(np.argmax(np.abs(short))), short.shape)
            out.append(f"{at}serve_demand[{problem.workloads[k]},{t}] off by {short[k, t]:.3g} tokens/s")
        prev = units[:, p]
    return out + cap_violations(caps(problem), units, buy, labels, rtol)


def _vintage_violations(problem: BuildoutProblem, buy, units, kept, rtol: float) -> list[str]:
    """The purchases kept against what was bought: a vintage holds its purchase when bought, only
    shrinks, is gone after its life, and with the cohorts (within theirs, only shrinking) makes
    the installed units."""
    out = []
    alive0 = problem.existing_alive()
    for j, b in enumerate(problem.skus):
        cohort_before = float(problem.existing_units()[j])
        for p, per in enumerate(problem.periods):
            row = kept[j, :, p]
            if (
                abs(row[p] - buy[j, p]) > rtol
                or (row[p + 1 :] != 0).any()
                or (row[: max(0, p - b.life_periods + 1)] != 0).any()
            ):
                out.append(f"{per.label}: {b.id}'s purchases kept do not match its purchases and life")
            if (row < -rtol).any():
                out.append(f"{per.label}: {b.id} keeps a negative number of a purchase's units")
            if p and (kept[j, :p, p] > kept[j, :p, p - 1] + rtol).any():
                out.append(f"{per.label}: a purchase of {b.id} grew back after being retired")
            cohort = units[j, p] - row.sum()
            if cohort < -rtol or cohort > min(alive0[j, p], cohort_before) + rtol:
                out.append(
                    f"{per.label}: {b.id} installs {units[j, p]:g} units, its purchases kept and cohorts disagree"
                )
            cohort_before = cohort
    return out


# ---- evaluation: every reported figure, from a decision alone ------------------------------


class CostBreakdown(TypedDict):
    """Every cost the model charges, by name; the parts sum to the whole. [$]"""

    capital: float  # owned purchases: annuities inside the period (or the purchase price)
    fixed: float  # hourly prices and owned fixed opex, reservations excepted
    reserved: float  # reserved capacity: its rate x GPUs x hours
    energy: float  # electricity billed, idle and busy
    on_demand: float  # on-demand busy GPU-hours x their rate
    decommissioning: float  # existing units decommissioned
    early_retirement: float  # units bought in the horizon and retired before the end of their life: their
    # remaining capital less its resale share (a credit, the resale share, when their price was charged at purchase)


def add_breakdowns(parts: list[CostBreakdown]) -> CostBreakdown:
    """The sum of several breakdowns (periods into a horizon), key by key. [$]"""
    return {
        "capital": sum(b["capital"] for b in parts),
        "fixed": sum(b["fixed"] for b in parts),
        "reserved": sum(b["reserved"] for b in parts),
        "energy": sum(b["energy"] for b in parts),
        "on_demand": sum(b["on_demand"] for b in parts),
        "decommissioning": sum(b["decommissioning"] for b in parts),
        "early_retirement": sum(b["early_retirement"] for b in parts),
    }


@dataclass(frozen=True, kw_only=True)
class PeriodFigures:
    """What a decision costs, serves and uses in one period (undiscounted), recomputed from it."""

    capital_usd: float  # annuities (or purchase price) charged in the period [$]
    fixed_usd: float  # hourly price or fixed opex [$]
    energy_usd: float  # electricity billed, idle and busy [$]
    tokens_demanded: float  # [tokens]
    tokens_served: float  # demanded - unserved [tokens]
    unserved_tokens: np.ndarray  # (W,) [tokens]
    tokens_by_sku: np.ndarray  # (S,) served by each SKU's busy GPUs [tokens]
    utilization: np.ndarray  # (S,) average busy share of each SKU's GPUs [1]
    power_kw: float  # facility at full load [kW]
    run_rate_usd_per_hour: float  # what the run-rate budget counts [$/h]
    capex_usd: float  # purchases of the period [$]
    burst_usd: float = 0.0  # on-demand busy GPU-hours x their rate [$]
    decommission_usd: float = 0.0  # existing units decommissioned [$]
    busy_gpu_hours: np.ndarray | None = None  # (S,) average busy GPUs x hours [GPU-h]
    reserved_usd: float = 0.0  # the part of fixed_usd that reserved columns pay (an hourly rate) [$]
    reserved_capital_usd: float = 0.0  # the part of capital_usd that reservations pay (a buildout's commitment) [$]
    early_retirement_usd: float = 0.0  # retired before the end of their life: remaining capital less resale [$]

    @property
    def cost_usd(self) -> float:
        """capital + fixed + energy + on-demand burst + decommissioning + early retirement. [$]"""
        return (
            self.capital_usd
            + self.fixed_usd
            + self.energy_usd
            + self.burst_usd
            + self.decommission_usd
            + self.early_retirement_usd
        )

    def breakdown(self) -> CostBreakdown:
        """``cost_usd`` by name, reservations apart from the other fixed costs. [$]"""
        return {
            "capital": self.capital_usd - self.reserved_capital_usd,
            "fixed": self.fixed_usd - self.reserved_usd,
            "reserved": self.reserved_usd + self.reserved_capital_usd,
            "energy": self.energy_usd,
            "on_demand": self.burst_usd,
            "decommissioning": self.decommission_usd,
            "early_retirement": self.early_retirement_usd,
        }


def evaluate_period(
    problem: BuildoutProblem,
    p: int,
    buy: np.ndarray,
    units: np.ndarray,
    busy: np.ndarray,
    unserved: np.ndarray | None = None,
    kept: np.ndarray | None = None,
) -> PeriodFigures:
    """Period p's figures: ``buy`` / ``units`` (S, P), ``busy`` (S, W, T_p) at the peak, ``unserved``
    (W, T_p) peak tokens/s (None: nothing), ``kept`` (S, V, P) units of each purchase period v
    installed in p (the columns that keep vintages; None: ``oldest_first(problem, buy, units)``).
    The same cost function and accounting as the LP."""
    if kept is None and any(tracks_vintages(problem, b) for b in problem.skus):  # only they read it
        kept = oldest_first(problem, buy, units)
    per = problem.periods[p]
    price = problem.electricity_usd_per_kwh
    theta = problem.throughput
    g = np.array([b.sku.gpus_per_unit for b in problem.skus], dtype=float)
    n = units[:, p]
    capital = fixed = energy = reserved = 0.0
    early = float(early_retirement_charges(problem, p, kept).sum()) if kept is not None else 0.0
    reserved_capital = 0.0  # reservations are charged like owned capital in a buildout: told apart here
    for j, b in enumerate(problem.skus):
        capital_before = capital
        gpu_hours = g[j] * n[j] * per.hours
        per_gpu_hour, per_busy_hour = b.gpu_hour_costs(p, price)
        fixed += gpu_hours * b.price_usd_per_gpu_hour(p)
        if b.sku.procurement == "reserved":
            reserved += gpu_hours * b.price_usd_per_gpu_hour(p)
        energy += gpu_hours * (per_gpu_hour - b.price_usd_per_gpu_hour(p))
        if b.pricing != "owned":
            continue
        tracked = tracks_vintages(problem, b)
        if charged_at_start(problem, b):
            capital += buy[j, p] * g[j] * purchase_price(b, p)
        else:
            for v in range(max(0, p - b.life_periods + 1), p + 1):
                n_v = (
                    kept[j, v, p] if tracked and kept is not None else buy[j, v]
                )  # committed: kept or not, unless vintages are kept
                capital += n_v * g[j] * b.annuity_usd_per_gpu_year[v] * per.hours / HOURS_PER_YEAR
        if b.sku.procurement == "reserved":
            reserved_capital += capital - capital_before
    for c in problem.cohorts:
        b = problem.skus[c.sku]
        # what is left of its capital, inside its life: an existing reservation's term is billed in every mode
        committed = b.sku.procurement == "reserved"
        billed = not charged_at_start(problem, b) if committed else problem.end_of_horizon == "annuities"
        if p < c.remaining_periods and b.pricing == "owned" and billed:
            part = c.units * g[c.sku] * c.annuity_usd_per_gpu_year * per.hours / HOURS_PER_YEAR
            capital += part
            if committed:
                reserved_capital += part
    r = ratio(per.curve)
    h = per.curve.slice_hours
    mean_busy = busy * r[None, :, :]  # (S, W, T) GPUs busy on average
    busy_cost = np.array([b.gpu_hour_costs(p, price)[1] for b in problem.skus])
    rate = np.array([b.sku.busy_usd_per_gpu_hour for b in problem.skus])
    busy_hours = (mean_busy * h[None, None, :]).sum(axis=(1, 2)) * per.weight  # (S,) [GPU-h]
    energy += float(((busy_cost - rate) * busy_hours).sum())
    burst = float((rate * busy_hours).sum())
    before = problem.existing_units() if p == 0 else units[:, p - 1]
    decommission = sum(
        b.sku.decommission_usd_per_unit * max(float(before[j] - units[j, p]), 0.0)
        for j, b in enumerate(problem.skus)
        if b.sku.decommission_usd_per_unit and p < retirement_window(problem, j)
    )
    tokens_by_sku = (theta[:, :, None] * mean_busy * h[None, None, :]).sum(axis=(1, 2)) * per.weight * SECONDS_PER_HOUR
    demanded = float((per.curve.mean * h[None, :]).sum()) * per.weight * SECONDS_PER_HOUR
    lost = np.zeros(len(problem.workloads))
    if unserved is not None:
        lost = (r * unserved * h[None, :]).sum(axis=1) * per.weight * SECONDS_PER_HOUR
    gpus = g * n
    span = float(h.sum())
    util = np.where(gpus > 0, (mean_busy.sum(axis=1) * h[None, :]).sum(axis=1) / np.maximum(gpus * span, 1e-12), 0.0)
    return PeriodFigures(
        capital_usd=float(capital),
        fixed_usd=float(fixed),
        energy_usd=float(energy),
        tokens_demanded=demanded,
        tokens_served=demanded - float(lost.sum()),
        unserved_tokens=lost,
        tokens_by_sku=tokens_by_sku,
        utilization=util,
        power_kw=float((gpus * np.array([b.sku.facility_kw_per_gpu for b in problem.skus])).sum()),
        run_rate_usd_per_hour=float(sum(gpus[j] * b.run_rate_usd_per_gpu_hour(p) for j, b in enumerate(problem.skus))),
        capex_usd=float(sum(buy[j, p] * capex_per_unit(b, p) for j, b in enumerate(problem.skus))),
        burst_usd=burst,
        decommission_usd=float(decommission),
        busy_gpu_hours=busy_hours,
        reserved_usd=float(reserved),
        reserved_capital_usd=float(reserved_capital),
        early_retirement_usd=float(early),
    )


def early_retirement_charges(problem: BuildoutProblem, p: int, kept: np.ndarray) -> np.ndarray:
    """(S,) what the units of each column retired at the start of p before the end of their life
    pay then (``retirement_charge``; the columns that keep vintages), and in the last period, under
    end_of_horizon purchase, the resale of those still installed (``horizon_resale``). [$]"""
    out = np.zeros(len(problem.skus))
    last = len(problem.periods) - 1
    for j, b in enumerate(problem.skus):
        if not tracks_vintages(problem, b):
            continue
        for v in range(max(0, p - b.life_periods + 1), p):
            gone = kept[j, v, p - 1] - kept[j, v, p]
            if gone > 0:
                out[j] += gone * b.sku.gpus_per_unit * retirement_charge(problem, b, v, p)
        if p == last:
            for v in range(max(0, p - b.life_periods + 1), p + 1):
                out[j] -= kept[j, v, p] * b.sku.gpus_per_unit * horizon_resale(problem, b, v)
    return out


def oldest_first(problem: BuildoutProblem, buy: np.ndarray, units: np.ndarray) -> np.ndarray:
    """(S, V, P) units of each purchase period v installed in p when the oldest retire first (the
    initial cohorts before any purchase): a decision given as purchases and installed units only."""
    S, P = units.shape
    kept = np.zeros((S, P, P))
    alive0, existing = problem.existing_alive(), problem.existing_units()
    for j, b in enumerate(problem.skus):
        cohort = float(existing[j])
        for p in range(P):
            cohort = min(cohort, float(alive0[j, p]))
            kept[j, p, p] = buy[j, p]
            for v in range(max(0, p - b.life_periods + 1), p):
                kept[j, v, p] = kept[j, v, p - 1]
            excess = cohort + kept[j, :, p].sum() - units[j, p]
            take = min(cohort, max(excess, 0.0))
            cohort -= take
            excess -= take
            for v in range(p + 1):
                if excess <= 0:
                    break
                take = min(kept[j, v, p], excess)
                kept[j, v, p] -= take
                excess -= take
    return kept
