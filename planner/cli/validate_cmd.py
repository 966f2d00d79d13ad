"""`planner validate`: replay a scenario's demand against a plan's fleet (SimPy), with failures and queues."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from planner.cli.output import emit_json, si, stderr, stdout
from planner.cli.progress import QUIET, shown
from planner.errors import ScenarioError
from planner.outputs import csv_text, json_text, write_all_atomic
from planner.validate.metrics import DEFAULT_MAX_QUEUE_DELAY_S, DEFAULT_PATIENCE_S, FleetSimResult, SloTargets

if TYPE_CHECKING:
    from planner.validate.loop import LoopIteration, LoopResult
    from planner.validate.sim import ValidationOptions


def validation_options(
    seed: int | None,
    scenario_seed: int,
    router: str,
    failures: bool,
    mtbf_hours: float | None,
    mttr_hours: float | None,
    maintenance_hours_per_week: float,
    windows: int,
    window_s: float,
    warmup_s: float,
    max_queue_delay_s: float,
    patience_s: float,
) -> ValidationOptions:
    from planner.validate.sim import ValidationOptions

    options = ValidationOptions(
        seed=scenario_seed if seed is None else seed,
        router=router,
        failures=failures,
        mtbf_hours_per_gpu=mtbf_hours,
        mttr_hours=mttr_hours,
        maintenance_hours_per_week=maintenance_hours_per_week,
        windows=windows,
        window_s=window_s,
        warmup_s=warmup_s,
        targets=SloTargets(max_queue_delay_s=max_queue_delay_s, patience_s=patience_s),
    )
    options.check()
    return options


def _pct(x: float | None) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3%}"


def render_validation(r: FleetSimResult) -> None:
    from rich.table import Table

    t = r.targets
    stdout.print(
        f"[bold]{r.scenario}[/]: validation, seed {r.seed}, router {r.router}, failures {'on' if r.failures else 'off'}; "
        f"SLO = served, queueing delay <= {t.max_queue_delay_s:g} s, not interrupted, at the interactivity target"
    )
    stdout.print(
        f"SLO attainment: [bold]{_pct(r.slo_attainment)}[/] of requests over the span "
        f"({_pct(r.peak_slo_attainment)} in the request-level windows); served {_pct(r.served_fraction)}"
    )
    tok = r.accounting.get("total", {}).get("tokens")
    if tok:
        stdout.print(
            f"tokens: demanded {si(tok['demanded'], 'tokens')} = served {si(tok['served'], 'tokens')} + dropped "
            f"(gave up) {si(tok['dropped'], 'tokens')} + backlog (queued at the end) {si(tok['backlog'], 'tokens')} "
            f"(exact: {tok['demanded']:,} = {tok['served']:,} + {tok['dropped']:,} + {tok['backlog']:,}); "
            f"{r.accounting['total']['requests']['interrupted']:,} requests interrupted by failures"
        )
    q = r.queue_delay_s
    stdout.print(
        f"queueing delay in the windows: p50 {q['p50']:.3g} s, p90 {q['p90']:.3g} s, p99 {q['p99']:.3g} s, "
        f"max {q['max']:.3g} s"
    )
    stdout.print(
        f"cost per million tokens: realised [bold]${r.realized_cost_per_million_tokens:.4f}[/] "
        f"vs planned ${r.planned_cost_per_million_tokens:.4f} (every deployed GPU paid, idle and failed included)"
    )
    table = Table(title_justify="left")
    for col in ("SKU", "utilisation", "availability sim (MTBF/(MTBF+MTTR))", "failures", "max GPUs down (slice avg)"):
        table.add_column(col, justify="left" if col == "SKU" else "right")
    for sku, u in r.utilization.items():
        a = r.availability.get(sku)
        rel = r.reliability.get(sku, {})
        down = r.unavailable_gpus.get(sku, [0.0])
        table.add_row(
            sku,
            f"{u:.1%}",
            f"{a['simulated']:.4%} ({a['expected']:.4%})" if a else "-",
            str(rel.get("failures", "-")),
            f"{max(down):.1f}",
        )
    stdout.print(table)
    wt = Table(title="request-level windows (demand peak, then most loaded pools)", title_justify="left")
    for col in (
        "hour",
        "chosen as",
        "requests",
        "attainment",
        "coarse model",
        "served",
        "p99 wait s",
        "interrupted",
        "events/s",
    ):
        wt.add_column(col, justify="right")
    for w in r.windows:
        wt.add_row(
            f"{w.hour:g}",
            w.selected_by.replace("_", " "),
            f"{w.requests:,}",
            _pct(w.slo_attainment),
            _pct(w.analytic_slo_attainment),
            _pct(w.served_fraction),
            f"{w.queue_delay_s['p99']:.3g}",
            str(w.interrupted),
            f"{w.events / w.wall_s:,.0f}" if w.wall_s > 0 else "-",
        )
    stdout.print(wt)
    qt = Table(
        title=f"queueing over the span (coarse model at each slice's peak rate; waits capped at the "
        f"{t.patience_s:g} s patience)",
        title_justify="left",
    )
    for col in ("workload", "SKU", "P(wait)", f"P(wait > {t.max_queue_delay_s:g} s)", "mean s", "p95 s", "p99 s"):
        qt.add_column(col, justify="left" if col in ("workload", "SKU") else "right")
    for w, per in r.queueing.items():
        for sku, f in per.items():
            qt.add_row(
                w,
                sku,
                _pct(f["p_wait"]),
                _pct(f["p_late"]),
                f"{f['mean_s']:.3g}",
                f"{f['p95_s']:.3g}",
                f"{f['p99_s']:.3g}",
            )
    stdout.print(qt)
    for note in r.notes:
        stdout.print(f"note: {note}")


def render_iteration(it: LoopIteration) -> None:
    if it.slo_attainment is None:
        stderr.print(
            f"  iteration {it.iteration}: max_utilization {it.max_utilization:.2f} (headroom {it.headroom:.0%}): {it.status}"
        )
        return
    stderr.print(
        f"  iteration {it.iteration}: max_utilization {it.max_utilization:.2f} (headroom {it.headroom:.0%}): "
        f"${it.planned_cost_per_million_tokens:.4f}/M tokens planned, ${it.realized_cost_per_million_tokens:.4f} "
        f"realised, {it.power_mw:.2f} MW, SLO attainment {it.slo_attainment:.3%}"
        + (" [meets SLO]" if it.meets_slo else "")
    )


def render_loop(loop: LoopResult) -> None:
    from rich.table import Table

    table = Table(
        title=f"closed loop: SLO target {loop.slo_target:.2%}, started at max_utilization "
        f"{loop.start_max_utilization:.2f} ({start_text(loop.start)})",
        title_justify="left",
    )
    for col in ("iter", "max util", "headroom", "status", "$/M planned", "$/M realised", "MW", "attainment", "peak"):
        table.add_column(col, justify="right")
    for it in loop.iterations:
        f = "-" if it.slo_attainment is None else None
        table.add_row(
            str(it.iteration),
            f"{it.max_utilization:.2f}",
            f"{it.headroom:.0%}",
            it.status,
            f or f"{it.planned_cost_per_million_tokens:.4f}",
            f or f"{it.realized_cost_per_million_tokens:.4f}",
            f or f"{it.power_mw:.2f}",
            f or _pct(it.slo_attainment),
            f or _pct(it.peak_slo_attainment),
        )
    stdout.print(table)
    if loop.met:
        final = loop.iterations[loop.final_index]
        stdout.print(
            f"SLO {loop.slo_target:.2%} met at max_utilization {final.max_utilization:.2f} "
            f"(headroom {final.headroom:.0%}), attainment {final.slo_attainment:.3%}"
        )
    else:
        stdout.print(f"[bold red]SLO {loop.slo_target:.2%} not reached[/]: stopped by {loop.stopped_by}")
    if loop.reference_cost_per_million_tokens is None:
        stdout.print("price of headroom: n/a (the no-headroom plan, max_utilization 1.0, is infeasible)")
    elif loop.headroom_price_per_million_tokens is not None:
        stdout.print(
            f"price of headroom: [bold]${loop.headroom_price_per_million_tokens:+.4f}/M tokens[/] over the no-headroom "
            f"plan (max_utilization 1.0: ${loop.reference_cost_per_million_tokens:.4f}/M tokens, "
            f"attainment {_pct(loop.reference_slo_attainment)})"
        )


def validation_files(r: FleetSimResult, out_dir: Path) -> dict[Path, str]:
    return {
        out_dir / "validation.json": json_text(r.to_dict()),
        out_dir / "validation_slices.csv": csv_text(r.slice_rows()),
    }


SEED = typer.Option(None, "--seed", min=0, help="Seed of every draw (default: the scenario's demand.seed, else 0).")
ROUTER = typer.Option("plan", "--router", help="plan (the plan's dispatch shares) | least_loaded.")
FAILURES = typer.Option(True, "--failures/--no-failures", help="Simulate GPU failure-domain failures and repairs.")
MTBF = typer.Option(None, "--mtbf-hours", help="Override every SKU's MTBF per GPU. [h]")
MTTR = typer.Option(None, "--mttr-hours", help="Override every SKU's mean time to repair. [h]")
MAINT = typer.Option(0.0, "--maintenance-hours-per-week", help="Planned maintenance per failure domain. [h/week]")
WINDOWS = typer.Option(2, "--windows", help="Request-level windows (the demand peak, then the most loaded pools).")
WINDOW_S = typer.Option(60.0, "--window-s", help="Measured length of each window. [s]")
WARMUP_S = typer.Option(30.0, "--warmup-s", help="Simulated before measuring, per window. [s]")
DELAY = typer.Option(DEFAULT_MAX_QUEUE_DELAY_S, "--max-queue-delay-s", help="SLO: longest queueing delay. [s]")
PATIENCE = typer.Option(DEFAULT_PATIENCE_S, "--patience-s", help="Requests waiting longer give up. [s]")
BURST = typer.Option(None, "--burstiness", help="CV of inter-arrival times (1 = Poisson; default: scenario or 1).")


def register(app: typer.Typer, handled) -> None:
    @app.command("validate")
    @handled
    def validate_cmd(
        scenario: Path = typer.Argument(None, help="Scenario YAML (default: the embedded default scenario)."),
        plan: Path = typer.Option(None, "--plan", help="plan.json from `planner plan --out` (default: plan now)."),
        json_out: bool = typer.Option(False, "--json", help="Print the validation as one JSON document."),
        out: Path = typer.Option(None, "--out", help="Write validation.json and validation_slices.csv here."),
        seed: int = SEED,
        router: str = ROUTER,
        failures: bool = FAILURES,
        mtbf_hours: float = MTBF,
        mttr_hours: float = MTTR,
        maintenance_hours_per_week: float = MAINT,
        windows: int = WINDOWS,
        window_s: float = WINDOW_S,
        warmup_s: float = WARMUP_S,
        max_queue_delay_s: float = DELAY,
        patience_s: float = PATIENCE,
        burstiness: float = BURST,
        quiet: bool = QUIET,
        sets: list[str] = typer.Option(None, "--set", help="Override any scenario field: PATH=VALUE (repeat)."),
    ) -> None:
        """Simulate the plan's fleet against the demand: SLO attainment, queues, failures, realised $/M tokens."""
        from planner.cli.options import parse_sets
        from planner.scenario.load import load_scenario
        from planner.validate.loop import scenario_seed
        from planner.validate.run import validate_scenario

        if burstiness is not None and not (burstiness > 0 and math.isfinite(burstiness)):
            raise ScenarioError(f"--burstiness {burstiness!r}: a positive coefficient of variation (1 = Poisson)")
        sf = load_scenario(scenario, parse_sets(sets))
        options = validation_options(
            seed,
            scenario_seed(sf),
            router,
            failures,
            mtbf_hours,
            mttr_hours,
            maintenance_hours_per_week,
            windows,
            window_s,
            warmup_s,
            max_queue_delay_s,
            patience_s,
        )
        with shown(quiet):
            _problem, _plan, result = validate_scenario(sf, plan, options, burstiness=burstiness)
        if out is not None:
            write_all_atomic(validation_files(result, out), folder=out)
        if json_out:
            emit_json(result.to_dict())
        else:
            render_validation(result)


def start_text(start: str) -> str:
    return "no headroom, --from-no-headroom" if start == "no_headroom" else "the scenario's constraints.max_utilization"


def run_validation_loop(sf, problem, slo: float, step: float, min_utilization: float, seed, from_no_headroom=False):
    """`planner plan --validate`: the library's closed loop, with its iterations printed on stderr."""
    from planner.validate.loop import run_validation_loop as closed_loop

    start = 1.0 if from_no_headroom else problem.max_utilization
    stderr.print(
        f"closed loop: SLO target {slo:.2%}, starting at max_utilization {start:.2f} "
        f"({start_text('no_headroom' if from_no_headroom else 'scenario')}), step {step:g}"
    )
    return closed_loop(
        sf,
        problem,
        slo=slo,
        step=step,
        min_utilization=min_utilization,
        seed=seed,
        from_no_headroom=from_no_headroom,
        on_iteration=render_iteration,
    )
