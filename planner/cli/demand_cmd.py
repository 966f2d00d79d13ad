"""`planner demand`: simulate a scenario's demand into a load curve, and `planner demand fit TRACE`.

`planner demand` is a command group whose default command is `curve`: anything after
`demand` that is not a subcommand name is handed to `curve`, so `planner demand
scenario.yaml --out curve.csv` and `planner demand curve scenario.yaml --out curve.csv`
are the same command, and `planner demand fit TRACE` fits a trace. (A scenario file
literally named `fit` or `curve` must be written `./fit`.)
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, NotRequired

import typer
from typing_extensions import TypedDict

from planner.cli.options import PlannerGroup, command_group
from planner.cli.output import emit_json, fmt, si, stderr, stdout
from planner.cli.progress import QUIET, shown
from planner.errors import ScenarioError
from planner.outputs import write_all_atomic

if TYPE_CHECKING:
    from planner.demand.curve import LoadCurve

DEFAULT_COMMAND = "curve"


class DemandGroup(PlannerGroup):
    """A group that runs `curve` when the first argument is not a subcommand."""

    default_command = DEFAULT_COMMAND


def plot_png(curve: LoadCurve, title: str) -> bytes:
    """The curve as a PNG: mean and sizing peak per workload, the P50-P99 band of peaks shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(curve.workloads), 1, figsize=(11, 2.6 * len(curve.workloads) + 0.6), squeeze=False)
    days = curve.start_hours / 24.0
    for i, name in enumerate(curve.workloads):
        ax = axes[i, 0]
        if "p50" in curve.bands and "p99" in curve.bands:
            ax.fill_between(
                days, curve.bands["p50"][i], curve.bands["p99"][i], step="post", alpha=0.25, label="peak P50-P99"
            )
        ax.step(days, curve.peak[i], where="post", linewidth=0.8, label="peak (sizing)")
        ax.step(days, curve.mean[i], where="post", linewidth=0.8, label="mean")
        ax.set_ylabel(f"{name}\ntokens/s")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize=7)
    axes[-1, 0].set_xlabel("days from the start (a Monday 00:00)")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def register(app: typer.Typer, handled) -> None:
    demand_app = command_group(
        "Demand: simulate a scenario's load curve (default command `curve`), or fit a trace (`fit`).", DemandGroup
    )

    @demand_app.command(DEFAULT_COMMAND)
    @handled
    def curve_cmd(
        scenario: Path = typer.Argument(
            None,
            help="Scenario YAML, or a file with only a demand: section (default: the embedded default scenario).",
        ),
        out: Path = typer.Option(
            None,
            "--out",
            help="Write the load curve CSV (readable as demand.load_curve; header first) and its <name>.meta.json.",
        ),
        seed: int = typer.Option(None, "--seed", min=0, help="Override demand.seed."),
        replicas: int = typer.Option(None, "--replicas", min=1, help="Monte Carlo replicas for P50/P95/P99 bands."),
        plot: Path = typer.Option(None, "--plot", help="Draw the curve to this PNG file."),
        json_out: bool = typer.Option(False, "--json", help="Print the summary as one JSON document."),
        quiet: bool = QUIET,
    ) -> None:
        """Simulate SCENARIO's demand section into a load curve; print mean, peak, peak/mean, tokens."""
        from planner.demand.curve import curve_meta_json, curve_summary, load_curve_csv, meta_path
        from planner.demand.simulate import run_scenario_demand
        from planner.pipeline import scenario_curve
        from planner.scenario.load import load_demand_file

        if plot is not None and plot.suffix.lower() != ".png":
            raise ScenarioError(f"--plot {plot}: use a .png file name")
        sf = load_demand_file(scenario)
        demand = sf.scenario.demand
        info: DemandSummary = {"scenario": sf.scenario.name, "file": str(sf.path)}
        if demand.load_curve:
            if seed is not None or replicas is not None:
                raise ScenarioError(
                    f"{sf.path}: --seed and --replicas apply to a generated demand section; this scenario reads "
                    f"its curve from {demand.load_curve}"
                )
            with shown(quiet):
                curve = scenario_curve(sf)
            info.update(source="load_curve", load_curve=str(sf.resolve(demand.load_curve)))
        else:
            with shown(quiet):
                run = run_scenario_demand(sf, seed=seed, replicas=replicas)
            curve = run.curve
            info.update(
                source="generated",
                seed=curve.seed,
                replicas=run.tokens.shape[0],
                sizing=run.sizing,
                peak_resolution_s=run.window_s,
                detail=run.detail,
            )
        info.update(
            slices=len(curve.start_hours),
            slice_hours=float(curve.slice_hours[0]),
            span_hours=curve.span_hours,
            workloads=curve_summary(curve),
        )
        files: dict[Path, str | bytes] = {}
        if out is not None:
            files[out] = load_curve_csv(curve)
            meta = {
                k: info[k]
                for k in ("scenario", "file", "source", "replicas", "sizing", "peak_resolution_s")
                if k in info
            }
            files[meta_path(out)] = curve_meta_json(curve, made_by="planner demand", **meta)
            info["out"] = str(out)
            info["meta"] = str(meta_path(out))
        if plot is not None:
            files[plot] = plot_png(curve, f"{sf.scenario.name}: demand (seed {curve.seed})")
            info["plot"] = str(plot)
        write_all_atomic(files)
        if json_out:
            emit_json(info)
            return
        render_summary(info)

    @demand_app.command("fit")
    @handled
    def fit_cmd(
        trace: Path = typer.Argument(..., help="Trace CSV: arrived_at,num_prefill_tokens,num_decode_tokens."),
        name: str = typer.Option(None, "--name", help="Workload name in the YAML (default: the file's stem)."),
        tokens_basis: str = typer.Option("total", "--tokens-basis", help="total (input + output) | output."),
        json_out: bool = typer.Option(False, "--json", help="Print the fit as one JSON document."),
    ) -> None:
        """Fit token lengths, rate and burstiness of TRACE as a workload spec (YAML for demand.workloads)."""
        import yaml

        from planner.demand.fit import fit_trace

        if tokens_basis not in ("total", "output"):
            raise typer.BadParameter(f"unknown tokens basis '{tokens_basis}'", param_hint="--tokens-basis")
        fit = fit_trace(trace, tokens_basis)  # type: ignore[arg-type]
        if json_out:
            emit_json(fit.to_dict())
            return
        key = name or trace.stem
        stdout.print(f"# fitted to {trace}", soft_wrap=True)
        stdout.print(
            f"# {fit.requests:,} requests over {fit.span_s:,.0f} s ({fit.requests_per_s:.4g} requests/s), "
            f"{fit.total_tokens:,} {fit.tokens_basis} tokens"
        )
        stdout.print("# an hour-long trace has no daily or weekly shape: set peak_to_mean, peak_hour, weekend_factor")
        stdout.print(yaml.safe_dump({key: fit.workload_spec()}, sort_keys=False, default_flow_style=None).rstrip())

    app.add_typer(demand_app, name="demand")


class DemandSummary(TypedDict):
    """`planner demand --json`: where the curve comes from, its slices and its workloads' figures."""

    scenario: str
    file: str
    source: NotRequired[str]  # load_curve | generated
    load_curve: NotRequired[str]  # load_curve: the file
    seed: NotRequired[int | None]  # generated: the simulation's
    replicas: NotRequired[int]
    sizing: NotRequired[str]
    peak_resolution_s: NotRequired[float]
    detail: NotRequired[dict[str, str]]
    slices: NotRequired[int]
    slice_hours: NotRequired[float]
    span_hours: NotRequired[float]
    workloads: NotRequired[list[dict[str, float | str]]]


def render_summary(info: DemandSummary) -> None:
    """The human-readable summary of `planner demand`."""
    from rich.table import Table

    from planner.demand.curve import BANDS

    if info["source"] == "generated":
        stdout.print(
            f"[bold]{info['scenario']}[/]: generated demand, seed {info['seed']}, {info['replicas']} replica(s), "
            f"sizing peak {info['sizing']}, peaks over {info['peak_resolution_s']:g} s windows"
        )
    else:
        stdout.print(f"[bold]{info['scenario']}[/]: load curve {info['load_curve']}")
    stdout.print(
        f"{info['slices']} slices of {info['slice_hours']:g} h over {info['span_hours']:g} h "
        f"({info['span_hours'] / 24:g} days)"
    )
    rows = info["workloads"]
    banded = any("peak_p95_tokens_per_s" in r for r in rows)
    table = Table(title_justify="left")
    columns = ["workload", "mean tok/s", "peak tok/s", "peak/mean", "total tokens"]
    columns += ["peak P50 / P95 / P99"] if banded else []
    columns += ["detail"] if "detail" in info else []
    for col in columns:
        table.add_column(col, justify="left" if col in ("workload", "detail") else "right")
    for r in rows:
        cells = [
            r["workload"],
            fmt(r["mean_tokens_per_s"]),
            fmt(r["peak_tokens_per_s"]),
            "n/a" if r["peak_to_mean"] is None else f"{r['peak_to_mean']:.3g}",
            si(r["total_tokens"], "tokens"),
        ]
        if banded:
            cells.append(" / ".join(fmt(r[f"peak_{b}_tokens_per_s"]) for b in BANDS))
        if "detail" in info:
            cells.append(info["detail"][r["workload"]])
        table.add_row(*cells)
    stdout.print(table)
    stdout.print("tokens/s are total (input + output) unless a workload counts output only; peak = busiest window")
    for key in ("out", "meta", "plot"):
        if key in info:
            stderr.print(f"wrote {info[key]}")
