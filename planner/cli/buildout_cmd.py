"""`planner buildout`: what to buy each period as demand grows, power comes online and SKUs ship."""

from __future__ import annotations

from pathlib import Path

import typer

from planner.cli.output import emit_json, si, stderr, stdout
from planner.cli.progress import QUIET, shown
from planner.milp.status import Status
from planner.outputs import write_all_atomic

MODES = ("perfect_foresight", "myopic")


def _of(used: float | int, limit: float | int | None, digits: int = 2) -> str:
    value = f"{used:.{digits}f}" if isinstance(used, float) else f"{used:,}"
    return f"{value} / {limit:g}" if limit is not None else f"{value} / -"


def render_sites(plan) -> None:
    """Per period and site: power, rack positions and liquid cooling used of each cap, GPUs, tokens."""
    from rich.table import Table

    from planner.buildout.report import on_demand_use

    if not any(r.sites for r in plan.periods):
        return
    table = Table(title="sites: used / cap per period", title_justify="left")
    for col in ("period", "site", "MW", "rack positions", "liquid MW", "GPUs", "token share", "at limit"):
        table.add_column(col, justify="left" if col in ("period", "site") else "right", overflow="fold")
    for r in plan.periods:
        for site in r.sites:
            table.add_row(
                r.period,
                site["site"],
                _of(site["power_mw"], site["power_cap_mw"]),
                _of(site["racks"], site["rack_positions"]),
                _of(site["liquid_mw"], site["liquid_cooling_mw"]),
                f"{site['gpus']:,}",
                f"{site['token_share']:.1%}",
                ", ".join(site["at_limit"]) or "-",
            )
        cloud = on_demand_use(plan, r)
        if cloud is not None:  # on demand: the busiest slice's GPUs, no power, racks or cooling of yours
            gpus, share = cloud
            table.add_row(r.period, "cloud", "-", "-", "-", f"{gpus:,}", f"{share:.1%}", "-")
    stdout.print(table)


def _period_figures(r) -> list[str]:
    """A period's cells after the schedule's: MW of its cap, capex of its budget, cost, $/M tokens, caps at their limit."""
    cap = f"{r.power_cap_mw:g}" if r.power_cap_mw is not None else "-"
    budget = f"{r.capex_budget_usd / 1e6:,.0f}" if r.capex_budget_usd is not None else "-"
    return [
        f"{r.power_mw:.2f} / {cap}",
        f"{r.capex_usd / 1e6:,.1f} / {budget}",
        f"{r.cost_usd / 1e6:,.2f}",
        f"{r.cost_per_million_tokens:.4f}",
        ", ".join(r.at_limit_caps) or "-",
    ]


def render_buildout(plan) -> None:
    """Human-readable schedule on stdout."""
    from rich.table import Table

    from planner.buildout.report import reserved_columns, schedule_cell
    from planner.economics import LEDGER_LABELS

    stdout.print(
        f"[bold]{plan.scenario}[/]: buildout over {plan.horizon_periods} periods, mode {plan.mode}; "
        f"status [bold]{plan.status}[/]"
    )
    if plan.status == Status.INFEASIBLE:
        return
    skus = list(plan.periods[0].fleet)
    reserved = reserved_columns(plan)
    cells = {r.period: [schedule_cell(r, s, s in reserved) for s in skus] for r in plan.periods}
    figures = {r.period: _period_figures(r) for r in plan.periods}
    heads = ("MW / cap", "capex $M / budget", "cost $M", "$/M tok", "at limit")
    wide = [max(6, *(len(r.period) for r in plan.periods))]
    wide += [max(len(s), *(len(c[i]) for c in cells.values())) for i, s in enumerate(skus)]
    wide += [max(len(h), *(len(f[i]) for f in figures.values())) for i, h in enumerate(heads)]
    if sum(w + 3 for w in wide) + 1 <= stdout.width:  # one table: periods x columns, then the figures
        table = Table(title="installed (+bought / -retired) units", title_justify="left")
        table.add_column("period", min_width=6, overflow="fold")
        for s in skus:
            table.add_column(s, justify="right", overflow="fold")
        for col in heads:
            table.add_column(col, justify="right", overflow="fold")
        for r in plan.periods:
            table.add_row(r.period, *cells[r.period], *figures[r.period])
        stdout.print(table)
    else:  # too wide for the terminal: columns x periods (full names), as many periods a table as fit
        name = min(max(map(len, skus)), 40)
        chunks: list[list] = [[]]
        room = stdout.width - (name + 4)
        for r in plan.periods:
            need = max(len(r.period), *(len(c) for c in cells[r.period])) + 3
            if chunks[-1] and need > room:
                chunks.append([])
                room = stdout.width - (name + 4)
            chunks[-1].append(r)
            room -= need
        for k, chunk in enumerate(chunks):
            title = "installed (+bought / -retired) units, by column" if k == 0 else None
            table = Table(title=title, title_justify="left")
            table.add_column("column", overflow="fold", min_width=name)  # names whole
            for r in chunk:
                table.add_column(r.period, justify="right", overflow="fold")
            for i, s in enumerate(skus):
                table.add_row(s, *(cells[r.period][i] for r in chunk))
            stdout.print(table)
        # the caps at their limit go in the lines below the tables when a column of them does not fit
        keep = len(heads) if wide[0] + sum(wide[-len(heads) :]) + 3 * len(heads) + 4 <= stdout.width else -1
        table = Table(title="per period", title_justify="left")
        table.add_column("period", overflow="fold")
        for col in heads[:keep]:
            table.add_column(col, justify="right", overflow="fold")
        for r in plan.periods:
            table.add_row(r.period, *figures[r.period][:keep])
    stdout.print(table)
    render_sites(plan)
    for r in plan.periods:
        for b in r.binding:
            stdout.print(f"{r.period} at limit: {b}")
    t = plan.totals
    budget = t["total_capex_budget_usd"]
    parts = ", ".join(f"{LEDGER_LABELS[k]} {si(v, '$')}" for k, v in t["cost_breakdown_usd"].items())
    stdout.print(
        f"horizon: cost {si(t['cost_usd'], '$')} ({parts}); present value "
        f"{si(t['present_value_usd'], '$')}; {si(t['tokens'], 'tokens')}; [bold]${t['cost_per_million_tokens']:.4f}/M tokens[/]"
    )
    stdout.print(
        f"capex: {si(t['capex_usd'], '$')}" + (f" of {si(budget, '$')} horizon budget" if budget is not None else "")
    )
    st = plan.story
    if st.get("blackwell_majority_from"):
        stdout.print(f"Blackwell serves most tokens from {st['blackwell_majority_from']}")
    for e in st.get("early_retirements", []):
        paid = f"; they pay {si(e['charge_usd'], '$')} of remaining capital" if e.get("charge_usd") else ""
        stdout.print(f"  {e['period']}: {e['units']} {e['sku']} units retired before their end of life{paid}")
    stdout.print(
        f"cost per million tokens: ${st['cost_per_million_tokens_first']:.4f} in {plan.periods[0].period} -> "
        f"${st['cost_per_million_tokens_last']:.4f} in {plan.periods[-1].period}"
    )
    if plan.myopia:
        m = plan.myopia
        if m.get("cost_of_myopia_usd") is None:
            stdout.print(f"cost of myopia: n/a ({m.get('status')})")
        else:
            stdout.print(
                f"cost of myopia: {si(m['cost_of_myopia_usd'], '$')} ({m['cost_of_myopia_share']:.2%} of the perfect-"
                f"foresight present value {si(m['present_value_perfect_foresight_usd'], '$')}; MIP gaps up to "
                f"{m['mip_gap']:.1e})"
            )
    s, tm = plan.solver, plan.timings
    stdout.print(
        f"solver: {s.get('backend')} {s.get('status')}, MIP gap {s.get('mip_gap', 0):.2e}; build {tm.get('build_s', 0):.2f} s, "
        f"solve {tm.get('solve_s', 0):.2f} s, total {tm.get('total_s', 0):.2f} s"
    )
    a = plan.aggregation or {}
    if a.get("mode") == "aggregated":
        stdout.print(f"time aggregation: {a.get('summary', '')}")
    elif a:
        stdout.print(f"time aggregation: off (exact, {a.get('original_slices')} slices)")
    for note in plan.notes:
        stdout.print(f"note: {note}")


def register(app: typer.Typer, handled) -> None:
    @app.command("buildout")
    @handled
    def buildout_cmd(
        scenario: Path = typer.Argument(
            None, help="Scenario YAML with a buildout: section (default: the shipped one)."
        ),
        json_out: bool = typer.Option(False, "--json", help="Print the schedule as one JSON document."),
        out: Path = typer.Option(
            None,
            "--out",
            help="Write buildout.json, schedule.csv, periods.csv, schedule.png, recommendation.xlsx and .csv.",
        ),
        mode: str = typer.Option(None, "--mode", help="perfect_foresight | myopic (default: the scenario's)."),
        compare_myopia: bool = typer.Option(
            False, "--compare-myopia", help="Also solve the other mode; report the cost of myopia."
        ),
        sets: list[str] = typer.Option(None, "--set", help="Override any scenario field: PATH=VALUE (repeat)."),
        exact: bool = typer.Option(False, "--exact", help="No time aggregation: solve every slice of every period."),
        quiet: bool = QUIET,
    ) -> None:
        """Plan purchases and retirements period by period: the schedule, MW and spend, cost per token."""
        from planner.buildout.report import buildout_files
        from planner.buildout.run import buildout_problem_from, default_buildout_path, plan_buildout
        from planner.cli.options import check_out_dir, parse_sets
        from planner.optimize.problem import solver_options
        from planner.scenario.load import load_scenario

        if mode is not None and mode not in MODES:
            raise typer.BadParameter(f"unknown mode '{mode}' (use {' or '.join(MODES)})", param_hint="--mode")
        check_out_dir(
            out, "buildout.json, schedule.csv, periods.csv, schedule.png, recommendation.xlsx and recommendation.csv"
        )
        overrides = parse_sets(sets)
        if exact:
            overrides["solver.time_aggregation"] = "off"
        with shown(quiet):
            sf = load_scenario(scenario if scenario is not None else default_buildout_path(), overrides)
            problem = buildout_problem_from(sf)
            plan = plan_buildout(problem, solver_options(sf.scenario), mode, compare_myopia=compare_myopia)
        if out is not None and plan.status != Status.INFEASIBLE:
            from planner.report.workbook import recommendation_files

            files = buildout_files(plan, out)
            files.update(recommendation_files(sf, plan, out, skus=[s.sku for s in problem.skus], sites=problem.sites))
            write_all_atomic(files, folder=out)
        if json_out:
            emit_json(plan.to_dict())
        else:
            render_buildout(plan)
        if plan.status == Status.INFEASIBLE:
            stderr.print("[bold red]infeasible:[/]")
            for line in plan.reason.lines:
                stderr.print(f"  {line}", markup=False, highlight=False)
            raise typer.Exit(3)
