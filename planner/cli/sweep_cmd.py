"""`planner sweep`: a grid or random samples of plans, locally or on a Dask cluster."""

from __future__ import annotations

import importlib.util
import io
import os
import time
from pathlib import Path

import typer

from planner.cli.options import folder_problem
from planner.cli.output import emit_json, stderr, stdout
from planner.cli.progress import QUIET, shown
from planner.errors import ScenarioError
from planner.limits import DEFAULT_MAX_POINTS
from planner.milp.status import Status
from planner.outputs import write_all_atomic


def parquet_engine() -> str:
    """Parquet needs pyarrow (or fastparquet); without either it is an input error."""
    engine = next((m for m in ("pyarrow", "fastparquet") if importlib.util.find_spec(m) is not None), None)
    if engine is None:
        raise ScenarioError(
            "--out *.parquet needs pyarrow, which is not installed: `pip install pyarrow`, or write CSV (--out results.csv)"
        )
    return engine


def parquet_bytes(df) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False, engine=parquet_engine())
    return buf.getvalue()


def check_output_paths(out: Path | None, plot: Path | None) -> None:
    """Every output path checked before any point runs (nothing created yet): --out must be
    a writable file name whose folder exists or can be created; --plot a folder that exists
    or can be created. Every problem at once, each with its path."""
    problems = []
    if out is not None:
        if out.suffix.lower() not in (".csv", ".parquet"):
            problems.append(f"--out {out}: use a .csv or .parquet file name")
        elif out.is_dir():
            problems.append(f"--out {out}: it is a directory; give a file name such as {out / 'results.csv'}")
        elif out.exists() and not os.access(out, os.W_OK):
            problems.append(f"--out {out}: the file exists and is not writable")
        elif (why := folder_problem(out.parent)) is not None:
            problems.append(f"--out {out}: cannot write into {out.parent}: {why}")
        elif out.suffix.lower() == ".parquet":
            parquet_engine()
    if plot is not None and (why := folder_problem(plot)) is not None:
        problems.append(f"--plot {plot}: cannot use it as the charts folder: {why}")
    if problems:
        raise ScenarioError("bad output path" + ("s" if len(problems) > 1 else ""), problems)


def render_table(spec, df) -> None:
    from rich.table import Table

    from planner.sweep.frontier import sku_ids

    table = Table(title=f"sweep of {spec.scenario_path.name}: {len(df)} points ({spec.mode})", title_justify="left")
    for col in ("#", *spec.paths, "status", "$/M tok", "MW", "$/h", "fleet (units)", "at limit"):
        table.add_column(col, justify="right" if col not in ("status", "fleet (units)", "at limit") else "left")
    skus = sku_ids(df)
    for r in df.itertuples(index=False):
        rec = dict(zip(df.columns, r, strict=True))
        feasible = rec["status"] in (Status.OPTIMAL, Status.TIME_LIMIT)
        fleet = (
            ", ".join(f"{s} {int(rec[f'units.{s}'])}" for s in skus if feasible and rec[f"units.{s}"])
            if feasible
            else "-"
        )
        table.add_row(
            str(rec["point"]),
            *(str(rec[p]) for p in spec.paths),
            rec["status"],
            f"{rec['cost_per_million_tokens']:.4f}" if feasible else "-",
            f"{rec['power_mw']:.3f}" if feasible else "-",
            f"{rec['run_rate_usd_per_hour']:,.0f}" if feasible else "-",
            fleet,
            rec["caps_at_limit"] or ("" if feasible else (rec["diagnosis"][:60] + "...")),
        )
    stdout.print(table)


def register(app: typer.Typer, handled) -> None:
    @app.command("sweep")
    @handled
    def sweep_cmd(
        scenario: Path = typer.Argument(None, help="Scenario YAML (default: the embedded default scenario)."),
        param: list[str] = typer.Option(
            None,
            "--param",
            "-p",
            help="PATH=VALUES (repeat): a:b:step, a:b (integers), or a,b,c. "
            "E.g. constraints.power_cap_mw=5:50:5, skus.gb300-nvl72.cost_per_gpu_hour=2.0,2.65,3.5.",
        ),
        samples: int = typer.Option(None, "--samples", min=1, help="Draw N random points instead of the grid."),
        seed: int = typer.Option(None, "--seed", min=0, help="Seed for --samples (default: demand.seed)."),
        workers: int = typer.Option(None, "--workers", "-w", min=1, help="Worker processes (default: one per CPU)."),
        executor: str = typer.Option("local", "--executor", help="local (process pool) | dask."),
        scheduler: str = typer.Option(None, "--scheduler", help="Dask scheduler address; none: a local cluster."),
        timeout: float = typer.Option(
            600.0,
            "--timeout",
            min=1.0,
            max=30 * 86400.0,
            help="Time allowed per point per worker (at most 30 days). [s]",
        ),
        max_points: int = typer.Option(
            DEFAULT_MAX_POINTS, "--max-points", min=1, help="Refuse a sweep with more points than this."
        ),
        explain: bool = typer.Option(
            False, "--explain/--no-explain", help="Per point: marginal values and 'binding' by re-solving (slower)."
        ),
        out: Path = typer.Option(None, "--out", help="Write the table: .csv, or .parquet (needs pyarrow)."),
        json_out: bool = typer.Option(False, "--json", help="Print the table as one JSON document."),
        plot: Path = typer.Option(None, "--plot", help="Write frontier charts (PNG) to this folder."),
        quiet: bool = QUIET,
    ) -> None:
        """Plan a grid (or random samples) of scenario variants: one tidy table, frontiers, infeasible points kept."""
        import planner.progress as progress
        from planner.documents import sweep_document
        from planner.sweep.executors import make_executor
        from planner.sweep.frontier import frontier_charts
        from planner.sweep.grid import build_sweep
        from planner.sweep.run import run_sweep, table_csv

        check_output_paths(out, plot)
        if executor not in ("local", "dask"):
            raise ScenarioError(f"--executor must be local or dask, got '{executor}'")
        spec = build_sweep(scenario, list(param or []), samples=samples, seed=seed, max_points=max_points)
        runner = make_executor(executor, workers, scheduler, timeout)
        stderr.print(f"{len(spec.points)} points ({spec.mode}) on {runner.name}")
        t0 = time.perf_counter()
        with shown(quiet), progress.task(f"sweep: points on {runner.name}", total=len(spec.points)) as bar:
            df = run_sweep(spec, runner, explain=explain, on_done=lambda done, total: bar.update(done=done))
        elapsed = time.perf_counter() - t0

        files: dict[Path, str | bytes] = {}
        if out is not None:
            files[out] = parquet_bytes(df) if out.suffix.lower() == ".parquet" else table_csv(df)
        if plot is not None:
            charts = frontier_charts(df, spec.paths)
            if not charts:
                stderr.print("--plot: no numeric parameter takes two or more values; no frontier to draw")
            files.update({plot / name: png for name, png in charts.items()})
        write_all_atomic(files)

        counts = df["status"].value_counts().to_dict()
        stderr.print(
            f"{len(df)} points in {elapsed:.1f} s on {runner.name}"
            + "".join(f", {n} {s}" for s, n in sorted(counts.items()))
            + "".join(f"; wrote {p}" for p in files)
        )
        bad = df[df["status"].isin(["invalid", "error"])]
        for r in bad.itertuples(index=False):
            stderr.print(f"[yellow]point {r.point}: {r.status}:[/] {r.diagnosis}")
        if json_out:
            emit_json(sweep_document(spec, df))
        else:
            render_table(spec, df)
