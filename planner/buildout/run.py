"""Solve a BuildoutProblem (perfect foresight or myopic) and report the schedule.

Perfect foresight solves one model over the horizon. Myopic solves period by period: each
period sees only its own demand, caps and prices, buys and retires to minimise its own
cost (capital as the annuities that fall in the period), and hands the fleet to the next
period. Both schedules are then costed by the same horizon accounting (``evaluate``), so
the cost of myopia is the difference of their present values (never negative, up to the
MIP gaps). Every reported figure is recomputed from the decision, never read from the
solver's objective.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pulp
from typing_extensions import TypedDict  # pydantic reads it (document schemas): not typing's on 3.11

import planner.progress as progress
from planner.errors import ScenarioError, SolverError
from planner.milp.aggregate import AggregationReport
from planner.milp.formulation import (
    BuildoutModel,
    CostBreakdown,
    History,
    SiteUse,
    add_breakdowns,
    build_model,
    capex_per_unit,
    caps,
    early_retirement_charges,
    evaluate_period,
    oldest_first,
    site_use,
    tracks_vintages,
)
from planner.milp.formulation import violations as check_violations
from planner.milp.problem import BuildoutProblem, FleetProblem
from planner.milp.reason import Reason
from planner.milp.solve import SolveResult, SolverInfo, SolverOptions, solve, solver_info
from planner.milp.status import Status

if TYPE_CHECKING:
    from planner.scenario.load import Overrides


@dataclass(frozen=True)
class Decision:
    """What to buy and keep: units (S, P), the dispatch of each period (S, W, T_p), and which purchases
    are kept: (S, V, P) units bought in v installed in p (None: the oldest retire first)."""

    buy: np.ndarray
    units: np.ndarray
    busy: tuple[np.ndarray, ...]
    kept: np.ndarray | None = None

    def vintages(self, problem: BuildoutProblem) -> np.ndarray:
        """(S, V, P) the purchases kept, as given or oldest first."""
        return self.kept if self.kept is not None else oldest_first(problem, self.buy, self.units)


class PeriodSite(SiteUse):
    """A site in one period of the schedule: its cap use, token share and the caps at their limit."""

    token_share: float
    at_limit: list[str]  # cap kinds with less room than one more unit bought there


class Totals(TypedDict):
    """The buildout JSON's ``totals``: the horizon's sums (costs undiscounted unless named so)."""

    periods: int
    cost_usd: float
    present_value_usd: float
    capital_usd: float
    fixed_usd: float
    energy_usd: float
    capex_usd: float
    total_capex_budget_usd: float | None
    tokens: float
    cost_per_million_tokens: float
    cost_breakdown_usd: CostBreakdown  # cost_usd by name, over the horizon [$]


class EarlyRetirement(TypedDict):
    period: str
    sku: str
    family: str
    units: int
    charge_usd: float  # what they pay when retired: remaining capital less resale (units bought in the horizon) [$]


class Story(TypedDict):
    """The buildout JSON's ``story``: when Blackwell overtakes Hopper, early retirements, $/M first to last."""

    blackwell_majority_from: str | None
    early_retirements: list[EarlyRetirement]
    cost_per_million_tokens_first: float
    cost_per_million_tokens_last: float


class SkuTerms(TypedDict):
    """A column of the buildout JSON's ``skus``: how it is bought, when, at what price."""

    sku: str
    family: str
    pricing: str
    available_from: str | None
    available_until: str | None
    life_years: float
    fixed_opex_usd_per_gpu_year: float | None
    capex_usd_per_gpu: list[float]
    facility_kw_per_gpu: float
    gpus_per_unit: int
    placed_sku: str
    site: str | None
    procurement: str | None
    lead_time_periods: int
    throughput: dict[str, float]


class Myopia(TypedDict, total=False):
    """The cost of planning one period at a time: both present values and their difference.
    When the other mode is infeasible only ``status`` and ``cost_of_myopia_usd`` (None) are set."""

    status: str
    present_value_perfect_foresight_usd: float
    present_value_myopic_usd: float
    cost_of_myopia_usd: float | None
    cost_of_myopia_share: float
    mip_gap: float


class Nothing(TypedDict):
    """An empty section: an infeasible buildout's ``totals`` and ``story``."""


@dataclass(frozen=True)
class PeriodResult:
    """One period of the schedule. Costs undiscounted unless named so."""

    period: str
    start: str
    hours: float  # [h]
    fleet: dict[str, int]  # installed units
    gpus: dict[str, int]
    purchases: dict[str, int]  # units bought at the start of the period
    retirements: dict[str, int]  # units retired at the start (end of life + early)
    retirements_end_of_life: dict[str, int]
    power_mw: float  # facility at full load [MW]
    power_cap_mw: float | None
    capex_usd: float  # purchases [$]
    capex_budget_usd: float | None
    capital_usd: float  # annuities (or purchase price) charged in the period [$]
    fixed_usd: float  # hourly price or fixed opex [$]
    energy_usd: float  # electricity billed [$]
    cost_usd: float  # capital + fixed + energy + on_demand + decommission [$]
    discount_factor: float
    discounted_cost_usd: float  # [$]
    tokens: float  # delivered [tokens]
    cost_per_million_tokens: float  # [$/M tokens]
    token_share_by_family: dict[str, float]
    token_share_by_sku: dict[str, float]
    binding: list[str]  # deprecated (the details of at_limit): "power_cap: 0.2 MW spare, less than one ... unit"
    at_limit: list[str] = field(default_factory=list)  # caps (kinds) with less room than one more unit bought
    at_limit_caps: list[str] = field(default_factory=list)  # the same caps by name, with their site or SKU
    # (rack_positions@hall-a, quota@h200-node, power_cap)
    sites: list[PeriodSite] = field(default_factory=list)  # per site: use of its caps, GPUs, token share
    on_demand_usd: float = 0.0  # on-demand busy GPU-hours x their rate [$]
    decommission_usd: float = 0.0  # existing units decommissioned [$]
    early_retirement_usd: float = 0.0  # units retired before the end of their life: remaining capital less resale [$]
    cost_breakdown_usd: CostBreakdown | None = None  # cost_usd by name: the parts sum to it [$]


@dataclass(frozen=True)
class BuildoutPlan:
    scenario: str
    mode: str
    status: Status
    periods: list[PeriodResult]
    totals: Totals | Nothing
    skus: list[SkuTerms]
    story: Story | Nothing = field(default_factory=lambda: Nothing())
    solver: SolverInfo | None = None
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    reason: Reason | None = None
    myopia: Myopia | None = None
    horizon_periods: int = 0  # periods in the scenario (also when infeasible and ``periods`` is empty)
    aggregation: AggregationReport | None = None  # time aggregation: mode, slices, bounds
    decision: Decision | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("decision")
        return d


@dataclass
class _Run:
    status: str = "optimal"
    decision: Decision | None = None
    mip_gap: float = 0.0
    build_s: float = 0.0
    handoff_s: float = 0.0
    solve_s: float = 0.0
    failed_period: int | None = None
    history: History | None = None

    def add(self, model: BuildoutModel, res: SolveResult) -> None:
        self.build_s += model.build_seconds
        self.handoff_s += res.handoff_seconds
        self.solve_s += res.solve_seconds
        if math.isfinite(res.mip_gap):
            self.mip_gap = max(self.mip_gap, res.mip_gap)
        if res.status == Status.TIME_LIMIT:
            self.status = "time_limit"


def _read(
    model: BuildoutModel, buy: np.ndarray, units: np.ndarray, busy: list[np.ndarray | None], kept: np.ndarray
) -> None:
    """Copy solved values of the model's window into the decision arrays."""
    problem = model.problem
    for (j, p), var in model.buy.items():
        buy[j, p] = round(var.varValue or 0.0)
    for (j, p), var in model.units.items():
        units[j, p] = round(var.varValue or 0.0)
    S, W = len(problem.skus), len(problem.workloads)
    for p in model.window:
        busy[p] = np.zeros((S, W, len(problem.periods[p].curve.start_hours)))
    for (j, k, p, t), var in model.busy.items():
        value = var.varValue or 0.0
        busy[p][j, k, t] = value if value > 1e-9 else 0.0  # below: solver noise
    for j, b in enumerate(problem.skus):
        if b.sku.continuous:  # on-demand: the busiest slice's GPUs, bought and gone within the period
            for p in model.window:
                units[j, p] = buy[j, p] = float(busy[p][j].sum(axis=0).max(initial=0.0)) / b.sku.gpus_per_unit
    window_kept = oldest_first(problem, buy, units)  # the columns that do not keep vintages
    for p in model.window:
        kept[:, :, p] = window_kept[:, :, p]
        for j in range(len(problem.skus)):
            kept[j, p, p] = buy[j, p]
    for j, b in enumerate(problem.skus):
        if tracks_vintages(problem, b):  # the model's own
            for p in model.window:
                kept[j, :p, p] = 0.0
    for (j, v, p), var in model.kept.items():
        kept[j, v, p] = round(var.varValue or 0.0)


def integral_vintages(model: BuildoutModel, res: SolveResult, options: SolverOptions) -> SolveResult:
    """The solve with whole units in every purchase period kept. The model keeps them continuous
    (see ``planner.milp.formulation``); should the solver stop between two integral vertices, the
    model is solved again with them integer and the purchases and installed units fixed, which
    has the same cost."""
    kept = [*model.kept.values(), *model.old.values()]
    if not res.ok or all(abs((v.varValue or 0.0) - round(v.varValue or 0.0)) <= 1e-6 for v in kept):
        return res
    for var in (*model.buy.values(), *model.units.values()):
        value = var.varValue or 0.0
        var.lowBound = var.upBound = value if var.cat == pulp.LpContinuous else round(value)
    for var in kept:
        var.cat = pulp.LpInteger
    again = solve(model, options, mip=True)
    if not again.ok:  # keep the first answer: violations() then names what does not add up
        return res
    return replace(  # the first solve's status, gap and time stand: the second only rounds its vintages
        again,
        status=res.status,
        mip_gap=max(res.mip_gap, again.mip_gap),
        handoff_seconds=res.handoff_seconds + again.handoff_seconds,
        solve_seconds=res.solve_seconds + again.solve_seconds,
    )


def _capex(problem: BuildoutProblem, buy: np.ndarray, p: int) -> float:
    """Purchase money of period p. [$]"""
    return float(sum(buy[j, p] * capex_per_unit(b, p) for j, b in enumerate(problem.skus)))


def solve_perfect_foresight(problem: BuildoutProblem, options: SolverOptions) -> _Run:
    P = len(problem.periods)
    with progress.task(f"buildout: building the {P}-period model"):
        model = build_model(problem)
    with progress.task(f"buildout: solving all {P} periods at once (perfect foresight)"):
        res = integral_vintages(model, solve(model, options, mip=True), options)
    run = _Run(status=res.status)
    run.add(model, res)
    if not res.ok:
        run.status = "infeasible"
        return run
    S, P = len(problem.skus), len(problem.periods)
    buy, units, busy, kept = np.zeros((S, P)), np.zeros((S, P)), [None] * P, np.zeros((S, P, P))
    _read(model, buy, units, busy, kept)
    run.decision = Decision(buy, units, tuple(busy), kept)  # type: ignore[arg-type]
    return run


def solve_myopic(problem: BuildoutProblem, options: SolverOptions) -> _Run:
    S, P = len(problem.skus), len(problem.periods)
    buy, units, busy, kept = np.zeros((S, P)), np.zeros((S, P)), [None] * P, np.zeros((S, P, P))
    run = _Run()
    spent = 0.0
    before = problem.existing_units()
    for p in progress.track(range(P), "buildout: period by period (myopic)"):
        history = History(buy.copy(), before.copy(), spent, kept[:, :, p - 1].copy() if p else None)
        model = build_model(problem, range(p, p + 1), history)
        res = integral_vintages(model, solve(model, options, mip=True), options)
        run.add(model, res)
        if not res.ok:
            run.status = "infeasible"
            run.failed_period = p
            run.history = history
            return run
        _read(model, buy, units, busy, kept)
        spent += _capex(problem, buy, p)
        before = units[:, p].copy()
    run.decision = Decision(buy, units, tuple(busy), kept)  # type: ignore[arg-type]
    return run


DEFAULT_BUILDOUT = "buildout.yaml"
BUILDOUT_GROUPS = 24  # energy groups per period at first (x4 per refinement until the bound is met)

SOLVERS = {"perfect_foresight": solve_perfect_foresight, "myopic": solve_myopic}


def _end_of_life(problem: BuildoutProblem, decision: Decision) -> np.ndarray:
    """(S, P) retirements at end of life (a reservation's: its term ended): purchases whose life ends
    at the start of p, and initial cohorts beyond theirs."""
    S, P = decision.units.shape
    kept = decision.vintages(problem)
    alive0 = problem.existing_alive()
    out = np.zeros((S, P))
    for j, b in enumerate(problem.skus):
        for p in range(1, P):
            if p - b.life_periods >= 0:
                out[j, p] += kept[j, p - b.life_periods, p - 1]
            cohort = decision.units[j, p - 1] - kept[j, :p, p - 1].sum()
            out[j, p] += max(cohort - alive0[j, p], 0.0)
    return out


def evaluate(problem: BuildoutProblem, decision: Decision) -> tuple[list[PeriodResult], Totals]:
    """Every reported figure, from the decision alone (``planner.milp.formulation.evaluate_period``)."""
    ids = problem.sku_ids
    g = np.array([b.sku.gpus_per_unit for b in problem.skus], dtype=float)
    prev = problem.existing_units()
    kept = decision.vintages(problem)
    eol = _end_of_life(problem, decision)
    continuous = np.array([b.sku.continuous for b in problem.skus])
    eol[continuous] = 0.0
    table = caps(problem)
    used = site_use(problem, decision.units)
    rows: list[PeriodResult] = []
    P = len(problem.periods)
    for p, per in enumerate(problem.periods):
        units, buy = decision.units[:, p], decision.buy[:, p]
        retired = np.where(continuous, 0.0, prev + buy - units)  # on-demand GPUs are rented per period
        f = evaluate_period(problem, p, decision.buy, decision.units, decision.busy[p], kept=kept)
        capital, fixed, energy, tokens = f.capital_usd, f.fixed_usd, f.energy_usd, f.tokens_demanded
        served = float(f.tokens_by_sku.sum())
        share = f.tokens_by_sku / served if served > 0 else np.zeros(len(ids))
        families: dict[str, float] = {}
        for j, b in enumerate(problem.skus):
            families[b.sku.family] = families.get(b.sku.family, 0.0) + float(share[j])
        cost = f.cost_usd
        power_mw = f.power_kw / 1000.0
        spend = f.capex_usd
        at_limit, binding, named = [], [], []
        site_limits: dict[str, list[str]] = {}
        bought = [j for j in range(len(ids)) if buy[j] > 0]
        for cap in table:
            if cap.period != p or not bought:
                continue
            label = cap.name.removesuffix(f"_{p}") if P > 1 else cap.name  # the cap, not its row in period p
            spare = cap.limit - cap.use(decision.units, decision.buy)
            if cap.decision == "racks":  # no position left for a unit bought at that site
                if spare < 1 and any(problem.skus[j].sku.site == cap.site for j in bought):
                    at_limit.append(cap.kind)
                    named.append(label)
                    site_limits.setdefault(cap.site, []).append(cap.kind)
                    binding.append(f"{label}: {spare:g} positions spare")
                continue
            # less room than one more unit of the SKU bought in the period that uses most of the cap
            j = max(bought, key=lambda j: cap.coefficients[j, p])
            if cap.coefficients[j, p] > 0 and spare < cap.coefficients[j, p]:
                at_limit.append(cap.kind)
                named.append(label)
                if cap.site is not None:
                    site_limits.setdefault(cap.site, []).append(cap.kind)
                room = f"${spare:,.0f} left" if cap.unit == "$" else f"{spare:.3g} {cap.unit} spare"
                binding.append(f"{label}: {room}, less than one {ids[j]} unit")
        rows.append(
            PeriodResult(
                period=per.label,
                start=per.start,
                hours=per.hours,
                fleet={s: int(math.ceil(units[j] - 1e-9)) for j, s in enumerate(ids)},  # on-demand: whole units
                gpus={s: int(round(units[j] * g[j])) for j, s in enumerate(ids)},
                purchases={s: int(math.ceil(buy[j] - 1e-9)) for j, s in enumerate(ids)},
                retirements={s: int(retired[j]) for j, s in enumerate(ids)},
                retirements_end_of_life={s: int(eol[j, p]) for j, s in enumerate(ids)},
                power_mw=power_mw,
                power_cap_mw=per.power_cap_mw,
                capex_usd=spend,
                capex_budget_usd=per.capex_budget_usd,
                capital_usd=capital,
                fixed_usd=fixed,
                energy_usd=energy,
                cost_usd=cost,
                discount_factor=per.discount_factor,
                discounted_cost_usd=cost * per.discount_factor,
                tokens=tokens,
                cost_per_million_tokens=cost / tokens * 1e6 if tokens > 0 else float("nan"),
                token_share_by_family=families,
                token_share_by_sku={s: float(share[j]) for j, s in enumerate(ids)},
                binding=binding,
                at_limit=at_limit,
                at_limit_caps=named,
                on_demand_usd=f.burst_usd,
                decommission_usd=f.decommission_usd,
                early_retirement_usd=f.early_retirement_usd,
                cost_breakdown_usd=f.breakdown(),
                sites=[
                    PeriodSite(
                        **site,
                        token_share=float(
                            sum(share[j] for j, b in enumerate(problem.skus) if b.sku.site == site["site"])
                        ),
                        at_limit=site_limits.get(site["site"], []),
                    )
                    for site in used[p]
                ],
            )
        )
        prev = units
    total_cost = sum(r.cost_usd for r in rows)
    total_tokens = sum(r.tokens for r in rows)
    totals: Totals = {
        "periods": P,
        "cost_usd": total_cost,
        "present_value_usd": sum(r.discounted_cost_usd for r in rows),
        "capital_usd": sum(r.capital_usd for r in rows),
        "fixed_usd": sum(r.fixed_usd for r in rows),
        "energy_usd": sum(r.energy_usd for r in rows),
        "capex_usd": sum(r.capex_usd for r in rows),
        "total_capex_budget_usd": problem.total_capex_budget_usd,
        "tokens": total_tokens,
        "cost_per_million_tokens": total_cost / total_tokens * 1e6 if total_tokens > 0 else float("nan"),
        "cost_breakdown_usd": add_breakdowns([r.cost_breakdown_usd for r in rows if r.cost_breakdown_usd]),
    }
    return rows, totals


def violations(problem: BuildoutProblem, decision: Decision, rtol: float = 1e-6) -> list[str]:
    """Constraints the decision breaks, recomputed from scratch (``planner.milp.formulation.violations``)."""
    return check_violations(problem, decision.buy, decision.units, decision.busy, rtol=rtol, kept=decision.kept)


def _story(problem: BuildoutProblem, rows: list[PeriodResult], decision: Decision) -> Story:
    """When Blackwell overtakes Hopper, every SKU's early retirements, and cost per token first to last."""
    first_majority = next(
        (
            r.period
            for r in rows
            if r.token_share_by_family.get("blackwell", 0.0) > r.token_share_by_family.get("hopper", 0.0)
            and r.token_share_by_family.get("blackwell", 0.0) > 0.5
        ),
        None,
    )
    kept = decision.vintages(problem)
    early: list[EarlyRetirement] = []
    for p, r in enumerate(rows):
        charges = early_retirement_charges(problem, p, kept)
        early += [
            {
                "period": r.period,
                "sku": b.id,
                "family": b.sku.family,
                "units": r.retirements[b.id] - r.retirements_end_of_life[b.id],
                "charge_usd": float(charges[j]),
            }
            for j, b in enumerate(problem.skus)
            if r.retirements[b.id] > r.retirements_end_of_life[b.id]
        ]
    return {
        "blackwell_majority_from": first_majority,
        "early_retirements": early,
        "cost_per_million_tokens_first": rows[0].cost_per_million_tokens,
        "cost_per_million_tokens_last": rows[-1].cost_per_million_tokens,
    }


def _sku_rows(problem: BuildoutProblem) -> list[SkuTerms]:
    out: list[SkuTerms] = []
    for b in problem.skus:
        avail = [p.label for p, a in zip(problem.periods, b.available, strict=True) if a]
        out.append(
            {
                "sku": b.id,
                "family": b.sku.family,
                "pricing": b.pricing,
                "available_from": avail[0] if avail else None,
                "available_until": avail[-1] if avail else None,
                "life_years": b.life_years,
                "fixed_opex_usd_per_gpu_year": b.fixed_opex_usd_per_gpu_year if b.pricing == "owned" else None,
                "capex_usd_per_gpu": list(b.capex_usd_per_gpu),
                "facility_kw_per_gpu": b.sku.facility_kw_per_gpu,
                "gpus_per_unit": b.sku.gpus_per_unit,
                "placed_sku": b.sku.base_id,
                "site": b.sku.site,
                "procurement": b.sku.procurement,
                "lead_time_periods": b.lead_periods,
                "throughput": dict(b.sku.throughput),
            }
        )
    return out


def plan_buildout(
    problem: BuildoutProblem,
    options: SolverOptions,
    mode: str | None = None,
    *,
    compare_myopia: bool = False,
) -> BuildoutPlan:
    """Solve the buildout in ``mode`` (default: the problem's) with ``options``, check and explain it."""
    from planner.buildout.explain import diagnose

    t0 = time.perf_counter()
    mode = mode or problem.mode
    aggregation = None
    explained = problem  # what an infeasible schedule is diagnosed on
    if _should_aggregate(problem):
        run, aggregation, explained = _solve_aggregated(problem, mode, options)
    else:
        run = SOLVERS[mode](problem, options)
    timings = {"build_s": run.build_s, "handoff_s": run.handoff_s, "solve_s": run.solve_s}
    solver = solver_info(options, run.status, run.mip_gap)
    if run.decision is None:
        with progress.task("buildout: infeasible; diagnosing"):
            reason = diagnose(explained, options, mode, run.failed_period, run.history)
        if aggregation is not None:
            reason = replace(
                reason, scope="the aggregated periods (Pareto peak slices and energy groups: a relaxation)"
            )
        timings["total_s"] = time.perf_counter() - t0
        return BuildoutPlan(
            problem.name,
            mode,
            Status.INFEASIBLE,
            [],
            Nothing(),
            _sku_rows(problem),
            Nothing(),
            solver,
            timings,
            list(problem.notes),
            reason,
            horizon_periods=len(problem.periods),
            aggregation=aggregation or {"mode": "exact", "original_slices": _slices(problem)},
        )
    broken = violations(problem, run.decision)
    if broken:
        raise SolverError("the buildout breaks constraints beyond tolerance: " + "; ".join(broken))
    rows, totals = evaluate(problem, run.decision)
    myopia: Myopia | None = None
    if compare_myopia:
        other_mode = "myopic" if mode == "perfect_foresight" else "perfect_foresight"
        # the other mode on the same time resolution (aggregated when this run was)
        other = (
            _solve_aggregated(problem, other_mode, options)[0] if aggregation else SOLVERS[other_mode](problem, options)
        )
        timings["compare_s"] = other.build_s + other.handoff_s + other.solve_s
        if other.decision is None:
            myopia = {"status": f"{other_mode} infeasible", "cost_of_myopia_usd": None}
        else:
            _, other_totals = evaluate(problem, other.decision)
            pv = {mode: totals["present_value_usd"], other_mode: other_totals["present_value_usd"]}
            cost = pv["myopic"] - pv["perfect_foresight"]
            myopia = {
                "present_value_perfect_foresight_usd": pv["perfect_foresight"],
                "present_value_myopic_usd": pv["myopic"],
                "cost_of_myopia_usd": cost,
                "cost_of_myopia_share": cost / pv["perfect_foresight"],
                "mip_gap": max(run.mip_gap, other.mip_gap),
            }
    timings["total_s"] = time.perf_counter() - t0
    return BuildoutPlan(
        scenario=problem.name,
        mode=mode,
        status=Status(run.status),
        periods=rows,
        totals=totals,
        skus=_sku_rows(problem),
        story=_story(problem, rows, run.decision),
        solver=solver,
        timings=timings,
        notes=list(problem.notes),
        myopia=myopia,
        horizon_periods=len(problem.periods),
        aggregation=aggregation or {"mode": "exact", "original_slices": _slices(problem)},
        decision=run.decision,
    )


def _slices(problem: BuildoutProblem) -> int:
    """Slices over every period's representative curve."""
    return sum(len(per.curve.start_hours) for per in problem.periods)


def _should_aggregate(problem: BuildoutProblem) -> bool:
    """`on` always, `off` never, `auto` above the single-period plan's size threshold (busy variables)."""
    from planner.milp.aggregate import AUTO_THRESHOLD_BUSY_VARIABLES

    if problem.aggregation == "off":
        return False
    pairs = int((problem.throughput > 0).sum())
    return problem.aggregation == "on" or pairs * _slices(problem) > AUTO_THRESHOLD_BUSY_VARIABLES


def _period_problem(problem: BuildoutProblem, p: int) -> FleetProblem:
    """Period p as a single-period problem for its dispatch: its SKUs billed as the buildout bills them."""
    skus = tuple(replace(b.sku, energy_billed=b.energy_billed, min_units=0, max_units=math.inf) for b in problem.skus)
    return FleetProblem(
        name=problem.name,
        skus=skus,
        curve=problem.periods[p].curve,
        electricity_usd_per_kwh=problem.electricity_usd_per_kwh,
        power_cap_mw=None,
        budget_usd_per_hour=None,
        capex_budget_usd=None,
        max_utilization=problem.max_utilization,
        objective="min_cost",
    )


def _solve_aggregated(
    problem: BuildoutProblem, mode: str, options: SolverOptions
) -> tuple[_Run, AggregationReport, BuildoutProblem]:
    """Each period's curve aggregated as a single period's is (Pareto peak slices + energy groups),
    the schedule solved on them, then every period dispatched at full resolution.

    Periods couple only through units and purchases, and within a period the aggregated curve is a
    relaxation (``planner.milp.aggregate``), so under perfect foresight the aggregated optimum
    (less its MIP gap) is a lower bound on the exact present value and the full-resolution schedule
    an upper one; the groups are refined until they are within the target. A myopic run has no
    horizon optimum to bound: its schedule is reported, costed at full resolution.
    """
    from planner.milp.aggregate import (
        MAX_REFINEMENTS,
        TARGET_ERROR,
        aggregate_curve,
        dispatch_fleet,
    )

    start = time.perf_counter()
    billed = any(b.energy_billed for b in problem.skus)
    longest = max(len(per.curve.start_hours) for per in problem.periods)
    groups = min(BUILDOUT_GROUPS, max(4, longest // 8))
    total = _Run()
    for refinements in progress.track(  # noqa: B007 (reported after the loop)
        range(MAX_REFINEMENTS + 1), "time aggregation: solve, check the bound, refine"
    ):
        reduced = replace(
            problem,
            periods=tuple(
                replace(per, curve=aggregate_curve(per.curve, billed, groups).curve) for per in problem.periods
            ),
        )
        run = SOLVERS[mode](reduced, options)
        total.build_s += run.build_s
        total.handoff_s += run.handoff_s
        total.solve_s += run.solve_s
        total.mip_gap = max(total.mip_gap, run.mip_gap)
        info: AggregationReport = {
            "mode": "aggregated",
            "original_slices": _slices(problem),
            "model_slices": _slices(reduced),
            "refinements": refinements,
        }
        if run.decision is None:
            run.build_s, run.handoff_s, run.solve_s = total.build_s, total.handoff_s, total.solve_s
            info["summary"] = "infeasible on the aggregated model, a relaxation: so infeasible at full resolution"
            info["seconds"] = time.perf_counter() - start
            return run, info, reduced
        busy = []
        for p in range(len(problem.periods)):
            d = dispatch_fleet(_period_problem(problem, p), run.decision.units[:, p], options)
            if d is None:
                raise SolverError(
                    f"{problem.periods[p].label}: the aggregated fleet could not be dispatched at full resolution"
                )
            busy.append(d.busy)
        decision = Decision(run.decision.buy, run.decision.units, tuple(busy), run.decision.kept)
        upper = evaluate(problem, decision)[1]["present_value_usd"]
        if mode != "perfect_foresight":
            error = None
            break
        lower = evaluate(reduced, run.decision)[1]["present_value_usd"] * (1 - run.mip_gap)
        error = float(max(upper - lower, 0.0) / upper) if upper > 0 else 0.0
        if error <= TARGET_ERROR or groups >= longest:
            break
        groups *= 4
    total.status, total.decision = run.status, decision
    info |= {"upper_bound_usd": float(upper), "error_bound": error, "seconds": time.perf_counter() - start}
    if error is None:
        info["lower_bound_usd"] = None
        info["summary"] = (
            f"{info['original_slices']} slices -> {info['model_slices']} over {len(problem.periods)} periods; "
            "myopic: each period's schedule on aggregated time, costed at full resolution (no horizon bound)"
        )
    else:
        info["lower_bound_usd"] = float(lower)
        info["summary"] = (
            f"{info['original_slices']} slices -> {info['model_slices']} over {len(problem.periods)} periods; "
            f"present value within {error:.3%} of the exact optimum (certified bound)"
        )
    return total, info, reduced


def buildout_problem_from(sf) -> BuildoutProblem:
    """Scenario file -> BuildoutProblem (its demand curve through planner.pipeline.scenario_curve)."""
    from planner.buildout.problem import build_buildout_problem
    from planner.optimize.problem import scenario_curve

    if sf.scenario.buildout is None:
        raise ScenarioError(
            f"{sf.path}: no 'buildout:' section; add one (see `planner schema`, key buildout) "
            "or plan a single period with `planner plan`"
        )
    return build_buildout_problem(sf, scenario_curve(sf))


def default_buildout_path():
    """The shipped buildout scenario (`planner buildout` with no file)."""
    from planner.resources import scenarios_dir

    return scenarios_dir() / DEFAULT_BUILDOUT


def run_buildout(
    scenario=None, overrides: Overrides | None = None, mode: str | None = None, *, compare_myopia: bool = False
) -> BuildoutPlan:
    """Plan a scenario file's buildout (default: the shipped scenarios/buildout.yaml)."""
    from planner.optimize.problem import solver_options
    from planner.scenario.load import ScenarioFile, load_scenario

    if isinstance(scenario, ScenarioFile):
        sf = scenario
    else:
        sf = load_scenario(scenario if scenario is not None else default_buildout_path(), overrides)
    return plan_buildout(buildout_problem_from(sf), solver_options(sf.scenario), mode, compare_myopia=compare_myopia)
