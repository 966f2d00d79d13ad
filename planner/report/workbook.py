"""The recommendation you hand over: ``recommendation.xlsx`` (openpyxl) and ``recommendation.csv``.

Sheets of a plan: Summary (scenario, objective, status, cost per million tokens, total cost,
MW used of the cap, run-rate and capex against their budgets, what binds and what relaxing it
is worth, solver gap), Fleet (per SKU, and per site and procurement kind where the scenario
has them), Caps, Assumptions (catalog version and settings: pricing tier, power basis, PUE,
electricity price; then every throughput figure with its basis and band; then the catalog's
sources). A buildout adds a Schedule sheet and its Fleet sheet is per period.

Every number is a number with an Excel format (currency, MW, percentages); headers carry the
unit. ``recommendation.csv`` is the Fleet sheet, shares as fractions. Same plan, same bytes:
the workbook's timestamps are fixed.
"""

from __future__ import annotations

import hashlib
import io
import math
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from planner._version import __version__
from planner.catalog.load import scenario_catalog
from planner.economics import LEDGER_LABELS
from planner.outputs import Cell, csv_text
from planner.scenario.effects import unused_economics

if TYPE_CHECKING:  # the results the sheets are made of (imported where they are made, at run time)
    from planner.buildout.run import BuildoutPlan
    from planner.milp.problem import SiteData, SkuData
    from planner.optimize.plan import FleetPlan, SkuResult

FIXED_TIME = datetime(2000, 1, 1)  # workbook created/modified: fixed, so the same plan gives the same bytes
FORMATS = {
    "usd": '"$"#,##0',
    "usd2": '"$"#,##0.00',
    "usd4": '"$"#,##0.0000',
    "mw": "#,##0.000",
    "pct": "0.0%",
    "int": "#,##0",
    "num": "#,##0.0",
    "num3": "#,##0.000",
    "sci": "0.000E+00",
    "gap": "0.00E+00",
    "text": "@",
    "general": "General",
}


@dataclass(frozen=True)
class Col:
    """A column: its key in the rows, its header, its unit (shown in the header) and format."""

    key: str
    header: str
    unit: str = ""
    fmt: str = "general"

    def title(self, csv: bool = False) -> str:
        unit = "fraction" if csv and self.fmt == "pct" else self.unit
        return f"{self.header} [{unit}]" if unit else self.header


@dataclass(frozen=True)
class Table:
    name: str
    columns: list[Col]
    rows: list[dict[str, Cell]]  # column key -> cell
    total: dict[str, Cell] | None = None  # a bold last row (xlsx only)


@dataclass(frozen=True)
class Field:
    """A labelled value of a key-value sheet."""

    label: str
    value: Cell
    unit: str = ""
    fmt: str = "general"


# ---------------------------------------------------------------- plan sheets

PLAN_FLEET = [
    Col("sku", "SKU", fmt="text"),
    Col("family", "family", fmt="text"),
    Col("site", "site", fmt="text"),
    Col("procurement", "procurement", fmt="text"),
    Col("unit", "unit", fmt="text"),
    Col("units", "units", fmt="num"),
    Col("existing_units", "existing units", fmt="int"),
    Col("new_units", "new units", fmt="num"),
    Col("decommissioned_units", "decommissioned units", fmt="int"),
    Col("racks", "rack positions", fmt="int"),
    Col("gpus", "GPUs", fmt="int"),
    Col("power_mw", "power", "MW", "mw"),
    Col("capex_usd", "capex", "$", "usd"),
    Col("cost_usd_per_hour", "run-rate", "$/h", "usd2"),
    Col("cost_per_million_tokens", "cost per token", "$/M tokens", "usd4"),
    Col("token_share", "token share", "%", "pct"),
    Col("mean_utilization", "utilisation", "%", "pct"),
]
CAPS = [
    Col("name", "cap", fmt="text"),
    Col("field", "scenario field", fmt="text"),
    Col("unit", "unit", fmt="text"),
    Col("limit", "limit", fmt="num3"),
    Col("used", "used", fmt="num3"),
    Col("use", "used of limit", "%", "pct"),
    Col("binding", "binding", fmt="text"),
    Col("step", "relaxed by", fmt="num3"),
    Col("saving_usd", "saving over the span", "$", "usd"),
    Col("saving_usd_per_year", "saving per year per unit of cap", "$/year", "usd"),
    Col("saving_usd_per_million_tokens", "saving per token", "$/M tokens", "usd4"),
    Col("extra_tokens", "extra tokens served", "tokens", "sci"),
    Col("lp_relaxation_dual", "LP-relaxation dual", "$/year per unit", "usd"),
]
THROUGHPUT = [
    Col("sku", "SKU", fmt="text"),
    Col("workload", "workload", fmt="text"),
    Col("tokens_per_s_per_gpu", "throughput", "tokens/s per GPU", "num"),
    Col("kind", "basis", fmt="text"),
    Col("low", "band low", "tokens/s per GPU", "num"),
    Col("high", "band high", "tokens/s per GPU", "num"),
    Col("detail", "how it was obtained", fmt="text"),
]


def unit_label(gpus_per_unit: int, kind: str | None) -> str:
    return f"{gpus_per_unit}-GPU {kind or 'unit'}"


def _unit_kinds(cat) -> dict[str, str]:
    return {k: s.unit.kind for k, s in cat.skus.items()}


def _held(plan: FleetPlan) -> list[SkuResult]:
    """The SKU columns of a plan that hold units (bought or existing): the Fleet sheet's rows."""
    return [f for f in plan.fleet if f.units or f.existing_units]


def plan_fleet_rows(plan: FleetPlan, kinds: dict[str, str] | None = None) -> list[dict[str, Cell]]:
    """The Fleet sheet of a plan: one row per SKU column that holds units (bought or existing)."""
    kinds = kinds or {}
    rows = []
    for f in _held(plan):
        row: dict[str, Cell] = {c.key: getattr(f, c.key, None) for c in PLAN_FLEET}
        sku = f.placed_sku or f.sku
        row["sku"] = sku
        row["unit"] = unit_label(f.gpus_per_unit, kinds.get(sku))
        rows.append(row)
    return rows


def _plan_total(plan: FleetPlan) -> dict[str, Cell]:
    """The Fleet sheet's total row: the sums over its rows (cost per token: the plan's)."""
    held = _held(plan)
    return {
        "sku": "total",
        "gpus": float(sum(f.gpus or 0 for f in held)),
        "power_mw": float(sum(f.power_mw or 0 for f in held)),
        "capex_usd": float(sum(f.capex_usd or 0 for f in held)),
        "cost_usd_per_hour": float(sum(f.cost_usd_per_hour or 0 for f in held)),
        "cost_per_million_tokens": plan.cost_per_million_tokens,
        "token_share": float(sum(f.token_share or 0 for f in held)),
    }


def cap_rows(plan: FleetPlan) -> list[dict[str, Cell]]:
    rows = []
    for c in plan.caps:
        row: dict[str, Cell] = {col.key: getattr(c, col.key, None) for col in CAPS}
        row["use"] = c.used / c.limit if c.limit else None
        row["binding"] = {True: "yes", False: "no", None: ""}[c.binding]
        rows.append(row)
    return rows


def _kind(basis: str) -> str:
    """measured | interpolated | estimated | scenario | ...: the first word of a basis."""
    return basis.split(" ", 1)[0].split("(", 1)[0] or basis


def throughput_rows(skus: Iterable[SkuData]) -> list[dict[str, Cell]]:
    """Every throughput figure the plan rests on, with its basis and (estimates) band."""
    rows: list[dict[str, Cell]] = []
    seen: set[tuple[str, str]] = set()
    for s in skus:
        sku = s.base_id
        for w, value in s.throughput.items():
            if (sku, w) in seen:
                continue
            seen.add((sku, w))
            basis = s.throughput_basis.get(w, "")
            low, high = s.throughput_range.get(w, (None, None))
            rows.append(
                {
                    "sku": sku,
                    "workload": w,
                    "tokens_per_s_per_gpu": value,
                    "kind": _kind(basis),
                    "low": low,
                    "high": high,
                    "detail": basis,
                }
            )
    return rows


def _plan_summary(sf, plan: FleetPlan) -> list[Field]:
    s = plan.solver
    binding = ", ".join(plan.binding) or "none (no cap changes the answer)"
    worth = [
        f"{c.name} +{c.step:g} {c.unit}: saves ${c.saving_usd:,.0f} over the span"
        for c in plan.caps
        if c.step is not None and c.saving_usd
    ]
    return [
        Field("scenario", plan.scenario, fmt="text"),
        Field("scenario file", str(sf.path), fmt="text"),
        Field("objective", plan.objective, fmt="text"),
        Field("status", str(plan.status), fmt="text"),
        Field("cost per million tokens", plan.cost_per_million_tokens, "$/M tokens", "usd4"),
        Field("total cost over the span", plan.total_cost_usd, "$", "usd"),
        *(
            Field(f"  {label}", (plan.cost_breakdown_usd or {}).get(key), "$", "usd")
            for key, label in LEDGER_LABELS.items()
        ),
        Field("span", plan.span_hours, "h", "num"),
        Field("tokens demanded", plan.tokens_demanded, "tokens", "sci"),
        Field("tokens served", plan.tokens_served, "tokens", "sci"),
        Field("facility power used", plan.power_mw, "MW", "mw"),
        Field("power cap", plan.power_cap_mw, "MW", "mw"),
        Field("power used of cap", plan.power_mw / plan.power_cap_mw if plan.power_cap_mw else None, "%", "pct"),
        Field("run-rate", plan.run_rate_usd_per_hour, "$/h", "usd"),
        Field("run-rate budget", plan.budget_usd_per_hour, "$/h", "usd"),
        Field(
            "run-rate of budget",
            plan.run_rate_usd_per_hour / plan.budget_usd_per_hour if plan.budget_usd_per_hour else None,
            "%",
            "pct",
        ),
        Field("capex (new units)", plan.capex_spend_usd, "$", "usd"),
        Field("capex budget", plan.capex_budget_usd, "$", "usd"),
        Field(
            "capex of budget",
            plan.capex_spend_usd / plan.capex_budget_usd if plan.capex_budget_usd else None,
            "%",
            "pct",
        ),
        Field("binding caps", binding, fmt="text"),
        Field("what relaxing them is worth", "; ".join(worth) or "-", fmt="text"),
        Field("solver", f"{s.get('backend')} {s.get('status')}", fmt="text"),
        Field("MIP gap reached", _number(s.get("mip_gap")), "1", "gap"),
        Field("MIP gap target", _number(s.get("mip_rel_gap")), "1", "gap"),
        Field("planner version", __version__, fmt="text"),
    ]


def _number(x: Any) -> float | None:
    return float(x) if isinstance(x, int | float) and math.isfinite(x) else None


def assumption_fields(sf, sites: Sequence[SiteData] = (), extra: Sequence[Field] = ()) -> list[Field]:
    """What the run assumed, as it ran: with sites, each site's own PUE and electricity price
    (the scenario-wide ones then price nothing), else the scenario's."""
    econ = sf.scenario.economics
    cat = sf.scenario.catalog
    unused = unused_economics(sf.scenario)  # stated only where a figure used it
    if sites:
        power = [
            field
            for s in sites
            for field in (
                Field(f"PUE ({s.id})", s.pue, "1", "num3"),
                Field(f"electricity price ({s.id})", s.electricity_usd_per_kwh, "$/kWh", "usd4"),
            )
        ]
    else:
        power = [
            *([Field("PUE", econ.pue, "1", "num3")] if "pue" not in unused else []),
            *(
                [Field("electricity price", econ.electricity_usd_per_kwh, "$/kWh", "usd4")]
                if "electricity_usd_per_kwh" not in unused
                else []
            ),
        ]
    return [
        Field("catalog", "shipped (models/)" if cat is None else str(sf.resolve(cat)), fmt="text"),
        Field("catalog files SHA-256", catalog_digest(sf), fmt="text"),
        Field("scenario SHA-256", _scenario_digest(sf), fmt="text"),
        *([Field("pricing tier", econ.pricing_tier, fmt="text")] if "pricing_tier" not in unused else []),
        *([Field("power basis", econ.power_basis, fmt="text")] if "power_basis" not in unused else []),
        *power,
        Field("max utilisation", sf.scenario.constraints.max_utilization, "%", "pct"),
        *extra,
    ]


def catalog_digest(sf) -> str:
    """SHA-256 over the catalog's skus.yaml and workloads.yaml: which catalog version priced the plan."""
    from planner.resources import models_dir

    folder = models_dir() if sf.scenario.catalog is None else sf.resolve(sf.scenario.catalog)
    h = hashlib.sha256()
    for name in ("skus.yaml", "workloads.yaml"):
        h.update((Path(folder) / name).read_bytes())
    return h.hexdigest()


def _scenario_digest(sf) -> str:
    from planner.scenario.load import scenario_sha256

    return scenario_sha256(sf)


def _sources(cat, sku_ids, workloads) -> Table:
    """The catalog's sources, those a figure of the run cites first, each with what cites it ("-": none)."""
    from planner.report.html import source_uses

    uses = source_uses(cat, sku_ids, workloads)
    rows = [
        {"key": k, "citation": v, "used_by": ", ".join(sorted(set(uses.get(k, [])))) or "-"}
        for k, v in cat.sources.items()
    ]
    rows.sort(key=lambda row: row["used_by"] == "-")
    return Table(
        "Sources",
        [
            Col("key", "source", fmt="text"),
            Col("citation", "citation", fmt="text"),
            Col("used_by", "used by", fmt="text"),
        ],
        rows,
    )


def plan_workbook(sf, problem, plan, catalog=None) -> bytes:
    """recommendation.xlsx of a plan (``catalog``: the scenario's, read here when not given)."""
    cat = catalog or scenario_catalog(sf)
    rows = plan_fleet_rows(plan, _unit_kinds(cat))
    fleet = Table("Fleet", _present(PLAN_FLEET, rows), rows, _plan_total(plan) if rows else None)
    return workbook_bytes(
        [
            ("Summary", [_plan_summary(sf, plan)]),
            fleet,
            Table("Caps", CAPS, cap_rows(plan)),
            (
                "Assumptions",
                [
                    assumption_fields(sf, problem.sites),
                    Table("Throughput", THROUGHPUT, throughput_rows(problem.skus)),
                    _sources(cat, [s.base_id for s in problem.skus], sf.scenario.workloads),
                ],
            ),
        ]
    )


def plan_csv(sf, plan, catalog=None) -> str:
    """recommendation.csv: the Fleet sheet (shares as fractions)."""
    rows = plan_fleet_rows(plan, _unit_kinds(catalog or scenario_catalog(sf)))
    return table_csv(Table("Fleet", _present(PLAN_FLEET, rows), rows))


def _present(columns: list[Col], rows: list[dict[str, Cell]]) -> list[Col]:
    """Placement columns (site, procurement, racks, decommissioned) only where some row has them."""
    optional = {"site", "procurement", "racks", "decommissioned_units"}
    return [c for c in columns if c.key not in optional or any(r.get(c.key) is not None for r in rows)]


def table_csv(table: Table) -> str:
    return csv_text(
        [{c.title(csv=True): r.get(c.key) for c in table.columns} for r in table.rows],
        [c.title(csv=True) for c in table.columns],
    )


# ---------------------------------------------------------------- buildout sheets

BUILDOUT_FLEET = [
    Col("period", "period", fmt="text"),
    Col("sku", "SKU", fmt="text"),
    Col("site", "site", fmt="text"),
    Col("procurement", "procurement", fmt="text"),
    Col("unit", "unit", fmt="text"),
    Col("installed", "installed units", fmt="int"),
    Col("bought", "bought units", fmt="int"),
    Col("retired", "retired units", fmt="int"),
    Col("gpus", "GPUs", fmt="int"),
    Col("power_mw", "power", "MW", "mw"),
    Col("capex_usd", "capex", "$", "usd"),
    Col("token_share", "token share", "%", "pct"),
]
SCHEDULE = [
    Col("period", "period", fmt="text"),
    Col("start", "start", fmt="text"),
    Col("power_mw", "power", "MW", "mw"),
    Col("power_cap_mw", "power cap", "MW", "mw"),
    Col("capex_usd", "capex", "$", "usd"),
    Col("capex_budget_usd", "capex budget", "$", "usd"),
    *(Col(f"ledger_{key}", label, "$", "usd") for key, label in LEDGER_LABELS.items()),  # the parts of cost
    Col("cost_usd", "cost", "$", "usd"),
    Col("discounted_cost_usd", "present value", "$", "usd"),
    Col("tokens", "tokens", "tokens", "sci"),
    Col("cost_per_million_tokens", "cost per token", "$/M tokens", "usd4"),
    Col("at_limit", "caps at their limit", fmt="text"),
]
BUILDOUT_CAPS = [
    Col("period", "period", fmt="text"),
    Col("cap", "cap", fmt="text"),
    Col("unit", "unit", fmt="text"),
    Col("limit", "limit", fmt="num3"),
    Col("used", "used", fmt="num3"),
    Col("use", "used of limit", "%", "pct"),
    Col("at_limit", "at its limit", fmt="text"),
]


def buildout_fleet_rows(plan: BuildoutPlan, kinds: dict[str, str] | None = None) -> list[dict[str, Cell]]:
    """One row per period and SKU column with units installed, bought or retired."""
    kinds = kinds or {}
    info = {s["sku"]: s for s in plan.skus}
    rows: list[dict[str, Cell]] = []
    for p, r in enumerate(plan.periods):
        for col, n in r.fleet.items():
            if not (n or r.purchases[col] or r.retirements[col]):
                continue
            s = info.get(col, {})
            capex = s.get("capex_usd_per_gpu")
            per_gpu = capex[p] if isinstance(capex, list) and p < len(capex) else None
            gpus_per_unit = s.get("gpus_per_unit") or (r.gpus[col] / n if n else None)
            sku = s.get("placed_sku") or col
            rows.append(
                {
                    "period": r.period,
                    "sku": sku,
                    "site": s.get("site"),
                    "procurement": s.get("procurement"),
                    "unit": unit_label(int(gpus_per_unit), kinds.get(sku)) if gpus_per_unit else "",
                    "installed": n,
                    "bought": r.purchases[col],
                    "retired": r.retirements[col],
                    "gpus": r.gpus[col],
                    "power_mw": r.gpus[col] * s.get("facility_kw_per_gpu", 0.0) / 1000.0,
                    # no purchase price (reserved, on-demand): no capex, as in a plan's fleet
                    "capex_usd": r.purchases[col] * gpus_per_unit * per_gpu
                    if per_gpu is not None and gpus_per_unit and math.isfinite(per_gpu)
                    else 0.0,
                    "token_share": r.token_share_by_sku.get(col, 0.0),
                }
            )
    return rows


def buildout_cap_rows(plan: BuildoutPlan) -> list[dict[str, Cell]]:
    rows: list[dict[str, Cell]] = []
    for r in plan.periods:
        for cap, unit, limit, used in (
            ("power_cap", "MW", r.power_cap_mw, r.power_mw),
            ("capex_cap", "$", r.capex_budget_usd, r.capex_usd),
        ):
            if limit is None:
                continue
            rows.append(
                {
                    "period": r.period,
                    "cap": cap,
                    "unit": unit,
                    "limit": limit,
                    "used": used,
                    "use": used / limit if limit else None,
                    "at_limit": "yes" if cap in r.at_limit else "no",
                }
            )
        for site in r.sites:
            for kind, label, unit, used, limit in (
                ("site_power", "power_cap", "MW", site["power_mw"], site["power_cap_mw"]),
                ("rack_positions", "rack_positions", "racks", site["racks"], site["rack_positions"]),
                ("liquid_cooling", "liquid_cooling", "MW", site["liquid_mw"], site["liquid_cooling_mw"]),
            ):
                if limit is None:
                    continue
                rows.append(
                    {
                        "period": r.period,
                        "cap": f"{label}@{site['site']}",
                        "unit": unit,
                        "limit": limit,
                        "used": used,
                        "use": used / limit if limit else None,
                        "at_limit": "yes" if kind in site.get("at_limit", []) else "no",
                    }
                )
    return rows


def _buildout_summary(sf, plan: BuildoutPlan) -> list[Field]:
    t = plan.totals
    s = plan.solver
    last = plan.periods[-1] if plan.periods else None
    return [
        Field("scenario", plan.scenario, fmt="text"),
        Field("scenario file", str(sf.path), fmt="text"),
        Field("mode", plan.mode, fmt="text"),
        Field("status", str(plan.status), fmt="text"),
        Field("periods", t.get("periods"), "periods", "int"),
        Field("cost per million tokens over the horizon", t.get("cost_per_million_tokens"), "$/M tokens", "usd4"),
        Field("total cost", t.get("cost_usd"), "$", "usd"),
        *(
            Field(f"  {label}", (t.get("cost_breakdown_usd") or {}).get(key), "$", "usd")
            for key, label in LEDGER_LABELS.items()
        ),
        Field("present value", t.get("present_value_usd"), "$", "usd"),
        Field("tokens delivered", t.get("tokens"), "tokens", "sci"),
        Field("capex over the horizon", t.get("capex_usd"), "$", "usd"),
        Field("capex budget over the horizon", t.get("total_capex_budget_usd"), "$", "usd"),
        Field(
            "capex of budget",
            t["capex_usd"] / t["total_capex_budget_usd"] if t.get("total_capex_budget_usd") else None,
            "%",
            "pct",
        ),
        Field("power in the last period", last.power_mw if last else None, "MW", "mw"),
        Field("power cap in the last period", last.power_cap_mw if last else None, "MW", "mw"),
        Field(
            "caps at their limit",
            "; ".join(f"{r.period}: {', '.join(r.at_limit_caps)}" for r in plan.periods if r.at_limit) or "none",
            fmt="text",
        ),
        Field("solver", f"{s.get('backend')} {s.get('status')}", fmt="text"),
        Field("MIP gap reached", _number(s.get("mip_gap")), "1", "gap"),
        Field("MIP gap target", _number(s.get("mip_rel_gap")), "1", "gap"),
        Field("planner version", __version__, fmt="text"),
    ]


def _schedule_rows(plan: BuildoutPlan) -> list[dict[str, Cell]]:
    return [
        {
            **{c.key: getattr(r, c.key, None) for c in SCHEDULE},
            **{f"ledger_{k}": v for k, v in (r.cost_breakdown_usd or {}).items()},
            "at_limit": ", ".join(r.at_limit_caps) or "-",
        }
        for r in plan.periods
    ]


def buildout_assumption_fields(sf, sites: Sequence[SiteData] = ()) -> list[Field]:
    """A buildout's assumptions as it ran (``assumption_fields``), with the discount rate it used
    (``planner.buildout.problem.discount_rate``: the economics' when given, else the buildout's)."""
    from planner.buildout.problem import discount_rate

    extra = [Field("discount rate", discount_rate(sf.scenario), "1/year", "pct")] if sf.scenario.buildout else []
    return assumption_fields(sf, sites, extra)


def buildout_workbook(sf, skus, plan, catalog=None, sites: Sequence[SiteData] = ()) -> bytes:
    """recommendation.xlsx of a buildout (``skus``: the SkuData its columns were built from;
    ``sites``: the resolved sites)."""
    cat = catalog or scenario_catalog(sf)
    rows = buildout_fleet_rows(plan, _unit_kinds(cat))
    return workbook_bytes(
        [
            ("Summary", [_buildout_summary(sf, plan)]),
            Table("Fleet", _present(BUILDOUT_FLEET, rows), rows),
            Table("Schedule", SCHEDULE, _schedule_rows(plan)),
            Table("Caps", BUILDOUT_CAPS, buildout_cap_rows(plan)),
            (
                "Assumptions",
                [
                    buildout_assumption_fields(sf, sites),
                    Table("Throughput", THROUGHPUT, throughput_rows(skus)),
                    _sources(cat, [s.base_id for s in skus], sf.scenario.workloads),
                ],
            ),
        ]
    )


def buildout_csv(sf, plan, catalog=None) -> str:
    rows = buildout_fleet_rows(plan, _unit_kinds(catalog or scenario_catalog(sf)))
    return table_csv(Table("Fleet", _present(BUILDOUT_FLEET, rows), rows))


def recommendation_files(
    sf, plan, out_dir: Path, *, problem=None, skus=None, sites: Sequence[SiteData] = ()
) -> dict[Path, str | bytes]:
    """recommendation.xlsx and recommendation.csv of a plan (give ``problem``) or a buildout (give
    ``skus`` and its ``sites``), the scenario's catalog read once."""
    cat = scenario_catalog(sf)
    if problem is not None:
        xlsx, csv = plan_workbook(sf, problem, plan, cat), plan_csv(sf, plan, cat)
    else:
        xlsx, csv = buildout_workbook(sf, skus, plan, cat, sites), buildout_csv(sf, plan, cat)
    return {out_dir / "recommendation.xlsx": xlsx, out_dir / "recommendation.csv": csv}


# ---------------------------------------------------------------- writing


def _cell_value(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, bool):
        return "yes" if v else "no"
    if hasattr(v, "item"):  # numpy scalar
        return v.item()
    return v


def workbook_bytes(sheets: list) -> bytes:
    """An xlsx of ``sheets``: a Table (one table), or ``(title, parts)`` with parts a list of
    Field lists (item / value / unit rows) and Tables, one under the other, each after the first
    under a bold title. Stable bytes."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    bold = Font(bold=True)

    def header(ws, row: int, titles: list[str]) -> None:
        for j, text in enumerate(titles, start=1):
            ws.cell(row=row, column=j, value=text).font = bold

    def table(ws, t: Table, row: int) -> int:
        header(ws, row, [c.title() for c in t.columns])
        body = [*t.rows, *([t.total] if t.total else [])]
        for i, r in enumerate(body, start=row + 1):
            for j, c in enumerate(t.columns, start=1):
                cell = ws.cell(row=i, column=j, value=_cell_value(r.get(c.key)))
                cell.number_format = FORMATS[c.fmt]
                if t.total is not None and i == row + len(body):
                    cell.font = bold
        return row + len(body) + 1

    def fields(ws, items: list[Field], row: int) -> int:
        header(ws, row, ["item", "value", "unit"])
        for i, f in enumerate(items, start=row + 1):
            ws.cell(row=i, column=1, value=f.label)
            cell = ws.cell(row=i, column=2, value=_cell_value(f.value))
            cell.number_format = FORMATS[f.fmt]
            ws.cell(row=i, column=3, value=f.unit)
        return row + len(items) + 1

    for sheet in sheets:
        if isinstance(sheet, Table):
            ws = wb.create_sheet(sheet.name)
            table(ws, sheet, 1)
            if sheet.rows:
                ws.auto_filter.ref = f"A1:{get_column_letter(len(sheet.columns))}{len(sheet.rows) + 1}"
            widths = [max(len(c.title()), 10) for c in sheet.columns]
        else:
            title, parts = sheet
            ws = wb.create_sheet(title)
            row, widths = 1, []
            for k, part in enumerate(parts):
                if k:
                    row += 1  # a blank row, then the part's title
                    ws.cell(row=row, column=1, value=part.name if isinstance(part, Table) else "").font = bold
                    row += 1
                if isinstance(part, Table):
                    row = table(ws, part, row)
                    w = [max(len(c.title()), 10) for c in part.columns]
                else:
                    row = fields(ws, part, row)
                    w = [max(len(f.label) for f in part) + 2, 24, 12]
                widths = [max(a, b) for a, b in zip(widths + [0] * len(w), w + [0] * len(widths), strict=False)]
        ws.freeze_panes = "A2"
        for j, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(j)].width = min(width + 2, 60)
    wb.properties.creator = f"planner {__version__}"
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    buf = io.BytesIO()
    wb.save(buf)
    return _stable_zip(buf.getvalue())


def _stable_zip(data: bytes) -> bytes:
    """The same archive with every entry dated 1980-01-01 and the modified time fixed (openpyxl
    stamps the save time), so the same plan writes the same bytes."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = _fix_modified(body)
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            dst.writestr(fixed, body)
    return out.getvalue()


def _fix_modified(xml: bytes) -> bytes:
    import re

    stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    return re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)", rb"\g<1>" + stamp + rb"\g<2>", xml)
