"""The buildout report: one self-contained HTML file for a scenario with a ``buildout:`` section.

Sections: the recommendation (cost per million tokens over the horizon, total and present
value, what is bought, the caps at their limit); the schedule (per period and column: units
installed, bought and retired, with the full column names) and its chart; per-site use of each
cap per period (where the scenario has sites); cost per period with the whole ledger
(``cost_breakdown_usd``: the lines add up to the period's cost) and its chart; the cap table
(limit, used, at its limit, per period); the assumptions as the run resolved them (per-site PUE
and electricity price, the discount rate, every column's terms) with the catalog's sources. An
infeasible buildout gets the recommendation's place taken by its diagnosis. The page, style and
cells are ``planner.report.page``, shared with the plan report; labels are the ones
``planner buildout`` prints.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from planner.buildout.report import on_demand_use, reserved_columns, schedule_cell, schedule_png
from planner.buildout.run import BuildoutPlan, buildout_problem_from, plan_buildout
from planner.catalog.load import Catalog, scenario_catalog
from planner.economics import LEDGER_LABELS
from planner.milp.formulation import caps
from planner.milp.problem import BuildoutProblem
from planner.milp.status import Status
from planner.report.charts import buildout_cost_chart
from planner.report.html import catalog_sources
from planner.report.page import chart_figure, html_table, money, number_cell, page
from planner.report.workbook import Field, buildout_assumption_fields
from planner.scenario.load import ScenarioFile, load_scenario
from planner.units import si

if TYPE_CHECKING:
    from planner.milp.reason import CapVerdict


# what each ledger line (``cost_breakdown_usd``) charges, as the formulation books it
LEDGER_NOTES = {
    "capital": "owned purchases, their annuities inside the period or the purchase price",
    "fixed": "hourly prices and owned fixed opex",
    "reserved": "reserved capacity, its rate × GPUs × the hours of its term in the period",
    "energy": "electricity billed",
    "on_demand": "busy on-demand GPU-hours × their rate",
    "decommissioning": "existing units decommissioned",
    "early_retirement": "the remaining capital of units retired before the end of their life, less resale",
}


@dataclass(frozen=True)
class BuildoutReportInputs:
    """What the buildout report shows: the scenario, the problem it resolved to, the plan, the catalog."""

    scenario: ScenarioFile
    problem: BuildoutProblem
    plan: BuildoutPlan
    catalog: Catalog


@dataclass(frozen=True)
class CapUse:
    """One row of the buildout's cap table: a cap in one period (or over the horizon) and its use."""

    period: str  # the period's label, or "horizon"
    cap: str  # as planner buildout names it: power_cap, rack_positions@hall-a, quota@h200-node, capex_total
    field: str  # the scenario field that sets the limit
    unit: str  # MW | $ | racks | GPUs | units
    limit: float  # [unit]
    used: float  # [unit]
    at_limit: bool  # less room than one more unit of a column bought in the period (planner buildout's rule)
    detail: str  # planner buildout's "at limit" line for it ("0 positions spare"), or ""


def buildout_report_inputs(scenario: ScenarioFile | Path | str | None, mode: str | None = None) -> BuildoutReportInputs:
    """Plan the scenario's buildout (``planner buildout``'s path: the scenario's solver options,
    ``mode`` or the scenario's) and gather what the report shows."""
    from planner.optimize.problem import solver_options

    sf = scenario if isinstance(scenario, ScenarioFile) else load_scenario(scenario)
    problem = buildout_problem_from(sf)
    plan = plan_buildout(problem, solver_options(sf.scenario), mode)
    return BuildoutReportInputs(sf, problem, plan, scenario_catalog(sf))


def cap_uses(problem: BuildoutProblem, plan: BuildoutPlan) -> list[CapUse]:
    """Every cap of the buildout with what the schedule uses of it, period by period, then the
    horizon's; "at its limit" as ``planner buildout`` marks it (its ``binding`` lines). Empty when
    the buildout is infeasible (no schedule)."""
    if plan.decision is None:
        return []
    units, buy = plan.decision.units, plan.decision.buy
    P = len(problem.periods)
    rows = []
    for cap in sorted(caps(problem), key=lambda c: P if c.period is None else c.period):
        used = cap.use(units, buy)
        if cap.period is None:  # the horizon's: no room for one more unit of any column bought
            costs = [cap.coefficients[j, p] for j, p in zip(*buy.nonzero(), strict=True) if cap.coefficients[j, p] > 0]
            at = bool(costs) and cap.limit - used < min(costs)
            rows.append(CapUse("horizon", cap.name, cap.field, cap.unit, cap.limit, used, at, ""))
            continue
        r = plan.periods[cap.period]
        label = cap.name.removesuffix(f"_{cap.period}") if P > 1 else cap.name
        line = next((b for b in r.binding if b.startswith(f"{label}:")), None)
        detail = line.split(":", 1)[1].strip() if line else ""
        rows.append(CapUse(r.period, label, cap.field, cap.unit, cap.limit, used, line is not None, detail))
    return rows


# ---- cells --------------------------------------------------------------------------------


def _amount(value: float | None, unit: str) -> str:
    """A figure in its unit: dollars whole, MW to 3 decimals, counts whole."""
    if value is None or not math.isfinite(value):
        return "-"
    if unit == "$":
        return money(value)
    if unit == "MW":
        return f"{value:,.3f} MW"
    if unit == "months":
        return f"{value:g} months"
    return f"{value:,.0f} {escape(unit)}"


def _of(used: float | int, limit: float | int | None, unit: str) -> str:
    """``used / limit`` as planner buildout prints a site's use ("-" where there is no cap)."""
    cap = _amount(limit, unit) if limit is not None else "no cap"
    return f"{_amount(used, unit)} / {cap}"


def _field(f: Field) -> str:
    """A stated assumption's value with its unit, as the workbook states it."""
    v = f.value
    if v is None:
        return "none"
    if isinstance(v, str):
        return escape(v)
    if f.fmt.startswith("usd"):
        return money(v, 4 if f.fmt == "usd4" else 0) + (escape(f.unit[1:]) if f.unit.startswith("$/") else "")
    if f.fmt == "pct":
        return f"{v:.1%}" + ("" if f.unit in ("%", "1") else " " + escape(f.unit.replace("1/", "per ")))
    return number_cell(v) + ("" if f.unit in ("", "1") else f" {escape(f.unit)}")


def _columns(plan: BuildoutPlan) -> list[str]:
    return list(plan.periods[0].fleet) if plan.periods else [s["sku"] for s in plan.skus]


# ---- sections -----------------------------------------------------------------------------


def _diagnosis(r: BuildoutReportInputs) -> str:
    reason = r.plan.reason
    lines = reason.lines if reason else ["the solver proved infeasibility"]
    first = reason.first_infeasible_period if reason else None
    html = [
        "<p><b>No schedule fits this scenario.</b>"
        + (f" The first period that falls short is {escape(first)}." if first else "")
        + "</p>",
        "<ul>" + "".join(f"<li>{escape(line)}</li>" for line in lines) + "</ul>",
    ]
    if reason and reason.scope:
        html.append(f"<p class=note>Diagnosed on {escape(reason.scope)}.</p>")
    # the caps that fall short (or that no raise makes enough): every row of the diagnosis is in the JSON
    relax: list[CapVerdict] = [
        v for v in (reason.relaxations if reason else []) if v["short_by"] is not None or v["needed"] is None
    ]
    if relax:
        rows = [
            [
                escape(v["period"]),
                escape(v["cap"]),
                "every period together" if v["scope"] == "all" else "this one alone",
                _amount(v["current"], v["unit"]),
                _amount(v["needed"], v["unit"]) if v["needed"] is not None else "cannot make it feasible",
                _amount(v["short_by"], v["unit"]) if v["short_by"] is not None else "-",
            ]
            for v in relax
        ]
        html.append("<h3>What each cap would have to be</h3>")
        html.append(html_table(["period", "cap", "raised", "cap now", "needed", "short by"], rows, numeric={3, 4, 5}))
    return '<section class="callout bad"><h2>Recommendation</h2>' + "".join(html) + "</section>"


def _recommendation(r: BuildoutReportInputs) -> str:
    p = r.plan
    if p.status == Status.INFEASIBLE:
        return _diagnosis(r)
    t, st = p.totals, p.story
    first, last = p.periods[0].period, p.periods[-1].period
    bought = []
    for s in p.skus:
        col = s["sku"]
        if s.get("site") == "cloud":
            peak = max(row.gpus[col] for row in p.periods)
            if peak:
                bought.append(f"up to {peak:,} GPUs of {escape(col)} on demand")
            continue
        n = sum(row.purchases[col] for row in p.periods)
        if n:
            bought.append(f"{n:,} × {escape(col)}")
    budget = t["total_capex_budget_usd"]
    lines = [
        f"<p class=big><b>{money(t['cost_per_million_tokens'], 4)}</b> per million tokens over the horizon</p>",
        f"<p>{p.horizon_periods} periods, {escape(first)} to {escape(last)}, planned {escape(p.mode.replace('_', ' '))} "
        f"(status <code>{escape(p.status)}</code>): total cost <b>{money(t['cost_usd'])}</b>, present value "
        f"<b>{money(t['present_value_usd'])}</b> at a discount rate of {r.problem.discount_rate:.1%} a year, "
        f"for {si(t['tokens'], 'tokens')} delivered.</p>",
        f"<p>Buy {', '.join(bought) or 'nothing'}. Capex {money(t['capex_usd'])}"
        + (f" of the {money(budget)} horizon budget" if budget is not None else "")
        + ".</p>",
        f"<p>Cost per million tokens: {money(st['cost_per_million_tokens_first'], 4)} in {escape(first)}, "
        f"{money(st['cost_per_million_tokens_last'], 4)} in {escape(last)}."
        + (
            f" Blackwell serves most tokens from {escape(st['blackwell_majority_from'])}."
            if st.get("blackwell_majority_from")
            else ""
        )
        + "</p>",
    ]
    limits = [f"{escape(row.period)}: {escape(b)}" for row in p.periods for b in row.binding]
    if limits:
        lines.append("<p>At their limit:</p><ul>" + "".join(f"<li>{x}</li>" for x in limits) + "</ul>")
    early = st.get("early_retirements", [])
    if early:
        lines.append(
            "<p>Retired before their end of life: "
            + "; ".join(f"{escape(e['period'])}: {e['units']:,} × {escape(e['sku'])}" for e in early)
            + ".</p>"
        )
    if p.myopia and p.myopia.get("cost_of_myopia_usd") is not None:
        m = p.myopia
        lines.append(
            f"<p>Cost of myopia: {money(m['cost_of_myopia_usd'])} ({m['cost_of_myopia_share']:.2%} of the "
            f"perfect-foresight present value).</p>"
        )
    return '<section class="callout"><h2>Recommendation</h2>' + "".join(lines) + "</section>"


def _schedule(r: BuildoutReportInputs) -> str:
    p = r.plan
    cols = _columns(p)
    reserved = reserved_columns(p)
    rows = []
    for row in p.periods:
        rows.append(
            [
                escape(row.period),
                *(escape(schedule_cell(row, c, c in reserved)) for c in cols),
                # as planner buildout prints them
                f"{row.power_mw:.2f} / " + (f"{row.power_cap_mw:g}" if row.power_cap_mw is not None else "-"),
                f"{row.capex_usd / 1e6:,.1f} / "
                + (f"{row.capex_budget_usd / 1e6:,.0f}" if row.capex_budget_usd is not None else "-"),
            ]
        )
    # a column's full name, broken (if at all) after its site and before its procurement: never cut
    heads = [escape(c).replace("@", "@<wbr>").replace(":", "<wbr>:") for c in cols]
    table = html_table(
        ["period", *heads, "MW / cap", "capex $M / budget"],
        rows,
        numeric=set(range(1, len(cols) + 3)),
        cls="schedule",
        header_html=True,
    )
    note = (
        "<p class=note>Each cell: units installed in the period, then <code>+bought</code> at its start and "
        "<code>-retired</code> (<code>(n EOL)</code>: of those, n at the end of their life; <code>(n term ended)</code>: "
        "a reservation's term ended). On-demand columns "
        "count the busiest slice's whole units, rented per period.</p>"
    )
    chart = chart_figure("schedule", schedule_png(p), "Installed facility power per column and period, and $/M tokens")
    return f"<section><h2>Schedule</h2><h3>Installed (+bought / -retired) units</h3>{table}{note}{chart}</section>"


def _sites(r: BuildoutReportInputs) -> str:
    p = r.plan
    if not any(row.sites for row in p.periods):
        return ""
    rows = []
    for row in p.periods:
        for site in row.sites:
            rows.append(
                [
                    escape(row.period),
                    escape(site["site"]),
                    _of(site["power_mw"], site["power_cap_mw"], "MW"),
                    _of(site["racks"], site["rack_positions"], "racks"),
                    _of(site["liquid_mw"], site["liquid_cooling_mw"], "MW"),
                    f"{site['gpus']:,}",
                    f"{site['token_share']:.1%}",
                    escape(", ".join(site["at_limit"])) or "-",
                ]
            )
        cloud = on_demand_use(p, row)
        if cloud is not None:
            rows.append([escape(row.period), "cloud", "-", "-", "-", f"{cloud[0]:,}", f"{cloud[1]:.1%}", "-"])
    table = html_table(
        [
            "period",
            "site",
            "power / cap",
            "rack positions / cap",
            "liquid cooling / cap",
            "GPUs",
            "token share",
            "at limit",
        ],
        rows,
        numeric={2, 3, 4, 5, 6},
        cls="sites",
    )
    note = (
        "<p class=note>Power is facility power at full load (IT × the site's PUE); liquid cooling is the "
        "liquid-cooled IT load. Cloud capacity draws none of your power, racks or cooling.</p>"
    )
    return f"<section><h2>Sites</h2>{table}{note}</section>"


def _cost(r: BuildoutReportInputs) -> str:
    p = r.plan
    keys = list(LEDGER_LABELS)
    rows = []
    for row in p.periods:
        ledger = row.cost_breakdown_usd or {}
        rows.append(
            [
                escape(row.period),
                *(money(ledger.get(k, 0.0)) for k in keys),
                f"<b>{money(row.cost_usd)}</b>",
                money(row.discounted_cost_usd),
                escape(si(row.tokens)),
                money(row.cost_per_million_tokens, 4),
            ]
        )
    t = p.totals
    rows.append(
        [
            "<b>horizon</b>",
            *(money(t["cost_breakdown_usd"].get(k, 0.0)) for k in keys),
            f"<b>{money(t['cost_usd'])}</b>",
            money(t["present_value_usd"]),
            escape(si(t["tokens"])),
            money(t["cost_per_million_tokens"], 4),
        ]
    )
    headers = ["period", *(LEDGER_LABELS[k] for k in keys), "cost", "present value"]
    headers += ["tokens", "$/M tokens"]
    table = html_table(headers, rows, numeric=set(range(1, len(headers))), cls="ledger")
    said = "; ".join(f"{LEDGER_LABELS[k]}: {LEDGER_NOTES[k]}" for k in keys if k in LEDGER_NOTES)
    note = (
        f"<p class=note>The ledger's lines add up to each period's cost ({escape(said)}). Present value: "
        "cost × the period's discount factor (discounted to the horizon's start).</p>"
    )
    chart = chart_figure("cost", buildout_cost_chart(p), "Cost per period by ledger line, and $/M tokens")
    return f"<section><h2>Cost per period</h2>{table}{note}{chart}</section>"


def _caps(r: BuildoutReportInputs) -> str:
    uses = cap_uses(r.problem, r.plan)
    if not uses:
        return "<section><h2>Caps</h2><p>The scenario sets no cap on the buildout.</p></section>"
    rows = [
        [
            escape(c.period),
            escape(c.cap),
            f"<code>{escape(c.field)}</code>",
            _amount(c.limit, c.unit),
            _amount(c.used, c.unit),
            f"{c.used / c.limit:.1%}" if c.limit else "n/a",
            ("yes" + (f": {escape(c.detail)}" if c.detail else "")) if c.at_limit else "no",
        ]
        for c in uses
    ]
    table = html_table(
        ["period", "cap", "scenario field", "limit", "used", "share", "at its limit"],
        rows,
        numeric={3, 4, 5},
        cls="caps",
    )
    note = (
        "<p class=note>At its limit: less room left than one more unit of a column bought in that period (as "
        "<code>planner buildout</code> marks it). A buildout reports no marginal values: re-plan with the cap "
        "raised (<code>planner buildout --set FIELD=VALUE</code>) to price it; a single-period plan's report "
        "prices each cap.</p>"
    )
    return f"<section><h2>Caps</h2>{table}{note}</section>"


def _terms(p: BuildoutPlan, workloads: tuple[str, ...]) -> str:
    rows = []
    for s in p.skus:
        prices = [x for x in s["capex_usd_per_gpu"] if math.isfinite(x)]
        if not prices or s["pricing"] != "owned":
            capex = "-"
        elif prices[0] == prices[-1]:
            capex = money(prices[0])
        else:
            capex = f"{money(prices[0])} → {money(prices[-1])}"
        available = (
            f"{s['available_from']} to {s['available_until']}" if s["available_from"] else "never in the horizon"
        )
        opex = s["fixed_opex_usd_per_gpu_year"]
        rows.append(
            [
                escape(s["sku"]),
                escape(s["placed_sku"]),
                escape(s["site"] or "-"),
                escape(s["procurement"] or s["pricing"]),
                escape(available),
                number_cell(s["life_years"]),
                capex,
                money(opex) if opex is not None else "-",
                number_cell(s["facility_kw_per_gpu"]),
                number_cell(s["lead_time_periods"]),
                "<br>".join(
                    f"{escape(w)}: {number_cell(s['throughput'][w])}" if w in s["throughput"] else f"{escape(w)}: -"
                    for w in workloads
                ),
            ]
        )
    headers = ["column", "SKU", "site", "procurement", "available", "life [years]", "capex $/GPU (first → last)"]
    headers += ["fixed opex $/GPU-year", "facility kW/GPU", "lead time [periods]", "tokens/s per GPU"]
    return html_table(headers, rows, numeric={5, 6, 7, 8, 9})


def _assumptions(r: BuildoutReportInputs) -> str:
    sf, problem, p = r.scenario, r.problem, r.plan
    stated = [[escape(f.label), _field(f)] for f in buildout_assumption_fields(sf, problem.sites)]
    periods = problem.periods
    months = periods[1].months_from_start if len(periods) > 1 else None
    aggregation: dict[str, Any] = dict(p.aggregation or {})
    settings = [
        ["scenario file", f"<code>{escape(str(sf.path))}</code>"],
        [
            "horizon",
            f"{len(periods)} periods from {escape(periods[0].start)}"
            + (f", {months:g} months each" if months else "")
            + f" ({escape(periods[0].label)} to {escape(periods[-1].label)})",
        ],
        ["mode", escape(p.mode.replace("_", " "))],
        ["end of horizon", escape(problem.end_of_horizon)],
        ["early retirement", "allowed" if problem.early_retirement else "not allowed"],
        [
            "horizon capex budget",
            money(problem.total_capex_budget_usd) if problem.total_capex_budget_usd is not None else "none",
        ],
        [
            "time aggregation",
            escape(aggregation.get("summary") or f"off (exact, {aggregation.get('original_slices')} slices)"),
        ],
    ]
    if p.solver:
        s = p.solver
        settings.append(
            [
                "solver",
                f"{escape(str(s.get('backend')))} {escape(str(s.get('status')))}, MIP gap {s.get('mip_gap', 0):.2e}",
            ]
        )
    html = [
        html_table(["", "value"], stated + settings, cls="kv"),
        "<h3>Columns: how each is bought, when, at what price</h3>",
        _terms(p, problem.workloads),
    ]
    html += catalog_sources(r.catalog, [s["placed_sku"] for s in p.skus], sf.scenario.workloads)
    if p.notes:
        html.append("<h3>Notes</h3><ul>" + "".join(f"<li>{escape(n)}</li>" for n in p.notes) + "</ul>")
    return "<section><h2>Assumptions and sources</h2>" + "".join(html) + "</section>"


def render_buildout_report(r: BuildoutReportInputs) -> str:
    """The buildout report as one HTML document (no external resources)."""
    scn = r.scenario.scenario
    feasible = r.plan.status != Status.INFEASIBLE
    sections = [
        ("recommendation", "Recommendation", _recommendation(r)),
        ("schedule", "Schedule", _schedule(r) if feasible else ""),
        ("sites", "Sites", _sites(r) if feasible else ""),
        ("cost", "Cost per period", _cost(r) if feasible else ""),
        ("caps", "Caps", _caps(r) if feasible else ""),
        ("assumptions", "Assumptions", _assumptions(r)),
    ]
    return page(
        f"planner report: {scn.name} buildout",
        f"Buildout: {scn.name}",
        scn.description,
        sections,
        "Generated by <code>planner report</code> from the buildout <code>planner buildout</code> plans. "
        "Figures are recomputed from the schedule; every catalog figure cites its source above.",
    )
