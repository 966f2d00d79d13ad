"""Issue 26 item 3: costs where they are paid, checked by brute force on small buildouts.

An owned unit bought in the horizon and retired before the end of its life pays its remaining
capital then (its annuities from the retirement on, past the horizon too, valued at the
retirement; less ``resale_fraction`` of it); a unit kept to the horizon's end hands the rest of
its life on (under end_of_horizon purchase, whose price was paid in full, it is sold then: its
resale share comes back, so selling a period early never pays). A reservation is billed for the hours of its term inside each period and its units
stay for the whole term; ``upfront`` charges the whole commitment when it starts.

The oracle below prices every schedule from those sentences alone (not from the planner's
evaluation) and enumerates every schedule of a few units; the MILP must reach its optimum.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import pytest

from planner.buildout.run import plan_buildout
from planner.milp.problem import BuildoutProblem, BuildoutSku, Period

from helpers import OPTIONS, curve
from helpers import sku as single_sku

HOURS = 730.0  # one month per period
RATE = 0.12  # discount [1/year]


def _discount(q: int) -> float:
    return (1.0 + RATE) ** (-q / 12.0)


def _owned(life: int, annuity_per_hour: float, opex_per_hour: float, n: int, resale: float) -> BuildoutSku:
    return BuildoutSku(
        sku=single_sku("own", g=1, kw=1000.0, idle=0.0, thr=100.0),
        pricing="owned",
        available=(True,) * n,
        capex_usd_per_gpu=(1000.0,) * n,
        cost_usd_per_gpu_hour=(0.0,) * n,
        fixed_opex_usd_per_gpu_year=opex_per_hour * 8760.0,
        life_years=life / 12.0,
        life_periods=life,
        annuity_usd_per_gpu_year=(annuity_per_hour * 8760.0,) * n,
        resale_fraction=resale,
    )


def _rented(rate_per_hour: float, n: int) -> BuildoutSku:
    return BuildoutSku(
        sku=single_sku("rent", g=1, kw=1000.0, idle=0.0, thr=100.0),
        pricing="hourly",
        available=(True,) * n,
        capex_usd_per_gpu=(math.nan,) * n,
        cost_usd_per_gpu_hour=(rate_per_hour,) * n,
        fixed_opex_usd_per_gpu_year=0.0,
        life_years=math.inf,
        life_periods=n,
        annuity_usd_per_gpu_year=(0.0,) * n,
    )


def _reserved(term: int, rate_per_hour: float, n: int, upfront: bool) -> BuildoutSku:
    base = replace(single_sku("resv", g=1, kw=1000.0, idle=0.0, thr=100.0), procurement="reserved")
    return BuildoutSku(
        sku=base,
        pricing="owned",
        available=(True,) * n,
        capex_usd_per_gpu=(math.nan,) * n,
        cost_usd_per_gpu_hour=(0.0,) * n,
        fixed_opex_usd_per_gpu_year=0.0,
        life_years=term / 12.0,
        life_periods=term,
        annuity_usd_per_gpu_year=(rate_per_hour * 8760.0,) * n,
        committed_usd_per_gpu=(rate_per_hour * term * HOURS,) * n if upfront else None,
    )


def _problem(skus, demand, end_of_horizon="annuities", power_mw=None) -> BuildoutProblem:
    periods = tuple(
        Period(
            f"M{p + 1}", "2027-01-01", HOURS, float(p), _discount(p), curve([[d]], slice_hours=HOURS), power_mw, None
        )
        for p, d in enumerate(demand)
    )
    return BuildoutProblem(
        name="small",
        periods=periods,
        skus=tuple(skus),
        cohorts=(),
        workloads=("w",),
        electricity_usd_per_kwh=0.0,
        max_utilization=1.0,
        discount_rate=RATE,
        total_capex_budget_usd=None,
        early_retirement=True,
        mode="perfect_foresight",
        end_of_horizon=end_of_horizon,
        aggregation="off",
    )


def _paths(bought: int, periods: int):
    """Every way `bought` units leave over `periods` later periods: non-increasing kept counts."""
    if periods == 0:
        yield ()
        return
    for first in range(bought, -1, -1):
        for rest in _paths(first, periods - 1):
            yield (first, *rest)


def _owned_cost(life, annuity, opex, resale, purchase_price, mode, v, path, n) -> float:
    """Present value of one vintage bought in v and kept `path` units in v+1..: annuity (or its
    price at purchase) and opex while installed, remaining capital (less resale) at retirement;
    under purchase, the resale share of what is still installed when the horizon ends comes back."""
    bought = path[0]
    pv = 0.0
    if mode == "purchase":
        pv += _discount(v) * bought * purchase_price
    for i, units in enumerate(path):
        p = v + i
        pv += _discount(p) * units * HOURS * (opex + (annuity if mode == "annuities" else 0.0))
        if i:
            gone = path[i - 1] - units
            left = sum(annuity * HOURS * _discount(q) for q in range(p, v + life))  # valued at start: x delta_p
            share = (1.0 - resale) if mode == "annuities" else -resale
            pv += gone * share * left
    if mode == "purchase" and v + len(path) == n:  # still installed at the end: sold then (nothing handed on)
        pv -= path[-1] * resale * sum(annuity * HOURS * _discount(q) for q in range(n, v + life))
    return pv


def _oracle(demand, *, life, annuity, opex, rent, resale=0.0, mode="annuities", purchase_price=0.0, cap=None):
    """The cheapest schedule of owned units (every vintage and retirement) plus rented ones, by enumeration."""
    n = len(demand)
    need = [math.ceil(d / 100.0 - 1e-9) for d in demand]
    best = math.inf
    choices = []
    for v in range(n):
        span = min(v + life, n) - v  # periods of the horizon the vintage can serve
        choices.append([(b, *rest) for b in range(max(need) + 1) for rest in _paths(b, span - 1)])
    for combo in itertools.product(*choices):
        installed = [0] * n
        pv = 0.0
        for v, path in enumerate(combo):
            for i, units in enumerate(path):
                installed[v + i] += units
            pv += _owned_cost(life, annuity, opex, resale, purchase_price, mode, v, path, n)
        if cap is not None and any(x > cap for x in installed):
            continue
        rented = [max(k - x, 0) for k, x in zip(need, installed, strict=True)]
        if cap is not None and any(x + r > cap for x, r in zip(installed, rented, strict=True)):
            continue
        pv += sum(_discount(p) * r * rent * HOURS for p, r in enumerate(rented))
        best = min(best, pv)
    return best


CASES = [
    # a one-month peak in the middle of a 3-month horizon, a 4-month life: owning it for the peak
    # and retiring it after would leave its last two annuities unpaid under the old accounting
    dict(demand=(100, 300, 100), life=4, annuity=1.0, opex=1.0, rent=2.2),
    dict(demand=(100, 300, 100), life=4, annuity=1.0, opex=1.0, rent=2.2, resale=0.5),
    dict(demand=(300, 100, 300), life=2, annuity=1.0, opex=0.5, rent=1.8),
    dict(demand=(200, 300, 0), life=4, annuity=1.2, opex=0.2, rent=1.5, resale=0.8),
    dict(demand=(100, 300, 200), life=3, annuity=0.8, opex=0.4, rent=1.0, mode="purchase", resale=0.4),
    dict(demand=(300, 0, 300), life=3, annuity=0.5, opex=1.5, rent=1.9),
]


@pytest.mark.parametrize("case", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_owned_units_pay_their_remaining_capital_when_retired_early(case):
    case = dict(case)
    mode = case.pop("mode", "annuities")
    resale = case.get("resale", 0.0)
    n = len(case["demand"])
    price = case["annuity"] * 8760.0 * 2.0  # a purchase price (end_of_horizon purchase): its own figure
    own = _owned(case["life"], case["annuity"], case["opex"], n, resale)
    if mode == "purchase":
        own = replace(own, capex_usd_per_gpu=(price,) * n)
    problem = _problem([own, _rented(case["rent"], n)], case["demand"], end_of_horizon=mode)
    plan = plan_buildout(problem, OPTIONS)
    assert plan.status == "optimal"
    expected = _oracle(mode=mode, purchase_price=price, **case)
    assert plan.totals["present_value_usd"] == pytest.approx(expected, rel=1e-6)
    # the ledger names what early retirement cost, and the story says it per period
    charged = sum(e["charge_usd"] for e in plan.story["early_retirements"])
    assert charged == pytest.approx(plan.totals["cost_breakdown_usd"]["early_retirement"], abs=1e-6)


def test_under_purchase_resale_the_fleet_is_not_sold_a_period_early():
    """Purchase mode with a resale share: a unit still installed when the horizon ends is sold then,
    so the plan keeps owning through the last period instead of selling early and renting."""
    n = 4
    own = replace(_owned(6, 2500.0 / 8760.0 / 0.2, 0.2, n, 0.5), capex_usd_per_gpu=(2500.0,) * n)
    plan = plan_buildout(_problem([own, _rented(1.4, n)], (300,) * n, end_of_horizon="purchase"), OPTIONS)
    assert [r.fleet["own"] for r in plan.periods] == [3, 3, 3, 3]
    assert plan.periods[-1].cost_breakdown_usd["early_retirement"] < 0  # the resale at the end: a credit


def test_a_purchase_for_one_period_pays_for_its_whole_life():
    """The issue's case: a peak of one period. Retiring a unit bought for it costs its remaining
    capital, so the planner rents for the peak instead of buying and dropping units."""
    own = _owned(4, 1.0, 1.0, 3, 0.0)
    problem = _problem([own, _rented(2.2, 3)], (100, 300, 100))
    plan = plan_buildout(problem, OPTIONS)
    m1, m2, m3 = plan.periods
    assert m2.fleet["rent"] == 2 and m2.purchases["own"] == 0
    assert all(r.retirements["own"] == 0 for r in plan.periods)
    # forced to own (no renting): the units bought for the peak and retired pay their remaining capital
    forced = _problem([own], (100, 300, 100))
    plan = plan_buildout(forced, OPTIONS)
    m1, m2, m3 = plan.periods
    assert m2.purchases["own"] == 2
    kept = plan.decision.kept[0]  # (vintage, period)
    assert m3.retirements["own"] == 1 and kept[0, 2] == 0  # the older unit (less capital left) goes
    left = sum(HOURS * _discount(q) for q in range(2, 0 + 4)) / _discount(2)  # its months 3 and 4, at month 3
    assert m3.cost_breakdown_usd["early_retirement"] == pytest.approx(1.0 * left)
    assert plan.story["early_retirements"][0]["charge_usd"] == pytest.approx(1.0 * left)


@pytest.mark.parametrize("upfront", [False, True])
@pytest.mark.parametrize("mode", ["annuities", "purchase"])
def test_a_reservation_is_billed_over_its_term_and_kept_for_it(mode, upfront):
    """A 2-month reservation at $1/h against renting at $1.6/h, for demand of 3, 1, 1, 3 units."""
    demand = (300, 100, 100, 300)
    problem = _problem([_reserved(2, 1.0, 4, upfront), _rented(1.6, 4)], demand, end_of_horizon=mode)
    plan = plan_buildout(problem, OPTIONS)
    assert plan.status == "optimal"
    # brute force: reservations starting in each month (0..3 units), each kept exactly 2 months
    best = math.inf
    for starts in itertools.product(range(4), repeat=4):
        held = [sum(starts[v] for v in range(4) if v <= p < v + 2) for p in range(4)]
        pv = 0.0
        for p in range(4):
            rented = max(demand[p] // 100 - held[p], 0)
            pv += _discount(p) * rented * 1.6 * HOURS
            if not upfront:
                pv += _discount(p) * held[p] * 1.0 * HOURS
            else:
                pv += _discount(p) * starts[p] * 1.0 * 2 * HOURS
        best = min(best, pv)
    assert plan.totals["present_value_usd"] == pytest.approx(best, rel=1e-6)
    for p, r in enumerate(plan.periods):
        started = r.purchases["resv"]
        held = r.fleet["resv"]
        reserved = r.cost_breakdown_usd["reserved"]
        assert reserved == pytest.approx(started * 2 * HOURS if upfront else held * HOURS)
        # units stay for the whole term: what leaves is what started two months before
        if p >= 2:
            assert r.retirements["resv"] == r.retirements_end_of_life["resv"] == plan.periods[p - 2].purchases["resv"]
    assert [e for e in plan.story["early_retirements"] if e["sku"] == "resv"] == []


def test_vintages_kept_are_whole_units_even_between_vertices():
    """The model keeps the purchases kept continuous (integral at its vertices once buy and units
    are); an answer between vertices is solved again with them integer, at the same cost."""
    from planner.buildout.run import integral_vintages
    from planner.milp.formulation import build_model
    from planner.milp.solve import solve

    problem = _problem([_owned(4, 1.0, 1.0, 3, 0.0)], (100, 300, 100))
    model = build_model(problem)
    res = solve(model, OPTIONS, mip=True)
    cost = model.cost.value()
    var = next(v for v in model.kept.values() if (v.varValue or 0) >= 1)
    var.varValue -= 0.5  # as a solver stopping between two vertices would leave it
    from planner.milp.status import Status

    stopped = replace(res, status=Status.TIME_LIMIT, mip_gap=0.05, solve_seconds=30.0)  # a first solve cut short
    again = integral_vintages(model, stopped, OPTIONS)
    assert again is not stopped and again.ok
    assert again.status == Status.TIME_LIMIT and again.mip_gap >= 0.05 and again.solve_seconds >= 30.0
    assert all(abs(v.varValue - round(v.varValue)) < 1e-9 for v in model.kept.values())
    assert model.cost.value() == pytest.approx(cost, rel=1e-9)


def test_violations_name_a_vintage_record_that_does_not_add_up():
    """The purchases kept are checked like every other decision: growing back, negative, or not
    matching the installed units is a violation."""
    from planner.buildout.run import violations

    problem = _problem([_owned(4, 1.0, 1.0, 3, 0.0)], (100, 300, 100))
    plan = plan_buildout(problem, OPTIONS)
    d = plan.decision
    assert violations(problem, d) == []
    grown = d.kept.copy()
    grown[0, 0, 2] = grown[0, 0, 1] + 1  # a retired unit back
    assert any("grew back" in v for v in violations(problem, replace(d, kept=grown)))
    negative = d.kept.copy()
    negative[0, 0, 2] = -1.0
    assert any("negative" in v for v in violations(problem, replace(d, kept=negative)))
