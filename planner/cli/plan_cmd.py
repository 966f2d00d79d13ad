"""`planner plan` and `planner schema`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from planner.cli.options import check_out_dir, parse_sets
from planner.cli.output import emit_json, fmt, si, stderr, stdout
from planner.cli.progress import QUIET, shown
from planner.errors import ScenarioError
from planner.milp.status import Status
from planner.outputs import csv_text, json_text, write_all_atomic

if TYPE_CHECKING:
    from pydantic import JsonValue

    from planner.optimize.plan import FleetPlan

CAP_PER = {  # what a cap's saving per year is per
    "power_cap": "MW-year",
    "site_power": "MW-year",
    "liquid_cooling": "MW-year",
    "rack_positions": "position-year",
    "supply": "unit-year",
    "quota": "GPU-year",
    "budget_cap": "$/h of budget per year",
    "capex_cap": "year",
}


def plan_overrides(
    objective: str | None,
    power_cap_mw: float | None,
    budget_usd_per_hour: float | None,
    capex_budget_usd: float | None,
    solver: str | None,
    time_limit: float | None,
    gap: float | None,
    sets: list[str] | None,
) -> dict[str, JsonValue]:
    o = parse_sets(sets)
    for flag, value, unit in (
        ("--power-cap-mw", power_cap_mw, "MW"),
        ("--budget-usd-per-hour", budget_usd_per_hour, "$/h"),
        ("--capex-budget-usd", capex_budget_usd, "$"),
    ):
        if value is not None and not value > 0:  # the flag is at fault, not the scenario file
            raise ScenarioError(f"{flag} {value:g}: a cap must be a positive number [{unit}]; drop the flag for no cap")
    pairs = {
        "objective": objective,
        "constraints.power_cap_mw": power_cap_mw,
        "constraints.budget_usd_per_hour": budget_usd_per_hour,
        "constraints.capex_budget_usd": capex_budget_usd,
        "solver.backend": solver,
        "solver.time_limit_s": time_limit,
        "solver.mip_rel_gap": gap,
    }
    o.update({k: v for k, v in pairs.items() if v is not None})
    return o


def plan_files(sf, problem, plan: FleetPlan, out_dir: Path) -> dict[Path, str | bytes]:
    """Everything `plan --out` writes: the plan, its fleet and dispatch, and the recommendation
    workbook (and its Fleet sheet as CSV); an infeasible plan only its plan.json (the diagnosis:
    there is no fleet or dispatch to write)."""
    from planner.optimize.plan import FLEET_COLUMNS, dispatch_rows

    files: dict[Path, str | bytes] = {out_dir / "plan.json": json_text(plan.to_dict())}
    if plan.status == Status.INFEASIBLE:
        return files
    from planner.report.workbook import recommendation_files

    fleet = [{k: getattr(f, k) for k in FLEET_COLUMNS} for f in plan.fleet]
    files[out_dir / "fleet.csv"] = csv_text(fleet, FLEET_COLUMNS)
    files[out_dir / "dispatch.csv"] = csv_text(dispatch_rows(problem, plan))
    files.update(recommendation_files(sf, plan, out_dir, problem=problem))
    return files


def fmt_gap(gap: float | None) -> str:
    return "unknown" if gap is None or gap != gap else f"{gap:.2e}"


def render_plan(plan: FleetPlan) -> None:
    """Human-readable plan on stdout."""
    from rich.table import Table

    from planner.optimize.run import best_single_sku

    hours = plan.span_hours
    stdout.print(
        f"[bold]{plan.scenario}[/]: objective {plan.objective}, {plan.slices} slices over {hours:g} h "
        f"({hours / 24:g} days); status [bold]{plan.status}[/]"
    )
    if plan.status == Status.INFEASIBLE:
        for note in plan.notes:
            stdout.print(f"note: {note}", markup=False, highlight=False)
        return
    table = Table(title_justify="left")
    for col in ("", "SKU", "units", "GPUs", "existing+new", "MW", "$/h", "token share", "mean util", "tok/s/GPU"):
        table.add_column(col, justify="left" if col in ("", "SKU") else "right")
    for f in plan.fleet:
        if f.procurement is not None and not f.chosen and not f.existing_units:
            continue  # placed scenarios: a column left empty is not a row
        units, gpus, held = f.shown()
        table.add_row(
            "*" if f.chosen else "",
            f.sku,
            units,
            gpus,
            held + (f"-{f.decommissioned_units}" if f.decommissioned_units else ""),
            f"{f.power_mw:.3f}",
            f"{f.cost_usd_per_hour:,.0f}",
            f"{f.token_share:.1%}",
            f"{f.mean_utilization:.1%}",
            ", ".join(f"{w} {fmt(v)}" for w, v in f.throughput.items()) or "-",
        )
    stdout.print(table)
    render_placement(plan)
    reserved = plan.cost_breakdown_usd["reserved"] if plan.cost_breakdown_usd else 0.0
    stdout.print(
        f"cost per million tokens: [bold]${plan.cost_per_million_tokens:.4f}[/]  "
        f"(total {si(plan.total_cost_usd, '$')} = fixed {si(plan.fixed_cost_usd - reserved, '$')}"
        + (f" + reserved {si(reserved, '$')}" if reserved else "")
        + f" + energy {si(plan.energy_cost_usd, '$')}"
        + (f" + cloud burst {si(plan.burst_cost_usd, '$')}" if plan.burst_cost_usd else "")
        + (f" + decommissioning {si(plan.decommission_cost_usd, '$')}" if plan.decommission_cost_usd else "")
        + "; "
        f"{si(plan.tokens_served, 'tokens')} served)"
    )
    unserved = {w: v for w, v in plan.unserved_tokens.items() if v > 0}
    if unserved:
        stdout.print("unserved tokens: " + ", ".join(f"{w} {si(v, 'tokens')}" for w, v in unserved.items()))
    cap = f" of {plan.power_cap_mw:g} MW cap ({plan.power_mw / plan.power_cap_mw:.1%})" if plan.power_cap_mw else ""
    stdout.print(f"facility power: {si(plan.power_mw, 'MW')}{cap}")
    budget = plan.budget_usd_per_hour
    stdout.print(
        f"run-rate: {si(plan.run_rate_usd_per_hour, '$/h')}"
        + (f" of {si(budget, '$/h')} budget ({plan.run_rate_usd_per_hour / budget:.1%})" if budget else "")
    )
    if plan.capex_budget_usd is not None:
        stdout.print(f"capex: {si(plan.capex_spend_usd, '$')} of {si(plan.capex_budget_usd, '$')} budget")
    stdout.print(
        "binding: " + (", ".join(plan.binding) if plan.binding else "none (no cap changes the answer)"),
        markup=False,  # max_units[<sku>] is not a markup tag
        highlight=False,
    )
    for c in plan.caps:
        if c.step is None:
            continue
        per = CAP_PER[c.kind or c.name]
        dual = (
            f"; LP-relaxation dual {si(c.lp_relaxation_dual, '$')} per {per}"
            if c.lp_relaxation_dual is not None
            else ""
        )
        head = f"  {c.name} +{c.step:g} {c.unit}:"
        if c.saving_usd is not None:
            per_m = c.saving_usd_per_million_tokens
            stdout.print(
                f"{head} saves {si(c.saving_usd, '$')} over the span ({si(c.saving_usd_per_year, '$')} per {per}"
                + (f"; {si(per_m, '$/M tokens')}" if per_m is not None else "")
                + f"){dual}"
            )
        elif c.extra_tokens is not None:
            stdout.print(f"{head} serves {si(c.extra_tokens, 'tokens')} more over the span{dual}")
        elif c.saving_usd_per_million_tokens is not None:
            stdout.print(f"{head} lowers the cost per million tokens by ${c.saving_usd_per_million_tokens:.3g}{dual}")
        else:
            stdout.print(f"{head} no better plan found{dual}")
    best = best_single_sku(plan.objective, plan.single_sku)
    if best is not None:
        n = best["units"]
        line = f"best single-SKU fleet: {best['sku']} ({fmt(n) if isinstance(n, float) else n} units) at ${best['cost_per_million_tokens']:.4f}/M tokens"
        if plan.mix_saving_usd is not None and best["total_cost_usd"] > 0:
            line += (
                f"; the mix saves {si(plan.mix_saving_usd, '$')} ({plan.mix_saving_usd / best['total_cost_usd']:.2%})"
            )
        stdout.print(line)
    elif plan.single_sku:
        stdout.print("no single SKU can serve this demand within the caps: the mix is necessary")
    s = plan.solver
    t = plan.timings
    stdout.print(
        f"solver: {s.get('backend')} {s.get('status')}, MIP gap {fmt_gap(s.get('mip_gap'))} (target {s.get('mip_rel_gap'):g}); "
        f"build {t.get('build_s', 0):.2f} s, hand-off {t.get('handoff_s', 0):.2f} s, solve {t.get('solve_s', 0):.2f} s, "
        f"total {t.get('total_s', 0):.2f} s"
    )
    a = plan.aggregation or {}
    if a.get("mode") == "aggregated":
        stdout.print(f"time aggregation: {a.get('summary', '')}")
    elif a:
        stdout.print(f"time aggregation: off (exact, {a.get('original_slices')} slices)")
    render_band(plan.throughput_band)
    for note in plan.notes:
        stdout.print(f"note: {note}")


def render_band(band: dict | None) -> None:
    """Which throughput figures are estimated and what the band's edges do to the fleet."""
    if not band:
        return
    stdout.print(f"estimated throughput (planned on the band's {band['planned_on']}):")
    for n in band["estimated"]:
        stdout.print(
            f"  {n['sku']} on {n['workload']}: {n['tokens_per_s_per_gpu']:,.1f} tokens/s per GPU, {n['basis']}"
        )
    for edge, v in band["edges"].items():
        if v["status"] == Status.INFEASIBLE:
            stdout.print(f"  at the band's {edge}: infeasible")
            continue
        fleet = ", ".join(f"{k} {fmt(u) if isinstance(u, float) else u}" for k, u in v["fleet"].items())
        same = "same fleet" if v["same_fleet"] else "fleet changes"
        stdout.print(f"  at the band's {edge}: {same}: {fleet}; ${v['cost_per_million_tokens']:.4f}/M tokens")


def render_placement(plan: FleetPlan) -> None:
    """Sites (use of each cap) and procurement kinds of a placed plan."""
    for site in plan.sites:
        parts = [f"{site['power_mw']:.3f}" + (f" of {site['power_cap_mw']:g} MW" if site["power_cap_mw"] else " MW")]
        if site["rack_positions"] is not None:
            parts.append(f"{site['racks']} of {site['rack_positions']} rack positions")
        if site["liquid_cooling_mw"] is not None:
            parts.append(f"{site['liquid_mw']:.3f} of {site['liquid_cooling_mw']:g} MW liquid cooling")
        stdout.print(f"site {site['site']}: " + ", ".join(parts) + f"; {site['token_share']:.1%} of tokens")
    for row in plan.procurement:
        line = f"{row['kind']}: {row['gpus']:,.0f} GPUs, {si(row['cost_usd'], '$')} over the span, {row['token_share']:.1%} of tokens"
        if row["kind"] == "on_demand":
            busiest = max(row["by_slice"], key=lambda x: x["peak_gpus"], default=None)
            line += f"; {row['gpu_hours']:,.0f} burst GPU-hours"
            if busiest and busiest["peak_gpus"] > 0:
                line += f", at most {busiest['peak_gpus']:,.0f} GPUs (hour {busiest['hour']:g})"
        if row.get("decommissioned_units"):
            line += f"; {row['decommissioned_units']} units decommissioned"
        stdout.print(line)


def parse_served_fractions(text: str | None) -> tuple[float, ...] | None:
    """--served-fraction: one share, or several (a:b:step, a,b,c), each in (0, 1]."""
    if text is None:
        return None
    from planner.sweep.grid import parse_values

    param = parse_values("constraints.min_served_fraction", text, flag="--served-fraction ")
    values = param.values
    bad = [v for v in values if isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v <= 1]
    if bad:
        raise ScenarioError(f"--served-fraction {text}: {bad[0]!r} is not a share in (0, 1] (e.g. 0.9:1.0:0.02)")
    return tuple(float(v) for v in values)


def render_tradeoff(problem, points, json_out: bool) -> None:
    """The least $/M tokens at each service floor (``served_fraction_tradeoff``): a table, or one JSON document."""
    from rich.table import Table

    if json_out:
        emit_json({"scenario": problem.name, "objective": problem.objective, "tradeoff": [p.to_dict() for p in points]})
        return
    table = Table(
        title=f"{problem.name}: least cost per token against the share of demand served", title_justify="left"
    )
    for col in ("floor", "status", "$/M tokens", "served", "total $", "MW", "fleet"):
        table.add_column(col, justify="left" if col in ("status", "fleet") else "right")
    for p in points:
        if p.cost_per_million_tokens is None:
            table.add_row(f"{p.served_fraction:.1%}", p.status, "-", "-", "-", "-", "-")
            continue
        table.add_row(
            f"{p.served_fraction:.1%}",
            p.status,
            f"{p.cost_per_million_tokens:.4f}",
            f"{p.served_share:.2%}",
            f"{p.total_cost_usd:,.0f}",
            f"{p.power_mw:.3f}",
            ", ".join(f"{k} {v}" for k, v in (p.fleet or {}).items()),
        )
    stdout.print(table)


def write_model_file(problem, path: Path) -> None:
    """The MILP as MPS (names in the formulation's grammar) or LP text, written atomically
    (min_cost; max_tokens: its first stage, the most tokens served)."""
    from planner.milp.formulation import build_fleet_model
    from planner.milp.modelfile import write_model
    from planner.outputs import write_atomic

    if path.suffix.lower() not in (".lp", ".mps"):
        raise ScenarioError(f"--write-model {path}: use a .lp or .mps file name")
    if problem.objective == "min_cost_per_token":
        raise ScenarioError(
            "--write-model: min_cost_per_token is solved as a sequence of MILPs (Dinkelbach), not one model; "
            "write the model with --objective min_cost or max_tokens"
        )
    model = build_fleet_model(problem)
    objective = model.tokens_served * -1.0 if problem.objective == "max_tokens" else None
    write_atomic(path, write_model(model, path, objective))


def register(app: typer.Typer, handled) -> None:
    @app.command("plan")
    @handled
    def plan_cmd(
        scenario: Path = typer.Argument(None, help="Scenario YAML (default: the embedded default scenario)."),
        json_out: bool = typer.Option(False, "--json", help="Print the plan as one JSON document."),
        out: Path = typer.Option(
            None,
            "--out",
            help="Write plan.json, fleet.csv, dispatch.csv, recommendation.xlsx and recommendation.csv to this folder.",
        ),
        write_model: Path = typer.Option(None, "--write-model", help="Write the MILP (.lp or .mps) for inspection."),
        objective: str = typer.Option(None, help="min_cost | max_tokens | min_cost_per_token."),
        power_cap_mw: float = typer.Option(None, "--power-cap-mw", help="Override constraints.power_cap_mw. [MW]"),
        budget_usd_per_hour: float = typer.Option(None, "--budget-usd-per-hour", help="Override the run-rate budget."),
        capex_budget_usd: float = typer.Option(None, "--capex-budget-usd", help="Override the capex budget. [$]"),
        power_step_mw: float = typer.Option(1.0, min=1e-6, help="Step for the power cap's marginal value. [MW]"),
        budget_step: float = typer.Option(None, min=1e-6, help="Step for the budget's marginal value. [$/h]"),
        solver: str = typer.Option(None, help="highs (default) | cbc."),
        time_limit: float = typer.Option(None, min=0.1, help="Solver time limit per solve. [s]"),
        gap: float = typer.Option(None, min=1e-9, max=0.1, help="Relative MIP gap."),
        threads: int = typer.Option(None, min=1, help="Solver threads (fixed by the first solve of a process)."),
        explain: bool = typer.Option(True, "--explain/--no-explain", help="Marginal values and single-SKU fleets."),
        exact: bool = typer.Option(False, "--exact", help="No time aggregation: solve every slice (slow on a year)."),
        sets: list[str] = typer.Option(None, "--set", help="Override any scenario field: PATH=VALUE (repeat)."),
        throughput_band: str = typer.Option(
            None,
            "--throughput-band",
            help="low | mid | high: plan estimated throughput (workloads with estimate: true) on its band's edge.",
        ),
        validate: bool = typer.Option(False, "--validate", help="Simulate the plan; add headroom until --slo holds."),
        slo: float = typer.Option(0.99, "--slo", help="With --validate: target SLO attainment. [share of requests]"),
        headroom_step: float = typer.Option(0.02, "--headroom-step", help="With --validate: max_utilization step."),
        min_utilization: float = typer.Option(
            0.5, "--min-utilization", help="With --validate: lowest max_utilization."
        ),
        from_no_headroom: bool = typer.Option(
            False,
            "--from-no-headroom",
            help="With --validate: start at max_utilization 1.0, not the scenario's (least headroom meeting --slo).",
        ),
        seed: int = typer.Option(
            None, "--seed", min=0, help="With --validate: simulation seed (default: the scenario's)."
        ),
        quiet: bool = QUIET,
        served_fraction: str = typer.Option(
            None,
            "--served-fraction",
            help="min_cost_per_token's service floor (constraints.min_served_fraction); a range a:b:step or a,b,c "
            "prints the trade-off of $/M tokens against the share of demand served.",
        ),
    ) -> None:
        """Pick the GPU mix with the lowest cost per token inside the power and budget caps."""
        from planner.pipeline import planned, scenario_problem
        from planner.scenario.load import load_scenario

        overrides = plan_overrides(
            objective, power_cap_mw, budget_usd_per_hour, capex_budget_usd, solver, time_limit, gap, sets
        )
        if exact:
            overrides["solver.time_aggregation"] = "off"
        if threads is not None:
            overrides["solver.threads"] = threads
        check_out_dir(out, "plan.json, fleet.csv, dispatch.csv, recommendation.xlsx and recommendation.csv")
        fractions = parse_served_fractions(served_fraction)
        if fractions is not None and overrides.setdefault("objective", "min_cost_per_token") != "min_cost_per_token":
            raise ScenarioError(
                f"--served-fraction is min_cost_per_token's service floor, not {overrides['objective']}'s; "
                "drop --objective or use --objective min_cost_per_token"
            )
        if fractions is not None and len(fractions) == 1:
            overrides["constraints.min_served_fraction"] = fractions[0]
        if fractions is not None and len(fractions) > 1:
            for flag, given in (("--out", out), ("--write-model", write_model), ("--validate", validate)):
                if given:
                    raise ScenarioError(f"--served-fraction with several values prints a trade-off; drop {flag}")
        with shown(quiet):
            sf = load_scenario(scenario, overrides)
            if throughput_band is not None:
                from planner.optimize.bands import with_throughput_band

                sf = with_throughput_band(sf, throughput_band)
            problem = scenario_problem(sf)
            if fractions is not None and len(fractions) > 1:
                from planner.optimize.problem import solver_options
                from planner.optimize.run import served_fraction_tradeoff

                points = served_fraction_tradeoff(problem, solver_options(sf.scenario), fractions)
            else:
                points = None
                if write_model is not None:
                    write_model_file(problem, write_model)
                loop = None
                if validate:
                    from planner.cli.validate_cmd import run_validation_loop

                    problem, loop = run_validation_loop(
                        sf, problem, slo, headroom_step, min_utilization, seed, from_no_headroom=from_no_headroom
                    )
                plan = planned(
                    sf, problem, explain=explain, power_step_mw=power_step_mw, budget_step_usd_per_hour=budget_step
                )
        if points is not None:
            render_tradeoff(problem, points, json_out)
            return
        if out is not None:
            write_all_atomic(plan_files(sf, problem, plan, out), folder=out)
        if json_out:
            emit_json(plan.to_dict() if loop is None else {**plan.to_dict(), "validation": loop.to_dict()})
        else:
            render_plan(plan)
            if loop is not None:
                from planner.cli.validate_cmd import render_loop

                render_loop(loop)
        if plan.status == Status.INFEASIBLE:
            stderr.print("[bold red]infeasible:[/]", end=" ")
            stderr.print(plan.reason.summary, markup=False, highlight=False)
            raise typer.Exit(3)
        if loop is not None and not loop.met:
            stderr.print(f"[bold red]SLO {loop.slo_target:.2%} not reached:[/] stopped by {loop.stopped_by}")
            raise typer.Exit(3)

    @app.command("schema")
    @handled
    def schema_cmd(
        kind: str = typer.Argument(
            "scenario", help="scenario (default) | plan | buildout | validation | sweep: which document's schema."
        ),
    ) -> None:
        """Print the JSON Schema of scenario files, or of a document planner writes."""
        from planner.documents import KINDS, document_schema

        if kind not in KINDS:
            raise typer.BadParameter(f"unknown document '{kind}' (use one of {', '.join(KINDS)})", param_hint="KIND")
        emit_json(document_schema(kind))
