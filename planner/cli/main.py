"""`planner` command line: parse, call the library, render. No logic lives here."""

from __future__ import annotations

import functools
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from planner.cli.flags import cli_message
from planner.cli.options import PlannerGroup
from planner.cli.output import emit_json, fmt, stderr, stdout
from planner.errors import PlannerError, ScenarioError

if TYPE_CHECKING:
    from planner.catalog.load import Catalog

app = typer.Typer(
    cls=PlannerGroup,
    no_args_is_help=True,
    add_completion=False,
    help="Capacity planner for AI inference fleets: which GPUs, how many, at what cost per token.",
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: full option names, units in [brackets] kept, no rich start-up cost
)


def _print_version(value: bool) -> None:
    if value:
        from planner._version import __version__

        stdout.print(f"planner {__version__}", markup=False, highlight=False)
        raise typer.Exit()


@app.callback()
def _planner(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print planner's version and exit."
    ),
) -> None:
    """Capacity planner for AI inference fleets: which GPUs, how many, at what cost per token."""


CATALOG_OPTION = typer.Option(
    None, "--catalog", help="Directory with skus.yaml and workloads.yaml (default: the shipped models/)."
)


def catalog_from(directory: Path | None) -> Catalog:
    from planner.catalog.load import load_catalog, shipped_catalog

    return shipped_catalog() if directory is None else load_catalog(directory)


def handled(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn PlannerErrors into a message on stderr and the documented exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except PlannerError as exc:
            # the message may quote the user's text (paths, values): never read it as rich markup
            stderr.print("[bold red]error:[/]", end=" ")
            stderr.print(cli_message(str(exc)), markup=False, highlight=False)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt as exc:  # SIGINT, or SIGTERM through main()'s handler
            signum = getattr(exc, "signum", signal.SIGINT)
            stderr.print(f"interrupted ({signal.Signals(signum).name}); nothing half-written is left", markup=False)
            raise typer.Exit(128 + signum) from None

    return wrapper


@app.command("compare")
@handled
def compare_cmd(
    preset: str = typer.Option(None, help="Named comparison from models/workloads.yaml (default: nvidia-tco)."),
    sku: list[str] = typer.Option(None, "--sku", "-s", help="SKU id (repeat); 'all' for every SKU with data."),
    workload: str = typer.Option(None, "--workload", "-w", help="Catalog workload id."),
    interactivity: float = typer.Option(None, "--interactivity", "-i", help="Service level. [tok/s/user]"),
    tier: str = typer.Option(None, help="Pricing: hyperscaler | neocloud | rental_3yr | owned."),
    power_basis: str = typer.Option("all_in", help="all_in (published, PUE included) | it (IT power x --pue)."),
    pue: float = typer.Option(
        None, min=1.0, max=3.0, help="PUE for --power-basis it and the owned tier (default 1.3). [1]"
    ),
    rate: float = typer.Option(
        None, min=0.0, max=1.0, help="Cost of capital for the owned tier (default 0.10). [1/year]"
    ),
    life_years: float = typer.Option(None, min=0.1, max=100.0, help="Economic life for the owned tier. [years]"),
    electricity: float = typer.Option(
        None, min=0.0, max=10.0, help="Electricity price for the owned tier (default 0.08). [$/kWh]"
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the rows as one JSON document."),
    catalog: Path = CATALOG_OPTION,
) -> None:
    """Cost per million tokens, tokens/s per MW and PFLOPS per $/h, SKU by SKU."""
    from rich.table import Table

    from planner.compare import Ownership, compare

    if tier not in (None, "hyperscaler", "neocloud", "rental_3yr", "owned"):
        raise typer.BadParameter(f"unknown tier '{tier}'", param_hint="--tier")
    if power_basis not in ("all_in", "it"):
        raise typer.BadParameter(f"unknown power basis '{power_basis}'", param_hint="--power-basis")
    owned_only = {"--rate": rate, "--life-years": life_years, "--electricity": electricity}
    inert = [flag for flag, v in owned_only.items() if v is not None and tier != "owned"]
    if pue is not None and power_basis == "all_in" and tier != "owned":
        inert.append("--pue")
    if inert:
        raise ScenarioError(
            f"{', '.join(inert)} {'has' if len(inert) == 1 else 'have'} no effect here: the owned-tier figures "
            "(--rate, --life-years, --electricity) price only --tier owned, and --pue applies to --power-basis it "
            "and the owned tier (the all-in basis already includes facility overhead); add --tier owned or "
            "--power-basis it, or drop them"
        )
    given = {"rate": rate, "life_years": life_years, "electricity_usd_per_kwh": electricity, "pue": pue}
    ownership = Ownership(**{k: v for k, v in given.items() if v is not None})  # its defaults for the rest
    result = compare(
        catalog_from(catalog),
        preset=preset,
        skus=list(sku) if sku else None,
        workload=workload,
        interactivity=interactivity,
        tier=tier,  # type: ignore[arg-type]
        power_basis=power_basis,  # type: ignore[arg-type]
        ownership=ownership,
    )
    for note in result.skipped:
        stderr.print(f"skipped {note}")
    if json_out:
        emit_json([r.to_dict() for r in result.rows])
        return
    table = Table(title=result.title, title_justify="left")
    for col in ("SKU", "family", "$/GPU-h", "PFLOPS per $/h", "tok/s/GPU", "tok/s/MW", "$/M tok", "basis"):
        table.add_column(col, justify="left" if col in ("SKU", "family", "basis") else "right")
    for r in result.rows:
        cells = {key: _ratio_cell(getattr(r, key), r.ratio_to_first[key]) for key in r.ratio_to_first}
        table.add_row(
            r.sku,
            r.family,
            cells["cost_per_gpu_hour"],
            f"{cells['pflops_per_dollar_hour']} {r.flops_basis}",
            cells["tokens_per_s_per_gpu"],
            cells["tokens_per_s_per_mw"],
            cells["cost_per_million_tokens"],
            r.throughput_basis,
        )
    stdout.print(table)
    stdout.print(
        "tokens are total (input + output); tok/s/MW on "
        + (
            "all-in provisioned power (PUE included)"
            if power_basis == "all_in"
            else f"IT power x PUE {ownership.pue:g}"
        )
        + "; ratios against the first row."
    )


def _ratio_cell(value: float, ratio: float) -> str:
    shown = f"{ratio:.2g}x" if ratio >= 1 or ratio != ratio else f"1/{1 / ratio:.2g}x"
    return f"{fmt(value)} ({shown})"


@app.command("catalog")
@handled
def catalog_cmd(
    json_out: bool = typer.Option(False, "--json", help="Print SKUs, workloads and sources as JSON."),
    catalog: Path = CATALOG_OPTION,
) -> None:
    """List catalog SKUs and workloads with their key figures and sources."""
    from rich.table import Table

    cat = catalog_from(catalog)
    if json_out:
        emit_json(
            {
                "skus": [s.model_dump() for s in cat.skus.values()],
                "workloads": [w.model_dump() for w in cat.workloads.values()],
                "sources": cat.sources,
            }
        )
        return
    table = Table(title="SKUs", title_justify="left")
    for col in ("id", "family", "unit", "mem GB", "IT kW/GPU", "all-in kW/GPU", "$/GPU-h hyp/neo/3yr", "capex $/GPU"):
        table.add_column(col)
    for s in cat.skus.values():
        p = s.pricing
        table.add_row(
            s.id,
            s.family,
            f"{s.unit.gpus}-GPU {s.unit.kind}",
            f"{s.memory_gb.value:g}",
            f"{s.power.it_kw_per_gpu.value:g}",
            f"{s.power.all_in_kw_per_gpu.value:g}",
            f"{p.hyperscaler.value:g} / {p.neocloud.value:g} / {p.rental_3yr.value:g}",
            f"{s.capex_usd_per_gpu.value[0]:,.0f}-{s.capex_usd_per_gpu.value[1]:,.0f}",
        )
    stdout.print(table)
    wt = Table(title="Workloads (throughput: total tokens/s per GPU)", title_justify="left")
    for col in ("id", "model", "in/out tokens", "default tok/s/user", "SKUs measured (max tok/s/user)"):
        wt.add_column(col)
    for w in cat.workloads.values():
        per_sku: dict[str, float] = {}
        for series in w.series:
            per_sku[series.sku] = max([per_sku.get(series.sku, 0.0)] + [x for x, _ in series.points])
        wt.add_row(
            w.id,
            w.model,
            f"{w.input_tokens}/{w.output_tokens}",
            f"{w.default_interactivity.value:g}",
            ", ".join(f"{k} ({v:g})" for k, v in per_sku.items()),
        )
    stdout.print(wt)
    st = Table(title="Sources", title_justify="left")
    st.add_column("key")
    st.add_column("citation", overflow="fold")
    for key, text in cat.sources.items():
        st.add_row(key, text)
    stdout.print(st)


# commands register on the app defined above
from planner.cli import (  # noqa: E402
    buildout_cmd,
    demand_cmd,
    diff_cmd,
    plan_cmd,
    report_cmd,
    scenarios_cmd,
    sweep_cmd,
    throughput_cmd,
    validate_cmd,
)

for _module in (
    plan_cmd,
    demand_cmd,
    validate_cmd,
    buildout_cmd,
    sweep_cmd,
    report_cmd,
    throughput_cmd,
    scenarios_cmd,
    diff_cmd,
):
    _module.register(app, handled)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that cleanup (temporary files, worker pools) runs."""

    signum = signal.SIGTERM


def _on_sigterm(signum, frame) -> None:
    raise Terminated()


def main() -> None:
    """Console-script entry point. SIGINT and SIGTERM end the run with "interrupted" on stderr,
    exit code 128 + the signal (130, 143), no temporary file left and worker processes ended.
    (HiGHS's start-up banner is silenced where a solver is first made, not here: --help loads no solver.)"""
    signal.signal(signal.SIGTERM, _on_sigterm)
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
