"""One self-contained HTML report: the recommendation and everything behind it.

Sections: recommendation; fleet; cost per token (and the best single-SKU fleets); caps used
and their marginal values; load against capacity; sweep frontiers (when sweep results are
given); validation results (when given); assumptions with their sources. The page, its
style and cells are ``planner.report.page`` (shared with the buildout report,
``planner.report.buildout_html``): charts embedded, nothing loaded from the network.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from pydantic import BaseModel

from planner.catalog.load import Catalog, scenario_catalog
from planner.economics import LEDGER_LABELS
from planner.errors import ScenarioError
from planner.inputs import read_json
from planner.milp.problem import FleetProblem
from planner.milp.status import Status
from planner.optimize.plan import FleetPlan
from planner.report.page import chart_figure, html_table, money, number_cell, page, plain, render_json
from planner.scenario.effects import unused_economics
from planner.scenario.load import ScenarioFile, load_scenario

if TYPE_CHECKING:
    import numpy as np
    from pydantic import JsonValue

    from planner.scenario.schema import WorkloadEntry

SWEEP_TABLE_MAX_ROWS = 200


@dataclass(frozen=True)
class SweepResults:
    """A sweep table read back from `planner sweep --out/--json`."""

    table: pd.DataFrame
    paths: list[str]
    source: str
    scenario: str | None = None
    scenario_sha256: str | None = None  # the document's record of the scenario swept (JSON only)


@dataclass(frozen=True)
class ReportInputs:
    scenario: ScenarioFile
    problem: FleetProblem
    plan: FleetPlan
    catalog: Catalog
    sweep: SweepResults | None = None
    validation: Any = None
    validation_source: str | None = None
    extra_charts: dict[str, bytes] = field(default_factory=dict)


# ---- reading inputs ------------------------------------------------------------------------


def read_sweep_results(path: Path) -> SweepResults:
    """A sweep table from CSV, Parquet or the `--json` document of `planner sweep`.

    Swept paths: the JSON document's ``params``; in a table, the columns between ``point``
    and ``status`` (the order `planner sweep` writes).
    """
    path = Path(path)
    if not path.exists():
        raise ScenarioError(f"sweep results file not found: {path}")
    suffix = path.suffix.lower()
    scenario = sha = None
    try:
        if suffix == ".json":
            doc = read_json(path, "sweep results file")
            if not isinstance(doc, dict) or "rows" not in doc or "params" not in doc:
                raise ScenarioError(
                    f"{path}: not a `planner sweep --json` document (expected keys 'params' and 'rows')"
                )
            df = pd.DataFrame(doc["rows"])
            paths = [p["path"] for p in doc["params"]]
            scenario = doc.get("scenario")
            sha = doc.get("scenario_sha256") or None
        elif suffix == ".csv":
            df = pd.read_csv(path)
            paths = []
        elif suffix == ".parquet":
            df = pd.read_parquet(path)
            paths = []
        else:
            raise ScenarioError(f"{path}: sweep results must be .csv, .parquet or .json (from planner sweep)")
    except (OSError, ValueError, ImportError) as exc:
        raise ScenarioError(f"cannot read sweep results {path}: {exc}") from None
    cols = list(df.columns)
    missing = [
        c for c in ("point", "status", "cost_per_million_tokens", "total_cost_usd", "span_hours") if c not in cols
    ]
    if missing:
        raise ScenarioError(
            f"{path}: not a planner sweep table: missing column(s) {', '.join(missing)} (write one with planner sweep --out)"
        )
    if not paths:
        paths = cols[cols.index("point") + 1 : cols.index("status")]
    for c in ("status", "caps_at_limit", "diagnosis"):
        if c in df.columns:
            df[c] = df[c].fillna("").astype(str)
    return SweepResults(df, paths, str(path), scenario, sha)


def document_mismatches(
    sf: ScenarioFile, validation: dict[str, JsonValue] | None, sweep: SweepResults | None
) -> list[str]:
    """How the validation and sweep documents differ from the report's scenario (name and content
    hash); empty when they belong together. A document without a hash (older) is checked by name."""
    from planner.scenario.load import scenario_sha256

    name, sha = sf.scenario.name, scenario_sha256(sf)
    out = []
    if validation is not None:
        doc_name, doc_sha = validation.get("scenario"), validation.get("scenario_sha256") or None
        if doc_name != name or (doc_sha is not None and doc_sha != sha):
            out.append(
                f"the validation document is of scenario '{doc_name}' (sha256 {(doc_sha or 'not recorded')[:12]}), "
                f"the report's is '{name}' (sha256 {sha[:12]})"
            )
    if sweep is not None and sweep.scenario_sha256 is not None and sweep.scenario_sha256 != sha:
        out.append(
            f"the sweep document is of {sweep.scenario} (sha256 {sweep.scenario_sha256[:12]}), "
            f"the report's scenario is '{name}' from {sf.path} (sha256 {sha[:12]})"
        )
    return out


VALIDATION_KEYS = ("slo_attainment", "realized_cost_per_million_tokens")


def _looks_like(doc: Any) -> str:
    """What a JSON document that is not a validation document seems to be."""
    if not isinstance(doc, dict):
        return f"a JSON {type(doc).__name__}, not an object"
    keys = set(doc)
    if {"params", "rows"} <= keys:
        return "`planner sweep --json` results: give them as SOURCE or --sweep"
    if {"fleet", "cost_per_million_tokens"} <= keys:
        return "a `planner plan --json` document"
    if "periods" in keys:
        return "a `planner buildout --json` document"
    shown = ", ".join(sorted(keys)[:8]) + (", ..." if len(keys) > 8 else "")
    return f"a JSON object with keys {shown or '(none)'}"


def read_validation(path: Path) -> dict[str, JsonValue]:
    """The `planner validate --json` document (anything else is a ScenarioError saying what
    the file looks like and which keys are missing)."""
    path = Path(path)
    doc = read_json(path, "validation file")
    missing = [k for k in VALIDATION_KEYS if not isinstance(doc, dict) or k not in doc]
    if missing:
        raise ScenarioError(
            f"--validation {path}: not a `planner validate --json` document: missing key(s) "
            f"{', '.join(missing)}; it looks like {_looks_like(doc)}. "
            "Write one with `planner validate --json > validation.json`"
        )
    from planner.doccheck import check_document
    from planner.validate.metrics import FleetSimResult

    check_document("validation", FleetSimResult, doc, f"--validation {path}")
    return doc


def report_inputs(
    scenario: ScenarioFile | Path | str | None = None,
    sweep: SweepResults | None = None,
    validation: Any = None,
    validation_source: str | None = None,
) -> ReportInputs:
    """Plan the scenario (with marginal values) and gather what the report shows."""
    from planner.optimize.bands import planned
    from planner.optimize.problem import scenario_problem

    sf = scenario if isinstance(scenario, ScenarioFile) else load_scenario(scenario)
    problem = scenario_problem(sf)
    plan = planned(sf, problem, explain=True)
    cat = scenario_catalog(sf)
    return ReportInputs(sf, problem, plan, cat, sweep, validation, validation_source)


# ---- HTML helpers --------------------------------------------------------------------------


def _sourced_figures(obj: Any, path: str = "") -> list[tuple[str, Any, str]]:
    """(field path, value, source key) of every sourced figure inside a catalog entry."""
    out: list[tuple[str, Any, str]] = []
    if isinstance(obj, BaseModel):
        source = getattr(obj, "source", None)
        if isinstance(source, str) and hasattr(obj, "value"):
            out.append((path, obj.value, source))
        for name in type(obj).model_fields:
            if name in ("source", "value", "points"):
                continue
            out += _sourced_figures(getattr(obj, name), f"{path}.{name}" if path else name)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            out += _sourced_figures(v, f"{path}.{k}")
    return out


# ---- sections ------------------------------------------------------------------------------


def _recommendation(r: ReportInputs) -> str:
    p = r.plan
    if p.status == Status.INFEASIBLE:
        summary = p.reason.summary if p.reason else "no fleet satisfies the constraints"
        return (
            '<section class="callout bad"><h2>Recommendation</h2>'
            f"<p><b>No fleet fits this scenario.</b> {escape(summary)}</p>"
            f"<details open><summary>Diagnosis</summary>{render_json(asdict(p.reason) if p.reason else {})}</details></section>"
        )
    chosen = [f for f in p.fleet if f.units > 0]
    buy = [f for f in chosen if f.new_units > 0]
    parts = ", ".join(
        f"{f.new_units * f.gpus_per_unit:,.0f} GPUs of {escape(f.sku)} on demand at the busiest hour"
        if f.procurement == "on_demand"  # continuous: GPUs, not a count of units
        else f"{f.new_units:,} × {escape(f.sku)} ({f.new_units * f.gpus_per_unit:,} GPUs)"
        for f in buy
    )
    keep = ", ".join(f"{f.existing_units:,} × {escape(f.sku)}" for f in chosen if f.existing_units > 0)
    cap = f" of the {p.power_cap_mw:g} MW cap" if p.power_cap_mw else ""
    lines = [
        f"<p class=big><b>{money(p.cost_per_million_tokens, 4)}</b> per million tokens</p>",
        f"<p>Deploy {parts or 'no new units'}" + (f", keeping {keep}" if keep else "") + ". "
        f"The fleet draws {p.power_mw:.3f} MW{cap} and costs {money(p.run_rate_usd_per_hour)}/h; "
        f"it serves {p.tokens_served / max(p.tokens_demanded, 1e-12):.1%} of the {p.tokens_demanded:.4g} tokens "
        f"demanded over {p.span_hours:g} h (objective <code>{escape(p.objective)}</code>, status "
        f"<code>{escape(p.status)}</code>).</p>",
    ]
    if p.binding:
        lines.append(f"<p>Binding: {escape(', '.join(p.binding))}.</p>")
    feasible = [s for s in p.single_sku if s.get("total_cost_usd") is not None]
    if feasible and p.mix_saving_usd is not None:
        best = min(feasible, key=lambda s: s["total_cost_usd"])
        lines.append(
            f"<p>The best single-SKU fleet ({escape(best['sku'])}) costs {money(best['cost_per_million_tokens'], 4)} "
            f"per million tokens; the mix saves {money(p.mix_saving_usd)} over the span.</p>"
        )
    elif p.single_sku:
        lines.append("<p>No single SKU can serve this demand within the caps: the mix is necessary.</p>")
    return '<section class="callout"><h2>Recommendation</h2>' + "".join(lines) + "</section>"


def _fleet(r: ReportInputs) -> str:
    rows = []
    for f in r.plan.fleet:
        units, gpus, held = f.shown()
        rows.append(
            [
                "★" if f.units > 0 else "",
                f"<b>{escape(f.sku)}</b>" if f.units > 0 else escape(f.sku),
                escape(f.family),
                units,
                gpus,
                held.replace("+", " + "),
                number_cell(f.power_mw),
                money(f.cost_usd_per_hour),
                f"{f.token_share:.1%}",
                f"{f.mean_utilization:.1%}",
            ]
        )
    table = html_table(
        ["", "SKU", "family", "units", "GPUs", "existing + new", "MW", "$/h", "token share", "mean utilisation"],
        rows,
        numeric={3, 4, 5, 6, 7, 8, 9},
    )
    return f"<section><h2>Fleet</h2>{table}</section>"


PLAN_LEDGER_NOTES = {  # what each line of a plan's ledger is (zero lines are not shown)
    "fixed": "$/GPU-hour for every deployed GPU",
    "reserved": "reserved GPUs, every hour",
    "energy": "SKUs billed for electricity",
    "on_demand": "on-demand busy GPU-hours",
    "decommissioning": "existing units retired",
}


def _cost(r: ReportInputs) -> str:
    p = r.plan
    rows = [
        ["cost per million tokens", money(p.cost_per_million_tokens, 4)],
        ["total cost over the span", money(p.total_cost_usd)],
        *(  # the ledger: its lines add up to the total
            [f"  {LEDGER_LABELS[key]}" + (f" ({PLAN_LEDGER_NOTES[key]})" if key in PLAN_LEDGER_NOTES else ""), money(v)]
            for key, v in (p.cost_breakdown_usd or {}).items()
            if v
        ),
        ["tokens demanded / served", f"{p.tokens_demanded:.4g} / {p.tokens_served:.4g}"],
        ["span", f"{p.span_hours:g} h in {p.slices} slices"],
        ["run-rate", money(p.run_rate_usd_per_hour) + "/h"],
        ["capex of new units", money(p.capex_spend_usd)],
    ]
    html = html_table(["", "value"], [[escape(a), b] for a, b in rows], numeric={1})
    if p.single_sku:
        srows = [
            [
                escape(s["sku"]),
                escape(s["status"]),
                number_cell(s.get("units")),
                money(s.get("cost_per_million_tokens"), 4) if s.get("cost_per_million_tokens") is not None else "-",
                money(s.get("total_cost_usd")) if s.get("total_cost_usd") is not None else "-",
                number_cell(s.get("power_mw")),
            ]
            for s in p.single_sku
        ]
        html += "<h3>Single-SKU alternatives</h3>" + html_table(
            ["only new units of", "status", "units", "$/M tokens", "total cost", "MW"], srows, numeric={2, 3, 4, 5}
        )
    return f"<section><h2>Cost per token</h2>{html}</section>"


def _caps(r: ReportInputs) -> str:
    p = r.plan
    if not p.caps:
        return "<section><h2>Caps and marginal values</h2><p>The scenario sets no power, budget or capex cap.</p></section>"
    per = {
        "power_cap": "per MW-year",
        "site_power": "per MW-year",
        "liquid_cooling": "per MW-year",
        "rack_positions": "per position-year",
        "supply": "per unit-year",
        "quota": "per GPU-year",
        "budget_cap": "per $/h-year",
        "capex_cap": "per year",
    }
    rows = []
    for c in p.caps:
        rows.append(
            [
                f"<code>{escape(c.name)}</code>",
                f"{number_cell(c.limit)} {escape(c.unit)}",
                f"{number_cell(c.used)} {escape(c.unit)}",
                f"{c.used / c.limit:.1%}" if c.limit else "n/a",
                "yes" if c.binding else ("no" if c.binding is not None else "n/a"),
                f"+{number_cell(c.step)} {escape(c.unit)}" if c.step is not None else "-",
                money(c.saving_usd) if c.saving_usd is not None else "-",
                (money(c.saving_usd_per_year) + " " + per[c.kind or c.name])
                if c.saving_usd_per_year is not None
                else "-",
                number_cell(c.lp_relaxation_dual) if c.lp_relaxation_dual is not None else "-",
            ]
        )
    table = html_table(
        [
            "cap",
            "limit",
            "used",
            "share",
            "binding",
            "relaxed by",
            "saving over span",
            "marginal value",
            "LP-relaxation dual",
        ],
        rows,
        numeric={1, 2, 3, 5, 6, 7, 8},
    )
    note = (
        "<p class=note>Marginal values come from re-solving the whole MILP with the cap relaxed by the step "
        "shown; LP-relaxation duals (units continuous) are shown beside, for reference only.</p>"
    )
    return f"<section><h2>Caps and marginal values</h2>{table}{note}</section>"


def _load(r: ReportInputs) -> str:
    from planner.optimize.problem import solver_options
    from planner.report.charts import load_vs_capacity_chart

    if r.plan.status == Status.INFEASIBLE or r.plan.dispatch is None:
        return "<section><h2>Load against capacity</h2><p>No fleet: nothing to compare the load with.</p></section>"
    png = load_vs_capacity_chart(r.problem, r.plan, solver_options(r.scenario.scenario))
    return (
        "<section><h2>Load against capacity</h2>"
        + chart_figure(
            "load_vs_capacity", png, "Demand per slice against what the fleet can serve at each slice's workload mix"
        )
        + "</section>"
    )


def _sweep(r: ReportInputs) -> str:
    from planner.sweep.frontier import frontier_charts, sku_ids

    s = r.sweep
    if s is None:
        return ""
    df = s.table
    charts = frontier_charts(df, s.paths)
    counts = df["status"].value_counts().to_dict()
    html = [
        f"<p>{len(df)} points from <code>{escape(s.source)}</code>, sweeping "
        + ", ".join(f"<code>{escape(p)}</code>" for p in s.paths)
        + "; "
        + ", ".join(f"{n} {escape(k)}" for k, n in sorted(counts.items()))
        + ".</p>"
    ]
    for name, png in charts.items():
        html.append(chart_figure(name, png, f"Frontier along {name[len('frontier_') : -4]}"))
    skus = sku_ids(df)
    rows = []
    for rec in df.head(SWEEP_TABLE_MAX_ROWS).to_dict(orient="records"):
        ok = rec["status"] in (Status.OPTIMAL, Status.TIME_LIMIT)
        fleet = ", ".join(
            f"{escape(k)} {int(rec[f'units.{k}'])}"
            for k in skus
            if ok and pd.notna(rec[f"units.{k}"]) and rec[f"units.{k}"]
        )
        rows.append(
            [
                *(escape(plain(rec[p])) for p in s.paths),
                escape(rec["status"]),
                money(rec["cost_per_million_tokens"], 4) if ok else "-",
                number_cell(rec.get("power_mw")) if ok else "-",
                (money(rec.get("run_rate_usd_per_hour")) + "/h") if ok else "-",
                fleet or "-",
                escape(rec.get("caps_at_limit", "") or "") if ok else escape(str(rec.get("diagnosis", ""))[:160]),
            ]
        )
    n = len(s.paths)
    html.append(
        html_table(
            [*s.paths, "status", "$/M tokens", "MW", "run-rate", "fleet (units)", "at limit / diagnosis"],
            rows,
            numeric={n + 1, n + 2, n + 3},
        )
    )
    if len(df) > SWEEP_TABLE_MAX_ROWS:
        html.append(f"<p class=note>First {SWEEP_TABLE_MAX_ROWS} of {len(df)} points shown.</p>")
    return "<section><h2>Sweep frontiers</h2>" + "".join(html) + "</section>"


def _share(v: Any, digits: int = 2) -> str:
    return f"{v:.{digits}%}" if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else "n/a"


def _seconds(v: Any) -> str:
    return f"{number_cell(v)} s" if isinstance(v, (int, float)) and not isinstance(v, bool) else "n/a"


def _gpus_down(doc: dict[str, JsonValue]) -> tuple[np.ndarray, dict[str, np.ndarray]] | None:
    """(hours, GPUs down per SKU) when the validation document (as read) carries them as equal-length arrays."""
    import numpy as np

    down = doc.get("unavailable_gpus")
    if not isinstance(down, dict) or not down:
        return None
    try:
        series = {str(k): np.asarray(v, dtype=float) for k, v in down.items()}
    except (TypeError, ValueError):
        return None
    lengths = {a.shape for a in series.values()}
    if len(lengths) != 1 or len(next(iter(lengths))) != 1 or next(iter(lengths))[0] == 0:
        return None
    n = next(iter(lengths))[0]
    try:
        hours = np.asarray(doc.get("slice_hours") or [], dtype=float)
    except (TypeError, ValueError):
        hours = np.asarray([])
    if hours.shape != (n,):
        hours = np.arange(n, dtype=float)
    return hours, series


def _accounting_row(acc: Any) -> list[str] | None:
    """tokens demanded = served + dropped + backlog, from a validation document's accounting."""
    tok = acc.get("total", {}).get("tokens") if isinstance(acc, dict) else None
    if not isinstance(tok, dict) or not all(isinstance(tok.get(k), int) for k in ("served", "dropped", "backlog")):
        return None
    return [
        "tokens served / dropped / backlog",
        f"{tok['served']:.4g} / {tok['dropped']:.4g} / {tok['backlog']:.4g}",
        "of the tokens demanded: served, gave up, still queued at the end",
    ]


def _validation(r: ReportInputs) -> str:
    from planner.report.charts import gpus_down_chart

    v = r.validation
    if v is None:
        return ""
    src = f" from <code>{escape(r.validation_source)}</code>" if r.validation_source else ""
    about = [f"scenario <code>{escape(str(v['scenario']))}</code>"] if v.get("scenario") else []
    about += [f"seed {number_cell(v['seed'])}"] if v.get("seed") is not None else []
    about += ["with failures"] if v.get("failures") else []
    html = [f"<p>Simulated replay of the plan{src}" + (f" ({', '.join(about)})" if about else "") + ".</p>"]
    if v.get("scenario") and v["scenario"] != r.scenario.scenario.name:
        html.append(
            f"<p class=note>This validation is of scenario <code>{escape(str(v['scenario']))}</code>; "
            f"the report plans <code>{escape(r.scenario.scenario.name)}</code>.</p>"
        )
    targets = v.get("targets") or {}
    slo = "share of requests queued at most " + (
        _seconds(targets["max_queue_delay_s"]) if "max_queue_delay_s" in targets else "the target delay"
    )
    planned, realized = v.get("planned_cost_per_million_tokens"), v["realized_cost_per_million_tokens"]
    gap = (
        f" ({(realized - planned) / planned:+.2%} against plan)"
        if isinstance(planned, (int, float)) and isinstance(realized, (int, float)) and planned
        else ""
    )
    rows = [
        ["SLO attainment", _share(v["slo_attainment"]), escape(slo)],
        ["SLO attainment in the peak windows", _share(v.get("peak_slo_attainment")), "request-level simulation"]
        if "peak_slo_attainment" in v
        else None,
        [
            "served fraction",
            _share(v.get("served_fraction"), 3),
            "tokens served / demanded"
            + (f" (requests give up after {_seconds(targets['patience_s'])})" if "patience_s" in targets else ""),
        ],
        _accounting_row(v.get("accounting")),
        ["realised $/M tokens", money(realized, 4) if isinstance(realized, (int, float)) else "n/a", escape(gap)],
        ["planned $/M tokens", money(planned, 4) if isinstance(planned, (int, float)) else "n/a", "from the plan"],
        [
            "realised cost",
            money(v["realized_cost_usd"]) if isinstance(v.get("realized_cost_usd"), (int, float)) else "n/a",
            "",
        ],
    ]
    html.append(html_table(["", "value", ""], [row for row in rows if row is not None], numeric={1}))
    delay = v.get("queue_delay_s")
    if isinstance(delay, dict) and delay:
        html.append("<h3>Queueing delay</h3>")
        html.append(html_table(list(delay), [[_seconds(x) for x in delay.values()]], numeric=set(range(len(delay)))))
    util = v.get("utilization") if isinstance(v.get("utilization"), dict) else {}
    avail = v.get("availability") if isinstance(v.get("availability"), dict) else {}
    rel = v.get("reliability") if isinstance(v.get("reliability"), dict) else {}
    skus = list(dict.fromkeys([*util, *avail]))
    if skus:
        headers = ["SKU", "utilisation"]
        if avail:
            headers += ["availability expected", "availability simulated"]
        if rel:
            headers += ["failures"]
        srows = []
        for s in skus:
            a = avail.get(s) if isinstance(avail.get(s), dict) else {}
            row = [escape(s), _share(util.get(s), 1)]
            if avail:
                row += [_share(a.get("expected"), 3), _share(a.get("simulated"), 3)]
            if rel:
                row += [number_cell((rel.get(s) or {}).get("failures")) if isinstance(rel.get(s), dict) else "-"]
            srows.append(row)
        html.append("<h3>Per SKU</h3>")
        html.append(html_table(headers, srows, numeric=set(range(1, len(headers)))))
    down = _gpus_down(v)
    if down is not None:
        hours, series = down
        html.append(
            chart_figure(
                "gpus_down", gpus_down_chart(hours, series), "GPUs down (failures and maintenance) over time, per SKU"
            )
        )
    windows = [w for w in v.get("windows") or [] if isinstance(w, dict)]
    if windows:
        wrows = [
            [
                number_cell(w.get("hour")),
                number_cell(w.get("requests")),
                _share(w.get("slo_attainment")),
                _share(w.get("analytic_slo_attainment")),
                _share(w.get("served_fraction"), 3),
                _seconds((w.get("queue_delay_s") or {}).get("p99")),
            ]
            for w in windows
        ]
        html.append("<h3>Request-level windows</h3>")
        html.append(
            html_table(
                ["hour", "requests", "SLO attainment", "analytic", "served", "p99 queueing delay"],
                wrows,
                numeric={0, 1, 2, 3, 4, 5},
            )
        )
    notes = [n for n in v.get("notes") or [] if isinstance(n, str)]
    if notes:
        html.append("<ul>" + "".join(f"<li>{escape(n)}</li>" for n in notes) + "</ul>")
    return "<section><h2>Validation</h2>" + "".join(html) + "</section>"


def _assumptions(r: ReportInputs) -> str:
    scn = r.scenario.scenario
    econ, cons = scn.economics, scn.constraints
    unused = unused_economics(scn)  # stated only where a figure used it
    general = [
        ["scenario file", f"<code>{escape(str(r.scenario.path))}</code>"],
        ["objective", f"<code>{escape(scn.objective)}</code>"],
        *(
            [
                [f"PUE, electricity ({s.id})", f"{number_cell(s.pue)}, {number_cell(s.electricity_usd_per_kwh)} $/kWh"]
                for s in r.problem.sites
            ]
            if r.problem.sites  # each site's own: the scenario-wide figures price nothing then
            else [
                [
                    "PUE",
                    number_cell(econ.pue)
                    if "pue" not in unused
                    else "not applied (all-in power per GPU already includes facility overhead)",
                ],
                [
                    "electricity",
                    f"{number_cell(econ.electricity_usd_per_kwh)} $/kWh"
                    if "electricity_usd_per_kwh" not in unused
                    else "not billed (the SKUs' hourly prices include it)",
                ],
            ]
        ),
        *([["pricing tier (catalog SKUs)", escape(econ.pricing_tier)]] if "pricing_tier" not in unused else []),
        *([["power basis (catalog SKUs)", escape(econ.power_basis)]] if "power_basis" not in unused else []),
        ["power cap", f"{number_cell(cons.power_cap_mw)} MW" if cons.power_cap_mw else "none"],
        ["run-rate budget", money(cons.budget_usd_per_hour) + "/h" if cons.budget_usd_per_hour else "none"],
        ["capex budget", money(cons.capex_budget_usd) if cons.capex_budget_usd else "none"],
        ["utilisation cap", f"{cons.max_utilization:.0%}"],
        ["solver", f"{escape(scn.solver.backend)}, relative MIP gap {scn.solver.mip_rel_gap:g}"],
    ]
    html = [html_table(["", "value"], general)]
    workloads = r.problem.workloads
    rows = []
    for s in r.problem.skus:
        rows.append(
            [
                escape(s.id),
                escape(s.origin),
                number_cell(s.gpus_per_unit),
                money(s.cost_usd_per_gpu_hour, 2),
                number_cell(s.facility_kw_per_gpu),
                number_cell(s.facility_idle_kw_per_gpu),
                "yes" if s.energy_billed else "no",
                money(s.capex_usd_per_gpu) if math.isfinite(s.capex_usd_per_gpu) else "-",
                number_cell(s.min_units),
                number_cell(s.max_units) if math.isfinite(s.max_units) else "∞",
                "<br>".join(
                    f"{escape(w)}: {number_cell(s.throughput[w])} <span class=note>({escape(s.throughput_basis.get(w, ''))})</span>"
                    if w in s.throughput
                    else f"{escape(w)}: cannot serve"
                    for w in workloads
                ),
            ]
        )
    html.append("<h3>SKU figures used</h3>")
    html.append(
        html_table(
            [
                "SKU",
                "from",
                "GPUs/unit",
                "$/GPU-h",
                "facility kW/GPU",
                "idle kW/GPU",
                "energy billed",
                "capex $/GPU",
                "existing",
                "max units",
                "tokens/s per GPU at the service level",
            ],
            rows,
            numeric={2, 3, 4, 5, 7, 8, 9},
        )
    )
    c = r.problem.curve
    wrows = []
    for k, w in enumerate(workloads):
        entry = scn.workloads.get(w)
        wrows.append(
            [
                escape(w),
                escape((entry.catalog if entry and entry.catalog else w) or ""),
                number_cell(entry.interactivity) if entry and entry.interactivity else "catalog default",
                number_cell(float(c.mean[k].mean())),
                number_cell(float(c.peak[k].max())),
                f"{float(c.tokens()[k]):.4g}",
            ]
        )
    html.append("<h3>Workloads and demand</h3>")
    html.append(
        html_table(
            ["workload", "catalog workload", "tok/s/user", "mean tokens/s", "peak tokens/s", "tokens over span"],
            wrows,
            numeric={2, 3, 4, 5},
        )
    )
    html += catalog_sources(r.catalog, [s.base_id for s in r.problem.skus], scn.workloads)
    if r.problem.notes:
        html.append("<h3>Notes</h3><ul>" + "".join(f"<li>{escape(n)}</li>" for n in r.problem.notes) + "</ul>")
    return "<section><h2>Assumptions and sources</h2>" + "".join(html) + "</section>"


def source_uses(
    catalog: Catalog, sku_ids: Sequence[str], workloads: Mapping[str, WorkloadEntry]
) -> dict[str, list[str]]:
    """Which SKUs (of ``sku_ids``, catalog ids) and workload series (of ``workloads``) cite each of
    the catalog's sources: a source no figure of the run used has none."""
    used: dict[str, list[str]] = {}
    for sku in dict.fromkeys(sku_ids):
        if sku in catalog.skus:
            for _, _, source in _sourced_figures(catalog.skus[sku]):
                used.setdefault(source, []).append(sku)
    for w in {entry.catalog or name for name, entry in workloads.items()}:
        if w in catalog.workloads:
            for series in catalog.workloads[w].series:
                if series.sku in sku_ids:
                    used.setdefault(series.source, []).append(f"{w} / {series.sku}")
    return used


def catalog_sources(catalog: Catalog, sku_ids: Sequence[str], workloads: Mapping[str, WorkloadEntry]) -> list[str]:
    """The catalog figures of ``sku_ids`` (the catalog's ids; others have none), each with its source,
    and the catalog's sources table saying which SKUs and workload series (of the scenario's
    ``workloads``) use each: HTML blocks."""
    html = []
    used_sources = source_uses(catalog, sku_ids, workloads)
    frows = [
        [escape(sku), f"<code>{escape(path)}</code>", escape(plain(value)), f"<code>{escape(source)}</code>"]
        for sku in dict.fromkeys(sku_ids)
        if sku in catalog.skus
        for path, value, source in _sourced_figures(catalog.skus[sku])
    ]
    if frows:
        html.append("<h3>Catalog figures of these SKUs</h3>")
        html.append(
            f"<details><summary>{len(frows)} sourced figures</summary>"
            + html_table(["SKU", "figure", "value", "source"], frows)
            + "</details>"
        )
    srows = [
        [f"<code>{escape(k)}</code>", escape(v), escape(", ".join(sorted(set(used_sources.get(k, []))))) or "-"]
        for k, v in catalog.sources.items()
    ]
    srows.sort(key=lambda row: row[2] == "-")
    html.append("<h3>Sources</h3>")
    html.append(html_table(["key", "citation", "used by"], srows, cls="sources"))
    return html


def _band(r: ReportInputs) -> str:
    """Estimated throughput: which numbers are estimated, with their band, and the plan at each band edge."""
    band = getattr(r.plan, "throughput_band", None)
    if not band:
        return ""
    rows = [
        [escape(n["sku"]), escape(n["workload"]), number_cell(n["tokens_per_s_per_gpu"]), escape(n["basis"])]
        for n in band["estimated"]
    ]
    numbers = html_table(["SKU", "workload", "tokens/s per GPU", "how it was estimated"], rows, numeric={2})
    edge_rows = []
    for edge, v in band["edges"].items():
        if v["status"] == Status.INFEASIBLE:
            edge_rows.append([escape(edge), "infeasible", "", "n/a"])
            continue
        fleet = ", ".join(f"{escape(k)} {number_cell(u)}" for k, u in v["fleet"].items())
        edge_rows.append(
            [
                escape(edge),
                "same fleet" if v["same_fleet"] else "fleet changes",
                fleet,
                money(v["cost_per_million_tokens"], 4),
            ]
        )
    edges = html_table(["band edge", "against the plan", "fleet (units)", "$/M tokens"], edge_rows, numeric={3})
    verdict = (
        "The chosen fleet is the same at every edge of the band."
        if band["same_fleet_at_edges"]
        else "The chosen fleet changes within the band: measure the estimated SKUs before buying."
    )
    return (
        "<section><h2>Estimated throughput</h2>"
        f"<p>Planned on the band's <b>{escape(band['planned_on'])}</b> figures. Estimated, not measured: "
        f"{escape(', '.join(band['estimated_skus']))}. {verdict}</p>{numbers}{edges}</section>"
    )


def render_report(r: ReportInputs) -> str:
    """The report as one HTML document (no external resources)."""
    scn = r.scenario.scenario
    feasible = r.plan.status != Status.INFEASIBLE
    sections = [
        ("recommendation", "Recommendation", _recommendation(r)),
        ("fleet", "Fleet", _fleet(r) if feasible else ""),
        ("cost", "Cost per token", _cost(r) if feasible else ""),
        ("caps", "Caps", _caps(r) if feasible else ""),
        ("estimates", "Estimated throughput", _band(r) if feasible else ""),
        ("load", "Load vs capacity", _load(r)),
        ("sweep", "Sweep frontiers", _sweep(r)),
        ("validation", "Validation", _validation(r)),
        ("assumptions", "Assumptions", _assumptions(r)),
    ]
    return page(
        f"planner report: {scn.name}",
        f"Fleet plan: {scn.name}",
        scn.description,
        sections,
        "Generated by <code>planner report</code>. Figures are recomputed from the plan's decision; "
        "every catalog figure cites its source above.",
    )
